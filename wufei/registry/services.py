"""Registry business rules: register and change units, their sites, vehicles and permits.

Writes take the caller's Scope and check it; reads ("selectors") return querysets
already narrowed to the scope. Services never know about HTTP.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core import audit, bulk, parameters
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed, WufeiError
from wufei.core.locks import lock_rows
from wufei.core.parsing import clean
from wufei.core.scope import Scope
from wufei.registry import fields as field_specs
from wufei.registry import history
from wufei.registry.models import (
    Department,
    DepartmentMembership,
    Membership,
    OperatingPermit,
    Organization,
    OrganizationState,
    PermitLine,
    RegulatorMembership,
    Site,
    SupervisionClass,
    Vehicle,
)

# --- selectors -----------------------------------------------------------------------------

def organizations_for(scope: Scope, *, q: str | None = None, role: str | None = None, region: str | None = None,
                      status: str | None = None, supervision_class: str | None = None):
    organizations = Organization.objects.visible_to(scope).select_related("region", "zone")
    if q:
        organizations = organizations.filter(Q(name__contains=q) | Q(uscc__startswith=q.upper()))
    if role:
        attr = Organization.ROLE_FIELDS.get(role)
        if attr is None:
            raise ValidationFailed(_("unknown role"), errors=[{"field": "role", "message": role}])
        organizations = organizations.filter(**{attr: True})
    if region:
        organizations = organizations.filter(Q(region_id=region) | Q(region__path__contains=f"/{region}/"))
    if status:
        organizations = organizations.filter(status=status)
    if supervision_class:
        organizations = organizations.filter(
            Q(supervision_override=supervision_class)
            | Q(supervision_override="", supervision_class=supervision_class))
    return organizations


def get_organization(scope: Scope, organization_id: int, *, for_update: bool = False) -> Organization:
    """The organization if the caller may see it (may change it, with for_update); else NotFound.

    Invisible and non-existent look the same, so an id probe learns nothing.
    """
    queryset = Organization.objects.editable_by(scope) if for_update else Organization.objects.visible_to(scope)
    organization = queryset.select_related("region", "zone").filter(pk=organization_id).first()
    if organization is None:
        if for_update and Organization.objects.visible_to(scope).filter(pk=organization_id).exists():
            raise PermissionDenied(_("you may read this organization but not change it"))
        raise NotFound(_("organization not found"))
    return organization


def organization_file(scope: Scope, organization_id: int) -> dict:
    """Everything the registry knows about one unit (一企一档), in one read."""
    organization = get_organization(scope, organization_id)
    permits = organization.permits.prefetch_related(
        Prefetch("lines", queryset=PermitLine.objects.select_related("waste", "category").prefetch_related("methods"))
    )
    return {
        "organization": organization,
        "sites": list(organization.sites.all()),
        "vehicles": list(organization.vehicles.all()),
        "permits": list(permits),
        "members": list(organization.memberships.select_related("user")),
    }


def sites_for(scope: Scope, organization_id: int | None = None):
    sites = Site.objects.visible_to(scope).select_related("organization")
    return sites.filter(organization_id=organization_id) if organization_id else sites


def vehicles_for(scope: Scope, organization_id: int | None = None):
    vehicles = Vehicle.objects.visible_to(scope).select_related("organization")
    return vehicles.filter(organization_id=organization_id) if organization_id else vehicles


def permits_for(scope: Scope, organization_id: int | None = None):
    permits = OperatingPermit.objects.visible_to(scope).select_related("organization").prefetch_related(
        Prefetch("lines", queryset=PermitLine.objects.prefetch_related("methods")))
    return permits.filter(organization_id=organization_id) if organization_id else permits


def _get_owned(model, scope: Scope, pk: int, *, for_update: bool):
    queryset = model.objects.editable_by(scope) if for_update else model.objects.visible_to(scope)
    row = queryset.filter(pk=pk).first()
    if row is None:
        if for_update and model.objects.visible_to(scope).filter(pk=pk).exists():
            raise PermissionDenied(_("you may read this record but not change it"))
        raise NotFound(_("%(what)s not found") % {"what": model._meta.verbose_name})
    return row


def get_site(scope, pk, *, for_update=False) -> Site:
    return _get_owned(Site, scope, pk, for_update=for_update)


def get_vehicle(scope, pk, *, for_update=False) -> Vehicle:
    return _get_owned(Vehicle, scope, pk, for_update=for_update)


def get_permit(scope, pk, *, for_update=False) -> OperatingPermit:
    return _get_owned(OperatingPermit, scope, pk, for_update=for_update)


# --- organizations -------------------------------------------------------------------------

def validate_organization(data: dict, *, existing: Organization | None = None, partial: bool = False) -> dict:
    """Parse and check an organization's fields; raise ValidationFailed listing every problem."""
    values, errors = clean(field_specs.ORGANIZATION, data, partial=partial)
    if "uscc" in values and values["uscc"]:
        clash = Organization.objects.filter(uscc=values["uscc"])
        if existing:
            clash = clash.exclude(pk=existing.pk)
        if clash.exists():
            errors.append({"field": "uscc", "message": _("an organization with this USCC is already registered")})
    errors += _organization_rule_errors(values, values.get("region") or (existing.region if existing else None))
    if errors:
        raise ValidationFailed(_("organization is not valid"), errors=errors)
    return values


