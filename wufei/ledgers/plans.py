"""Annual hazardous waste management plans (管理计划, HJ 1259-2022): streams, planned transfers, review.

Rules as implemented
- One plan per organization, site (optional: blank = the whole unit) and year; its due date is
  the parameter `plan.due` (MM-DD, default 03-31) of that year, for the unit's region.
- The unit's writers (admin / member memberships) create, edit and submit; a plan needs at least
  one waste stream to be submitted. Regulators covering the unit's region approve, or return it
  with a required comment. Every state change carries the version the caller saw.
- A planned transfer names a receiver that must be active and hold a valid operating permit for
  the code (and the method, if given): `registry.services.check_receiver_permit`, checked when the
  transfer is saved and again on submission (a permit may lapse in between).
- Editing an approved plan never changes it: the edit goes into a new revision (a copy,
  revision + 1, `supersedes` the approved one) which is reviewed in turn. The approved plan in force
  for a site and year is the newest approved revision.
- Overdue: a plan whose due date has passed and that is neither submitted nor approved, in no
  revision (a returned plan after the due date is overdue again until it is resubmitted).
"""

import calendar
import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core import parameters
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed, WufeiError
from wufei.core.locks import lock_rows
from wufei.core.parsing import FieldSpec, clean, text
from wufei.core.scope import Scope
from wufei.ledgers.models import ManagementPlan, PlanStream, PlanTransfer, ReviewStatus
from wufei.registry import fields as registry_fields
from wufei.registry import services as registry
from wufei.registry.models import Organization, Site

EDITABLE = (ReviewStatus.DRAFT, ReviewStatus.RETURNED)
FILED = (ReviewStatus.SUBMITTED, ReviewStatus.APPROVED)

STREAM = {
    "waste": FieldSpec(registry_fields.waste_code, required=True, label="废物代码"),
    "planned_generation": FieldSpec(registry_fields.tonnes, required=True, label="计划产生量(吨)"),
    "storage_site": FieldSpec(text(40), label="贮存设施"),
    "planned_self_processing": FieldSpec(registry_fields.tonnes, label="计划自行利用处置量(吨)"),
    "note": FieldSpec(text(300), label="备注"),
}

TRANSFER = {
    "waste": FieldSpec(registry_fields.waste_code, required=True, label="废物代码"),
    "receiver": FieldSpec(text(40), required=True, label="接收单位"),
    "planned_quantity": FieldSpec(registry_fields.tonnes, required=True, label="计划转移量(吨)"),
    "method": FieldSpec(registry_fields.method, label="利用处置方式"),
}

MEASURES = {
    "reduction_measures": FieldSpec(text(5000), label="减量化计划和措施"),
    "storage_measures": FieldSpec(text(5000), label="贮存措施"),
}


# --- shared helpers (declarations and the e-ledger use them too) ---------------------------

def check_version(row, version) -> None:
    if version is None or int(version) != row.version:
        raise Conflict(_("this record was changed by someone else (version %(now)s, you sent %(sent)s); reload it")
                       % {"now": row.version, "sent": version}, code="stale_version")


def is_unit_writer(scope: Scope, organization: Organization) -> bool:
    return scope.is_platform_admin or organization.pk in scope.writable_organization_ids


def require_unit_writer(scope: Scope, organization: Organization, what: str) -> None:
    """Only the unit's own writers (and platform administrators) file its plans, declarations and ledgers."""
    if not is_unit_writer(scope, organization):
        raise PermissionDenied(_("only the unit's administrators and members can %(what)s") % {"what": what})


def is_regulator_of(scope: Scope, organization: Organization) -> bool:
    return scope.covers_region_path(organization.region.path)


def require_regulator_of(scope: Scope, organization: Organization, what: str) -> None:
    if not is_regulator_of(scope, organization):
        raise PermissionDenied(_("only a regulator of the unit's region can %(what)s") % {"what": what})


def due_date_from(parameter_value, year: int) -> dt.date:
    """'03-31' and a year → that day; a day past the month's end is its last day (02-29 → 02-28)."""
    try:
        month, day = (int(part) for part in str(parameter_value).strip().split("-"))
        return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))
    except (ValueError, TypeError) as exc:
        raise RuleViolation(_("the due-date setting %(value)s is not a MM-DD day") % {"value": parameter_value},
                            code="bad_due_date_setting") from exc


