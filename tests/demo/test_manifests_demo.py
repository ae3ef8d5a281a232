"""`wufei demo`'s manifests: one per pickup of the year's scan record, and recent ones in every state.

The whole demo is built once for the package (tests/demo/conftest.py); each test runs in a savepoint of its own
on top of it.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.utils import timezone

from wufei.catalog.services import industrial_source_q
from wufei.core.audit import verify_chain
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.demo import manifests as demo
from wufei.demo.builders import reset_demo
from wufei.demo.registry import ADMIN_SCOPE
from wufei.ledgers.models import LedgerMonth
from wufei.manifests import services
from wufei.manifests.models import (
    ApplicationStatus,
    CrossProvinceApplication,
    Manifest,
    ManifestContainer,
    ManifestSequence,
    ManifestStatus,
    Purpose,
    Signature,
    SigningCode,
)
from wufei.registry.models import Organization
from wufei.tracking.models import Container, ScanEvent

BANAN = "500113"
S = ManifestStatus
T = Decimal




@pytest.fixture(scope="module")
def year():
    return timezone.localdate().year - 1


def scope_of(username: str):
    return scope_for(get_user_model().objects.get(username=username))


def huike() -> Organization:
    return Organization.objects.get(name=demo.HUIKE)


def live(**filters):
    """The manifests made through the services (history ones carry no creation event)."""
    created = AuditEvent.objects.filter(entity_type="manifests.manifest", action="created").values_list(
        "entity_id", flat=True)
    return Manifest.objects.filter(pk__in=[int(pk) for pk in created], **filters)


# --- history -------------------------------------------------------------------------------------

def test_every_history_pickup_has_exactly_one_manifest(built):
    pickups = defaultdict(set)
    for container, holder, receiver, at in ScanEvent.objects.filter(kind="handed_over", reference="").values_list(
            "container_id", "organization_id", "to_organization_id", "occurred_at"):
        pickups[(holder, receiver, at)].add(container)
    assert len(pickups) > 4000
    manifest_of = dict(ManifestContainer.objects.values_list("container_id", "manifest_id"))
    carried = defaultdict(set)
    for container, manifest in manifest_of.items():
        carried[manifest].add(container)
    seen = set()
    for containers in pickups.values():
        (manifest,) = {manifest_of[c] for c in containers}
        assert carried[manifest] == containers
        seen.add(manifest)
    assert len(seen) == len(pickups)
    manifests = Manifest.objects.in_bulk(list(seen)[:300])
    for (holder, receiver, _at), containers in pickups.items():
        row = manifests.get(manifest_of[next(iter(containers))])
        if row is not None:
            assert (row.generator_id, row.receiver_id, row.purpose) == (holder, receiver, Purpose.TRANSFER)
    imported = AuditEvent.objects.filter(entity_type="manifests.manifest", action="imported")
    assert imported.count() == len(seen)
    assert set(imported.values_list("entity_id", flat=True)) == {str(pk) for pk in seen}


def test_history_manifests_follow_the_scans(built, year):
    history = Manifest.objects.filter(picked_up_at__year=year)
    assert set(history.values_list("status", flat=True)) == {S.PROCESSED}
    sample = list(history.order_by("number")[::250])
    assert len(sample) > 10
    for manifest in sample:
        lines = list(manifest.lines.all())
        entries = list(manifest.carried.select_related("container"))
        assert sum(line.shipped_tonnes for line in lines) == manifest.shipped_tonnes == manifest.accepted_tonnes
        assert sum(e.shipped_tonnes for e in entries) == manifest.shipped_tonnes
        assert manifest.received_tonnes == manifest.shipped_tonnes and not manifest.discrepancy
        assert manifest.kind == ("medical" if any(e.container.is_medical for e in entries) else "hazardous")
        assert all(line.method_id and line.processed_on for line in lines)
        finals = set(ScanEvent.objects.filter(container__in=[e.container_id for e in entries],
                                              kind__in=["utilized", "disposed"]).values_list("method", flat=True))
        assert {line.method_id for line in lines} == finals
        steps = list(manifest.signatures.values_list("step", "signed_at"))
        assert [step for step, _at in steps] == ["submit", "pickup", "receive", "process"]
        assert steps[1][1] - steps[0][1] == dt.timedelta(minutes=30)
        (leg,) = manifest.legs.select_related("transporter", "vehicle")
        assert leg.transporter.is_transporter and leg.vehicle.organization_id == leg.transporter_id
        assert leg.vehicle.transport_permit_valid_until >= timezone.localtime(leg.taken_at).date()
        if manifest.kind == "medical" and manifest.generator.region_id == "500154":
            assert leg.transporter.name == "重庆尚善物流有限公司"
        else:
            assert leg.transporter.region_id == manifest.generator.region_id


def test_shipped_tonnes_of_the_year_are_the_ledgers_transfers(built, year):
    shipped = defaultdict(Decimal)
    for generator, tonnes in Manifest.objects.filter(picked_up_at__year=year).values_list("generator_id",
                                                                                         "shipped_tonnes"):
        shipped[generator] += tonnes
    ledger = defaultdict(Decimal)
    for organization, tonnes in LedgerMonth.objects.filter(year=year).values_list("organization_id",
                                                                                  "transferred_out"):
        ledger[organization] += tonnes
    assert {k: v for k, v in ledger.items() if v} == dict(shipped)
    # B §4.3: 3.01万t of industrial HW, over the industrial units (the indicators' rule); the social sources'
    # (auto repair, labs) shipments come on top
    banan = Organization.objects.filter(industrial_source_q(""), region=BANAN).values_list("pk", flat=True)
    assert sum((shipped[pk] for pk in banan), T(0)) == T("30060")
    social = Organization.objects.filter(region=BANAN, is_medical_institution=False).exclude(
        industrial_source_q("")).values_list("pk", flat=True)
    assert sum((shipped[pk] for pk in social), T(0)) > 200


# --- numbers ---------------------------------------------------------------------------------------

def test_numbers_are_unique_14_digits_and_serial(built, year):
    numbers = list(Manifest.objects.exclude(number=None).values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) > 4000
    assert all(len(n) == 14 and n.isdigit() for n in numbers)
    by_prefix = defaultdict(list)
    for number in numbers:
        by_prefix[number[:8]].append(int(number[8:]))
    assert f"{year}5001" in by_prefix and f"{year + 1}5001" in by_prefix
    for prefix, serials in by_prefix.items():
        assert sorted(serials) == list(range(1, len(serials) + 1)), prefix
        assert ManifestSequence.objects.get(prefix=prefix).last == len(serials)
    first = Manifest.objects.filter(number__startswith=f"{year}5001").order_by("number")
    times = list(first.values_list("submitted_at", flat=True))
    assert times == sorted(times)  # in the order of submission
    assert not Manifest.objects.filter(status=S.DRAFT).exclude(number=None).exists()


# --- live scenarios --------------------------------------------------------------------------------

def test_every_state_occurs(built):
    statuses = set(Manifest.objects.values_list("status", flat=True))
    assert {S.DRAFT, S.SUBMITTED, S.IN_TRANSIT, S.RECEIVED, S.REFUSED, S.PROCESSED, S.CANCELLED} <= statuses
    recent = timezone.now() - dt.timedelta(days=40)
    assert not live().filter(created_at__lt=recent).exists() and live().count() > 20


def test_the_demo_accounts_have_work(built):
    generator = scope_of("generator")
    mine = services.manifests_for(generator, organization=huike().pk)
    assert {S.DRAFT, S.SUBMITTED, S.IN_TRANSIT, S.RECEIVED, S.PROCESSED, S.REFUSED} <= set(
        mine.values_list("status", flat=True))
    draft = mine.get(status=S.DRAFT)
    assert services.available_steps(generator, draft) == ["submit", "cancel"]
    driver = scope_of("driver")
    waiting = services.manifests_for(driver, status=S.SUBMITTED)
    assert any("pickup" in services.available_steps(driver, m) for m in waiting)
    receiver = scope_of("receiver")
    assert any("receive" in services.available_steps(receiver, m)
               for m in services.manifests_for(receiver, status=S.IN_TRANSIT))
    assert any("process" in services.available_steps(receiver, m)
               for m in services.manifests_for(receiver, status=S.RECEIVED))
    assert services.manifests_for(scope_of("regulator")).filter(generator=huike()).count() == mine.count()


def test_refusals_follow_ups_and_discrepancies(built):
    partial = live(reception="partial").get()
    assert partial.refused_tonnes > 0 and partial.refusal_reason
    assert partial.accepted_tonnes == partial.received_tonnes  # what the receiver weighed
    (back,) = partial.followed_by.all()
    assert (back.purpose, back.status, back.receiver_id) == (Purpose.RETURN, S.RECEIVED, partial.generator_id)
    (returned,) = back.carried.select_related("container")
    assert (returned.container.holder_id, returned.container.status) == (partial.generator_id, "received")
    refused = Manifest.objects.get(status=S.REFUSED)
    assert refused.refused_tonnes == refused.shipped_tonnes and refused.refusal_reason
    (onward,) = refused.followed_by.all()
    assert (onward.purpose, onward.status) == (Purpose.ONWARD, S.PROCESSED)
    assert onward.receiver_id != refused.receiver_id
    assert not services.stranded_containers(refused) and not services.stranded_containers(partial)
    discrepancies = Manifest.objects.filter(discrepancy=True)
    assert discrepancies.count() == 2
    assert all(m.discrepancy_percent > 5 for m in discrepancies)
    assert {m.received_tonnes > m.shipped_tonnes - m.refused_tonnes for m in discrepancies} == {True, False}
    assert all(m.accepted_tonnes == m.received_tonnes for m in discrepancies)
    assert len({m.generator.region_id for m in discrepancies}) == 2


def test_cross_province_manifests_have_their_basis(built):
    crossing = Manifest.objects.exclude(cross_province_basis="").select_related("receiver", "application")
    sichuan = [m for m in crossing if m.receiver.region_id.startswith("51")]
    guizhou = [m for m in crossing if m.receiver.region_id.startswith("52")]
    assert len(sichuan) == 4 and {m.cross_province_basis for m in sichuan} == {"approval"}
    assert sorted(m.status for m in sichuan) == [S.IN_TRANSIT, S.PROCESSED, S.PROCESSED, S.PROCESSED]
    (application,) = {m.application for m in sichuan}
    assert application.status == ApplicationStatus.APPROVED
    assert [(h["step"], h["decision"]) for h in application.history] == [
        ("application", "submitted"), ("origin_review", "consented"), ("destination_review", "consented"),
        ("decision", "approved")]
    assert sum(m.shipped_tonnes for m in sichuan) <= application.approved_tonnes
    assert [(m.cross_province_basis, m.status) for m in guizhou] == [("point_to_point", S.PROCESSED)]
    refused = CrossProvinceApplication.objects.get(status=ApplicationStatus.REFUSED)
    assert refused.history[-1]["step"] == "destination_review" and refused.decision_note
    for username, province in (("sichuan-province", "510000"), ("guizhou-province", "520000")):
        assert scope_of(username).region_codes == (province,)
    assert CrossProvinceApplication.objects.visible_to(scope_of("sichuan-province")).count() == 2


def test_the_overdue_filter_finds_the_late_load(built):
    now = timezone.now()
    if (now - dt.datetime(now.year, 1, 1, tzinfo=dt.UTC)).days < 32:
        pytest.skip("built in January the recent manifests are squeezed after 1 January: none is late yet")
    (late,) = services.manifests_for(scope_of("regulator"), overdue=True)
    assert late.status == S.IN_TRANSIT and late.picked_up_at < services.overdue_since(now)
    assert services.is_overdue(late)
    assert services.manifests_for(ADMIN_SCOPE, status=S.IN_TRANSIT, overdue=False).count() == 2


def test_the_collection_round_closes(built):
    forward = Manifest.objects.get(purpose=Purpose.FORWARD)
    assert forward.status == S.PROCESSED
    related = services.lineage(ADMIN_SCOPE, forward)["related"]
    assert len(related) == 3
    assert {(m.purpose, m.status, m.receiver_id) for m in related} == {
        (Purpose.COLLECTION, S.PROCESSED, forward.generator_id)}
    assert len({m.generator_id for m in related}) == 3
    assert forward.carried.count() == sum(m.carried.count() for m in related)
    for line in (line for m in related for line in m.lines.all()):
        assert line.method_id == "D10" and line.processed_on
    assert set(Container.objects.filter(manifest_entries__manifest=forward).values_list("status", flat=True)) == {
        "disposed"}


def test_gate_signing_codes(built):
    for name, code in demo.SIGNING_CODES.items():
        assert check_password(code, SigningCode.objects.get(organization__name=name).digest)
    assert demo.SIGNING_CODES[demo.HUIKE] == "482913"
    gate = Signature.objects.get(method="signing_code")
    assert (gate.step, gate.organization.name, gate.user.username) == ("receive", demo.SHENGQING, "driver")


# --- the audit chain, running again, reset -----------------------------------------------------------

def test_the_audit_chain_holds(built):
    assert verify_chain().ok


def test_running_again_adds_nothing(built):
    before = Manifest.objects.count()
    call_command("demo", quiet=True)
    assert Manifest.objects.count() == before


def test_reset_removes_the_manifests(built):
    reset_demo()
    assert not Manifest.objects.exists() and not CrossProvinceApplication.objects.exists()
    assert not demo.is_built() and not ManifestSequence.objects.exists()
    assert verify_chain().ok
