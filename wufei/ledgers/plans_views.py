"""Plan, declaration, spot check and e-ledger pages (and their sections of the organization page)."""

urlpatterns = []
