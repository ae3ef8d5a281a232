"""The shipped plans: every target string parsed or listed, rows and baselines as printed."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from wufei.indicators import services, targets
from wufei.indicators.models import Indicator, Plan, PlanIndicator, Target


def test_every_target_is_parsed_or_listed():
    with open(services.DATA / "unparsed_targets.csv", encoding="utf-8") as handle:
        listed = list(csv.DictReader(handle))
    assert services.unparsed_targets() == listed
    total = sum(len(services.target_columns(row)) for spec in services.shipped_plans()
                for row in services.shipped_rows(spec))
    assert total == 39 + 38 + 4 + 7 * 2


@pytest.mark.parametrize(("text", "direction", "expected"), [
    ("零增长或负增长", "down", {"op": "no_growth"}),
    ("＞7.1%", "up", {"op": ">", "value": "7.1", "unit": "%"}),
    ("50%以上", "up", {"op": ">", "value": "50", "unit": "%"}),
    ("≤0.0027吨/万元", "down", {"op": "<=", "value": "0.0027", "unit": "t/万元"}),
    ("0.2", "down", {"op": "<=", "value": "0.2", "unit": ""}),
    ("0", "down", {"op": "<=", "value": "0", "unit": ""}),
    ("回收600吨", "up", {"op": ">=", "value": "600", "unit": "t"}),
    ("完成市级下达任务", "up", {"op": "manual"}),
    ("适当降低", "up", {"op": "decline"}),
    ("稳定保持", "up", {"op": "maintain"}),
    ("健全", "none", {"op": "state", "state": "健全"}),
    ("城区100%，乡镇80%", "up", {"op": "all", "parts": [
        {"label": "城区", "op": ">=", "value": "100", "unit": "%"},
        {"label": "乡镇", "op": ">=", "value": "80", "unit": "%"}]}),
    ("不断优化固体废物管理信息系统建设", "none", None),
])
def test_parse_target(text, direction, expected):
    assert targets.parse_target(text, direction) == expected


@pytest.mark.django_db
def test_shipped_plans_imported(shipped):
    assert {key: plan.rows.count() for key, plan in shipped.items()} == {
        "banan-2025": 39, "kaizhou-2025": 38, "wansheng-2025": 4, "zhejiang-2030": 7}
    banan = shipped["banan-2025"]
    row = banan.rows.get(number=1)
    assert (row.indicator.code, row.baseline_text) == ("gisw_intensity", "0.33吨/万元")
    assert row.baseline_value == Decimal("0.33")
    assert row.targets.get().text == "零增长或负增长"
    assert PlanIndicator.objects.filter(plan=banan, indicator__mark="mandatory").count() >= 20
    assert shipped["kaizhou-2025"].rows.get(number=15).indicator.mark == "local"
    assert shipped["kaizhou-2025"].rows.get(number=8).indicator.code == "domestic_collected_annual"
    assert shipped["zhejiang-2030"].target_years == [2027, 2030]
    assert Target.objects.filter(expression__isnull=True).count() == 4
    assert services.load_shipped(scope=services_admin())[0].pk == banan.pk  # idempotent
    assert Plan.objects.count() == 4


def services_admin():
    from tests.indicators.conftest import ADMIN

    return ADMIN


def test_a_directionless_bare_number_is_a_projection_judged_by_hand():
    from wufei.indicators import targets

    expression = targets.parse_target("1286吨/天", "none")
    assert expression == {"op": "forecast", "value": "1286", "unit": "t/d"}
    assert targets.describe(expression) == "≈ 1286t/d"
    assert targets.parse_target("80%", "up")["op"] == ">="


@pytest.mark.django_db
def test_the_operator_command_loads_the_catalog_and_the_plans():
    """`wufei indicators_load` loads the shipped catalog and plans (all, or the keys given); repeating it keeps them."""
    out = io.StringIO()
    call_command("indicators_load", "kaizhou-2025", stdout=out)
    assert "catalog: 62 indicators" in out.getvalue() and list(Plan.objects.values_list("key", flat=True)) == [
        "kaizhou-2025"]
    call_command("indicators_load", stdout=io.StringIO())
    call_command("indicators_load", stdout=io.StringIO())
    assert Plan.objects.count() == 4 and Indicator.objects.count() == 62
    with pytest.raises(CommandError, match="unknown plan nowhere-2025"):
        call_command("indicators_load", "nowhere-2025")