def find_organization(value) -> Organization | None:
    """An organization by id or USCC (any region: receivers are named by their USCC across the platform)."""
    raw = str(value).strip().upper()
    if not raw:
        return None
    if raw.isdigit() and len(raw) < 18:
        return Organization.objects.select_related("region").filter(pk=int(raw)).first()
    return Organization.objects.select_related("region").filter(uscc=raw).first()


def plain(value: Decimal) -> str:
    text_value = format(value, "f")
    return text_value.rstrip("0").rstrip(".") if "." in text_value else text_value


def prefixed(errors: list[dict], prefix: str) -> list[dict]:
    return [{**error, "field": f"{prefix}.{error['field']}"} for error in errors]


# --- selectors -----------------------------------------------------------------------------

def plans_for(scope: Scope, *, organization_id: int | None = None, year: int | None = None,
              status: str | None = None, site_id: int | None = None):
    plans = ManagementPlan.objects.visible_to(scope).select_related("organization", "organization__region", "site")
    if organization_id:
        plans = plans.filter(organization_id=organization_id)
    if year:
        plans = plans.filter(year=year)
    if status:
        if status not in ReviewStatus.values:
            raise ValidationFailed(_("unknown status"), errors=[{"field": "status", "message": status}])
        plans = plans.filter(status=status)
    if site_id:
        plans = plans.filter(site_id=site_id)
    return plans


def get_plan(scope: Scope, plan_id: int) -> ManagementPlan:
    plan = plans_for(scope).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("management plan not found"))
    return plan


def plan_detail(scope: Scope, plan_id: int) -> ManagementPlan:
    """The plan with its streams and transfers loaded."""
    plan = get_plan(scope, plan_id)
    plan.stream_list = list(plan.streams.select_related("waste", "storage_site"))
    plan.transfer_list = list(plan.transfers.select_related("waste", "receiver", "method"))
    plan.newer_revision = ManagementPlan.objects.filter(supersedes=plan).first()
    return plan


def review_queue(scope: Scope):
    """Submitted plans in the regions the caller regulates, oldest submission first."""
    if not scope.is_regulator:
        return ManagementPlan.objects.none()
    return (ManagementPlan.objects.filter(scope.region_q("organization__region__path"), status=ReviewStatus.SUBMITTED)
            .select_related("organization", "site").order_by("submitted_at", "pk"))


def overdue_plans(scope: Scope, *, year: int, today: dt.date | None = None):
    """Plans of `year` past their due date that are neither submitted nor approved in any revision."""
    today = today or timezone.localdate()
    late = plans_for(scope, year=year).filter(status__in=EDITABLE, due_date__lt=today)
    filed = ManagementPlan.objects.filter(organization=OuterRef("organization"), year=OuterRef("year"),
                                          status__in=FILED)
    return (late.filter(site__isnull=False).exclude(Exists(filed.filter(site=OuterRef("site"))))
            | late.filter(site__isnull=True).exclude(Exists(filed.filter(site__isnull=True))))


def is_overdue(plan: ManagementPlan, today: dt.date | None = None) -> bool:
    return overdue_plans(Scope(is_platform_admin=True), year=plan.year, today=today).filter(pk=plan.pk).exists()


def submitted_late(plan: ManagementPlan) -> bool:
    return bool(plan.submitted_at) and timezone.localtime(plan.submitted_at).date() > plan.due_date


def approved_plans_in_force(*, organization, year: int):
    """The newest approved revision of each of the unit's plans for the year."""
    return (ManagementPlan.objects.filter(organization=organization, year=year, status=ReviewStatus.APPROVED)
            .exclude(superseded_by__status=ReviewStatus.APPROVED))


def planned_transfer_for(organization, waste_code: str, receiver, year: int) -> PlanTransfer | None:
    """The planned transfer of the approved plan in force that names this code and receiver, or None.

    The manifests call this to warn when a transfer was not planned (固废法 第78条: 管理计划).
    """
    organization_id = getattr(organization, "pk", organization)
    receiver_id = getattr(receiver, "pk", receiver)
    plans = approved_plans_in_force(organization=organization_id, year=year)
    return (PlanTransfer.objects.filter(plan__in=plans, waste_id=waste_code, receiver_id=receiver_id)
            .select_related("plan", "method").order_by("-plan__revision", "pk").first())


