"""The registry as it stood on a past day, for the figures of a past year (read side of `registry.history`).

A unit counts for calendar year Y when, on 31 December of Y, the registry said it was active, in the region subtree,
with the role asked (`flag`, e.g. "is_medical_institution"): the year-end count (年末数) that the indicators' "active
units registered in the region" means, as statistical counts of units are taken. So a unit closed during Y does
not count for Y (it counts for the years before), a unit registered during Y counts for Y, a unit that moved district
during Y counts in its new district for Y and in its old one for the years before, once only in a region holding
both; for the year under way, the registry of today (changes dated later aside). Every figure of a year reads these
same units, so what counts them (`count_units`) and what lists them (`counted_units`) agree.
"""

import datetime as dt

from django.db.models import Count, Q

from wufei.registry.models import Organization, OrganizationState


def year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def _in_force(day: dt.date) -> Q:
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def states_on(day: dt.date, region_path: str = "", *, flag: str | None = None):
    """The periods in force on `day` of the units active then, in the region subtree `region_path` ('/500000/…/'),
    with the role `flag` if given: one row per unit."""
    states = OrganizationState.objects.filter(_in_force(day), status=Organization.Status.ACTIVE)
    if region_path:
        states = states.filter(region__path__startswith=region_path)
    if flag:
        states = states.filter(**{flag: True})
    return states


def units_as_of(day: dt.date, region_path: str = "", *, flag: str | None = None):
    """The units active on `day` in the region subtree with the role `flag` (Organization queryset)."""
    return Organization.objects.filter(pk__in=states_on(day, region_path, flag=flag).values("organization_id"))


def counted_units(year: int, region_path: str = "", *, flag: str | None = None):
    """The units counted for `year` (active on its 31 December, see the module docstring)."""
    return units_as_of(year_end(year), region_path, flag=flag)


def count_units(region_path: str, years, flags: dict[str, str]) -> dict[int, dict[str, int]]:
    """{year: {key: number of units counted for the year with the role flags[key]}}, in one query whatever the
    number of years and keys (a unit has one period in force on a day: rows counted are units)."""
    years = sorted(set(years))
    if not years:
        return {}
    states = OrganizationState.objects.filter(status=Organization.Status.ACTIVE, valid_from__lte=year_end(years[-1]))
    states = states.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=year_end(years[0])))
    if region_path:
        states = states.filter(region__path__startswith=region_path)
    found = states.aggregate(**{f"{key}_{year}": Count("pk", filter=Q(**{flag: True}) & _in_force(year_end(year)))
                                for year in years for key, flag in flags.items()})
    return {year: {key: found[f"{key}_{year}"] for key in flags} for year in years}
