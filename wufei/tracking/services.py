"""Containers (一物一码): record batches (五即), scans, re-weighs, merge / split, storage, trace.

Writes take the caller's Scope and check it: a unit's administrators and members record its
containers and scan the containers it holds; regulators read what lies in their regions;
platform administrators (and system jobs acting as them) may do everything. Reads
("selectors") return querysets already narrowed to the scope. Whether a scan may follow a
status is decided by the table in `tracking/rules.py`, nowhere else.

The audit chain gets one link per container and operation: the container's values (when it
is created) or changed fields, and the scan events the operation wrote, so a scan event
altered later breaks the chain like any other row. `bulk_record` writes those links in bulk
with `_append_to_chain`, which follows `wufei.core.audit.record_raw` exactly.

`Container.stored_at` means "in the current holder's stock since": set by the 五即 storing
step, cleared when the container is handed over and set again when the new holder receives
it; merging and splitting keep the oldest time, so repackaging never restarts the clock.
"""

import datetime as dt
import functools
import json
import logging
import operator
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, models, transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog.models import HAZARD_CHARACTERISTICS, HazardousWaste, TreatmentMethod
from wufei.core import audit, inputs, parameters
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.locks import lock_rows
from wufei.core.parsing import FieldSpec, clean, text
from wufei.core.parsing import choice as parse_choice
from wufei.core.parsing import decimal as parse_decimal
from wufei.core.parsing import tonnes as parse_tonnes
from wufei.core.scope import Scope
from wufei.registry.models import Organization, Site, organization_q
from wufei.registry.services import check_receiver_permit, ensure_usable, get_organization, set_recorded_generation
from wufei.tracking import codes, rules, signals, weights
from wufei.tracking.models import (
    Container,
    ContainerOrigin,
    ContainerStatus,
    Packaging,
    PhysicalForm,
    ScanEvent,
    ScanKind,
)

STORAGE_SITE_KINDS = (Site.Kind.STORAGE, Site.Kind.COLLECTION_POINT)
SELF_SITE_KINDS = {
    ScanKind.SELF_UTILIZED: (Site.Kind.SELF_UTILIZATION,),
    ScanKind.SELF_DISPOSED: (Site.Kind.SELF_DISPOSAL,),
}
# method codes a scan needs, by the catalog's kind (R*/C2/C3 utilization; D*/C1/Y* disposal)
METHOD_KINDS = {
    ScanKind.UTILIZED: TreatmentMethod.Kind.UTILIZATION,
    ScanKind.SELF_UTILIZED: TreatmentMethod.Kind.UTILIZATION,
    ScanKind.DISPOSED: TreatmentMethod.Kind.DISPOSAL,
    ScanKind.SELF_DISPOSED: TreatmentMethod.Kind.DISPOSAL,
}
CUSTODY_ROLES = ("transporter", "collector", "receiver")
FIVE_STEP_KINDS = tuple(kind for kind, _attname in rules.FIVE_STEPS)
STEP_TIMESTAMPS = dict(rules.FIVE_STEPS)
MAX_CONTAINERS_PER_BATCH = 1000
MAX_CONTAINERS_PER_CALL = 100_000
CLOCK_SKEW = dt.timedelta(minutes=10)
TONNE = Decimal("0.000001")
LITRES = parse_decimal(minimum=Decimal(0), places=1, max_digits=10)  # Container.volume_litres

logger = logging.getLogger(__name__)


# --- selectors -------------------------------------------------------------------------------

def containers_for(scope: Scope, *, organization: int | None = None, holder: int | None = None,
                   waste: str | None = None, status: str | list[str] | None = None, stored_before=None,
                   updated_after=None, site: int | None = None, storage_site: int | None = None,
                   in_stock: bool | None = None, q: str | None = None, region: str | None = None,
                   holder_region: str | None = None, year: int | None = None, stream: str | None = None,
                   origin: str | None = None):
    """Containers the caller may see, filtered; `waste` is a code (900-041-49) or a category (HW49).

    region / holder_region: the generator's / the current holder's region lies in that region's subtree (a
    six-digit code); year: produced in that calendar year (Asia/Shanghai); stream: 'medical' (codes ending
    in -01, HW01) or 'hazardous' (every other code), as the cockpit's `stream_case`; origin: produced /
    merged / split. Raises ValidationFailed naming the field for a value it cannot read.
    """
    from wufei.catalog.models import Region

    containers = Container.objects.visible_to(scope).select_related(
        "organization", "holder__region", "storage_site", "site", "waste")
    for field, code, party in (("region", region, "organization"), ("holder_region", holder_region, "holder")):
        if not code:
            continue
        code = str(code).strip()
        if not (code.isdigit() and len(code) == 6):
            raise ValidationFailed(_("not a region code"), errors=[{"field": field, "message": code}])
        path = Region.objects.filter(code=code).values_list("path", flat=True).first() or f"/{code}/"
        containers = containers.filter(**{f"{party}__region__path__startswith": path})
    if year is not None:
        if not 2000 <= year <= 2100:
            raise ValidationFailed(_("year out of range"), errors=[{"field": "year", "message": str(year)}])
        tz = timezone.get_default_timezone()
        containers = containers.filter(produced_at__gte=dt.datetime(year, 1, 1, tzinfo=tz),
                                       produced_at__lt=dt.datetime(year + 1, 1, 1, tzinfo=tz))
    if stream:
        if stream not in ("hazardous", "medical"):
            raise ValidationFailed(_("unknown stream"), errors=[{"field": "stream", "message": stream}])
        medical = Q(waste__code__endswith="-01")
        containers = containers.filter(medical if stream == "medical" else ~medical)
    if origin:
        if origin not in ContainerOrigin.values:
            raise ValidationFailed(_("unknown origin"), errors=[{"field": "origin", "message": origin}])
        containers = containers.filter(origin=origin)
    if organization:
        containers = containers.filter(organization_id=organization)
    if holder:
        containers = containers.filter(holder_id=holder)
    if waste:
        waste = waste.strip().upper()
        containers = containers.filter(waste__category_id=waste) if waste.startswith("HW") else \
            containers.filter(waste_id=waste)
    if status:
        statuses = [s.strip() for s in status.split(",")] if isinstance(status, str) else list(status)
        unknown = [s for s in statuses if s not in ContainerStatus.values]
        if unknown:
            raise ValidationFailed(_("unknown status"), errors=[{"field": "status", "message": ", ".join(unknown)}])
        containers = containers.filter(status__in=statuses)
    if stored_before:
        if isinstance(stored_before, dt.date) and not isinstance(stored_before, dt.datetime):
            stored_before = timezone.make_aware(dt.datetime.combine(stored_before, dt.time.min))
        containers = containers.filter(stored_at__lt=stored_before)
    if updated_after:
        containers = containers.filter(updated_at__gt=updated_after)
    if site:
        containers = containers.filter(site_id=site)
    if storage_site:
        containers = containers.filter(storage_site_id=storage_site)
    if in_stock is not None:
        containers = containers.filter(status__in=rules.IN_STOCK) if in_stock else \
            containers.exclude(status__in=rules.IN_STOCK)
    if q:
        containers = containers.filter(code__startswith=codes.normalize(q))
    return containers


def get_container(scope: Scope, code: str) -> Container:
    """The container if the caller may see it; NotFound otherwise (invisible looks like unknown)."""
    container = Container.objects.visible_to(scope).select_related(
        "organization", "holder__region", "storage_site", "site", "waste", "parent", "split_from",
    ).filter(code=codes.normalize(code)).first()
    if container is None:
        raise NotFound(_("container not found"), code="container_not_found")
    return container


def events_of(container: Container):
    return container.events.select_related("organization", "actor", "site", "related_container",
                                           "to_organization").order_by(
        "occurred_at", "id")


def can_scan(scope: Scope, container: Container) -> bool:
    """Scans are recorded by the current holder's administrators and members (and platform administrators)."""
    return scope.is_platform_admin or container.holder_id in scope.writable_organization_ids


def allowed_scans(scope: Scope, container: Container) -> list[str]:
    """The next scans (rules.next_scans) this caller may record, for the scan page's buttons."""
    if not can_scan(scope, container):
        return []
    return [kind for kind in rules.next_scans(container.status) if kind not in (ScanKind.MERGED, ScanKind.SPLIT)]


def recording_organizations(scope: Scope, *, limit: int = 500) -> list[Organization]:
    """Units the caller may record containers for: active generators and collectors it writes for."""
    organizations = Organization.objects.filter(status=Organization.Status.ACTIVE).filter(
        Q(is_generator=True) | Q(is_collector=True)).select_related("region").order_by("name", "pk")
    if not scope.is_platform_admin:
        organizations = organizations.filter(pk__in=scope.writable_organization_ids)
    return list(organizations[:limit])