def plan_overview(scope: Scope, organization: Organization, *, year: int | None = None,
                  today: dt.date | None = None) -> dict:
    """The year's plans of a unit, per site: the newest revision, the approved one in force, overdue or not."""
    today = today or timezone.localdate()
    year = year or today.year
    due = due_date_from(parameters.get("plan.due", organization.region), year)
    plans = list(plans_for(scope, organization_id=organization.pk, year=year).order_by("site_id", "-revision"))
    overdue_ids = set(overdue_plans(scope, year=year, today=today).filter(
        organization=organization).values_list("pk", flat=True))
    rows, seen = [], set()
    for plan in plans:
        if plan.site_id in seen:
            continue
        seen.add(plan.site_id)
        in_force = next((p for p in plans if p.site_id == plan.site_id and p.status == ReviewStatus.APPROVED), None)
        rows.append({"plan": plan, "in_force": in_force, "overdue": plan.pk in overdue_ids,
                     "submitted_late": submitted_late(plan)})
    return {"year": year, "due_date": due, "rows": rows, "missing": not rows and today > due}


# --- writes --------------------------------------------------------------------------------

def _lock(plan: ManagementPlan) -> ManagementPlan:
    return lock_rows(ManagementPlan.objects).select_related(
        "organization", "organization__region", "site").get(pk=plan.pk)


def _site_of(organization: Organization, value, field: str, *, storage: bool) -> tuple[Site | None, list[dict]]:
    if value in (None, ""):
        return None, []
    raw = str(value).strip()
    sites = Site.objects.filter(organization=organization)
    site = sites.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 18 else sites.filter(code=raw).first()
    if site is None:
        return None, [{"field": field, "message": _("%(value)s is not a site of %(name)s")
                       % {"value": raw, "name": organization.name}}]
    if storage and site.kind != Site.Kind.STORAGE:
        return None, [{"field": field, "message": _("%(site)s is not a storage facility") % {"site": site.name}}]
    if not site.is_active:
        return None, [{"field": field, "message": _("%(site)s is not in use") % {"site": site.name}}]
    return site, []


@transaction.atomic
def create_plan(*, scope: Scope, organization_id: int, year: int, site_id: int | None = None,
                reduction_measures: str = "", storage_measures: str = "") -> ManagementPlan:
    organization = registry.get_organization(scope, organization_id)
    require_unit_writer(scope, organization, _("file management plans"))
    registry.ensure_usable(organization)
    errors = []
    if not 2000 <= int(year) <= timezone.localdate().year + 1:
        errors.append({"field": "year", "message": _("a plan can be filed for a year up to next year")})
    site, site_errors = _site_of(organization, site_id, "site", storage=False)
    errors += site_errors
    values, measure_errors = clean(MEASURES, {"reduction_measures": reduction_measures,
                                              "storage_measures": storage_measures})
    errors += measure_errors
    if errors:
        raise ValidationFailed(_("management plan is not valid"), errors=errors)
    lock_rows(Organization.objects).filter(pk=organization.pk).first()  # one plan per site and year
    existing = ManagementPlan.objects.filter(organization=organization, site=site, year=year).order_by(
        "-revision").first()
    if existing:
        raise Conflict(_("a management plan for this site and year already exists (no. %(id)s); edit it")
                       % {"id": existing.pk}, code="plan_exists",
                       errors=[{"field": "year", "message": str(existing.pk)}])
    plan = ManagementPlan(organization=organization, site=site, year=year,
                          due_date=due_date_from(parameters.get("plan.due", organization.region), year), **values)
    plan.save()
    return plan


def _editable(scope: Scope, plan_id: int, version) -> ManagementPlan:
    """The plan to write an edit into: the plan itself, or a new revision of an approved plan."""
    plan = get_plan(scope, plan_id)
    require_unit_writer(scope, plan.organization, _("edit management plans"))
    plan = _lock(plan)
    check_version(plan, version)
    if plan.status in EDITABLE:
        return plan
    if plan.status == ReviewStatus.SUBMITTED:
        raise RuleViolation(_("the plan is under review and cannot be changed; wait for the regulator's decision"),
                            code="plan_under_review")
    newer = ManagementPlan.objects.filter(supersedes=plan).first()
    if newer is not None:
        raise RuleViolation(_("revision %(revision)s of this plan already exists (no. %(id)s); edit that one")
                            % {"revision": newer.revision, "id": newer.pk}, code="plan_superseded")
    return _new_revision(plan)


