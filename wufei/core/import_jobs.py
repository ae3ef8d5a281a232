"""Large imports run as background jobs (wufei.core.jobs); small ones stay in the request.

A file with at least `imports.background_min_rows` data rows (a region parameter) is stored and a job checks
and writes it exactly as the request would have: every row or none. While it runs, the job reports the rows
checked, then written, of the total (`/jobs/<id>/`, `GET /api/v1/jobs/{id}`); it ends done with what was
written (`result.ok`) or with every error by row and column (`result.errors`, nothing written). Only a crash
(not a rejected file) fails the job, and the queue retries it with the stored file.
"""

import json
import secrets
from collections.abc import Callable, Iterable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from wufei.core import jobs, parameters, spreadsheets
from wufei.core.errors import WufeiError

MAX_ERRORS_KEPT = 5000


def is_large(content: bytes, filename: str, *, limit: spreadsheets.Limits, region=None) -> bool:
    """Whether the file holds `imports.background_min_rows` data rows or more (a workbook is scanned only
    that far)."""
    threshold = int(parameters.get("imports.background_min_rows", region))
    return spreadsheets.count_rows(content, filename, limit=limit, stop_at=threshold) >= threshold


def queue(task, *args, user, content: bytes, filename: str, label: str):
    """Store the upload and start `task(path, filename, user_id, *args)` for `user`: returns the Job row."""
    name = "".join(c for c in (filename or "upload")[-80:] if c.isalnum() or c in "._-") or "upload"
    path = default_storage.save(f"imports/{secrets.token_hex(8)}/{name}", ContentFile(content))
    return jobs.start(task, path, filename, user.pk, *args, user=user, label=label[:200])


def answer(record) -> dict:
    """The API's 202 body: the job to follow."""
    return {"job": record.pk, "status": record.status, "url": f"/api/v1/jobs/{record.pk}",
            "page": f"/jobs/{record.pk}/"}


class Progress:
    """Rows checked (first half of the bar), then written (second half), of the total, on the job's page."""

    STAGES = {"checked": 0, "written": 50}

    def __init__(self, job_id: int | None):
        self.job_id = job_id

    def __call__(self, stage: str, done: int, total: int) -> None:
        share = done / total if total else 1
        jobs.report(self.job_id, self.STAGES[stage] + int(share * 50), f"{stage}: {done} / {total}")


def reporting(items: Iterable, progress: Callable | None, stage: str) -> Iterable:
    """`items` as they are, telling `progress` (if any) how many were handled, about fifty times in all."""
    if progress is None:
        yield from items
        return
    items = list(items)
    total = len(items)
    step = max(1, total // 50)
    for done, item in enumerate(items):
        if done % step == 0:
            progress(stage, done, total)
        yield item
    progress(stage, total, total)


def run(job_id: int | None, path: str, importer: Callable[[bytes, Progress], dict]) -> dict:
    """Run an import in a job on the stored file: the job's result says what was written or lists the errors."""
    with default_storage.open(path, "rb") as handle:
        content = handle.read()
    try:
        outcome = {"ok": True, **importer(content, Progress(job_id))}
    except WufeiError as exc:  # the file was refused: the job is done, and its errors are the answer
        outcome = {"ok": False, "code": exc.code, "message": exc.message, "errors": exc.errors[:MAX_ERRORS_KEPT],
                   "error_count": len(exc.errors)}
    default_storage.delete(path)
    return json.loads(json.dumps(outcome, default=str))