def custody_receiver_id(uscc_or_id: str) -> int:
    """The id of the unit a handover names by USCC (as printed on its licence) or by id."""
    value = (uscc_or_id or "").strip().upper()
    organization = Organization.objects.filter(uscc=value).values_list("pk", flat=True).first()
    if organization is None and value.isdigit() and len(value) < 18:
        organization = Organization.objects.filter(pk=int(value)).values_list("pk", flat=True).first()
    if organization is None:
        message = _("no organization with USCC %(u)s") % {"u": value}
        raise ValidationFailed(message, errors=[{"field": "to_organization", "message": message}])
    return organization


def verify_code(code: str) -> dict:
    """What anyone may learn from a code: that it is genuine, its waste code and name, its generator.

    No scope: this is the public verification behind the QR code; it never shows weights or history.
    """
    try:
        parsed = codes.parse_code(code)
    except ValidationFailed:
        return {"code": codes.normalize(code), "genuine": False, "parsed": None}
    row = Container.objects.filter(code=parsed.code).values(
        "waste_id", "waste_name", "organization__name", "waste__description").first()
    if row is None:
        return {"code": parsed.code, "genuine": False, "parsed": parsed}
    return {"code": parsed.code, "genuine": True, "parsed": parsed, "waste_code": row["waste_id"],
            "waste_name": row["waste_name"], "waste_description": row["waste__description"],
            "generator_name": row["organization__name"]}


# --- storage age and limits ----------------------------------------------------------------------

@dataclass(frozen=True)
class StorageLimits:
    """Storage limits in force for a region: general hazardous waste and medical waste (HW01)."""

    limit: dt.timedelta
    warning: dt.timedelta
    medical_limit: dt.timedelta
    medical_warning: dt.timedelta

    def for_waste(self, waste_code: str) -> tuple[dt.timedelta, dt.timedelta]:
        return (self.medical_limit, self.medical_warning) if waste_code.endswith("-01") else (self.limit, self.warning)


def storage_limits(region) -> StorageLimits:
    """storage.max_days (Law Art. 81) and storage.warning_days; storage.medical_max_hours (医疗废物管理条例
    Art. 17) and storage.medical_warning_hours — each in force for the region."""
    def value(key):
        return float(Decimal(str(parameters.get(key, region))))

    return StorageLimits(limit=dt.timedelta(days=value("storage.max_days")),
                         warning=dt.timedelta(days=value("storage.warning_days")),
                         medical_limit=dt.timedelta(hours=value("storage.medical_max_hours")),
                         medical_warning=dt.timedelta(hours=value("storage.medical_warning_hours")))


class _LimitsCache(dict):
    def of(self, region) -> StorageLimits:
        key = region.code if region is not None else ""
        if key not in self:
            self[key] = storage_limits(region)
        return self[key]


def storage_since(container: Container):
    """When the container entered its holder's stock (None once it has left every stock)."""
    if container.status not in rules.IN_STOCK:
        return None
    return container.stored_at or container.produced_at


def storage_age(container: Container, now: dt.datetime | None = None) -> dt.timedelta | None:
    since = storage_since(container)
    return None if since is None else (now or timezone.now()) - since


def _state(age: dt.timedelta | None, limit: dt.timedelta, warning: dt.timedelta) -> str:
    if age is None:
        return ""
    if age > limit:
        return "over_limit"
    if age > limit - warning:
        return "near_limit"
    return "ok"


def storage_state(container: Container, now: dt.datetime | None = None, *, limits: StorageLimits | None = None
                  ) -> str:
    """'ok', 'near_limit' or 'over_limit' for a container in stock ('' when it is not), per its holder's region."""
    limits = limits or storage_limits(container.holder.region)
    return _state(storage_age(container, now), *limits.for_waste(container.waste_id))


def annotate_storage(containers, now: dt.datetime | None = None) -> list[Container]:
    """Set `storage_age` (timedelta), `storage_age_days` and `storage_state` on each container (for lists)."""
    now = now or timezone.now()
    cache = _LimitsCache()
    result = list(containers)
    for container in result:
        container.storage_age = storage_age(container, now)
        container.storage_age_days = _days(container.storage_age)
        limits = cache.of(container.holder.region)
        container.storage_state = _state(container.storage_age, *limits.for_waste(container.waste_id))
        container.storage_limit = limits.for_waste(container.waste_id)[0]
    return result


def _days(age: dt.timedelta | None) -> Decimal | None:
    if age is None:
        return None
    return (Decimal(age.total_seconds()) / Decimal(86400)).quantize(Decimal("0.01"))


def inventory(scope: Scope, organization_id: int | None = None, site_id: int | None = None,
              now: dt.datetime | None = None) -> dict:
    """Stock per holder, storage facility and waste code: tonnes, count, oldest storage age and its state.

    In stock = the statuses of rules.IN_STOCK, counted for the holder (an enterprise sees its
    own stock, a regulator the stock held in its regions).
    """
    now = now or timezone.now()
    if organization_id is not None:
        get_organization(scope, organization_id)
    containers = Container.objects.filter(status__in=rules.IN_STOCK).filter(organization_q(scope, "holder__"))
    if organization_id is not None:
        containers = containers.filter(holder_id=organization_id)
    if site_id is not None:
        containers = containers.filter(storage_site_id=site_id)
    rows = list(containers.values(
        "holder_id", "holder__name", "holder__region_id", "storage_site_id", "storage_site__name",
        "storage_site__code", "storage_site__storage_capacity_tonnes", "waste_id", "waste__description",
    ).annotate(tonnes=Sum("net_weight_tonnes"), count=Count("id"), unweighed=Count("id") - Count("net_weight_tonnes"),
               oldest=Min(Coalesce("stored_at", "produced_at"))).order_by(
        "holder__name", "holder_id", "storage_site__code", "waste_id"))
    regions = {}
    cache = _LimitsCache()
    from wufei.catalog.models import Region

    for region in Region.objects.filter(pk__in={row["holder__region_id"] for row in rows}):
        regions[region.code] = region
    result = []
    totals = {"tonnes": Decimal(0).quantize(TONNE), "count": 0, "near_limit": 0, "over_limit": 0}
    for row in rows:
        limits = cache.of(regions.get(row["holder__region_id"]))
        limit, warning = limits.for_waste(row["waste_id"])
        age = now - row["oldest"] if row["oldest"] else None
        state = _state(age, limit, warning)
        tonnes = Decimal(row["tonnes"] or 0).quantize(TONNE)  # the same scale on SQLite and PostgreSQL
        result.append({
            "holder_id": row["holder_id"], "holder_name": row["holder__name"],
            "storage_site_id": row["storage_site_id"], "storage_site_name": row["storage_site__name"] or "",
            "storage_site_code": row["storage_site__code"] or "",
            "storage_capacity_tonnes": row["storage_site__storage_capacity_tonnes"],
            "waste_code": row["waste_id"], "waste_description": row["waste__description"],
            "tonnes": tonnes, "count": row["count"], "unweighed": row["unweighed"],
            "oldest_since": row["oldest"], "oldest_age_days": _days(age), "limit_days": _days(limit),
            "state": state, "is_medical": row["waste_id"].endswith("-01"),
        })
        totals["tonnes"] += tonnes
        totals["count"] += row["count"]
        if state in ("near_limit", "over_limit"):
            totals[state] += 1
    return {"rows": result, "totals": totals, "as_of": now}


# --- trace -------------------------------------------------------------------------------------

def trace(scope: Scope, code: str) -> dict:
    """The whole chain known so far: the container, its events, where it came from and went, who held it.

    Lineage follows merges and splits both ways, recursively; related containers the caller
    may not see are left out (their existence is not revealed).
    """
    container = get_container(scope, code)
    visible = Container.objects.visible_to(scope)
    seen = {container.pk}

    def node(c: Container, relation: str) -> dict:
        return {"code": c.code, "relation": relation, "status": c.status, "origin": c.origin,
                "waste_code": c.waste_id, "net_weight_tonnes": c.net_weight_tonnes, "holder_name": c.holder.name}

    def sources(c: Container) -> list[dict]:
        result = []
        parents = list(visible.filter(parent=c).select_related("holder").order_by("id"))
        relations = [(p, "merged_from") for p in parents]
        if c.split_from_id:
            relations += [(p, "split_from") for p in visible.filter(pk=c.split_from_id).select_related("holder")]
        for other, relation in relations:
            if other.pk in seen:
                continue
            seen.add(other.pk)
            result.append({**node(other, relation), "sources": sources(other)})
        return result

    def successors(c: Container) -> list[dict]:
        result = []
        relations = [(child, "split_into") for child in visible.filter(split_from=c).select_related("holder")
                     .order_by("id")]
        if c.parent_id:
            relations += [(p, "merged_into") for p in visible.filter(pk=c.parent_id).select_related("holder")]
        for other, relation in relations:
            if other.pk in seen:
                continue
            seen.add(other.pk)
            result.append({**node(other, relation), "successors": successors(other)})
        return result

    events = list(events_of(container))
    related = {e.related_container_id for e in events if e.related_container_id}
    shown = set(visible.filter(pk__in=related).values_list("pk", flat=True)) if related else set()
    for event in events:  # a package made of it that the caller may not see is not named either
        if event.related_container_id and event.related_container_id not in shown:
            event.related_container_id, event.related_container = None, None
    return {"container": container, "events": events, "sources": sources(container),
            "successors": successors(container), "custody": custody_of(container, events)}


