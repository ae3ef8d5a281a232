"""Public portal under /portal/ (namespace "portal"): disclosure lists, manifest verification, reports."""
from django.urls import path

from wufei.web import portal

app_name = "portal"
urlpatterns = [
    path("", portal.index, name="index"),
    path("key-units/", portal.key_units_page, name="key_units"),
    path("operators/", portal.operators_page, name="operators"),
    path("approvals/", portal.approvals_page, name="approvals"),
    path("assessments/", portal.assessments_page, name="assessments"),
    path("verify/", portal.verify, name="verify"),
]
