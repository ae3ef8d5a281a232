"""Containers and their events, one history each (the per-container lines of the HJ 1259 tables, and the mass
balance's reading of the stock): weights and custody derived from the events as the ledger defines them
(compute.py)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    CharField,
    F,
)
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from wufei.core.errors import ValidationFailed
from wufei.core.scope import Scope
from wufei.ledgers.compute import (
    NO_STATUS_CHANGE,
    PACKAGE_CREATION,
    REPACKAGED,
    REPACKAGING,
    SIX,
    STOCK_STATES,
    STORAGE_EXITS,
    ZERO,
    check_year,
    is_transit_hop,
    month_starts,
)
from wufei.ledgers.selectors import organization_for
from wufei.registry.models import Organization, Site
from wufei.tracking.life import TRANSITIONS
from wufei.tracking.models import Container, ContainerOrigin, ScanEvent
from wufei.tracking.models import ContainerStatus as S
from wufei.tracking.models import ScanKind as K

# --- per-container histories (container ledger, mass balance) -----------------------------------

@dataclass(slots=True)
class Event:
    id: int
    container_id: int
    kind: str
    occurred_at: dt.datetime
    organization_id: int
    organization_name: str
    weight: Decimal | None
    expected_weight: Decimal | None
    discrepancy: bool
    method: str
    reference: str
    site_code: str
    handler: str
    note: str
    related_container_id: int | None
    # derived
    weight_at: Decimal | None = None
    previous_weight: Decimal | None = None
    previous_status_kind: str | None = None
    custodian_before: int | None = None


@dataclass(slots=True)
class ContainerRow:
    """What the ledger needs of a container (read with values(): model instances snapshot themselves for
    the audit chain when loaded, which costs more than everything else here)."""

    pk: int
    code: str
    organization_id: int
    organization_name: str
    holder_id: int
    waste_id: str
    category: str
    waste_name: str
    packaging: str
    net_weight_tonnes: Decimal | None
    produced_at: dt.datetime
    status: str
    origin: str
    parent_id: int | None
    split_from_id: int | None
    site_code: str
    storage_site_code: str
    storage_location: str


CONTAINER_COLUMNS = {
    "pk": "pk", "code": "code", "organization_id": "organization_id", "organization_name": "organization__name",
    "holder_id": "holder_id", "waste_id": "waste_id", "category": "waste__category_id", "waste_name": "waste_name",
    "packaging": "packaging", "net_weight_tonnes": "net_weight_tonnes", "produced_at": "produced_at",
    "status": "status", "origin": "origin", "parent_id": "parent_id", "split_from_id": "split_from_id",
    "site_code": "site__code", "storage_site_code": "storage_site__code", "storage_location": "storage_location",
}


@dataclass
class History:
    """One container and its events in (occurred_at, id) order, with weights and custody derived.

    Custody ("custodian") is reconstructed from the events: the generator from 'produced',
    nobody while handed over (in transit), the receiver from 'received'; a merged / split
    package belongs to whoever recorded its creation (its first event, when that is a
    merged / split event) or, without one, to the organization of its first event or its holder.
    """

    container: ContainerRow
    events: list[Event] = field(default_factory=list)

    @property
    def repackaged(self) -> bool:
        return self.container.origin != ContainerOrigin.PRODUCED

    @property
    def created_by_event(self) -> bool:
        return self.repackaged and bool(self.events) and self.events[0].kind in REPACKAGING

    def is_creation(self, event: Event) -> bool:
        """The first event of a merged / split package is its creation, not an exit."""
        return event.kind in REPACKAGING and self.created_by_event and self.events[0] is event

    @property
    def created_at(self) -> dt.datetime:
        """When the container came to be: a package's first event (its produced_at is its oldest input's)."""
        if self.repackaged and self.events:
            return self.events[0].occurred_at
        return self.container.produced_at

    @property
    def never_weighed(self) -> bool:
        return self.container.net_weight_tonnes is None and all(e.weight is None for e in self.events)

    @property
    def first_weight(self) -> Decimal | None:
        return next((e.weight for e in self.events if e.weight is not None), self.container.net_weight_tonnes)

    def _initial(self, moment: dt.datetime | None = None) -> tuple[str | None, int | None]:
        if self.repackaged and not self.created_by_event and (moment is None or self.created_at < moment):
            owner = self.events[0].organization_id if self.events else self.container.holder_id
            return REPACKAGED, owner
        return None, None

    def _step(self, status, custodian, event: Event):
        kind = event.kind
        if kind == K.PRODUCED:
            return S.PRODUCED, self.container.organization_id
        if self.is_creation(event):
            return REPACKAGED, event.organization_id
        if kind in NO_STATUS_CHANGE:
            return status, custodian
        if kind == K.HANDED_OVER:
            return S.HANDED_OVER, None
        if kind == K.RECEIVED:
            return S.RECEIVED, event.organization_id
        transition = TRANSITIONS.get(kind)
        next_status = transition.to_status if transition and transition.to_status else status
        return next_status, custodian if custodian is not None else event.organization_id

    def derive(self) -> None:
        """Set each event's weight_at, previous_weight, previous_status_kind and custodian_before."""
        first_weight = self.first_weight
        last_weight = None
        last_status_kind = None
        status, custodian = self._initial()
        for event in self.events:
            event.previous_weight = last_weight
            event.weight_at = event.weight if event.weight is not None else (
                last_weight if last_weight is not None else first_weight)
            event.previous_status_kind = last_status_kind
            event.custodian_before = custodian
            if event.weight is not None:
                last_weight = event.weight
            if event.kind not in NO_STATUS_CHANGE:
                last_status_kind = event.kind
            status, custodian = self._step(status, custodian, event)

    def state_at(self, moment: dt.datetime | None) -> tuple[str | None, int | None]:
        """(status, custodian) from the events before `moment` (None: all events)."""
        status, custodian = self._initial(moment)
        for event in self.events:
            if moment is not None and event.occurred_at >= moment:
                break
            status, custodian = self._step(status, custodian, event)
        return status, custodian

    def weight_before(self, moment: dt.datetime | None) -> Decimal | None:
        """The weight recorded last before `moment` (else the first weight, else the net weight)."""
        weight = None
        for event in self.events:
            if moment is not None and event.occurred_at >= moment:
                break
            if event.weight is not None:
                weight = event.weight
        return weight if weight is not None else self.first_weight

    def in_stock_of(self, organization_id: int, moment: dt.datetime | None) -> bool:
        status, custodian = self.state_at(moment)
        return custodian == organization_id and status in STOCK_STATES

    def last_status_event(self) -> Event | None:
        return next((e for e in reversed(self.events) if e.kind not in NO_STATUS_CHANGE), None)

    def expected_status(self) -> str | None:
        """The status the last status-changing event implies (None: no such event, or a package's creation)."""
        event = self.last_status_event()
        if event is None or self.is_creation(event):
            return None
        if self.repackaged and event.occurred_at == self.created_at and event.kind in PACKAGE_CREATION:
            return None  # the steps recorded when a package is made: its status may be any of IN_STOCK
        if event.kind in (K.PRODUCED, K.HANDED_OVER, K.RECEIVED):
            return event.kind
        transition = TRANSITIONS.get(event.kind)
        return transition.to_status if transition else None