def custody_of(container: Container, events: list[ScanEvent] | None = None) -> list[dict]:
    """Who held the container and when: one period per holder, from the events.

    Only a handover moves custody; the handover names its recipient (to_organization).
    """
    events = list(events_of(container)) if events is None else events
    if not events:
        return [{"organization_id": container.holder_id, "organization_name": container.holder.name,
                 "since": container.produced_at, "until": None}]
    periods = [{"organization_id": events[0].organization_id, "organization_name": events[0].organization.name,
                "since": events[0].occurred_at, "until": None}]
    for index, event in enumerate(events):
        if event.kind != ScanKind.HANDED_OVER:
            continue
        later = events[index + 1] if index + 1 < len(events) else None
        if event.to_organization_id:
            receiver = (event.to_organization_id, event.to_organization.name)
        elif later:  # events recorded before handovers named their recipient
            receiver = (later.organization_id, later.organization.name)
        else:
            receiver = (container.holder_id, container.holder.name)
        periods[-1]["until"] = event.occurred_at
        periods.append({"organization_id": receiver[0], "organization_name": receiver[1],
                        "since": event.occurred_at, "until": None})
    return periods


# --- validation helpers --------------------------------------------------------------------------

def _aware(value, field: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(_("%(value)s is not a date and time (YYYY-MM-DDTHH:MM)") % {"value": value}) from exc
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12))
    if not isinstance(value, dt.datetime):
        raise ValueError(_("%(value)s is not a date and time (YYYY-MM-DDTHH:MM)") % {"value": value})
    if value.date() < inputs.EARLIEST_DATE:  # and a container code's date segment keeps its 8 digits
        raise ValueError(_("must be on or after %(day)s") % {"day": inputs.EARLIEST_DATE.isoformat()})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(dt.UTC)


def _when(value, *, now: dt.datetime, field: str = "occurred_at") -> dt.datetime:
    if value is None:
        return now
    try:
        moment = _aware(value, field)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": field, "message": str(exc)}]) from exc
    if moment > now + CLOCK_SKEW:
        message = _("is in the future")
        raise ValidationFailed(_("%(field)s is in the future") % {"field": field},
                               errors=[{"field": field, "message": message}])
    return moment


def _tonnes(value, field: str, *, required: bool = False) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(_("%(field)s is required") % {"field": field},
                                   errors=[{"field": field, "message": _("is required")}])
        return None
    try:
        return parse_tonnes(minimum=TONNE)(value)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": field, "message": str(exc)}]) from exc


def _label(model, attname: str) -> str:
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return str(field.verbose_name)
    return attname


def _status_label(status: str) -> str:
    return str(ContainerStatus(status).label)


def _scan_labels(kinds) -> str:
    return ", ".join(str(ScanKind(kind).label) for kind in kinds) or _("none")


def _parse_hazards(value) -> str:
    parts = value if isinstance(value, list | tuple) else str(value).replace("/", ",").split(",")
    by_lower = {key.lower(): key for key in HAZARD_CHARACTERISTICS}
    result = []
    for part in parts:
        part = str(part).strip()
        if not part:
            continue
        key = by_lower.get(part.lower())
        if key is None:
            raise ValueError(_("%(value)s is not a hazard characteristic (%(options)s)")
                             % {"value": part, "options": ", ".join(HAZARD_CHARACTERISTICS)})
        if key not in result:
            result.append(key)
    return ",".join(result)


def _parse_steps(value) -> tuple[str, ...]:
    parts = list(value) if isinstance(value, list | tuple) else str(value).replace(";", ",").split(",")
    steps = tuple(str(p).strip() for p in parts if str(p).strip())
    unknown = [s for s in steps if s not in FIVE_STEP_KINDS]
    if unknown:
        raise ValueError(_("%(value)s is not one of: %(options)s") % {"value": ", ".join(unknown),
                                                                       "options": ", ".join(FIVE_STEP_KINDS)})
    if not steps or steps[0] != ScanKind.PRODUCED:
        raise ValueError(_("the steps start with 'produced'"))
    status = ContainerStatus.PRODUCED
    for step in steps[1:]:
        transition = rules.TRANSITIONS[step]
        if status not in transition.allowed_from:
            raise ValueError(_("'%(step)s' cannot follow '%(status)s'") % {"step": step, "status": status})
        status = transition.to_status
    return steps


def _parse_count(value) -> int:
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise ValueError(_("%(value)s is not a whole number") % {"value": value}) from exc
    if not 1 <= number <= MAX_CONTAINERS_PER_BATCH:
        raise ValueError(_("must be between 1 and %(n)d") % {"n": MAX_CONTAINERS_PER_BATCH})
    return number


def _parse_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(_("%(value)s is not an id") % {"value": value}) from exc


def _parse_moment(value):
    return _aware(value, "produced_at")


BATCH_SPEC = {
    "waste_code": FieldSpec(str, required=True),
    "waste_name": FieldSpec(text(200)),
    "physical_form": FieldSpec(parse_choice(dict(PhysicalForm.choices)), required=True),
    "packaging": FieldSpec(parse_choice(dict(Packaging.choices)), required=True),
    "net_weight_tonnes": FieldSpec(parse_tonnes(minimum=TONNE)),
    "volume_litres": FieldSpec(LITRES),
    "site_id": FieldSpec(_parse_id),
    "storage_site_id": FieldSpec(_parse_id),
    "storage_location": FieldSpec(text(100)),
    "main_components": FieldSpec(text(200)),
    "produced_at": FieldSpec(_parse_moment),
    "steps": FieldSpec(_parse_steps),
    "count": FieldSpec(_parse_count),
    "hazards": FieldSpec(_parse_hazards),
    "note": FieldSpec(text(300)),
}


@dataclass
class _Batch:
    waste: HazardousWaste
    values: dict
    steps: tuple[str, ...]
    count: int
    produced_at: dt.datetime
    site: Site | None
    storage_site: Site | None


class _Context:
    """What validating many batches of one unit needs once: its sites, the catalog, the time."""

    def __init__(self, organization: Organization, now: dt.datetime):
        self.organization = organization
        self.now = now
        self.sites = {site.pk: site for site in organization.sites.all()}
        self._wastes: dict[str, HazardousWaste] | None = None

    def waste(self, code: str) -> HazardousWaste | None:
        if self._wastes is None:
            self._wastes = {w.code: w for w in HazardousWaste.objects.all()}
        return self._wastes.get(code.strip())


def _validate_batch(context: _Context, data: dict, prefix: str = "") -> tuple[_Batch | None, list[dict]]:
    unknown = sorted(set(data) - set(BATCH_SPEC))
    values, errors = clean(BATCH_SPEC, data)
    errors += [{"field": name, "message": _("unknown field")} for name in unknown]
    waste = None
    if values.get("waste_code"):
        waste = context.waste(values["waste_code"])
        if waste is None:
            errors.append({"field": "waste_code", "message": _("%(code)s is not a code of the national hazardous "
                                                               "waste list") % {"code": values["waste_code"]}})
    steps = values.get("steps") or FIVE_STEP_KINDS
    weight = values.get("net_weight_tonnes")
    step_errors = any(e["field"] in ("steps", "net_weight_tonnes") for e in errors)
    if step_errors:
        pass
    elif weight is not None and ScanKind.WEIGHED not in steps:
        errors.append({"field": "net_weight_tonnes",
                       "message": _("a weight is recorded by the weighing step: add 'weighed' to the steps")})
    if weight is None and ScanKind.WEIGHED in steps:
        errors.append({"field": "net_weight_tonnes", "message": _("is required for the weighing step")})
    known = {"net_weight_tonnes"} if weight is not None else set()
    for step in () if step_errors else steps:
        transition = rules.TRANSITIONS.get(step)
        for requirement in transition.requires if transition else ():
            if requirement not in known:
                errors.append({"field": "steps", "message": _("'%(step)s' needs %(what)s first")
                               % {"step": step, "what": _label(Container, requirement)}})
        known.add(STEP_TIMESTAMPS[step])
        if step == ScanKind.WEIGHED:
            known.add("net_weight_tonnes")  # a missing weight is reported once, above
    site = storage_site = None
    if values.get("site_id") is not None:
        site = context.sites.get(values["site_id"])
        if site is None:
            errors.append({"field": "site_id", "message": _("is not a site of %(unit)s")
                           % {"unit": context.organization.name}})
        elif not site.is_active:
            errors.append({"field": "site_id", "message": _("the site is not in use")})
    if values.get("storage_site_id") is not None:
        storage_site = context.sites.get(values["storage_site_id"])
        if storage_site is None:
            errors.append({"field": "storage_site_id", "message": _("is not a site of %(unit)s")
                           % {"unit": context.organization.name}})
        elif storage_site.kind not in STORAGE_SITE_KINDS:
            errors.append({"field": "storage_site_id", "message": _("%(site)s is not a storage facility")
                           % {"site": storage_site.name}})
        elif not storage_site.is_active:
            errors.append({"field": "storage_site_id", "message": _("the site is not in use")})
    produced_at = values.get("produced_at") or context.now
    if produced_at > context.now + CLOCK_SKEW:
        errors.append({"field": "produced_at", "message": _("is in the future")})
    if errors:
        return None, [{**e, "field": f"{prefix}{e['field']}"} for e in errors]
    if not values.get("hazards"):
        values["hazards"] = waste.hazards
    if not values.get("waste_name"):
        values["waste_name"] = waste.description[:200]
    return _Batch(waste=waste, values=values, steps=tuple(steps), count=values.get("count") or 1,
                  produced_at=produced_at, site=site, storage_site=storage_site), []


