"""Complaint pages under /cases/ (namespace "cases"): the public report form and the regulators' queue."""
from django.urls import path  # noqa: F401

app_name = "cases"
urlpatterns = []
