"""Cockpit pages under /cockpit/ (namespace "analytics")."""
from django.urls import path

from wufei.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.cockpit, name="cockpit"),
]