def _organization_rule_errors(values: dict, region) -> list[dict]:
    """What is wrong with parsed values beyond each field alone: a zone outside the region, no role."""
    errors = []
    zone = values.get("zone")
    if zone and region and not region.path.startswith(zone.region.path) and not zone.region.path.startswith(
            region.path):
        errors.append({"field": "zone", "message": _("zone %(zone)s is not in region %(region)s")
                       % {"zone": zone.code, "region": region.code}})
    if "roles" in values and not values["roles"]:
        errors.append({"field": "roles", "message": _("at least one role is required")})
    return errors


def _apply_organization_values(organization: Organization, values: dict) -> None:
    for name, value in values.items():
        if name == "roles":
            for role, attr in Organization.ROLE_FIELDS.items():
                setattr(organization, attr, role in value)
        elif value is not None or name in ("zone", "longitude", "latitude"):
            setattr(organization, name, value)
    if organization.annual_hazardous_waste_tonnes is None:
        organization.annual_hazardous_waste_tonnes = Decimal(0)


def _require_region_authority(scope: Scope, region) -> None:
    if not scope.covers_region_path(region.path):
        raise PermissionDenied(_("only a regulator of region %(code)s can register units there")
                               % {"code": region.code})


@transaction.atomic
def create_organization(*, scope: Scope, data: dict) -> Organization:
    values = validate_organization(data)
    _require_region_authority(scope, values["region"])
    organization = Organization()
    _apply_organization_values(organization, values)
    organization.recorded_hw_as_of = timezone.localdate()  # a new unit has recorded nothing yet
    organization.supervision_class, organization.supervision_basis = compute_supervision_class(organization)
    organization.save()
    return organization


def create_organizations(*, scope: Scope, values: list[dict]) -> tuple[list[Organization], dict[int, WufeiError]]:
    """Register many units at once (a file import's chunk), each as `create_organization` would, from values
    already parsed by the organization field specs (`registry.fields.ORGANIZATION`).

    The same checks for each, with one query for the whole list (USCCs already registered) and one per
    threshold for the classes; the rows are written by `core.bulk` (COPY on PostgreSQL, multi-row INSERTs on
    SQLite), their history's first periods (registry.history.opening) and their audit links, the ones save() would
    write, by one `audit.append_many`. If any is refused nothing is written: ([], {index: the error
    create_organization would raise}). Otherwise (the new units, {}).
    """
    usccs = [value.get("uscc") for value in values if value.get("uscc")]
    taken = set(Organization.objects.filter(uscc__in=usccs).values_list("uscc", flat=True)) if usccs else set()
    refused = {}
    for index, value in enumerate(values):
        errors = []
        if value.get("uscc") in taken:
            errors.append({"field": "uscc", "message": _("an organization with this USCC is already registered")})
        errors += _organization_rule_errors(value, value.get("region"))
        if errors:
            refused[index] = ValidationFailed(_("organization is not valid"), errors=errors)
        elif not scope.covers_region_path(value["region"].path):
            refused[index] = PermissionDenied(_("only a regulator of region %(code)s can register units there")
                                              % {"code": value["region"].code})
    if refused:
        return [], refused
    today = timezone.localdate()
    regions = {value["region"].code: value["region"] for value in values}.values()
    key_min = parameters.get_for_regions("supervision.key.min_annual_tonnes", regions)
    simplified_min = parameters.get_for_regions("supervision.simplified.min_annual_tonnes", regions)
    organizations = []
    for value in values:
        organization = Organization()
        _apply_organization_values(organization, value)
        organization.recorded_hw_as_of = today  # a new unit has recorded nothing yet
        code = organization.region_id
        facts = SupervisionFacts(key_min=Decimal(str(key_min[code])), simplified_min=Decimal(str(simplified_min[code])))
        organization.supervision_class, organization.supervision_basis = classify(organization, facts)
        organizations.append(organization)
    table = bulk.table(Organization)
    entity_type = audit.entity_type_of(Organization)
    now = timezone.now()
    with transaction.atomic():
        rows, links = [], []
        for pk, organization in zip(table.reserve_ids(len(organizations)), organizations, strict=True):
            organization.pk, organization.created_at, organization.updated_at = pk, now, now
            organization._state.adding = False
            rows.append({name: getattr(organization, name) for name in table.attnames})
            organization._audit_snapshot = audit.snapshot(organization)  # what save() would have recorded
            links.append((entity_type, pk, "created", {"values": organization._audit_snapshot}))
        table.insert(rows)
        OrganizationState.objects.bulk_create([OrganizationState(organization_id=organization.pk, **period)
                                               for organization in organizations
                                               for period in history.opening(organization)])
        audit.append_many(links)
    return organizations, {}


