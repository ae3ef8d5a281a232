"""Cross-province transfers (跨省转移): applications, filings, standing rules, and the check a manifest passes.

Rules as implemented (固废法 2020 第22条; 危险废物转移管理办法 2021 第21–28条; RULES.md §2)
- Provinces: a region's province is the first two digits of its code + '0000' ('500113' → '500000').
  The province of origin is the generator's, the destination the receiver's; the same province
  is not a cross-province transfer and is refused.
- Approval (审批, kind `approval`): the generator's writers apply to the province of origin
  (receiver, one waste code — hazardous, or general going to storage / disposal —, name, method,
  tonnes, the period asked for). A hazardous waste's receiver must hold a valid permit for the code
  and method when the application is made and again when it is approved (第22条: 许可证复印件).
  Steps, each by a regulator whose region subtree covers the whole province (a district or city
  regulator does not):
    submitted --origin consents (商请函)--> consulting --destination consents--> dest_consented
    --origin approves--> approved            (any step may refuse, with a reason → refused)
  The approval names the approved tonnes (at most those asked for) and its validity: from the
  approval day for 12 months (the last valid day is the day before the same date a year later),
  but never beyond the period asked for nor the receiver's permit for the code (第27条).
  Every decision appends {step, by, at, decision, note} to `history` and is an audit-chain event;
  every decision carries the version the regulator saw (stale → 409 `stale_version`), a step out of
  order answers 409 `cross_province_wrong_step`, a regulator of the wrong province 403.
- Filing (备案, kind `filing`, 第22条第2款): general industrial solid waste going to utilization in
  another province. The generator files; the filing is `filed` at once and seen by the regulators
  of both provinces. Valid from the filing day to the day asked for. An approval application for
  general waste going to utilization is refused (`cross_province_filing_suffices`): the law asks
  for a filing.
- Standing rules (CrossProvinceRule), kept by the regulators of the province of origin: a whitelist
  between two provinces (optionally for one generator, receiver, code or HW category), or a
  point-to-point utilization exemption (点对点定向利用), which always names its generator and receiver
  and only covers lines going to utilization (or with no method yet).
- `authorize()` is the check the manifest submit step runs; see its docstring for the contract.
  Quantity used against an approval = the shipped tonnes of the manifest lines of the approval's
  code on manifests linked to it (`Manifest.application`) that are neither drafts nor cancelled.
"""

import calendar
import datetime as dt
import re
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog import services as catalog
from wufei.catalog.models import HazardousWasteCategory, Region, TreatmentMethod
from wufei.core import parsing
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed, WufeiError
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope
from wufei.ledgers.solid_waste import check_code as check_general_code
from wufei.manifests import kinds
from wufei.manifests.models import (
    ApplicationKind,
    ApplicationStatus,
    CrossProvinceApplication,
    CrossProvinceBasis,
    CrossProvinceRule,
    ManifestLine,
    ManifestStatus,
    TransferRuleKind,
)
from wufei.registry import services as registry
from wufei.registry.models import Organization

HAZARDOUS_CODE = re.compile(r"^\d{3}-\d{3}-\d{2}$")
CATEGORY_CODE = re.compile(r"^HW\d{2}$")
APPROVAL_VALIDITY_MONTHS = 12  # 危险废物转移管理办法 第27条
NOT_COUNTED = (ManifestStatus.DRAFT, ManifestStatus.CANCELLED)
ROLES = ("generator", "receiver", "origin", "destination")
TONNE = Decimal("0.000001")  # the smallest quantity the tonnes columns hold

# status → (the step that may act now, the status it leads to on consent)
STEPS = {
    "origin_review": (ApplicationStatus.SUBMITTED, ApplicationStatus.CONSULTING),
    "destination_review": (ApplicationStatus.CONSULTING, ApplicationStatus.DESTINATION_CONSENTED),
    "decision": (ApplicationStatus.DESTINATION_CONSENTED, ApplicationStatus.APPROVED),
}
AWAITING = {status: step for step, (status, _next) in STEPS.items()}


# --- provinces ---------------------------------------------------------------------------------

def province_code(region_code: str) -> str:
    return f"{region_code[:2]}0000"


def province_of(region_or_code) -> Region:
    code = region_or_code if isinstance(region_or_code, str) else region_or_code.pk
    return Region.objects.get(pk=province_code(code))