def _recording_organization(scope: Scope, organization_id: int) -> Organization:
    """The unit a batch is recorded for: its own writers only (regulators read), active, generator or collector."""
    organization = get_organization(scope, organization_id)
    if not (scope.is_platform_admin or organization.pk in scope.writable_organization_ids):
        raise PermissionDenied(_("only %(unit)s's administrators and members can record its containers")
                               % {"unit": organization.name})
    ensure_usable(organization)
    if not (organization.is_generator or organization.is_collector):
        raise RuleViolation(_("%(name)s is registered neither as a generator nor as a collector")
                            % {"name": organization.name}, code="role_missing")
    return organization


# --- writing containers, events and their audit links ----------------------------------------------

_JSON = DjangoJSONEncoder()
_CONTAINER_FIELDS = [f.attname for f in Container._meta.concrete_fields if f.attname not in ("created_at",
                                                                                             "updated_at")]
_EVENT_FIELDS = ("id", "kind", "occurred_at", "actor_id", "organization_id", "site_id", "weight_tonnes",
                 "expected_weight_tonnes", "discrepancy", "method", "related_container_id", "reference",
                 "longitude", "latitude", "note")


def _json_value(value):
    """Same result as wufei.core.audit's snapshot for the types these rows hold, without a JSON round trip."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return str(value)  # a TextChoices member becomes its plain value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value, value.utcoffset())  # equal instants in other zones print differently
    if isinstance(value, dt.date):
        return _JSON.default(value)
    return audit.plain(value)


@functools.lru_cache(maxsize=8192)
def _decimal_text(value: Decimal) -> str:
    return audit.plain(value)  # 0.2 and 0.200000 are equal and print the same, so sharing a cache entry is right


@functools.lru_cache(maxsize=8192)
def _datetime_text(value: dt.datetime, _offset) -> str:
    return _JSON.default(value)


def _values(container) -> dict:
    """The container's audited values (as wufei.core.audit.snapshot gives them), from an instance or a row dict."""
    get = container.get if isinstance(container, dict) else functools.partial(getattr, container)
    return {name: _json_value(get(name)) for name in _CONTAINER_FIELDS}


def _event_values(event) -> dict:
    """A scan event's content for its audit link (empty fields left out), from an instance or a row dict."""
    get = event.get if isinstance(event, dict) else functools.partial(getattr, event)
    result = {}
    for name in _EVENT_FIELDS:
        value = get(name)
        if value not in (None, "", False) or name in ("id", "kind"):
            result[name] = _json_value(value)
    return result


class _Table:
    """Multi-row INSERTs (COPY on PostgreSQL) with ids reserved up front: bulk_create minus its per-value overhead.

    Values go through the backend's own adapters (datetimes, decimals, JSON), so the rows are
    exactly what the ORM would have written. Ids come from the table's sequence (PostgreSQL)
    or after the largest id ever used (SQLite, under its write lock: IMMEDIATE transactions).
    """

    def __init__(self, model):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.defaults = {f.attname: f.get_default() for f in self.fields if not f.primary_key}

    def reserve_ids(self, count: int) -> list[int]:
        from django.db import connection

        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                               [table, count])
                return sorted(row[0] for row in cursor.fetchall())
            if connection.vendor != "sqlite":
                raise ImproperlyConfigured(f"bulk inserts support SQLite and PostgreSQL, not {connection.vendor}")
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")
            start = max(row[0] if row else 0, cursor.fetchone()[0] or 0) + 1
        return list(range(start, start + count))

    def _adapters(self, connection):
        ops = connection.ops
        adapters = []
        for field in self.fields:
            kind = field.get_internal_type()
            if kind == "DateTimeField":
                adapters.append(ops.adapt_datetimefield_value)
            elif kind == "DecimalField":
                adapters.append(functools.partial(_adapt_decimal, ops, field.max_digits, field.decimal_places))
            elif kind == "JSONField":
                adapters.append(functools.partial(_adapt_json, ops, field.encoder))
            elif kind == "DateField":
                adapters.append(ops.adapt_datefield_value)
            else:
                adapters.append(None)
        return adapters

    def insert(self, rows: list[dict], *, batch_size: int = 2000) -> None:
        from django.db import connection

        if not rows:
            return
        getter = operator.itemgetter(*self.attnames)
        adapt_at = [(index, _memoized(adapt)) for index, adapt in enumerate(self._adapters(connection)) if adapt]
        width = len(self.fields)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        placeholders = "(" + ", ".join(["%s"] * width) + ")"
        per_statement = max(1, min(batch_size, _max_params(connection) // width))
        table = quote(self.model._meta.db_table)

        def adapted(row):
            values = list(getter(row))
            for index, adapt in adapt_at:
                if values[index] is not None:
                    values[index] = adapt(values[index])
            return values

        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # COPY: several times faster than INSERT … VALUES
                with connection.wrap_database_errors, \
                        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(adapted(row))
                return
            for start in range(0, len(rows), per_statement):
                chunk = rows[start:start + per_statement]
                params = []
                for row in chunk:
                    params += adapted(row)
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(chunk))}",
                               params)


def _memoized(adapt):
    """Rows of one insert repeat the same times and weights: adapt each distinct value once."""
    cache = {}

    def adapted(value):
        try:
            return cache[value]
        except KeyError:
            result = cache[value] = adapt(value)
            return result
        except TypeError:  # unhashable (JSON payloads)
            return adapt(value)

    return adapted


def _adapt_decimal(ops, max_digits, decimal_places, value):
    return None if value is None else ops.adapt_decimalfield_value(value, max_digits, decimal_places)


class _JSONText(str):
    """JSON already serialized (an audit payload): stored as it is, not serialized again."""


def _adapt_json(ops, encoder, value):
    return value if isinstance(value, _JSONText) else ops.adapt_json_value(value, encoder)


_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _link_hash(previous: str, *, created_at, entity_type, entity_id, action, actor_id, actor_label,
               payload_json: str) -> str:
    """audit.compute_hash (keyed) with the payload serialized once (it is also the stored text).

    audit.canonical sorts keys and uses compact separators; the content's keys in sorted order are
    action, actor_id, actor_label, created_at, entity_id, entity_type, payload. The chain is
    verified with audit.compute_hash itself (tests/tracking/test_bulk.py), so any drift shows.
    """
    content = (f'{{"action":{_dumps(action)},"actor_id":{_dumps(actor_id)},"actor_label":{_dumps(actor_label)},'
               f'"created_at":{_dumps(created_at.isoformat(timespec="microseconds"))},'
               f'"entity_id":{_dumps(str(entity_id))},"entity_type":{_dumps(entity_type)},"payload":{payload_json}}}')
    return audit.link_hash(previous, content)


def _max_params(connection) -> int:
    if connection.vendor == "sqlite":
        import sqlite3

        try:
            return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except (AttributeError, sqlite3.Error):
            return 999
    return 65535  # PostgreSQL's wire protocol limit


_TABLES: dict = {}


def _table(model) -> _Table:
    if model not in _TABLES:
        _TABLES[model] = _Table(model)
    return _TABLES[model]


