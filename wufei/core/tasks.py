"""The platform's own background jobs (wufei.core.jobs)."""

import datetime as dt

from django.utils import timezone

from wufei.core import audit, idempotency
from wufei.core.jobs import periodic
from wufei.core.models import Job

FINISHED_JOBS_KEPT = dt.timedelta(days=90)


@periodic("core.expire_jobs")
def expire_jobs() -> int:
    """Forget finished jobs after 90 days (failures included: the logs keep their tracebacks)."""
    deleted, _ = Job.objects.filter(finished_at__lt=timezone.now() - FINISHED_JOBS_KEPT).delete()
    return deleted


@periodic("core.expire_idempotency")
def expire_idempotency() -> int:
    """Forget stored answers to Idempotency-Key requests after IDEMPOTENCY_KEEP_HOURS, and keys stuck in progress."""
    return idempotency.expire()


@periodic("core.audit_checkpoint")
def audit_checkpoint() -> dict:
    """Append the audit chain's head, signed, to the checkpoints file outside the database (and to the log)."""
    return audit.write_checkpoint()
