"""Complaints API: the public create (anonymous, rate-limited, multipart with photos) and the
regulators' queue: list (cursor), counts, detail, actions, assignment, link to the registry, notes.

Thin: parse, call `wufei.cases.services` with the caller's scope, shape the answer.
"""


from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status, UploadedFile

from wufei.cases import services
from wufei.cases.schemas import (
    ActionIn,
    CaseAssignIn,
    CaseCountsOut,
    CaseReportIn,
    CaseReportPage,
    LinkIn,
    NoteIn,
    ReceiptOut,
    ReportDetailOut,
)
from wufei.core.api import page, scope_of
from wufei.core.inputs import Id, Since

router = Router(tags=["cases"])


def client_key(request) -> str:
    """The client's address as the server sees it (no forwarded header is trusted)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def detail(scope, report_id: int) -> dict:
    report = services.get_report(scope, report_id)
    return {**{f: getattr(report, f) for f in ReportDetailOut.model_fields if hasattr(report, f)
               and f not in ("photos", "history", "actions")},
            "region": report.region, "photos": list(report.photos.all()), "history": services.history(report),
            "actions": services.available_actions(scope, report)}


@router.post("/cases/reports", response={201: ReceiptOut}, auth=None)
def create_report(request, payload: Form[CaseReportIn], photos: File[list[UploadedFile]] = None):
    """File a complaint or illegal-dumping report without an account. The answer holds the tracking number
    and the follow-up secret, shown this once. At most 5 reports an hour from one address (429 after)."""
    report, secret = services.submit_report(
        kind=payload.kind, region=payload.region, place=payload.place, description=payload.description,
        longitude=payload.longitude, latitude=payload.latitude, organization_named=payload.organization_named,
        contact_name=payload.contact_name, contact_phone=payload.contact_phone, consent=payload.consent,
        photos=services.read_photos(photos), honeypot=payload.website,
        client_key=client_key(request))
    return Status(201, {"number": report.number, "secret": secret, "status": report.status,
                        "message": _("Keep the number and the secret: you need both to follow your report.")})


@router.get("/cases", response=CaseReportPage)
def list_reports(request, status: str | None = None, kind: str | None = None, region: str | None = None,
                 q: str | None = None, cursor: str | None = None, limit: int = 50,
                 updated_after: Since | None = None):
    """Reports in the caller's regions (regulators only)."""
    scope = scope_of(request)
    services.require_regulator(scope)
    reports = services.reports_for(scope, status=status, kind=kind, region=region, q=q)
    items, next_cursor = page(reports, cursor=cursor, limit=limit, updated_after=updated_after)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/cases/counts", response=CaseCountsOut)
def report_counts(request, status: str | None = None, kind: str | None = None, region: str | None = None):
    scope = scope_of(request)
    services.require_regulator(scope)
    return services.counts(scope, status=status, kind=kind, region=region)


@router.get("/cases/{report_id}", response=ReportDetailOut)
def get_report(request, report_id: Id):
    scope = scope_of(request)
    services.require_regulator(scope)
    return detail(scope, report_id)


@router.post("/cases/{report_id}/actions/{action}", response=ReportDetailOut)
def act(request, report_id: Id, action: str, payload: ActionIn):
    """accept, investigate, close (`result`: what the reporter reads), reject (`reason`); `note` stays internal.
    Send the version you saw: a stale one fails with 409."""
    scope = scope_of(request)
    services.transition(scope=scope, report_id=report_id, action=action, **payload.model_dump())
    return detail(scope, report_id)


@router.post("/cases/{report_id}/assign", response=ReportDetailOut)
def assign(request, report_id: Id, payload: CaseAssignIn):
    scope = scope_of(request)
    services.assign(scope=scope, report_id=report_id, **payload.model_dump())
    return detail(scope, report_id)


@router.post("/cases/{report_id}/organization", response=ReportDetailOut)
def link_organization(request, report_id: Id, payload: LinkIn):
    scope = scope_of(request)
    services.link_organization(scope=scope, report_id=report_id, **payload.model_dump())
    return detail(scope, report_id)


@router.post("/cases/{report_id}/notes", response=ReportDetailOut)
def add_note(request, report_id: Id, payload: NoteIn):
    scope = scope_of(request)
    services.add_note(scope=scope, report_id=report_id, **payload.model_dump())
    return detail(scope, report_id)


@router.get("/cases/{report_id}/photos/{photo_id}")
def photo(request, report_id: Id, photo_id: Id):
    scope = scope_of(request)
    services.require_regulator(scope)
    row = services.get_photo(scope, report_id, photo_id)
    response = HttpResponse(services.read_photo(row), content_type=_content_type(row.name))
    response["Cache-Control"] = "private, no-store"
    return response


def _content_type(name: str) -> str:
    return "image/png" if name.lower().endswith(".png") else "image/jpeg"
