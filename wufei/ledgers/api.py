"""Ledgers API: the derived hazardous waste ledger, and plans / declarations / e-ledger (one module each)."""

from ninja import Router

from wufei.ledgers.ledger_api import router as ledger_router
from wufei.ledgers.plans_api import router as plans_router

router = Router()
router.add_router("", ledger_router)
router.add_router("", plans_router)
