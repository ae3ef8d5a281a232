"""Change requests (变更申请) API: a unit files, its regulator approves or refuses (registry.changes).

Enterprise writers see their unit's requests, regulators those of their region, everyone else nothing.
"""

from django.http import FileResponse
from django.utils.translation import gettext as _
from ninja import File, Router, Status, UploadedFile

from wufei.core.api import page, scope_of
from wufei.core.errors import NotFound
from wufei.core.inputs import Id
from wufei.registry import changes
from wufei.registry.schemas import (
    ChangeRequestAttachmentOut,
    ChangeRequestDecisionIn,
    ChangeRequestIn,
    ChangeRequestOut,
    ChangeRequestPage,
)

router = Router(tags=["registry"])


@router.get("/change-requests", response=ChangeRequestPage)
def list_change_requests(request, status: str | None = None, organization: Id | None = None, cursor: str | None = None,
                  limit: int = 50):
    rows = changes.requests_for(scope_of(request), status=status, organization_id=organization)
    items, next_cursor = page(rows, cursor=cursor, limit=limit)
    return {"items": items, "next_cursor": next_cursor}


@router.post("/organizations/{organization_id}/change-requests", response={201: ChangeRequestOut})
def file_change_request(request, organization_id: Id, payload: ChangeRequestIn):
    """File a change of a field that decides the unit's supervision; the old value stays until approved."""
    row = changes.file_request(scope=scope_of(request), organization_id=organization_id, field=payload.field,
                               value=payload.value, reason=payload.reason, permit_id=payload.permit,
                               site_id=payload.site)
    return Status(201, row)


@router.get("/change-requests/{request_id}", response=ChangeRequestOut)
def get_change_request(request, request_id: Id):
    return changes.get_request(scope_of(request), request_id)


@router.post("/change-requests/{request_id}/approve", response=ChangeRequestOut)
def approve_change_request(request, request_id: Id, payload: ChangeRequestDecisionIn):
    """The regulator of the unit's region applies the change (409 base_changed if the value in force moved)."""
    return changes.approve(scope=scope_of(request), request_id=request_id, version=payload.version,
                           reason=payload.reason)


@router.post("/change-requests/{request_id}/refuse", response=ChangeRequestOut)
def refuse_change_request(request, request_id: Id, payload: ChangeRequestDecisionIn):
    return changes.refuse(scope=scope_of(request), request_id=request_id, version=payload.version,
                          reason=payload.reason)


@router.post("/change-requests/{request_id}/attachments", response={201: ChangeRequestAttachmentOut})
def add_change_request_attachment(request, request_id: Id, file: UploadedFile = File(...)):
    """A supporting file (pdf, images, office files, zip; 20 MB at most) while the request waits."""
    return Status(201, changes.add_attachment(scope=scope_of(request), request_id=request_id, file=file))


@router.get("/change-requests/{request_id}/attachments/{attachment_id}")
def download_change_request_attachment(request, request_id: Id, attachment_id: Id):
    row = changes.get_request(scope_of(request), request_id)
    attachment = row.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("attachment not found"))
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)
