"""Drafting a manifest: numbering, creation, lines, containers, legs, planned methods, edits of a draft."""


from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils.translation import gettext as _

from wufei.catalog import streams
from wufei.catalog.models import GeneralSolidWasteCode
from wufei.core import parameters, parsing, units
from wufei.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.scope import Scope
from wufei.core.units import Quantity, Unit
from wufei.manifests import kinds, machine
from wufei.manifests.models import (
    Manifest,
    ManifestContainer,
    ManifestLine,
    ManifestSequence,
    Purpose,
    TransportLeg,
)
from wufei.manifests.services.common import (
    LOADABLE,
    RESERVING,
    TONNE,
    _locked,
    _method,
    _organization,
    _require_writer,
    _site,
    _text,
    check_open,
)
from wufei.manifests.signing_codes import set_signing_code as set_signing_code  # re-exported: the service API
from wufei.manifests.signing_codes import signing_codes_to_renew as signing_codes_to_renew  # re-exported
from wufei.registry.models import Vehicle
from wufei.registry.services import ensure_usable
from wufei.tracking.models import Container, ContainerStatus


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


@transaction.atomic
def create_manifest(*, scope: Scope, kind: str, generator_id: int, receiver_id: int, legs: list[dict] = (),
                    container_codes: list[str] = (), lines: list[dict] = (), generator_site_id: int | None = None,
                    receiver_site_id: int | None = None, emergency_measures: str = "", note: str = "",
                    purpose: str = Purpose.TRANSFER, planned_method: str | None = None) -> Manifest:
    """A draft: the generator's section, its carriers and its lines (containers, or typed lines for general waste)."""
    rules = kinds.find(kind)
    if rules is None:
        raise ValidationFailed(_("unknown manifest kind"), errors=[{"field": "kind", "message": str(kind)}])
    if purpose not in (Purpose.TRANSFER, Purpose.COLLECTION, Purpose.FORWARD):
        raise ValidationFailed(_("follow-up manifests are made from the refused manifest"),
                               errors=[{"field": "purpose", "message": str(purpose)}])
    if purpose not in rules.purposes:
        raise ValidationFailed(_("a %(kind)s manifest cannot be a %(purpose)s") % {
            "kind": rules.label, "purpose": Purpose(purpose).label}, errors=[{"field": "purpose", "message": purpose}])
    generator = _organization(generator_id, "generator_id")
    _require_writer(scope, generator, _("open its manifests"))
    ensure_usable(generator)
    receiver = _organization(receiver_id, "receiver_id")
    manifest = Manifest(kind=kind, unit=rules.unit, purpose=purpose, generator=generator, receiver=receiver,
                        generator_site=_site(generator, generator_site_id, "generator_site_id"),
                        receiver_site=_site(receiver, receiver_site_id, "receiver_site_id"),
                        emergency_measures=_text({"v": emergency_measures}, "v", 500),
                        note=_text({"v": note}, "v", 500), created_by_id=scope.user_id)
    manifest.save()
    _set_legs(manifest, legs)
    if rules.typed_lines:
        if container_codes:
            raise ValidationFailed(_("%(kind)s is entered as lines, not containers") % {"kind": rules.label},
                                   errors=[{"field": "container_codes", "message": _("not used for this kind")}])
        _set_typed_lines(manifest, lines)
    else:
        if lines:
            raise ValidationFailed(_("%(kind)s lines are built from containers (一物一码)") % {"kind": rules.label},
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
    rules = kinds.get(manifest.kind)
    known = set(GeneralSolidWasteCode.objects.values_list("code", flat=True)) \
        if streams.GENERAL in rules.streams else set()
    errors, mismatch = [], False
    for position, data in enumerate(lines, start=1):
        prefix = f"lines.{position - 1}."
        code = (data.get("general_code") or "").strip().upper()
        if not code:
            errors.append({"field": prefix + "general_code", "message": _("is required")})
        elif not rules.carries(code):
            errors.append({"field": prefix + "general_code", "message": _("is not a code of %(kind)s") % {
                "kind": rules.label}})
        elif known and code not in known and not _in_general_ranges(code, known):
            errors.append({"field": prefix + "general_code", "message": _("is not a general solid waste code")})
        try:
            quantity = _typed_quantity(manifest, rules, data, prefix)
        except ValidationFailed as exc:
            errors += exc.errors
            mismatch = mismatch or isinstance(exc, units.UnitMismatch)
            continue
        name = (data.get("waste_name") or "").strip()
        if not name:
            errors.append({"field": prefix + "waste_name", "message": _("is required")})
        if errors:
            continue
        in_unit = quantity.unit != Unit.TONNE
        ManifestLine.objects.create(
            manifest=manifest, position=position, general_code=code, waste_name=name[:200],
            physical_form=(data.get("physical_form") or "")[:12], unit=quantity.unit,
            shipped_quantity=quantity.value if in_unit else None,
            shipped_tonnes=line_tonnes(manifest, quantity) if in_unit else quantity.value,
            planned_method=_method(data.get("planned_method"), prefix + "planned_method"))
    if errors:  # a quantity in another unit than the kind's says so in its code
        raise (units.UnitMismatch if mismatch else ValidationFailed)(_("the lines are not valid"), errors=errors)


def _typed_quantity(manifest: Manifest, rules, data: dict, prefix: str) -> Quantity:
    """A typed line's quantity in its kind's unit: `tonnes` (kinds in tonnes, as always), or `quantity` with an
    optional `unit`, which must be the kind's (a line in another unit is refused, never converted by guess)."""
    unit = (data.get("unit") or rules.unit).strip()
    if unit != rules.unit:
        message = _("a %(kind)s manifest is measured in %(unit)s, not %(given)s") % {
            "kind": rules.label, "unit": units.label(rules.unit), "given": units.label(unit)}
        raise units.UnitMismatch(message, errors=[{"field": prefix + "unit", "message": message}])
    field = "quantity" if data.get("quantity") not in (None, "") or rules.unit != Unit.TONNE else "tonnes"
    try:
        value = parsing.tonnes(minimum=TONNE)(data.get(field))
    except ValueError:
        message = _("a quantity in tonnes above zero") if rules.unit == Unit.TONNE else \
            _("a quantity in %(unit)s above zero") % {"unit": units.label(rules.unit)}
        raise ValidationFailed(message, errors=[{"field": prefix + field, "message": message}]) from None
    return Quantity(value, rules.unit)


def line_tonnes(manifest: Manifest, quantity: Quantity) -> Decimal:
    """The tonnes a quantity of the manifest's stream counts as: by the stream's documented factor (a parameter,
    e.g. a density), or 0 where the stream has none (its figures stay in its own unit)."""
    stream = kinds.get(manifest.kind).stream
    if quantity.unit != Unit.TONNE and stream.tonnes_factor_key is None:
        return Decimal(0)
    factor = (parameters.get_decimal(stream.tonnes_factor_key, manifest.generator.region_id)
              if stream.tonnes_factor_key else None)
    return units.to_tonnes(quantity, factor=factor).quantize(TONNE)


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
        elif not kinds.get(manifest.kind).carries(container.waste_id):
            carrier = kinds.for_waste(container.waste_id)
            problem = (_("%(stream)s travels on a %(kind)s manifest") % {
                "stream": streams.stream_of(container.waste_id).label, "kind": carrier.label} if carrier
                else _("%(code)s does not travel on this kind of manifest") % {"code": container.waste_id})
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
    if "lines" in data and kinds.get(manifest.kind).typed_lines:
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
    rules = kinds.get(manifest.kind)
    if rules.typed_lines:
        raise ValidationFailed(_("%(kind)s is entered as lines, not containers") % {"kind": rules.label},
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
