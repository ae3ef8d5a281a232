"""Hazardous waste ledger API (derived from scan events): months, years, mass balance, export."""

from ninja import Router

router = Router(tags=["ledgers"])
