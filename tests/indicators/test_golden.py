"""Golden values from the plans' own numbers, each computed through the formula engine from quantities.

Every test runs on the same platform records (`plans_2020`): for Banan and for Kaizhou in 2020, the plan's
industrial hazardous waste and general industrial solid waste, and beside them medical waste (HW01 on a
hospital's, a clinic's and a factory's ledger and manifests), social-source hazardous waste (an auto
repair shop, a hospital's lab) and a GISW manifest (tests/indicators/conftest.py `streams`, `SIDE`). A
formula that reads the wrong stream, or the right stream with the wrong filter, gets another figure.
"""

from decimal import Decimal

import pytest

from tests.conftest import BANAN, KAIZHOU
from tests.indicators.conftest import BANAN_GISW, BANAN_HW, KAIZHOU_GISW, KAIZHOU_HW, SIDE
from wufei.catalog.models import HazardousWaste, Region
from wufei.indicators import services
from wufei.indicators.models import Indicator
from wufei.ledgers.models import LedgerMonth

pytestmark = pytest.mark.django_db

@pytest.fixture
def plans_2020(shipped, streams):
    streams(BANAN, 2020, BANAN_HW, BANAN_GISW)
    streams(KAIZHOU, 2020, KAIZHOU_HW, KAIZHOU_GISW)


def value_of(code, region, year=2020):
    indicator = Indicator.objects.get(code=code)
    values = services.Values(region=Region.objects.get(pk=region))
    result = services.compute_indicator(indicator, values, year, baseline_year=2020)
    return result, str(services.formulas.rounded(result.value, indicator.decimals))


def test_banan_gisw_intensity_from_e_ledger(plans_2020, approve):
    approve(BANAN, 2020, {"industrial_value_added": ("213.9", "亿元")})
    result, shown = value_of("gisw_intensity", BANAN)
    # 708,900 t ÷ 2,139,000 万元 = 0.33142 → 0.331 (the e-ledger only: no hazardous waste, no GISW manifest)
    assert shown == "0.331"
    assert result.numerator == Decimal("708900") and result.denominator == Decimal("2139000")
    assert {i.key: i.source for i in result.inputs} == {"gisw_generated": "platform",
                                                         "industrial_value_added": "entered"}


def test_banan_hw_intensity_from_ledger(plans_2020, approve):
    approve(BANAN, 2020, {"industrial_value_added": ("2139000", "万元")})
    result, shown = value_of("hw_intensity", BANAN)
    # industrial HW 31,000 t ÷ 2,139,000 万元 = 0.0144928 → 0.0145 (the plan's figure). All hazardous waste
    # would be 31,000 + 384.143 (medical, social sources) = 31,384.143 t → 0.0146723 → 0.0147.
    assert result.numerator == Decimal("31000")
    assert shown == "0.0145"
    assert services.Values(region=Region.objects.get(pk=BANAN)).get("hw_generated", 2020) == (
        Decimal("31384.143"), "platform")


def test_banan_industrial_solid_waste_intensity(plans_2020, approve):
    approve(BANAN, 2020, {"industrial_value_added": ("2139000", "万元")})
    result, shown = value_of("isw_intensity", BANAN)
    # (GISW 708,900 + industrial HW 31,000) t ÷ 2,139,000 万元 = 739,900 ÷ 2,139,000 = 0.34591 → 0.346;
    # with all hazardous waste the numerator would be 740,284.143 t
    assert result.numerator == Decimal("739900")
    assert shown == "0.346"


def test_banan_hw_utilization(plans_2020):
    result, shown = value_of("hw_utilization", BANAN)
    # industrial HW utilized (50 t in-house + 2,150 t on manifest lines with an R method) ÷ (generated 31,000 t
    # + prior years' stock utilized 0, not reported) = 2,200 ÷ 31,000 = 7.0968 % → 7.10 (the plan's figure).
    # All hazardous waste: (54 + 2,165) ÷ 31,384.143 = 7.07 %.
    assert (result.numerator, result.denominator) == (Decimal("2200"), Decimal("31000"))
    assert shown == "7.10"


def test_banan_hw_safe_disposal(plans_2020):
    result, shown = value_of("hw_safe_disposal", BANAN)
    # industrial HW utilized 2,200 + disposed (25 in-house + 5,000 D10 + 9,000 D1) = 16,225 t
    # ÷ (generated 31,000 + January stock 3,000) = 34,000 t → 47.7206 % → 47.72.
    # All hazardous waste: (2,219 + 14,223.5) ÷ (31,384.143 + 3,003) = 47.82 %.
    assert (result.numerator, result.denominator) == (Decimal("16225"), Decimal("34000"))
    assert shown == "47.72"


def test_banan_hw_landfill_share_counts_all_hazardous_waste(plans_2020):
    result, shown = value_of("hw_landfill_share", BANAN)
    # all hazardous waste (the definition is not limited to industry): landfilled 9,000 + 8 (the factory's HW01
    # line 6, the repair shop's 2) = 9,008 t ÷ (utilized 54 + 2,165 = 2,219 + disposed 29 + 14,194.5 = 14,223.5)
    # = 9,008 ÷ 16,442.5 = 54.7849 % → 54.78; the GISW manifest's 800 t to landfill are not hazardous waste.
    # Industrial HW alone would be 9,000 ÷ 16,225 = 55.47 %.
    assert result.numerator == Decimal("9000") + SIDE["landfilled"]
    assert result.denominator == Decimal("16442.5")
    assert shown == "54.78"


