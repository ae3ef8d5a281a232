"""One test per rule, each side of its threshold; the scan finds what trips a rule and nothing else."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.alerts.conftest import MEDICAL, NOW, SOLVENT, active, manifest, scan
from tests.conftest import BANAN
from wufei.alerts.models import Rule, TrackPoint
from wufei.ledgers.models import AnnualDeclaration, LedgerMonth, ManagementPlan, PlanStream, SolidWasteMonth
from wufei.manifests.models import ManifestStatus, Signature
from wufei.tracking.models import Container
from wufei.tracking.services import storage_state

S = ManifestStatus
pytestmark = pytest.mark.django_db


def entities(rule):
    return {a.entity_id for a in active(rule)}


def stored(chain, age, code=SOLVENT):
    [container] = chain.record(waste_code=code, waste_name="废物")
    Container.objects.filter(pk=container.pk).update(stored_at=NOW - age, produced_at=NOW - age)
    container.refresh_from_db()
    return container


# --- storage --------------------------------------------------------------------------------------------

def test_storage_near_limit_each_side_of_the_warning_window(chain):
    near, early = stored(chain, dt.timedelta(days=340)), stored(chain, dt.timedelta(days=330))
    medical_near, medical_early = stored(chain, dt.timedelta(hours=40), MEDICAL), stored(
        chain, dt.timedelta(hours=30), MEDICAL)
    scan()
    assert entities("storage.near_limit") == {str(near.pk), str(medical_near.pk)}
    assert storage_state(near, NOW) == "near_limit" and storage_state(early, NOW) == "ok"  # same as tracking
    assert storage_state(medical_near, NOW) == "near_limit" and storage_state(medical_early, NOW) == "ok"
    [alert] = active("storage.near_limit", entity_id=str(near.pk))
    assert alert.evidence["limit_days"] == 365 and alert.evidence["age_days"] == 340
    assert alert.organization_id == chain.generator.pk and alert.region_id == BANAN


def test_storage_over_limit_each_side_of_one_year(chain):
    over, under = stored(chain, dt.timedelta(days=366)), stored(chain, dt.timedelta(days=364))
    scan()
    assert entities("storage.over_limit") == {str(over.pk)}
    assert str(under.pk) in entities("storage.near_limit")
    assert storage_state(over, NOW) == "over_limit"


def test_medical_over_limit_each_side_of_48_hours(chain):
    over, under = stored(chain, dt.timedelta(hours=49), MEDICAL), stored(chain, dt.timedelta(hours=47), MEDICAL)
    scan()
    assert entities("medical.over_limit") == {str(over.pk)}
    assert str(under.pk) not in entities("medical.over_limit")
    assert entities("storage.over_limit") == set()


def test_storage_alert_closes_itself_when_the_container_leaves_the_stock(chain):
    over = stored(chain, dt.timedelta(days=400))
    scan()
    Container.objects.filter(pk=over.pk).update(status="loaded")
    scan()
    assert entities("storage.over_limit") == set()
    assert Rule.objects.get(pk="storage.over_limit").alerts.get().status == "closed"


# --- manifests -------------------------------------------------------------------------------------------

def test_manifest_overdue_each_side_of_five_working_days(chain):
    late = manifest(chain, status=S.IN_TRANSIT, picked_up_at=NOW - dt.timedelta(days=10))
    fresh = manifest(chain, status=S.IN_TRANSIT, picked_up_at=NOW - dt.timedelta(hours=20))
    scan()
    assert entities("manifest.overdue") == {str(late.pk)}
    assert str(fresh.pk) not in entities("manifest.overdue")


def test_manifest_discrepancy_flag_each_side_of_tolerance(chain):
    beyond = manifest(chain, discrepancy=True, discrepancy_percent=Decimal("6"), received_tonnes=Decimal("2.12"))
    within = manifest(chain, discrepancy=False, discrepancy_percent=Decimal("4"), received_tonnes=Decimal("2.08"))
    scan()
    assert entities("manifest.discrepancy") == {str(beyond.pk)}
    assert str(within.pk) not in entities("manifest.discrepancy")
    assert active("manifest.discrepancy")[0].organization_id == chain.receiver.pk


def test_receiver_not_permitted_for_code_or_method(chain):
    covered = manifest(chain, code=SOLVENT, method="D10")
    wrong_method = manifest(chain, code=SOLVENT, method="R9")
    wrong_code = manifest(chain, code="900-041-49", method="D10")
    no_method = manifest(chain, code=SOLVENT, method=None)
    scan()
    assert entities("manifest.receiver_not_permitted") == {str(wrong_method.pk), str(wrong_code.pk)}
    assert {str(covered.pk), str(no_method.pk)}.isdisjoint(entities("manifest.receiver_not_permitted"))


def test_capacity_exceeded_each_side_of_the_annual_capacity(chain):
    manifest(chain, tonnes="60")
    manifest(chain, tonnes="39")  # HW06 line: 100 t/a
    scan()
    assert entities("permit.capacity_exceeded") == set()
    manifest(chain, tonnes="2")
    scan()
    [alert] = active("permit.capacity_exceeded")
    assert alert.evidence["used_tonnes"] == "101" and alert.evidence["capacity_tonnes"] == "100"


def _load_fraction():
    start = timezone.make_aware(dt.datetime(NOW.astimezone(timezone.get_current_timezone()).year, 1, 1))
    return Decimal(str(min((NOW - start).total_seconds() / 86400, 365) / 365))


@pytest.mark.parametrize(("share", "high", "low"), [("0.95", True, False), ("0.85", False, False),
                                                    ("0.15", False, True), ("0.25", False, False)])
def test_facility_load_rate_high_and_low(chain, share, high, low):
    Rule.objects.filter(pk__in=["facility.load_high", "facility.load_low"]).update(
        parameters={"min_elapsed_days": 0})
    scan(rule_ids=["facility.load_high"])  # creates the rules
    Rule.objects.filter(pk__in=["facility.load_high", "facility.load_low"]).update(
        parameters={"min_elapsed_days": 0})
    expected = Decimal(150) * _load_fraction()  # HW06 100 + HW08 50 t/a
    manifest(chain, tonnes=str((expected * Decimal(share)).quantize(Decimal("0.001"))))
    scan()
    assert bool(entities("facility.load_high")) is high
    assert bool(entities("facility.load_low")) is low


def test_permit_expiring_and_expired(chain, make_org, make_permit):
    today = timezone.localdate()
    expiring = make_permit(make_org(roles=("receiver",)), valid_until=today + dt.timedelta(days=30))
    later = make_permit(make_org(roles=("receiver",)), valid_until=today + dt.timedelta(days=90))
    expired = make_permit(make_org(roles=("receiver",)), valid_until=today - dt.timedelta(days=1))
    scan()
    assert entities("permit.expiring") == {str(expiring.pk)}
    assert entities("permit.expired") == {str(expired.pk)}
    assert str(later.pk) not in entities("permit.expiring") | entities("permit.expired")


def test_vehicle_permit_expiring_and_expired(chain, make_vehicle):
    today = timezone.localdate()
    expiring = make_vehicle(chain.transporter, valid_until=today + dt.timedelta(days=59))
    later = make_vehicle(chain.transporter, valid_until=today + dt.timedelta(days=61))
    expired = make_vehicle(chain.transporter, valid_until=today - dt.timedelta(days=1))
    scan()
    assert entities("vehicle.permit_expiring") == {str(expiring.pk)}
    assert entities("vehicle.permit_expired") == {str(expired.pk)}
    assert str(later.pk) not in entities("vehicle.permit_expiring")


def test_same_generator_and_receiver(chain):
    same = manifest(chain, receiver=chain.generator)
    other = manifest(chain)
    returned = manifest(chain, receiver=chain.generator, purpose="return")
    scan()
    assert entities("manifest.same_parties") == {str(same.pk)}
    assert {str(other.pk), str(returned.pk)}.isdisjoint(entities("manifest.same_parties"))


def test_more_than_40_tonnes_on_one_road_vehicle(chain):
    heavy, limit = manifest(chain, tonnes="40.5"), manifest(chain, tonnes="40")
    no_vehicle = manifest(chain, tonnes="45", vehicle=False)
    old = manifest(chain, tonnes="45", submitted_at=NOW - dt.timedelta(days=100))  # beyond lookback_days (90)
    scan()
    assert entities("manifest.overweight") == {str(heavy.pk)}
    assert {str(limit.pk), str(no_vehicle.pk), str(old.pk)}.isdisjoint(entities("manifest.overweight"))
    assert active("manifest.overweight")[0].organization_id == chain.transporter.pk


# --- plans, ledgers, declarations ------------------------------------------------------------------------

def _approved_plan(organization, year, code, planned):
    plan = ManagementPlan.objects.create(organization=organization, year=year, status="approved",
                                         due_date=dt.date(year, 3, 31))
    PlanStream.objects.create(plan=plan, waste_id=code, planned_generation=Decimal(planned))
    return plan


@pytest.mark.parametrize(("generated", "trips"), [("12.5", True), ("11.9", False)])
def test_generation_above_the_plan_by_more_than_20_percent(chain, generated, trips):
    year = timezone.localdate().year
    _approved_plan(chain.generator, year, SOLVENT, "10")
    LedgerMonth.objects.create(organization=chain.generator, waste_id=SOLVENT, year=year, month=1,
                               generated=Decimal(generated))
    scan()
    assert entities("plan.generation_over") == ({f"{chain.generator.pk}:{year}:{SOLVENT}"} if trips else set())


def test_transfer_not_in_the_plan(chain):
    unplanned = manifest(chain, plan_warning="not in the approved management plan")
    planned = manifest(chain)
    scan()
    assert entities("plan.transfer_not_planned") == {str(unplanned.pk)}
    assert str(planned.pk) not in entities("plan.transfer_not_planned")


def test_monthly_ledger_missing(make_org):
    today = timezone.localdate()
    year = (today - dt.timedelta(days=15)).year
    months = list(range(1, (today - dt.timedelta(days=15)).month)) if year == today.year else list(range(1, 13))
    complete, gaps, small = make_org(), make_org(), make_org()
    for org, tonnes in ((complete, "120"), (gaps, "120"), (small, "50")):
        for month in range(1, 13):
            SolidWasteMonth.objects.create(organization=org, code="SW01", year=year - 1, month=month,
                                           generated=Decimal(tonnes) / 12)
    for month in months:
        SolidWasteMonth.objects.create(organization=complete, code="SW01", year=year, month=month)
        if month != 1:
            SolidWasteMonth.objects.create(organization=gaps, code="SW01", year=year, month=month)
    scan()
    if months:
        assert entities("ledger.monthly_missing") == {f"{gaps.pk}:{year}"}
        assert active("ledger.monthly_missing")[0].evidence["months_missing"] == [1]
    else:
        assert entities("ledger.monthly_missing") == set()


def test_plan_overdue(make_org):
    year = timezone.localdate().year
    missing = make_org(supervision_class="key")
    filed = make_org(supervision_class="key")
    registered = make_org(supervision_class="registered")
    ManagementPlan.objects.create(organization=filed, year=year, status="submitted", due_date=dt.date(year, 3, 31))
    after, before = timezone.make_aware(dt.datetime(year, 4, 2, 10)), timezone.make_aware(dt.datetime(year, 3, 30))
    scan(now=before)
    assert entities("plan.overdue") == set()
    scan(now=after)
    assert entities("plan.overdue") == {f"{missing.pk}:{year}"}
    assert f"{registered.pk}:{year}" not in entities("plan.overdue")


def test_declaration_overdue(make_org):
    year = timezone.localdate().year
    late, done = make_org(), make_org()
    for org in (late, done):
        LedgerMonth.objects.create(organization=org, waste_id=SOLVENT, year=year - 1, month=5, generated=1)
    AnnualDeclaration.objects.create(organization=done, year=year - 1, status="submitted",
                                     due_date=dt.date(year, 3, 31))
    scan(now=timezone.make_aware(dt.datetime(year, 3, 30)))
    assert entities("declaration.overdue") == set()
    scan(now=timezone.make_aware(dt.datetime(year, 4, 1, 9)))
    assert entities("declaration.overdue") == {f"{late.pk}:{year - 1}"}


@pytest.mark.parametrize(("difference", "trips"), [("0.5", True), ("0.0005", False)])
def test_mass_balance_gap(chain, monkeypatch, difference, trips):
    from wufei.alerts.checks import plans

    year = timezone.localdate().year
    LedgerMonth.objects.create(organization=chain.generator, waste_id=SOLVENT, year=year, month=1, generated=2)

    def fake(scope, organization_id, year, now=None):
        return {"organization": chain.generator, "codes": [{
            "waste": SOLVENT, "difference": Decimal(difference), "balanced": not trips,
            "expected_closing": Decimal(2), "actual_stock": Decimal(2) + Decimal(difference),
            "records": [{"type": "unexplained", "message": "x"}] if trips else []}]}

    monkeypatch.setattr(plans, "mass_balance", fake)
    scan()
    assert entities("ledger.mass_balance_gap") == ({f"{chain.generator.pk}:{year}:{SOLVENT}"} if trips else set())


# --- tracks and signatures --------------------------------------------------------------------------------

GEN = (Decimal("106.500000"), Decimal("29.400000"))
REC = (Decimal("108.400000"), Decimal("31.200000"))


def _placed(chain):
    chain.generator.__class__.objects.filter(pk=chain.generator.pk).update(longitude=GEN[0], latitude=GEN[1])
    chain.receiver.__class__.objects.filter(pk=chain.receiver.pk).update(longitude=REC[0], latitude=REC[1])


def _track(leg, points, start=None):
    start = start or leg.taken_at
    for minutes, lon, lat in points:
        TrackPoint.objects.create(leg=leg, recorded_at=start + dt.timedelta(minutes=minutes),
                                  longitude=Decimal(str(lon)), latitude=Decimal(str(lat)))


def _along(fraction):
    return (round(float(GEN[0]) + (float(REC[0]) - float(GEN[0])) * fraction, 6),
            round(float(GEN[1]) + (float(REC[1]) - float(GEN[1])) * fraction, 6))


def _transit(chain, hours=3):
    _placed(chain)
    m = manifest(chain, status=S.IN_TRANSIT, picked_up_at=NOW - dt.timedelta(hours=hours))
    return m, m.legs.get()


def test_track_gap(chain):
    m, leg = _transit(chain)
    _track(leg, [(i * 10, *_along(i / 20)) for i in range(19)])  # every 10 min until 10 min ago
    m2, leg2 = _transit(chain)
    _track(leg2, [(i * 10, *_along(i / 20)) for i in range(19) if i not in (5, 6, 7)])  # 40 min hole
    scan()
    assert entities("track.gap") == {str(leg2.pk)}
    assert active("track.gap")[0].evidence["gap_minutes"] == 40


def test_long_stop_away_from_known_sites(chain):
    m, leg = _transit(chain)
    stop = _along(0.5)
    _track(leg, [(0, *_along(0)), *[(10 + i * 10, *stop) for i in range(10)], (110, *_along(0.6))])  # 90 min
    m2, short = _transit(chain)
    _track(short, [(0, *_along(0)), *[(10 + i * 10, *stop) for i in range(4)], (50, *_along(0.6))])  # 30 min
    m3, at_site = _transit(chain)
    _track(at_site, [(i * 10, *_along(0)) for i in range(12)])  # 110 min at the generator
    scan()
    assert entities("track.long_stop") == {str(leg.pk)}


def test_off_the_route_corridor(chain):
    m, on_route = _transit(chain)
    _track(on_route, [(i * 10, *_along(i / 18)) for i in range(18)])
    m2, detour = _transit(chain)
    lon, lat = _along(0.5)
    _track(detour, [(i * 10, *_along(i / 18)) for i in range(9)] + [(90, lon - 0.3, lat + 0.3)])  # ~40 km off
    scan()
    assert entities("track.off_corridor") == {str(detour.pk)}
    assert active("track.off_corridor")[0].evidence["distance_km"] > 15


def test_pickup_signed_far_from_the_site(chain):
    _placed(chain)
    near, far = manifest(chain), manifest(chain)
    for m, lon in ((near, GEN[0] + Decimal("0.005")), (far, GEN[0] + Decimal("0.05"))):  # ~0.5 km / ~5 km
        Signature.objects.create(manifest=m, step="pickup", organization=chain.transporter, signer_name="张师傅",
                                 method="account", signed_at=NOW - dt.timedelta(hours=1), longitude=lon,
                                 latitude=GEN[1])
    far_sig = Signature.objects.get(manifest=far)
    scan()
    assert entities("signature.far_from_site") == {str(far_sig.pk)}
