from django.urls import path

from wufei.indicators import views

app_name = "indicators"
urlpatterns = [
    path("", views.index, name="index"),
    path("plans/<int:plan_id>/", views.plan_board, name="board"),
    path("plans/<int:plan_id>/judge/", views.judge, name="judge"),
    path("plans/<int:plan_id>/report.<str:fmt>", views.plan_report, name="report"),
    path("plans/<int:plan_id>/report-pdf/", views.report_pdf, name="report_pdf"),
    path("regions/<str:region>/drilldown/", views.drilldown, name="drilldown"),
    path("regions/<str:region>/rollup/", views.rollup, name="rollup"),
    path("compare/", views.compare, name="compare"),
    path("requests/", views.requests_list, name="requests"),
    path("requests/<int:request_id>/", views.request_detail, name="request_detail"),
]
