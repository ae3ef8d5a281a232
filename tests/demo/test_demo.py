"""`wufei demo`: the district it builds, its accounts, and that running it again changes nothing.

The demo is built once for the package (tests/demo/conftest.py); each test runs in a savepoint of
its own on top of it (pytest-django's `db`), so a test that resets or rebuilds the demo leaves the
next one the same data.
"""

import datetime as dt
import random
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from wufei.catalog.models import Zone
from wufei.catalog.services import industrial_source_q, is_industrial_source
from wufei.core.audit import verify_chain
from wufei.core.ids import is_valid_uscc, validate_plate
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.demo import registry as demo
from wufei.demo.builders import reset_demo
from wufei.registry.models import (
    Department,
    DepartmentMembership,
    Membership,
    OperatingPermit,
    Organization,
    PermitLine,
    RegulatorMembership,
    Site,
    Vehicle,
)

BANAN, KAIZHOU = "500113", "500154"




def counts() -> dict:
    return {model.__name__: model.objects.count() for model in (
        Organization, Site, OperatingPermit, PermitLine, Vehicle, Zone, Department, Membership,
        RegulatorMembership, DepartmentMembership, get_user_model())}


def org(name: str) -> Organization:
    return Organization.objects.get(name=name)


def lines_of(organization: Organization) -> dict:
    """{code or category: (t/a, {methods})} over the unit's permits."""
    return {line.scope_label: (line.annual_capacity_tonnes, {m.code for m in line.methods.all()})
            for line in PermitLine.objects.filter(permit__organization=organization).prefetch_related("methods")}


def test_about_two_hundred_units_with_valid_usccs(built):
    organizations = Organization.objects.all()
    assert 180 <= organizations.count() <= 230
    banan, kaizhou = organizations.filter(region=BANAN).count(), organizations.filter(region=KAIZHOU).count()
    assert 0.50 <= banan / (banan + kaizhou) <= 0.60  # roughly 55/45
    assert all(is_valid_uscc(uscc) for uscc in organizations.values_list("uscc", flat=True))
    assert {uscc[:2] for uscc in organizations.values_list("uscc", flat=True)} >= {"91", "12"}
    for attr in Organization.ROLE_FIELDS.values():
        assert organizations.filter(**{attr: True}).exists(), attr
    assert set(organizations.values_list("supervision_class", flat=True)) == {"key", "simplified", "registered"}
    assert not organizations.filter(region__in=[BANAN, KAIZHOU], longitude__isnull=True).exists()
    assert organizations.filter(zone__code="BN-SWC").exists() and organizations.filter(zone__code="KZ-PLXQ").exists()


def test_zones_include_the_parks_and_wansheng(built):
    zones = {z.code: (z.name, z.kind, z.region_id) for z in Zone.objects.all()}
    assert zones["WS-JKQ"] == ("万盛经开区", "special_zone", "500110")
    assert {name for name, _, region in zones.values() if region == BANAN} == {"巴南经济园区", "重庆国际生物城"}
    assert "浦里新区" in {name for name, _, region in zones.values() if region == KAIZHOU}


def test_the_named_operators_hold_the_capacities_the_plans_print(built):
    assert lines_of(org("重庆盛清水处理科技有限公司")) == {"HW34": (Decimal(34500), {"R6"})}

    centre = lines_of(org("重庆市固体废物管理服务中心有限公司"))
    assert set(centre) == {"HW03", "HW49"}
    assert sum(t for t, _ in centre.values()) == 250

    hongbang = lines_of(org("重庆弘邦环保有限公司"))
    assert len(hongbang) == 17 and "HW02" in hongbang
    assert all(key.startswith("HW") for key in hongbang)
    assert sum(t for t, _ in hongbang.values()) == 5000

    batteries = [lines_of(org(n)) for n in ("安徽力普拉斯电源技术有限公司", "重庆创祥电源有限公司")]
    assert sum(b["900-052-31"][0] for b in batteries) == 29000

    kaizhou_plant = org("重庆开州固体废物治理有限公司")
    assert lines_of(kaizhou_plant)["HW01"] == (Decimal(1800), {"Y10"})
    assert set(kaizhou_plant.permits.values_list("kind", flat=True)) == {"medical_waste", "comprehensive"}
    assert kaizhou_plant.sites.filter(name="赵家垃圾填埋场").exists()

    shuangxing = org("重庆市开州区双兴再生能源有限公司")
    assert shuangxing.status == Organization.Status.CLOSED and shuangxing.closed_on.year == 2021
    assert lines_of(shuangxing) == {"HW08": (Decimal(9500), {"R9"})}

    assert org("重庆同兴医疗废物处理有限公司").region_id == "500109"
    assert org("重庆尚善物流有限公司").vehicles.count() >= 3
    for name in ("重庆利特聚欣资源循环科技有限责任公司", "重庆市禾润中天环保科技有限公司", "重庆绿能新能源有限公司",
                 "开县开州水泥厂有限公司", "重庆丰盛三峰环保发电有限公司", "攀钢集团重庆钛业有限公司"):
        assert org(name)


