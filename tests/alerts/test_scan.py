"""The scan itself: idempotent reruns, dismissed alerts stay dismissed, auto-close vs cleared, region overrides."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from tests.alerts.conftest import NOW, active, manifest, scan
from tests.conftest import KAIZHOU
from wufei.alerts import services
from wufei.alerts.models import Alert, Notification, RuleOverride, ScanRun
from wufei.core.models import Parameter
from wufei.core.scope import Scope
from wufei.manifests.models import ManifestStatus as S
from wufei.tracking.models import Container

pytestmark = pytest.mark.django_db
ADMIN = Scope(is_platform_admin=True, user_id=None)


def _everything(chain):
    manifest(chain, status=S.IN_TRANSIT, picked_up_at=NOW - dt.timedelta(days=10))
    manifest(chain, tonnes="45")
    manifest(chain, receiver=chain.generator)
    [c] = chain.record()
    Container.objects.filter(pk=c.pk).update(stored_at=NOW - dt.timedelta(days=400))
    return c


def test_a_rerun_opens_nothing_new_full_or_incremental(chain):
    _everything(chain)
    first = scan()
    opened = sum(c["opened"] for c in first.values())
    assert opened >= 4
    count = Alert.objects.count()
    for full in (False, True, False):
        again = scan(full=full)
        assert sum(c["opened"] for c in again.values()) == 0
        assert Alert.objects.count() == count
    assert ScanRun.objects.filter(finished_at__isnull=False).count() == 4
    assert Notification.objects.filter(action="opened").count() == 2 * count  # the organization and the region


def test_the_database_refuses_a_second_open_alert_for_the_same_rule_and_entity(chain):
    _everything(chain)
    scan()
    alert = Alert.objects.first()
    twin = Alert(rule=alert.rule, level=alert.level, entity_type=alert.entity_type, entity_id=alert.entity_id,
                 region=alert.region, region_path=alert.region_path, opened_at=NOW, last_seen_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_neither_a_false_positive_nor_a_closed_alert_whose_facts_persist_is_reopened(chain, regulator_of):
    from wufei.core.scope import scope_for

    _everything(chain)
    scan()
    regulator = scope_for(regulator_of(KAIZHOU))
    [alert] = active("manifest.overweight", region_id=chain.transporter.region_id)
    admin = Scope(is_platform_admin=True, user_id=None, username="admin")
    services.transition(scope=admin, alert_id=alert.pk, action="false_positive", version=alert.version,
                        comment="weighed twice")
    [same] = active("manifest.same_parties")
    services.transition(scope=admin, alert_id=same.pk, action="verify", version=same.version)
    same.refresh_from_db()
    services.transition(scope=admin, alert_id=same.pk, action="close", version=same.version, comment="fined")
    scan(full=True)
    assert active("manifest.overweight") == []
    assert active("manifest.same_parties") == []  # the same facts the regulator closed (test_judged_facts.py)
    assert regulator.is_regulator


def test_an_alert_whose_rule_does_not_close_itself_is_marked_cleared(chain):
    m = manifest(chain, tonnes="45")
    scan()
    m.shipped_tonnes = 30
    m.save()
    scan()
    [alert] = active("manifest.overweight")
    assert alert.cleared_at is not None and alert.status == "open"
    m.shipped_tonnes = 45
    m.save()
    scan()
    alert.refresh_from_db()
    assert alert.cleared_at is None


def test_region_override_of_parameters_level_and_switch(chain):
    scan()
    kaizhou_generator = chain.receiver  # any Kaizhou unit
    banan = manifest(chain, tonnes="35")
    kaizhou = manifest(chain, tonnes="35", generator=kaizhou_generator)
    RuleOverride.objects.create(rule_id="manifest.overweight", region_id=KAIZHOU, parameters={"max_tonnes": "30"},
                                level="red")
    scan()
    [alert] = active("manifest.overweight")
    assert alert.entity_id == str(kaizhou.pk) and alert.level == "red"
    assert str(banan.pk) not in {a.entity_id for a in active("manifest.overweight")}
    RuleOverride.objects.filter(region_id=KAIZHOU).update(enabled=False)
    scan(full=True)
    assert len(active("manifest.overweight")) == 1  # switched off there: left alone, not closed


def test_a_platform_parameter_override_moves_a_shared_threshold_for_its_region(chain):
    [c] = chain.record()
    Container.objects.filter(pk=c.pk).update(stored_at=NOW - dt.timedelta(days=200))
    scan()
    assert active("storage.over_limit") == []
    Parameter.objects.create(key="storage.max_days", region_code=chain.generator.region_id, value=180)
    scan()
    assert len(active("storage.over_limit")) == 1


def test_changing_a_rule_makes_the_next_incremental_scan_reread_old_rows(chain):
    from wufei.manifests.models import Manifest

    old = manifest(chain, tonnes="35")
    scan()
    Manifest.objects.filter(pk=old.pk).update(updated_at=NOW - dt.timedelta(hours=2))
    scan()  # the watermark moves past the manifest
    assert active("manifest.overweight") == []
    services.update_rule(scope=Scope(is_platform_admin=True), rule_id="manifest.overweight", version=None,
                         parameters={"max_tonnes": "30"})
    scan()
    assert [a.entity_id for a in active("manifest.overweight")] == [str(old.pk)]
