from django.urls import path

from wufei.programme import views

app_name = "programme"
urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("todo/", views.todo, name="todo"),
    path("plans/<int:plan_id>/", views.board, name="board"),
    path("plans/<int:plan_id>/import/<slug:kind>/", views.import_list, name="import"),
    path("plans/<int:plan_id>/bulletin.<str:fmt>", views.bulletin_file, name="bulletin"),
    path("plans/<int:plan_id>/projects/", views.project_list, name="project_list"),
    path("plans/<int:plan_id>/cells/", views.cells, name="cells"),
    path("items/<int:item_id>/", views.item_detail, name="item_detail"),
    path("projects/<int:project_id>/", views.project_detail, name="project_detail"),
    path("cells/<int:cell_id>/<slug:action>/", views.cell_review, name="cell_review"),
]
