from django.urls import path

from wufei.tracking import label_views, views

app_name = "tracking"
urlpatterns = [
    path("", views.container_list, name="container_list"),
    path("record/", views.record, name="record"),
    path("inventory/", views.inventory, name="inventory"),
    path("scan/", views.scan_lookup, name="scan_lookup"),
    path("containers/<str:code>/", views.container_detail, name="container_detail"),
    path("containers/<str:code>/scan/", views.container_scan, name="container_scan"),
    *label_views.urlpatterns,
]
