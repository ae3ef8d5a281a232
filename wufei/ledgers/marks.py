"""The marks of ledger years a build has to catch up with (`LedgerDirty`, written by upkeep.py with the scan
events): a build locks the marks it is about to catch up with before it reads the events, and deletes them with its
rows, so a mark made while it ran stays for the next build."""

from wufei.core.locks import lock_rows
from wufei.ledgers.models import LedgerDirty


def lock_marks(*, year: int, organization_ids) -> list[int]:
    """Lock the marks a build of this year (these units, or all) is about to catch up with; their ids."""
    marks = lock_rows(LedgerDirty.objects).filter(year=year)
    if organization_ids is not None:
        marks = marks.filter(organization_id__in=list(organization_ids))
    return list(marks.values_list("pk", flat=True))


def forget(mark_ids: list[int]) -> None:
    """The build caught up with these marks (locked since before it read the events: nobody changed them)."""
    if mark_ids:
        LedgerDirty.objects.filter(pk__in=mark_ids).delete()