def is_cross_province(generator: Organization, receiver: Organization) -> bool:
    return province_code(generator.region_id) != province_code(receiver.region_id)


# --- selectors ---------------------------------------------------------------------------------

def applications_for(scope: Scope, *, status: str | None = None, kind: str | None = None, role: str | None = None,
                     generator: int | None = None, receiver: int | None = None, code: str | None = None):
    """Applications and filings the caller may see.

    `role`: generator / receiver (the caller's units on that side), origin / destination (the
    caller's regions on that side: a regulator's queue is `role=origin&status=submitted` …).
    """
    applications = CrossProvinceApplication.objects.visible_to(scope).select_related(
        "generator", "receiver", "origin_province", "destination_province", "waste", "method")
    if status:
        statuses = [s.strip() for s in status.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in ApplicationStatus.values]
        if unknown:
            raise ValidationFailed(_("unknown status"), errors=[{"field": "status", "message": ", ".join(unknown)}])
        applications = applications.filter(status__in=statuses)
    if kind:
        if kind not in ApplicationKind.values:
            raise ValidationFailed(_("unknown kind"), errors=[{"field": "kind", "message": kind}])
        applications = applications.filter(kind=kind)
    if role:
        if role not in ROLES:
            raise ValidationFailed(_("unknown role"), errors=[{"field": "role", "message": role}])
        if role in ("generator", "receiver"):
            ids = scope.organization_ids
            applications = applications if scope.is_platform_admin else applications.filter(
                **{f"{role}_id__in": ids})
        else:
            applications = applications.filter(scope.region_q(f"{role}_province__path"))
    if generator:
        applications = applications.filter(generator_id=generator)
    if receiver:
        applications = applications.filter(receiver_id=receiver)
    if code:
        code = code.strip().upper()
        applications = applications.filter(Q(waste_id=code) | Q(general_code=code))
    return applications


def get_application(scope: Scope, application_id: int) -> CrossProvinceApplication:
    """The application if the caller may see it; NotFound otherwise (invisible looks like unknown)."""
    application = applications_for(scope).filter(pk=application_id).first()
    if application is None:
        raise NotFound(_("cross-province application not found"), code="application_not_found")
    return application


def rules_for(scope: Scope, *, kind: str | None = None, origin: str | None = None, destination: str | None = None):
    rules = CrossProvinceRule.objects.visible_to(scope).select_related(
        "origin_province", "destination_province", "generator", "receiver")
    if kind:
        if kind not in TransferRuleKind.values:
            raise ValidationFailed(_("unknown kind"), errors=[{"field": "kind", "message": kind}])
        rules = rules.filter(kind=kind)
    if origin:
        rules = rules.filter(origin_province_id=province_code(origin))
    if destination:
        rules = rules.filter(destination_province_id=province_code(destination))
    return rules


def get_rule(scope: Scope, rule_id: int) -> CrossProvinceRule:
    rule = rules_for(scope).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("cross-province rule not found"), code="rule_not_found")
    return rule


def used_tonnes(application: CrossProvinceApplication, *, exclude_manifest_id: int | None = None) -> Decimal:
    """Tonnes shipped under an application: its code's lines on linked manifests neither draft nor cancelled."""
    lines = ManifestLine.objects.filter(manifest__application_id=application.pk).exclude(
        manifest__status__in=NOT_COUNTED)
    lines = lines.filter(waste_id=application.waste_id) if application.waste_id else \
        lines.filter(waste__isnull=True, general_code=application.general_code)
    if exclude_manifest_id is not None:
        lines = lines.exclude(manifest_id=exclude_manifest_id)
    return lines.aggregate(total=Sum("shipped_tonnes"))["total"] or Decimal(0)


def quantity_left(application: CrossProvinceApplication, *, exclude_manifest_id: int | None = None) -> Decimal:
    """Approved tonnes not yet shipped (0 for an application that is not approved; filings have no quota)."""
    if application.status != ApplicationStatus.APPROVED or application.approved_tonnes is None:
        return Decimal(0)
    return application.approved_tonnes - used_tonnes(application, exclude_manifest_id=exclude_manifest_id)


