from wufei.ledgers import ledger_views, plans_views

app_name = "ledgers"
urlpatterns = [*ledger_views.urlpatterns, *plans_views.urlpatterns]
