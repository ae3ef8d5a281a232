"""Golden values from the plans' own numbers, each computed through the formula engine from quantities."""

from decimal import Decimal

import pytest

from tests.conftest import BANAN, KAIZHOU
from wufei.catalog.models import HazardousWaste, Region
from wufei.indicators import services
from wufei.indicators.models import Indicator
from wufei.ledgers.models import LedgerMonth, SolidWasteMonth

pytestmark = pytest.mark.django_db


def value_of(code, region, year=2020):
    indicator = Indicator.objects.get(code=code)
    values = services.Values(region=Region.objects.get(pk=region))
    result = services.compute_indicator(indicator, values, year, baseline_year=2020)
    return result, str(services.formulas.rounded(result.value, indicator.decimals))


def split(total: Decimal) -> list[Decimal]:
    """Twelve monthly amounts to the 0.000001 t adding up exactly to the total."""
    month = (total / 12).quantize(Decimal("0.000001"))
    return [month] * 11 + [total - 11 * month]


def e_ledger(org, year, generated, utilized, disposed="0"):
    """Twelve balanced monthly e-ledger months (one code) summing to the given tonnes."""
    columns = zip(*(split(Decimal(v)) for v in (generated, utilized, disposed)), strict=True)
    closing = Decimal(0)
    for month, (g, u, d) in enumerate(columns, 1):
        opening, closing = closing, closing + g - u - d
        SolidWasteMonth.objects.create(organization=org, code="SW01", year=year, month=month, opening_stock=opening,
                                       generated=g, self_utilized=u, self_disposed=d, closing_stock=closing)


def test_banan_gisw_intensity_from_e_ledger(shipped, make_org, approve):
    e_ledger(make_org(region=BANAN), 2020, "708900", "433800", "275100")
    approve(BANAN, 2020, {"industrial_value_added": ("213.9", "亿元")})
    result, shown = value_of("gisw_intensity", BANAN)
    assert shown == "0.331"
    assert result.numerator == Decimal("708900") and result.denominator == Decimal("2139000")
    assert {i.key: i.source for i in result.inputs} == {"gisw_generated": "platform",
                                                         "industrial_value_added": "entered"}


def test_banan_hw_intensity_from_ledger(shipped, make_org, approve):
    org = make_org(region=BANAN)
    waste = HazardousWaste.objects.first()
    for month in range(1, 13):
        LedgerMonth.objects.create(organization=org, waste=waste, year=2020, month=month,
                                   generated=Decimal("2583.333333") if month < 12 else Decimal("2583.333337"))
    approve(BANAN, 2020, {"industrial_value_added": ("2139000", "万元")})
    result, shown = value_of("hw_intensity", BANAN)
    assert result.numerator == Decimal("31000")
    assert shown == "0.0145"


def test_kaizhou_gisw_utilization_from_e_ledger(shipped, make_org):
    e_ledger(make_org(region=KAIZHOU), 2020, "830300", "780600", "42400")  # 7,300 t stay in stock
    _, shown = value_of("gisw_utilization", KAIZHOU)
    assert shown == "94.01"


@pytest.mark.parametrize(("code", "quantities", "expected"), [
    ("straw_utilization", {"straw_utilized": ("31.97", "万t"), "straw_collectable": ("36.36", "万t")}, "87.93"),
    ("manure_utilization", {"manure_utilized": ("95.91", "万t"), "manure_generated": ("100.63", "万t")}, "95.31"),
    ("film_recovery_rate", {"film_recovered": ("378.9", "t"), "film_used": ("480", "t")}, "78.94"),
    ("dead_livestock_central", {"dead_livestock_central": ("1.05", "万头"),
                                "dead_livestock_total": ("1.92", "万头")}, "54.7"),
])
def test_kaizhou_entered(shipped, approve, code, quantities, expected):
    approve(KAIZHOU, 2020, quantities)
    assert value_of(code, KAIZHOU)[1] == expected


def test_banan_rural_sorting_demonstration(shipped, approve):
    approve(BANAN, 2020, {"villages_sorting_demo": ("35", "个"), "villages_admin": ("198", "个")})
    assert value_of("rural_sorting_demo", BANAN)[1] == "17.68"


def test_units_are_explicit(shipped, approve):
    with pytest.raises(services.ValidationFailed):
        approve(BANAN, 2020, {"industrial_value_added": ("213.9", "万t")})


def test_sums_are_exact_to_the_gram(make_org):
    """120 ledger months of 7,654,321.123457 t add up to 918,518,534.814840 t exactly (binary floats give
    918,518,534.8148385 on SQLite)."""
    org = make_org(region=BANAN)
    wastes = list(HazardousWaste.objects.order_by("pk")[:10])
    for waste in wastes:
        for month in range(1, 13):
            LedgerMonth.objects.create(organization=org, waste=waste, year=2022, month=month,
                                       generated=Decimal("7654321.123457"))
    values = services.Values(region=Region.objects.get(pk=BANAN))
    assert values.get("hw_generated", 2022) == (Decimal("918518534.814840"), "platform")
    records = services.drill_down(scope=services_admin(), region_code=BANAN, year=2022, key="hw_generated")
    assert records["records"][0]["value"] == Decimal("918518534.814840")


def services_admin():
    from tests.indicators.conftest import ADMIN

    return ADMIN
