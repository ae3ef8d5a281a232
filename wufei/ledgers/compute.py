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

Readers never call `compute_ledger` for figures: they read the stored rows through `selectors.py` (which
brings them current first, `upkeep.ensure_current`). The mass balance (balance.py) and the per-container
lines (containers.py) read the events themselves, the xlsx export (export.py) writes both.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core.errors import PermissionDenied, ValidationFailed
from wufei.core.scope import Scope
from wufei.ledgers import marks
from wufei.ledgers.models import LedgerMonth
from wufei.registry import services as registry_services
from wufei.registry.models import Organization
from wufei.tracking.life import IN_STOCK
from wufei.tracking.models import ScanEvent
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


def check_year(year: int) -> int:
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
    year = check_year(year)
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
    year = check_year(year)
    ids = None if organization_ids is None else list(organization_ids)
    started = timezone.now()
    with transaction.atomic():
        # the dirty marks this build catches up with, locked first: a writer whose scans are not committed yet
        # holds its mark, so the build waits for it and then reads its events (marks.py)
        caught_up = marks.lock_marks(year=year, organization_ids=ids)
        computed = compute_ledger(year=year, organization_ids=ids)
        built_at = connection.ops.adapt_datetimefield_value(timezone.now())
        rows = [(organization_id, waste_id, year, month_number, *(values[name] for name in VALUE_FIELDS), built_at)
                for (organization_id, waste_id, month_number), values in sorted(computed.items())]
        _upsert(rows)
        stale = LedgerMonth.objects.filter(year=year, built_at__lt=started)
        if ids is not None:
            stale = stale.filter(organization_id__in=ids)
        stale.delete()
        marks.forget(caught_up)
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




def can_rebuild(scope: Scope, organization: Organization) -> bool:
    """Regulators of the unit's region and the unit's writers (admins, members) may rebuild its ledger."""
    return Organization.objects.editable_by(scope).filter(pk=organization.pk).exists()



def rebuild_ledger(*, scope: Scope, organization_id: int, year: int) -> int:
    """Rebuild one organization's year on behalf of a caller (regulators and the unit's writers)."""
    organization = registry_services.get_organization(scope, organization_id)
    if not can_rebuild(scope, organization):
        raise PermissionDenied(_("you may read this ledger but not rebuild it"))
    return build_ledger(year=year, organization_ids=[organization.pk])


