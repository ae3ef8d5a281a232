from django.urls import path

from wufei.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.index, name="index"),
    path("hazardous-wastes/", views.hazardous_wastes, name="hazardous_wastes"),
    path("hazardous-wastes/<str:code>/", views.hazardous_waste_detail, name="hazardous_waste_detail"),
    path("categories/", views.categories, name="categories"),
    path("treatment-methods/", views.treatment_methods, name="treatment_methods"),
    path("general-solid-wastes/", views.general_solid_wastes, name="general_solid_wastes"),
    path("exemptions/", views.exemptions, name="exemptions"),
    path("regions/", views.regions, name="regions"),
    path("regions/<str:code>/", views.region_detail, name="region_detail"),
    path("zones/", views.zones, name="zones"),
]