def _append_to_chain(entries: list[tuple[str, str, str, dict]]) -> None:
    """Append (entity_type, entity_id, action, payload) links in order, as audit.record_raw does one at a time.

    Under the AuditChainHead row lock: each link's hash covers the previous one (same
    canonical content and SHA-256 as record_raw); the rows are inserted in chain order with
    increasing ids, and the head moves to the last one.
    """
    from wufei.core.models import AuditChainHead, AuditEvent

    if not entries:
        return
    actor_id, actor_label = audit.actor_fields()
    table = _table(AuditEvent)
    with transaction.atomic():
        head, _created = lock_rows(AuditChainHead.objects).get_or_create(pk=1)
        ids = table.reserve_ids(len(entries))
        previous = head.last_hash
        rows = []
        for pk, (entity_type, entity_id, action, payload) in zip(ids, entries, strict=True):
            created_at = timezone.now()
            payload_json = _JSONText(audit.canonical(payload))
            digest = _link_hash(previous, created_at=created_at, entity_type=entity_type, entity_id=entity_id,
                                action=action, actor_id=actor_id, actor_label=actor_label, payload_json=payload_json)
            rows.append({"id": pk, "created_at": created_at, "entity_type": entity_type,
                         "entity_id": str(entity_id), "action": action, "actor_id": actor_id,
                         "actor_label": actor_label, "payload": payload_json, "prev_hash": previous, "hash": digest})
            previous = digest
        table.insert(rows)
        head.last_event_id = ids[-1]
        head.last_hash = previous
        head.length += len(rows)
        head.save()


def _insert(containers: list[Container], events: list[list[ScanEvent]], *, action: str) -> None:
    """Insert new containers (instances: merge and split) and their events; one audit link per container."""
    Container.objects.bulk_create(containers)
    flat = []
    for container, own in zip(containers, events, strict=True):
        for event in own:
            event.container_id = container.pk
            flat.append(event)
    ScanEvent.objects.bulk_create(flat)
    signals.announce(flat)
    entity_type = audit.entity_type_of(Container)
    _append_to_chain([(entity_type, str(container.pk), action,
                       {"values": _values(container), "events": [_event_values(e) for e in own]})
                      for container, own in zip(containers, events, strict=True)])
    for container in containers:
        container._state.adding = False
        container._audit_snapshot = _values(container)


def _save(container: Container, events: list[ScanEvent], *, action: str) -> None:
    """Save a changed container and its new events; one audit link with the changes and the events.

    Mirrors AuditedModel.save (version + 1, changed fields in the payload) and puts the scan
    events into the same link.
    """
    before = getattr(container, "_audit_snapshot", {})
    container.version += 1
    models.Model.save(container)
    for event in events:
        event.container = container
    ScanEvent.objects.bulk_create(events)
    signals.announce(events)
    after = _values(container)
    _append_to_chain([(audit.entity_type_of(container), str(container.pk), action,
                       {"changes": audit.diff(before, after), "events": [_event_values(e) for e in events]})])
    container._audit_snapshot = after


def _actor_id(scope: Scope) -> int | None:
    return scope.user_id


# --- recording batches (五即) ------------------------------------------------------------------------

class RecordedContainer(NamedTuple):
    """What bulk_record gives back per container (in the order of the batches)."""

    pk: int
    code: str


def _rows(organization: Organization, batch: _Batch, codes_: list[str], ids: list[int], event_ids, *, actor_id,
          now: dt.datetime) -> tuple[list[dict], list[list[dict]], list[dict]]:
    values = batch.values
    status = rules.TRANSITIONS[batch.steps[-1]].to_status if len(batch.steps) > 1 else ContainerStatus.PRODUCED
    weight = values.get("net_weight_tonnes")
    base = {
        **_table(Container).defaults,
        "organization_id": organization.pk, "holder_id": organization.pk,
        "site_id": batch.site.pk if batch.site else None,
        "storage_site_id": batch.storage_site.pk if batch.storage_site else None,
        "storage_location": values.get("storage_location") or "", "waste_id": batch.waste.code,
        "waste_name": values["waste_name"], "physical_form": values["physical_form"], "hazards": values["hazards"],
        "main_components": values.get("main_components") or "", "packaging": values["packaging"],
        "volume_litres": values.get("volume_litres"), "net_weight_tonnes": weight, "status": str(status),
        "origin": str(ContainerOrigin.PRODUCED), "note": values.get("note") or "", "version": 1,
        "created_at": now, "updated_at": now,
        **{STEP_TIMESTAMPS[step]: batch.produced_at for step in batch.steps},
    }
    event_base = {**_table(ScanEvent).defaults, "occurred_at": batch.produced_at, "recorded_at": now,
                  "actor_id": actor_id, "organization_id": organization.pk, "weight_tonnes": weight}
    steps = [{**event_base, "kind": str(step),
              "site_id": base["storage_site_id"] if step == ScanKind.STORED else base["site_id"]}
             for step in batch.steps]
    # the audit payloads of a batch differ only in ids and codes: work them out once
    values = _values({**base, "id": 0, "code": ""})
    step_values = [_event_values({**step, "id": 0}) for step in steps]
    containers, events, links = [], [], []
    for pk, code in zip(ids, codes_, strict=True):
        containers.append({**base, "id": pk, "code": code})
        own = [{**step, "id": next(event_ids), "container_id": pk} for step in steps]
        events.append(own)
        links.append({"values": {**values, "id": pk, "code": code},
                      "events": [{**template, "id": event["id"]} for template, event in zip(step_values, own,
                                                                                              strict=True)]})
    return containers, events, links


def _record(organization: Organization, batches: list[_Batch], *, scope: Scope) -> list[RecordedContainer]:
    """Reserve the codes and ids, insert the rows, write one audit link per container; all or nothing."""
    total = sum(b.count for b in batches)
    if total > MAX_CONTAINERS_PER_CALL:
        raise ValidationFailed(_("at most %(n)d containers per call") % {"n": MAX_CONTAINERS_PER_CALL},
                               errors=[{"field": "batches", "message": _("too many containers")}])
    digits = codes.sequence_digits(organization.region)
    needs: dict[tuple[str, dt.date], int] = {}
    days = []
    for batch in batches:
        day = timezone.localtime(batch.produced_at).date()
        days.append(day)
        key = (batch.waste.code, day)
        needs[key] = needs.get(key, 0) + batch.count
    now = timezone.now()
    actor_id = _actor_id(scope)
    with transaction.atomic():
        first = codes.reserve_sequences(organization=organization, needs=needs, digits=digits)
        container_ids = iter(_table(Container).reserve_ids(total))
        event_ids = iter(_table(ScanEvent).reserve_ids(sum(b.count * len(b.steps) for b in batches)))
        containers, events, links = [], [], []
        for batch, day in zip(batches, days, strict=True):
            key = (batch.waste.code, day)
            start = first[key]
            first[key] = start + batch.count
            batch_codes = [codes.build_code(uscc=organization.uscc, waste_code=batch.waste.code, day=day,
                                            sequence=n, digits=digits) for n in range(start, start + batch.count)]
            ids = [next(container_ids) for _n in range(batch.count)]
            rows, row_events, row_links = _rows(organization, batch, batch_codes, ids, event_ids,
                                                actor_id=actor_id, now=now)
            containers += rows
            events += row_events
            links += row_links
        _table(Container).insert(containers)
        written = [event for own in events for event in own]
        _table(ScanEvent).insert(written)
        signals.announce(written)
        entity_type = audit.entity_type_of(Container)
        _append_to_chain([(entity_type, str(row["id"]), "recorded", link)
                          for row, link in zip(containers, links, strict=True)])
    return [RecordedContainer(row["id"], row["code"]) for row in containers]


def record_batch(*, scope: Scope, organization_id: int, waste_code: str, waste_name: str, physical_form: str,
                 packaging: str, net_weight_tonnes=None, volume_litres=None, site_id: int | None = None,
                 storage_site_id: int | None = None, storage_location: str = "", main_components: str = "",
                 produced_at=None, steps=FIVE_STEP_KINDS, count: int = 1, hazards=None, note: str = ""
                 ) -> list[Container]:
    """Record `count` containers of one waste as produced: 五即 in one go, or only the first steps.

    Each container gets its own code; hazards default to the catalog's; each step is a scan
    event carrying the container's net weight. Storing needs the weight and the code
    (rules.TRANSITIONS); a weight needs the weighing step.
    """
    organization = _recording_organization(scope, organization_id)
    data = {"waste_code": waste_code, "waste_name": waste_name, "physical_form": physical_form,
            "packaging": packaging, "net_weight_tonnes": net_weight_tonnes, "volume_litres": volume_litres,
            "site_id": site_id, "storage_site_id": storage_site_id, "storage_location": storage_location,
            "main_components": main_components, "produced_at": produced_at, "steps": steps, "count": count,
            "hazards": hazards, "note": note}
    batch, errors = _validate_batch(_Context(organization, timezone.now()), data)
    if errors:
        raise ValidationFailed(_("the batch is not valid"), errors=errors)
    recorded = _record(organization, [batch], scope=scope)
    _refresh_after_recording(organization.pk)
    by_id = Container.objects.select_related("organization", "holder__region", "site", "storage_site", "waste") \
        .in_bulk([r.pk for r in recorded])
    return [by_id[r.pk] for r in recorded]


