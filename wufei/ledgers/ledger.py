"""The hazardous waste ledger (HJ 1259-2022 管理台账), derived from container scan events only.

Nothing in the ledger is typed: every figure is an aggregate of `tracking.ScanEvent` rows
(and the container each event belongs to). `build_ledger` writes the monthly figures to
`LedgerMonth`; `container_ledger` lists the per-container lines HJ 1259 asks for;
`mass_balance` checks the ledger against the stock of containers; `export_ledger_xlsx`
writes both in the HJ 1259 table layout.

Semantics (organization O, waste code W, month M):

* Months and years are calendar months in Asia/Shanghai: an event belongs to month M when
  start(M) <= occurred_at < start(M+1), the boundaries being local midnights
  (2026-01-31 23:30 +08:00 is January; 2026-02-01 00:30 +08:00, i.e. 2026-01-31 16:30 UTC,
  is February).
* The weight of an event e on container c ("weight at e") is, in this order:
  e.weight_tonnes if recorded; else the weight of the latest earlier event of c that
  recorded a weight; else the weight of the earliest later event of c that recorded one (a
  container produced before it was weighed weighs what the 'weighed' event says); else
  c.net_weight_tonnes; else 0 (never weighed: listed by the mass balance). "Earlier" and
  "later" order events by (occurred_at, id). A weight is never taken from another container.
* generated = Σ weight at the 'produced' event of containers with organization=O and
  origin=produced, by the month of that event; containers = how many such containers.
  Containers made by merging or splitting are repackaging, never generation. (The weight at an
  event and the generating events are written once, in `wufei.tracking.weights`, which the
  supervision class reads too.)
* received_in = Σ weight at 'received' events recorded on behalf of O (event.organization).
* transferred_out = Σ weight at 'handed_over' events by O (委外: leaves O's custody), except a carrier's
  hop: a handover whose previous status-changing event is itself a handover (a carrier passing the load
  on to the next carrier or to the receiver under a manifest) moves no stock of anyone's.
* self_utilized / self_disposed = Σ weight at 'self_utilized' / 'self_disposed' events by O: its own waste
  in its own facility (自行利用 / 自行处置);
  utilized / disposed = Σ weight at 'utilized' / 'disposed' events by O: waste O received, utilized or
  disposed of as a licensed operator (the manifests service records them when a manifest is processed). Kept
  apart so that a region's in-house processing of its own waste never counts an operator's work twice.
* stored_in = Σ weight at 'stored' events by O (入库).
  stored_out = Σ weight at events by O that take a container out of storage (出库): loaded,
  handed_over, self_utilized, self_disposed, utilized, disposed, merged, split — counted only
  when the container's previous status-changing event (every kind except 'reweighed' and
  'moved') is 'stored'. So loaded → handed_over counts once (at loading), and a container
  that never entered storage never leaves it. Repackaging is shown as the movement it is: a
  stored source merged or split leaves storage (出库, destination "repackaging") and the new
  package enters storage with its own 'stored' event (入库); with equal weights they net to
  zero. A new package is recognised by its origin (merged / split): the tracking services
  give it packed, weighed, coded (and stored) events when it is made; if its first event is
  itself a merged / split event, that event is its creation and never an exit.
  Storage in/out are shown, not part of the balance.
* 'reweighed' events (and any event whose recorded weight differs from the weight before it)
  change no ledger column: they are weight adjustments, listed by `mass_balance`.
* opening_stock(M) = closing_stock(M-1). The first month of a year opens with the stock
  carried from before the year: the same flows (generated + received_in − self_utilized −
  self_disposed − utilized − disposed − transferred_out) summed over every event before 1 January.
  closing_stock = opening_stock + generated + received_in − self_utilized − self_disposed − utilized −
  disposed − transferred_out.
* Rows: one per (O, W) from the first month with any movement (or January when stock is
  carried into the year) through December; an (O, W) with no stock and no movement in the
  year has no rows.

The SQL: three GROUP BY queries over ScanEvent joined to its container — generation
(produced events), flows and storage entries (received, handed_over, utilized, disposed,
self_*, stored), and storage exits (the status-changing event that follows each 'stored'
event, found by one correlated index lookup per stored event) — each grouped by organization,
waste code and month. The month is a CASE over the local month boundaries (plain comparisons:
on SQLite Django's Trunc/Extract with a time zone call a Python function per row); the weight
is COALESCE over correlated index lookups that run only when an event recorded no weight. Then
one INSERT … ON CONFLICT DO UPDATE executemany and a delete of rows no longer supported. The
same SQL runs on SQLite and PostgreSQL. Measured on SQLite (one year, 1,000,000 containers,
5.5 million events, 10,000 organizations): about 25 s for 120,000 rows.

Mass balance (per organization, year and waste code), as of the year end or now if the year
is not over:
  expected closing = opening + generated + received − transferred − self-utilized − self-disposed
  actual stock = Σ net weight of containers held by O in a status of tracking.life.IN_STOCK
  (for the current year the containers' recorded status and holder; for a past year their
  status and weight at the year end, reconstructed from their events).
Every difference is broken down per container into records: weight adjustments (events with
a discrepancy flag or a weight change while O held the container), repackaging differences
(merged / split weights that do not add up), containers whose status or holder contradicts
their last event, the difference carried from before the year; plus records that do not
move the numbers: containers never weighed and handed-over containers never received. A
code is balanced when |actual − expected| <= 0.000001 t and no container is unweighed or
contradicts its events.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wufei.catalog.models import HazardousWaste
from wufei.core import spreadsheets
from wufei.core.errors import PermissionDenied, ValidationFailed
from wufei.core.scope import Scope
from wufei.ledgers import upkeep
from wufei.ledgers.models import LedgerMonth
from wufei.registry import services as registry_services
from wufei.registry.models import Organization, Site
from wufei.tracking.life import IN_STOCK, TRANSITIONS
from wufei.tracking.models import Container, ContainerOrigin, Packaging, ScanEvent
from wufei.tracking.models import ContainerStatus as S
from wufei.tracking.models import ScanKind as K
from wufei.tracking.weights import earlier as _earlier
from wufei.tracking.weights import event_weight_expression, generation_events
from wufei.tracking.weights import later as _later

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TOLERANCE = Decimal("0.000001")
ZERO = Decimal("0")
TONNES = DecimalField(max_digits=18, decimal_places=6)
SIX = Decimal("0.000001")

FIGURES = ("opening_stock", "generated", "received_in", "stored_in", "stored_out", "self_utilized", "self_disposed",
           "utilized", "disposed", "transferred_out", "closing_stock")
VALUE_FIELDS = (*FIGURES, "containers")
FLOW_FIELD = {
    K.RECEIVED: "received_in",
    K.HANDED_OVER: "transferred_out",
    K.SELF_UTILIZED: "self_utilized",
    K.UTILIZED: "utilized",
    K.SELF_DISPOSED: "self_disposed",
    K.DISPOSED: "disposed",
}
INFLOWS = ("generated", "received_in")
OUTFLOWS = ("self_utilized", "self_disposed", "utilized", "disposed", "transferred_out")
STORAGE_EXITS = frozenset({K.LOADED, K.HANDED_OVER, K.SELF_UTILIZED, K.SELF_DISPOSED, K.UTILIZED, K.DISPOSED,
                           K.MERGED, K.SPLIT})
NO_STATUS_CHANGE = frozenset({K.REWEIGHED, K.MOVED})
REPACKAGING = frozenset({K.MERGED, K.SPLIT})
PACKAGE_CREATION = frozenset({K.PACKED, K.WEIGHED, K.CODED, K.STORED, K.MERGED, K.SPLIT})
REPACKAGED = "repackaged"  # reconstructed state of a merged / split package before its own events say more
STOCK_STATES = IN_STOCK | {REPACKAGED}


# --- calendar ----------------------------------------------------------------------------------

def month_starts(year: int) -> list[dt.datetime]:
    """The 13 local midnights that bound the months of `year` (1 January … 1 January next year)."""
    return [dt.datetime(year, month, 1, tzinfo=LOCAL_TZ) for month in range(1, 13)] + [
        dt.datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ)]


def _month_case(starts: list[dt.datetime], low: int = 0, high: int = 13):
    """0 before the year, 1–12 for its months, 13 after it: a binary search over the 13 local month starts.

    Month r means starts[r-1] <= occurred_at < starts[r]; nesting the comparisons costs four per
    row instead of thirteen.
    """
    if low == high:
        return Value(low, output_field=IntegerField())
    middle = (low + high + 1) // 2
    return Case(When(occurred_at__lt=starts[middle - 1], then=_month_case(starts, low, middle - 1)),
                default=_month_case(starts, middle, high), output_field=IntegerField())


def _check_year(year: int) -> int:
    if not 2000 <= int(year) <= 2100:
        raise ValidationFailed(_("year out of range"), errors=[{"field": "year", "message": str(year)}])
    return int(year)


# --- SQL expressions ---------------------------------------------------------------------------

def previous_status_kind_expression():
    """The kind of the container's previous status-changing event (None for its first)."""
    preceding = (ScanEvent.objects.filter(container_id=OuterRef("container_id")).exclude(kind__in=NO_STATUS_CHANGE)
                 .filter(_earlier()).order_by("-occurred_at", "-id").values("kind")[:1])
    return Subquery(preceding, output_field=CharField())


