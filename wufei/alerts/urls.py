"""Alert pages under /alerts/ (namespace "alerts"). wufei/urls.py: path("alerts/", include("wufei.alerts.urls"))."""

from django.urls import path

from wufei.alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.board, name="board"),
    path("rules/", views.rule_list, name="rules"),
    path("<int:alert_id>/", views.alert_detail, name="detail"),
    path("<int:alert_id>/act/", views.act, name="act"),
    path("<int:alert_id>/comment/", views.comment, name="comment"),
    path("<int:alert_id>/upload/", views.upload, name="upload"),
    path("<int:alert_id>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
]
