"""The registry's background job (wufei.core.jobs): a large import, checked and written all or nothing."""

from django.contrib.auth import get_user_model

from wufei.core import import_jobs
from wufei.core.jobs import job
from wufei.core.scope import scope_for


@job("registry.import", retries=1, retry_delay=30)
def import_file(path: str, filename: str, user_id: int, kind: str, job_id=None) -> dict:
    """Import the stored file as the user who sent it (their scope, read again now)."""
    from wufei.registry import imports

    scope = scope_for(get_user_model().objects.get(pk=user_id))
    return import_jobs.run(job_id, path, lambda content, progress: imports.import_file(
        scope=scope, kind=kind, content=content, filename=filename, progress=progress).as_dict())
