"""Reading containers: lists narrowed to the caller's scope, storage age and limits, inventory, trace, custody."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog import streams
from wufei.core import parameters
from wufei.core.errors import NotFound, ValidationFailed
from wufei.core.scope import Scope
from wufei.registry.models import Organization, organization_q
from wufei.registry.services import get_organization
from wufei.tracking import codes, life
from wufei.tracking.models import (
    Container,
    ContainerOrigin,
    ContainerStatus,
    ScanEvent,
    ScanKind,
)
from wufei.tracking.services.common import TONNE


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
        containers = containers.filter(streams.get(stream).q("waste__code"))
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
        containers = containers.filter(status__in=life.IN_STOCK) if in_stock else \
            containers.exclude(status__in=life.IN_STOCK)
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
    """The next scans (life.next_scans) this caller may record, for the scan page's buttons."""
    if not can_scan(scope, container):
        return []
    return [kind for kind in life.next_scans(container.status) if kind not in (ScanKind.MERGED, ScanKind.SPLIT)]


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


@dataclass(frozen=True)
class StorageLimits:
    """Storage limits in force for a region, per waste stream that has one (catalog.streams: hazardous waste in
    days, medical waste in hours): {stream key: (limit, warning window)}."""

    by_stream: dict

    def for_stream(self, key: str) -> tuple[dt.timedelta, dt.timedelta]:
        return self.by_stream.get(key) or self.by_stream[streams.HAZARDOUS]

    def for_waste(self, waste_code: str) -> tuple[dt.timedelta, dt.timedelta]:
        stream = streams.stream_of(waste_code)
        return self.for_stream(stream.key if stream is not None else streams.HAZARDOUS)

    @property
    def limit(self) -> dt.timedelta:
        return self.for_stream(streams.HAZARDOUS)[0]

    @property
    def warning(self) -> dt.timedelta:
        return self.for_stream(streams.HAZARDOUS)[1]

    @property
    def medical_limit(self) -> dt.timedelta:
        return self.for_stream(streams.MEDICAL)[0]

    @property
    def medical_warning(self) -> dt.timedelta:
        return self.for_stream(streams.MEDICAL)[1]


def storage_limits(region) -> StorageLimits:
    """Each stream's storage parameters in force for the region (catalog.streams): storage.max_days (Law
    Art. 81) and storage.warning_days; storage.medical_max_hours (医疗废物管理条例 Art. 17) and
    storage.medical_warning_hours."""
    def value(key):
        return float(Decimal(str(parameters.get(key, region))))

    return StorageLimits(by_stream={
        stream.key: (dt.timedelta(**{stream.storage.unit: value(stream.storage.limit_key)}),
                     dt.timedelta(**{stream.storage.unit: value(stream.storage.warning_key)}))
        for stream in streams.all_streams() if stream.storage is not None})


class _LimitsCache(dict):
    def of(self, region) -> StorageLimits:
        key = region.code if region is not None else ""
        if key not in self:
            self[key] = storage_limits(region)
        return self[key]


def storage_since(container: Container):
    """When the container entered its holder's stock (None once it has left every stock)."""
    if container.status not in life.IN_STOCK:
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

    In stock = the statuses of life.IN_STOCK, counted for the holder (an enterprise sees its
    own stock, a regulator the stock held in its regions).
    """
    now = now or timezone.now()
    if organization_id is not None:
        get_organization(scope, organization_id)
    containers = Container.objects.filter(status__in=life.IN_STOCK).filter(organization_q(scope, "holder__"))
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
            "state": state, "is_medical": streams.is_medical_code(row["waste_id"]),
        })
        totals["tonnes"] += tonnes
        totals["count"] += row["count"]
        if state in ("near_limit", "over_limit"):
            totals[state] += 1
    return {"rows": result, "totals": totals, "as_of": now}


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


def organization_summary(scope: Scope, organization: Organization, *, latest: int = 10) -> dict:
    """The containers section of the organization page: stock per facility and code, latest containers."""
    stock = inventory(scope, organization_id=organization.pk)
    containers = annotate_storage(containers_for(scope, organization=organization.pk).order_by("-produced_at",
                                                                                                "-id")[:latest])
    held = containers_for(scope, holder=organization.pk, in_stock=True)
    return {"inventory": stock, "latest": containers, "in_stock_count": held.count(),
            "produced_count": containers_for(scope, organization=organization.pk).count()}