def is_transit_hop(event) -> bool:
    """A carrier handing the load on (to the next carrier or the receiver): not a transfer out of stock."""
    return event.kind == K.HANDED_OVER and event.previous_status_kind == K.HANDED_OVER


def next_status_event_expression():
    """The id of the container's next status-changing event (every kind but 'reweighed' and 'moved')."""
    following = (ScanEvent.objects.filter(container_id=OuterRef("container_id")).exclude(kind__in=NO_STATUS_CHANGE)
                 .filter(_later()).order_by("occurred_at", "id").values("id")[:1])
    return Subquery(following, output_field=IntegerField())


# --- computing and building the monthly ledger ---------------------------------------------------

def compute_ledger(*, year: int, organization_ids=None) -> dict[tuple[int, str, int], dict]:
    """The LedgerMonth figures {(organization_id, waste_code, month): {field: value}}, not saved."""
    year = _check_year(year)
    starts = month_starts(year)
    month = _month_case(starts)
    weight = event_weight_expression()
    ids = None if organization_ids is None else list(organization_ids)

    # No time range in WHERE: every event up to the year end counts (the months before it make the
    # opening stock) and a range would lead SQLite to walk the occurred_at index with a random
    # table read per row; events after the year fall into month 13 and are skipped below.
    produced = generation_events()
    if ids is not None:
        produced = produced.filter(container__organization_id__in=ids)
    # grouped by the event's organization too (nearly always the generator): it makes SQLite
    # read the produced events by index instead of every event of every container
    generation = (produced.annotate(ledger_month=month, ledger_weight=weight)
                  .values_list("organization_id", "container__organization_id", "container__waste_id", "ledger_month")
                  .annotate(total=Sum("ledger_weight"), count=Count("id")).order_by())

    moves = ScanEvent.objects.filter(kind__in=[*FLOW_FIELD, K.STORED])
    if ids is not None:
        moves = moves.filter(organization_id__in=ids)
    # a carrier's hop is no transfer out (one index lookup per handover, evaluated for handovers only)
    moves = moves.exclude(Q(kind=K.HANDED_OVER) & Q(pk__in=ScanEvent.objects.filter(kind=K.HANDED_OVER).annotate(
        previous_kind=previous_status_kind_expression()).filter(previous_kind=K.HANDED_OVER).values("pk")))
    movements = (moves.annotate(ledger_month=month, ledger_weight=weight)
                 .values_list("organization_id", "container__waste_id", "ledger_month", "kind")
                 .annotate(total=Sum("ledger_weight")).order_by())

    # Out of storage: the status-changing event that follows each 'stored' event (one index
    # lookup per stored event, then one primary-key lookup per exit).
    stored = ScanEvent.objects.filter(kind=K.STORED)
    if ids is not None:
        stored = stored.filter(organization_id__in=ids)
    exits = ScanEvent.objects.filter(id__in=stored.annotate(next_id=next_status_event_expression()).values("next_id"),
                                     kind__in=list(STORAGE_EXITS))
    if ids is not None:
        exits = exits.filter(organization_id__in=ids)
    storage_exits = (exits.annotate(ledger_month=month, ledger_weight=weight)
                     .values_list("organization_id", "container__waste_id", "ledger_month")
                     .annotate(total=Sum("ledger_weight")).order_by())

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # the CASE and the correlated lookups make the planner's estimates high enough to JIT-compile
            # the queries, which costs more than it saves (halves the time on 100,000 containers)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        generation, movements, storage_exits = list(generation), list(movements), list(storage_exits)

    figures: dict[tuple[int, str], dict[tuple[int, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for _recorded_by, organization_id, waste_id, month_number, total, count in generation:
        if month_number > 12:
            continue
        key = (organization_id, waste_id)
        figures[key][(month_number, "generated")] += total or ZERO
        if month_number:
            figures[key][(month_number, "containers")] += count
    for organization_id, waste_id, month_number, kind, total in movements:
        if month_number > 12 or (month_number == 0 and kind not in FLOW_FIELD):
            continue
        values = figures[(organization_id, waste_id)]
        if kind in FLOW_FIELD:
            values[(month_number, FLOW_FIELD[kind])] += total or ZERO
        else:
            values[(month_number, "stored_in")] += total or ZERO
    for organization_id, waste_id, month_number, total in storage_exits:
        if 1 <= month_number <= 12:
            figures[(organization_id, waste_id)][(month_number, "stored_out")] += total or ZERO

    result = {}
    for (organization_id, waste_id), values in figures.items():
        stock = (sum((values[(0, name)] for name in INFLOWS), ZERO)
                 - sum((values[(0, name)] for name in OUTFLOWS), ZERO))
        active = [m for m in range(1, 13) if any(values.get((m, name)) for name in VALUE_FIELDS)]
        if not active and not stock:
            continue
        first = 1 if stock else active[0]
        for month_number in range(first, 13):
            row = {name: values.get((month_number, name), ZERO) for name in FIGURES}
            row["containers"] = int(values.get((month_number, "containers"), 0))
            row["opening_stock"] = stock
            stock = (stock + sum((row[name] for name in INFLOWS), ZERO)
                     - sum((row[name] for name in OUTFLOWS), ZERO))
            row["closing_stock"] = stock
            result[(organization_id, waste_id, month_number)] = {
                name: (value.quantize(SIX) if isinstance(value, Decimal) else value) for name, value in row.items()}
    return result


def build_ledger(*, year: int, organization_ids=None) -> int:
    """Rebuild the LedgerMonth rows of `year` (all organizations, or those given) from the scan events.

    Idempotent: rows are upserted on (organization, waste, year, month) and rows of the same
    year and organizations that the events no longer support are deleted. Returns the number
    of rows written.
    """
    year = _check_year(year)
    ids = None if organization_ids is None else list(organization_ids)
    started = timezone.now()
    with transaction.atomic():
        # the dirty marks this build catches up with, locked first: a writer whose scans are not committed yet
        # holds its mark, so the build waits for it and then reads its events (upkeep.py)
        caught_up = upkeep.lock_marks(year=year, organization_ids=ids)
        computed = compute_ledger(year=year, organization_ids=ids)
        built_at = connection.ops.adapt_datetimefield_value(timezone.now())
        rows = [(organization_id, waste_id, year, month_number, *(values[name] for name in VALUE_FIELDS), built_at)
                for (organization_id, waste_id, month_number), values in sorted(computed.items())]
        _upsert(rows)
        stale = LedgerMonth.objects.filter(year=year, built_at__lt=started)
        if ids is not None:
            stale = stale.filter(organization_id__in=ids)
        stale.delete()
        upkeep.forget(caught_up)
    return len(rows)


def _upsert(rows: list[tuple]) -> None:
    """INSERT … ON CONFLICT (organization, waste, year, month) DO UPDATE: multi-row VALUES on SQLite,
    unnest() of one array per column on PostgreSQL.

    bulk_create(update_conflicts=True) prepares every field of every row in Python (about
    150 µs a row), which dominated a build of a few hundred thousand rows.
    """
    meta = LedgerMonth._meta
    columns = [meta.get_field(name).column for name in ("organization", "waste", "year", "month", *VALUE_FIELDS,
                                                        "built_at")]
    quoted = [connection.ops.quote_name(column) for column in columns]
    updates = ", ".join(f"{column} = excluded.{column}" for column in quoted[4:])
    insert = f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({', '.join(quoted)}) "
    conflict = f" ON CONFLICT ({', '.join(quoted[:4])}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # one array per column: psycopg parses every placeholder of a statement in Python
            types = ["bigint", "varchar", "smallint", "smallint", *["numeric"] * len(FIGURES), "integer",
                     "timestamptz"]
            arrays = ", ".join(f"%s::{kind}[]" for kind in types)
            for chunk_start in range(0, len(rows), 50000):
                chunk = rows[chunk_start:chunk_start + 50000]
                columns_of_chunk = [list(column) for column in zip(*chunk, strict=True)]
                cursor.execute(f"{insert}SELECT * FROM unnest({arrays}){conflict}", columns_of_chunk)
            return
        row_sql = f"({', '.join(['%s'] * len(quoted))})"
        batch = max(1, min(500, (connection.features.max_query_params or 999) // len(quoted)))
        for chunk_start in range(0, len(rows), batch):
            chunk = rows[chunk_start:chunk_start + batch]
            cursor.execute(f"{insert}VALUES {', '.join([row_sql] * len(chunk))}{conflict}",
                           [value for row in chunk for value in row])


# --- selectors ---------------------------------------------------------------------------------

def organization_for(scope: Scope, organization_id: int) -> Organization:
    """The organization if the caller sees it, else NotFound (an id probe learns nothing)."""
    return registry_services.get_organization(scope, organization_id)


def can_rebuild(scope: Scope, organization: Organization) -> bool:
    """Regulators of the unit's region and the unit's writers (admins, members) may rebuild its ledger."""
    return Organization.objects.editable_by(scope).filter(pk=organization.pk).exists()


def ledger_months(scope: Scope, organization_id: int, year: int):
    """The LedgerMonth rows of one organization and year that the caller may see (brought up to date first)."""
    upkeep.ensure_current(years=_check_year(year), organization_ids=[organization_id])
    return (LedgerMonth.objects.visible_to(scope).filter(organization_id=organization_id, year=_check_year(year))
            .select_related("waste", "waste__category").order_by("waste_id", "month"))


def summarize_year(months) -> list[dict]:
    """Per waste code: opening of the first month, sums of the flows, closing of the last month."""
    by_code: dict[str, dict] = {}
    for row in sorted(months, key=lambda r: (r.waste_id, r.month)):
        summary = by_code.get(row.waste_id)
        if summary is None:
            summary = by_code[row.waste_id] = {
                "waste": row.waste_id, "category": row.waste.category_id, "description": row.waste.description,
                **{name: ZERO for name in FIGURES}, "containers": 0, "opening_stock": row.opening_stock,
                "first_month": row.month}
        for name in FIGURES[1:-1]:
            summary[name] += getattr(row, name)
        summary["containers"] += row.containers
        summary["closing_stock"] = row.closing_stock
        summary["last_month"] = row.month
    return list(by_code.values())


def ledger_year(scope: Scope, organization_id: int, year: int) -> list[dict]:
    """The yearly summary per waste code from the stored ledger (the caller's scope applies)."""
    return summarize_year(ledger_months(scope, organization_id, year))


def rebuild_ledger(*, scope: Scope, organization_id: int, year: int) -> int:
    """Rebuild one organization's year on behalf of a caller (regulators and the unit's writers)."""
    organization = organization_for(scope, organization_id)
    if not can_rebuild(scope, organization):
        raise PermissionDenied(_("you may read this ledger but not rebuild it"))
    return build_ledger(year=year, organization_ids=[organization.pk])


def ledger_is_current(organization_id: int, year: int, computed: dict | None = None) -> bool:
    """Whether the stored rows equal what the events give now."""
    computed = compute_ledger(year=year, organization_ids=[organization_id]) if computed is None else computed
    stored = {(r.organization_id, r.waste_id, r.month): {name: getattr(r, name) for name in VALUE_FIELDS}
              for r in LedgerMonth.objects.filter(organization_id=organization_id, year=year)}
    return stored == computed


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


def _histories(container_ids) -> dict[int, History]:
    """Containers with every event (by anyone), in (occurred_at, id) order, weights derived.

    Read with plain cursors from the event table alone (names of organizations, sites and
    people are looked up once each): converting and joining 400,000 events through the ORM
    took most of the time.
    """
    ids = sorted(set(container_ids))
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


def _ids(queryset) -> set[int]:
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
    year = _check_year(year)
    if month is not None and not 1 <= month <= 12:
        raise ValidationFailed(_("month out of range"), errors=[{"field": "month", "message": str(month)}])
    starts = month_starts(year)
    start, end = (starts[month - 1], starts[month]) if month else (starts[0], starts[12])
    in_window = {"occurred_at__gte": start, "occurred_at__lt": end}
    ids = _ids(ScanEvent.objects.filter(organization_id=organization.pk, **in_window))
    ids |= _ids(ScanEvent.objects.filter(kind=K.PRODUCED, container__organization_id=organization.pk, **in_window))
    histories = _histories(ids)
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


# --- mass balance ------------------------------------------------------------------------------

# record types that make a code unbalanced whatever the numbers say ("not_received" and
# "received_weight" are information; the others carry the amounts behind a difference)
BLOCKING = frozenset({"unweighed", "status_contradiction", "unexplained"})


def _record(kind: str, history: History | None, amount: Decimal | None, message: str, *, event: Event | None = None,
            **detail) -> dict:
    return {
        "type": kind,
        "container": history.container.code if history else "",
        "container_id": history.container.pk if history else None,
        "event_id": event.id if event else None,
        "event_kind": event.kind if event else "",
        "occurred_at": event.occurred_at if event else None,
        "amount": amount.quantize(SIX) if isinstance(amount, Decimal) else None,
        "message": message,
        **detail,
    }


def _t(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.quantize(SIX)}"


@dataclass
class _Balance:
    """One waste code's side of the mass balance while it is being put together."""

    figures: dict
    actual_stock: Decimal = ZERO
    stock_at_start: Decimal = ZERO
    records: list[dict] = field(default_factory=list)


def _lineage(histories: dict[int, History]) -> dict[int, list[str]]:
    """Codes of the containers each package was made from (merge: its sources; split: the source)."""
    packages = [h.container for h in histories.values() if h.repackaged]
    sources: dict[int, list[str]] = defaultdict(list)
    merged = [c.pk for c in packages if c.origin == ContainerOrigin.MERGED]
    for parent_id, code in Container.objects.filter(parent_id__in=merged).order_by("code").values_list(
            "parent_id", "code"):
        sources[parent_id].append(code)
    split_from = {c.split_from_id for c in packages if c.split_from_id}
    codes = dict(Container.objects.filter(pk__in=split_from).values_list("pk", "code"))
    for container in packages:
        if container.split_from_id:
            sources[container.pk].append(codes.get(container.split_from_id, ""))
    return sources


def _repackaging_message(history: History, sources: list[str]) -> str:
    if history.container.origin == ContainerOrigin.MERGED:
        return _("package made by merging %(sources)s") % {"sources": ", ".join(sources) or "—"}
    return _("package split from %(source)s") % {"source": ", ".join(sources) or "—"}


def _contradiction(history: History, organization_id: int) -> str:
    """Why the container's recorded status or holder contradicts its events ('' when it does not)."""
    container = history.container
    if container.origin == ContainerOrigin.PRODUCED and not any(e.kind == K.PRODUCED for e in history.events):
        return _("no 'produced' event is recorded for this container")
    expected = history.expected_status()
    if expected is not None and expected != container.status:
        return _("its status is %(status)s but its last event is %(event)s") % {
            "status": container.status, "event": history.last_status_event().kind}
    status, custodian = history.state_at(None)
    if (container.status in IN_STOCK and status in STOCK_STATES and custodian != container.holder_id
            and organization_id in (custodian, container.holder_id)):
        return _("its holder is not the organization its events name")
    return ""


def _container_balance(history: History, org: int, start: dt.datetime, end: dt.datetime, current: bool,
                       sources: dict[int, list[str]]) -> tuple[Decimal, Decimal, list[dict], bool]:
    """(stock at start, stock at end, records, relevant) of one container for organization `org`.

    The records' amounts add up to this container's part of the difference:
    (stock at end − stock at start) − (its flows in the year).
    """
    container = history.container
    stock_start = (history.weight_before(start) or ZERO) if history.in_stock_of(org, start) else ZERO
    if current:
        in_stock_end = container.holder_id == org and container.status in IN_STOCK and container.produced_at < end
        stock_end = (container.net_weight_tonnes or ZERO) if in_stock_end else ZERO
    else:
        in_stock_end = history.in_stock_of(org, end)
        stock_end = (history.weight_before(end) or ZERO) if in_stock_end else ZERO
    flows = ZERO
    explained = ZERO
    generated_here = False
    records: list[dict] = []
    for index, event in enumerate(history.events):
        if not start <= event.occurred_at < end:
            continue
        weight = event.weight_at or ZERO
        if event.kind == K.PRODUCED and container.organization_id == org and not history.repackaged:
            flows += weight
            generated_here = True
        if event.organization_id == org and event.kind in FLOW_FIELD and not is_transit_hop(event):
            flows += weight if FLOW_FIELD[event.kind] in INFLOWS else -weight
        held = event.custodian_before == org
        changed = (event.weight is not None and event.previous_weight is not None
                   and event.weight != event.previous_weight)
        if event.kind == K.RECEIVED:
            if (changed or event.discrepancy) and (event.organization_id == org or any(
                    e.kind == K.HANDED_OVER and e.organization_id == org for e in history.events[:index])):
                records.append(_record(
                    "received_weight", history, None, _("received as %(after)s t, recorded before as %(before)s t") % {
                        "before": _t(event.previous_weight), "after": _t(event.weight_at)}, event=event,
                    weight_before=event.previous_weight, weight_after=event.weight_at))
        elif held and (changed or event.discrepancy) and not history.is_creation(event):
            delta = event.weight - event.previous_weight if changed else ZERO
            explained += delta
            records.append(_record(
                "reweigh", history, delta, _("weight changed from %(before)s t to %(after)s t") % {
                    "before": _t(event.previous_weight), "after": _t(event.weight if changed else event.weight_at)},
                event=event, weight_before=event.previous_weight, weight_after=event.weight_at,
                expected_weight=event.expected_weight, discrepancy=event.discrepancy))
        if history.is_creation(event):
            if event.organization_id == org:
                explained += weight
                records.append(_record("repackaging", history, weight,
                                       _repackaging_message(history, sources.get(container.pk, [])), event=event,
                                       sources=sources.get(container.pk, [])))
        elif event.kind in REPACKAGING and held:
            explained -= weight
            records.append(_record("repackaging", history, -weight, _("repackaged (source container)"), event=event,
                                   sources=[]))
    if history.repackaged and not history.created_by_event and start <= history.created_at < end and (
            history._initial()[1] == org):
        weight = history.first_weight or ZERO
        explained += weight
        record = _record("repackaging", history, weight, _repackaging_message(history, sources.get(container.pk, [])),
                         event=history.events[0] if history.events else None, sources=sources.get(container.pk, []))
        record["occurred_at"] = history.created_at
        records.append(record)
    remainder = (stock_end - stock_start) - flows - explained
    contradiction = _contradiction(history, org) if current and (
        in_stock_end or stock_start or flows or container.holder_id == org) else ""
    if abs(remainder) > TOLERANCE or contradiction:
        last = history.last_status_event()
        records.append(_record(
            "status_contradiction", history, remainder,
            contradiction or _("its stock record disagrees with its events"), event=last,
            status=container.status, holder_id=container.holder_id))
    if history.never_weighed and (generated_here or in_stock_end or stock_start):
        records.append(_record("unweighed", history, None, _("produced but never weighed")))
    for index, event in enumerate(history.events):
        if (event.kind == K.HANDED_OVER and event.organization_id == org and start <= event.occurred_at < end
                and not is_transit_hop(event) and not any(e.kind == K.RECEIVED for e in history.events[index + 1:])):
            records.append(_record("not_received", history, None, _("handed over but never received"), event=event,
                                   weight=event.weight_at))
    relevant = bool(records or stock_end or stock_start or flows)
    return stock_start, stock_end, records, relevant


def mass_balance(scope: Scope, organization_id: int, year: int, *, now: dt.datetime | None = None) -> dict:
    """Opening + generated + received − transferred − self-processed against the stock, per waste code.

    Returns {"organization", "year", "as_of", "ledger_current", "balanced", "codes": [...]}; each
    code has the ledger's figures, expected_closing, actual_stock, difference (actual − expected),
    balanced, and the records behind the difference: their amounts (where a record has one)
    add up to the difference (see the module docstring). `now` (default: the clock) decides
    whether the year is over.
    """
    organization = organization_for(scope, organization_id)
    year = _check_year(year)
    org = organization.pk
    starts = month_starts(year)
    start, end = starts[0], starts[12]
    now = now or timezone.now()
    current = end > now
    as_of = now if current else end

    computed = compute_ledger(year=year, organization_ids=[org])
    balances: dict[str, _Balance] = {}

    def balance_of(waste_id: str) -> _Balance:
        if waste_id not in balances:
            balances[waste_id] = _Balance({name: ZERO for name in FIGURES})
        return balances[waste_id]

    for (_org, waste_id, _month), values in sorted(computed.items()):
        new = waste_id not in balances
        figures = balance_of(waste_id).figures
        if new:
            figures["opening_stock"] = values["opening_stock"]
        for name in FIGURES[1:-1]:
            figures[name] += values[name]
        figures["closing_stock"] = values["closing_stock"]

    in_year = {"occurred_at__gte": start, "occurred_at__lt": end}
    ids = _ids(ScanEvent.objects.filter(organization_id=org, **in_year))
    ids |= _ids(ScanEvent.objects.filter(kind=K.PRODUCED, container__organization_id=org, **in_year))
    later = ScanEvent.objects.filter(container_id=OuterRef("container_id"), occurred_at__gte=start)
    ids |= _ids(ScanEvent.objects.filter(organization_id=org, occurred_at__lt=start).filter(
        Q(container__status__in=list(IN_STOCK)) | Q(Exists(later))))
    ids |= set(Container.objects.filter(holder_id=org, status__in=list(IN_STOCK), produced_at__lt=end)
               .values_list("pk", flat=True))
    histories = _histories(ids)
    sources = _lineage(histories)

    for history in histories.values():
        stock_start, stock_end, records, relevant = _container_balance(history, org, start, end, current, sources)
        if relevant:
            balance = balance_of(history.container.waste_id)
            balance.stock_at_start += stock_start
            balance.actual_stock += stock_end
            balance.records.extend(records)

    wastes = {w.code: w for w in HazardousWaste.objects.filter(code__in=list(balances))}
    codes = []
    for waste_id, balance in sorted(balances.items()):
        figures = balance.figures
        expected = figures["closing_stock"]
        actual = balance.actual_stock.quantize(SIX)
        difference = (actual - expected).quantize(SIX)
        records = sorted(balance.records, key=lambda r: (r["occurred_at"] or as_of, r["container"], r["type"]))
        carried = (balance.stock_at_start - figures["opening_stock"]).quantize(SIX)
        if abs(carried) > TOLERANCE:
            records.insert(0, _record("carried", None, carried,
                                      _("difference between the stock and the ledger at the start of the year")))
        unexplained = difference - sum((r["amount"] for r in records if r["amount"] is not None), ZERO)
        if abs(unexplained) > TOLERANCE:
            records.append(_record("unexplained", None, unexplained, _("difference that no record explains")))
        waste = wastes.get(waste_id)
        codes.append({
            "waste": waste_id,
            "category": waste.category_id if waste else "",
            "description": waste.description if waste else "",
            **{name: figures[name] for name in ("opening_stock", "generated", "received_in", "transferred_out",
                                                "self_utilized", "self_disposed", "utilized", "disposed")},
            "expected_closing": expected,
            "actual_stock": actual,
            "difference": difference,
            "balanced": abs(difference) <= TOLERANCE and not any(r["type"] in BLOCKING for r in records),
            "records": records,
        })
    return {
        "organization": organization,
        "year": year,
        "as_of": as_of,
        "ledger_current": ledger_is_current(org, year, computed),
        "balanced": all(c["balanced"] for c in codes),
        "codes": codes,
    }


# --- export (HJ 1259 table layout) --------------------------------------------------------------

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNCONFIRMED_NOTE = ("本表字段依据扫描事件记录生成；HJ 1259-2022 该表完整字段清单未经核实"
                    "（UNCONFIRMED，见 RULES.md §3），列出的是事件所载字段。")
DESTINATION_ZH = {"storage": "贮存", "transfer": "委外利用/处置", "self_utilization": "自行利用",
                  "self_disposal": "自行处置", "utilization": "利用", "disposal": "处置",
                  "repackaging": "合并/拆分包装", "": "未出库"}
SOURCE_ZH = {"own": "本单位产生", "received": "接收", "repackaging": "合并/拆分包装"}
MODE_ZH = {"utilization": "利用", "disposal": "处置"}
PACKAGING_ZH = {"drum": "桶", "bag": "袋", "tonne_bag": "吨袋", "box": "箱", "ibc": "IBC吨桶", "tank": "罐",
                "sharps_box": "利器盒", "bulk": "散装（车厢）", "other": "其他"}
PACKAGING_COLUMNS = (("packaging", "容器/包装类型"), ("container_count", "容器/包装数量"))


def _columns(batch: str, time: str, quantity: str, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """(line key, Chinese header) of one HJ 1259 table: the common leading columns, then its own."""
    return (("batch_code", batch), ("time", time), ("waste_name", "危险废物名称"), ("category", "危险废物类别"),
            ("waste_code", "危险废物代码"), ("quantity", quantity), ("unit", "计量单位"),
            ("container_code", "容器/包装编码"), *extra)


# (table, sheet name, title, note, columns); sheet names cannot hold "/" so the titles carry the official names
SHEETS = (
    ("generation", "产生环节记录表", "危险废物产生环节记录表", None, _columns(
        "产生批次编码", "产生时间", "产生量", *PACKAGING_COLUMNS, ("facility_code", "产生危险废物设施编码"),
        ("handler", "产生部门经办人"), ("destination", "去向"))),
    ("storage_in", "入库环节记录表", "危险废物入库环节记录表", UNCONFIRMED_NOTE, _columns(
        "入库批次编码", "入库时间", "入库量", *PACKAGING_COLUMNS, ("facility_code", "贮存设施编码"),
        ("location", "贮存位置"), ("source", "废物来源"), ("generator", "产生单位"), ("handler", "入库经办人"))),
    ("storage_out", "出库环节记录表", "危险废物出库环节记录表", UNCONFIRMED_NOTE, _columns(
        "出库批次编码", "出库时间", "出库量", *PACKAGING_COLUMNS, ("facility_code", "贮存设施编码"),
        ("destination", "去向"), ("reference", "联单编号"), ("handler", "出库经办人"))),
    ("self_processing", "自行利用处置环节记录表", "危险废物自行利用/处置环节记录表", UNCONFIRMED_NOTE, _columns(
        "批次编码", "利用/处置时间", "利用/处置量", ("mode", "利用/处置"), ("method", "利用/处置方式"),
        ("facility_code", "利用/处置设施编码"), ("handler", "经办人"))),
    ("entrusted", "委外利用处置环节记录表", "危险废物委外利用/处置环节记录表", UNCONFIRMED_NOTE, _columns(
        "批次编码", "转移时间", "转移量", ("packaging", "容器/包装类型"), ("manifest", "转移联单编号"),
        ("receiver", "接收单位"), ("received_at", "接收时间"), ("received_quantity", "接收量"), ("handler", "经办人"))),
    ("received", "接收环节记录表", "危险废物接收环节记录表（接收、收集单位）", UNCONFIRMED_NOTE, _columns(
        "批次编码", "接收时间", "接收量", ("packaging", "容器/包装类型"), ("generator", "产生单位"),
        ("manifest", "转移联单编号"), ("handler", "接收经办人"))),
)
SUMMARY_COLUMNS = (
    ("opening_stock", "期初贮存量"), ("generated", "产生量"), ("received_in", "接收量"), ("stored_in", "入库量"),
    ("stored_out", "出库量"), ("self_utilized", "自行利用量"), ("self_disposed", "自行处置量"),
    ("utilized", "利用量（接收）"), ("disposed", "处置量（接收）"),
    ("transferred_out", "委外利用/处置量"), ("closing_stock", "期末贮存量"), ("containers", "产生容器数"),
)
NUMBER_FORMAT = "0.000000"
TIME_FORMAT = "yyyy-mm-dd hh:mm"


def _excel_value(key: str, value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(LOCAL_TZ).replace(tzinfo=None)
    if key == "packaging":
        return PACKAGING_ZH.get(value) or (str(Packaging(value).label) if value in Packaging.values else value)
    if key == "destination":
        return DESTINATION_ZH.get(value, value)
    if key == "source":
        return SOURCE_ZH.get(value, value)
    if key == "mode":
        return MODE_ZH.get(value, value)
    return value


def _write_sheet(sheet, title: str, note: str | None, headers: list[str], rows: list[list]) -> None:
    from openpyxl.styles import Font

    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([note or ""])
    sheet.append(headers)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, float):
                cell.number_format = NUMBER_FORMAT
            elif isinstance(cell.value, dt.datetime):
                cell.number_format = TIME_FORMAT
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[sheet.cell(row=3, column=index).column_letter].width = max(10, len(header) * 2 + 4)
    sheet.freeze_panes = "A4"


def export_ledger_xlsx(scope: Scope, organization_id: int, year: int) -> bytes:
    """The year's ledger as .xlsx in the HJ 1259 layout: one sheet per table, then 月度汇总 and 年度汇总.

    Rows 1–2 of each sheet: title and note; row 3: headers; quantities in t as numbers (6 decimals).
    """
    from openpyxl import Workbook

    lines = container_ledger(scope, organization_id, year)
    organization = lines["organization"]
    months = list(ledger_months(scope, organization.pk, year))
    stale = "" if ledger_is_current(organization.pk, lines["year"]) else (
        "注意：台账汇总生成后又有新的扫描事件，请重新生成台账后再导出。")
    heading = f"{organization.name}（{organization.uscc}）{lines['year']}年"
    workbook = Workbook()
    workbook.remove(workbook.active)
    with translation.override("zh-hans"):
        for key, sheet_name, title, note, columns in SHEETS:
            sheet = workbook.create_sheet(sheet_name)
            rows = [[_excel_value(name, line.get(name)) for name, _header in columns] for line in lines["tables"][key]]
            _write_sheet(sheet, f"{title} — {heading}", note, [header for _name, header in columns], rows)
        monthly = workbook.create_sheet("月度汇总")
        rows = [[f"{row.year}-{row.month:02d}", row.waste_id, row.waste.category_id, row.waste.description[:60],
                 *[_excel_value(name, getattr(row, name)) for name, _header in SUMMARY_COLUMNS]]
                for row in months]
        _write_sheet(monthly, f"危险废物月度汇总 — {heading}",
                     f"单位：吨（t）；由扫描事件生成。{stale}",
                     ["月份", "危险废物代码", "危险废物类别", "危险废物名称", *[h for _n, h in SUMMARY_COLUMNS]], rows)
        yearly = workbook.create_sheet("年度汇总")
        rows = [[summary["waste"], summary["category"], summary["description"][:60],
                 *[_excel_value(name, summary[name]) for name, _header in SUMMARY_COLUMNS]]
                for summary in summarize_year(months)]
        _write_sheet(yearly, f"危险废物年度汇总 — {heading}",
                     f"单位：吨（t）；期初为首月期初，期末为12月期末。{stale}",
                     ["危险废物代码", "危险废物类别", "危险废物名称", *[h for _n, h in SUMMARY_COLUMNS]], rows)
    return spreadsheets.workbook_bytes(workbook)