def awaiting(application: CrossProvinceApplication) -> str:
    """The step the application waits for: origin_review / destination_review / decision, or ''."""
    return AWAITING.get(application.status, "")


# --- applying and filing -----------------------------------------------------------------------

def _check_version(row, version) -> None:
    if version is None or int(version) != row.version:
        raise Conflict(_("this record was changed by someone else (version %(now)s, you sent %(sent)s); reload it")
                       % {"now": row.version, "sent": version}, code="stale_version")


def _find_organization(value) -> Organization | None:
    """An organization by id or USCC, in any region (the other party of a transfer is named, not browsed)."""
    raw = str(value if value is not None else "").strip().upper()
    if not raw:
        return None
    queryset = Organization.objects.select_related("region")
    if raw.isdigit() and len(raw) < 18:
        return queryset.filter(pk=int(raw)).first()
    return queryset.filter(uscc=raw).first()


def _entry(scope: Scope, step: str, decision: str, note: str) -> dict:
    return {"step": step, "by": scope.username or (f"user {scope.user_id}" if scope.user_id else "system"),
            "at": timezone.now().isoformat(timespec="seconds"), "decision": decision, "note": note}


def _parse_code(raw: str, field: str = "code"):
    """(HazardousWaste, '', '') for a code of the national list, (None, general code, its catalog name) otherwise."""
    code = (raw or "").strip().upper()
    if not code:
        raise ValidationFailed(_("a waste code is required"), errors=[{"field": field, "message": _("is required")}])
    if HAZARDOUS_CODE.match(code):
        try:
            return catalog.get_hazardous_waste(code), "", ""
        except WufeiError as exc:
            raise ValidationFailed(exc.message, errors=[{"field": field, "message": exc.message}]) from exc
    try:
        general, name = check_general_code(code)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": field, "message": str(exc)}]) from exc
    return None, general, name


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


@transaction.atomic
def apply(*, scope: Scope, generator_id: int, receiver, code: str, method: str, requested_tonnes,
          requested_until: dt.date, kind: str = ApplicationKind.APPROVAL, waste_name: str = "", note: str = "",
          today: dt.date | None = None) -> CrossProvinceApplication:
    """The generator applies to its province for a transfer to `receiver` (id or USCC), or files a utilization.

    An application starts `submitted`; a filing is `filed` at once (固废法 第22条第2款).
    """
    today = today or timezone.localdate()
    generator = registry.get_organization(scope, generator_id)
    if not (scope.is_platform_admin or generator.pk in scope.writable_organization_ids):
        raise PermissionDenied(_("only %(unit)s's administrators and members can apply for its cross-province "
                                 "transfers") % {"unit": generator.name})
    registry.ensure_usable(generator, role="generator")
    errors = []
    if kind not in ApplicationKind.values:
        errors.append({"field": "kind", "message": _("must be one of %(options)s")
                       % {"options": ", ".join(ApplicationKind.values)}})
    receiver_org = _find_organization(receiver)
    if receiver_org is None:
        errors.append({"field": "receiver", "message": _("no organization %(value)s is registered")
                       % {"value": receiver}})
    waste = general_code = general_name = treatment = None
    try:
        waste, general_code, general_name = _parse_code(code)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    try:
        treatment = catalog.get_treatment_method(method or "")
    except WufeiError as exc:
        errors.append({"field": "method", "message": exc.message if method else _("is required")})
    try:
        tonnes = parsing.tonnes(minimum=TONNE)(requested_tonnes)
    except ValueError as exc:
        errors.append({"field": "requested_tonnes", "message": str(exc)})
    if requested_until is None:
        errors.append({"field": "requested_until", "message": _("is required")})
    elif requested_until < today:
        errors.append({"field": "requested_until", "message": _("is in the past")})
    if len((note or "").strip()) > 500:
        errors.append({"field": "note", "message": _("is longer than %(n)d characters") % {"n": 500}})
    if errors:
        raise ValidationFailed(_("the cross-province application is not valid"), errors=errors)

    registry.ensure_usable(receiver_org, role="receiver")
    if not is_cross_province(generator, receiver_org):
        raise RuleViolation(_("%(generator)s and %(receiver)s are both in %(province)s: this is not a cross-province "
                              "transfer") % {"generator": generator.name, "receiver": receiver_org.name,
                                              "province": province_of(generator.region_id).name},
                            code="not_cross_province")
    utilization = treatment.kind == TreatmentMethod.Kind.UTILIZATION
    if kind == ApplicationKind.FILING and (waste is not None or not utilization):
        raise RuleViolation(_("a filing is only for general industrial solid waste going to utilization in another "
                              "province; anything else needs an approval (固废法 第22条)"),
                            code="cross_province_filing_not_allowed")
    if kind == ApplicationKind.APPROVAL and waste is None and utilization:
        raise RuleViolation(_("general industrial solid waste going to utilization in another province is filed, "
                              "not approved: file it instead (固废法 第22条第2款)"),
                            code="cross_province_filing_suffices")
    if waste is not None:
        registry.check_receiver_permit(receiver_org, waste.pk, method_code=treatment.pk, on=today)

    filing = kind == ApplicationKind.FILING
    note = (note or "").strip()
    application = CrossProvinceApplication(
        kind=kind, generator=generator, receiver=receiver_org,
        origin_province=province_of(generator.region_id), destination_province=province_of(receiver_org.region_id),
        waste=waste, general_code=general_code or "",
        waste_name=((waste_name or "").strip() or (waste.description if waste else general_name or general_code))[:200],
        method=treatment, requested_tonnes=tonnes, requested_until=requested_until,
        status=ApplicationStatus.FILED if filing else ApplicationStatus.SUBMITTED,
        valid_from=today if filing else None, valid_until=requested_until if filing else None,
        history=[_entry(scope, "filing" if filing else "application", "filed" if filing else "submitted", note)],
    )
    application.save(audit_action="filed" if filing else "applied", audit_note=note)
    return application


