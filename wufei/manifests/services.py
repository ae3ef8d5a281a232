"""Transfer manifests: create, sign, receive, process, cancel, revise — the business rules.

Every write takes the caller's Scope and the version the caller saw; a step that is not allowed
from the manifest's status (machine.STEPS) is a 409 and leaves the manifest as it was (each step
runs in one transaction). Containers follow the manifest: the tracking services record their
loading, handovers, receipt and utilization / disposal, so ledgers and traces stay exact.
"""

import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog.models import GeneralSolidWasteCode, Region, TreatmentMethod
from wufei.core import parameters, parsing
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope
from wufei.ledgers.plans import planned_transfer_for
from wufei.manifests import machine
from wufei.manifests.models import (
    RECEIVED_PURPOSES,
    TRANSFERRED_PURPOSES,
    CrossProvinceBasis,
    Manifest,
    ManifestContainer,
    ManifestKind,
    ManifestLine,
    ManifestSequence,
    ManifestStatus,
    Purpose,
    Reception,
    Revision,
    RevisionStatus,
    Signature,
    SignatureMethod,
    TransportLeg,
)
from wufei.manifests.signing_codes import set_signing_code as set_signing_code  # re-exported: the service API
from wufei.manifests.signing_codes import signing_codes_to_renew as signing_codes_to_renew  # re-exported
from wufei.manifests.signing_codes import verify_signing_code
from wufei.registry.models import OperatingPermit, Organization, Site, Vehicle
from wufei.registry.services import ensure_usable, permit_lines_covering, vehicle_permit_valid
from wufei.tracking import services as tracking
from wufei.tracking.models import Container, ContainerStatus, ScanEvent, ScanKind

S = ManifestStatus
TONNE = Decimal("0.000001")
# Manifest.discrepancy_percent holds 6 integer digits: a weighbridge figure ten thousand times what was shipped is
# recorded as this (and flagged), not as a database error.
MAX_DISCREPANCY_PERCENT = Decimal("999999.999")
LOADABLE = frozenset({ContainerStatus.STORED, ContainerStatus.CODED, ContainerStatus.WEIGHED,
                      ContainerStatus.RECEIVED})
RESERVING = (S.DRAFT, S.SUBMITTED, S.IN_TRANSIT)  # a container on one of these is not free for another
COLLECTION_PERMITS = (OperatingPermit.Kind.COLLECTION, OperatingPermit.Kind.SMALL_VOLUME_COLLECTION,
                      OperatingPermit.Kind.COMPREHENSIVE)
NO_PROCESSING = (Purpose.COLLECTION, Purpose.RETURN)  # these end at receipt


# --- reading ---------------------------------------------------------------------------------------

def awaiting(scope: Scope, step: str):
    """Manifests waiting for the caller's signature of a step (pickup, handover, receive, process)."""
    manifests = manifests_for(scope).filter(status__in=machine.STEPS[step].allowed_from)
    if step in ("receive", "process"):
        return manifests.filter(receiver_id__in=scope.organization_ids)
    ids = [m.pk for m in manifests.filter(legs__transporter_id__in=scope.organization_ids).distinct()
           if (party := party_for_step(m, step, quiet=True)) is not None and party.pk in scope.organization_ids]
    return manifests.filter(pk__in=ids)


LIST_SIDES = ("generator", "receiver", "inflow")
METHOD_KINDS = ("utilization", "disposal")
NO_METHOD = "none"
CATEGORY_PATTERN = re.compile(r"^(medical|HW\d{2}|SW(\d{2})?|[A-Z]{1,3}\d{1,3})$")


def line_filter(*, category: str | None = None, method: str | None = None, method_kind: str | None = None) -> Q:
    """The manifest lines of a waste category and / or treatment method, as the cockpit's Sankey groups them
    (wufei/analytics/services.py `_category_of`, the line's final method else its planned one).

    category: 'medical' (lines of medical manifests or of an HW01 code NNN-NNN-01), 'HWxx' (other lines of a
    code ending in -xx), 'SWxx' (typed general solid waste lines of a code starting so), 'SW' (no code), or the
    last part of another general code; method: a treatment method code, or 'none' (neither stated);
    method_kind: 'utilization' / 'disposal' (as indicators.quantities `_utilization` / `_disposal`).
    Raises ValidationFailed naming the field for a value it cannot read.
    """
    query = Q()
    if category:
        category = category.strip()
        category = category if category == "medical" else category.upper()
        if not CATEGORY_PATTERN.match(category):
            raise ValidationFailed(_("unknown waste category"), errors=[{"field": "category", "message": category}])
        medical = Q(manifest__kind=ManifestKind.MEDICAL) | Q(waste__code__endswith="-01")
        if category in ("medical", "HW01"):
            query &= medical
        elif category.startswith("HW"):
            query &= Q(waste__code__endswith=f"-{category[2:]}") & ~medical
        elif category == "SW":
            query &= Q(waste__isnull=True, general_code="") & ~Q(manifest__kind=ManifestKind.MEDICAL)
        elif category.startswith("SW"):
            query &= (Q(waste__isnull=True, general_code__startswith=category)
                      & ~Q(manifest__kind=ManifestKind.MEDICAL))
        else:
            query &= (Q(waste__isnull=True) & ~Q(general_code__startswith="SW")
                      & (Q(general_code=category) | Q(general_code__endswith=f"-{category}"))
                      & ~Q(manifest__kind=ManifestKind.MEDICAL))
    if method:
        method = method.strip()
        if method.lower() == NO_METHOD:
            query &= Q(method__isnull=True, planned_method__isnull=True)
        else:
            method = method.upper()
            if not TreatmentMethod.objects.filter(code=method).exists():
                raise ValidationFailed(_("unknown treatment method"), errors=[{"field": "method", "message": method}])
            query &= Q(method_id=method) | Q(method__isnull=True, planned_method_id=method)
    if method_kind:
        if method_kind not in METHOD_KINDS:
            raise ValidationFailed(_("unknown method kind"),
                                   errors=[{"field": "method_kind", "message": method_kind}])
        query &= Q(method__kind=method_kind) | Q(method__isnull=True, planned_method__kind=method_kind)
    return query


def manifests_for(scope: Scope, *, status: str | None = None, kind: str | None = None, region: str | None = None,
                  organization: int | None = None, overdue: bool | None = None, discrepancy: bool | None = None,
                  cross_province: bool | None = None, q: str | None = None, now: dt.datetime | None = None,
                  year: int | None = None, side: str | None = None, receiver: int | None = None,
                  category: str | None = None, method: str | None = None, method_kind: str | None = None,
                  to_region: str | None = None, purpose: str | None = None):
    """The manifests the caller may see, narrowed by the filters.

    region: the generator's or the receiver's region lies in the subtree (side='generator' / 'receiver': that
    party's only; side='inflow': the receiver's lies in it and the generator's outside); to_region: the
    receiver's region lies in that subtree (with region and side='generator': from one region to another);
    purpose: one purpose or several ('transfer,collection,onward'), or 'transferred' / 'received' for the purposes
    those figures count (models.TRANSFERRED_PURPOSES / RECEIVED_PURPOSES);
    status: one status or several ('received,processed'); organization: any party (generator, receiver or a
    transporter); receiver: the receiver only;
    year: received in that calendar year (Asia/Shanghai); category / method / method_kind: the manifest has a
    line matching all of them (`line_filter`). Raises ValidationFailed for a value it cannot read.
    """
    if side and side not in LIST_SIDES:
        raise ValidationFailed(_("unknown side"), errors=[{"field": "side", "message": side}])
    lines = line_filter(category=category, method=method, method_kind=method_kind)
    manifests = Manifest.objects.visible_to(scope).select_related("generator__region", "receiver__region")
    if status:
        statuses = status.split(",") if isinstance(status, str) else list(status)
        manifests = manifests.filter(status__in=statuses) if len(statuses) > 1 else manifests.filter(status=statuses[0])
    if kind:
        manifests = manifests.filter(kind=kind)
    if purpose:
        manifests = manifests.filter(purpose__in=_purposes(purpose))
    if region:
        path = _region_path(region)
        by_side = {"generator": Q(generator__region__path__startswith=path),
                   "receiver": Q(receiver__region__path__startswith=path)}
        by_side["inflow"] = by_side["receiver"] & ~by_side["generator"]
        manifests = manifests.filter(by_side[side] if side else by_side["generator"] | by_side["receiver"])
    if to_region:
        manifests = manifests.filter(receiver__region__path__startswith=_region_path(to_region))
    if organization:
        manifests = manifests.filter(Q(generator_id=organization) | Q(receiver_id=organization)
                                     | Q(pk__in=TransportLeg.objects.filter(transporter_id=organization)
                                         .values("manifest_id")))
    if receiver:
        manifests = manifests.filter(receiver_id=receiver)
    if year is not None:
        if not 2000 <= year <= 2100:
            raise ValidationFailed(_("year out of range"), errors=[{"field": "year", "message": str(year)}])
        tz = timezone.get_default_timezone()
        manifests = manifests.filter(received_at__gte=dt.datetime(year, 1, 1, tzinfo=tz),
                                     received_at__lt=dt.datetime(year + 1, 1, 1, tzinfo=tz))
    if lines:
        manifests = manifests.filter(pk__in=ManifestLine.objects.filter(lines).values("manifest_id"))
    if discrepancy is not None:
        manifests = manifests.filter(discrepancy=discrepancy)
    if cross_province is not None:
        crossing = ~Q(cross_province_basis="")
        manifests = manifests.filter(crossing if cross_province else ~crossing)
    if overdue is not None:
        late = Q(status=S.IN_TRANSIT, picked_up_at__lt=overdue_since(now))
        manifests = manifests.filter(late if overdue else ~late)
    if q:
        manifests = manifests.filter(Q(number__startswith=q.strip()) | Q(generator__name__contains=q.strip())
                                     | Q(receiver__name__contains=q.strip()))
    return manifests


