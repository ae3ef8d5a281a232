"""One home of monthly figures: after any sequence of scans, manifests and e-ledger months, the cockpit's
figures, the indicators' platform quantities and a ledger built from scratch agree.

Hypothesis draws a sequence of actions through the public services — batches recorded (tracking), in-house
disposal scans, manifests drafted, submitted, picked up, received (with a weighbridge figure) and processed
(manifests), e-ledger months saved (ledgers.solid_waste) — over two provinces: an industrial generator and a
hospital in Banan (Chongqing), an industrial generator in Chengdu (Sichuan), a licensed receiver in Kaizhou
(Chongqing) and one in Chengdu; Banan's solvent may go to Chengdu (a whitelist), so waste crosses the border.
Refused actions (a WufeiError) change nothing and are skipped. Then, for each province:

* the cockpit's headline (analytics.services) equals, figure by figure, the sums of `compute_ledger` (the SQL
  build, not saved) over the province's units, and the e-ledger rows for GISW;
* the indicators' platform quantities (hw_generated, hw_transferred, hw_self_utilized, hw_self_disposed,
  ihw_generated, gisw_generated, gisw_utilized, gisw_disposed) equal the same sums;
* the ledger kept current incrementally (dirty marks + `ensure_current` on read) equals the ledger rebuilt from
  nothing (`build_ledger` after every row is deleted).
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import BANAN
from tests.manifests.conftest import MEDICAL, OIL, SOLVENT
from wufei.analytics import services as cockpit
from wufei.catalog.models import Region
from wufei.catalog.services import industrial_source_q, is_medical_code
from wufei.core.errors import WufeiError
from wufei.core.scope import Scope, scope_for
from wufei.indicators import quantities
from wufei.ledgers import solid_waste
from wufei.ledgers.compute import build_ledger, compute_ledger
from wufei.ledgers.models import LedgerMonth, SolidWasteMonth
from wufei.manifests import crossprovince
from wufei.manifests import services as manifests
from wufei.manifests.models import Manifest
from wufei.registry.models import Organization, Site
from wufei.tracking import services as tracking
from wufei.tracking.models import Container, ContainerStatus

pytestmark = pytest.mark.django_db
ADMIN = Scope(is_platform_admin=True, username="test")
CHENGDU = "510104"
PROVINCES = ("500000", "510000")
THREE = Decimal("0.001")
ZERO = Decimal(0)
WEIGHTS = ("0.1", "0.25", "0.5", "1.2")
# unit → the waste it records and the receivers it may ship to
UNITS = {"banan": (SOLVENT, ("kaizhou", "chengdu")), "hospital": (MEDICAL, ("kaizhou",)),
         "sichuan": (OIL, ("chengdu",))}
METHODS = {SOLVENT: ("D10", "R2"), OIL: ("D10", "R9"), MEDICAL: ("D10",)}
FIGURES = ("generated", "received_in", "transferred_out", "self_utilized", "self_disposed", "utilized", "disposed")


@pytest.fixture
def world(chain, make_org, member_of, make_site, make_permit, regulator_of):
    hospital = make_org("巴南区人民医院", region=BANAN, roles=("generator",), is_medical_institution=True,
                        industry_code="8411")
    sichuan = make_org("成都精密机械有限公司", region=CHENGDU, roles=("generator",))
    chengdu = make_org("四川危废处置中心", region=CHENGDU, roles=("receiver",))
    make_permit(chengdu, lines=(("HW06", "100", ("D10", "R2")), ("HW08", "100", ("D10", "R9"))))
    make_permit(chain.receiver, lines=(("HW01", "100", ("D10",)),))
    today = timezone.localdate()
    crossprovince.create_rule(scope=scope_for(regulator_of("500000")), kind="whitelist", origin_province="500000",
                              destination_province="510000", code="HW06", valid_from=today - dt.timedelta(days=400),
                              valid_until=today + dt.timedelta(days=30))
    units = {
        "banan": (chain.generator, chain.generator_admin, chain.store),
        "hospital": (hospital, member_of(hospital, "admin"), make_site(hospital, kind=Site.Kind.STORAGE)),
        "sichuan": (sichuan, member_of(sichuan, "admin"), make_site(sichuan, kind=Site.Kind.STORAGE)),
    }
    receivers = {"kaizhou": (chain.receiver, chain.receiver_admin),
                 "chengdu": (chengdu, member_of(chengdu, "admin"))}
    return {"chain": chain, "units": units, "receivers": receivers, "year": today.year, "today": today}


ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("record"), st.sampled_from(sorted(UNITS)), st.sampled_from(WEIGHTS), st.integers(1, 2)),
    st.tuples(st.just("ship"), st.sampled_from(sorted(UNITS)), st.integers(0, 1), st.integers(1, 3)),
    st.tuples(st.just("receive"), st.integers(0, 5), st.sampled_from(("1", "0.98", "1.03"))),
    st.tuples(st.just("process"), st.integers(0, 5), st.integers(0, 1)),
    st.tuples(st.just("self_dispose"), st.sampled_from(sorted(UNITS))),
    st.tuples(st.just("gisw"), st.sampled_from(("banan", "sichuan")), st.integers(1, 40), st.integers(0, 100),
              st.booleans()),
), min_size=3, max_size=14)


class Story:
    """Applies actions through the public services; remembers manifests and e-ledger months."""

    def __init__(self, world):
        self.world = world
        self.chain = world["chain"]
        self.manifests: list[tuple[int, str, str]] = []  # (manifest id, waste code, receiver key)
        self.solid_month = {"banan": 0, "sichuan": 0}
        self.solid_stock = {"banan": ZERO, "sichuan": ZERO}

    def apply(self, action):
        try:
            with transaction.atomic():
                getattr(self, action[0])(*action[1:])
        except WufeiError:
            pass  # refused: nothing changed

    def record(self, unit, weight, count):
        organization, admin, store = self.world["units"][unit]
        code = UNITS[unit][0]
        extra = {"physical_form": "solid", "packaging": "box"} if code == MEDICAL else {}
        tracking.record_batch(scope=scope_for(admin), organization_id=organization.pk, waste_code=code,
                              waste_name="测试废物", net_weight_tonnes=weight, storage_site_id=store.pk, count=count,
                              **{"physical_form": "liquid", "packaging": "drum", **extra})

    def ship(self, unit, receiver_index, count):
        organization, admin, _store = self.world["units"][unit]
        code, receivers = UNITS[unit]
        receiver_key = receivers[receiver_index % len(receivers)]
        receiver, _admin = self.world["receivers"][receiver_key]
        stored = list(Container.objects.filter(organization=organization, holder=organization,
                                               status=ContainerStatus.STORED).order_by("pk")[:count])
        if not stored:
            return
        chain = self.chain
        manifest = manifests.create_manifest(
            scope=scope_for(admin), kind="medical" if code == MEDICAL else "hazardous", generator_id=organization.pk,
            receiver_id=receiver.pk, container_codes=[c.code for c in stored], planned_method=METHODS[code][0],
            legs=[{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk, "driver_name": "张师傅"}])
        self._sign(manifest.pk, "submit", scope_for(admin))
        self._sign(manifest.pk, "pickup", chain.scopes["driver"])
        self.manifests.append((manifest.pk, code, receiver_key))

    def receive(self, index, ratio):
        if not self.manifests:
            return
        manifest_id, _code, receiver_key = self.manifests[index % len(self.manifests)]
        shipped = Manifest.objects.get(pk=manifest_id).shipped_tonnes or ZERO
        weighed = (shipped * Decimal(ratio)).quantize(Decimal("0.001"))
        self._sign(manifest_id, "receive", scope_for(self.world["receivers"][receiver_key][1]),
                   received_tonnes=str(weighed))

    def process(self, index, method_index):
        if not self.manifests:
            return
        manifest_id, code, receiver_key = self.manifests[index % len(self.manifests)]
        methods = METHODS[code]
        self._sign(manifest_id, "process", scope_for(self.world["receivers"][receiver_key][1]),
                   method=methods[method_index % len(methods)])

    def self_dispose(self, unit):
        organization, admin, _store = self.world["units"][unit]
        container = Container.objects.filter(organization=organization, holder=organization,
                                             status=ContainerStatus.STORED).order_by("-pk").first()
        if container is not None:
            tracking.scan(scope=scope_for(admin), code=container.code, kind="self_disposed", method_code="D10")

    def gisw(self, unit, generated, utilized_percent, entrust):
        month = self.solid_month[unit] + 1
        if month > self.world["today"].month:
            return
        organization, admin, _store = self.world["units"][unit]
        opening = self.solid_stock[unit]
        available = opening + generated
        utilized = (available * utilized_percent / 100).quantize(Decimal("0.001"))
        entrusted = (available - utilized) / 2 if entrust else ZERO
        entrusted = entrusted.quantize(Decimal("0.001"))
        closing = available - utilized - entrusted
        values = {"opening_stock": str(opening), "generated": str(generated), "self_utilized": str(utilized),
                  "entrusted_utilization": str(entrusted), "self_disposed": "0", "entrusted_disposal": "0",
                  "closing_stock": str(closing), "name": "冶炼废渣"}
        if entrusted:
            values["receiver"] = self.world["receivers"]["kaizhou"][0].uscc
        solid_waste.save_month(scope=scope_for(admin), organization_id=organization.pk, year=self.world["year"],
                               month=month, code="SW01", values=values)
        self.solid_month[unit], self.solid_stock[unit] = month, closing

    def _sign(self, manifest_id, step, scope, **data):
        manifest = Manifest.objects.get(pk=manifest_id)
        manifests.sign(scope=scope, manifest_id=manifest_id, step=step, version=manifest.version, data=data)


def from_scratch(year: int) -> dict:
    """{province: {stream: {figure: tonnes}}} from compute_ledger (not saved) and the e-ledger rows; plus the
    industrial hazardous generation."""
    provinces = {org.pk: org.region.path.strip("/").split("/")[0] for org in Organization.objects.select_related(
        "region")}
    industrial = set(Organization.objects.filter(industrial_source_q("")).values_list("pk", flat=True))
    out = {p: defaultdict(lambda: defaultdict(Decimal)) for p in PROVINCES}
    for (org, waste, month), values in compute_ledger(year=year).items():
        stream = "medical" if is_medical_code(waste) else "hazardous"
        figures = out[provinces[org]][stream]
        for name in FIGURES:
            figures[name] += values[name]
        if month == 12:
            figures["closing_stock"] += values["closing_stock"]
        if stream == "hazardous" and org in industrial:
            out[provinces[org]]["industrial"]["generated"] += values["generated"]
    for row in SolidWasteMonth.objects.filter(year=year):
        figures = out[provinces[row.organization_id]]["gisw"]
        for name in ("generated", "self_utilized", "self_disposed", "entrusted_utilization", "entrusted_disposal"):
            figures[name] += getattr(row, name)
        if row.receiver_id:
            out[provinces[row.receiver_id]]["gisw"]["received_in"] += row.entrusted_utilization + row.entrusted_disposal
    return out


def check_one_home(year: int):
    scratch = from_scratch(year)
    for code in PROVINCES:
        region = Region.objects.get(code=code)
        headline = cockpit.headline(cockpit.stream_figures(ADMIN, region, year))
        for stream in ("hazardous", "medical"):
            s = scratch[code][stream]
            expected = {"generated": s["generated"], "received": s["received_in"], "transferred": s["transferred_out"],
                        "utilized": s["self_utilized"] + s["utilized"], "disposed": s["self_disposed"] + s["disposed"],
                        "stored": s["closing_stock"]}
            got = {k: headline[stream][k] for k in expected}
            assert got == {k: v.quantize(THREE) for k, v in expected.items()}, (code, stream)
        g = scratch[code]["gisw"]
        expected = {"generated": g["generated"], "received": g["received_in"],
                    "transferred": g["entrusted_utilization"] + g["entrusted_disposal"],
                    "utilized": g["self_utilized"] + g["entrusted_utilization"],
                    "disposed": g["self_disposed"] + g["entrusted_disposal"]}
        assert {k: headline["gisw"][k] for k in expected} == {k: v.quantize(THREE) for k, v in expected.items()}, code

        hazardous, medical = scratch[code]["hazardous"], scratch[code]["medical"]
        values = quantities.platform_values(region.path, year, [
            "hw_generated", "hw_transferred", "hw_self_utilized", "hw_self_disposed", "ihw_generated",
            "gisw_generated", "gisw_utilized", "gisw_disposed"])

        def both(name, hazardous=hazardous, medical=medical):
            return (hazardous[name] + medical[name]).quantize(Decimal("0.000001"))

        if values["hw_generated"] is not None:
            assert (values["hw_generated"], values["hw_transferred"], values["hw_self_utilized"],
                    values["hw_self_disposed"]) == (both("generated"), both("transferred_out"),
                                                    both("self_utilized"), both("self_disposed")), code
            assert values["ihw_generated"] == scratch[code]["industrial"]["generated"].quantize(Decimal("0.000001"))
            assert values["hw_generated"].quantize(THREE) == (headline["hazardous"]["generated"]
                                                              + headline["medical"]["generated"])
        else:  # no record of hazardous waste in the province this year
            assert both("generated") == both("transferred_out") == ZERO
        if values["gisw_generated"] is not None:
            assert (values["gisw_generated"], values["gisw_utilized"], values["gisw_disposed"]) == (
                g["generated"], g["self_utilized"] + g["entrusted_utilization"],
                g["self_disposed"] + g["entrusted_disposal"])

    # the ledger kept current from the dirty marks equals the ledger built from nothing
    fields = ("organization_id", "waste_id", "year", "month", "opening_stock", *FIGURES, "stored_in", "stored_out",
              "closing_stock", "containers")
    kept = sorted(LedgerMonth.objects.filter(year=year).values_list(*fields))
    LedgerMonth.objects.all().delete()
    build_ledger(year=year)
    assert sorted(LedgerMonth.objects.filter(year=year).values_list(*fields)) == kept


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(actions=ACTIONS)
def test_cockpit_indicators_and_a_fresh_build_agree(world, actions):
    atomic = transaction.atomic()
    atomic.__enter__()  # every example runs in a savepoint rolled back at its end
    try:
        story = Story(world)
        for action in actions:
            story.apply(action)
        check_one_home(world["year"])
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