def _new_revision(plan: ManagementPlan) -> ManagementPlan:
    revision = ManagementPlan(
        organization=plan.organization, site=plan.site, year=plan.year, revision=plan.revision + 1,
        due_date=plan.due_date, reduction_measures=plan.reduction_measures, storage_measures=plan.storage_measures,
        supersedes=plan)
    revision.save(audit_action="revision_created", audit_note=f"revises plan {plan.pk} r{plan.revision}")
    PlanStream.objects.bulk_create([
        PlanStream(plan=revision, waste_id=s.waste_id, planned_generation=s.planned_generation,
                   storage_site_id=s.storage_site_id, planned_self_processing=s.planned_self_processing, note=s.note)
        for s in plan.streams.all()])
    PlanTransfer.objects.bulk_create([
        PlanTransfer(plan=revision, waste_id=t.waste_id, receiver_id=t.receiver_id,
                     planned_quantity=t.planned_quantity, method_id=t.method_id)
        for t in plan.transfers.all()])
    return revision


@transaction.atomic
def update_measures(*, scope: Scope, plan_id: int, version: int, data: dict) -> ManagementPlan:
    """Reduction and storage measures (an approved plan gets a new revision)."""
    values, errors = clean(MEASURES, data, partial=True)
    if errors:
        raise ValidationFailed(_("management plan is not valid"), errors=errors)
    plan = _editable(scope, plan_id, version)
    for name, value in values.items():
        setattr(plan, name, value)
    plan.save(audit_action="measures_changed")
    return plan


def validate_streams(plan: ManagementPlan, streams: list[dict]) -> tuple[list[dict], list[dict]]:
    parsed, errors, seen = [], [], {}
    for index, stream in enumerate(streams):
        values, row_errors = clean(STREAM, stream)
        site, site_errors = _site_of(plan.organization, values.get("storage_site"), "storage_site", storage=True)
        row_errors += site_errors
        values["storage_site"] = site
        waste = values.get("waste")
        if waste is not None:
            if waste.code in seen:
                row_errors.append({"field": "waste", "message": _("%(code)s is already stream %(n)d")
                                   % {"code": waste.code, "n": seen[waste.code] + 1}})
            seen.setdefault(waste.code, index)
        errors += prefixed(row_errors, f"streams.{index}")
        parsed.append(values)
    return parsed, errors


def validate_transfers(plan: ManagementPlan, transfers: list[dict]) -> tuple[list[dict], list[dict]]:
    parsed, errors = [], []
    for index, transfer in enumerate(transfers):
        values, row_errors = clean(TRANSFER, transfer)
        if "planned_quantity" in values and values["planned_quantity"] is not None \
                and values["planned_quantity"] <= 0:
            row_errors.append({"field": "planned_quantity", "message": _("must be more than 0")})
        receiver = None
        if values.get("receiver"):
            receiver = find_organization(values["receiver"])
            if receiver is None:
                row_errors.append({"field": "receiver", "message": _("no organization %(value)s is registered")
                                   % {"value": values["receiver"]}})
        values["receiver"] = receiver
        if receiver is not None and values.get("waste") is not None and "method" not in {
                e["field"] for e in row_errors}:
            try:
                registry.check_receiver_permit(receiver, values["waste"].code,
                                               method_code=values["method"].code if values.get("method") else None)
            except WufeiError as exc:
                row_errors.append({"field": "receiver", "message": exc.message, "code": exc.code})
        errors += prefixed(row_errors, f"transfers.{index}")
        parsed.append(values)
    return parsed, errors


def raise_errors(message: str, errors: list[dict]):
    """A RuleViolation when every error names a rule (a `code`), else a ValidationFailed listing them all."""
    rule_errors = [e for e in errors if e.get("code")]
    if rule_errors and len(rule_errors) == len(errors):
        raise RuleViolation(rule_errors[0]["message"], code=rule_errors[0]["code"], errors=errors)
    raise ValidationFailed(message, errors=errors)


@transaction.atomic
def set_streams(*, scope: Scope, plan_id: int, version: int, streams: list[dict]) -> ManagementPlan:
    """Replace the plan's waste streams (an approved plan gets a new revision holding the change)."""
    plan = _editable(scope, plan_id, version)
    parsed, errors = validate_streams(plan, streams)
    if errors:
        raise_errors(_("waste streams are not valid"), errors)
    plan.streams.all().delete()
    PlanStream.objects.bulk_create([
        PlanStream(plan=plan, waste=s["waste"], planned_generation=s["planned_generation"],
                   storage_site=s["storage_site"], planned_self_processing=s.get("planned_self_processing") or 0,
                   note=s.get("note") or "") for s in parsed])
    note = "; ".join(f"{s['waste'].code} {plain(s['planned_generation'])} t" for s in parsed)
    plan.save(audit_action="streams_replaced", audit_note=note)
    return plan