# --- the regulators' steps ---------------------------------------------------------------------

def _require_province_regulator(scope: Scope, province: Region, message: str) -> None:
    if not scope.covers_region_path(province.path):
        raise PermissionDenied(message % {"province": province.name})


def _step(scope: Scope, application_id: int, version, step: str) -> CrossProvinceApplication:
    application = get_application(scope, application_id)
    if step == "destination_review":
        _require_province_regulator(scope, application.destination_province, _(
            "only a regulator of the destination province (%(province)s) can answer the consultation"))
    else:
        _require_province_regulator(scope, application.origin_province, _(
            "only a regulator of the province of origin (%(province)s) can review or decide this application"))
    locked = lock_rows(CrossProvinceApplication.objects).get(pk=application.pk)
    for attr in ("generator", "receiver", "origin_province", "destination_province", "waste", "method"):
        setattr(locked, attr, getattr(application, attr))
    _check_version(locked, version)
    expected, _next = STEPS[step]
    if locked.status != expected:
        raise Conflict(_("this application is %(status)s: it does not wait for this step")
                       % {"status": locked.get_status_display()}, code="cross_province_wrong_step")
    return locked


def _refusal_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("a reason is required to refuse"),
                               errors=[{"field": "note", "message": _("is required")}])
    return note


def _record(application, scope, step: str, decision: str, note: str, action: str) -> CrossProvinceApplication:
    application.history = [*application.history, _entry(scope, step, decision, note)]
    application.save(audit_action=action, audit_note=note)
    return application


@transaction.atomic
def origin_review(*, scope: Scope, application_id: int, consent: bool, version: int,
                  note: str = "") -> CrossProvinceApplication:
    """First review by the province of origin (第24条): consent sends the 商请函 to the destination."""
    application = _step(scope, application_id, version, "origin_review")
    note = (note or "").strip()[:500]
    if consent:
        application.status = ApplicationStatus.CONSULTING
        return _record(application, scope, "origin_review", "consented", note, "origin_consented")
    application.status = ApplicationStatus.REFUSED
    application.decision_note = _refusal_note(note)
    return _record(application, scope, "origin_review", "refused", application.decision_note, "origin_refused")


@transaction.atomic
def destination_review(*, scope: Scope, application_id: int, consent: bool, version: int,
                       note: str = "") -> CrossProvinceApplication:
    """The destination province answers the consultation (第25条)."""
    application = _step(scope, application_id, version, "destination_review")
    note = (note or "").strip()[:500]
    if consent:
        application.status = ApplicationStatus.DESTINATION_CONSENTED
        return _record(application, scope, "destination_review", "consented", note, "destination_consented")
    application.status = ApplicationStatus.REFUSED
    application.decision_note = _refusal_note(note)
    return _record(application, scope, "destination_review", "refused", application.decision_note,
                   "destination_refused")


