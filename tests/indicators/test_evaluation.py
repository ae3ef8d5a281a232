"""Evaluation: statuses, trend, drill-down, roll-up, and values that follow the ledger and the manifests."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import BANAN, CHONGQING, KAIZHOU
from tests.indicators.conftest import ADMIN, Industrial
from wufei.catalog.models import HazardousWaste
from wufei.core.scope import scope_for
from wufei.indicators import reports, services
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
    waste = HazardousWaste.objects.get(pk="900-041-49")  # industrial hazardous waste (not HW01)
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


# --- declines from the baseline year (Banan row 20: hw_landfill_decline; row 23: GISW stored + disposed) ----------

def _row(plan, year, number):
    return row_result(services.evaluate_plan(scope=ADMIN, plan_id=plan.pk, year=year), number)


def _xlsx_row(plan, year, number) -> list:
    book = load_workbook(io.BytesIO(reports.export_xlsx(scope=ADMIN, plan_id=plan.pk, year=year)))
    return next(list(r) for s in book.worksheets[1:] for r in s.iter_rows(min_row=2, values_only=True)
                if r[0] == number)


def test_a_negative_decline_is_a_value_and_not_achieved(shipped, streams, make_org, english):
    """Both years recorded, the figure got worse: a negative decline, "not achieved" (at risk before 2025).

    Industrial hazardous waste landfilled (D1 lines of industrial generators, not HW01): 10,000 t in 2020 (the
    plan's baseline year), 12,000 t in 2023 and 2025. Beside it every year 8 t of other hazardous waste goes to
    landfill (a factory's HW01 line 6 t, an auto repair shop's 2 t) and a GISW manifest 800 t: not counted.
        numerator   = base 10,000 − 12,000 = −2,000 t
        denominator = base 10,000 t
        value       = −2,000 ÷ 10,000 × 100 = −20.00 %     target (2025) ＞0 → 2025 not achieved
        baseline    = the same formula in 2020: (10,000 − 10,000) ÷ 10,000 = 0.00 % (computed) → worsening
        2023: below the straight line from 0 % (2020) to ＞0 (2025) → at risk
    GISW (row 23): disposed + year-end stock 2020 = 300 + 100 = 400 t; 2025 = 450 + 50 = 500 t
        → (400 − 500) ÷ 400 × 100 = −25.00 %, not achieved.
    """
    plan = shipped["banan-2025"]
    streams(BANAN, 2020, Industrial(landfilled="10000"), ("1000", "600", "300"))
    streams(BANAN, 2023, Industrial(landfilled="12000"), ("1000", "500", "450"))
    streams(BANAN, 2025, Industrial(landfilled="12000"), ("1000", "500", "450"))
    row = _row(plan, 2025, 20)
    assert (row.numerator, row.denominator) == (Decimal("-2000"), Decimal("10000"))
    assert (row.display, row.status, row.trend) == ("-20.00", "not_achieved", "worsening")
    assert (row.baseline, row.baseline_source) == (Decimal(0), "computed")
    assert _row(plan, 2023, 20).status == "at_risk"
    gisw = _row(plan, 2025, 23)
    assert (gisw.numerator, gisw.denominator, gisw.display, gisw.status) == (
        Decimal("-100"), Decimal("400"), "-25.00", "not_achieved")
    cells = _xlsx_row(plan, 2025, 20)  # value, numerator, denominator, …, status, trend
    assert (cells[9], cells[10], cells[11], cells[14], cells[15]) == (-20.0, -2000.0, 10000.0, "not achieved",
                                                                       "worsening")
    html = reports.render_html(scope=ADMIN, plan_id=plan.pk, year=2025)
    assert '<td class="num">-20.00</td><td class="num">-2000.000000</td><td class="num">10000.000000</td>' in html


def test_a_decline_from_a_recorded_zero_is_not_achieved(shipped, make_org):
    """The baseline year is recorded (ledger months) but nothing went to landfill; 30 t do in 2025.
        numerator = 0 − 30 = −30 t, denominator = 0 t: no value (÷ 0), judged as −∞ % → not achieved, worsening.
    """
    plan = shipped["banan-2025"]
    factory = make_org(region=BANAN, industry_code="3360")
    receiver = make_org(region=KAIZHOU, roles=("receiver",))
    LedgerMonth.objects.create(organization=factory, waste_id="336-064-17", year=2020, month=3, generated=40,
                               transferred_out=40)
    LedgerMonth.objects.create(organization=factory, waste_id="336-064-17", year=2025, month=3, generated=30,
                               transferred_out=30)
    manifest = Manifest.objects.create(kind="hazardous", generator=factory, receiver=receiver, status="received",
                                       received_at=timezone.make_aware(dt.datetime(2025, 4, 1, 12)))
    ManifestLine.objects.create(manifest=manifest, position=1, waste_id="336-064-17", waste_name="污泥",
                                shipped_tonnes=30, accepted_tonnes=30, method_id="D1")
    row = _row(plan, 2025, 20)
    assert (row.numerator, row.denominator, row.value) == (Decimal("-30"), Decimal(0), None)
    assert (row.status, row.trend) == ("not_achieved", "")
    assert [(i.when, i.year, i.value, i.source) for i in row.inputs] == [
        ("base", 2020, Decimal(0), "platform"), ("year", 2025, Decimal(30), "platform")]


def test_a_baseline_year_the_platform_has_no_record_of_is_no_data_not_a_negative_numerator(
        shipped, streams, english):
    """The demo's case: the platform holds records of 2025 only (16,392.426 t of industrial hazardous waste
    landfilled), none of 2020, and the plan prints no baseline ("——"). 2020's landfill is unknown, not 0 t:
        numerator = base(—) − 16,392.426 = —, denominator = —, status "no data" (not −16,392.426 ÷ 0).
    Medical waste coverage (row 21) likewise takes the plan's printed 100 % as its baseline, not a 0 % computed
    from a year without records (2 of 3 institutions covered in 2025 = 66.67 %).
    """
    plan = shipped["banan-2025"]
    streams(BANAN, 2025, Industrial(landfilled="16392.426"), ("1000", "500", "450"))
    row = _row(plan, 2025, 20)
    assert (row.numerator, row.denominator, row.value, row.status) == (None, None, None, "no_data")
    assert [(i.when, i.year, i.value, i.source) for i in row.inputs] == [
        ("base", 2020, None, "missing"), ("year", 2025, Decimal("16392.426"), "platform")]
    assert _row(plan, 2025, 23).status == "no_data"
    coverage = _row(plan, 2025, 21)
    assert (coverage.display, coverage.baseline, coverage.baseline_source) == ("66.67", Decimal(100), "printed")
    cells = _xlsx_row(plan, 2025, 20)
    assert (cells[9], cells[10], cells[11], cells[14]) == (None, None, None, "no data")
    assert "ihw_landfilled@base(2020)=— t [missing]" in cells[13]
    html = reports.render_html(scope=ADMIN, plan_id=plan.pk, year=2025)
    assert "-16392" not in html
    pdf = PdfReader(io.BytesIO(reports.render_pdf(scope=ADMIN, plan_id=plan.pk, year=2025)))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "-16392" not in text and "−16392" not in text


def test_the_decline_report_rows_in_pdf(shipped, streams, english):
    """The PDF shows the negative decline of the first test: −20.00 % from −2,000 ÷ 10,000."""
    plan = shipped["banan-2025"]
    streams(BANAN, 2020, Industrial(landfilled="10000"), ("1000", "600", "300"))
    streams(BANAN, 2025, Industrial(landfilled="12000"), ("1000", "500", "450"))
    pdf = PdfReader(io.BytesIO(reports.render_pdf(scope=ADMIN, plan_id=plan.pk, year=2025)))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "-20.00" in text and "-2000.000000" in text and "10000.000000" in text


def test_a_printed_baseline_quantity_stands_for_an_unrecorded_baseline_year(shipped, streams, english):
    """Kaizhou prints its landfill decline's baseline as a quantity: "6904.28吨" (row 22, unit t), and its GISW
    decline's as "4.98万吨/年" (row 24). The platform holds records of 2025 only:
        row 22: base = printed 6,904.28 t; 2025 industrial HW landfilled 5,000 t
                (6,904.28 − 5,000) ÷ 6,904.28 × 100 = 1,904.28 ÷ 6,904.28 × 100 = 27.5812 → 27.58 %, 适当降低 → achieved
        row 24: base = 4.98万t = 49,800 t; 2025 disposed 450 + year-end stock 50 = 500 t
                (49,800 − 500) ÷ 49,800 × 100 = 98.9960 → 99.00 %, achieved
    The printed tonnes are not a baseline of the rate (no 6,904.28 % baseline, no trend against it).
    """
    plan = shipped["kaizhou-2025"]
    streams(KAIZHOU, 2025, Industrial(landfilled="5000"), ("1000", "500", "450"))
    row = _row(plan, 2025, 22)
    assert (row.numerator, row.denominator, row.display, row.status) == (
        Decimal("1904.28"), Decimal("6904.28"), "27.58", "achieved")
    assert [(i.when, i.year, i.value, i.source) for i in row.inputs] == [
        ("base", 2020, Decimal("6904.28"), "printed"), ("year", 2025, Decimal("5000"), "platform")]
    assert (row.baseline, row.trend) == (None, "")
    gisw = _row(plan, 2025, 24)
    assert (gisw.numerator, gisw.denominator, gisw.display, gisw.status) == (
        Decimal("49300"), Decimal("49800"), "99.00", "achieved")
    cells = _xlsx_row(plan, 2025, 22)
    assert (cells[5], cells[6], cells[9], cells[12]) == (
        "6904.28吨", None, 27.58, "(base(ihw_landfilled) - ihw_landfilled) ÷ (base(ihw_landfilled)) × 100")
    assert "ihw_landfilled@base(2020)=6904.28000000 t [printed]" in cells[13]