def _handler(first: str | None, last: str | None, username: str | None) -> str:
    name = f"{last or ''}{first or ''}".strip()
    return name or (username or "")


def _raw_rows(queryset):
    """The rows of a values_list() queryset without Django's per-value converters (see _when and _tonnes)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(10000):
            yield from rows


def _time_column(name: str):
    """A datetime column as SQLite's text (parsed by _when in C; SQLite's registered converter is a regex
    per value), the column itself elsewhere."""
    return Cast(name, output_field=CharField()) if connection.vendor == "sqlite" else F(name)


def _when(value) -> dt.datetime | None:
    """A stored time as an aware datetime (SQLite gives a naive UTC datetime or text; PostgreSQL an aware one)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _tonnes(value) -> Decimal | None:
    """A stored weight as a Decimal of 6 places (SQLite gives a float or an int; PostgreSQL a Decimal)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(repr(value)).quantize(SIX)


def read_histories(ids) -> dict[int, History]:
    """Containers with every event (by anyone), in (occurred_at, id) order, weights derived.

    Read with plain cursors from the event table alone (names of organizations, sites and
    people are looked up once each): converting and joining 400,000 events through the ORM
    took most of the time.
    """
    ids = sorted(set(ids))
    histories: dict[int, History] = {}
    names = list(CONTAINER_COLUMNS)
    weights: dict = {}

    def tonnes(value):
        if value not in weights:
            weights[value] = _tonnes(value)
        return weights[value]

    raw_events = []
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start:chunk_start + 5000]
        for values in _raw_rows(Container.objects.filter(pk__in=chunk).order_by()
                                .values_list(*CONTAINER_COLUMNS.values())):
            row = ContainerRow(**dict(zip(names, values, strict=True)))
            row.net_weight_tonnes, row.produced_at = tonnes(row.net_weight_tonnes), _when(row.produced_at)
            row.site_code, row.storage_site_code = row.site_code or "", row.storage_site_code or ""
            row.storage_location = row.storage_location or ""
            histories[row.pk] = History(row)
        raw_events.extend(_raw_rows(
            ScanEvent.objects.filter(container_id__in=chunk).order_by("container_id", "occurred_at", "id")
            .annotate(time=_time_column("occurred_at"))
            .values_list("id", "container_id", "kind", "time", "organization_id", "weight_tonnes",
                         "expected_weight_tonnes", "discrepancy", "method", "reference", "site_id", "actor_id",
                         "note", "related_container_id")))
    organizations = dict(Organization.objects.filter(pk__in={row[4] for row in raw_events}).values_list("pk", "name"))
    sites = dict(Site.objects.filter(pk__in={row[10] for row in raw_events if row[10]}).values_list("pk", "code"))
    handlers = {pk: _handler(first, last, username) for pk, first, last, username in get_user_model().objects.filter(
        pk__in={row[11] for row in raw_events if row[11]}).values_list("pk", "first_name", "last_name", "username")}
    for (event_id, container_id, kind, occurred_at, organization_id, weight, expected, discrepancy, method,
         reference, site_id, actor_id, note, related) in raw_events:
        histories[container_id].events.append(Event(
            id=event_id, container_id=container_id, kind=kind, occurred_at=_when(occurred_at),
            organization_id=organization_id, organization_name=organizations.get(organization_id, ""),
            weight=tonnes(weight), expected_weight=tonnes(expected), discrepancy=bool(discrepancy), method=method,
            reference=reference, site_code=sites.get(site_id, ""), handler=handlers.get(actor_id, ""), note=note,
            related_container_id=related))
    for history in histories.values():
        history.derive()
    return histories


def container_ids(queryset) -> set[int]:
    return set(queryset.order_by().values_list("container_id", flat=True).distinct())


# --- the per-container ledger lines (HJ 1259 tables) -------------------------------------------

TABLES = ("generation", "storage_in", "storage_out", "self_processing", "entrusted", "received")
DESTINATIONS = {
    K.STORED: "storage",
    K.LOADED: "transfer",
    K.HANDED_OVER: "transfer",
    K.SELF_UTILIZED: "self_utilization",
    K.SELF_DISPOSED: "self_disposal",
    K.UTILIZED: "utilization",
    K.DISPOSED: "disposal",
    K.MERGED: "repackaging",
    K.SPLIT: "repackaging",
}


def _base_line(history: History, event: Event, quantity: Decimal | None) -> dict:
    container = history.container
    return {
        "batch_code": container.code,
        "time": event.occurred_at,
        "waste_name": container.waste_name,
        "category": container.category,
        "waste_code": container.waste_id,
        "quantity": (quantity if quantity is not None else ZERO).quantize(SIX),
        "unit": "t",
        "container_code": container.code,
        "packaging": container.packaging,
        "container_count": 1,
        "handler": event.handler,
        "event_id": event.id,
    }


def container_ledger(scope: Scope, organization_id: int, year: int, *, month: int | None = None) -> dict:
    """The per-container lines of one organization's year, table by table (optionally one month).

    generation (产生环节): produced events of O's own containers; storage_in (入库) / storage_out
    (出库), self_processing (自行利用/处置, including a receiver's utilized / disposed),
    entrusted (委外利用/处置 = handed_over), received (接收): events recorded by O. Each line's
    quantity is the weight at its event, so each table's total equals the ledger column.
    """
    organization = organization_for(scope, organization_id)
    year = check_year(year)
    if month is not None and not 1 <= month <= 12:
        raise ValidationFailed(_("month out of range"), errors=[{"field": "month", "message": str(month)}])
    starts = month_starts(year)
    start, end = (starts[month - 1], starts[month]) if month else (starts[0], starts[12])
    in_window = {"occurred_at__gte": start, "occurred_at__lt": end}
    ids = container_ids(ScanEvent.objects.filter(organization_id=organization.pk, **in_window))
    ids |= container_ids(ScanEvent.objects.filter(kind=K.PRODUCED, container__organization_id=organization.pk,
                                                  **in_window))
    histories = read_histories(ids)
    tables: dict[str, list[dict]] = {name: [] for name in TABLES}
    for history in sorted(histories.values(), key=lambda h: h.container.code):
        container = history.container
        for index, event in enumerate(history.events):
            if not start <= event.occurred_at < end:
                continue
            if (event.kind == K.PRODUCED and container.organization_id == organization.pk
                    and container.origin == ContainerOrigin.PRODUCED):
                following = next((e for e in history.events[index + 1:]
                                  if e.kind in DESTINATIONS and not history.is_creation(e)), None)
                tables["generation"].append({
                    **_base_line(history, event, event.weight_at),
                    "facility_code": container.site_code or event.site_code,
                    "destination": DESTINATIONS[following.kind] if following else "",
                    "destination_time": following.occurred_at if following else None,
                })
            if event.organization_id != organization.pk:
                continue
            if event.kind == K.STORED:
                source = "own" if container.origin == ContainerOrigin.PRODUCED else "repackaging"
                if any(e.kind == K.RECEIVED and e.organization_id == organization.pk
                       for e in history.events[:index]):
                    source = "received"
                tables["storage_in"].append({
                    **_base_line(history, event, event.weight_at),
                    "facility_code": event.site_code or container.storage_site_code,
                    "location": container.storage_location,
                    "source": source,
                    "generator": container.organization_name,
                })
            if (event.kind in STORAGE_EXITS and event.previous_status_kind == K.STORED
                    and not history.is_creation(event)):
                tables["storage_out"].append({
                    **_base_line(history, event, event.weight_at),
                    "facility_code": event.site_code or container.storage_site_code,
                    "destination": DESTINATIONS[event.kind],
                    "reference": event.reference,
                })
            if event.kind in (K.SELF_UTILIZED, K.UTILIZED, K.SELF_DISPOSED, K.DISPOSED):
                tables["self_processing"].append({
                    **_base_line(history, event, event.weight_at),
                    "mode": "utilization" if event.kind in (K.SELF_UTILIZED, K.UTILIZED) else "disposal",
                    "method": event.method,
                    "facility_code": event.site_code,
                })
            if event.kind == K.HANDED_OVER and not is_transit_hop(event):
                receipt = next((e for e in history.events[index + 1:] if e.kind == K.RECEIVED), None)
                tables["entrusted"].append({
                    **_base_line(history, event, event.weight_at),
                    "manifest": event.reference,
                    "receiver": receipt.organization_name if receipt else "",
                    "received_at": receipt.occurred_at if receipt else None,
                    "received_quantity": receipt.weight_at.quantize(SIX) if receipt and receipt.weight_at is not None
                    else None,
                })
            if event.kind == K.RECEIVED:
                tables["received"].append({
                    **_base_line(history, event, event.weight_at),
                    "generator": container.organization_name,
                    "manifest": event.reference,
                })
    for lines in tables.values():
        lines.sort(key=lambda line: (line["time"], line["event_id"]))
    return {"organization": organization, "year": year, "month": month, "tables": tables}