def approval_validity(application: CrossProvinceApplication, day: dt.date) -> dt.date:
    """The last valid day of an approval given on `day` (第27条): 12 months, the period asked for, the permit."""
    until = min(_add_months(day, APPROVAL_VALIDITY_MONTHS) - dt.timedelta(days=1), application.requested_until)
    if application.waste_id:
        lines = registry.check_receiver_permit(application.receiver, application.waste_id,
                                               method_code=application.method_id, on=day)
        until = min(until, max(line.permit.valid_until for line in lines))
    return until


@transaction.atomic
def decide(*, scope: Scope, application_id: int, approve: bool, version: int, approved_tonnes=None,
           note: str = "", today: dt.date | None = None) -> CrossProvinceApplication:
    """The province of origin approves (tonnes, validity) or refuses, after the destination consented (第26–27条)."""
    application = _step(scope, application_id, version, "decision")
    note = (note or "").strip()[:500]
    if not approve:
        application.status = ApplicationStatus.REFUSED
        application.decision_note = _refusal_note(note)
        return _record(application, scope, "decision", "refused", application.decision_note, "refused")
    day = today or timezone.localdate()
    try:
        tonnes = application.requested_tonnes if approved_tonnes is None else \
            parsing.tonnes(minimum=TONNE)(approved_tonnes)
    except ValueError as exc:
        raise ValidationFailed(_("the approved quantity is not valid"),
                               errors=[{"field": "approved_tonnes", "message": str(exc)}]) from None
    if tonnes > application.requested_tonnes:
        raise ValidationFailed(_("the approved quantity is not valid"), errors=[{
            "field": "approved_tonnes", "message": _("must be at most %(n)s") % {"n": application.requested_tonnes}}])
    if application.requested_until < day:
        raise RuleViolation(_("the period asked for ended on %(date)s: nothing is left to approve; the generator "
                              "applies again") % {"date": application.requested_until.isoformat()},
                            code="cross_province_period_over")
    registry.ensure_usable(application.receiver, role="receiver")
    application.valid_until = approval_validity(application, day)
    application.valid_from = day
    application.approved_tonnes = tonnes
    application.status = ApplicationStatus.APPROVED
    application.decision_note = note
    return _record(application, scope, "decision", "approved", note, "approved")


# --- standing rules: whitelist and point-to-point ----------------------------------------------

def _province(value, field: str, errors: list) -> Region | None:
    code = str(value or "").strip()
    region = Region.objects.filter(pk=code).first()
    if region is None or region.level != Region.Level.PROVINCE:
        errors.append({"field": field, "message": _("%(code)s is not a province") % {"code": code or "—"}})
        return None
    return region


def _rule_code(raw: str) -> str:
    code = (raw or "").strip().upper()
    if not code:
        return ""
    if CATEGORY_CODE.match(code):
        if not HazardousWasteCategory.objects.filter(pk=code).exists():
            raise ValidationFailed(_("%(code)s is not a hazardous waste category") % {"code": code},
                                   errors=[{"field": "code", "message": code}])
        return code
    waste, general, _name = _parse_code(code)
    return waste.pk if waste else general


