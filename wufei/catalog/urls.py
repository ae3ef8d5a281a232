from django.urls import path

from wufei.catalog import views

app_name = "catalog"
urlpatterns = []
