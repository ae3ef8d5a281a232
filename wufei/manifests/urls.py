"""Manifest pages under /manifests/ (namespace "manifests"), the other helper's public pages included.

wufei/urls.py: path("manifests/", include("wufei.manifests.urls")).
The public patterns (verify/, verify/<number>/, <id>/pdf/) are spread in rather than nested with
include(): public_urls has app_name "manifests" too, and a nested include would name them
manifests:manifests:verify; spread, they stay manifests:verify as public_urls.py documents.
"""

from django.urls import path

from wufei.manifests import public_urls, views

app_name = "manifests"
urlpatterns = [
    path("", views.manifest_list, name="list"),
    path("new/", views.manifest_create, name="create"),
    path("sign/", views.bulk_sign, name="bulk_sign"),
    path("signing-code/", views.signing_code, name="signing_code"),
    path("today/", views.today, name="today"),
    path("<int:manifest_id>/", views.manifest_detail, name="detail"),
    path("<int:manifest_id>/sign/<str:step>/", views.sign, name="sign"),
    path("<int:manifest_id>/containers/", views.edit_containers, name="containers"),
    path("<int:manifest_id>/methods/", views.planned_methods, name="methods"),
    path("<int:manifest_id>/revisions/", views.revision_request, name="revision_request"),
    path("<int:manifest_id>/revisions/<int:revision_id>/decision/", views.revision_decision,
         name="revision_decision"),
    path("<int:manifest_id>/follow-up/", views.follow_up, name="follow_up"),
    *public_urls.urlpatterns,
]