@transaction.atomic
def create_rule(*, scope: Scope, kind: str, origin_province: str, destination_province: str, valid_from: dt.date,
                valid_until: dt.date, generator_id: int | None = None, receiver_id: int | None = None,
                code: str = "", note: str = "") -> CrossProvinceRule:
    """A standing permission of the province of origin, kept by its regulators."""
    errors = []
    origin = _province(origin_province, "origin_province", errors)
    destination = _province(destination_province, "destination_province", errors)
    if origin is not None:
        _require_province_regulator(scope, origin, _(
            "only a regulator of the province of origin (%(province)s) can set its cross-province rules"))
    if kind not in TransferRuleKind.values:
        errors.append({"field": "kind", "message": _("must be one of %(options)s")
                       % {"options": ", ".join(TransferRuleKind.values)}})
    if origin is not None and destination is not None and origin.pk == destination.pk:
        errors.append({"field": "destination_province", "message": _("must be another province")})
    generator = receiver = None
    if generator_id is not None:
        generator = _find_organization(generator_id)
        if generator is None:
            errors.append({"field": "generator_id", "message": _("no organization %(value)s is registered")
                           % {"value": generator_id}})
        elif origin is not None and province_code(generator.region_id) != origin.pk:
            errors.append({"field": "generator_id", "message": _("is not in the province of origin")})
    if receiver_id is not None:
        receiver = _find_organization(receiver_id)
        if receiver is None:
            errors.append({"field": "receiver_id", "message": _("no organization %(value)s is registered")
                           % {"value": receiver_id}})
        elif destination is not None and province_code(receiver.region_id) != destination.pk:
            errors.append({"field": "receiver_id", "message": _("is not in the destination province")})
    if kind == TransferRuleKind.POINT_TO_POINT and (generator_id is None or receiver_id is None):
        errors.append({"field": "generator_id" if generator_id is None else "receiver_id",
                       "message": _("a point-to-point exemption names its generator and its receiver")})
    try:
        rule_code = _rule_code(code)
    except ValidationFailed as exc:
        rule_code = ""
        errors.extend(exc.errors)
    if valid_from and valid_until and valid_until < valid_from:
        errors.append({"field": "valid_until", "message": _("must not be before the start of validity")})
    if len((note or "").strip()) > 300:
        errors.append({"field": "note", "message": _("is longer than %(n)d characters") % {"n": 300}})
    if errors:
        raise ValidationFailed(_("the cross-province rule is not valid"), errors=errors)
    rule = CrossProvinceRule(kind=kind, origin_province=origin, destination_province=destination,
                             generator=generator, receiver=receiver, code=rule_code, valid_from=valid_from,
                             valid_until=valid_until, note=(note or "").strip())
    rule.save()
    return rule


def _editable_rule(scope: Scope, rule_id: int, version) -> CrossProvinceRule:
    rule = get_rule(scope, rule_id)
    _require_province_regulator(scope, rule.origin_province, _(
        "only a regulator of the province of origin (%(province)s) can set its cross-province rules"))
    locked = lock_rows(CrossProvinceRule.objects).get(pk=rule.pk)
    _check_version(locked, version)
    locked.origin_province = rule.origin_province
    return locked


@transaction.atomic
def update_rule(*, scope: Scope, rule_id: int, version: int, valid_from: dt.date | None = None,
                valid_until: dt.date | None = None, note: str | None = None) -> CrossProvinceRule:
    """Change a rule's validity or note (anything else: delete it and create another)."""
    rule = _editable_rule(scope, rule_id, version)
    if valid_from is not None:
        rule.valid_from = valid_from
    if valid_until is not None:
        rule.valid_until = valid_until
    if note is not None:
        rule.note = note.strip()[:300]
    if rule.valid_until < rule.valid_from:
        raise ValidationFailed(_("the cross-province rule is not valid"), errors=[
            {"field": "valid_until", "message": _("must not be before the start of validity")}])
    rule.save()
    return rule


@transaction.atomic
def delete_rule(*, scope: Scope, rule_id: int, version: int) -> None:
    _editable_rule(scope, rule_id, version).delete()


# --- the manifest's check ----------------------------------------------------------------------

def _rule_covers(rule: CrossProvinceRule, code: str, method_kind: str | None) -> bool:
    if rule.kind == TransferRuleKind.POINT_TO_POINT and method_kind not in (None, TreatmentMethod.Kind.UTILIZATION):
        return False  # 点对点定向利用: utilization only
    if CATEGORY_CODE.match(rule.code.upper()) and not HAZARDOUS_CODE.match(code):
        return False  # an HW category never covers a general code (SW49 is not HW49)
    return rule.covers_code(code)


def _lock(queryset):
    return lock_rows(queryset) if transaction.get_connection().in_atomic_block else queryset


def _names(generator, receiver, origin, destination, code) -> dict:
    return {"code": code, "origin": origin.name, "destination": destination.name, "generator": generator.name,
            "receiver": receiver.name}