def _purposes(value: str) -> tuple:
    named = {"transferred": TRANSFERRED_PURPOSES, "received": RECEIVED_PURPOSES}
    if value in named:
        return named[value]
    purposes = tuple(value.split(","))
    unknown = [p for p in purposes if p not in Purpose.values]
    if unknown:
        raise ValidationFailed(_("unknown purpose"), errors=[{"field": "purpose", "message": ", ".join(unknown)}])
    return purposes


def _region_path(code: str) -> str:
    return Region.objects.filter(code=code).values_list("path", flat=True).first() or f"/{code}/"


def overdue_since(now: dt.datetime | None = None, region=None) -> dt.datetime:
    """Loads picked up before this moment should have been received (5 working days, 转移管理办法 第18条)."""
    now = now or timezone.now()
    days = int(parameters.get("manifest.receipt_working_days", region))
    day = timezone.localtime(now)
    while days > 0:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def is_overdue(manifest: Manifest, now: dt.datetime | None = None) -> bool:
    return (manifest.status == S.IN_TRANSIT and manifest.picked_up_at is not None
            and manifest.picked_up_at < overdue_since(now, manifest.receiver.region))


def get_manifest(scope: Scope, manifest_id: int) -> Manifest:
    manifest = (Manifest.objects.visible_to(scope).select_related("generator__region", "receiver__region",
                                                                   "generator_site", "receiver_site", "application")
                .filter(pk=manifest_id).first())
    if manifest is None:
        raise NotFound(_("manifest %(id)s not found") % {"id": manifest_id})
    return manifest


def get_by_number(scope: Scope, number: str) -> Manifest:
    manifest = Manifest.objects.visible_to(scope).filter(number=number.strip()).first()
    if manifest is None:
        raise NotFound(_("manifest %(id)s not found") % {"id": number})
    return manifest


def legs_of(manifest: Manifest) -> list[TransportLeg]:
    return list(manifest.legs.select_related("transporter", "vehicle").order_by("position"))


def parties(manifest: Manifest) -> dict[str, set[int]]:
    return {"generator": {manifest.generator_id}, "receiver": {manifest.receiver_id},
            "transporter": {leg.transporter_id for leg in manifest.legs.all()}}


def roles_of(scope: Scope, manifest: Manifest) -> set[str]:
    """The parties the caller acts for on this manifest."""
    return {role for role, ids in parties(manifest).items() if ids & scope.organization_ids}


def available_steps(scope: Scope, manifest: Manifest) -> list[str]:
    """Steps the caller could sign now (for pages' buttons); the services still check everything."""
    steps = []
    for name in machine.next_steps(manifest.status):
        organization = party_for_step(manifest, name, quiet=True)
        if organization is not None and organization.pk in scope.organization_ids:
            if name == "process" and manifest.purpose in NO_PROCESSING:
                continue
            steps.append(name)
    return steps


# --- numbers ---------------------------------------------------------------------------------------

def next_number(region_code: str, year: int) -> str:
    """年份(4) + 省(2) + 设区的市(2) + 流水号(6): 14 digits (危险废物转移管理办法 第15条)."""
    prefix = f"{year:04d}{region_code[:4]}"
    sequence, _created = ManifestSequence.objects.get_or_create(prefix=prefix)
    ManifestSequence.objects.filter(pk=sequence.pk).update(last=F("last") + 1)
    last = ManifestSequence.objects.values_list("last", flat=True).get(pk=sequence.pk)
    if last > 999_999:
        raise RuleViolation(_("the manifest serial numbers of %(prefix)s are used up") % {"prefix": prefix},
                            code="manifest_numbers_exhausted")
    return f"{prefix}{last:06d}"


# --- drafts ----------------------------------------------------------------------------------------

def _organization(value, field: str) -> Organization:
    organization = Organization.objects.select_related("region").filter(pk=value).first() if value else None
    if organization is None:
        raise ValidationFailed(_("organization not found"), errors=[{"field": field,
                                                                     "message": _("organization not found")}])
    return organization


def _site(organization: Organization, site_id, field: str) -> Site | None:
    if site_id in (None, ""):
        return None
    site = Site.objects.filter(pk=site_id, organization=organization).first()
    if site is None:
        message = _("is not a site of %(unit)s") % {"unit": organization.name}
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return site


def _text(data: dict, field: str, limit: int) -> str:
    value = (data.get(field) or "").strip()
    if len(value) > limit:
        message = _("at most %(n)s characters") % {"n": limit}
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return value


def _require_writer(scope: Scope, organization: Organization, what: str) -> None:
    if organization.pk not in scope.writable_organization_ids:  # the name is not told to outsiders
        raise PermissionDenied(_("only the organization's members can %(what)s") % {"what": what})


def _method(code, field: str) -> TreatmentMethod | None:
    if code in (None, ""):
        return None
    method = TreatmentMethod.objects.filter(code=str(code).strip().upper()).first()
    if method is None:
        message = _("%(code)s is not a method code") % {"code": code}
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return method


@transaction.atomic
def create_manifest(*, scope: Scope, kind: str, generator_id: int, receiver_id: int, legs: list[dict] = (),
                    container_codes: list[str] = (), lines: list[dict] = (), generator_site_id: int | None = None,
                    receiver_site_id: int | None = None, emergency_measures: str = "", note: str = "",
                    purpose: str = Purpose.TRANSFER, planned_method: str | None = None) -> Manifest:
    """A draft: the generator's section, its carriers and its lines (containers, or typed lines for general waste)."""
    if kind not in ManifestKind.values:
        raise ValidationFailed(_("unknown manifest kind"), errors=[{"field": "kind", "message": str(kind)}])
    if purpose not in (Purpose.TRANSFER, Purpose.COLLECTION, Purpose.FORWARD):
        raise ValidationFailed(_("follow-up manifests are made from the refused manifest"),
                               errors=[{"field": "purpose", "message": str(purpose)}])
    generator = _organization(generator_id, "generator_id")
    _require_writer(scope, generator, _("open its manifests"))
    ensure_usable(generator)
    receiver = _organization(receiver_id, "receiver_id")
    manifest = Manifest(kind=kind, purpose=purpose, generator=generator, receiver=receiver,
                        generator_site=_site(generator, generator_site_id, "generator_site_id"),
                        receiver_site=_site(receiver, receiver_site_id, "receiver_site_id"),
                        emergency_measures=_text({"v": emergency_measures}, "v", 500),
                        note=_text({"v": note}, "v", 500), created_by_id=scope.user_id)
    manifest.save()
    _set_legs(manifest, legs)
    if kind == ManifestKind.GENERAL:
        if container_codes:
            raise ValidationFailed(_("general industrial solid waste is entered as lines, not containers"),
                                   errors=[{"field": "container_codes", "message": _("not used for this kind")}])
        _set_typed_lines(manifest, lines)
    else:
        if lines:
            raise ValidationFailed(_("hazardous and medical waste lines are built from containers (一物一码)"),
                                   errors=[{"field": "lines", "message": _("scan the containers instead")}])
        _add_containers(scope, manifest, container_codes, planned_method=_method(planned_method, "planned_method"))
    _refresh_totals(manifest)
    manifest.save(audit_action="drafted")
    return manifest


def _set_legs(manifest: Manifest, legs: list[dict]) -> None:
    manifest.legs.all().delete()
    for position, data in enumerate(legs, start=1):
        prefix = f"legs.{position - 1}."
        transporter = _organization(data.get("transporter_id"), prefix + "transporter_id")
        vehicle = None
        if data.get("vehicle_id"):
            vehicle = Vehicle.objects.filter(pk=data["vehicle_id"], organization=transporter).first()
            if vehicle is None:
                message = _("is not a vehicle of %(unit)s") % {"unit": transporter.name}
                raise ValidationFailed(message, errors=[{"field": prefix + "vehicle_id", "message": message}])
        TransportLeg.objects.create(
            manifest=manifest, position=position, transporter=transporter, vehicle=vehicle,
            driver_name=_text(data, "driver_name", 50), driver_phone=_text(data, "driver_phone", 30),
            start_place=_text(data, "start_place", 200), end_place=_text(data, "end_place", 200))


