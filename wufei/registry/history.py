"""The registry's dated history: what it said of each unit on any past day (一企一档的历史).

An indicator of a past year counts the units as the registry stood then, not as it stands today: a unit closed in
2026 still counts for 2024, a unit registered in 2026 does not, a unit that moved district counts in its old
district for the years before the move. The facts kept (`FIELDS`) are those the indicators count: status, region,
roles and industry code. Each `OrganizationState` row holds them for [valid_from, valid_to) (valid_to None: still
in force); the rows of a unit follow one another without gap or overlap, from its registration day on.

`follow` is called by `Organization.save`, in its transaction, whatever path saved the unit (services, change
requests, the admin, the demo), so the history cannot fall behind the registry; the bulk import of new units
(`registry.services.create_organizations`) writes their `opening` periods in its own transaction.

When a change takes effect:

* a closing: on `closed_on` (the first day the unit is closed), even when recorded later, and again when the
  closing day is corrected;
* a new registration day (`registered_on`): the history starts on it;
* any other change of a counted fact (region, roles, industry code, reopening): on the `effective_on` day given to
  `save`, else today (Asia/Shanghai) — the day the regulator recorded it or approved the unit's change request.

A change effective on day D holds from D on: the period D falls in is split at D and every later period takes the new
value too (a closing recorded late keeps the role changes recorded after its day). Neighbouring periods that say
the same are merged. Read the history through `registry.selectors`.

This module does not import the models (they call it): it reaches the rows through `organization.states`.
"""

import datetime as dt

from django.utils import timezone

FIELDS = ("status", "region_id", "industry_code", "is_generator", "is_transporter", "is_collector", "is_receiver",
          "is_medical_institution")
CLOSED = "closed"


def facts(row) -> dict:
    """The counted facts of a unit or of one of its periods."""
    return {name: getattr(row, name) for name in FIELDS}


def opening(organization) -> list[dict]:
    """The periods of a new unit: its facts from its registration day (a unit registered closed: active until its
    closing day, closed from it). Writers that insert units in bulk write these rows with them."""
    now, start, closed_on = facts(organization), organization.registered_on, organization.closed_on
    if now["status"] == CLOSED and closed_on is not None and closed_on > start:
        return [{"valid_from": start, "valid_to": closed_on, **now, "status": "active"},
                {"valid_from": closed_on, "valid_to": None, **now}]
    return [{"valid_from": start, "valid_to": None, **now}]


def follow(organization, *, effective_on: dt.date | None = None) -> None:
    """Bring the unit's history in line with its saved row (see the module docstring for when changes take effect)."""
    day = effective_on or timezone.localdate()
    now = facts(organization)
    start = organization.registered_on
    periods = list(organization.states.order_by("valid_from"))
    if not periods:
        for period in opening(organization):
            organization.states.create(**period)
        return
    if periods[0].valid_from != start:
        _restart(organization, periods, start)
    changed = {name: value for name, value in now.items() if getattr(periods[-1], name) != value}
    status = changed.pop("status", None)
    if changed:
        _apply(organization, changed, day)
    if status is not None:
        closing = status == CLOSED and organization.closed_on is not None
        _apply(organization, {"status": status}, organization.closed_on if closing else day)
    elif now["status"] == CLOSED and organization.closed_on is not None:  # the closing day corrected
        since = _closed_since(organization)
        if since != max(organization.closed_on, start):
            _apply(organization, {"status": "active"}, since)
            _apply(organization, {"status": CLOSED}, organization.closed_on)


def _closed_since(organization) -> dt.date:
    """The first day of the unit's last run of closed periods."""
    since = None
    for period in organization.states.order_by("-valid_from"):
        if period.status != CLOSED:
            break
        since = period.valid_from
    return since


def _apply(organization, values: dict, day: dt.date) -> None:
    """The facts `values` hold from `day` on."""
    for period in organization.states.order_by("valid_from"):
        if period.valid_from >= day:
            for name, value in values.items():
                setattr(period, name, value)
            period.save()
        elif period.valid_to is None or period.valid_to > day:  # `day` falls inside: split the period there
            organization.states.create(valid_from=day, valid_to=period.valid_to, **{**facts(period), **values})
            period.valid_to = day
            period.save(update_fields=["valid_to"])
    _merge(organization)


def _restart(organization, periods: list, start: dt.date) -> None:
    """The history begins on `start` (the registration day moved): earlier periods go, the first one reaches back."""
    kept = [p for p in periods if p.valid_to is None or p.valid_to > start]
    organization.states.filter(pk__in=[p.pk for p in periods if p not in kept]).delete()
    first = kept[0]
    first.valid_from = start
    first.save(update_fields=["valid_from"])
    periods[:] = kept


def _merge(organization) -> None:
    """One period for each run of days with the same facts."""
    previous = None
    for period in list(organization.states.order_by("valid_from")):
        if previous is not None and facts(previous) == facts(period):
            previous.valid_to = period.valid_to
            period.delete()
            previous.save(update_fields=["valid_to"])
        else:
            previous = period
