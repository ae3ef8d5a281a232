"""Background jobs on the task queue (Huey, settings.HUEY): never threads inside the web server.

The embedded default stores the queue in an SQLite file next to the database, so a district needs no extra
server; at scale the same jobs run from Redis with any number of `wufei worker` processes on any number of
machines (README, "Deployment"). Each app declares its jobs in its `tasks.py`:

* `@job("ledgers.refresh")` — a job the code starts (`start(...)` for one a person waits for and watches, with
  a `Job` row and its progress; `enqueue_on_commit(...)` for upkeep after a change commits). A run that raises
  is retried by the queue (`retries`, `retry_delay`); every failure is kept as a `Job` row with its traceback
  (admin: 核心 › 后台任务), so an administrator sees what failed even for jobs nobody watches.
* `@periodic("alerts.scan")` — a job the clock starts, on the crontab in settings.SCHEDULE (per deployment:
  WUFEI_SCHEDULE_ALERTS_SCAN="*/10 * * * *", or "off").

A running job reports progress with `report(job_id, percent, message)`; `/jobs/<id>/` shows it to the person
who started it. Log records written inside a job carry `job-<id>` (or the task name) instead of a request id.
"""

import functools
import inspect
import logging
import traceback

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import F
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY

from wufei.core.request_ids import log_context

log = logging.getLogger(__name__)
JOBS: dict[str, object] = {}  # name → the queue's task
SCHEDULED: dict[str, str] = {}  # name → crontab of the periodic jobs the worker runs


def _record_failure(name: str, job_id: int | None, error: str) -> None:
    from wufei.core.models import Job

    try:
        with transaction.atomic():
            if job_id is not None and Job.objects.filter(pk=job_id).update(
                    status=Job.Status.FAILED, error=error[-20000:], finished_at=timezone.now()):
                return
            Job.objects.create(name=name, status=Job.Status.FAILED, error=error[-20000:],
                               started_at=timezone.now(), finished_at=timezone.now())
    except Exception:  # the queue still logs the failure; never hide the original error behind this one
        log.exception("could not record the failure of job %s", name)


def _fresh_connections():
    """A worker drops connections that broke or aged between jobs; a job run at once in the caller's process
    (immediate mode, in tests) shares the caller's transaction, which closing would break."""
    if not any(c.in_atomic_block for c in connections.all(initialized_only=True)):
        close_old_connections()


def _run(name: str, function, args, kwargs, job_id: int | None):
    from wufei.core.models import Job

    if "job_id" in inspect.signature(function).parameters:
        kwargs = {**kwargs, "job_id": job_id}
    _fresh_connections()
    with log_context(f"job-{job_id}" if job_id else name):
        if job_id is not None:
            Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, started_at=timezone.now(),
                                                 attempts=F("attempts") + 1)
        try:
            result = function(*args, **kwargs)
        except Exception:
            error = traceback.format_exc()
            log.error("job %s failed:\n%s", name, error)
            _record_failure(name, job_id, error)
            raise  # the queue retries it
        finally:
            _fresh_connections()
        if job_id is not None:
            Job.objects.filter(pk=job_id).update(status=Job.Status.DONE, progress=100, finished_at=timezone.now(),
                                                 result=_jsonable(result))
        return result


def _jsonable(value):
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


def job(name: str, *, retries: int = 2, retry_delay: int = 30, priority: int = 0):
    """Declare a background job; the decorated function runs in a worker with its arguments (JSON-able)."""

    def decorate(function):
        @functools.wraps(function)
        def run(*args, _job_id: int | None = None, **kwargs):
            return _run(name, function, args, kwargs, _job_id)

        task = HUEY.task(retries=retries, retry_delay=retry_delay, priority=priority, name=name)(run)
        task.job_name = name
        JOBS[name] = task
        return task

    return decorate


def parse_crontab(text: str):
    """'*/5 * * * *' → huey crontab (minute, hour, day, month, day of week)."""
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"a schedule is five fields (minute hour day month weekday), not {text!r}")
    minute, hour, day, month, day_of_week = parts
    return crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)


def periodic(name: str, *, retries: int = 0):
    """Declare a job the clock starts, on settings.SCHEDULE[name] ("off": not scheduled, still runnable)."""

    def decorate(function):
        schedule = settings.SCHEDULE.get(name, "off")

        @functools.wraps(function)
        def run():
            return _run(name, function, (), {}, None)

        if schedule.strip().lower() == "off":
            task = HUEY.task(retries=retries, name=name)(run)
        else:
            task = HUEY.periodic_task(parse_crontab(schedule), retries=retries, name=name)(run)
            SCHEDULED[name] = schedule
        task.job_name = name
        JOBS[name] = task
        return task

    return decorate


def task_named(task):
    """The queue's task for a job name (services name the jobs they start: their app's tasks.py imports the
    services, never the other way round); a task passes through."""
    if not isinstance(task, str):
        return task
    if task not in JOBS:
        raise LookupError(f"no job named {task!r} (is it declared in a tasks.py of an installed app?)")
    return JOBS[task]


def start(task, *args, user=None, label: str = "", **kwargs):
    """Queue a job someone waits for (the task or its job name): returns its `Job` row (status, progress, result)
    for the page to poll."""
    from wufei.core.models import Job

    task = task_named(task)

    record = Job.objects.create(name=task.job_name, label=label[:200], created_by=user if getattr(
        user, "is_authenticated", False) else None)
    transaction.on_commit(lambda: task(*args, _job_id=record.pk, **kwargs))
    return record


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Queue upkeep (the task or its job name) once the current transaction commits (nothing for a change that
    was rolled back)."""
    task = task_named(task)
    transaction.on_commit(lambda: task(*args, **kwargs))


def report(job_id: int | None, progress: int, message: str = "") -> None:
    """A running job's progress (0–100) and what it is doing, for the page that polls it."""
    if job_id is None:
        return
    from wufei.core.models import Job

    Job.objects.filter(pk=job_id).update(progress=max(0, min(100, int(progress))), message=message[:300])


def save_file(job_id: int | None, name: str, content: bytes, content_type: str) -> dict:
    """Keep a job's product (a report) for the person who started it: returns the job's result."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    path = default_storage.save(f"jobs/{job_id or 'none'}/{name}", ContentFile(content))
    return {"file": path, "name": name, "content_type": content_type, "size": len(content)}


def job_for(user, job_id: int):
    """The job if `user` started it (or is a platform administrator); None otherwise."""
    from wufei.core.models import Job

    jobs = Job.objects.filter(pk=job_id)
    if not getattr(user, "is_superuser", False):
        jobs = jobs.filter(created_by_id=getattr(user, "pk", None))
    return jobs.first()


def queue_is_reachable() -> bool:
    """Whether the queue's storage answers (for /healthz)."""
    try:
        HUEY.storage.queue_size()
    except Exception:
        log.exception("the task queue does not answer")
        return False
    return True