@transaction.atomic
def set_transfers(*, scope: Scope, plan_id: int, version: int, transfers: list[dict]) -> ManagementPlan:
    """Replace the planned transfers; every receiver must hold a valid permit for the code (固废法 第80条)."""
    plan = _editable(scope, plan_id, version)
    parsed, errors = validate_transfers(plan, transfers)
    if errors:
        raise_errors(_("planned transfers are not valid"), errors)
    plan.transfers.all().delete()
    PlanTransfer.objects.bulk_create([
        PlanTransfer(plan=plan, waste=t["waste"], receiver=t["receiver"], planned_quantity=t["planned_quantity"],
                     method=t.get("method")) for t in parsed])
    note = "; ".join(f"{t['waste'].code} {plain(t['planned_quantity'])} t → {t['receiver'].uscc}" for t in parsed)
    plan.save(audit_action="transfers_replaced", audit_note=note)
    return plan


@transaction.atomic
def submit_plan(*, scope: Scope, plan_id: int, version: int) -> ManagementPlan:
    plan = get_plan(scope, plan_id)
    require_unit_writer(scope, plan.organization, _("submit management plans"))
    plan = _lock(plan)
    check_version(plan, version)
    if plan.status not in EDITABLE:
        raise RuleViolation(_("only a draft or returned plan can be submitted (this one is %(status)s)")
                            % {"status": plan.get_status_display()}, code="plan_not_editable")
    streams = list(plan.streams.all())
    errors = []
    if not streams:
        errors.append({"field": "streams", "message": _("a plan needs at least one waste stream")})
    codes = {s.waste_id for s in streams}
    transfers = list(plan.transfers.select_related("receiver", "method"))
    for index, transfer in enumerate(transfers):
        if transfer.waste_id not in codes:
            errors.append({"field": f"transfers.{index}.waste",
                           "message": _("%(code)s is transferred but is not one of the plan's streams")
                           % {"code": transfer.waste_id}})
        try:
            registry.check_receiver_permit(transfer.receiver, transfer.waste_id, method_code=transfer.method_id)
        except WufeiError as exc:
            errors.append({"field": f"transfers.{index}.receiver", "message": exc.message})
    if errors:
        raise ValidationFailed(_("the plan cannot be submitted"), errors=errors)
    plan.status = ReviewStatus.SUBMITTED
    plan.submitted_at = timezone.now()
    plan.save(audit_action="submitted")
    return plan


def _review(scope: Scope, plan_id: int, version: int) -> ManagementPlan:
    plan = get_plan(scope, plan_id)
    require_regulator_of(scope, plan.organization, _("review management plans"))
    plan = _lock(plan)
    check_version(plan, version)
    if plan.status != ReviewStatus.SUBMITTED:
        raise RuleViolation(_("only a submitted plan can be reviewed (this one is %(status)s)")
                            % {"status": plan.get_status_display()}, code="plan_not_submitted")
    return plan


@transaction.atomic
def approve_plan(*, scope: Scope, plan_id: int, version: int, comment: str = "") -> ManagementPlan:
    plan = _review(scope, plan_id, version)
    plan.status = ReviewStatus.APPROVED
    plan.reviewed_at = timezone.now()
    plan.reviewed_by_id = scope.user_id
    plan.review_comment = (comment or "").strip()
    plan.save(audit_action="approved", audit_note=plan.review_comment)
    return plan


@transaction.atomic
def return_plan(*, scope: Scope, plan_id: int, version: int, comment: str) -> ManagementPlan:
    if not (comment or "").strip():
        raise ValidationFailed(_("a comment is required to return a plan"),
                               errors=[{"field": "comment", "message": _("is required")}])
    plan = _review(scope, plan_id, version)
    plan.status = ReviewStatus.RETURNED
    plan.reviewed_at = timezone.now()
    plan.reviewed_by_id = scope.user_id
    plan.review_comment = comment.strip()
    plan.save(audit_action="returned", audit_note=plan.review_comment)
    return plan
