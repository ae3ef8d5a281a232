"""The ledgers' background jobs (wufei.core.jobs): the months kept current after scans (upkeep.py), and large
imports of the monthly e-ledger."""

from django.contrib.auth import get_user_model

from wufei.core import import_jobs
from wufei.core.jobs import job, periodic
from wufei.core.scope import scope_for
from wufei.ledgers import upkeep


@job("ledgers.refresh", retries=3, retry_delay=20)
def refresh(organization_ids: list[int]) -> int:
    """Rebuild the dirty years of these units (queued after the scans that touched them commit)."""
    return upkeep.ensure_current(organization_ids=organization_ids)


@periodic("ledgers.catch_up")
def catch_up() -> int:
    """Rebuild whatever is still dirty (a lost job, marks written while no worker ran)."""
    return upkeep.ensure_current()


@job("ledgers.import_months", retries=1, retry_delay=30)
def import_months(path: str, filename: str, user_id: int, job_id=None) -> dict:
    """Import the stored file of months as the user who sent it (their scope, read again now)."""
    from wufei.ledgers import solid_waste

    scope = scope_for(get_user_model().objects.get(pk=user_id))
    return import_jobs.run(job_id, path, lambda content, progress: solid_waste.import_months(
        scope=scope, content=content, filename=filename, progress=progress))
