"""Evaluation: statuses, trend, drill-down, roll-up, and values that follow the ledger and the manifests."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import BANAN, CHONGQING, KAIZHOU
from tests.indicators.conftest import ADMIN
from wufei.catalog.models import HazardousWaste
from wufei.core.scope import scope_for
from wufei.indicators import services
from wufei.ledgers.models import LedgerMonth
from wufei.manifests.models import Manifest, ManifestLine

pytestmark = pytest.mark.django_db


def row_result(results, number):
    return next(r for r in results if r.row.number == number)


def test_statuses_of_the_banan_plan(shipped, approve, make_org):
    plan = shipped["banan-2025"]
    approve(BANAN, 2023, {"villages_sorting_demo": ("60", "个"), "villages_admin": ("198", "个"),
                          "policy_documents": "健全"})
    results = services.evaluate_plan(scope=ADMIN, plan_id=plan.pk, year=2023, store=True)
    assert len(results) == 39
    rural = row_result(results, 9)  # 17.7 % (2020) → >50 % (2025); 30.30 % in 2023 is below the line
    assert (str(services.formulas.rounded(rural.value, 2)), rural.status, rural.trend) == (
        "30.30", "at_risk", "improving")
    assert row_result(results, 26).status == "on_track"  # 健全 reached
    assert row_result(results, 3).status == "to_judge"  # 完成市级任务
    assert row_result(results, 5).status == "to_judge"  # unparsed, never met
    assert row_result(results, 32).status == "to_judge"
    assert row_result(results, 11).status == "no_data"
    assert set(services.status_counts(results)) == set(services.STATUSES)
    final = services.evaluate_plan(scope=ADMIN, plan_id=plan.pk, year=2025)
    assert row_result(final, 9).status == "no_data"
    services.judge(scope=ADMIN, row_id=row_result(results, 3).row.pk, year=2023, status="achieved", note="市级通报")
    again = services.evaluate_plan(scope=ADMIN, plan_id=plan.pk, year=2023)
    assert row_result(again, 3).status == "achieved"


def test_no_growth_against_the_computed_baseline(shipped, approve, make_org):
    org = make_org(region=KAIZHOU)
    waste = HazardousWaste.objects.first()
    LedgerMonth.objects.create(organization=org, waste=waste, year=2020, month=6, generated=Decimal("300"))
    LedgerMonth.objects.create(organization=org, waste=waste, year=2025, month=6, generated=Decimal("250"))
    approve(KAIZHOU, 2020, {"industrial_value_added": ("100000", "万元")})
    approve(KAIZHOU, 2025, {"industrial_value_added": ("100000", "万元")})
    plan = shipped["kaizhou-2025"]
    row = row_result(services.evaluate_plan(scope=ADMIN, plan_id=plan.pk, year=2025), 2)  # ≤0.0027
    assert (str(services.formulas.rounded(row.value, 4)), row.status) == ("0.0025", "achieved")
    assert row.baseline_source == "computed" and row.trend == "improving"


def test_value_follows_the_ledger_and_the_manifests(make_org, shipped, approve):
    year = 2024
    generator = make_org(region=BANAN)
    receiver = make_org(region=KAIZHOU, roles=("receiver",))
    waste = HazardousWaste.objects.get(pk="900-041-49") if HazardousWaste.objects.filter(
        pk="900-041-49").exists() else HazardousWaste.objects.first()
    month = LedgerMonth.objects.create(organization=generator, waste=waste, year=year, month=3,
                                       generated=Decimal("100"), self_utilized=Decimal("20"))
    approve(BANAN, year, {"industrial_value_added": ("1", "亿元")})
    regulator = ADMIN

    def evaluate(code):
        result = services.evaluate_region(scope=regulator, region_code=BANAN, year=year, codes=[code])[0]
        return result.value

    assert evaluate("hw_intensity") == Decimal("0.01")
    month.generated = Decimal("150")
    month.save()
    assert evaluate("hw_intensity") == Decimal("0.015")
    assert evaluate("hw_landfill_share") == Decimal(0)
    manifest = Manifest.objects.create(kind="hazardous", generator=generator, receiver=receiver, status="received",
                                       received_at=timezone.make_aware(dt.datetime(year, 5, 1)))
    ManifestLine.objects.create(manifest=manifest, position=1, waste=waste, waste_name="废物",
                                shipped_tonnes=Decimal("30"),
                                accepted_tonnes=Decimal("30"), method_id="D1")
    assert evaluate("hw_landfill_share") == Decimal("60")  # 30 landfilled ÷ (20 self-utilized + 30 disposed)
    drill = services.drill_down(scope=regulator, region_code=BANAN, year=year, key="hw_landfilled")
    assert [(r["organization_id"], r["value"], r["source"]) for r in drill["records"]] == [
        (generator.pk, Decimal("30"), "manifests")]
    ManifestLine.objects.filter(manifest=manifest).update(accepted_tonnes=Decimal("10"))
    assert evaluate("hw_landfill_share") == Decimal("100") / Decimal("3")


def test_rollup_and_comparison(shipped, approve, make_org):
    approve(BANAN, 2020, {"straw_utilized": ("91", "t"), "straw_collectable": ("100", "t")})
    approve(KAIZHOU, 2020, {"straw_utilized": ("31.97", "万t"), "straw_collectable": ("36.36", "万t")})
    table = services.rollup(scope=ADMIN, region_code=CHONGQING, year=2020, codes=["straw_utilization"])
    values = table["rows"][0]["values"]
    # Chongqing = (91 + 319,700) ÷ (100 + 363,600) — numerators and denominators summed, not rates averaged
    expected = (Decimal(91) + Decimal(319700)) / (Decimal(100) + Decimal(363600)) * 100
    assert values[CHONGQING].value == expected and values[CHONGQING].inputs[0].source == "rollup"
    assert str(services.formulas.rounded(values[KAIZHOU].value, 2)) == "87.93"
    side = services.compare(scope=ADMIN, region_codes=[BANAN, KAIZHOU], year=2020, codes=["straw_utilization"])
    assert [c.code for c in side["columns"]] == [BANAN, KAIZHOU]


def test_scope(shipped, regulator_of, department_user):
    banan_regulator = scope_for(regulator_of(BANAN))
    assert {p.key for p in services.plans_for(banan_regulator)} == {"banan-2025"}
    with pytest.raises(services.NotFound):
        services.evaluate_region(scope=banan_regulator, region_code=KAIZHOU, year=2020)
    with pytest.raises(services.NotFound):
        services.get_plan(banan_regulator, shipped["kaizhou-2025"].pk)
    city = scope_for(regulator_of(CHONGQING))
    assert {p.key for p in services.plans_for(city)} == {"banan-2025", "kaizhou-2025", "wansheng-2025"}
    clerk = scope_for(department_user(KAIZHOU, name="区农业农村委"))
    assert {p.key for p in services.plans_for(clerk)} == {"kaizhou-2025"}


def test_data_request_rules(shipped, regulator_of, department_user):
    regulator = scope_for(regulator_of(BANAN))
    user = department_user(BANAN, name="区农业农村委")
    clerk = scope_for(user)
    department = user.department_roles.get().department_id
    with pytest.raises(services.ValidationFailed):  # computed from the ledgers, not entered
        services.create_request(scope=regulator, region_code=BANAN, department_id=department, year=2021,
                                keys=["hw_generated"], due_date=dt.date(2022, 3, 31))
    request = services.create_request(scope=regulator, region_code=BANAN, department_id=department, year=2021,
                                      keys=["straw_utilized", "straw_collectable"], due_date=dt.date(2022, 3, 31))
    with pytest.raises(services.PermissionDenied):
        services.enter_value(scope=regulator, request_id=request.pk, key="straw_utilized", value="1", unit="t")
    services.enter_value(scope=clerk, request_id=request.pk, key="straw_utilized", value="1", unit="t")
    with pytest.raises(services.ValidationFailed):  # one value missing
        services.submit_request(scope=clerk, request_id=request.pk)
    services.enter_value(scope=clerk, request_id=request.pk, key="straw_collectable", value="2", unit="t")
    services.submit_request(scope=clerk, request_id=request.pk)
    with pytest.raises(services.PermissionDenied):
        services.review_request(scope=clerk, request_id=request.pk, approve=True)
    result = services.evaluate_region(scope=regulator, region_code=BANAN, year=2021, codes=["straw_utilization"])[0]
    assert result.value is None  # submitted, not approved: does not count
    services.review_request(scope=regulator, request_id=request.pk, approve=True)
    result = services.evaluate_region(scope=regulator, region_code=BANAN, year=2021, codes=["straw_utilization"])[0]
    assert result.value == Decimal(50)


def test_index(shipped, approve):
    approve(KAIZHOU, 2020, {"straw_utilized": ("31.97", "万t"), "straw_collectable": ("36.36", "万t")})
    index = services.region_index(scope=ADMIN, region_code=KAIZHOU, year=2020)
    agricultural = next(s for s in index["sub_indices"] if s["key"] == "agricultural")
    # straw 87.93 % between 70 (worst) and 100 (best): 59.8 points; the other components have no value
    assert agricultural["value"] == "59.8"
    assert index["value"] == "59.8"
    assert next(s for s in index["sub_indices"] if s["key"] == "industrial")["value"] is None


def test_rollup_takes_the_nearest_values_and_regional_formulas(shipped, approve, client_for, regulator_of):
    from wufei.catalog.models import Region

    city = Region.objects.filter(level="city", children__isnull=False).first()
    districts = list(city.children.all()[:2])
    approve(city.code, 2021, {"film_recovered": ("10", "t")})
    approve(districts[0].code, 2021, {"film_recovered": ("4", "t")})  # inside the city's own figure
    province = services.Values(region=city.parent)
    assert province.get("film_recovered", 2021) == (Decimal(10), "rollup")
    row = shipped["banan-2025"].rows.get(number=15)  # 农膜回收 (t)
    banan = client_for(regulator_of(BANAN))
    answer = banan.put(f"/api/v1/indicators/rows/{row.pk}/formula", {"numerator": "film_recovered * 1000"},
                       content_type="application/json")
    assert answer.status_code == 200, answer.content
    bad = banan.put(f"/api/v1/indicators/rows/{row.pk}/formula", {"numerator": "nothing_known"},
                    content_type="application/json")
    assert bad.status_code == 422
    approve(BANAN, 2021, {"film_recovered": ("0.6", "t")})
    result = next(r for r in services.evaluate_plan(scope=ADMIN, plan_id=row.plan_id, year=2021)
                  if r.row.number == 15)
    assert result.value == Decimal("600.0") and result.status == "on_track"


def test_index_is_configurable_per_region(shipped, approve):
    from wufei.core.models import Parameter

    approve(KAIZHOU, 2020, {"straw_utilized": ("31.97", "万t"), "straw_collectable": ("36.36", "万t")})
    definition = {"name": "开州无废指数", "method": "test", "sub_indices": [
        {"key": "agricultural", "name": "农业", "weight": 1, "components": [
            {"indicator": "straw_utilization", "weight": 1, "worst": "80", "best": "90"}]}]}
    Parameter.objects.create(key="indicators.index", region_code=KAIZHOU, value=definition)
    index = services.region_index(scope=ADMIN, region_code=KAIZHOU, year=2020)
    assert (index["name"], index["value"]) == ("开州无废指数", "79.3")
    assert services.region_index(scope=ADMIN, region_code=BANAN, year=2020)["name"] == "无废指数"
