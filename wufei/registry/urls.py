from django.urls import path

from wufei.registry import change_views, views

app_name = "registry"
urlpatterns = [
    path("organizations/", views.organization_list, name="organization_list"),
    path("organizations/<int:organization_id>/", views.organization_detail, name="organization_detail"),
    path("organizations/<int:organization_id>/supervision/", views.organization_supervision,
         name="organization_supervision"),
    path("organizations/<int:organization_id>/close/", views.organization_close, name="organization_close"),
    path("organizations/<int:organization_id>/change-requests/", change_views.file_request,
         name="change_request_file"),
    path("change-requests/", change_views.waiting, name="change_requests"),
    path("change-requests/<int:request_id>/decide/", change_views.decide, name="change_request_decide"),
    path("import/", views.import_view, name="import"),
    path("import/template/<slug:kind>.xlsx", views.import_template, name="import_template"),
    path("export/<slug:kind>.xlsx", views.export, name="export"),
]
