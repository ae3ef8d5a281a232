"""The cockpit keeps no tables of its own: its figures are the ledger's (wufei.ledgers.selectors)."""
