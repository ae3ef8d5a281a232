"""Complaints and reports: the public submission (validation, photos, rate limit, tracking number and
secret), the reporter's follow-up, the regulators' queue (selectors narrowed to the caller's scope) and
the handling loop accept -> investigate -> close / reject, assignment and the link to the registry.

Each change is one audited save of the report (its history) with the version the caller saw
(a stale version fails with 409). Services never see HTTP: the caller passes a `client_key`
(e.g. the client's address) for the rate limit.
"""

import datetime as dt
import hashlib
import hmac
import secrets
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.cases.models import OPEN, Kind, Report, ReportPhoto, Status
from wufei.catalog.models import Region
from wufei.core import audit, files
from wufei.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, WufeiError, field_error
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope, scope_for

PUBLIC_ACTOR = "public"
MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = (".jpg", ".jpeg", ".png")
PHOTO_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
REPORTS_PER_HOUR = getattr(settings, "WUFEI_REPORTS_PER_HOUR", 5)
FOLLOW_UPS_PER_HOUR = getattr(settings, "WUFEI_FOLLOW_UPS_PER_HOUR", 20)
RATE_WINDOW_SECONDS = 3600
LONGITUDE = (Decimal("73"), Decimal("136"))  # China's extent, generously
LATITUDE = (Decimal("3"), Decimal("54"))

# action -> (from statuses, to status)
TRANSITIONS = {
    "accept": ((Status.SUBMITTED,), Status.ACCEPTED),
    "investigate": ((Status.ACCEPTED,), Status.INVESTIGATING),
    "close": ((Status.INVESTIGATING,), Status.CLOSED),
    "reject": (OPEN, Status.REJECTED),
}


class RateLimited(WufeiError):
    status = 429
    code = "rate_limited"


class Rejected(WufeiError):
    """The submission tripped the anti-bot field: nothing is stored."""

    status = 400
    code = "rejected"


# --- regions a reporter chooses from ------------------------------------------------------------------

def public_regions() -> list[Region]:
    """The installation's districts: those under the regions its regulators cover (else where its units are)."""
    from wufei.registry.models import Organization, RegulatorMembership

    paths = set(RegulatorMembership.objects.values_list("region__path", flat=True).distinct())
    if paths:
        query = Q(pk__in=[])
        for path in paths:
            query |= Q(path__startswith=path)
        regions = Region.objects.filter(query, status="current", level=Region.Level.DISTRICT)
        if regions.exists():
            return list(regions.order_by("code"))
    codes = Organization.objects.values_list("region_id", flat=True).distinct()
    return list(Region.objects.filter(pk__in=codes, level=Region.Level.DISTRICT).order_by("code"))


# --- rate limit -----------------------------------------------------------------------------------------

def _key(prefix: str, client_key: str) -> str:
    return f"wufei:cases:{prefix}:{hashlib.sha256(client_key.encode()).hexdigest()[:32]}"


def _take(prefix: str, client_key: str | None, limit: int, message: str) -> None:
    """Count one more attempt for the client in the current hour; RateLimited past `limit`."""
    if not client_key:
        return
    key = _key(prefix, client_key)
    cache.add(key, 0, RATE_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW_SECONDS)
        count = 1
    cache.touch(key, RATE_WINDOW_SECONDS)  # the database cache's incr rewrites the entry with the default expiry
    if count > limit:
        raise RateLimited(message)


def check_rate(client_key: str | None) -> None:
    """Refuse a report when the client already sent the hour's allowance (a refused form does not count)."""
    if client_key and (cache.get(_key("report", client_key)) or 0) >= REPORTS_PER_HOUR:
        raise RateLimited(_("Too many reports from your connection: at most %(n)s an hour. Please try again "
                            "later.") % {"n": REPORTS_PER_HOUR})


def count_report(client_key: str | None) -> None:
    _take("report", client_key, REPORTS_PER_HOUR + 1, "")


# --- submission -----------------------------------------------------------------------------------------

def _coordinate(raw, field: str, bounds, errors: list) -> Decimal | None:
    raw = ("" if raw is None else str(raw)).strip()
    if not raw:
        return None
    try:
        value = Decimal(raw).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        errors.append(field_error(field, _("enter a number")))
        return None
    if not value.is_finite() or not bounds[0] <= value <= bounds[1]:
        errors.append(field_error(field, _("must be between %(low)s and %(high)s") % {"low": bounds[0],
                                                                                     "high": bounds[1]}))
        return None
    return value


def read_photos(uploads) -> list[tuple[str, bytes]]:
    """(name, content) of uploaded photos, never reading more than one photo too many or a byte past the limit."""
    return [(f.name, f.read(MAX_PHOTO_BYTES + 1)) for f in list(uploads or [])[:MAX_PHOTOS + 1]]


