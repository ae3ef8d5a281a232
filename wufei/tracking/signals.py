"""What tracking tells the rest of the platform, without knowing who listens (the ledgers keep their months
current from it: wufei/ledgers/apps.py).

`events_written` is sent inside the transaction that writes scan events, with
`marks=[(organization_id, occurred_at), …]`: the units whose ledger the events touch (the event's organization,
which is also the generator of a produced container) and when the events happened. A receiver that writes must
write in the same transaction, so the marks commit or roll back with the events.
"""

from django.dispatch import Signal

events_written = Signal()


def announce(events) -> None:
    """Send `events_written` for scan events (instances or row dicts) that were just written."""
    marks = {(_get(event, "organization_id"), _get(event, "occurred_at")) for event in events}
    marks.discard((None, None))
    if marks:
        events_written.send(sender=None, marks=sorted(marks, key=lambda m: (m[0] or 0, m[1])))


def _get(event, name):
    return event.get(name) if isinstance(event, dict) else getattr(event, name)
