from decimal import Decimal

import pytest

from wufei.core import parameters
from wufei.core.models import Parameter
from wufei.registry.services import compute_supervision_class


def test_defaults_come_from_the_shipped_table(db):
    assert parameters.get_decimal("supervision.key.min_annual_tonnes") == Decimal(100)
    assert parameters.get_decimal("supervision.simplified.min_annual_tonnes", "500113") == Decimal(10)


def test_the_most_specific_region_override_wins(db):
    key = "supervision.simplified.min_annual_tonnes"
    Parameter.objects.create(key=key, region_code="500000", value="5", reason="市级通知")
    assert parameters.get(key, "500113") == "5"
    Parameter.objects.create(key=key, region_code="500113", value="1", reason="区级试点")
    assert parameters.get(key, "500113") == "1"
    assert parameters.get(key, "500154") == "5"
    assert parameters.get(key, "330100") == "10"


def test_unknown_parameter_is_an_error(db):
    with pytest.raises(KeyError):
        parameters.get("no.such.rule")


@pytest.mark.parametrize("tonnes, expected", [
    ("9.999999", "registered"), ("10", "simplified"), ("99.999999", "simplified"), ("100", "key"),
])
def test_supervision_class_on_each_side_of_the_thresholds(make_org, tonnes, expected):
    org = make_org(annual_hazardous_waste_tonnes=Decimal(tonnes))
    assert compute_supervision_class(org)[0] == expected


def test_a_region_override_moves_the_threshold(make_org):
    Parameter.objects.create(key="supervision.simplified.min_annual_tonnes", region_code="500113", value="1")
    org = make_org(annual_hazardous_waste_tonnes=Decimal("2"))
    assert compute_supervision_class(org)[0] == "simplified"


def test_permit_holders_and_self_disposers_are_key(make_org, make_permit, make_site):
    holder = make_org(annual_hazardous_waste_tonnes=Decimal("0"))
    make_permit(holder)
    assert compute_supervision_class(holder)[0] == "key"
    disposer = make_org(annual_hazardous_waste_tonnes=Decimal("0"))
    make_site(disposer, kind="self_disposal")
    assert compute_supervision_class(disposer)[0] == "key"


def test_many_regions_read_with_one_query_give_what_each_gives(db, django_assert_num_queries):
    from wufei.catalog.models import Region

    key = "supervision.simplified.min_annual_tonnes"
    Parameter.objects.create(key=key, region_code="500000", value="5", reason="市级通知")
    Parameter.objects.create(key=key, region_code="500113", value="1", reason="区级试点")
    regions = list(Region.objects.filter(code__in=["500113", "500154", "330100"]))
    with django_assert_num_queries(1):
        values = parameters.get_for_regions(key, regions)
    assert values == {region.code: parameters.get(key, region) for region in regions}
    assert values == {"500113": "1", "500154": "5", "330100": "10"}