def _check_photos(photos, errors: list) -> None:
    if len(photos) > MAX_PHOTOS:
        errors.append(field_error("photos", _("at most %(n)s photos") % {"n": MAX_PHOTOS}))
        return
    for name, content in photos:
        label = (name or "").strip() or "?"
        if not label.lower().endswith(PHOTO_TYPES):
            errors.append(field_error("photos", _("%(name)s: allowed files: %(types)s")
                                      % {"name": label, "types": " ".join(PHOTO_TYPES)}))
        elif not content:
            errors.append(field_error("photos", _("%(name)s: the file is empty") % {"name": label}))
        elif len(content) > MAX_PHOTO_BYTES:
            errors.append(field_error("photos", _("%(name)s: the file is larger than %(n)s MB")
                                      % {"name": label, "n": MAX_PHOTO_BYTES // 2**20}))
        elif not content.startswith(PHOTO_MAGIC):
            errors.append(field_error("photos", _("%(name)s: not a JPEG or PNG image") % {"name": label}))


def hash_secret(number: str, secret: str) -> str:
    return hashlib.sha256(f"{number}:{secret.strip()}".encode()).hexdigest()


def _next_number(day: dt.date) -> str:
    prefix = f"TS{day:%Y%m%d}"
    last = (Report.objects.filter(number__startswith=prefix).order_by("-number")
            .values_list("number", flat=True).first())
    serial = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{serial:04d}"


def submit_report(*, kind: str, region: str, place: str, description: str, longitude=None, latitude=None,
                  organization_named: str = "", contact_name: str = "", contact_phone: str = "",
                  consent: bool = False, photos: list[tuple[str, bytes]] = (), honeypot: str = "",
                  client_key: str | None = None) -> tuple[Report, str]:
    """File a public report; returns (report, follow-up secret). The secret is never stored, only its hash.

    Errors: ValidationFailed with one entry per field; RateLimited (429) past the hourly limit.
    """
    if (honeypot or "").strip():
        raise Rejected(_("The report could not be accepted."))
    check_rate(client_key)
    errors = []
    kind = (kind or "").strip()
    if kind not in Kind.values:
        errors.append(field_error("kind", _("choose the kind of report")))
    region_row = None
    code = (region or "").strip()
    if not code:
        errors.append(field_error("region", _("choose the district")))
    else:
        region_row = next((r for r in public_regions() if r.code == code), None)
        if region_row is None:
            errors.append(field_error("region", _("choose one of the districts listed")))
    place = (place or "").strip()
    if not place:
        errors.append(field_error("place", _("say where it is (address or landmark)")))
    elif len(place) > 300:
        errors.append(field_error("place", _("at most %(n)s characters") % {"n": 300}))
    lon = _coordinate(longitude, "longitude", LONGITUDE, errors)
    lat = _coordinate(latitude, "latitude", LATITUDE, errors)
    if (lon is None) != (lat is None) and not any(e["field"] in ("longitude", "latitude") for e in errors):
        errors.append(field_error("latitude" if lat is None else "longitude",
                                  _("give both longitude and latitude, or neither")))
    description = (description or "").strip()
    if len(description) < 10:
        errors.append(field_error("description", _("describe what you saw (at least 10 characters)")))
    elif len(description) > 4000:
        errors.append(field_error("description", _("at most %(n)s characters") % {"n": 4000}))
    organization_named = (organization_named or "").strip()
    if len(organization_named) > 200:
        errors.append(field_error("organization_named", _("at most %(n)s characters") % {"n": 200}))
    contact_name = (contact_name or "").strip()
    if len(contact_name) > 50:
        errors.append(field_error("contact_name", _("at most %(n)s characters") % {"n": 50}))
    contact_phone = (contact_phone or "").strip()
    if contact_phone and (len(contact_phone) > 30
                          or not all(c.isdigit() or c in "+- ()" for c in contact_phone)
                          or sum(c.isdigit() for c in contact_phone) < 5):
        errors.append(field_error("contact_phone", _("enter a phone number (digits, +, -, spaces)")))
    if not consent:
        errors.append(field_error("consent", _("tick the box to agree")))
    photos = list(photos or ())
    _check_photos(photos, errors)
    if errors:
        raise ValidationFailed(_("The report is not complete: see the marked fields."), errors=errors)
    secret = secrets.token_urlsafe(9)
    now = timezone.now()
    with audit.acting_as(audit.current_actor() or PUBLIC_ACTOR):  # a logged-in reporter or a script keeps its name
        stored = []
        for name, content in photos:
            try:
                stored.append(files.store_evidence(folder="cases", name=name, content=content,
                                                   max_bytes=MAX_PHOTO_BYTES, extensions=PHOTO_TYPES))
            except ValidationFailed as exc:
                raise ValidationFailed(exc.message, errors=[{**e, "field": "photos"} for e in exc.errors]) from exc
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    number = _next_number(timezone.localdate(now))
                    report = Report(
                        number=number, kind=kind, region=region_row, region_path=region_row.path, place=place,
                        longitude=lon, latitude=lat, description=description,
                        organization_named=organization_named, contact_name=contact_name,
                        contact_phone=contact_phone, consent=True, secret_hash=hash_secret(number, secret),
                        submitted_at=now)
                    report.save()
                    for item in stored:
                        ReportPhoto.objects.create(report=report, path=item.path, name=item.name, size=item.size,
                                                   sha256=item.sha256)
                    if stored:
                        audit.record(entity=report, action="photos_added", payload={
                            "photos": [{"name": s.name, "size": s.size, "sha256": s.sha256} for s in stored]})
                break
            except IntegrityError:  # two reports took the same serial: take the next one
                continue
        else:
            raise Conflict(_("Could not give a tracking number: please send the report again."))
    count_report(client_key)
    return report, secret


# --- the reporter's follow-up ----------------------------------------------------------------------------

def follow_up(*, number: str, secret: str, client_key: str | None = None) -> dict | None:
    """What the reporter may read (status, dates, public result or reason), or None for a wrong pair."""
    _take("follow", client_key, FOLLOW_UPS_PER_HOUR,
          _("Too many look-ups from your connection: please try again later."))
    number = (number or "").strip().upper()
    secret = (secret or "").strip()
    if not number or not secret:
        return None
    report = Report.objects.filter(number=number).select_related("region").first()
    if report is None or not hmac.compare_digest(report.secret_hash, hash_secret(number, secret)):
        return None
    return {"number": report.number, "kind": report.kind, "kind_label": report.get_kind_display(),
            "status": report.status, "status_label": report.get_status_display(),
            "region": report.region.name, "submitted_at": report.submitted_at, "updated_at": report.updated_at,
            "closed_at": report.closed_at,
            "result": report.result if report.status == Status.CLOSED else "",
            "rejection_reason": report.rejection_reason if report.status == Status.REJECTED else ""}


# --- the regulators' queue ------------------------------------------------------------------------------

def require_regulator(scope: Scope) -> None:
    if not scope.is_regulator:
        raise PermissionDenied(_("only regulators handle complaints and reports"))


def reports_for(scope: Scope, *, status: str | None = None, kind: str | None = None, region: str | None = None,
                q: str | None = None, open_only: bool | None = None):
    reports = Report.objects.visible_to(scope).select_related("region", "assignee", "organization")
    errors = []
    if status and status not in Status.values:
        errors.append(field_error("status", status))
    if kind and kind not in Kind.values:
        errors.append(field_error("kind", kind))
    if errors:
        raise ValidationFailed(_("unknown filter value"), errors=errors)
    if status:
        reports = reports.filter(status=status)
    if kind:
        reports = reports.filter(kind=kind)
    if open_only:
        reports = reports.filter(status__in=OPEN)
    if region:
        reports = reports.filter(region_path__contains=f"/{region.strip()}/")
    if q:
        q = q.strip()
        reports = reports.filter(Q(number__icontains=q) | Q(place__contains=q) | Q(description__contains=q)
                                 | Q(organization_named__contains=q))
    return reports


def counts(scope: Scope, **filters) -> dict:
    """Reports by status and by kind within the filters (the status / kind filter itself left out)."""
    by_status = reports_for(scope, **{k: v for k, v in filters.items() if k != "status"})
    by_kind = reports_for(scope, **{k: v for k, v in filters.items() if k != "kind"})
    statuses = {r["status"]: r["n"] for r in by_status.values("status").annotate(n=Count("id")).order_by()}
    kinds = {r["kind"]: r["n"] for r in by_kind.values("kind").annotate(n=Count("id")).order_by()}
    return {"by_status": statuses, "by_kind": kinds, "total": sum(statuses.values()),
            "open": sum(n for s, n in statuses.items() if s in OPEN)}


def get_report(scope: Scope, report_id: int) -> Report:
    report = reports_for(scope).filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("report %(id)s not found") % {"id": report_id}, code="report_not_found")
    return report


def get_photo(scope: Scope, report_id: int, photo_id: int) -> ReportPhoto:
    report = get_report(scope, report_id)
    photo = ReportPhoto.objects.filter(report=report, pk=photo_id).first()
    if photo is None:
        raise NotFound(_("photo not found"))
    return photo


def read_photo(photo: ReportPhoto) -> bytes:
    return files.read(photo.path)


def history(report: Report) -> list[dict]:
    """The report's changes, oldest first: action, time, actor and the note (no field values: they hold
    the reporter's contact)."""
    return [{"action": e.action, "at": e.created_at, "actor": e.actor_label, "note": e.payload.get("note", "")}
            for e in audit.history(report)]


def available_actions(scope: Scope, report: Report) -> list[str]:
    if not scope.covers_region_path(report.region_path):
        return []
    return [name for name, (before, _to) in TRANSITIONS.items() if report.status in before]


def _locked(scope: Scope, report_id: int, version: int | None) -> Report:
    require_regulator(scope)
    get_report(scope, report_id)  # NotFound when invisible
    report = lock_rows(Report.objects).get(pk=report_id)
    if version is not None and report.version != version:
        raise Conflict(_("the report was changed meanwhile (version %(now)s, you saw %(seen)s): reload it")
                       % {"now": report.version, "seen": version}, code="stale_version")
    return report


def _append_note(report: Report, scope: Scope, note: str) -> None:
    if note:
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        line = f"[{stamp} {scope.username or 'system'}] {note}"
        report.internal_note = f"{report.internal_note}\n{line}".strip()


@transaction.atomic
def transition(*, scope: Scope, report_id: int, action: str, version: int | None, result: str = "",
               reason: str = "", note: str = "") -> Report:
    """accept, investigate, close (with the result the reporter reads), reject (with the reason)."""
    if action not in TRANSITIONS:
        raise ValidationFailed(_("unknown action"), errors=[field_error("action", action)])
    report = _locked(scope, report_id, version)
    before, after = TRANSITIONS[action]
    if report.status not in before:
        raise Conflict(_("the report is %(status)s: this step is not possible now")
                       % {"status": report.get_status_display()}, code="invalid_transition")
    result, reason, note = (result or "").strip(), (reason or "").strip(), (note or "").strip()
    if action == "close" and not result:
        raise ValidationFailed(_("write the result for the reporter"), errors=[field_error("result",
                                                                                            _("is required"))])
    if action == "reject" and not reason:
        raise ValidationFailed(_("give the reason"), errors=[field_error("reason", _("is required"))])
    now = timezone.now()
    report.status = after
    if action == "accept":
        report.accepted_at = now
        if report.assignee_id is None and scope.user_id:
            report.assignee_id = scope.user_id
    if action == "close":
        report.result, report.closed_at = result[:4000], now
    if action == "reject":
        report.rejection_reason, report.closed_at = reason[:1000], now
    _append_note(report, scope, note)
    report.save(audit_action=action, audit_note=note[:300])
    return report


@transaction.atomic
def assign(*, scope: Scope, report_id: int, version: int | None, assignee_id: int | None) -> Report:
    """Give the report to a regulator who covers its region (None: nobody)."""
    from django.contrib.auth import get_user_model

    report = _locked(scope, report_id, version)
    if assignee_id is not None:
        user = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
        if user is None or not scope_for(user).covers_region_path(report.region_path):
            raise ValidationFailed(_("the assignee must be a regulator of the report's region"),
                                   errors=[field_error("assignee_id", _("not a regulator of this region"))])
    report.assignee_id = assignee_id
    report.save(audit_action="assigned")
    return report


@transaction.atomic
def link_organization(*, scope: Scope, report_id: int, version: int | None, organization_id: int | None,
                      note: str = "") -> Report:
    """Link the report to the registry's organization it is about (one the regulator sees)."""
    from wufei.registry.services import organizations_for

    report = _locked(scope, report_id, version)
    if organization_id is not None and not organizations_for(scope).filter(pk=organization_id).exists():
        raise ValidationFailed(_("organization not found"),
                               errors=[field_error("organization_id", _("not found in your region"))])
    report.organization_id = organization_id
    _append_note(report, scope, (note or "").strip())
    report.save(audit_action="organization_linked", audit_note=(note or "").strip()[:300])
    return report


@transaction.atomic
def add_note(*, scope: Scope, report_id: int, version: int | None, note: str) -> Report:
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("write the note"), errors=[field_error("note", _("is required"))])
    report = _locked(scope, report_id, version)
    _append_note(report, scope, note)
    report.save(audit_action="note", audit_note=note[:300])
    return report


def assignees_for(scope: Scope, report: Report) -> list:
    """Regulator accounts whose regions cover the report's region (for the assign select)."""
    from django.contrib.auth import get_user_model

    from wufei.registry.models import RegulatorMembership

    if not scope.covers_region_path(report.region_path):
        return []
    ancestors = [p for p in report.region.path.split("/") if p]
    ids = RegulatorMembership.objects.filter(region_id__in=ancestors).values_list("user_id", flat=True)
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("username"))
