from django.contrib.auth import views as auth_views
from django.urls import path

from wufei.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("jobs/<int:job_id>/", views.job, name="job"),
    path("jobs/<int:job_id>/file", views.job_file, name="job_file"),
    path("workspace/", views.workspace, name="workspace"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/tokens/", views.tokens, name="tokens"),
]
