"""Monthly sums of the scan events the cockpit counts, so that a province's year is not re-read per page.

The cockpit's "generated" and in-house "utilized" / "disposed" figures are sums over scan events (see
services.py). Events are only ever added and what is summed never changes once written, so:

    figure = Σ EventTonnes up to the mark          (weighed events with id ≤ mark, summed once by `refresh`)
           + Σ weighed events after the mark       (the live tail, read per request)
           + Σ unweighed events, at any id         (the ledger's look-up of the nearest weighing, which a later
                                                    weighing can change: never stored)

which equals the sum over all events exactly. A deleted event (a container removed, a demo reset) or an event
committed late under an id below the mark would make the stored part wrong: the number of events up to the
mark is kept with it and checked on every read; when it differs the read ignores the stored sums and
`refresh` rebuilds them.

`refresh` runs from `wufei analytics_refresh`, and from a cockpit request when the live tail has grown past
REFRESH_AT_TAIL events or the stored sums went stale (skipped when another refresh holds the mark).
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Case, CharField, Count, DateField, F, Max, Q, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from wufei.analytics.models import EventTonnes, RollupMark
from wufei.catalog import streams
from wufei.indicators import quantities
from wufei.tracking.models import ContainerOrigin, ScanEvent, ScanKind
from wufei.tracking.weights import event_weight_expression

MARK = "scan_events"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
REFRESH_AT_TAIL = 20_000
SUMMED_KINDS = (ScanKind.PRODUCED, ScanKind.SELF_UTILIZED, ScanKind.SELF_DISPOSED)


def stream_case(code_field: str):
    """'medical' for HW01 codes, else 'hazardous': a code NNN-NNN-CC belongs to category HWCC (the national
    list's numbering, as the alert rules read it), so no join to the catalog is needed per row."""
    return Case(When(streams.medical_q(code_field), then=Value("medical")),
                default=Value("hazardous"), output_field=CharField())


def summed_events():
    """The events the cockpit sums: 'produced' of containers produced here (not split or merged ones, as the
    ledger counts generation) and in-house utilization / disposal."""
    return ScanEvent.objects.filter(Q(kind=ScanKind.PRODUCED, container__origin=ContainerOrigin.PRODUCED)
                                    | Q(kind__in=(ScanKind.SELF_UTILIZED, ScanKind.SELF_DISPOSED)))


def _month():
    return TruncMonth("occurred_at", output_field=DateField(), tzinfo=LOCAL_TZ)


def _mark(lock: bool = False) -> RollupMark:
    marks = RollupMark.objects.select_for_update(skip_locked=True) if lock else RollupMark.objects
    mark = marks.filter(name=MARK).first()
    if mark is None and not lock:
        return RollupMark(name=MARK)
    return mark


def mark_is_valid(mark: RollupMark) -> bool:
    return ScanEvent.objects.filter(id__lte=mark.last_event_id).count() == mark.event_count


def refresh(*, rebuild: bool = False) -> int:
    """Bring EventTonnes up to the newest event; return how many events were added (0 when another refresh
    holds the mark). Rebuilds from scratch when asked or when the stored sums no longer match the events."""
    RollupMark.objects.get_or_create(name=MARK)
    with transaction.atomic():
        mark = _mark(lock=True)
        if mark is None:
            return 0
        if rebuild or not mark_is_valid(mark):
            EventTonnes.objects.all().delete()
            mark.last_event_id = mark.event_count = 0
        top = ScanEvent.objects.aggregate(top=Max("id"))["top"] or 0
        if top > mark.last_event_id:
            span = Q(id__gt=mark.last_event_id, id__lte=top)
            _add(summed_events().filter(span, weight_tonnes__isnull=False)
                 .annotate(month=_month(), stream=stream_case("container__waste__code"))
                 .values("organization_id", "month", "kind", "stream")
                 .annotate(total=quantities._sum("weight_tonnes"), events=Count("id")).order_by())
            added = ScanEvent.objects.filter(span).count()
            mark.event_count += added
            mark.last_event_id = top
        else:
            added = 0
        mark.refreshed_at = timezone.now()
        mark.save()
    return added


def _add(rows) -> None:
    rows = list(rows)
    if not rows:
        return
    key = ("organization_id", "month", "kind", "stream")
    existing = {tuple(getattr(row, k) for k in key): row for row in EventTonnes.objects.filter(
        organization_id__in={r["organization_id"] for r in rows}, month__in={r["month"] for r in rows})}
    new, changed = [], []
    for r in rows:
        row = existing.get(tuple(r[k] for k in key))
        if row is None:
            new.append(EventTonnes(**{k: r[k] for k in key}, tonnes=quantities._tonnes(r["total"]),
                                   events=r["events"]))
        else:
            row.tonnes = Decimal(row.tonnes) + quantities._tonnes(r["total"])
            row.events += r["events"]
            changed.append(row)
    EventTonnes.objects.bulk_create(new, batch_size=2000)
    EventTonnes.objects.bulk_update(changed, ["tonnes", "events"], batch_size=2000)


def monthly_sums(*, organizations: Q, start: dt.datetime, end: dt.datetime, group_by: str) -> list[dict]:
    """[{group_by: …, "stream", "kind", "total"}] of the summed events of `organizations` (a Q on an
    `organization` relation) in [start, end): stored sums + live tail + unweighed events, as the module says.
    `start` and `end` must fall on month boundaries in Asia/Shanghai (the cockpit asks for calendar years).
    Brings the stored sums up to date first when the tail has grown long or they went stale."""
    mark = _mark()
    valid = mark.pk is not None and mark_is_valid(mark)
    if not valid or ScanEvent.objects.filter(id__gt=mark.last_event_id).count() > REFRESH_AT_TAIL:
        refresh()
        mark = _mark()
        valid = mark.pk is not None and mark_is_valid(mark)
    if not valid:
        mark = RollupMark(name=MARK)  # ignore the stored sums: everything is read live
    fields = (group_by, "stream", "kind")
    events = summed_events().filter(organizations, occurred_at__gte=start, occurred_at__lt=end)
    rows = []
    if mark.last_event_id:
        rows += (EventTonnes.objects.filter(organizations, month__gte=timezone.localtime(start, LOCAL_TZ).date(),
                                            month__lt=timezone.localtime(end, LOCAL_TZ).date())
                 .values(*fields).annotate(total=quantities._sum("tonnes")).order_by())
    for part, weight in ((Q(id__gt=mark.last_event_id, weight_tonnes__isnull=False), F("weight_tonnes")),
                         (Q(weight_tonnes__isnull=True), event_weight_expression())):
        rows += (events.filter(part).annotate(weight=weight, stream=stream_case("container__waste__code"))
                 .values(*fields).annotate(total=quantities._sum("weight")).order_by())
    return rows