def test_capacities_in_other_units_stay_in_the_note(built):
    landfill = org("攀钢集团重庆钛业有限公司").sites.get(kind=Site.Kind.SELF_DISPOSAL)
    assert "3万m³" in landfill.capacity_note and landfill.design_capacity_tonnes_per_year is None
    incinerator = org("重庆丰盛三峰环保发电有限公司").sites.get(name="丰盛垃圾焚烧发电厂")
    assert "2400 t/d" in incinerator.capacity_note and incinerator.design_capacity_tonnes_per_year is None
    shengqing = org("重庆盛清水处理科技有限公司").sites.get()
    assert shengqing.design_capacity_tonnes_per_year == 34500 and "1.68万t" in shengqing.capacity_note
    assert all(site.capacity_note for site in Site.objects.filter(permits__isnull=False))


def test_permits_cover_every_kind_and_name_catalog_methods(built):
    assert set(OperatingPermit.objects.values_list("kind", flat=True)) == set(OperatingPermit.Kind.values)
    methods = set(PermitLine.objects.values_list("methods__code", flat=True)) - {None}
    assert {"R6", "R9", "R4", "D1", "D10", "C1", "Y10"} <= methods
    assert OperatingPermit.objects.filter(site__isnull=True).count() == 0
    assert all(o.is_receiver or o.is_collector for o in Organization.objects.filter(permits__isnull=False))


def test_district_hazardous_waste_adds_up_to_the_plans(built):
    """The plans' figures are industrial hazardous waste: they are the industrial units' (the indicators' rule,
    catalog.services.industrial_source_q); the social sources (auto repair, labs) generate on top of them."""
    def industrial(region):
        return Organization.objects.filter(industrial_source_q(""), region=region, is_generator=True)

    def total(units):
        return units.aggregate(t=Sum("annual_hazardous_waste_tonnes"))["t"]

    assert total(industrial(BANAN)) == Decimal("31000")  # B §4.3: 3.10万t
    assert total(industrial(KAIZHOU)) == Decimal("7193.58")  # K §4.3 （1）工业危险废物
    assert industrial(BANAN).filter(annual_hazardous_waste_tonnes__gt=0).count() == 49  # B §4.3: 49 enterprises
    for region, codes in ((BANAN, {"8111", "8334"}), (KAIZHOU, {"8111", "8334", "7452", "7511"})):
        generators = Organization.objects.filter(region=region, is_generator=True)
        assert set(industrial(region)) == {o for o in generators if is_industrial_source(
            o.industry_code, is_medical_institution=o.is_medical_institution)}
        social = generators.filter(is_medical_institution=False).exclude(industrial_source_q(""))
        assert set(social.values_list("industry_code", flat=True)) == codes and total(social) > 100
    assert org("重庆丰盛三峰环保发电有限公司").annual_hazardous_waste_tonnes > Decimal("18662.13")  # the remainder


def test_vehicles_have_valid_plates_and_some_permits_run_out(built):
    today = timezone.localdate()
    vehicles = Vehicle.objects.all()
    assert vehicles.count() >= 20
    assert all(validate_plate(v.plate) == v.plate for v in vehicles)
    assert vehicles.filter(transport_permit_valid_until__lt=today).count() == 1
    soon = vehicles.filter(transport_permit_valid_until__gte=today,
                           transport_permit_valid_until__lte=today + dt.timedelta(days=60))
    assert soon.count() >= 2