@transaction.atomic
def update_organization(*, scope: Scope, organization_id: int, data: dict, version: int,
                        audit_note: str = "", effective_on: dt.date | None = None) -> Organization:
    """Change a unit's fields. Those that decide its supervision (SUPERVISED_FIELDS) change only by the regulator
    of its region, directly or by approving the unit's change request (registry.changes); so does its registration
    day, which dates its history. A change of what the indicators count (region, roles, industry code) holds in the
    unit's history from `effective_on` (default today; registry.history)."""
    organization = get_organization(scope, organization_id, for_update=True)
    organization = lock_rows(Organization.objects).get(pk=organization.pk)
    check_version(organization, version)
    values = validate_organization(data, existing=organization, partial=True)
    if not scope.covers_region_path(organization.region.path):
        _refuse_supervised_changes(organization, values)
        if values.get("registered_on") not in (None, organization.registered_on):
            raise PermissionDenied(_("only the regulator of the unit's region can change its registration day"),
                                   errors=[{"field": "registered_on", "message": _("set by the regulator")}])
    if "region" in values and values["region"] != organization.region:
        _require_region_authority(scope, values["region"])
    _apply_organization_values(organization, values)
    organization.supervision_class, organization.supervision_basis = compute_supervision_class(organization)
    organization.save(audit_note=audit_note, effective_on=effective_on)
    return organization


# The fields of a unit that decide how it is supervised: its class (declared tonnes), what it may do (roles) and
# who supervises it (region). A unit asks for a change with a change request (registry.changes); its regulator
# approves it or changes them directly. Operating permits are registered by the regulator only (add_permit).
SUPERVISED_FIELDS = ("annual_hazardous_waste_tonnes", "roles", "region")


def supervised_value(organization: Organization, name: str):
    """The value in force of a supervised field, as plain JSON (what a change request stores)."""
    if name == "roles":
        return sorted(organization.roles)
    if name == "region":
        return organization.region_id
    return plain_number(organization.annual_hazardous_waste_tonnes or Decimal(0))


def plain_supervised_value(name: str, value):
    """A parsed value of a supervised field (validate_organization) as plain JSON, comparable to supervised_value."""
    if name == "roles":
        return sorted(set(value or []))
    if name == "region":
        return value.code if value is not None else None
    return plain_number(value if value is not None else Decimal(0))


def _refuse_supervised_changes(organization: Organization, values: dict) -> None:
    from wufei.registry.models import ChangeRequest

    changed = [name for name in SUPERVISED_FIELDS
               if name in values and plain_supervised_value(name, values[name]) != supervised_value(organization, name)]
    if changed:
        labels = ", ".join(str(ChangeRequest.Field(name).label) for name in changed)
        message = _("%(fields)s decide how the unit is supervised and change only when its regulator approves a "
                    "change request: file one on the unit's page or with POST "
                    "/api/v1/organizations/%(id)s/change-requests") % {"fields": labels, "id": organization.pk}
        raise PermissionDenied(message, code="change_request_required", errors=[
            {"field": name, "message": _("changes only on a change request the regulator approves")}
            for name in changed])


def check_version(row, version: int) -> None:
    if version != row.version:
        raise Conflict(_("this record was changed by someone else (version %(now)s, you sent %(sent)s); reload it")
                       % {"now": row.version, "sent": version}, code="stale_version")


@transaction.atomic
def close_organization(*, scope: Scope, organization_id: int, reason: str, closed_on: dt.date | None = None,
                       version: int) -> Organization:
    organization = lock_rows(Organization.objects).get(
        pk=get_organization(scope, organization_id, for_update=True).pk)
    check_version(organization, version)
    if not reason.strip():
        raise ValidationFailed(_("a reason is required"), errors=[{"field": "reason", "message": _("is required")}])
    if organization.status == Organization.Status.CLOSED:
        raise RuleViolation(_("organization is already closed"), code="organization_closed")
    organization.status = Organization.Status.CLOSED
    organization.closed_on = closed_on or timezone.localdate()
    organization.closed_reason = reason.strip()
    organization.save(audit_action="closed")
    return organization


def ensure_usable(organization: Organization, *, role: str | None = None) -> None:
    """Raise unless the unit may be put on a new document (active, and holding `role` if given)."""
    if organization.status != Organization.Status.ACTIVE:
        raise RuleViolation(_("%(name)s is closed and cannot be put on new documents") % {"name": organization.name},
                            code="organization_closed")
    if role and not getattr(organization, Organization.ROLE_FIELDS[role]):
        raise RuleViolation(_("%(name)s is not registered as %(role)s")
                            % {"name": organization.name, "role": field_specs.ROLE_LABELS[role]}, code="role_missing")