def bulk_record(*, scope: Scope, organization_id: int, batches: list[dict]) -> list[RecordedContainer]:
    """Record many batches of one unit at once (weighing stations, integrations): all or none.

    Each batch is a dict with record_batch's fields; errors name the batch ('batches.3.waste_code').
    Sequence numbers and ids are reserved in one go, rows are inserted in bulk, and the audit
    chain gets one link per container. Returns (pk, code) per container, in batch order.
    """
    organization = _recording_organization(scope, organization_id)
    if not batches:
        raise ValidationFailed(_("no batches"), errors=[{"field": "batches", "message": _("is required")}])
    context = _Context(organization, timezone.now())
    parsed, errors = [], []
    for index, data in enumerate(batches):
        batch, batch_errors = _validate_batch(context, data, prefix=f"batches.{index}.")
        parsed.append(batch)
        errors += batch_errors
    if errors:
        raise ValidationFailed(_("%(n)d of %(total)d batches are not valid")
                               % {"n": len({e["field"].split(".")[1] for e in errors}), "total": len(batches)},
                               errors=errors)
    recorded = _record(organization, parsed, scope=scope)
    _refresh_after_recording(organization.pk)
    return recorded


def refresh_recorded_generation(organization_ids=None, *, today: dt.date | None = None) -> dict[str, int]:
    """Count what the units generated (weights.recorded_generation) and hand it to the registry's class.

    Called for the recording unit after each batch (one grouped query for it) and for every unit
    by `wufei supervision refresh`, daily (the running twelve months move with the calendar).
    Call it outside the transaction that wrote the events where there is one, as here: it locks
    the units' rows before counting, and a class change appends to the audit chain.
    """
    today = today or timezone.localdate()
    return set_recorded_generation(measure=lambda ids: weights.recorded_generation(ids, today=today), as_of=today,
                                   organization_ids=organization_ids)


def _refresh_after_recording(organization_id: int) -> None:
    """Refresh one unit's recorded quantities once its containers are saved; a lock conflict does not undo them.

    The containers are committed by then (or, inside a caller's transaction, kept by the savepoint
    set_recorded_generation rolls back to): a deadlock or lock timeout with a concurrent change of the
    unit is logged, and the next batch or the daily `wufei supervision refresh` counts them.
    """
    try:
        refresh_recorded_generation([organization_id])
    except OperationalError:
        logger.warning("recorded generation of organization %s not refreshed", organization_id, exc_info=True)


# --- scans ---------------------------------------------------------------------------------------

def _locked(scope: Scope, code: str, *, version: int | None = None) -> Container:
    container = get_container(scope, code)
    if not can_scan(scope, container):
        raise PermissionDenied(_("only the current holder (%(holder)s) can record scans of container %(code)s")
                               % {"holder": container.holder.name, "code": container.code})
    container = lock_rows(Container.objects).select_related("holder__region", "organization", "waste").get(
        pk=container.pk)
    if version is not None and version != container.version:
        raise Conflict(_("container %(code)s was changed by someone else (version %(now)s, you sent %(sent)s); "
                         "reload it") % {"code": container.code, "now": container.version, "sent": version},
                       code="stale_version")
    return container


def _check_transition(container: Container, kind: str) -> rules.Transition:
    transition = rules.TRANSITIONS.get(kind)
    if transition is None:
        raise ValidationFailed(_("%(kind)s is not a scan") % {"kind": kind},
                               errors=[{"field": "kind", "message": _("is not one of: %(options)s")
                                        % {"options": ", ".join(rules.TRANSITIONS)}}])
    if container.status not in transition.allowed_from:
        raise RuleViolation(
            _("container %(code)s is %(status)s: '%(scan)s' is not allowed now; allowed scans: %(allowed)s")
            % {"code": container.code, "status": _status_label(container.status),
               "scan": ScanKind(kind).label, "allowed": _scan_labels(rules.next_scans(container.status))},
            code="scan_not_allowed")
    return transition


def _check_requirements(container: Container, kind: str, transition: rules.Transition) -> None:
    missing = [name for name in transition.requires if getattr(container, name) in (None, "")]
    if missing:
        raise RuleViolation(_("'%(scan)s' needs %(what)s first (container %(code)s)")
                            % {"scan": ScanKind(kind).label, "what": ", ".join(_label(Container, m) for m in missing),
                               "code": container.code}, code="scan_requirement_missing")


def _site_of(organization: Organization, site_id, *, kinds=None, field: str = "site_id") -> Site | None:
    if site_id is None:
        return None
    site = Site.objects.filter(pk=site_id, organization=organization).first()
    message = None
    if site is None:
        message = _("is not a site of %(unit)s") % {"unit": organization.name}
    elif kinds and site.kind not in kinds:
        message = _("%(site)s is not a %(kind)s") % {"site": site.name, "kind": Site.Kind(kinds[0]).label}
    elif not site.is_active:
        message = _("the site is not in use")
    if message:
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return site


def _last_event_time(container: Container):
    return container.events.aggregate(last=models.Max("occurred_at"))["last"]


def _check_order(container: Container, moment: dt.datetime) -> None:
    last = _last_event_time(container)
    if last is not None and moment < last:
        message = _("is before the container's last recorded event (%(last)s)") % {
            "last": timezone.localtime(last).strftime("%Y-%m-%d %H:%M")}
        raise ValidationFailed(message, errors=[{"field": "occurred_at", "message": message}])


def _tolerance_flag(container: Container, weight: Decimal) -> tuple[Decimal | None, bool]:
    """(recorded weight, discrepancy) for a new weight, against the holder region's tolerance."""
    expected = container.net_weight_tonnes
    if expected is None:
        return None, False
    tolerance = parameters.get_decimal("tracking.reweigh_tolerance_percent", container.holder.region)
    if expected == 0:
        return expected, weight != 0
    return expected, abs(weight - expected) * 100 / expected > tolerance


def _scan(*, scope: Scope, code: str, kind: str, occurred_at=None, weight_tonnes=None, site_id=None,
          storage_location: str | None = None, to_organization_id=None, method_code: str = "",
          reference: str = "", note: str = "", longitude=None, latitude=None, version=None
          ) -> tuple[Container, ScanEvent]:
    if kind in (ScanKind.MERGED, ScanKind.SPLIT):
        raise ValidationFailed(_("use merge or split for '%(scan)s'") % {"scan": kind},
                               errors=[{"field": "kind", "message": _("use merge or split")}])
    now = timezone.now()
    moment = _when(occurred_at, now=now)
    weight = _tonnes(weight_tonnes, "weight_tonnes", required=kind in (ScanKind.WEIGHED, ScanKind.REWEIGHED))
    text_values, errors = clean({"reference": FieldSpec(text(40)), "note": FieldSpec(text(300)),
                                 "storage_location": FieldSpec(text(100)),
                                 "longitude": FieldSpec(parse_decimal(minimum=Decimal(-180), maximum=Decimal(180))),
                                 "latitude": FieldSpec(parse_decimal(minimum=Decimal(-90), maximum=Decimal(90)))},
                                {"reference": reference, "note": note, "storage_location": storage_location,
                                 "longitude": longitude, "latitude": latitude})
    if errors:
        raise ValidationFailed(_("the scan is not valid"), errors=errors)
    container = _locked(scope, code, version=version)
    transition = _check_transition(container, kind)
    _check_order(container, moment)
    holder = container.holder
    event = ScanEvent(kind=kind, occurred_at=moment, actor_id=_actor_id(scope), organization=holder,
                      reference=text_values["reference"], note=text_values["note"],
                      longitude=text_values["longitude"], latitude=text_values["latitude"])
    # weights: the weighing step sets the net weight; any other scan with a weight is a re-weigh
    if kind == ScanKind.WEIGHED:
        container.net_weight_tonnes = weight
    elif weight is not None:
        event.expected_weight_tonnes, event.discrepancy = _tolerance_flag(container, weight)
        if event.expected_weight_tonnes is None:
            raise RuleViolation(_("container %(code)s has no recorded weight to compare with: record the weighing "
                                  "step") % {"code": container.code}, code="no_recorded_weight")
        container.net_weight_tonnes = weight
    # where
    site_kinds = None
    if kind in (ScanKind.STORED, ScanKind.MOVED):
        site_kinds = STORAGE_SITE_KINDS
    elif kind in SELF_SITE_KINDS:
        site_kinds = SELF_SITE_KINDS[kind]
    site = _site_of(holder, site_id, kinds=site_kinds)
    event.site = site
    # what the scan needs
    if transition.needs_method:
        event.method = _method(kind, method_code)
        if kind in (ScanKind.UTILIZED, ScanKind.DISPOSED):
            check_receiver_permit(holder, container.waste_id, method_code=event.method, on=timezone.localdate(moment))
        elif container.holder_id != container.organization_id:
            raise RuleViolation(_("only the generator itself can self-utilize or self-dispose of its waste; "
                                  "%(holder)s holds container %(code)s") % {"holder": holder.name,
                                                                            "code": container.code},
                                code="not_the_generator")
    elif method_code:
        raise ValidationFailed(_("a method code is only recorded for utilization or disposal"),
                               errors=[{"field": "method_code", "message": _("not used by this scan")}])
    if transition.holder_change:
        receiver = _custody_receiver(container, to_organization_id)
    elif to_organization_id is not None:
        raise ValidationFailed(_("only a handover names the organization taking the container"),
                               errors=[{"field": "to_organization_id", "message": _("not used by this scan")}])
    _check_requirements(container, kind, transition)
    # apply
    if kind in STEP_TIMESTAMPS and kind != ScanKind.STORED:
        setattr(container, STEP_TIMESTAMPS[kind], moment)
    if kind in (ScanKind.STORED, ScanKind.RECEIVED):
        container.stored_at = container.stored_at or moment
    if kind in (ScanKind.STORED, ScanKind.MOVED, ScanKind.RECEIVED) and site is not None and \
            site.kind in STORAGE_SITE_KINDS:
        container.storage_site = site
    if kind in (ScanKind.STORED, ScanKind.MOVED, ScanKind.RECEIVED) and text_values["storage_location"]:
        container.storage_location = text_values["storage_location"]
    if transition.holder_change:
        event.to_organization = receiver
        container.holder = receiver
        container.storage_site = None
        container.storage_location = ""
        container.stored_at = None
    if transition.to_status:
        container.status = transition.to_status
    event.weight_tonnes = container.net_weight_tonnes
    _save(container, [event], action=str(kind))
    return container, event