def _set_typed_lines(manifest: Manifest, lines: list[dict]) -> None:
    known = set(GeneralSolidWasteCode.objects.values_list("code", flat=True))
    errors = []
    for position, data in enumerate(lines, start=1):
        prefix = f"lines.{position - 1}."
        code = (data.get("general_code") or "").strip().upper()
        if not code:
            errors.append({"field": prefix + "general_code", "message": _("is required")})
        elif known and code not in known and not _in_general_ranges(code, known):
            errors.append({"field": prefix + "general_code", "message": _("is not a general solid waste code")})
        try:
            tonnes = parsing.tonnes(minimum=TONNE)(data.get("tonnes"))
        except ValueError:
            errors.append({"field": prefix + "tonnes", "message": _("a quantity in tonnes above zero")})
            continue
        name = (data.get("waste_name") or "").strip()
        if not name:
            errors.append({"field": prefix + "waste_name", "message": _("is required")})
        if errors:
            continue
        ManifestLine.objects.create(manifest=manifest, position=position, general_code=code, waste_name=name[:200],
                                    physical_form=(data.get("physical_form") or "")[:12], shipped_tonnes=tonnes,
                                    planned_method=_method(data.get("planned_method"), prefix + "planned_method"))
    if errors:
        raise ValidationFailed(_("the lines are not valid"), errors=errors)


def _in_general_ranges(code: str, known: set[str]) -> bool:
    """Codes like '391-001-S17' fall in a catalog range such as 'S01-S59' by their last segment."""
    tail = code.rsplit("-", 1)[-1]
    for entry in known:
        if "-" in entry and entry.count("-") == 1 and entry[0] == "S":
            low, high = entry.split("-")
            if tail[:1] == "S" and low <= tail <= high:
                return True
    return code in known


def _reserved_codes(codes: list[str], exclude_manifest_id: int | None) -> dict[str, str]:
    taken = (ManifestContainer.objects.filter(container__code__in=codes, manifest__status__in=RESERVING)
             .exclude(manifest_id=exclude_manifest_id).values_list("container__code", "manifest__number",
                                                                   "manifest_id"))
    return {code: number or f"#{pk}" for code, number, pk in taken}


def _add_containers(scope: Scope, manifest: Manifest, codes: list[str], *, planned_method=None,
                    holders: set[int] | None = None, statuses=LOADABLE) -> None:
    codes = [c.strip() for c in codes if c and c.strip()]
    if not codes:
        return
    if len(set(codes)) != len(codes):
        raise ValidationFailed(_("a container is listed twice"), errors=[{"field": "container_codes",
                                                                          "message": _("duplicate codes")}])
    holders = holders or {manifest.generator_id}
    containers = {c.code: c for c in Container.objects.select_related("waste").filter(code__in=codes)}
    reserved = _reserved_codes(codes, manifest.pk)
    already = set(manifest.carried.values_list("container__code", flat=True))
    errors = []
    for index, code in enumerate(codes):
        field = f"container_codes.{index}"
        container = containers.get(code)
        problem = None
        if container is None or container.holder_id not in holders:
            problem = _("is not held by %(unit)s") % {"unit": manifest.generator.name}
        elif code in already:
            problem = _("is already on this manifest")
        elif code in reserved:
            problem = _("is already on manifest %(number)s") % {"number": reserved[code]}
        elif container.status not in statuses:
            problem = _("is %(status)s and cannot be shipped") % {"status": ContainerStatus(container.status).label}
        elif container.net_weight_tonnes is None:
            problem = _("has no recorded weight")
        elif container.is_medical != (manifest.kind == ManifestKind.MEDICAL):
            problem = (_("medical waste travels on a medical waste manifest") if container.is_medical
                       else _("only medical waste (HW01) travels on a medical waste manifest"))
        if problem:
            errors.append({"field": field, "message": f"{code}: {problem}"})
    if errors:
        raise ValidationFailed(_("these containers cannot go on the manifest"), errors=errors)
    lines = {(line.waste_id, line.waste_name): line for line in manifest.lines.all()}
    position = max((line.position for line in lines.values()), default=0)
    for code in codes:
        container = containers[code]
        key = (container.waste_id, container.waste_name)
        line = lines.get(key)
        if line is None:
            position += 1
            line = ManifestLine.objects.create(
                manifest=manifest, position=position, waste=container.waste, waste_name=container.waste_name,
                physical_form=container.physical_form, hazards=container.hazards, packaging=container.packaging,
                planned_method=planned_method)
            lines[key] = line
        ManifestContainer.objects.create(manifest=manifest, line=line, container=container,
                                         shipped_tonnes=container.net_weight_tonnes)
    _refresh_lines(manifest)


def _refresh_lines(manifest: Manifest) -> None:
    for line in manifest.lines.all():
        totals = line.carried.aggregate(count=Count("pk"), tonnes=Sum("shipped_tonnes"))
        if not totals["count"]:
            line.delete()
            continue
        line.container_count = totals["count"]
        line.shipped_tonnes = totals["tonnes"]
        line.save(update_fields=["container_count", "shipped_tonnes"])


def _refresh_totals(manifest: Manifest) -> None:
    totals = manifest.lines.aggregate(shipped=Sum("shipped_tonnes"), accepted=Sum("accepted_tonnes"),
                                      refused=Sum("refused_tonnes"))
    manifest.shipped_tonnes = totals["shipped"] or 0
    manifest.accepted_tonnes = totals["accepted"] or 0
    manifest.refused_tonnes = totals["refused"] or 0


def _locked(scope: Scope, manifest_id: int, version: int | None) -> Manifest:
    if not Manifest.objects.visible_to(scope).filter(pk=manifest_id).exists():  # 404 when the caller cannot see it
        raise NotFound(_("manifest %(id)s not found") % {"id": manifest_id})
    manifest = (lock_rows(Manifest.objects).select_related("generator__region", "receiver__region")
                .get(pk=manifest_id))
    if version is not None and int(version) != manifest.version:
        raise Conflict(_("manifest %(number)s was changed by someone else (version %(now)s, you sent %(sent)s); "
                         "reload it") % {"number": manifest, "now": manifest.version, "sent": version},
                       code="stale_version")
    return manifest


def signed_steps(manifest: Manifest) -> set[str]:
    return set(manifest.signatures.values_list("step", flat=True))


def check_open(manifest: Manifest, fields, *, leg: TransportLeg | None = None) -> None:
    """Refuse a change to a field that its sealing signature has locked (machine.FIELDS)."""
    signed = signed_steps(manifest)
    for field in fields:
        step = machine.sealed_by(field)
        locked = leg is not None and leg.taken_at is not None if field.startswith("leg.") else step in signed
        if locked or manifest.status in machine.FINAL:
            raise Conflict(_("%(field)s of manifest %(number)s was sealed by the '%(step)s' signature; ask for a "
                             "revision") % {"field": field, "number": manifest, "step": step},
                           code="section_sealed")


def _check_required(manifest: Manifest, step: str, leg: TransportLeg | None) -> None:
    """After a step: every field the table says the step requires is filled."""
    missing = []
    for field in machine.required_for(step):
        if field in ("lines", "legs"):
            filled = getattr(manifest, field).exists()
        elif field.startswith("leg."):
            filled = leg is None or getattr(leg, field[4:]) not in (None, "")
        elif field.startswith("line."):
            filled = all(getattr(line, field[5:]) not in (None, "")
                         for line in manifest.lines.filter(accepted_tonnes__gt=0))
        else:
            filled = getattr(manifest, field) not in (None, "")
        if not filled:
            missing.append(field)
    if missing:
        raise RuleViolation(_("'%(step)s' needs %(fields)s") % {"step": step, "fields": ", ".join(missing)},
                            code="field_missing", errors=[{"field": f, "message": _("is required")}
                                                          for f in missing])


def _editable_draft(scope: Scope, manifest_id: int, version, fields=("lines",)) -> Manifest:
    manifest = _locked(scope, manifest_id, version)
    _require_writer(scope, manifest.generator, _("change its draft manifests"))
    check_open(manifest, fields)
    return manifest


