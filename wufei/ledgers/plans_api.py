"""Management plans, annual declarations, spot checks and the solid waste monthly e-ledger API."""

from ninja import Router

router = Router(tags=["plans and declarations"])
