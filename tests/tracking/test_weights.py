"""tracking.weights: what a unit generated in the supervision class's two periods, as the ledger counts it."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.tracking import MEDICAL, OIL, make_plant, record
from wufei.ledgers.compute import compute_ledger
from wufei.tracking import services, weights

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*parts) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=SHANGHAI)


@pytest.mark.parametrize("today, last_year, running", [
    (dt.date(2026, 3, 15), (local(2025, 1, 1), local(2026, 1, 1)), (local(2025, 3, 16), local(2026, 3, 16))),
    (dt.date(2026, 1, 1), (local(2025, 1, 1), local(2026, 1, 1)), (local(2025, 1, 2), local(2026, 1, 2))),
    (dt.date(2028, 2, 29), (local(2027, 1, 1), local(2028, 1, 1)), (local(2027, 3, 1), local(2028, 3, 1))),
])
def test_periods_are_local_calendar_days(today, last_year, running):
    assert weights.generation_windows(today) == {"last_year": last_year, "running_12_months": running}


@pytest.fixture
def plant(make_org, make_site, member_of):
    return make_plant(make_org, make_site, member_of)


def test_recorded_generation_counts_each_period_and_agrees_with_the_ledger(plant, make_org, make_site, member_of):
    """As of 15 March 2026 (last year 2025; running twelve months 16 March 2025 – 15 March 2026, local days):

    produced (local time)    t    last year   12 months
    2025-01-01 00:00         1        1
    2025-03-15 23:59         2        2                   (medical waste: hazardous too)
    2025-03-16 00:00         4        4          4
    2025-12-31 23:30         8        8          8        (recorded unweighed, weighed later)
    2026-01-01 00:30        16                  16
    2026-03-15 23:59        32                  32
    2026-03-16 00:00        64                            (after the day counted)
                                     15         60
    The ledger's 2025 generation of the unit is the same 15 t.
    """
    record(plant, weight="1", produced_at=local(2025, 1, 1))
    record(plant, weight="2", waste=MEDICAL, waste_name="感染性废物", physical_form="solid", packaging="bag",
           produced_at=local(2025, 3, 15, 23, 59))
    record(plant, weight="4", waste=OIL, produced_at=local(2025, 3, 16))
    [unweighed] = record(plant, weight=None, steps=("produced",), storage_site_id=None,
                         produced_at=local(2025, 12, 31, 23, 30))
    services.advance(scope=plant["scope"], code=unweighed.code, step="weighed", net_weight_tonnes=Decimal(8),
                     occurred_at=local(2026, 1, 5))
    record(plant, weight="16", produced_at=local(2026, 1, 1, 0, 30))
    record(plant, weight="32", produced_at=local(2026, 3, 15, 23, 59))
    record(plant, weight="64", produced_at=local(2026, 3, 16))
    other = make_plant(make_org, make_site, member_of)
    record(other, weight="0.5", produced_at=local(2025, 6, 1))

    today = dt.date(2026, 3, 15)
    assert weights.recorded_generation([plant["org"].pk], today=today) == {plant["org"].pk: (Decimal(15), Decimal(60))}
    everyone = weights.recorded_generation(today=today)
    assert everyone == {plant["org"].pk: (Decimal(15), Decimal(60)), other["org"].pk: (Decimal("0.5"), Decimal("0.5"))}
    assert weights.recorded_generation([plant["org"].pk], today=dt.date(2030, 1, 1)) == {}  # nothing in either period
    assert weights.recorded_generation([], today=today) == {}

    ledger = compute_ledger(year=2025, organization_ids=[plant["org"].pk])
    assert sum(values["generated"] for values in ledger.values()) == Decimal(15)