# --- supervision class (HJ 1259-2022) -----------------------------------------------------
#
# The class depends on a valid operating permit, an own utilization / disposal facility, and
# otherwise the annual tonnes: the largest of the declared figure
# (annual_hazardous_waste_tonnes) and the two recorded ones (the last full calendar year and the
# running twelve months of the unit's containers). The registry does not read containers: the
# tracking app counts them and hands the figures to `set_recorded_generation`.

TONNAGE_SOURCES = ("declared", "recorded_last_year", "recorded_12_months")


@dataclass(frozen=True)
class SupervisionFacts:
    """What a unit's class depends on besides its own fields."""

    key_min: Decimal
    simplified_min: Decimal
    holds_permit: bool = False
    own_facility: bool = False


def _facts_of(organization: Organization) -> SupervisionFacts:
    region = organization.region
    facts = {"key_min": parameters.get_decimal("supervision.key.min_annual_tonnes", region),
             "simplified_min": parameters.get_decimal("supervision.simplified.min_annual_tonnes", region)}
    if organization.pk:
        today = timezone.localdate()
        facts["holds_permit"] = organization.permits.filter(
            status=OperatingPermit.Status.VALID, valid_from__lte=today, valid_until__gte=today).exists()
        facts["own_facility"] = organization.sites.filter(kind__in=OWN_FACILITY_KINDS, is_active=True).exists()
    return SupervisionFacts(**facts)


def _facts_of_many(organizations: list[Organization]) -> dict[int, SupervisionFacts]:
    """The facts of many units with four queries whatever their number."""
    regions = {o.region_id: o.region for o in organizations}.values()
    key_min = parameters.get_for_regions("supervision.key.min_annual_tonnes", regions)
    simplified_min = parameters.get_for_regions("supervision.simplified.min_annual_tonnes", regions)
    ids = [o.pk for o in organizations]
    today = timezone.localdate()
    permit_holders = set(OperatingPermit.objects.filter(
        organization_id__in=ids, status=OperatingPermit.Status.VALID, valid_from__lte=today,
        valid_until__gte=today).values_list("organization_id", flat=True))
    facility_owners = set(Site.objects.filter(
        organization_id__in=ids, kind__in=[Site.Kind.SELF_UTILIZATION, Site.Kind.SELF_DISPOSAL],
        is_active=True).values_list("organization_id", flat=True))
    return {o.pk: SupervisionFacts(key_min=Decimal(str(key_min[o.region_id])),
                                   simplified_min=Decimal(str(simplified_min[o.region_id])),
                                   holds_permit=o.pk in permit_holders, own_facility=o.pk in facility_owners)
            for o in organizations}


def classify(organization: Organization, facts: SupervisionFacts) -> tuple[str, dict]:
    """(class, basis) of a unit from its fields and its facts; no queries."""
    if facts.holds_permit:
        return SupervisionClass.KEY, {"rule": "operating_permit"}
    if facts.own_facility:
        return SupervisionClass.KEY, {"rule": "own_facility"}
    figures = {
        "declared": organization.annual_hazardous_waste_tonnes or Decimal(0),
        "recorded_last_year": organization.recorded_hw_tonnes_last_year or Decimal(0),
        "recorded_12_months": organization.recorded_hw_tonnes_12_months or Decimal(0),
    }
    tonnes = max(figures.values())
    decided_by = next(source for source in TONNAGE_SOURCES if figures[source] == tonnes)  # ties: declared first
    basis = {"tonnes": plain_number(tonnes), **{name: plain_number(value) for name, value in figures.items()},
             "decided_by": decided_by, "last_year": organization.recorded_hw_year,
             "key_min": plain_number(facts.key_min), "simplified_min": plain_number(facts.simplified_min)}
    if tonnes >= facts.key_min:
        return SupervisionClass.KEY, {"rule": "tonnes_key", **basis}
    if tonnes >= facts.simplified_min:
        return SupervisionClass.SIMPLIFIED, {"rule": "tonnes_simplified", **basis}
    return SupervisionClass.REGISTERED, {"rule": "tonnes_registered", **basis}


def compute_supervision_class(organization: Organization) -> tuple[str, dict]:
    """(class, basis) from the thresholds in force for the unit's region (HJ 1259-2022).

    The basis is a rule name with its numbers; Organization.supervision_basis_text words it.
    """
    return classify(organization, _facts_of(organization))


