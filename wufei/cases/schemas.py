import datetime as dt
from decimal import Decimal

from ninja import Schema

from wufei.core.inputs import Id


class CaseReportOut(Schema):
    """A report as its regulators see it (the reporter's contact included: the queue is not public)."""

    id: int
    number: str
    kind: str
    status: str
    region_id: str
    region_name: str
    place: str
    longitude: Decimal | None
    latitude: Decimal | None
    description: str
    organization_named: str
    organization_id: int | None
    contact_name: str
    contact_phone: str
    assignee_id: int | None
    submitted_at: dt.datetime
    accepted_at: dt.datetime | None
    closed_at: dt.datetime | None
    result: str
    rejection_reason: str
    version: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_region_name(obj):
        region = obj["region"] if isinstance(obj, dict) else obj.region
        return region.name


class CaseReportPage(Schema):
    items: list[CaseReportOut]
    next_cursor: str | None


class PhotoOut(Schema):
    id: int
    name: str
    size: int
    sha256: str


class CaseHistoryOut(Schema):
    action: str
    at: dt.datetime
    actor: str
    note: str


class ReportDetailOut(CaseReportOut):
    internal_note: str
    photos: list[PhotoOut]
    history: list[CaseHistoryOut]
    actions: list[str]


class CaseCountsOut(Schema):
    total: int
    open: int
    by_status: dict[str, int]
    by_kind: dict[str, int]


class ActionIn(Schema):
    version: int
    result: str = ""
    reason: str = ""
    note: str = ""


class CaseAssignIn(Schema):
    version: int
    assignee_id: Id | None = None


class LinkIn(Schema):
    version: int
    organization_id: Id | None = None
    note: str = ""


class NoteIn(Schema):
    version: int
    note: str


class CaseReportIn(Schema):
    """The public form's fields (multipart form data; photos as `photos`, up to 3 JPEG / PNG files)."""

    kind: str
    region: str
    place: str
    description: str
    longitude: str = ""
    latitude: str = ""
    organization_named: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    consent: bool = False
    website: str = ""  # the honeypot: people leave it empty


class ReceiptOut(Schema):
    number: str
    secret: str
    status: str
    message: str