def _method(kind: str, method_code: str) -> str:
    code = (method_code or "").strip().upper()
    expected = METHOD_KINDS[kind]
    if not code:
        message = _("a %(kind)s method code is required") % {"kind": TreatmentMethod.Kind(expected).label}
        raise ValidationFailed(message, errors=[{"field": "method_code", "message": message}])
    method = TreatmentMethod.objects.filter(code=code).first()
    if method is None or method.kind != expected:
        message = _("%(code)s is not a %(kind)s method code") % {"code": code,
                                                                 "kind": TreatmentMethod.Kind(expected).label}
        raise ValidationFailed(message, errors=[{"field": "method_code", "message": message}])
    return method.code


def _custody_receiver(container: Container, to_organization_id) -> Organization:
    if to_organization_id is None:
        message = _("a handover names the organization taking the container")
        raise ValidationFailed(message, errors=[{"field": "to_organization_id", "message": _("is required")}])
    receiver = Organization.objects.select_related("region").filter(pk=to_organization_id).first()
    if receiver is None:
        raise ValidationFailed(_("organization not found"),
                               errors=[{"field": "to_organization_id", "message": _("organization not found")}])
    if receiver.pk == container.holder_id:
        raise ValidationFailed(_("the container is already held by %(unit)s") % {"unit": receiver.name},
                               errors=[{"field": "to_organization_id", "message": _("is the current holder")}])
    ensure_usable(receiver)
    returning = receiver.pk == getattr(container, "organization_id", None)  # a refused load back to its generator
    if not returning and not any(getattr(receiver, Organization.ROLE_FIELDS[role]) for role in CUSTODY_ROLES):
        raise RuleViolation(_("%(name)s is not registered as a transporter, collector or receiver and cannot take "
                              "hazardous waste (固废法 第80条)") % {"name": receiver.name}, code="role_missing")
    return receiver


def advance(*, scope: Scope, code: str, step: str, occurred_at=None, net_weight_tonnes=None,
            storage_site_id: int | None = None, storage_location: str = "", site_id: int | None = None,
            note: str = "", version: int | None = None) -> Container:
    """Record one of the remaining 五即 steps (packed, weighed, coded, stored) of a container.

    Weighing a container recorded without a weight gives its generation a weight: the generator's
    recorded quantities are counted again once the step is saved.
    """
    with transaction.atomic():
        container = _advance(scope=scope, code=code, step=step, occurred_at=occurred_at,
                             net_weight_tonnes=net_weight_tonnes, storage_site_id=storage_site_id,
                             storage_location=storage_location, site_id=site_id, note=note, version=version)
    _after_weighing(container, step)
    return container


def _after_weighing(container: Container, kind: str) -> None:
    """Count the generator's recorded quantities again when a container it produced gets its weight.

    After the scan's transaction (see refresh_recorded_generation); other scans change no generation.
    """
    if kind == ScanKind.WEIGHED and container.origin == ContainerOrigin.PRODUCED:
        _refresh_after_recording(container.organization_id)


def _advance(*, scope: Scope, code: str, step: str, occurred_at, net_weight_tonnes, storage_site_id, storage_location,
             site_id, note, version) -> Container:
    if step not in FIVE_STEP_KINDS[1:]:
        raise ValidationFailed(_("%(step)s is not one of the remaining steps") % {"step": step},
                               errors=[{"field": "step", "message": _("is not one of: %(options)s")
                                        % {"options": ", ".join(FIVE_STEP_KINDS[1:])}}])
    if step != ScanKind.WEIGHED and net_weight_tonnes is not None:
        raise ValidationFailed(_("a weight is recorded by the weighing step"),
                               errors=[{"field": "net_weight_tonnes", "message": _("not used by this step")}])
    container, _event = _scan(scope=scope, code=code, kind=step, occurred_at=occurred_at,
                              weight_tonnes=net_weight_tonnes,
                              site_id=storage_site_id if step == ScanKind.STORED else site_id,
                              storage_location=storage_location, note=note, version=version)
    return container


def scan(*, scope: Scope, code: str, kind: str, occurred_at=None, weight_tonnes=None, site_id: int | None = None,
         to_organization_id: int | None = None, method_code: str = "", reference: str = "", note: str = "",
         longitude=None, latitude=None, storage_location: str = "", version: int | None = None) -> ScanEvent:
    """Record a later touch (stored, moved, loaded, handed over, received, utilized / disposed …).

    The scan must be allowed from the container's status by rules.TRANSITIONS; a weight on any
    scan is compared with the recorded one as a re-weigh.
    """
    with transaction.atomic():
        container, event = _scan(scope=scope, code=code, kind=kind, occurred_at=occurred_at,
                                 weight_tonnes=weight_tonnes, site_id=site_id, to_organization_id=to_organization_id,
                                 method_code=method_code, reference=reference, note=note, longitude=longitude,
                                 latitude=latitude, storage_location=storage_location, version=version)
    _after_weighing(container, kind)
    return event


@transaction.atomic
def reweigh(*, scope: Scope, code: str, weight_tonnes, occurred_at=None, site_id: int | None = None,
            reference: str = "", note: str = "", longitude=None, latitude=None, version: int | None = None
            ) -> ScanEvent:
    """Weigh again: the event keeps the recorded weight; beyond the region's tolerance it is flagged.

    The container's net weight becomes the new weight.
    """
    _container, event = _scan(scope=scope, code=code, kind=ScanKind.REWEIGHED, occurred_at=occurred_at,
                              weight_tonnes=weight_tonnes, site_id=site_id, reference=reference, note=note,
                              longitude=longitude, latitude=latitude, version=version)
    return event


# --- merge and split ---------------------------------------------------------------------------------

def _repackaged_status(inputs: list[Container], storage_site: Site | None) -> str:
    statuses = {c.status for c in inputs}
    if storage_site is not None or statuses == {ContainerStatus.STORED}:
        return ContainerStatus.STORED
    if statuses == {ContainerStatus.RECEIVED}:
        return ContainerStatus.RECEIVED
    return ContainerStatus.CODED


def _new_codes(organization: Organization, waste_code: str, day: dt.date, count: int) -> list[str]:
    digits = codes.sequence_digits(organization.region)
    first = codes.reserve_sequences(organization=organization, needs={(waste_code, day): count}, digits=digits)
    start = first[(waste_code, day)]
    return [codes.build_code(uscc=organization.uscc, waste_code=waste_code, day=day, sequence=n, digits=digits)
            for n in range(start, start + count)]


