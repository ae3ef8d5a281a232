"""Keeping the HJ 1259 ledger months current: indicators, declarations and alerts never read a stale ledger.

* When tracking writes scan events (`tracking.signals.events_written`, inside their transaction), the years of
  the units they touch are marked dirty (`LedgerDirty`: the event's year and every later year up to this one —
  an old event changes later opening stocks), and a `ledgers.refresh` job is queued once the transaction
  commits (one per transaction, however many scans it holds).
* The job rebuilds the dirty years of those units (`ensure_current`); a periodic `ledgers.catch_up` rebuilds
  whatever is still dirty (a job lost with a crashed worker, marks written outside the queue).
* Readers call `ensure_current` for what they read before reading it: whatever the queue has not reached yet is
  built there and then, so a figure is never older than the last scan.

`build_ledger` locks the marks it catches up with before it reads the events, and deletes them with its rows (a
mark made while it ran stays for the next build: marks.py).
"""

from django.db import transaction
from django.db.models import Q
from django.db.models.query import QuerySet
from django.utils import timezone

from wufei.core import jobs
from wufei.ledgers.compute import build_ledger
from wufei.ledgers.models import LedgerDirty


def mark(marks) -> set[int]:
    """Mark the years of [(organization_id, occurred_at), …] dirty (in the caller's transaction); returns the
    organization ids."""
    this_year = timezone.localdate().year
    now = timezone.now()
    years: dict[int, int] = {}
    for organization_id, occurred_at in marks:
        if organization_id is None or occurred_at is None:
            continue
        year = timezone.localtime(occurred_at).year
        years[organization_id] = min(year, years.get(organization_id, year))
    rows = [LedgerDirty(organization_id=org, year=year, marked_at=now)
            for org, first in years.items() for year in range(max(first, 2000), max(first, this_year) + 1)]
    if rows:
        LedgerDirty.objects.bulk_create(rows, update_conflicts=True, update_fields=["marked_at"],
                                        unique_fields=["organization", "year"])
    return set(years)


class _Refresh:
    """The one on-commit callback of a transaction: queues a refresh of every unit its scans touched."""

    def __init__(self):
        self.organization_ids: set[int] = set()

    def __call__(self):
        jobs.task_named("ledgers.refresh")(sorted(self.organization_ids))


def on_events_written(sender, marks, **kwargs) -> None:
    organization_ids = mark(marks)
    if not organization_ids:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for entry in connection.run_on_commit:
            if isinstance(entry[1], _Refresh):
                entry[1].organization_ids |= organization_ids
                return
    refresh = _Refresh()
    refresh.organization_ids |= organization_ids
    transaction.on_commit(refresh)


def dirty(*, year: int | None = None, organization_ids=None, region_path: str | None = None):
    marks = LedgerDirty.objects.all()
    if year is not None:
        marks = marks.filter(year=year)
    if isinstance(organization_ids, QuerySet):
        marks = marks.filter(organization_id__in=organization_ids.values("pk"))  # units as a subquery
    elif organization_ids is not None:
        marks = marks.filter(organization_id__in=list(organization_ids))
    if region_path:
        marks = marks.filter(Q(organization__region__path__startswith=region_path))
    return marks


def ensure_current(*, years=None, organization_ids=None, region_path: str | None = None) -> int:
    """Rebuild the dirty years (all, or those of `years`) of the units given (ids, or a region subtree, or all);
    returns the number of (unit, year) rebuilt."""
    wanted = None if years is None else {int(y) for y in ([years] if isinstance(years, int) else years)}
    by_year: dict[int, set[int]] = {}
    for organization_id, year in dirty(organization_ids=organization_ids, region_path=region_path).values_list(
            "organization_id", "year"):
        if wanted is None or year in wanted:
            by_year.setdefault(year, set()).add(organization_id)
    for year, ids in sorted(by_year.items()):
        build_ledger(year=year, organization_ids=sorted(ids))
    return sum(len(ids) for ids in by_year.values())
