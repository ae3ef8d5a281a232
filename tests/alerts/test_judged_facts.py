"""A closed alert holds for the facts it judged: the next scan, full or incremental, opens nothing for the same
facts; a change of those facts opens a new alert that links to the closed one as its recurrence. An alert that
closed itself (its condition cleared) holds nothing back."""

import datetime as dt
from decimal import Decimal

import pytest

from tests.alerts.conftest import NOW, active, manifest, scan
from wufei.alerts import services
from wufei.alerts.models import Alert
from wufei.core.errors import Conflict
from wufei.core.scope import Scope
from wufei.manifests.models import ManifestStatus as S

pytestmark = pytest.mark.django_db
REGULATOR = Scope(is_platform_admin=True, user_id=None, username="regulator")


def _discrepancy(chain):
    """Received at 1.2 t of 1.3 t shipped: 7.692 % off, beyond the 5 % tolerance."""
    return manifest(chain, status=S.RECEIVED, tonnes="1.3", received_tonnes=Decimal("1.2"), discrepancy=True,
                    discrepancy_percent=Decimal("7.692"), received_at=NOW - dt.timedelta(days=1))


def _close(alert, *, via=("verify", "rectify", "close")):
    for action in via:
        alert.refresh_from_db()
        services.transition(scope=REGULATOR, alert_id=alert.pk, action=action, version=alert.version,
                            comment=f"{action}: checked")
    alert.refresh_from_db()
    return alert


def test_a_closed_alert_stays_closed_for_the_same_facts_and_recurs_when_they_change(chain):
    m = _discrepancy(chain)
    scan()
    [alert] = active("manifest.discrepancy")
    _close(alert)
    for full, at in ((True, NOW), (False, NOW + dt.timedelta(minutes=1)), (False, NOW + dt.timedelta(days=2))):
        counts = scan(full=full, now=at)
        assert counts["manifest.discrepancy"]["opened"] == 0
    assert list(Alert.objects.filter(rule_id="manifest.discrepancy").values_list("status", flat=True)) == ["closed"]

    m.received_tonnes = Decimal("1.1")  # a corrected weighbridge slip: other facts
    m.save()
    scan(now=NOW + dt.timedelta(days=3))
    [recurrence] = active("manifest.discrepancy")
    assert recurrence.recurrence_of_id == alert.pk and recurrence.evidence["received_tonnes"] == "1.1"


def test_an_open_alert_follows_its_facts_so_the_closure_judges_the_latest(chain):
    m = _discrepancy(chain)
    scan()
    [alert] = active("manifest.discrepancy")
    m.received_tonnes = Decimal("1.15")
    m.save()
    scan(now=NOW + dt.timedelta(minutes=10))
    alert.refresh_from_db()
    assert alert.evidence["received_tonnes"] == "1.15"
    _close(alert)
    scan(full=True, now=NOW + dt.timedelta(minutes=20))
    assert active("manifest.discrepancy") == []


def test_a_false_positive_holds_even_when_facts_change(chain):
    m = _discrepancy(chain)
    scan()
    [alert] = active("manifest.discrepancy")
    _close(alert, via=("false_positive",))
    m.received_tonnes = Decimal("1.1")
    m.save()
    scan(full=True)
    assert active("manifest.discrepancy") == []


def test_an_alert_that_closed_itself_recurs_when_its_condition_returns(chain):
    m = manifest(chain, status=S.IN_TRANSIT, picked_up_at=NOW - dt.timedelta(days=10))
    scan()
    [first] = active("manifest.overdue")
    m.status = S.RECEIVED
    m.save()
    scan(now=NOW + dt.timedelta(minutes=1))
    first.refresh_from_db()
    assert first.status == "closed" and first.closed_by_system
    m.status = S.IN_TRANSIT  # a revision put it back in transit
    m.save()
    scan(now=NOW + dt.timedelta(minutes=2))
    [again] = active("manifest.overdue")
    assert again.recurrence_of_id == first.pk


def test_reopening_a_closed_alert_while_its_recurrence_is_open_is_refused(chain):
    m = _discrepancy(chain)
    scan()
    [alert] = active("manifest.discrepancy")
    _close(alert)
    m.received_tonnes = Decimal("1.1")
    m.save()
    scan(full=True)
    [recurrence] = active("manifest.discrepancy")
    with pytest.raises(Conflict) as refused:
        services.transition(scope=REGULATOR, alert_id=alert.pk, action="reopen", version=alert.version,
                            comment="again")
    assert str(recurrence.pk) in refused.value.message
    assert Alert.objects.get(pk=alert.pk).status == "closed"
