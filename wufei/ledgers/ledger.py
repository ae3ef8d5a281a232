"""Transitional: the alert rules still import the mass balance from here (see balance.py)."""

from wufei.ledgers.balance import mass_balance  # noqa: F401
