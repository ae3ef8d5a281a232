"""bulk_record: the same rules as record_batch, rows in bulk, one audit link per container."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.tracking import MEDICAL, OIL, SOLVENT, make_plant
from wufei.core import audit
from wufei.core.errors import PermissionDenied, ValidationFailed
from wufei.core.models import AuditEvent
from wufei.core.scope import Scope
from wufei.registry.models import Organization
from wufei.tracking import codes, services
from wufei.tracking.models import CodeSequence, Container, ScanEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

START = dt.datetime(2025, 1, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def plant(make_org, make_site, member_of):
    return make_plant(make_org, make_site, member_of)


def batches(plant, n, *, days=3):
    wastes = (SOLVENT, OIL, MEDICAL)
    return [{
        "waste_code": wastes[i % 3], "physical_form": "liquid", "packaging": "drum",
        "net_weight_tonnes": Decimal("0.1") + Decimal(i % 7) / 100, "storage_site_id": plant["store"].pk,
        "site_id": plant["workshop"].pk, "produced_at": START + dt.timedelta(hours=(i * 24 * days) // n),
        "count": 1 + i % 2,
    } for i in range(n)]


def test_bulk_record_counts_codes_and_chain(plant):
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    made = services.bulk_record(scope=plant["scope"], organization_id=plant["org"].pk, batches=batches(plant, 300))
    assert len(made) == Container.objects.count() == 450  # 150 batches of one, 150 of two
    assert len({c.code for c in made}) == 450
    assert ScanEvent.objects.count() == 450 * 5
    links = AuditEvent.objects.filter(id__gt=before)
    assert links.filter(entity_type="tracking.container").count() == 450  # one link per container
    # the unit's class follows what it recorded (about 58 t in January 2025), in a link of its own when it changes
    reclassified = Organization.objects.get(pk=plant["org"].pk).supervision_class != "registered"
    assert list(links.exclude(entity_type="tracking.container").values_list("entity_type", "action")) == (
        [("registry.organization", "supervision_class_computed")] if reclassified else [])
    assert audit.verify_chain().ok
    call_command("audit", "verify")  # the command agrees (raises on a broken chain)
    # numbers per unit, waste and day run from 1 without gaps
    by_key = {}
    for container in made:
        parsed = codes.parse_code(container.code)
        by_key.setdefault((parsed.waste_code, parsed.day), []).append(parsed.sequence)
    assert all(sorted(numbers) == list(range(1, len(numbers) + 1)) for numbers in by_key.values())
    assert {(s.waste_id, s.day): s.last for s in CodeSequence.objects.all()} == {
        key: len(numbers) for key, numbers in by_key.items()}


def test_bulk_after_single_records_continues_the_sequence(plant):
    first = services.record_batch(scope=plant["scope"], organization_id=plant["org"].pk, waste_code=SOLVENT,
                                  waste_name="", physical_form="liquid", packaging="drum", net_weight_tonnes="1",
                                  produced_at=START, count=2)
    made = services.bulk_record(scope=plant["scope"], organization_id=plant["org"].pk, batches=[
        {"waste_code": SOLVENT, "physical_form": "liquid", "packaging": "drum", "net_weight_tonnes": "1",
         "produced_at": START, "count": 3}])
    assert [codes.parse_code(c.code).sequence for c in first + made] == [1, 2, 3, 4, 5]


def test_bulk_links_hold_the_same_values_as_a_snapshot(plant):
    [container] = services.bulk_record(scope=plant["scope"], organization_id=plant["org"].pk,
                                       batches=batches(plant, 1))
    link = AuditEvent.objects.get(entity_type="tracking.container", entity_id=str(container.pk))
    assert link.action == "recorded"
    assert link.payload["values"] == audit.snapshot(Container.objects.get(pk=container.pk))
    assert [e["kind"] for e in link.payload["events"]] == list(services.FIVE_STEP_KINDS)
    events = ScanEvent.objects.filter(container_id=container.pk).order_by("id")
    assert [e["id"] for e in link.payload["events"]] == list(events.values_list("id", flat=True))


def test_an_altered_event_breaks_the_chain(plant):
    services.bulk_record(scope=plant["scope"], organization_id=plant["org"].pk, batches=batches(plant, 5))
    link = AuditEvent.objects.filter(entity_type="tracking.container").order_by("id")[2]
    payload = link.payload
    payload["events"][2]["weight_tonnes"] = "0.001"
    AuditEvent.objects.filter(pk=link.pk).update(payload=payload)
    report = audit.verify_chain()
    assert not report.ok and report.broken_event_id == link.pk


def test_one_bad_batch_refuses_all_and_names_it(plant):
    rows = batches(plant, 6)
    rows[4]["waste_code"] = "123-456-78"
    rows[5]["net_weight_tonnes"] = None
    with pytest.raises(ValidationFailed) as caught:
        services.bulk_record(scope=plant["scope"], organization_id=plant["org"].pk, batches=rows)
    assert {e["field"] for e in caught.value.errors} == {"batches.4.waste_code", "batches.5.net_weight_tonnes"}
    assert "2 of 6 batches" in caught.value.message
    assert Container.objects.count() == 0 and CodeSequence.objects.count() == 0


def test_bulk_checks_the_scope(plant, make_org, member_of):
    from wufei.core.scope import scope_for

    stranger = scope_for(member_of(make_org()))
    with pytest.raises(Exception) as caught:
        services.bulk_record(scope=stranger, organization_id=plant["org"].pk, batches=batches(plant, 1))
    assert caught.value.code == "not_found"
    reader = scope_for(member_of(plant["org"], "reader"))
    with pytest.raises(PermissionDenied):
        services.bulk_record(scope=reader, organization_id=plant["org"].pk, batches=batches(plant, 1))


def test_platform_scope_records_without_a_user(plant):
    made = services.bulk_record(scope=Scope(is_platform_admin=True), organization_id=plant["org"].pk,
                                batches=batches(plant, 2))
    assert all(e.actor_id is None for e in ScanEvent.objects.filter(container_id__in=[c.pk for c in made]))
    assert audit.verify_chain().ok
