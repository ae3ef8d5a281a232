"""Jobs API: how a job someone started is going, and its product (a report) once done. Only its starter (or a
platform administrator) sees a job."""

import datetime as dt

from django.core.files.storage import default_storage
from django.http import FileResponse
from ninja import Router, Schema

from wufei.core.errors import NotFound
from wufei.core.inputs import Id
from wufei.core.jobs import job_for

router = Router(tags=["jobs"])


class JobOut(Schema):
    id: int
    name: str
    label: str
    status: str
    progress: int
    message: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    file_url: str | None
    result: dict | None = None  # what a finished job answered: an import's counts, or its errors by row and column

    @staticmethod
    def resolve_result(obj):
        result = obj.result if obj.status == "done" and isinstance(obj.result, dict) else None
        return {k: v for k, v in result.items() if k != "file"} if result else None

    @staticmethod
    def resolve_file_url(obj):
        return f"/api/v1/jobs/{obj.pk}/file" if obj.status == "done" and (obj.result or {}).get("file") else None


def _job(request, job_id: int):
    found = job_for(request.user, job_id)  # the API's authentication set the user (session or token)
    if found is None:
        raise NotFound("job not found")
    return found


@router.get("/jobs/{job_id}", response=JobOut)
def get_job(request, job_id: Id):
    return _job(request, job_id)


@router.get("/jobs/{job_id}/file")
def job_file(request, job_id: Id):
    found = _job(request, job_id)
    result = found.result or {}
    if found.status != "done" or not result.get("file"):
        raise NotFound("the job has no file (yet)")
    return FileResponse(default_storage.open(result["file"], "rb"), as_attachment=True, filename=result["name"],
                        content_type=result.get("content_type", "application/octet-stream"))