def test_departments_of_both_districts(built):
    banan = set(Department.objects.filter(region=BANAN).values_list("name", flat=True))
    kaizhou = set(Department.objects.filter(region=KAIZHOU).values_list("name", flat=True))
    assert {"区城市管理局", "区农业农村委", "区住房城乡建委", "区经济信息委", "区卫生健康委"} <= banan
    assert {"区城管局", "区农业农村委", "区住房城乡建委", "区经济信息委", "区卫生健康委", "浦里新区管委会"} <= kaizhou


@pytest.mark.parametrize("username", [a.username for a in demo.ACCOUNTS])
def test_accounts_log_in_with_the_published_password(built, client, username):
    # through the login page: Client.login() passes no request, which django-axes refuses
    response = client.post("/accounts/login/", {"username": username, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(get_user_model().objects.get(username=username).pk)


def test_accounts_see_what_their_role_allows(built):
    User = get_user_model()

    def visible(username):
        return Organization.objects.visible_to(scope_for(User.objects.get(username=username)))

    banan = visible("regulator")
    assert banan.filter(region=BANAN).count() == Organization.objects.filter(region=BANAN).count()
    assert not banan.filter(region=KAIZHOU).exists()
    kaizhou = visible("kaizhou-regulator")
    assert kaizhou.exists() and not kaizhou.filter(region=BANAN).exists()
    chongqing = Organization.objects.filter(region__path__startswith="/500000/")
    assert visible("city-regulator").count() == chongqing.count()  # the demo also registers out-of-province receivers
    assert Organization.objects.count() == visible("admin").count()
    assert User.objects.get(username="admin").is_superuser

    (generator,) = visible("generator")
    assert generator.region_id == BANAN and generator.is_generator and generator.supervision_class == "key"
    (transporter,) = visible("transporter")
    assert transporter.is_transporter and transporter.vehicles.count() >= 3
    assert Membership.objects.get(user__username="driver").role == "driver"
    assert visible("driver").get() == transporter
    (receiver,) = visible("receiver")
    assert receiver.is_receiver and receiver.permits.exists()
    department = DepartmentMembership.objects.get(user__username="department").department
    assert (department.name, department.region_id) == ("区城市管理局", BANAN)
    assert not visible("department").exists()


def test_running_again_adds_nothing_and_still_prints_the_accounts(built):
    before = counts()
    out = StringIO()
    call_command("demo", stdout=out)
    assert counts() == before
    text = out.getvalue()
    assert "already present" in text and demo.DEMO_PASSWORD in text
    for account in demo.ACCOUNTS:
        assert f"  {account.username} " in text


def test_reset_deletes_the_demo_rows_and_keeps_what_others_registered(built, make_org):
    # `wufei demo --reset` = reset_demo() then build(); building on an empty registry is what the fixture does
    before = sum(counts().values())
    accounts = get_user_model().objects.filter(email__endswith="@" + demo.DEMO_EMAIL_DOMAIN).count()
    mine = make_org(name="非演示单位")
    removed = reset_demo()
    assert removed == before
    assert list(Organization.objects.all()) == [mine]
    remaining = counts()
    del remaining["Organization"]
    assert set(remaining.values()) == {0}
    assert not demo.is_built()
    assert verify_chain().ok
    assert AuditEvent.objects.filter(actor_label="demo", action="deleted").count() == removed - accounts
    assert AuditEvent.objects.filter(actor_label="demo", action="account_deleted").count() == accounts


def test_the_demo_is_the_same_on_every_run():
    def names():
        named = demo.named_units()
        units = named + demo.synthetic_units(random.Random(demo.SEED), {u.name for u in named})
        return [(u.name, u.region, u.tonnes, demo.uscc_for(u.name, u.region, u.registration, u.uscc_region))
                for u in units]

    assert names() == names()


def test_everything_is_in_the_audit_chain(built):
    assert verify_chain().ok
    created = AuditEvent.objects.filter(actor_label="demo", action="created")
    assert created.filter(entity_type="registry.organization").count() == Organization.objects.count()
    assert created.filter(entity_type="registry.permitline").count() == PermitLine.objects.count()


def test_the_demo_is_built_only_into_a_new_database_and_never_resets_a_password(built, client):
    """On the demo database: running the demo again leaves a changed password alone, and every page says demo."""
    user = get_user_model().objects.get(username="generator")
    user.set_password("my-own-password-2026")
    user.save()
    call_command("demo", quiet=True)
    user.refresh_from_db()
    assert user.check_password("my-own-password-2026")
    assert 'data-testid="demo-badge"' in client.get("/portal/").content.decode()
