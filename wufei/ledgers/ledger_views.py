"""Ledger pages (and the ledger section of the organization page)."""

urlpatterns = []
