"""Which stream a waste code belongs to, and which units are industrial sources: one rule in Python and in SQL."""

import pytest

from tests.conftest import BANAN
from wufei.catalog import services, streams
from wufei.catalog.models import HazardousWaste
from wufei.registry.models import Organization


def test_medical_waste_is_category_hw01():
    assert services.is_medical_code("841-001-01") and services.is_medical_code(" 841-005-01 ")
    assert not services.is_medical_code("900-041-49") and not services.is_medical_code("")
    assert not services.is_medical_code(None) and not services.is_medical_code("101-001-S01")


@pytest.mark.django_db
def test_the_medical_query_is_the_hw01_category():
    medical = set(HazardousWaste.objects.filter(services.medical_code_q("code")).values_list("code", flat=True))
    assert medical == set(HazardousWaste.objects.filter(category_id="HW01").values_list("code", flat=True))
    assert medical and all(services.is_medical_code(code) for code in medical)


# GB/T 4754: B 06–12 mining, C 13–43 manufacturing, D 44–46 utilities; the rest are social sources
@pytest.mark.parametrize(("code", "industrial"), [
    ("0610", True), ("1352", True), ("3974", True), ("C3974", True), ("c39", True), ("4417", True), ("4620", True),
    ("B", True), ("", True), ("0511", False), ("0590", False), ("4710", False), ("7724", False), ("8111", False),
    ("8334", False), ("8411", False), ("7452", False), ("A0511", False), ("O8111", False), ("C", True), ("E", False),
])
def test_industrial_sources(code, industrial):
    assert services.is_industrial_source(code) is industrial


@pytest.mark.django_db
def test_the_industrial_query_agrees_with_the_rule(make_org):
    codes = ["0610", "3974", "C3974", "c39", "4417", "4620", "B", "", "0511", "4710", "7724", "8111", "8411", "E"]
    for code in codes:
        make_org(region=BANAN, industry_code=code)
    make_org(region=BANAN, industry_code="3974", roles=("generator", "medical_institution"))  # a factory's hospital
    found = set(Organization.objects.filter(services.industrial_source_q("")).values_list("industry_code", "pk"))
    expected = {(org.industry_code, org.pk) for org in Organization.objects.all()
                if services.is_industrial_source(org.industry_code, is_medical_institution=org.is_medical_institution)}
    assert found == expected
    assert {code for code, _ in found} == {"0610", "3974", "C3974", "c39", "4417", "4620", "B", ""}


# --- the stream table (catalog/streams.py) -------------------------------------------------------------------

@pytest.mark.parametrize(("code", "stream"), [
    ("841-001-01", "medical"), (" 841-005-01 ", "medical"), ("900-402-06", "hazardous"), ("900-041-49", "hazardous"),
    ("SW01", "general"), ("391-001-S17", "general"), ("S01-S59", "general"), ("101-001-S01", "general"),
    ("", None), (None, None),
])
def test_each_stream_recognises_its_codes(code, stream):
    found = streams.stream_of(code)
    assert (found.key if found else None) == stream


@pytest.mark.django_db
@pytest.mark.parametrize("listed", [True, False])
def test_each_streams_query_agrees_with_its_rule(listed):
    codes = list(HazardousWaste.objects.values_list("code", flat=True))
    for stream in streams.all_streams():
        found = set(HazardousWaste.objects.filter(stream.q("code", listed=listed)).values_list("code", flat=True))
        assert found == {code for code in codes if stream.matches(code)}, stream.key
    medical = set(HazardousWaste.objects.filter(category_id="HW01").values_list("code", flat=True))
    assert {code for code in codes if streams.get("medical").matches(code)} == medical
    assert len(medical) + len([c for c in codes if streams.get("hazardous").matches(c)]) == len(codes)


def test_the_rows_say_unit_ledger_storage_and_tile():
    rows = {stream.key: stream for stream in streams.all_streams()}
    assert [stream.key for stream in streams.all_streams()] == ["hazardous", "medical", "general"]
    assert {key: (row.unit, row.industrial, row.indicator_family, row.ledger) for key, row in rows.items()} == {
        "hazardous": ("t", True, "ihw", "ledgers.LedgerMonth"),
        "medical": ("t", False, None, "ledgers.LedgerMonth"),
        "general": ("t", True, "gisw", "ledgers.SolidWasteMonth")}
    assert (rows["hazardous"].storage.limit_key, rows["hazardous"].storage.unit) == ("storage.max_days", "days")
    assert (rows["medical"].storage.limit_key, rows["medical"].storage.unit) == ("storage.medical_max_hours", "hours")
    assert rows["general"].storage is None
    with pytest.raises(KeyError):
        streams.get("sludge")


@pytest.mark.django_db
def test_storage_limits_come_from_each_streams_parameters():
    import datetime as dt

    from wufei.core.models import Parameter
    from wufei.tracking import services as tracking

    limits = tracking.storage_limits(BANAN)
    assert limits.for_stream("hazardous") == (dt.timedelta(days=365), dt.timedelta(days=30))
    assert limits.for_waste("841-001-01") == (dt.timedelta(hours=48), dt.timedelta(hours=12))
    Parameter.objects.create(key="storage.medical_max_hours", region_code="500000", value="24")  # Chongqing
    limits = tracking.storage_limits(BANAN)
    assert (limits.medical_limit, limits.limit) == (dt.timedelta(hours=24), dt.timedelta(days=365))
    assert limits.for_waste("900-402-06") == (dt.timedelta(days=365), dt.timedelta(days=30))