@transaction.atomic
def update_draft(*, scope: Scope, manifest_id: int, version: int, data: dict) -> Manifest:
    """Change the generator's section while its fields are open: everything until it signs, the carriers until
    the first one takes the load over (machine.FIELDS)."""
    fields = list(data)
    unknown = [field for field in fields if field not in machine.FIELDS]
    if unknown:
        raise ValidationFailed(_("these fields are not part of the generator's section"),
                               errors=[{"field": field, "message": _("cannot be changed here")} for field in unknown])
    manifest = _editable_draft(scope, manifest_id, version, fields)
    if "receiver_id" in data:
        manifest.receiver = _organization(data["receiver_id"], "receiver_id")
        manifest.receiver_site = None
    if "generator_site_id" in data:
        manifest.generator_site = _site(manifest.generator, data["generator_site_id"], "generator_site_id")
    if "receiver_site_id" in data:
        manifest.receiver_site = _site(manifest.receiver, data["receiver_site_id"], "receiver_site_id")
    for field, limit in (("emergency_measures", 500), ("note", 500)):
        if field in data:
            setattr(manifest, field, _text(data, field, limit))
    if "legs" in data:
        _set_legs(manifest, data["legs"])
    if "lines" in data and manifest.kind == ManifestKind.GENERAL:
        manifest.lines.all().delete()
        _set_typed_lines(manifest, data["lines"])
    _refresh_totals(manifest)
    manifest.save()
    return manifest


@transaction.atomic
def add_containers(*, scope: Scope, manifest_id: int, version: int, codes: list[str],
                   planned_method: str | None = None) -> Manifest:
    """Scan containers onto a draft: each brings its code, waste and weight."""
    manifest = _editable_draft(scope, manifest_id, version)
    if manifest.kind == ManifestKind.GENERAL:
        raise ValidationFailed(_("general industrial solid waste is entered as lines, not containers"),
                               errors=[{"field": "codes", "message": _("not used for this kind")}])
    holders = {manifest.generator_id}
    _add_containers(scope, manifest, codes, planned_method=_method(planned_method, "planned_method"),
                    holders=holders)
    _refresh_totals(manifest)
    manifest.save(audit_action="containers_added", audit_note=", ".join(codes)[:500])
    return manifest


@transaction.atomic
def remove_containers(*, scope: Scope, manifest_id: int, version: int, codes: list[str]) -> Manifest:
    manifest = _editable_draft(scope, manifest_id, version)
    removed, _detail = manifest.carried.filter(container__code__in=codes).delete()
    if not removed:
        raise ValidationFailed(_("none of these containers is on the manifest"),
                               errors=[{"field": "codes", "message": ", ".join(codes)[:200]}])
    _refresh_lines(manifest)
    _refresh_totals(manifest)
    manifest.save(audit_action="containers_removed", audit_note=", ".join(codes)[:500])
    return manifest


@transaction.atomic
def set_planned_methods(*, scope: Scope, manifest_id: int, version: int, methods: dict) -> Manifest:
    """The intended method per line position (the receiver's permit must allow it)."""
    manifest = _editable_draft(scope, manifest_id, version)
    lines = {line.position: line for line in manifest.lines.all()}
    for position, code in methods.items():
        line = lines.get(int(position))
        if line is None:
            raise ValidationFailed(_("no such line"), errors=[{"field": f"methods.{position}",
                                                               "message": _("no such line")}])
        line.planned_method = _method(code, f"methods.{position}")
        line.save(update_fields=["planned_method"])
    manifest.save()
    return manifest


@transaction.atomic
def update_leg(*, scope: Scope, manifest_id: int, version: int, position: int, data: dict) -> Manifest:
    """The carrier fills its own leg (vehicle, driver, from / to) until it takes the load over."""
    manifest = _locked(scope, manifest_id, version)
    leg = manifest.legs.filter(position=position).select_related("transporter").first()
    if leg is None:
        raise NotFound(_("the manifest has no transport leg %(n)s") % {"n": position})
    if leg.transporter_id not in scope.organization_ids and manifest.generator_id not in \
            scope.writable_organization_ids:
        raise PermissionDenied(_("only the carrier of this leg or the generator can fill it"))
    check_open(manifest, [f"leg.{field}" for field in data], leg=leg)
    if "vehicle_id" in data:
        vehicle = Vehicle.objects.filter(pk=data["vehicle_id"], organization_id=leg.transporter_id).first() \
            if data["vehicle_id"] else None
        if data["vehicle_id"] and vehicle is None:
            message = _("is not a vehicle of %(unit)s") % {"unit": leg.transporter.name}
            raise ValidationFailed(message, errors=[{"field": "vehicle_id", "message": message}])
        leg.vehicle = vehicle
    for field, limit in (("driver_name", 50), ("driver_phone", 30), ("start_place", 200), ("end_place", 200)):
        if field in data:
            setattr(leg, field, _text(data, field, limit))
    leg.save()
    manifest.save(audit_action="leg_updated", audit_note=f"leg {position}")
    return manifest


# --- submission checks -----------------------------------------------------------------------------

def capacity_left(receiver: Organization, code: str, *, on: dt.date, exclude_manifest_id: int | None = None
                  ) -> Decimal | None:
    """Annual permitted capacity for the code left this year (None: no permit line covers it)."""
    lines = permit_lines_covering(receiver, code, on=on)
    if not lines:
        return None
    best = max(lines, key=lambda line: line.annual_capacity_tonnes)
    start = timezone.make_aware(dt.datetime(on.year, 1, 1))
    end = timezone.make_aware(dt.datetime(on.year + 1, 1, 1))
    taken = ManifestLine.objects.filter(manifest__receiver=receiver, manifest__submitted_at__gte=start,
                                        manifest__submitted_at__lt=end).exclude(manifest_id=exclude_manifest_id)
    taken = taken.filter(waste_id=best.waste_id) if best.waste_id else taken.filter(waste__category_id=best.category_id)
    in_flight = taken.filter(manifest__status__in=(S.SUBMITTED, S.IN_TRANSIT)).aggregate(t=Sum("shipped_tonnes"))["t"]
    done = taken.filter(manifest__status__in=(S.RECEIVED, S.PROCESSED)).aggregate(t=Sum("accepted_tonnes"))["t"]
    return best.annual_capacity_tonnes - (in_flight or 0) - (done or 0)


def capacity_usage(*, start: dt.datetime, end: dt.datetime, receivers: Q | None = None
                   ) -> dict[tuple[int, str], Decimal]:
    """Tonnes counted against receivers' annual capacity, per (receiver, waste code), for the manifests submitted
    in [start, end), as `capacity_left` counts them: shipped while submitted or in transit, accepted once received
    or processed. `receivers` narrows the lines (a Q on ManifestLine, e.g. on manifest__receiver)."""
    lines = ManifestLine.objects.filter(manifest__submitted_at__gte=start, manifest__submitted_at__lt=end,
                                        manifest__status__in=(S.SUBMITTED, S.IN_TRANSIT, S.RECEIVED, S.PROCESSED),
                                        waste__isnull=False).exclude(manifest__purpose=Purpose.RETURN)
    if receivers is not None:
        lines = lines.filter(receivers)
    usage: dict[tuple[int, str], Decimal] = {}
    for receiver, code, status, shipped, accepted in (
            lines.values("manifest__receiver_id", "waste_id", "manifest__status")
            .annotate(shipped=Sum("shipped_tonnes"), accepted=Sum("accepted_tonnes")).order_by()
            .values_list("manifest__receiver_id", "waste_id", "manifest__status", "shipped", "accepted")):
        taken = shipped if status in (S.SUBMITTED, S.IN_TRANSIT) else accepted
        usage[(receiver, code)] = usage.get((receiver, code), Decimal(0)) + (taken or Decimal(0))
    return usage


def _check_parties(manifest: Manifest, legs: list[TransportLeg], day: dt.date, problems: list) -> None:
    for organization, role, field in [(manifest.generator, None, "generator_id"),
                                      (manifest.receiver, None, "receiver_id")]:
        try:
            ensure_usable(organization, role=role)
        except RuleViolation as exc:
            problems.append((field, exc.code, exc.message))
    if manifest.generator_id == manifest.receiver_id and manifest.purpose != Purpose.RETURN:
        problems.append(("receiver_id", "same_generator_and_receiver",
                         _("the generator cannot be its own receiver: a transfer goes to another unit")))
    if not legs:
        problems.append(("legs", "transporter_missing", _("name the carrier (承运人) before submitting "
                                                          "(危险废物转移管理办法 第11条)")))
    for leg in legs:
        field = f"legs.{leg.position - 1}"
        if not leg.transporter.is_transporter:
            problems.append((field + ".transporter_id", "not_a_transporter",
                             _("%(name)s is not registered as a transporter") % {"name": leg.transporter.name}))
        elif not leg.transporter.is_active:
            problems.append((field + ".transporter_id", "organization_closed",
                             _("%(name)s is closed and cannot be used") % {"name": leg.transporter.name}))
        if leg.vehicle is not None and not vehicle_permit_valid(leg.vehicle, day):
            problems.append((field + ".vehicle_id", "vehicle_permit_invalid",
                             _("the road transport permit of %(plate)s is not valid on %(day)s")
                             % {"plate": leg.vehicle.plate, "day": day}))