def _repackaging_events(container: Container, moment, *, actor_id, note: str) -> list[ScanEvent]:
    kinds = [ScanKind.PACKED, ScanKind.WEIGHED, ScanKind.CODED]
    if container.status == ContainerStatus.STORED:
        kinds.append(ScanKind.STORED)
    return [ScanEvent(kind=kind, occurred_at=moment, actor_id=actor_id, organization=container.holder,
                      site=container.storage_site if kind == ScanKind.STORED else None,
                      weight_tonnes=container.net_weight_tonnes, note=note if kind == ScanKind.PACKED else "")
            for kind in kinds]


def _storage_choice(holder: Organization, storage_site_id, inputs: list[Container]) -> Site | None:
    if storage_site_id is not None:
        return _site_of(holder, storage_site_id, kinds=STORAGE_SITE_KINDS, field="storage_site_id")
    sites = {c.storage_site_id for c in inputs}
    if len(sites) == 1 and None not in sites and all(c.status == ContainerStatus.STORED for c in inputs):
        return inputs[0].storage_site
    return None


def _oldest(values):
    values = [v for v in values if v is not None]
    return min(values) if values else None


@transaction.atomic
def merge(*, scope: Scope, codes: list[str], packaging: str, storage_site_id: int | None = None,
          storage_location: str = "", volume_litres=None, occurred_at=None, note: str = "") -> Container:
    """Put several containers of one waste into a new, larger package (origin 'merged').

    All inputs share one holder, waste code, hazards and form (GB 18597-2023 §4.3: 分类贮存,
    no mixing); the new container weighs their sum and keeps the oldest storage time. Each input
    becomes 'merged' with `parent` = the new container and a MERGED event pointing to it.
    """
    from wufei.tracking import codes as code_module

    distinct = sorted({code_module.normalize(c) for c in codes or []})  # one locking order: no deadlock
    if len(distinct) < 2:
        raise ValidationFailed(_("a merge needs at least two containers"),
                               errors=[{"field": "codes", "message": _("at least two different codes")}])
    now = timezone.now()
    moment = _when(occurred_at, now=now)
    try:
        packaging = parse_choice(dict(Packaging.choices))(packaging)
        volume = LITRES(volume_litres) if volume_litres not in (None, "") else None
    except ValueError as exc:
        field = "volume_litres" if volume_litres not in (None, "") and "packaging" not in str(exc) else "packaging"
        raise ValidationFailed(str(exc), errors=[{"field": field, "message": str(exc)}]) from exc
    inputs = [_locked(scope, code) for code in distinct]
    holder = inputs[0].holder
    for field, label in (("holder_id", _("holder")), ("waste_id", _("waste code")), ("hazards", _("hazards")),
                         ("physical_form", _("physical form"))):
        values = {getattr(c, field) for c in inputs}
        if len(values) > 1:
            raise RuleViolation(_("containers of different %(what)s cannot be merged (GB 18597-2023 §4.3: "
                                  "store by kind, never mix): %(values)s")
                                % {"what": label, "values": ", ".join(sorted(map(str, values)))},
                                code="merge_mixed")
    for container in inputs:
        _check_transition(container, ScanKind.MERGED)
        _check_order(container, moment)
        if container.net_weight_tonnes is None:
            raise RuleViolation(_("container %(code)s has no recorded weight") % {"code": container.code},
                                code="no_recorded_weight")
    storage_site = _storage_choice(holder, storage_site_id, inputs)
    generators = {c.organization_id for c in inputs}
    organization = inputs[0].organization if len(generators) == 1 else holder
    first = inputs[0]
    day = timezone.localtime(moment).date()
    merged = Container(
        code=_new_codes(organization, first.waste_id, day, 1)[0], organization=organization, holder=holder,
        site=first.site if len({c.site_id for c in inputs}) == 1 else None, storage_site=storage_site,
        storage_location=(storage_location or "").strip()[:100], waste_id=first.waste_id,
        waste_name=first.waste_name if len({c.waste_name for c in inputs}) == 1 else first.waste.description[:200],
        physical_form=first.physical_form, hazards=first.hazards,
        main_components=first.main_components if len({c.main_components for c in inputs}) == 1 else "",
        packaging=packaging, volume_litres=volume,
        net_weight_tonnes=sum((c.net_weight_tonnes for c in inputs), Decimal(0)),
        produced_at=min(c.produced_at for c in inputs), packed_at=moment, weighed_at=moment, coded_at=moment,
        stored_at=_oldest(storage_since(c) for c in inputs), status=_repackaged_status(inputs, storage_site),
        origin=ContainerOrigin.MERGED, note=(note or "").strip()[:300],
    )
    actor_id = _actor_id(scope)
    _insert([merged], [_repackaging_events(merged, moment, actor_id=actor_id,
                                           note=_("merged from %(n)d containers") % {"n": len(inputs)})],
            action="merged")
    for container in inputs:
        event = ScanEvent(kind=ScanKind.MERGED, occurred_at=moment, actor_id=actor_id, organization=holder,
                          weight_tonnes=container.net_weight_tonnes, related_container=merged)
        container.status = ContainerStatus.MERGED
        container.parent = merged
        _save(container, [event], action=str(ScanKind.MERGED))
    return merged


@transaction.atomic
def split(*, scope: Scope, code: str, weights: list, packaging: str | None = None, occurred_at=None,
          storage_site_id: int | None = None, note: str = "", version: int | None = None) -> list[Container]:
    """Divide a container into packages whose weights add up exactly to its net weight (origin 'split')."""
    if not weights or len(weights) < 2:
        raise ValidationFailed(_("a split needs at least two weights"),
                               errors=[{"field": "weights", "message": _("at least two weights")}])
    parsed = []
    for index, weight in enumerate(weights):
        parsed.append(_tonnes(weight, f"weights.{index}", required=True))
    if packaging is not None and packaging != "":
        try:
            packaging = parse_choice(dict(Packaging.choices))(packaging)
        except ValueError as exc:
            raise ValidationFailed(str(exc), errors=[{"field": "packaging", "message": str(exc)}]) from exc
    moment = _when(occurred_at, now=timezone.now())
    parent = _locked(scope, code, version=version)
    _check_transition(parent, ScanKind.SPLIT)
    _check_order(parent, moment)
    if parent.net_weight_tonnes is None:
        raise RuleViolation(_("container %(code)s has no recorded weight") % {"code": parent.code},
                            code="no_recorded_weight")
    total = sum(parsed, Decimal(0))
    if total != parent.net_weight_tonnes:
        message = _("the weights add up to %(total)s t, the container holds %(weight)s t") % {
            "total": audit.plain(total), "weight": audit.plain(parent.net_weight_tonnes)}
        raise RuleViolation(message, code="split_weights_mismatch", errors=[{"field": "weights", "message": message}])
    holder = parent.holder
    storage_site = _storage_choice(holder, storage_site_id, [parent])
    day = timezone.localtime(moment).date()
    new_codes = _new_codes(parent.organization, parent.waste_id, day, len(parsed))
    children = []
    status = _repackaged_status([parent], storage_site)
    for new_code, weight in zip(new_codes, parsed, strict=True):
        children.append(Container(
            code=new_code, organization=parent.organization, holder=holder, site=parent.site,
            storage_site=storage_site, storage_location=parent.storage_location if storage_site == parent.storage_site
            else "", waste_id=parent.waste_id, waste_name=parent.waste_name, physical_form=parent.physical_form,
            hazards=parent.hazards, main_components=parent.main_components, packaging=packaging or parent.packaging,
            net_weight_tonnes=weight, produced_at=parent.produced_at, packed_at=moment, weighed_at=moment,
            coded_at=moment, stored_at=storage_since(parent), status=status, origin=ContainerOrigin.SPLIT,
            split_from=parent, note=(note or "").strip()[:300],
        ))
    actor_id = _actor_id(scope)
    split_note = _("split from %(code)s") % {"code": parent.code}
    _insert(children, [_repackaging_events(child, moment, actor_id=actor_id, note=split_note) for child in children],
            action="split")
    event = ScanEvent(kind=ScanKind.SPLIT, occurred_at=moment, actor_id=actor_id, organization=holder,
                      weight_tonnes=parent.net_weight_tonnes, note=(note or "").strip()[:300])
    parent.status = ContainerStatus.SPLIT
    _save(parent, [event], action=str(ScanKind.SPLIT))
    return children


def organization_summary(scope: Scope, organization: Organization, *, latest: int = 10) -> dict:
    """The containers section of the organization page: stock per facility and code, latest containers."""
    stock = inventory(scope, organization_id=organization.pk)
    containers = annotate_storage(containers_for(scope, organization=organization.pk).order_by("-produced_at",
                                                                                                "-id")[:latest])
    held = containers_for(scope, holder=organization.pk, in_stock=True)
    return {"inventory": stock, "latest": containers, "in_stock_count": held.count(),
            "produced_count": containers_for(scope, organization=organization.pk).count()}