def test_banan_hw_landfill_decline_in_the_baseline_year(plans_2020):
    result, shown = value_of("hw_landfill_decline", BANAN)
    # baseline year = year: (9,000 − 9,000) ÷ 9,000 = 0.00 (industrial HW landfilled; all HW would be 9,008)
    assert (result.numerator, result.denominator, shown) == (Decimal(0), Decimal("9000"), "0.00")


def test_banan_medical_waste_coverage(plans_2020):
    result, shown = value_of("medical_waste_coverage", BANAN)
    # 2 of the 3 medical institutions had a received manifest carrying medical waste (the hospital's medical
    # waste manifest; the health centre's HW01 line on a hazardous manifest); the clinic shipped lab waste only
    assert (result.numerator, result.denominator, shown) == (Decimal(2), Decimal(3), "66.67")


def test_banan_gisw_utilization_and_storage_disposal(plans_2020):
    assert value_of("gisw_utilization", BANAN)[1] == "61.19"  # 433,800 ÷ 708,900 = 61.193 %
    result, shown = value_of("gisw_storage_disposal_decline", BANAN)
    # baseline year = year: disposed 275,100 + year-end stock 0 = 275,100 t both years → 0.00
    assert (result.denominator, shown) == (Decimal("275100"), "0.00")


def test_kaizhou_gisw_utilization_from_e_ledger(plans_2020):
    result, shown = value_of("gisw_utilization", KAIZHOU)
    # 780,600 ÷ (830,300 + 0) = 94.014 % → 94.01 (the plan's figure)
    assert (result.numerator, result.denominator) == (Decimal("780600"), Decimal("830300"))
    assert shown == "94.01"


def test_kaizhou_industrial_hazardous_waste(plans_2020):
    generated, source = services.Values(region=Region.objects.get(pk=KAIZHOU)).get("ihw_generated", 2020)
    opening, _ = services.Values(region=Region.objects.get(pk=KAIZHOU)).get("ihw_opening_stock", 2020)
    # 6,580.87 t generated + 612.71 t prior-year stock = 7,193.58 t declared (K §4.3)
    assert (generated, opening, generated + opening, source) == (
        Decimal("6580.87"), Decimal("612.71"), Decimal("7193.58"), "platform")
    result, shown = value_of("hw_safe_disposal", KAIZHOU)
    # (289.30 R4 + 6,904.28 D1) ÷ 7,193.58 = 7,193.58 ÷ 7,193.58 = 100.00 % (harmless disposal 100 %)
    assert (result.numerator, result.denominator, shown) == (Decimal("7193.58"), Decimal("7193.58"), "100.00")


@pytest.mark.parametrize(("code", "quantities", "expected"), [
    ("straw_utilization", {"straw_utilized": ("31.97", "万t"), "straw_collectable": ("36.36", "万t")}, "87.93"),
    ("manure_utilization", {"manure_utilized": ("95.91", "万t"), "manure_generated": ("100.63", "万t")}, "95.31"),
    ("film_recovery_rate", {"film_recovered": ("378.9", "t"), "film_used": ("480", "t")}, "78.94"),
    ("dead_livestock_central", {"dead_livestock_central": ("1.05", "万头"),
                                "dead_livestock_total": ("1.92", "万头")}, "54.7"),
])
def test_kaizhou_entered(plans_2020, approve, code, quantities, expected):
    approve(KAIZHOU, 2020, quantities)
    assert value_of(code, KAIZHOU)[1] == expected  # entered values only: the platform's records change nothing


def test_banan_rural_sorting_demonstration(plans_2020, approve):
    approve(BANAN, 2020, {"villages_sorting_demo": ("35", "个"), "villages_admin": ("198", "个")})
    assert value_of("rural_sorting_demo", BANAN)[1] == "17.68"  # 35 ÷ 198 = 17.677 %


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


def test_drill_down_opens_the_industrial_records(plans_2020):
    """The records behind the industrial quantities: the factory's ledger months and manifest lines only."""

    def records(key):
        found = services.drill_down(scope=services_admin(), region_code=BANAN, year=2020, key=key)["records"]
        return [(r["name"], r["value"], r["source"]) for r in found]

    factory = LedgerMonth.objects.filter(organization__region_id=BANAN, organization__industry_code="3974").first()
    name = factory.organization.name
    assert records("ihw_generated") == [(name, Decimal("31000"), "ledger")]
    assert records("ihw_utilized") == [(name, Decimal("50"), "ledger"), (name, Decimal("2150"), "manifests")]
    assert records("ihw_landfilled") == [(name, Decimal("9000"), "manifests")]
    # all hazardous waste: the factory (9,000 + its HW01 line 6) and the auto repair shop (2)
    assert sorted(value for _, value, _ in records("hw_landfilled")) == [Decimal(2), Decimal(9006)]
    assert sum(value for _, value, _ in records("hw_generated")) == Decimal(31000) + SIDE["generated"]
