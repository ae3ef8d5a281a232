"""Complaint pages under /cases/ (namespace "cases"): the public report form and the regulators' queue."""
from django.urls import path

from wufei.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.queue, name="list"),
    path("report/", views.report, name="report"),
    path("follow/", views.follow, name="follow"),
    path("<int:report_id>/", views.detail, name="detail"),
    path("<int:report_id>/act/", views.act, name="act"),
    path("<int:report_id>/assign/", views.assign, name="assign"),
    path("<int:report_id>/organization/", views.link, name="link"),
    path("<int:report_id>/note/", views.note, name="note"),
    path("<int:report_id>/photos/<int:photo_id>/", views.photo, name="photo"),
]
