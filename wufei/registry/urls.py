from django.urls import path

from wufei.registry import views

app_name = "registry"
urlpatterns = []
