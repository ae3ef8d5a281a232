from tests.alerts.conftest import scan
from wufei.alerts.models import Rule
from wufei.alerts.rules import RULES


def test_scan_on_an_empty_platform_creates_the_rules_and_opens_nothing(db):
    counts = scan()
    assert set(counts) == {spec.id for spec in RULES}
    assert Rule.objects.count() == len(RULES)
    assert all(c["opened"] == 0 for c in counts.values())


def test_scan_with_the_chain(chain):
    scan()
    scan()