def _check_receiver(manifest: Manifest, lines: list[ManifestLine], day: dt.date, problems: list) -> None:
    receiver = manifest.receiver
    if manifest.kind == ManifestKind.GENERAL or manifest.purpose == Purpose.RETURN:
        return
    if manifest.purpose == Purpose.COLLECTION and not receiver.is_collector:
        problems.append(("receiver_id", "not_a_collector",
                         _("%(name)s is not registered as a collector") % {"name": receiver.name}))
        return
    for line in lines:
        field = f"lines.{line.position - 1}"
        method = line.planned_method_id
        covering = permit_lines_covering(receiver, line.waste_id, on=day, method_code=method)
        if manifest.purpose == Purpose.COLLECTION:
            covering = [p for p in covering if p.permit.kind in COLLECTION_PERMITS]
        if not covering:
            detail = line.waste_id + (f" / {method}" if method else "")
            problems.append((field, "receiver_not_permitted",
                             _("%(name)s holds no valid operating permit for %(what)s (固废法 第80条)")
                             % {"name": receiver.name, "what": detail}))
            continue
        left = capacity_left(receiver, line.waste_id, on=day, exclude_manifest_id=manifest.pk)
        if left is not None and line.shipped_tonnes > left:
            problems.append((field, "receiver_capacity_exceeded",
                             _("%(name)s has %(left)s t of its annual permitted capacity for %(code)s left; this "
                               "manifest ships %(tonnes)s t") % {"name": receiver.name, "left": _plain(left),
                                                                 "code": line.waste_id,
                                                                 "tonnes": _plain(line.shipped_tonnes)}))


def _plain(value) -> str:
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _plan_warning(manifest: Manifest, lines: list[ManifestLine], day: dt.date) -> str:
    if manifest.kind == ManifestKind.GENERAL or manifest.purpose in (Purpose.RETURN, Purpose.FORWARD):
        return ""
    missing = [line.waste_id for line in lines
               if planned_transfer_for(manifest.generator, line.waste_id, manifest.receiver, day.year) is None]
    if not missing:
        return ""
    return _("not in the approved management plan of %(year)s: %(codes)s to %(receiver)s (固废法 第78条)") % {
        "year": day.year, "codes": ", ".join(sorted(set(missing))), "receiver": manifest.receiver.name}


def _check_cross_province(manifest: Manifest, lines: list[ManifestLine], day: dt.date, problems: list) -> None:
    from wufei.manifests import crossprovince

    manifest.cross_province_basis, manifest.application = CrossProvinceBasis.NONE, None
    if manifest.purpose == Purpose.RETURN:
        return
    try:
        basis, application = crossprovince.authorize(
            generator=manifest.generator, receiver=manifest.receiver, kind=manifest.kind,
            lines=[(line.code, line.shipped_tonnes, line.planned_method_id) for line in lines], on=day,
            exclude_manifest_id=manifest.pk)
    except RuleViolation as exc:
        problems.append(("receiver_id", exc.code, exc.message))
        return
    manifest.cross_province_basis, manifest.application = basis, application


def submission_problems(manifest: Manifest, *, day: dt.date) -> list[tuple[str, str, str]]:
    """Every rule the manifest breaks at submission: (field, code, message)."""
    problems: list[tuple[str, str, str]] = []
    lines = list(manifest.lines.select_related("waste").order_by("position"))
    legs = legs_of(manifest)
    if not lines or manifest.shipped_tonnes <= 0:
        problems.append(("lines", "lines_missing", _("the manifest carries nothing: add containers or lines")))
    _check_parties(manifest, legs, day, problems)
    if lines:
        _check_receiver(manifest, lines, day, problems)
        _check_cross_province(manifest, lines, day, problems)
    return problems


# --- signing ---------------------------------------------------------------------------------------

def party_for_step(manifest: Manifest, step: str, *, quiet: bool = False) -> Organization | None:
    party = machine.STEPS[step].party
    if party == "generator":
        return manifest.generator
    if party == "receiver":
        return manifest.receiver
    leg = leg_for_step(manifest, step)
    if leg is None:
        if quiet:
            return None
        raise Conflict(_("no carrier is waiting to take the load over"), code="no_next_leg")
    return leg.transporter


def leg_for_step(manifest: Manifest, step: str) -> TransportLeg | None:
    legs = legs_of(manifest)
    if step == "pickup":
        return legs[0] if legs else None
    waiting = [leg for leg in legs if leg.taken_at is None]
    return waiting[0] if waiting else None


def _current_leg(manifest: Manifest) -> TransportLeg | None:
    taken = [leg for leg in legs_of(manifest) if leg.taken_at is not None and leg.handed_at is None]
    return taken[-1] if taken else None


def _signer(scope: Scope, manifest: Manifest, step: str, *, by_code: bool) -> Organization:
    organization = party_for_step(manifest, step)
    if by_code:
        ids = set().union(*parties(manifest).values())
        if not ids & scope.organization_ids:
            raise PermissionDenied(_("only a party of the manifest can collect a signing code"))
        return organization
    allowed = scope.organization_ids if step in ("pickup", "handover") else scope.writable_organization_ids
    if organization.pk not in allowed:
        raise PermissionDenied(_("this step is signed by %(unit)s") % {"unit": organization.name},
                               code="not_the_signing_party")
    return organization


def _check_step(manifest: Manifest, step: str) -> machine.Step:
    rule = machine.STEPS.get(step)
    if rule is None:
        raise ValidationFailed(_("%(step)s is not a step") % {"step": step},
                               errors=[{"field": "step", "message": ", ".join(machine.STEPS)}])
    if manifest.status not in rule.allowed_from:
        allowed = ", ".join(machine.next_steps(manifest.status)) or "-"
        raise Conflict(_("manifest %(number)s is %(status)s: '%(step)s' is not allowed now (allowed: %(allowed)s)")
                       % {"number": manifest, "status": S(manifest.status).label, "step": step,
                          "allowed": allowed}, code="step_not_allowed")
    if step == "process" and manifest.purpose in NO_PROCESSING:
        raise Conflict(_("a %(purpose)s manifest ends at receipt") % {"purpose": Purpose(manifest.purpose).label},
                       code="step_not_allowed")
    return rule


def sign(*, scope: Scope, manifest_id: int, step: str, version: int | None, data: dict | None = None,
         signing_code: str | None = None, signer_name: str = "", now: dt.datetime | None = None,
         longitude=None, latitude=None) -> Manifest:
    """Sign a step: by a logged-in member of the party, or at the gate with the party's signing code."""
    if signing_code is not None:
        manifest = get_manifest(scope, manifest_id)
        _check_step(manifest, step)
        organization = _signer(scope, manifest, step, by_code=True)  # only a party collects a code
        verify_signing_code(organization=organization, code=signing_code, manifest=manifest, user_id=scope.user_id)
    with transaction.atomic():
        manifest = _locked(scope, manifest_id, version)
        _check_step(manifest, step)
        organization = _signer(scope, manifest, step, by_code=signing_code is not None)
        moment = now or timezone.now()
        leg = STEP_ACTIONS[step](scope, manifest, data or {}, moment)
        _check_required(manifest, step, leg)
        method = SignatureMethod.SIGNING_CODE if signing_code is not None else SignatureMethod.SESSION
        Signature.objects.create(manifest=manifest, step=step, leg=leg, organization=organization,
                                 user_id=scope.user_id, signer_name=(signer_name or scope.username)[:150],
                                 method=method, signed_at=moment, longitude=longitude, latitude=latitude)
        manifest.save(audit_action=f"signed_{step}", audit_note=f"{organization.name} ({method})")
        _notify(manifest, step)
    return manifest


def _notify(manifest: Manifest, action: str) -> None:
    from wufei.manifests import webhooks

    webhooks.enqueue(manifest, action)