def _approval_for(*, generator, receiver, origin, destination, code: str, tonnes: Decimal, methods: set[str], on,
                  exclude_manifest_id) -> tuple[CrossProvinceApplication | None, RuleViolation | None]:
    """An approved application for the code with `tonnes` left on `on`, or the error saying why there is none."""
    candidates = list(_lock(CrossProvinceApplication.objects.filter(
        kind=ApplicationKind.APPROVAL, status=ApplicationStatus.APPROVED, generator_id=generator.pk,
        receiver_id=receiver.pk).filter(Q(waste_id=code) | Q(waste__isnull=True, general_code=code)))
        .order_by("valid_until", "pk"))
    names = _names(generator, receiver, origin, destination, code)
    current = [a for a in candidates if a.valid_from <= on <= a.valid_until]
    if not current:
        expired = [a for a in candidates if a.valid_until < on]
        if expired:
            last = expired[-1]
            return None, RuleViolation(
                _("the cross-province approval no. %(id)s for %(code)s (%(origin)s → %(destination)s) expired on "
                  "%(date)s; the generator applies again (危险废物转移管理办法 第27条)")
                % {**names, "id": last.pk, "date": last.valid_until.isoformat()},
                code="cross_province_approval_expired")
        return None, RuleViolation(
            _("no approved cross-province transfer covers %(code)s from %(origin)s to %(destination)s for "
              "%(generator)s → %(receiver)s (固废法 第22条; 危险废物转移管理办法 第21–28条)") % names,
            code="cross_province_not_approved")
    matching = [a for a in current if not methods or (a.method_id is None or methods == {a.method_id})]
    if not matching:
        first = current[0]
        return None, RuleViolation(
            _("the cross-province approval no. %(id)s for %(code)s is for method %(approved)s, not %(planned)s; a "
              "change of method needs a new application (危险废物转移管理办法 第28条)")
            % {**names, "id": first.pk, "approved": first.method_id, "planned": ", ".join(sorted(methods))},
            code="cross_province_method_not_approved")
    best_left, best = None, None
    for application in matching:
        left = quantity_left(application, exclude_manifest_id=exclude_manifest_id)
        if left >= tonnes:
            return application, None
        if best_left is None or left > best_left:
            best_left, best = left, application
    return None, RuleViolation(
        _("the cross-province approval no. %(id)s for %(code)s has %(left)s t left and this manifest carries "
          "%(tonnes)s t; more than the approved quantity needs a new application (危险废物转移管理办法 第28条)")
        % {**names, "id": best.pk, "left": _plain(max(best_left, Decimal(0))), "tonnes": _plain(tonnes)},
        code="cross_province_quantity_exceeded")


def _filing_for(*, generator, receiver, code: str, on) -> CrossProvinceApplication | None:
    return CrossProvinceApplication.objects.filter(
        kind=ApplicationKind.FILING, status=ApplicationStatus.FILED, generator_id=generator.pk,
        receiver_id=receiver.pk, waste__isnull=True, general_code=code, valid_from__lte=on, valid_until__gte=on,
    ).order_by("valid_until", "pk").first()


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


BASIS_ORDER = (CrossProvinceBasis.WHITELIST, CrossProvinceBasis.POINT_TO_POINT, CrossProvinceBasis.FILING,
               CrossProvinceBasis.APPROVAL)


