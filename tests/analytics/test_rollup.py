"""The stored monthly sums of scan events (analytics/rollup.py): stored part + live tail + unweighed events equal
the sum over every event, before and after a refresh, with new events, and after events are deleted."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from wufei.analytics import rollup, services
from wufei.analytics.models import EventTonnes, RollupMark
from wufei.catalog.models import Region
from wufei.core.scope import scope_for
from wufei.tracking import services as tracking
from wufei.tracking.models import Container, ScanEvent, ScanKind

T = Decimal


def figures(region) -> dict:
    return services.headline(services.stream_figures(region, timezone.localdate().year))


def live_figures(region, monkeypatch) -> dict:
    """The same figures read from the events alone: no stored sums, no refresh."""
    with monkeypatch.context() as patch:
        patch.setattr(rollup, "_mark", lambda lock=False: RollupMark(name=rollup.MARK))
        patch.setattr(rollup, "refresh", lambda **kw: 0)
        return figures(region)


@pytest.fixture
def events(chain):
    """Batches in January and now, one produced without a weight and weighed a day later, one disposed in-house."""
    year = timezone.localdate().year
    january = timezone.make_aware(dt.datetime(year, 1, 15, 10))
    chain.record(count=3, tonnes="0.5", produced_at=january)
    chain.record(count=1, tonnes="0.25")
    unweighed = chain.record(count=1, tonnes=None, steps=(ScanKind.PRODUCED, ScanKind.PACKED),
                             produced_at=january)[0]
    tracking.scan(scope=chain.scopes["generator_admin"], code=unweighed.code, kind=ScanKind.WEIGHED,
                  weight_tonnes="0.4", occurred_at=january + dt.timedelta(days=1))
    return chain


def test_stored_sums_plus_tail_equal_the_events(events, monkeypatch):
    banan = Region.objects.get(code="500113")
    expected = live_figures(banan, monkeypatch)
    assert expected["hazardous"]["generated"] == T("2.15")  # 1.5 + 0.25 + 0.4 weighed after production

    assert rollup.refresh() == ScanEvent.objects.count()
    assert EventTonnes.objects.filter(month__month=1).exists() and EventTonnes.objects.exclude(month__month=1).exists()
    assert figures(banan) == expected
    stored = EventTonnes.objects.count()

    events.record(count=2, tonnes="0.125")  # the live tail, not stored yet
    assert EventTonnes.objects.count() == stored
    assert figures(banan)["hazardous"]["generated"] == T("2.4") == live_figures(banan, monkeypatch)["hazardous"][
        "generated"]
    rollup.refresh()
    assert figures(banan) == live_figures(banan, monkeypatch)


def test_deleted_events_make_the_stored_sums_stale_and_a_refresh_rebuilds_them(events, monkeypatch):
    banan = Region.objects.get(code="500113")
    rollup.refresh()
    container = Container.objects.filter(organization=events.generator, net_weight_tonnes=T("0.25")).get()
    container.events.all().delete()
    container.delete()
    mark = RollupMark.objects.get()
    assert not rollup.mark_is_valid(mark)
    assert figures(banan)["hazardous"]["generated"] == T("1.9") == live_figures(banan, monkeypatch)["hazardous"][
        "generated"]
    assert rollup.mark_is_valid(RollupMark.objects.get())  # the read rebuilt them


def test_the_command_and_the_tail_threshold(events, monkeypatch):
    out = StringIO()
    call_command("analytics_refresh", "--rebuild", stdout=out)
    assert f"{ScanEvent.objects.count()} new scan events summed" in out.getvalue()
    mark = RollupMark.objects.get()
    assert mark.last_event_id == ScanEvent.objects.latest("id").id and mark.event_count == ScanEvent.objects.count()
    monkeypatch.setattr(rollup, "REFRESH_AT_TAIL", 3)
    events.record(count=1, tonnes="0.1")  # five events: past the threshold, the next read brings the sums up
    figures(Region.objects.get(code="500113"))
    assert RollupMark.objects.get().event_count == ScanEvent.objects.count()
    assert scope_for(events.generator_admin)  # the sums hold no scope of their own: the cockpit's selectors do