def _submit(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> None:
    day = timezone.localtime(moment).date()
    problems = submission_problems(manifest, day=day)
    if problems:
        field, code, message = problems[0]
        raise RuleViolation(message, code=code, errors=[{"field": f, "code": c, "message": m}
                                                        for f, c, m in problems])
    manifest.plan_warning = _plan_warning(manifest, list(manifest.lines.all()), day)[:300]
    manifest.number = next_number(manifest.generator.region_id, day.year)
    manifest.status = S.SUBMITTED
    manifest.submitted_at = moment


def _holder_scope(scope: Scope, holder_id: int) -> Scope:
    """The custody scans a signature authorizes are recorded for the container's holder."""
    return Scope(user_id=scope.user_id, username=scope.username, organization_ids=frozenset({holder_id}),
                 writable_organization_ids=frozenset({holder_id}))


def _carried(manifest: Manifest, *, refused: bool | None = None) -> list[ManifestContainer]:
    entries = manifest.carried.select_related("container", "line").order_by("pk")
    if refused is not None:
        entries = entries.filter(refused=refused)
    return list(entries)


def _hand_over(scope: Scope, manifest: Manifest, entries, to_organization_id: int, moment) -> None:
    for entry in entries:  # loaded at the start of the step: no scan of this step has touched them yet
        container = entry.container
        if container.holder_id == to_organization_id:
            continue
        holder = _holder_scope(scope, container.holder_id)
        if container.status in LOADABLE:
            tracking.scan(scope=holder, code=container.code, kind=ScanKind.LOADED, occurred_at=moment,
                          reference=manifest.number or "")
        tracking.scan(scope=holder, code=container.code, kind=ScanKind.HANDED_OVER, occurred_at=moment,
                      to_organization_id=to_organization_id, reference=manifest.number or "")


def _pickup(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> TransportLeg:
    leg = leg_for_step(manifest, "pickup")
    _fill_leg(leg, data)
    if leg.vehicle is None:
        raise RuleViolation(_("the vehicle is required to take the load over (危险废物转移管理办法 第11条)"),
                            code="vehicle_missing", errors=[{"field": "vehicle_id", "message": _("is required")}])
    if not vehicle_permit_valid(leg.vehicle, timezone.localtime(moment).date()):
        raise RuleViolation(_("the road transport permit of %(plate)s is not valid") % {"plate": leg.vehicle.plate},
                            code="vehicle_permit_invalid")
    _hand_over(scope, manifest, _carried(manifest), leg.transporter_id, moment)
    leg.taken_at = moment
    leg.save()
    manifest.status = S.IN_TRANSIT
    manifest.picked_up_at = moment
    return leg


def _fill_leg(leg: TransportLeg, data: dict) -> None:
    if data.get("vehicle_id"):
        vehicle = Vehicle.objects.filter(pk=data["vehicle_id"], organization_id=leg.transporter_id).first()
        if vehicle is None:
            message = _("is not a vehicle of %(unit)s") % {"unit": leg.transporter.name}
            raise ValidationFailed(message, errors=[{"field": "vehicle_id", "message": message}])
        leg.vehicle = vehicle
    for field, limit in (("driver_name", 50), ("driver_phone", 30)):
        if data.get(field):
            setattr(leg, field, _text(data, field, limit))


def _handover(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> TransportLeg:
    current, leg = _current_leg(manifest), leg_for_step(manifest, "handover")
    _fill_leg(leg, data)
    if leg.vehicle is None:
        raise RuleViolation(_("the vehicle is required to take the load over (危险废物转移管理办法 第11条)"),
                            code="vehicle_missing", errors=[{"field": "vehicle_id", "message": _("is required")}])
    _hand_over(scope, manifest, _carried(manifest), leg.transporter_id, moment)
    current.handed_at = moment
    current.save()
    leg.taken_at = moment
    leg.save()
    return leg


def _decimal(value, field: str, *, allow_zero: bool = True) -> Decimal:
    try:
        number = parsing.tonnes(minimum=Decimal(0) if allow_zero else TONNE)(value)
    except ValueError:
        number = None
    if number is None:
        message = _("a quantity in tonnes") if allow_zero else _("a quantity in tonnes above zero")
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return number


def _receive(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> None:
    """Check in: refused containers (or lines), the weighbridge quantity, the reason; containers follow.

    What the receiver weighed and signed is what it received: the weighbridge total is apportioned to the
    accepted containers by their shipped weight (unless per-container weights are given), each container's
    'received' scan carries its weighed share (so the receiver's ledger receives it), and the lines' and
    the manifest's accepted tonnes are the weighed tonnes. The generator's ledger keeps what it shipped; the
    difference is the manifest's recorded discrepancy (and the containers' re-weigh records).
    """
    refuse_all = bool(data.get("refuse_all"))
    refused_codes = set(data.get("refused_containers") or [])
    refused_lines = {int(p) for p in (data.get("refused_lines") or [])}
    entries = _carried(manifest)
    known = {entry.container.code for entry in entries}
    unknown = refused_codes - known
    if unknown:
        raise ValidationFailed(_("these containers are not on the manifest"),
                               errors=[{"field": "refused_containers", "message": ", ".join(sorted(unknown))}])
    reason = _text(data, "refusal_reason", 500)
    lines = list(manifest.lines.order_by("position"))
    for entry in entries:
        entry.refused = refuse_all or entry.container.code in refused_codes or entry.line.position in refused_lines
    refused_positions = {line.position for line in lines if refuse_all or line.position in refused_lines}
    anything_refused = any(e.refused for e in entries) or bool(refused_positions)
    if anything_refused and not reason:
        raise ValidationFailed(_("give the reason for refusing (危险废物转移管理办法 第18条)"),
                               errors=[{"field": "refusal_reason", "message": _("is required")}])
    weights = {code: _decimal(w, f"container_weights.{code}") for code, w in (data.get("container_weights") or {})
               .items()}
    received = data.get("received_tonnes")
    total = _decimal(received, "received_tonnes") if received not in (None, "") else None
    accepted_entries = [e for e in entries if not e.refused]
    if entries:
        weighed = _apportion(total, {e.container.code: e.shipped_tonnes for e in accepted_entries}, weights)
    else:  # a manifest of lines without containers
        weighed = _apportion(total, {line.position: line.shipped_tonnes for line in lines
                                     if line.position not in refused_positions}, {})
    last = _current_leg(manifest)
    _hand_over(scope, manifest, accepted_entries, manifest.receiver_id, moment)
    receiver_scope = _holder_scope(scope, manifest.receiver_id)
    site_id = manifest.receiver_site_id if manifest.receiver_site and \
        manifest.receiver_site.kind in tracking.STORAGE_SITE_KINDS else None
    for entry in entries:
        if not entry.refused:
            weight = weighed.get(entry.container.code)
            tracking.scan(scope=receiver_scope, code=entry.container.code, kind=ScanKind.RECEIVED,
                          occurred_at=moment, weight_tonnes=weight, site_id=site_id, reference=manifest.number)
            entry.received_tonnes = weight if weight is not None else entry.shipped_tonnes
        entry.save(update_fields=["refused", "received_tonnes"])
    for line in lines:
        carried = [e for e in entries if e.line_id == line.pk]
        if carried:
            line.refused_tonnes = sum((e.shipped_tonnes for e in carried if e.refused), Decimal(0))
            line.received_tonnes = sum((e.received_tonnes for e in carried if not e.refused), Decimal(0))
        else:
            refused = line.position in refused_positions
            line.refused_tonnes = line.shipped_tonnes if refused else Decimal(0)
            line.received_tonnes = Decimal(0) if refused else weighed.get(line.position, line.shipped_tonnes)
        line.accepted_tonnes = line.received_tonnes
        line.save(update_fields=["refused_tonnes", "received_tonnes", "accepted_tonnes"])
    _refresh_totals(manifest)
    manifest.received_tonnes = total if total is not None else sum((line.received_tonnes for line in lines),
                                                                   Decimal(0))
    _flag_discrepancy(manifest)
    manifest.refusal_reason = reason
    with_containers = {e.line_id for e in entries}
    open_lines = [line for line in lines if line.pk not in with_containers and line.position not in refused_positions]
    if not accepted_entries and not open_lines:
        manifest.reception, manifest.status = Reception.REFUSED, S.REFUSED
        manifest.received_tonnes = Decimal(0) if total is None else manifest.received_tonnes
    else:
        manifest.reception = Reception.PARTIAL if anything_refused else Reception.ACCEPTED
        manifest.status = S.RECEIVED
    manifest.received_at = moment
    if last is not None and manifest.status == S.RECEIVED:  # a wholly refused load stays with its carrier
        last.handed_at = moment
        last.save()


def _apportion(total: Decimal | None, shipped: dict, given: dict) -> dict:
    """The weighed tonnes of each accepted item (container code or line position): the given weights, and the
    rest of the weighbridge total shared by shipped weight (to 0.000001 t; the remainder goes to the heaviest)."""
    weighed = {key: given[key] for key in shipped if key in given}
    if total is None:
        return weighed
    rest = [key for key in shipped if key not in given]
    remaining = total - sum(weighed.values(), Decimal(0))
    if remaining < 0 or (not rest and remaining != 0):
        message = _("the weighbridge total (%(total)s t) does not match the containers' weights (%(sum)s t)") % {
            "total": f"{total.normalize():f}", "sum": f"{sum(weighed.values(), Decimal(0)).normalize():f}"}
        raise ValidationFailed(message, errors=[{"field": "received_tonnes", "message": message}])
    if not rest:
        return weighed
    base = sum((shipped[key] for key in rest), Decimal(0))
    for key in rest:
        share = remaining * shipped[key] / base if base else remaining / len(rest)
        weighed[key] = share.quantize(TONNE, rounding=ROUND_DOWN)
    heaviest = max(rest, key=lambda key: (shipped[key], str(key)))
    weighed[heaviest] += remaining - sum((weighed[key] for key in rest), Decimal(0))
    return weighed


def _flag_discrepancy(manifest: Manifest) -> None:
    """The weighbridge against what was shipped and not refused, beyond the region's tolerance."""
    expected = manifest.shipped_tonnes - manifest.refused_tonnes
    if expected == 0:
        manifest.discrepancy, manifest.discrepancy_percent = False, None
        return
    percent = min((abs(manifest.received_tonnes - expected) * 100 / expected).quantize(Decimal("0.001")),
                  MAX_DISCREPANCY_PERCENT)
    tolerance = parameters.get_decimal("manifest.discrepancy_tolerance_percent", manifest.receiver.region)
    manifest.discrepancy_percent = percent
    manifest.discrepancy = percent > tolerance


def _process(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> None:
    """The receiver records the method (per line, or one for all) and the date; containers are closed."""
    default = data.get("method")
    per_line = {int(k): v for k, v in (data.get("methods") or {}).items()}
    day = data.get("processed_on") or timezone.localtime(moment).date()
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day)
        except ValueError:
            raise ValidationFailed(_("not a date"), errors=[{"field": "processed_on", "message": day}]) from None
    if day > timezone.localtime(moment).date() or day < timezone.localtime(manifest.received_at).date():
        raise ValidationFailed(_("the processing date lies between receipt and today"),
                               errors=[{"field": "processed_on", "message": str(day)}])
    lines = [line for line in manifest.lines.order_by("position") if line.accepted_tonnes > 0]
    errors = []
    for line in lines:
        method = _method(per_line.get(line.position) or default or line.planned_method_id,
                         f"methods.{line.position}")
        if method is None or method.kind not in (TreatmentMethod.Kind.UTILIZATION, TreatmentMethod.Kind.DISPOSAL):
            errors.append({"field": f"methods.{line.position}",
                           "message": _("a utilization (R…) or disposal (D…) method code is required")})
            continue
        if manifest.kind != ManifestKind.GENERAL and not permit_lines_covering(
                manifest.receiver, line.waste_id, on=day, method_code=method.code):
            errors.append({"field": f"methods.{line.position}", "code": "receiver_not_permitted",
                           "message": _("%(name)s holds no valid operating permit for %(what)s (固废法 第80条)")
                           % {"name": manifest.receiver.name, "what": f"{line.waste_id} / {method.code}"}})
            continue
        line.method, line.processed_on = method, day
    if errors:
        raise RuleViolation(errors[0]["message"], code=errors[0].get("code", "method_missing"), errors=errors)
    receiver_scope = _holder_scope(scope, manifest.receiver_id)
    when = max(moment if day == timezone.localtime(moment).date()
               else timezone.make_aware(dt.datetime.combine(day, dt.time(12))), manifest.received_at)
    for line in lines:
        line.save(update_fields=["method", "processed_on"])
        kind = ScanKind.UTILIZED if line.method.kind == TreatmentMethod.Kind.UTILIZATION else ScanKind.DISPOSED
        for entry in line.carried.filter(refused=False).select_related("container"):
            tracking.scan(scope=receiver_scope, code=entry.container.code, kind=kind, occurred_at=when,
                          method_code=line.method_id, reference=manifest.number)
    manifest.status = S.PROCESSED
    manifest.processed_at = moment
    _close_collections(manifest, moment)


def _close_collections(manifest: Manifest, moment: dt.datetime) -> None:
    """A collection manifest is processed once every container it brought in is utilized or disposed downstream.

    The collector may repackage what it collected before forwarding it (merge several drums into one tote,
    split a load): a collected container then ends in the packages made from it, and it is utilized or disposed
    when all of them are; its line takes the method of those packages' final scans.
    """
    forwarded = set(manifest.carried.filter(refused=False).values_list("container_id", flat=True))
    upstream = Manifest.objects.filter(purpose=Purpose.COLLECTION, status=S.RECEIVED,
                                       carried__container_id__in=_repackaging_sources(forwarded)).values("pk")
    final = (ContainerStatus.UTILIZED, ContainerStatus.DISPOSED)
    for collection in lock_rows(Manifest.objects).filter(pk__in=upstream).order_by("pk"):
        accepted = set(collection.carried.filter(refused=False).values_list("container_id", flat=True))
        if Container.objects.filter(pk__in=_repackaging_outcomes(accepted)).exclude(status__in=final).exists():
            continue
        for line in collection.lines.all():
            outcomes = _repackaging_outcomes(set(line.carried.filter(refused=False).values_list("container_id",
                                                                                                 flat=True)))
            final_scans = ScanEvent.objects.filter(container_id__in=outcomes, kind__in=(
                ScanKind.UTILIZED, ScanKind.DISPOSED)).values_list("method", "occurred_at")
            methods = Counter(method for method, _at in final_scans)
            if methods:
                line.method_id = methods.most_common(1)[0][0]
                line.processed_on = timezone.localtime(max(at for _m, at in final_scans)).date()
                line.save(update_fields=["method", "processed_on"])
        collection.status = S.PROCESSED
        collection.processed_at = moment
        collection.save(audit_action="processed_downstream", audit_note=str(manifest))
        _notify(collection, "processed")


def _repackaging_sources(container_ids: set[int]) -> set[int]:
    """The containers and those they were made from by merging or splitting, recursively."""
    found, frontier = set(container_ids), set(container_ids)
    while frontier:
        merged_from = Container.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
        split_from = Container.objects.filter(pk__in=frontier, split_from__isnull=False).values_list(
            "split_from_id", flat=True)
        frontier = (set(merged_from) | set(split_from)) - found
        found |= frontier
    return found


def _repackaging_outcomes(container_ids: set[int]) -> set[int]:
    """What the containers became: themselves, or the packages they were merged or split into, recursively."""
    outcomes, seen, frontier = set(), set(container_ids), set(container_ids)
    while frontier:
        pieces = defaultdict(list)
        for source, piece in Container.objects.filter(split_from_id__in=frontier).values_list("split_from_id", "pk"):
            pieces[source].append(piece)
        following = set()
        for pk, status, parent in Container.objects.filter(pk__in=frontier).values_list("pk", "status", "parent_id"):
            if status == ContainerStatus.MERGED and parent is not None:
                following.add(parent)
            elif status == ContainerStatus.SPLIT and pieces[pk]:
                following.update(pieces[pk])
            else:
                outcomes.add(pk)
        frontier = following - seen
        seen |= frontier
    return outcomes


def _cancel(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> None:
    reason = _text(data, "reason", 500)
    if manifest.status == S.SUBMITTED and not reason:
        raise ValidationFailed(_("give the reason for cancelling a submitted manifest"),
                               errors=[{"field": "reason", "message": _("is required")}])
    manifest.status, manifest.cancelled_at, manifest.cancel_reason = S.CANCELLED, moment, reason


STEP_ACTIONS = {"submit": _submit, "pickup": _pickup, "handover": _handover, "receive": _receive,
                "process": _process, "cancel": _cancel}


def bulk_sign(*, scope: Scope, step: str, items: list[dict], data: dict | None = None,
              signing_code: str | None = None, now: dt.datetime | None = None) -> list[dict]:
    """Sign one step of many manifests; each succeeds or fails on its own (a failure changes nothing)."""
    results = []
    code_checked = False
    for item in items:
        manifest_id, version = item.get("id"), item.get("version")
        try:
            code = None
            if signing_code is not None and not code_checked:
                code = signing_code
            manifest = sign(scope=scope, manifest_id=manifest_id, step=step, version=version,
                            data={**(data or {}), **(item.get("data") or {})}, signing_code=code, now=now)
            if code is not None:
                code_checked = True
            results.append({"id": manifest.pk, "ok": True, "number": manifest.number, "status": manifest.status,
                            "version": manifest.version})
        except (Conflict, RuleViolation, ValidationFailed, PermissionDenied, NotFound) as exc:
            results.append({"id": manifest_id, "ok": False, "error": exc.as_dict()})
            if exc.code in ("signing_code_wrong", "signing_code_locked", "signing_code_too_short"):
                break
    return results


def cancel(*, scope: Scope, manifest_id: int, version: int | None, reason: str = "") -> Manifest:
    return sign(scope=scope, manifest_id=manifest_id, step="cancel", version=version, data={"reason": reason})


# --- revisions -------------------------------------------------------------------------------------

def _signed_parties(manifest: Manifest) -> set[int]:
    return set(manifest.signatures.exclude(step="cancel").values_list("organization_id", flat=True))


def _validate_changes(manifest: Manifest, changes: dict) -> dict:
    clean: dict = {}
    errors = []
    for field, value in changes.items():
        if field == "lines":
            positions = set(manifest.lines.values_list("position", flat=True))
            for position, line_changes in (value or {}).items():
                if int(position) not in positions:
                    errors.append({"field": f"lines.{position}", "message": _("no such line")})
                    continue
                for name, line_value in line_changes.items():
                    if f"line.{name}" not in machine.REVISABLE:
                        errors.append({"field": f"lines.{position}.{name}", "message": _("cannot be revised")})
                    elif name.endswith("method_id"):
                        _method(line_value, f"lines.{position}.{name}")
                clean.setdefault("lines", {})[str(position)] = line_changes
        elif field not in machine.REVISABLE:
            errors.append({"field": field, "message": _("cannot be revised: issue a new manifest")})
        elif field == "receiver_site_id":
            _site(manifest.receiver, value, field)
            clean[field] = value
        else:
            clean[field] = str(value or "")[:500]
    if errors:
        raise ValidationFailed(_("the revision is not valid"), errors=errors)
    return clean


@transaction.atomic
def request_revision(*, scope: Scope, manifest_id: int, version: int | None, reason: str, changes: dict | None = None,
                     cancel: bool = False) -> Revision:
    """Change sealed fields or cancel after pickup: the other signed parties approve."""
    manifest = _locked(scope, manifest_id, version)
    requester = next((o for o in (manifest.generator, manifest.receiver) if o.pk in scope.writable_organization_ids),
                     None)
    if requester is None:
        leg = manifest.legs.filter(transporter_id__in=scope.writable_organization_ids).first()
        requester = leg.transporter if leg else None
    if requester is None:
        raise PermissionDenied(_("only a party of the manifest can ask for a revision"))
    if manifest.status == S.DRAFT:
        raise Conflict(_("a draft is changed directly, not by revision"), code="not_signed_yet")
    if cancel and manifest.status != S.IN_TRANSIT:
        raise Conflict(_("only a manifest in transit is cancelled by revision; before pickup the generator "
                         "cancels it"), code="step_not_allowed")
    if manifest.status in (S.CANCELLED, S.REFUSED):
        raise Conflict(_("manifest %(number)s is %(status)s") % {"number": manifest, "status":
                                                                 S(manifest.status).label}, code="step_not_allowed")
    if manifest.revisions.filter(status=RevisionStatus.PENDING).exists():
        raise Conflict(_("a revision of this manifest is already waiting for approval"), code="revision_pending")
    reason = _text({"reason": reason}, "reason", 500)
    if not reason:
        raise ValidationFailed(_("give the reason for the revision"),
                               errors=[{"field": "reason", "message": _("is required")}])
    clean = _validate_changes(manifest, changes or {})
    if not clean and not cancel:
        raise ValidationFailed(_("the revision changes nothing"), errors=[{"field": "changes",
                                                                          "message": _("is empty")}])
    approvers = sorted(_signed_parties(manifest) - {requester.pk})
    revision = Revision.objects.create(manifest=manifest, requested_by=requester, changes=clean, cancel=cancel,
                                       reason=reason, approvers=approvers, approvals=[])
    if not approvers:
        _apply_revision(revision, manifest)
    manifest.save(audit_action="revision_requested", audit_note=reason)
    _notify(manifest, "revision_requested")
    return revision


@transaction.atomic
def decide_revision(*, scope: Scope, revision_id: int, approve: bool, comment: str = "") -> Revision:
    revision = Revision.objects.visible_to(scope).filter(pk=revision_id).first()
    if revision is None:
        raise NotFound(_("revision %(id)s not found") % {"id": revision_id})
    manifest = _locked(scope, revision.manifest_id, None)
    revision = lock_rows(Revision.objects).get(pk=revision.pk)
    if revision.status != RevisionStatus.PENDING:
        raise Conflict(_("the revision was already decided"), code="revision_decided")
    deciding = [pk for pk in revision.approvers if pk in scope.writable_organization_ids and
                pk not in revision.approvals]
    if not deciding:
        raise PermissionDenied(_("only the other signed parties approve a revision"))
    if not approve:
        revision.status, revision.decided_at = RevisionStatus.REJECTED, timezone.now()
        revision.save(audit_action="rejected", audit_note=comment[:300])
        return revision
    revision.approvals = sorted(set(revision.approvals) | set(deciding))
    if set(revision.approvals) >= set(revision.approvers):
        _apply_revision(revision, manifest)
    else:
        revision.save(audit_action="approved_by_party", audit_note=comment[:300])
    return revision


def _apply_revision(revision: Revision, manifest: Manifest) -> None:
    for field, value in revision.changes.items():
        if field == "lines":
            for position, line_changes in value.items():
                line = manifest.lines.get(position=int(position))
                for name, line_value in line_changes.items():
                    if name.endswith("method_id"):
                        setattr(line, name, _method(line_value, name).code if line_value else None)
                    elif name == "processed_on":
                        line.processed_on = dt.date.fromisoformat(line_value) if line_value else None
                    else:
                        setattr(line, name, str(line_value)[:200])
                line.save()
        else:
            setattr(manifest, field, value)
    if revision.cancel:
        manifest.status, manifest.cancelled_at, manifest.cancel_reason = S.CANCELLED, timezone.now(), revision.reason
    revision.status, revision.decided_at = RevisionStatus.APPROVED, timezone.now()
    revision.save(audit_action="applied")
    manifest.save(audit_action="revised", audit_note=revision.reason[:300])
    _notify(manifest, "revised")


# --- follow-ups after a refusal ---------------------------------------------------------------------

def stranded_containers(manifest: Manifest) -> list[ManifestContainer]:
    """Containers a refusal or a cancellation in transit left with a carrier and no follow-up manifest yet."""
    if manifest.status == S.CANCELLED and manifest.picked_up_at is not None:
        entries = _carried(manifest)
    elif manifest.status in (S.REFUSED, S.RECEIVED, S.PROCESSED):
        entries = _carried(manifest, refused=True)
    else:
        return []
    followed = set(ManifestContainer.objects.filter(manifest__follows=manifest).exclude(
        manifest__status=S.CANCELLED).values_list("container_id", flat=True))
    return [entry for entry in entries if entry.container_id not in followed]


@transaction.atomic
def create_follow_up(*, scope: Scope, manifest_id: int, purpose: str, receiver_id: int | None = None,
                     legs: list[dict] = ()) -> Manifest:
    """A refused (or cancelled) load goes back to the generator or onward to another receiver, linked to the first."""
    source = _locked(scope, manifest_id, None)
    _require_writer(scope, source.generator, _("send a refused load back or onward"))
    if purpose not in (Purpose.RETURN, Purpose.ONWARD):
        raise ValidationFailed(_("a follow-up is a return or an onward transfer"),
                               errors=[{"field": "purpose", "message": str(purpose)}])
    entries = stranded_containers(source)
    general_refused = [line for line in source.lines.all() if line.refused_tonnes > 0] \
        if source.kind == ManifestKind.GENERAL else []
    if not entries and not general_refused:
        raise Conflict(_("nothing of manifest %(number)s waits for a follow-up") % {"number": source},
                       code="nothing_to_follow_up")
    receiver = source.generator if purpose == Purpose.RETURN else _organization(receiver_id, "receiver_id")
    manifest = Manifest.objects.create(kind=source.kind, purpose=purpose, follows=source, generator=source.generator,
                                       receiver=receiver, emergency_measures=source.emergency_measures,
                                       created_by_id=scope.user_id)
    carrier = _current_leg(source) or (legs_of(source)[-1] if legs_of(source) else None)
    _set_legs(manifest, legs or ([{"transporter_id": carrier.transporter_id,
                                   "vehicle_id": carrier.vehicle_id, "driver_name": carrier.driver_name}]
                                 if carrier else []))
    if entries:
        holders = {entry.container.holder_id for entry in entries}
        _add_containers(scope, manifest, [entry.container.code for entry in entries], holders=holders,
                        statuses=LOADABLE | {ContainerStatus.HANDED_OVER})
    for position, line in enumerate(general_refused, start=1):
        ManifestLine.objects.create(manifest=manifest, position=position, general_code=line.general_code,
                                    waste_name=line.waste_name, physical_form=line.physical_form,
                                    shipped_tonnes=line.refused_tonnes)
    _refresh_totals(manifest)
    manifest.save(audit_action="follow_up_drafted", audit_note=str(source))
    return manifest


# --- lineage and summaries -------------------------------------------------------------------------

def lineage(scope: Scope, manifest: Manifest) -> dict:
    """The manifests before and after this one: follow-ups, and collection → forwarding through containers."""
    containers = manifest.carried.values("container_id")
    related = (Manifest.objects.visible_to(scope).filter(carried__container_id__in=containers)
               .exclude(pk=manifest.pk).distinct().order_by("submitted_at", "pk"))
    visible = Manifest.objects.visible_to(scope)
    return {
        "follows": visible.filter(pk=manifest.follows_id).first() if manifest.follows_id else None,
        "followed_by": list(visible.filter(follows=manifest).order_by("pk")),
        "related": list(related),
    }


def tonnes_by_status(scope: Scope) -> dict[str, Decimal]:
    rows = Manifest.objects.visible_to(scope).values("status").annotate(t=Sum("shipped_tonnes"))
    totals = defaultdict(Decimal)
    for row in rows:
        totals[row["status"]] += row["t"] or 0
    return dict(totals)