def plain_number(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


CLASS_FIELDS = ["supervision_class", "supervision_basis"]


def refresh_supervision_class(organization: Organization) -> Organization:
    klass, basis = compute_supervision_class(organization)
    if (klass, basis) != (organization.supervision_class, organization.supervision_basis):
        organization.supervision_class, organization.supervision_basis = klass, basis
        # only the class: the recorded figures may have moved since the row was read
        organization.save(audit_action="supervision_class_computed",
                          update_fields=[*CLASS_FIELDS, "version", "updated_at"])
    return organization


RECORDED_FIELDS = ["recorded_hw_tonnes_last_year", "recorded_hw_tonnes_12_months"]
RECORDED_CHUNK = 1000


def set_recorded_generation(*, measure: Callable[[list[int]], dict], as_of: dt.date,
                            organization_ids=None) -> dict[str, int]:
    """Store what the units' containers say they generated, and recompute their class.

    `measure(ids)` gives {organization id: (tonnes in the last full year, tonnes in the running
    twelve months)} as of `as_of` for those ids; a unit it leaves out recorded nothing. It is
    called with the units' rows locked (in chunks of RECORDED_CHUNK, ordered by id), so a figure
    counted meanwhile by another caller is never overwritten by an older one. `organization_ids`
    None means every unit (the daily refresh: the running twelve months move with the calendar).

    Writes are bulk, per chunk: a unit whose class changes is saved as refresh_supervision_class
    would (version + 1, a "supervision_class_computed" audit link with the changes); new figures
    that leave the class alone are stored without a link or a new version, like the ledger's
    monthly figures (they follow from the scan events, which are in the audit chain themselves),
    with updated_at moved so that API clients syncing by updated_after see them. Returns counts.
    """
    if organization_ids is None:
        ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted(set(organization_ids))
    counts = {"organizations": 0, "changed": 0, "reclassified": 0}
    for start in range(0, len(ids), RECORDED_CHUNK):
        chunk = ids[start:start + RECORDED_CHUNK]
        with transaction.atomic():
            # FOR NO KEY UPDATE: serializes the counters of a unit without blocking the foreign-key checks
            # (FOR KEY SHARE) of containers and events being inserted for it meanwhile
            rows = list(lock_rows(Organization.objects).select_related("region")
                        .filter(pk__in=chunk).order_by("pk"))
            figures = measure([o.pk for o in rows])
            facts = _facts_of_many(rows)
            now = timezone.now()
            reclassified, changed, dated = [], [], []
            for organization in rows:
                before, counted_before = audit.snapshot(organization), organization.recorded_hw_as_of
                last_year, running = figures.get(organization.pk, (Decimal(0), Decimal(0)))
                new_figures = (Decimal(last_year), Decimal(running))
                moved = new_figures != (organization.recorded_hw_tonnes_last_year,
                                        organization.recorded_hw_tonnes_12_months)
                organization.recorded_hw_tonnes_last_year, organization.recorded_hw_tonnes_12_months = new_figures
                organization.recorded_hw_as_of = as_of
                klass, basis = classify(organization, facts[organization.pk])
                if klass != organization.supervision_class:
                    organization.supervision_class, organization.supervision_basis = klass, basis
                    organization.version += 1
                    organization.updated_at = now
                    reclassified.append((organization, before))
                elif moved or basis != organization.supervision_basis:
                    organization.supervision_basis = basis
                    organization.updated_at = now
                    changed.append(organization)
                elif counted_before != as_of:
                    dated.append(organization.pk)
            if reclassified:
                Organization.objects.bulk_update(
                    [o for o, _before in reclassified],
                    [*RECORDED_FIELDS, "recorded_hw_as_of", *CLASS_FIELDS, "version", "updated_at"])
                links = []
                for organization, before in reclassified:
                    after = audit.snapshot(organization)
                    links.append((audit.entity_type_of(organization), organization.pk, "supervision_class_computed",
                                  {"changes": audit.diff(before, after)}))
                    organization._audit_snapshot = after
                audit.append_many(links)
            if changed:
                Organization.objects.bulk_update(
                    changed, [*RECORDED_FIELDS, "recorded_hw_as_of", "supervision_basis", "updated_at"])
            if dated:
                Organization.objects.filter(pk__in=dated).update(recorded_hw_as_of=as_of)
        counts["organizations"] += len(rows)
        counts["changed"] += len(changed) + len(reclassified)
        counts["reclassified"] += len(reclassified)
    return counts


@transaction.atomic
def override_supervision_class(*, scope: Scope, organization_id: int, supervision_class: str, reason: str,
                               version: int) -> Organization:
    """A regulator sets the class by hand; a reason is required. An empty class removes the override."""
    organization = get_organization(scope, organization_id)
    if not scope.covers_region_path(organization.region.path):
        raise PermissionDenied(_("only the unit's regulator can set its supervision class"))
    organization = lock_rows(Organization.objects).get(pk=organization.pk)
    check_version(organization, version)
    errors = []
    if supervision_class and supervision_class not in SupervisionClass.values:
        errors.append({"field": "supervision_class", "message": _("unknown class")})
    if not reason or not reason.strip():
        errors.append({"field": "reason", "message": _("a reason is required to override the computed class")})
    if errors:
        raise ValidationFailed(_("override is not valid"), errors=errors)
    organization.supervision_override = supervision_class
    organization.supervision_override_reason = reason.strip()
    organization.supervision_override_by_id = scope.user_id
    organization.save(audit_action="supervision_class_overridden" if supervision_class
                      else "supervision_override_removed")
    return organization


# --- sites, vehicles, permits ---------------------------------------------------------------

def _owner_for_write(scope: Scope, uscc_or_organization) -> Organization:
    if isinstance(uscc_or_organization, Organization):
        organization = uscc_or_organization
    else:
        organization = Organization.objects.filter(uscc=uscc_or_organization).first()
        if organization is None:
            raise ValidationFailed(_("organization not registered"),
                                   errors=[{"field": "organization", "message": _("no organization with USCC %(u)s")
                                            % {"u": uscc_or_organization}}])
    return get_organization(scope, organization.pk, for_update=True)


def next_site_code(organization: Organization) -> str:
    """HJ 608-2017 style: USCC + 3-digit sequence + 'P'."""
    used = {code[18:21] for code in Site.objects.filter(organization=organization).values_list("code", flat=True)}
    number = 1
    while f"{number:03d}" in used:
        number += 1
    return f"{organization.uscc}{number:03d}P"


@transaction.atomic
def add_site(*, scope: Scope, data: dict) -> Site:
    values, errors = clean(field_specs.SITE, data)
    if errors:
        raise ValidationFailed(_("site is not valid"), errors=errors)
    organization = _owner_for_write(scope, values.pop("organization"))
    site = Site(organization=organization, code=next_site_code(organization), **_present(values))
    site.save()
    refresh_supervision_class(organization)
    return site


# A site of one of these kinds makes its unit key-supervised (HJ 1259-2022): turning one into another kind, or
# another kind into one, goes through a change request (registry.changes) or the regulator.
OWN_FACILITY_KINDS = (Site.Kind.SELF_UTILIZATION, Site.Kind.SELF_DISPOSAL)


@transaction.atomic
def update_site(*, scope: Scope, site_id: int, data: dict, version: int, audit_note: str = "") -> Site:
    site = get_site(scope, site_id, for_update=True)
    check_version(site, version)
    data = {k: v for k, v in data.items() if k != "organization"}
    values, errors = clean({k: v for k, v in field_specs.SITE.items() if k != "organization"}, data, partial=True)
    if errors:
        raise ValidationFailed(_("site is not valid"), errors=errors)
    kind = values.get("kind") or site.kind
    if kind != site.kind and (kind in OWN_FACILITY_KINDS or site.kind in OWN_FACILITY_KINDS) \
            and not scope.covers_region_path(site.organization.region.path):
        raise PermissionDenied(
            _("an own utilization or disposal facility decides how the unit is supervised: its kind changes only "
              "when the regulator approves a change request (POST /api/v1/organizations/%(id)s/change-requests "
              "with field \"site_kind\")") % {"id": site.organization_id},
            code="change_request_required",
            errors=[{"field": "kind", "message": _("changes only on a change request the regulator approves")}])
    for name, value in values.items():
        setattr(site, name, value)
    site.save(audit_note=audit_note)
    refresh_supervision_class(site.organization)
    return site


def _present(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


@transaction.atomic
def add_vehicle(*, scope: Scope, data: dict) -> Vehicle:
    values, errors = clean(field_specs.VEHICLE, data)
    if values.get("plate") and Vehicle.objects.filter(plate=values["plate"]).exists():
        errors.append({"field": "plate", "message": _("vehicle %(p)s is already registered") % {"p": values["plate"]}})
    if errors:
        raise ValidationFailed(_("vehicle is not valid"), errors=errors)
    organization = _owner_for_write(scope, values.pop("organization"))
    ensure_usable(organization, role="transporter")
    vehicle = Vehicle(organization=organization, **_present(values))
    vehicle.save()
    return vehicle


@transaction.atomic
def update_vehicle(*, scope: Scope, vehicle_id: int, data: dict, version: int) -> Vehicle:
    vehicle = get_vehicle(scope, vehicle_id, for_update=True)
    check_version(vehicle, version)
    spec = {k: v for k, v in field_specs.VEHICLE.items() if k not in ("organization", "plate")}
    values, errors = clean(spec, {k: v for k, v in data.items() if k in spec}, partial=True)
    if errors:
        raise ValidationFailed(_("vehicle is not valid"), errors=errors)
    for name, value in values.items():
        setattr(vehicle, name, value)
    vehicle.save()
    return vehicle


def vehicle_permit_valid(vehicle: Vehicle, on: dt.date | None = None) -> bool:
    on = on or timezone.localdate()
    return vehicle.is_active and vehicle.transport_permit_valid_until >= on


def validate_permit(data: dict, lines: list[dict], *, existing: OperatingPermit | None = None
                    ) -> tuple[dict, list[dict], list[dict]]:
    """Parse a permit and its lines; errors name the field, lines' fields as 'lines.N.field'."""
    values, errors = clean(field_specs.PERMIT, data)
    errors += field_specs.check_dates(values, "valid_from", "valid_until")
    clash = OperatingPermit.objects.filter(number=values.get("number"))
    if existing:
        clash = clash.exclude(pk=existing.pk)
    if values.get("number") and clash.exists():
        errors.append({"field": "number", "message": _("permit %(n)s is already registered") % {"n": values["number"]}})
    if not lines:
        errors.append({"field": "lines", "message": _("a permit needs at least one line (waste code or category)")})
    parsed_lines = []
    for index, line in enumerate(lines):
        line_values, line_errors = clean(field_specs.PERMIT_LINE, line)
        errors += [{**e, "field": f"lines.{index}.{e['field']}"} for e in line_errors]
        parsed_lines.append(line_values)
    return values, parsed_lines, errors


@transaction.atomic
def add_permit(*, scope: Scope, data: dict, lines: list[dict], site: Site | None = None) -> OperatingPermit:
    """Register a permit with its lines; `site` is the facility it licenses (one of the holder's sites)."""
    values, parsed_lines, errors = validate_permit(data, lines)
    if errors:
        raise ValidationFailed(_("permit is not valid"), errors=errors)
    organization = _owner_for_write(scope, values.pop("organization"))
    if not scope.covers_region_path(organization.region.path):
        raise PermissionDenied(_("permits are registered by the regulator"))
    if site is not None and site.organization_id != organization.pk:
        raise ValidationFailed(_("permit is not valid"), errors=[
            {"field": "site", "message": _("the site belongs to another organization")}])
    permit = OperatingPermit(organization=organization, site=site, **_present(values))
    permit.save()
    for line in parsed_lines:
        _save_permit_line(permit, line)
    if not organization.is_receiver and permit.kind != OperatingPermit.Kind.SMALL_VOLUME_COLLECTION:
        organization.is_receiver = True
        organization.save(audit_action="role_added")
    if permit.kind in (OperatingPermit.Kind.COLLECTION, OperatingPermit.Kind.SMALL_VOLUME_COLLECTION) and \
            not organization.is_collector:
        organization.is_collector = True
        organization.save(audit_action="role_added")
    refresh_supervision_class(organization)
    return permit


@transaction.atomic
def replace_permit(*, scope: Scope, permit_id: int, data: dict, lines: list[dict], version: int) -> OperatingPermit:
    """Re-register a permit (renewal, new lines): its fields and all its lines are replaced."""
    permit = get_permit(scope, permit_id, for_update=True)
    check_version(permit, version)
    values, parsed_lines, errors = validate_permit(data, lines, existing=permit)
    if errors:
        raise ValidationFailed(_("permit is not valid"), errors=errors)
    organization = _owner_for_write(scope, values.pop("organization"))
    if organization.pk != permit.organization_id:
        raise ValidationFailed(_("permit belongs to another organization"),
                               errors=[{"field": "organization", "message": permit.organization.uscc}])
    if not scope.covers_region_path(organization.region.path):
        raise PermissionDenied(_("permits are registered by the regulator"))
    for name, value in _present(values).items():
        setattr(permit, name, value)
    permit.save()
    for line in permit.lines.all():
        line.delete()
    for line in parsed_lines:
        _save_permit_line(permit, line)
    refresh_supervision_class(organization)
    return permit


@transaction.atomic
def set_permit_status(*, scope: Scope, permit_id: int, status: str, reason: str, version: int) -> OperatingPermit:
    """Suspend, revoke or reinstate a permit (the issuing regulator's decision); a reason is required."""
    permit = get_permit(scope, permit_id)
    if not scope.covers_region_path(permit.organization.region.path):
        raise PermissionDenied(_("only the regulator can change a permit's status"))
    permit = lock_rows(OperatingPermit.objects).get(pk=permit.pk)
    check_version(permit, version)
    errors = []
    if status not in OperatingPermit.Status.values:
        errors.append({"field": "status", "message": _("unknown status")})
    if not reason.strip():
        errors.append({"field": "reason", "message": _("is required")})
    if errors:
        raise ValidationFailed(_("permit status is not valid"), errors=errors)
    permit.status = status
    permit.save(audit_action=f"permit_{status}", audit_note=reason.strip())
    refresh_supervision_class(permit.organization)
    return permit


def _save_permit_line(permit: OperatingPermit, line: dict) -> PermitLine:
    from wufei.catalog.models import HazardousWasteCategory

    target = line["waste"]
    permit_line = PermitLine(permit=permit, annual_capacity_tonnes=line["annual_capacity_tonnes"])
    if isinstance(target, HazardousWasteCategory):
        permit_line.category = target
    else:
        permit_line.waste = target
    permit_line.save()
    if line.get("methods"):
        permit_line.methods.set(line["methods"])
    return permit_line


def permit_lines_covering(organization: Organization, waste_code: str, *, on: dt.date | None = None,
                          method_code: str | None = None) -> list[PermitLine]:
    """The valid permit lines of a receiver that allow a waste code (and method, if given) on a day."""
    on = on or timezone.localdate()
    category = f"HW{waste_code[-2:]}"
    lines = PermitLine.objects.filter(
        permit__organization=organization, permit__status=OperatingPermit.Status.VALID,
        permit__valid_from__lte=on, permit__valid_until__gte=on,
    ).filter(Q(waste_id=waste_code) | Q(category_id=category)).prefetch_related("methods").select_related("permit")
    result = []
    for line in lines:
        methods = {m.code for m in line.methods.all()}
        if method_code is None or not methods or method_code in methods:
            result.append(line)
    return result


def check_receiver_permit(organization: Organization, waste_code: str, *, method_code: str | None = None,
                          on: dt.date | None = None) -> list[PermitLine]:
    """Raise a RuleViolation naming the rule unless a valid permit covers the code and method."""
    ensure_usable(organization)
    lines = permit_lines_covering(organization, waste_code, on=on, method_code=method_code)
    if not lines:
        detail = f"{waste_code}" + (f" / {method_code}" if method_code else "")
        raise RuleViolation(_("%(name)s holds no valid operating permit for %(what)s (固废法 第80条)")
                            % {"name": organization.name, "what": detail}, code="receiver_not_permitted")
    return lines


def validity_state(valid_until: dt.date, *, region=None, today: dt.date | None = None) -> str:
    """'expired', 'expiring' (inside the region's warning window) or '' for a permit's end date."""
    today = today or timezone.localdate()
    if valid_until < today:
        return "expired"
    warning_days = int(parameters.get("permit.expiry_warning_days", region))
    return "expiring" if valid_until <= today + dt.timedelta(days=warning_days) else ""


def expiring_permits(scope: Scope, *, within_days: int | None = None, today: dt.date | None = None):
    today = today or timezone.localdate()
    days = within_days if within_days is not None else int(parameters.get("permit.expiry_warning_days"))
    return permits_for(scope).filter(status=OperatingPermit.Status.VALID, valid_until__lte=today + dt.timedelta(days))


# --- people ----------------------------------------------------------------------------------

@transaction.atomic
def add_member(*, scope: Scope, organization_id: int, username: str, role: str) -> Membership:
    organization = get_organization(scope, organization_id)
    if organization.pk not in scope.admin_organization_ids and not scope.covers_region_path(organization.region.path):
        raise PermissionDenied(_("only the organization's administrators or its regulator can add members"))
    if role not in Membership.Role.values:
        raise ValidationFailed(_("unknown role"), errors=[{"field": "role", "message": role}])
    membership, created = Membership.objects.get_or_create(user=_user_named(username), organization=organization,
                                                           defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save()
    return membership


def _user_named(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationFailed(_("no such user"), errors=[{"field": "username", "message": username}])
    return user


def _require_regulator_of(scope: Scope, region_code: str):
    from wufei.catalog.services import get_region

    region = get_region(region_code)
    if not scope.covers_region_path(region.path):
        raise PermissionDenied(_("only a regulator of region %(code)s can do this") % {"code": region.code})
    return region


@transaction.atomic
def add_regulator(*, scope: Scope, username: str, region_code: str, authority: str) -> RegulatorMembership:
    """Give a person a regulator's view of a region subtree (granted from the same or a higher level)."""
    region = _require_regulator_of(scope, region_code)
    if not authority.strip():
        raise ValidationFailed(_("authority is required"), errors=[{"field": "authority", "message": _("is required")}])
    membership, _created = RegulatorMembership.objects.get_or_create(
        user=_user_named(username), region=region, defaults={"authority": authority.strip()})
    return membership


@transaction.atomic
def add_department(*, scope: Scope, region_code: str, name: str) -> Department:
    region = _require_regulator_of(scope, region_code)
    if not name.strip():
        raise ValidationFailed(_("name is required"), errors=[{"field": "name", "message": _("is required")}])
    department, _created = Department.objects.get_or_create(name=name.strip(), region=region)
    return department


@transaction.atomic
def add_department_member(*, scope: Scope, department_id: int, username: str) -> DepartmentMembership:
    department = Department.objects.editable_by(scope).filter(pk=department_id).first()
    if department is None:
        raise NotFound(_("department not found"))
    membership, _created = DepartmentMembership.objects.get_or_create(user=_user_named(username),
                                                                      department=department)
    return membership
