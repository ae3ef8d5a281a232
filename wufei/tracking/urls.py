from django.urls import path  # noqa: F401

from wufei.tracking import label_views

app_name = "tracking"
urlpatterns = [
    *label_views.urlpatterns,
]
