"""Public portal under /portal/ (namespace "portal"): disclosure lists, manifest verification, reports."""
from django.urls import path  # noqa: F401

app_name = "portal"
urlpatterns = []
