"""Public verification and the PDF, included under /manifests/ (namespace "manifests").

Either `path("manifests/", include("wufei.manifests.public_urls"))`, or spread `public_urls.urlpatterns`
into the app's own urls.py whose app_name is "manifests": the names resolve as manifests:<name> both ways.
"""

from django.urls import path

from wufei.manifests import public_views

app_name = "manifests"
urlpatterns = [
    path("verify/", public_views.verify_page, name="verify"),
    path("verify/<str:number>/", public_views.verify_number, name="verify_number"),
    path("<int:manifest_id>/pdf/", public_views.manifest_pdf, name="manifest_pdf"),
]