def authorize(*, generator, receiver, kind: str, lines: list[tuple[str, Decimal, str | None]], on: dt.date,
              exclude_manifest_id: int | None = None) -> tuple[str, CrossProvinceApplication | None]:
    """May this manifest cross a provincial border? (basis, application) or a RuleViolation naming the rule.

    `lines`: (hazardous or general code, tonnes, planned method code or None) per manifest line.
    - same province → ("", None);
    - each code is covered, in this order, by: a whitelist valid on `on` for the two provinces
      (and the generator / receiver / code or HW category when the rule names them); a point-to-point
      exemption (lines going to utilization or with no method); for general waste whose lines go
      to utilization (or have no method), a filing valid on `on`; else an approval of this generator,
      receiver and code, valid on `on`, for the lines' method, with enough tonnes left (the lines
      of that code summed; the manifest `exclude_manifest_id` not counted as used).
    - the answer is the strongest basis any code needed (whitelist < point_to_point < filing < approval)
      with its application (the first line's, for filings). One manifest links one application, so
      codes needing approvals must travel on separate manifests
      (`cross_province_one_approval_per_manifest`).
    - errors: cross_province_filing_missing, cross_province_not_approved, cross_province_approval_expired,
      cross_province_quantity_exceeded, cross_province_method_not_approved.
    Inside a transaction the approvals read are locked (SELECT … FOR UPDATE) until it ends, so two
    manifests submitted at once cannot both spend the last tonnes.
    """
    if not is_cross_province(generator, receiver):
        return "", None
    if not lines:
        raise ValidationFailed(_("a manifest needs at least one line"),
                               errors=[{"field": "lines", "message": _("is required")}])
    origin, destination = province_of(generator.region_id), province_of(receiver.region_id)

    by_code: dict[str, dict] = {}
    for index, (raw_code, tonnes, method) in enumerate(lines):
        code = (raw_code or "").strip().upper()
        entry = by_code.setdefault(code, {"index": index, "tonnes": Decimal(0), "methods": set()})
        entry["tonnes"] += Decimal(str(tonnes or 0))
        if method:
            entry["methods"].add(method.strip().upper())
    all_methods = {m for entry in by_code.values() for m in entry["methods"]}
    method_kinds = dict(TreatmentMethod.objects.filter(code__in=all_methods).values_list("code", "kind"))

    rules = list(CrossProvinceRule.objects.filter(
        origin_province=origin, destination_province=destination, valid_from__lte=on, valid_until__gte=on,
    ).filter(Q(generator__isnull=True) | Q(generator_id=generator.pk)).filter(
        Q(receiver__isnull=True) | Q(receiver_id=receiver.pk)))

    bases: dict[str, tuple[str, CrossProvinceApplication | None]] = {}
    needs_approval = []
    for code, entry in by_code.items():
        found = {method_kinds.get(m) for m in entry["methods"]} or {None}
        method_kind = next(iter(found)) if len(found) == 1 else TreatmentMethod.Kind.OTHER
        covered = [r.kind for r in rules if _rule_covers(r, code, method_kind)]
        if TransferRuleKind.WHITELIST in covered:
            bases[code] = (CrossProvinceBasis.WHITELIST, None)
            continue
        if TransferRuleKind.POINT_TO_POINT in covered:
            bases[code] = (CrossProvinceBasis.POINT_TO_POINT, None)
            continue
        general = kinds.get(kind).utilization_by_filing and not HAZARDOUS_CODE.match(code)
        if general and method_kind in (None, TreatmentMethod.Kind.UTILIZATION):
            filing = _filing_for(generator=generator, receiver=receiver, code=code, on=on)
            if filing is not None:
                bases[code] = (CrossProvinceBasis.FILING, filing)
                continue
            application, _error = _approval_for(
                generator=generator, receiver=receiver, origin=origin, destination=destination, code=code,
                tonnes=entry["tonnes"], methods=entry["methods"], on=on, exclude_manifest_id=exclude_manifest_id)
            if application is None:
                message = _("no cross-province utilization filing covers %(code)s from %(origin)s to "
                            "%(destination)s for %(generator)s → %(receiver)s; the generator files it first "
                            "(固废法 第22条第2款)") % _names(generator, receiver, origin, destination, code)
                raise RuleViolation(message, code="cross_province_filing_missing",
                                    errors=[{"field": f"lines.{entry['index']}", "message": message}])
            bases[code] = (CrossProvinceBasis.APPROVAL, application)
            needs_approval.append(code)
            continue
        application, error = _approval_for(
            generator=generator, receiver=receiver, origin=origin, destination=destination, code=code,
            tonnes=entry["tonnes"], methods=entry["methods"], on=on, exclude_manifest_id=exclude_manifest_id)
        if error is not None:
            error.errors = [{"field": f"lines.{entry['index']}", "message": error.message}]
            raise error
        bases[code] = (CrossProvinceBasis.APPROVAL, application)
        needs_approval.append(code)

    if len(needs_approval) > 1:
        raise RuleViolation(_("%(codes)s each need their own cross-province approval and a manifest links one: "
                              "put each on its own manifest (危险废物转移管理办法 第16条、第27条)")
                            % {"codes": ", ".join(needs_approval)}, code="cross_province_one_approval_per_manifest")
    strongest = max((basis for basis, _app in bases.values()), key=BASIS_ORDER.index)
    application = next(app for basis, app in bases.values() if basis == strongest)
    return str(strongest), application
