"""What the scan events weigh: the weight at an event, and how much hazardous waste a unit generated.

These are the definitions the ledger (`wufei.ledgers.compute`, whose docstring spells out the
semantics), the cockpit's sums and the supervision class share, kept here, next to the events,
because the registry and the ledgers build on tracking and not the other way round:

* the weight at an event e on container c is e.weight_tonnes if recorded; else the weight of the
  latest earlier event of c that recorded one; else of the earliest later one; else
  c.net_weight_tonnes; else 0 ("earlier" and "later" order events by (occurred_at, id));
* generated = Σ weight at the 'produced' event of containers with origin 'produced', counted for
  the container's organization (the generator) at the time of that event. Merged and split
  packages are repackaging, never generation. Medical waste is hazardous waste (HW01), so every
  container counts.

`recorded_generation` gives, per unit, the tonnes generated in the last full calendar year and in
the running twelve months (Asia/Shanghai), for the supervision class (HJ 1259-2022), in one
grouped query.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Case, DecimalField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from wufei.tracking.models import ContainerOrigin, ScanEvent, ScanKind

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
ZERO = Decimal("0")
SIX = Decimal("0.000001")
TONNES = DecimalField(max_digits=18, decimal_places=6)


def earlier() -> Q:
    """Events of the same container before the outer event, in (occurred_at, id) order."""
    return Q(occurred_at__lt=OuterRef("occurred_at")) | Q(occurred_at=OuterRef("occurred_at"), id__lt=OuterRef("id"))


def later() -> Q:
    """Events of the same container after the outer event, in (occurred_at, id) order."""
    return Q(occurred_at__gt=OuterRef("occurred_at")) | Q(occurred_at=OuterRef("occurred_at"), id__gt=OuterRef("id"))


def event_weight_expression():
    """The weight at an event (see the module docstring), for a ScanEvent queryset.

    The correlated look-ups run only for events that recorded no weight themselves.
    """
    weighings = ScanEvent.objects.filter(container_id=OuterRef("container_id"), weight_tonnes__isnull=False)
    before = weighings.filter(earlier()).order_by("-occurred_at", "-id").values("weight_tonnes")[:1]
    after = weighings.filter(later()).order_by("occurred_at", "id").values("weight_tonnes")[:1]
    return Coalesce("weight_tonnes", Subquery(before, output_field=TONNES), Subquery(after, output_field=TONNES),
                    "container__net_weight_tonnes", Value(ZERO, output_field=TONNES), output_field=TONNES)


def generation_events():
    """The events that generate waste: 'produced' of containers produced here (not merged or split ones)."""
    return ScanEvent.objects.filter(kind=ScanKind.PRODUCED, container__origin=ContainerOrigin.PRODUCED)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def _a_year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def generation_windows(today: dt.date) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """The two periods the supervision class reads, as [start, end) local midnights.

    last_year: the last full calendar year (1 January to 1 January). running_12_months: the twelve
    months up to and including `today` (from the day after the same date a year earlier).
    """
    return {
        "last_year": (_midnight(dt.date(today.year - 1, 1, 1)), _midnight(dt.date(today.year, 1, 1))),
        "running_12_months": (_midnight(_a_year_before(today) + dt.timedelta(days=1)),
                              _midnight(today + dt.timedelta(days=1))),
    }


def recorded_generation(organization_ids=None, *, today: dt.date) -> dict[int, tuple[Decimal, Decimal]]:
    """{organization id: (tonnes generated in the last full year, in the running twelve months)}.

    Units that generated nothing in either period are left out. `organization_ids` None reads
    every unit. One GROUP BY query over the 'produced' events of both periods; the weight is the
    ledger's weight at the event. Produced events are written by the generator itself
    (tracking.services), so filtering on the event's organization as well lets the database read
    them by the (organization, kind, occurred_at) index.
    """
    windows = generation_windows(today)
    (year_start, year_end), (running_start, running_end) = windows["last_year"], windows["running_12_months"]
    events = generation_events().filter(occurred_at__gte=min(year_start, running_start),
                                        occurred_at__lt=max(year_end, running_end))
    if organization_ids is not None:
        ids = list(organization_ids)
        if not ids:
            return {}
        events = events.filter(organization_id__in=ids, container__organization_id__in=ids)
    weight = event_weight_expression()

    def within(start, end):
        return Sum(Case(When(occurred_at__gte=start, occurred_at__lt=end, then="generation_weight"),
                        default=Value(ZERO, output_field=TONNES), output_field=TONNES))

    rows = (events.annotate(generation_weight=weight)
            .values_list("container__organization_id")
            .annotate(last_year=within(year_start, year_end), running=within(running_start, running_end))
            .order_by())
    if connection.vendor == "postgresql":
        with transaction.atomic():
            # as in the ledger: the planner's high estimates for the correlated look-ups would JIT-compile it
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
            rows = list(rows)
    else:
        rows = list(rows)  # (an atomic block would take SQLite's write lock for a read: IMMEDIATE mode)
    totals: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for organization_id, last_year, running in rows:
        totals[organization_id][0] += Decimal(last_year or ZERO)
        totals[organization_id][1] += Decimal(running or ZERO)
    return {organization_id: (last_year.quantize(SIX), running.quantize(SIX))
            for organization_id, (last_year, running) in totals.items() if last_year or running}
