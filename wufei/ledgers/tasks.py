"""The ledgers' background jobs (wufei.core.jobs): the months kept current after scans (upkeep.py)."""

from wufei.core.jobs import job, periodic
from wufei.ledgers import upkeep


@job("ledgers.refresh", retries=3, retry_delay=20)
def refresh(organization_ids: list[int]) -> int:
    """Rebuild the dirty years of these units (queued after the scans that touched them commit)."""
    return upkeep.ensure_current(organization_ids=organization_ids)


@periodic("ledgers.catch_up")
def catch_up() -> int:
    """Rebuild whatever is still dirty (a lost job, marks written while no worker ran)."""
    return upkeep.ensure_current()
