"""The manifest from draft to processing, with the containers following it, and the rules on the way."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import BANAN
from tests.manifests.conftest import MEDICAL, OIL, SOLVENT, draft, run
from wufei.core.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.models import AuditEvent
from wufei.manifests import services
from wufei.manifests.models import Manifest, ManifestStatus, Signature
from wufei.registry.models import Organization
from wufei.tracking.models import Container, ScanEvent

pytestmark = pytest.mark.django_db
S = ManifestStatus


def _statuses(containers):
    return [Container.objects.get(pk=c.pk).status for c in containers]


def test_whole_lifecycle_moves_containers_and_numbers_the_manifest(chain):
    containers = chain.record(count=3, tonnes="0.5")
    manifest = draft(chain, containers)
    assert manifest.status == S.DRAFT and manifest.number is None
    assert manifest.shipped_tonnes == Decimal("1.5")
    [line] = manifest.lines.all()
    assert (line.waste_id, line.container_count, line.planned_method_id) == (SOLVENT, 3, "D10")

    run(chain, manifest, "submit", "generator_admin")
    manifest.refresh_from_db()
    assert manifest.status == S.SUBMITTED
    year = timezone.localdate().year
    assert manifest.number.startswith(f"{year}5001") and len(manifest.number) == 14
    assert _statuses(containers) == ["stored"] * 3  # nothing leaves before the carrier signs

    run(chain, manifest, "pickup", "driver")
    assert _statuses(containers) == ["handed_over"] * 3
    assert {c.holder_id for c in Container.objects.filter(pk__in=[c.pk for c in containers])} == {
        chain.transporter.pk}

    run(chain, manifest, "receive", "receiver_admin", received_tonnes="1.5")
    manifest.refresh_from_db()
    assert (manifest.status, manifest.reception, manifest.accepted_tonnes) == (S.RECEIVED, "accepted",
                                                                              Decimal("1.5"))
    assert _statuses(containers) == ["received"] * 3

    run(chain, manifest, "process", "receiver_admin", method="D10")
    manifest.refresh_from_db()
    assert manifest.status == S.PROCESSED
    assert _statuses(containers) == ["disposed"] * 3
    assert manifest.lines.get().method_id == "D10"
    steps = list(Signature.objects.filter(manifest=manifest).values_list("step", flat=True))
    assert steps == ["submit", "pickup", "receive", "process"]
    actions = set(AuditEvent.objects.filter(entity_type="manifests.manifest", entity_id=str(manifest.pk))
                  .values_list("action", flat=True))
    assert {"signed_submit", "signed_pickup", "signed_receive", "signed_process"} <= actions
    # the container scans carry the manifest number (the trace shows the manifest)
    assert set(ScanEvent.objects.filter(container=containers[0], kind="handed_over").values_list(
        "reference", flat=True)) == {manifest.number}


def test_numbers_are_serial_per_city_and_year(chain):
    first = draft(chain, chain.record())
    second = draft(chain, chain.record())
    run(chain, first, "submit", "generator_admin")
    run(chain, second, "submit", "generator_admin")
    first.refresh_from_db()
    second.refresh_from_db()
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


def test_transport_in_two_legs(chain):
    containers = chain.record(count=2)
    legs = [{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk},
            {"transporter_id": chain.second_carrier.pk, "vehicle_id": chain.second_vehicle.pk}]
    manifest = draft(chain, containers, legs=legs)
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    with pytest.raises(PermissionDenied):  # the handover is signed by the carrier taking the load over
        run(chain, manifest, "handover", "driver")
    run(chain, manifest, "handover", "second_admin")
    assert {Container.objects.get(pk=c.pk).holder_id for c in containers} == {chain.second_carrier.pk}
    run(chain, manifest, "receive", "receiver_admin")
    legs = services.legs_of(Manifest.objects.get(pk=manifest.pk))
    assert all(leg.taken_at and leg.handed_at for leg in legs)


def test_illegal_step_is_409_and_changes_nothing(chain):
    manifest = draft(chain, chain.record())
    before = Manifest.objects.get(pk=manifest.pk)
    with pytest.raises(Conflict) as error:
        run(chain, manifest, "receive", "receiver_admin")
    assert error.value.code == "step_not_allowed"
    after = Manifest.objects.get(pk=manifest.pk)
    assert (after.status, after.version) == (before.status, before.version)


def test_stale_version_is_refused(chain):
    manifest = draft(chain, chain.record())
    stale = manifest.version
    run(chain, manifest, "submit", "generator_admin")
    with pytest.raises(Conflict) as error:
        services.sign(scope=chain.scopes["driver"], manifest_id=manifest.pk, step="pickup", version=stale)
    assert error.value.code == "stale_version"


def test_only_the_party_of_the_step_signs(chain):
    manifest = draft(chain, chain.record())
    with pytest.raises(PermissionDenied):
        run(chain, manifest, "submit", "receiver_admin")
    run(chain, manifest, "submit", "generator_admin")
    with pytest.raises(PermissionDenied):
        run(chain, manifest, "pickup", "generator_admin")


def test_submission_checks_name_every_rule(chain, make_org, make_vehicle):
    unlicensed = make_org("无证单位", roles=("receiver",))
    expired = make_vehicle(chain.transporter, valid_until=dt.date.today() - dt.timedelta(days=1))
    manifest = draft(chain, chain.record(), receiver_id=unlicensed.pk,
                     legs=[{"transporter_id": chain.transporter.pk, "vehicle_id": expired.pk}])
    with pytest.raises(RuleViolation) as error:
        run(chain, manifest, "submit", "generator_admin")
    codes = {e["code"] for e in error.value.errors}
    assert {"receiver_not_permitted", "vehicle_permit_invalid"} <= codes
    assert Manifest.objects.get(pk=manifest.pk).status == S.DRAFT


def test_method_outside_the_permit_is_refused(chain):
    manifest = draft(chain, chain.record(), planned_method="D1")
    with pytest.raises(RuleViolation) as error:
        run(chain, manifest, "submit", "generator_admin")
    assert error.value.code == "receiver_not_permitted"


def test_capacity_left_is_checked(chain, make_org, make_permit):
    small = make_org("小容量处置厂", roles=("receiver",))
    make_permit(small, lines=(("HW06", "1", ("D10",)),))
    first = draft(chain, chain.record(tonnes="0.8"), receiver_id=small.pk)
    run(chain, first, "submit", "generator_admin")
    second = draft(chain, chain.record(tonnes="0.3"), receiver_id=small.pk)
    with pytest.raises(RuleViolation) as error:
        run(chain, second, "submit", "generator_admin")
    assert error.value.code == "receiver_capacity_exceeded"


def test_closed_receiver_cannot_be_used(chain):
    manifest = draft(chain, chain.record())
    Organization.objects.filter(pk=chain.receiver.pk).update(status="closed")
    with pytest.raises(RuleViolation) as error:
        run(chain, manifest, "submit", "generator_admin")
    assert error.value.code == "organization_closed"


def test_same_generator_and_receiver_is_refused(chain, make_permit):
    chain.generator.is_receiver = True
    chain.generator.save()
    make_permit(chain.generator, lines=(("HW06", "10", ("D10",)),))
    manifest = draft(chain, chain.record(), receiver_id=chain.generator.pk)
    with pytest.raises(RuleViolation) as error:
        run(chain, manifest, "submit", "generator_admin")
    assert "same_generator_and_receiver" in {e["code"] for e in error.value.errors}


def test_plan_warning_does_not_block(chain):
    manifest = draft(chain, chain.record())
    run(chain, manifest, "submit", "generator_admin")
    manifest.refresh_from_db()
    assert manifest.status == S.SUBMITTED and SOLVENT in manifest.plan_warning


def test_containers_rules(chain, make_org, make_site):
    stored = chain.record()
    manifest = draft(chain, stored)
    with pytest.raises(ValidationFailed):  # already on a manifest
        draft(chain, stored)
    other = make_org("别家")
    with pytest.raises(ValidationFailed):
        services.add_containers(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                                version=manifest.version, codes=["NOPE"])
    [medical] = chain.record(waste_code=MEDICAL, waste_name="感染性废物", physical_form="solid", packaging="bag")
    with pytest.raises(ValidationFailed):
        services.add_containers(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                                version=manifest.version, codes=[medical.code])
    assert other.pk


def test_lines_group_containers_by_waste(chain):
    solvents = chain.record(count=2, tonnes="0.25")
    oils = chain.record(count=1, waste_code=OIL, waste_name="废矿物油", tonnes="0.4")
    manifest = draft(chain, solvents + oils)
    lines = {line.waste_id: line for line in manifest.lines.all()}
    assert lines[SOLVENT].shipped_tonnes == Decimal("0.5") and lines[OIL].shipped_tonnes == Decimal("0.4")
    services.remove_containers(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                               version=manifest.version, codes=[oils[0].code])
    manifest.refresh_from_db()
    assert manifest.shipped_tonnes == Decimal("0.5") and manifest.lines.count() == 1


def test_partial_refusal_and_return(chain):
    containers = chain.record(count=3, tonnes="0.5")
    manifest = draft(chain, containers)
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    with pytest.raises(ValidationFailed):  # a refusal needs its reason
        run(chain, manifest, "receive", "receiver_admin", refused_containers=[containers[0].code])
    run(chain, manifest, "receive", "receiver_admin", refused_containers=[containers[0].code],
        refusal_reason="包装破损")
    manifest.refresh_from_db()
    assert (manifest.reception, manifest.accepted_tonnes, manifest.refused_tonnes) == ("partial", Decimal("1.0"),
                                                                                      Decimal("0.5"))
    assert manifest.accepted_tonnes + manifest.refused_tonnes == manifest.shipped_tonnes
    refused = Container.objects.get(pk=containers[0].pk)
    assert (refused.status, refused.holder_id) == ("handed_over", chain.transporter.pk)

    back = services.create_follow_up(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                                     purpose="return")
    assert back.follows_id == manifest.pk and back.receiver_id == chain.generator.pk
    assert list(back.carried.values_list("container_id", flat=True)) == [refused.pk]
    run(chain, back, "submit", "generator_admin")
    run(chain, back, "pickup", "driver")
    run(chain, back, "receive", "generator_admin")
    back.refresh_from_db()
    refused.refresh_from_db()
    assert back.status == S.RECEIVED and (refused.holder_id, refused.status) == (chain.generator.pk, "received")
    with pytest.raises(Conflict):
        run(chain, back, "process", "generator_admin", method="D10")
    with pytest.raises(Conflict):  # nothing left to follow up
        services.create_follow_up(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk, purpose="return")


def test_whole_refusal_goes_onward(chain, make_org, make_permit):
    containers = chain.record(count=2)
    manifest = draft(chain, containers)
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    run(chain, manifest, "receive", "receiver_admin", refuse_all=True, refusal_reason="与联单不符")
    manifest.refresh_from_db()
    assert (manifest.status, manifest.reception, manifest.refused_tonnes) == (S.REFUSED, "refused",
                                                                             manifest.shipped_tonnes)
    other = make_org("另一处置厂", roles=("receiver",))
    make_permit(other, lines=(("HW06", "100", ("D10",)),))
    onward = services.create_follow_up(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                                       purpose="onward", receiver_id=other.pk)
    services.set_planned_methods(scope=chain.scopes["generator_admin"], manifest_id=onward.pk,
                                 version=onward.version, methods={1: "D10"})
    for step, who in (("submit", "generator_admin"), ("pickup", "driver")):
        run(chain, onward, step, who)
    other_admin_scope = _scope_of_new_admin(other)
    onward.refresh_from_db()
    services.sign(scope=other_admin_scope, manifest_id=onward.pk, step="receive", version=onward.version)
    onward.refresh_from_db()
    services.sign(scope=other_admin_scope, manifest_id=onward.pk, step="process", version=onward.version,
                  data={"method": "D10"})
    assert _statuses(containers) == ["disposed", "disposed"]


def _scope_of_new_admin(organization):
    from django.contrib.auth import get_user_model

    from wufei.core.scope import scope_for
    from wufei.registry.models import Membership

    user = get_user_model().objects.create_user(f"admin-{organization.pk}", password="x")
    Membership.objects.create(user=user, organization=organization, role="admin")
    return scope_for(user)


def test_discrepancy_beyond_tolerance(chain):
    manifest = draft(chain, chain.record(count=2, tonnes="1"))
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    run(chain, manifest, "receive", "receiver_admin", received_tonnes="1.8")
    manifest.refresh_from_db()
    assert manifest.discrepancy and manifest.discrepancy_percent == Decimal("10.000")
    assert manifest in services.manifests_for(chain.scopes["receiver_admin"], discrepancy=True)


def test_small_difference_is_no_discrepancy(chain):
    manifest = draft(chain, chain.record(count=2, tonnes="1"))
    for step, who in (("submit", "generator_admin"), ("pickup", "driver")):
        run(chain, manifest, step, who)
    run(chain, manifest, "receive", "receiver_admin", received_tonnes="1.95")
    manifest.refresh_from_db()
    assert not manifest.discrepancy


def test_cancel_before_pickup_only(chain):
    manifest = draft(chain, chain.record())
    run(chain, manifest, "submit", "generator_admin")
    with pytest.raises(ValidationFailed):
        run(chain, manifest, "cancel", "generator_admin")
    run(chain, manifest, "cancel", "generator_admin", reason="客户改期")
    manifest.refresh_from_db()
    assert manifest.status == S.CANCELLED
    again = draft(chain, [Container.objects.get(pk=manifest.carried.get().container_id)])  # free again
    run(chain, again, "submit", "generator_admin")
    run(chain, again, "pickup", "driver")
    with pytest.raises(Conflict):
        run(chain, again, "cancel", "generator_admin", reason="太晚了")


def test_revision_needs_the_other_signed_parties(chain):
    manifest = draft(chain, chain.record())
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    manifest.refresh_from_db()
    revision = services.request_revision(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                                         version=manifest.version, reason="应急措施补充",
                                         changes={"emergency_measures": "配备吸附棉"})
    assert revision.approvers == [chain.transporter.pk]
    with pytest.raises(PermissionDenied):
        services.decide_revision(scope=chain.scopes["receiver_admin"], revision_id=revision.pk, approve=True)
    services.decide_revision(scope=chain.scopes["transporter_admin"], revision_id=revision.pk, approve=True)
    manifest.refresh_from_db()
    assert manifest.emergency_measures == "配备吸附棉"
    with pytest.raises(ValidationFailed):
        services.request_revision(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                                  version=manifest.version, reason="换接受人", changes={"receiver_id": 1})


def test_cancel_in_transit_by_revision_strands_the_load_for_a_follow_up(chain):
    containers = chain.record(count=1)
    manifest = draft(chain, containers)
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    manifest.refresh_from_db()
    revision = services.request_revision(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                                         version=manifest.version, reason="车辆故障", cancel=True)
    services.decide_revision(scope=chain.scopes["transporter_admin"], revision_id=revision.pk, approve=True)
    manifest.refresh_from_db()
    assert manifest.status == S.CANCELLED
    assert [e.container_id for e in services.stranded_containers(manifest)] == [containers[0].pk]


def test_signing_code_at_the_gate(chain):
    services.set_signing_code(scope=chain.scopes["receiver_admin"], organization_id=chain.receiver.pk, code="246813")
    manifest = draft(chain, chain.record())
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    manifest.refresh_from_db()
    with pytest.raises(PermissionDenied) as error:  # the driver collects the receiver's signature at its gate
        services.sign(scope=chain.scopes["driver"], manifest_id=manifest.pk, step="receive",
                      version=manifest.version, signing_code="000000")
    assert error.value.code == "signing_code_wrong"
    services.sign(scope=chain.scopes["driver"], manifest_id=manifest.pk, step="receive", version=manifest.version,
                  signing_code="246813", signer_name="接收库管员")
    signature = Signature.objects.get(manifest=manifest, step="receive")
    assert (signature.organization_id, signature.method) == (chain.receiver.pk, "signing_code")


def test_signing_code_locks_after_repeated_failures(chain):
    services.set_signing_code(scope=chain.scopes["generator_admin"], organization_id=chain.generator.pk, code="135792")
    manifest = draft(chain, chain.record())
    for _attempt in range(5):
        with pytest.raises(PermissionDenied):
            services.sign(scope=chain.scopes["driver"], manifest_id=manifest.pk, step="submit",
                          version=manifest.version, signing_code="999999")
    with pytest.raises(PermissionDenied) as error:
        services.sign(scope=chain.scopes["driver"], manifest_id=manifest.pk, step="submit",
                      version=manifest.version, signing_code="135792")
    assert error.value.code == "signing_code_locked"
    assert Manifest.objects.get(pk=manifest.pk).status == S.DRAFT


def test_signing_code_needs_a_party_and_digits(chain, make_org, member_of):
    with pytest.raises(ValidationFailed):
        services.set_signing_code(scope=chain.scopes["generator_admin"], organization_id=chain.generator.pk,
                                  code="12ab56")
    services.set_signing_code(scope=chain.scopes["generator_admin"], organization_id=chain.generator.pk, code="135792")
    outsider = member_of(make_org("路人单位", roles=("transporter",)))
    from wufei.core.scope import scope_for

    manifest = draft(chain, chain.record())
    with pytest.raises(Exception) as error:
        services.sign(scope=scope_for(outsider), manifest_id=manifest.pk, step="submit", version=manifest.version,
                      signing_code="135792")
    assert error.value.code in ("not_found", "permission_denied")


def test_bulk_sign_reports_each(chain):
    ready = [draft(chain, chain.record()) for _ in range(3)]
    for manifest in ready:
        run(chain, manifest, "submit", "generator_admin")
    for manifest in ready:
        manifest.refresh_from_db()
    items = [{"id": m.pk, "version": m.version} for m in ready]
    items[1]["version"] -= 1  # stale
    results = services.bulk_sign(scope=chain.scopes["driver"], step="pickup", items=items)
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error"]["code"] == "stale_version"
    assert Manifest.objects.get(pk=ready[1].pk).status == S.SUBMITTED


def test_general_industrial_waste_manifest(chain, make_org):
    user_of_slag = make_org("建材综合利用厂", roles=("receiver",), region=BANAN)
    manifest = services.create_manifest(
        scope=chain.scopes["generator_admin"], kind="general", generator_id=chain.generator.pk,
        receiver_id=user_of_slag.pk, legs=[{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk}],
        lines=[{"general_code": "S01-S59", "waste_name": "炉渣", "tonnes": "30", "planned_method": "C2"}])
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    admin = _scope_of_new_admin(user_of_slag)
    manifest.refresh_from_db()
    services.sign(scope=admin, manifest_id=manifest.pk, step="receive", version=manifest.version,
                  data={"received_tonnes": "29.9"})
    manifest.refresh_from_db()
    services.sign(scope=admin, manifest_id=manifest.pk, step="process", version=manifest.version,
                  data={"method": "C2"})
    manifest.refresh_from_db()
    assert manifest.status == S.PROCESSED and manifest.accepted_tonnes == Decimal("29.9")  # what it weighed
    with pytest.raises(ValidationFailed):
        services.create_manifest(scope=chain.scopes["generator_admin"], kind="general",
                                 generator_id=chain.generator.pk, receiver_id=user_of_slag.pk,
                                 lines=[{"general_code": "", "waste_name": "", "tonnes": "-1"}])


def test_medical_manifest_carries_only_medical_waste(chain, make_org, make_permit):
    hospital = chain.generator
    hospital.is_medical_institution = True
    hospital.save()
    incinerator = make_org("医废处置中心", roles=("receiver",))
    make_permit(incinerator, kind="medical_waste", lines=(("HW01", "1000", ("Y10",)),))
    bags = chain.record(count=2, waste_code=MEDICAL, waste_name="感染性废物", physical_form="solid",
                        packaging="bag", tonnes="0.02")
    manifest = draft(chain, bags, kind="medical", receiver_id=incinerator.pk, planned_method="Y10")
    run(chain, manifest, "submit", "generator_admin")
    manifest.refresh_from_db()
    assert manifest.kind == "medical" and manifest.status == S.SUBMITTED
    with pytest.raises(ValidationFailed):
        draft(chain, chain.record(), kind="medical", receiver_id=incinerator.pk)


def test_small_volume_collection_keeps_the_lineage(chain, make_org, member_of, make_site, make_permit):
    """Two small generators → collector (one manifest each) → forwarded together → disposed: all three close."""
    from wufei.core.scope import scope_for

    collector = make_org("小微收集站", roles=("collector", "transporter"))
    make_permit(collector, kind="small_volume_collection", lines=(("HW08", "500", ()), ("HW06", "500", ())))
    collector_admin = member_of(collector, "admin")
    collector_store = make_site(collector, name="收集站贮存间")
    shops = []
    for name in ("汽修店甲", "汽修店乙"):
        shop = make_org(name, roles=("generator",))
        admin = member_of(shop, "admin")
        store = make_site(shop, name=f"{name}暂存点")
        [container] = chain.record(organization=shop, store=store, admin=admin, waste_code=OIL,
                                   waste_name="废矿物油", tonnes="0.1")
        shops.append((shop, scope_for(admin), container))
    collections = []
    for shop, scope, container in shops:
        manifest = services.create_manifest(
            scope=scope, kind="hazardous", purpose="collection", generator_id=shop.pk, receiver_id=collector.pk,
            legs=[{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk}],
            container_codes=[container.code], receiver_site_id=collector_store.pk)
        services.sign(scope=scope, manifest_id=manifest.pk, step="submit", version=manifest.version)
        run(chain, manifest, "pickup", "driver")
        manifest.refresh_from_db()
        services.sign(scope=scope_for(collector_admin), manifest_id=manifest.pk, step="receive",
                      version=manifest.version)
        collections.append(manifest)
    codes = [container.code for _shop, _scope, container in shops]
    forward = services.create_manifest(
        scope=scope_for(collector_admin), kind="hazardous", purpose="forward", generator_id=collector.pk,
        receiver_id=chain.receiver.pk, legs=[{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk}],
        container_codes=codes, planned_method="R9")
    services.sign(scope=scope_for(collector_admin), manifest_id=forward.pk, step="submit", version=forward.version)
    run(chain, forward, "pickup", "driver")
    run(chain, forward, "receive", "receiver_admin")
    run(chain, forward, "process", "receiver_admin", method="R9")
    for manifest in collections:
        manifest.refresh_from_db()
        assert manifest.status == S.PROCESSED
        assert manifest.lines.get().method_id == "R9"
    lineage = services.lineage(chain.scopes["receiver_admin"], Manifest.objects.get(pk=forward.pk))
    assert {m.pk for m in lineage["related"]} == set()  # the receiver does not see the shops' manifests
    lineage = services.lineage(scope_for(collector_admin), Manifest.objects.get(pk=forward.pk))
    assert {m.pk for m in lineage["related"]} == {m.pk for m in collections}
    assert _statuses([c for _s, _sc, c in shops]) == ["utilized", "utilized"]


def test_each_signature_seals_its_section(chain):
    """machine.FIELDS: the generator's fields close at submit, the carriers at pickup, a leg when it is taken."""
    manifest = draft(chain, chain.record())
    generator = chain.scopes["generator_admin"]
    services.update_draft(scope=generator, manifest_id=manifest.pk, version=manifest.version,
                          data={"note": "草稿可改"})
    run(chain, manifest, "submit", "generator_admin")
    manifest.refresh_from_db()
    with pytest.raises(Conflict) as error:
        services.update_draft(scope=generator, manifest_id=manifest.pk, version=manifest.version,
                              data={"receiver_id": chain.receiver.pk})
    assert error.value.code == "section_sealed"
    legs = [{"transporter_id": chain.second_carrier.pk, "vehicle_id": chain.second_vehicle.pk}]
    services.update_draft(scope=generator, manifest_id=manifest.pk, version=manifest.version, data={"legs": legs})
    manifest.refresh_from_db()
    services.update_leg(scope=chain.scopes["second_admin"], manifest_id=manifest.pk, version=manifest.version,
                        position=1, data={"driver_name": "李师傅"})
    manifest.refresh_from_db()
    services.sign(scope=chain.scopes["second_admin"], manifest_id=manifest.pk, step="pickup",
                  version=manifest.version)
    manifest.refresh_from_db()
    with pytest.raises(Conflict):
        services.update_draft(scope=generator, manifest_id=manifest.pk, version=manifest.version, data={"legs": []})
    with pytest.raises(Conflict):
        services.update_leg(scope=chain.scopes["second_admin"], manifest_id=manifest.pk, version=manifest.version,
                            position=1, data={"driver_name": "换人"})
    with pytest.raises(ValidationFailed):
        services.update_draft(scope=generator, manifest_id=manifest.pk, version=manifest.version,
                              data={"status": "processed"})
