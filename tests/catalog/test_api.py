"""The catalog JSON API under /api/v1/catalog: public look-ups, and zones created by regulators."""

import pytest

from wufei.catalog import reference
from wufei.catalog.models import Zone
from wufei.core.models import AuditEvent

pytestmark = pytest.mark.django_db

API = "/api/v1/catalog"
QIJIANG = "500110"  # 綦江区: 万盛经开区 lies in it


def _waste_rows():
    return reference.rows("hazardous_waste_list.csv")


def _codes(response):
    assert response.status_code == 200, response.content
    return [item["code"] for item in response.json()]


# --- hazardous wastes ---------------------------------------------------------------------

def test_filter_by_category_and_text(client):
    expected = [r["waste_code"] for r in _waste_rows() if r["category_code"] == "HW49" and "活性炭" in r["description"]]
    assert expected == ["900-039-49"]
    # The text filter also looks at industry and category names: make sure neither adds a row here.
    assert not any("活性炭" in r["industry_source"] + r["category_name"] for r in _waste_rows())
    assert _codes(client.get(f"{API}/hazardous-wastes", {"category": "HW49", "q": "活性炭"})) == expected


def test_text_filter_alone_searches_every_category(client):
    expected = sorted(r["waste_code"] for r in _waste_rows() if "活性炭" in r["description"])
    assert len(expected) > 1
    assert sorted(_codes(client.get(f"{API}/hazardous-wastes", {"q": "活性炭"}))) == expected


def test_category_filter_is_case_insensitive_and_counts_match(client):
    assert len(_codes(client.get(f"{API}/hazardous-wastes", {"category": "hw49"}))) == 11
    assert len(_codes(client.get(f"{API}/hazardous-wastes"))) == 467


def test_text_filter_ignores_ascii_case_on_every_database(client):
    expected = sorted(r["waste_code"] for r in _waste_rows() if "vocs" in r["description"].lower())
    assert expected
    assert sorted(_codes(client.get(f"{API}/hazardous-wastes", {"q": "vocs"}))) == expected
    assert sorted(_codes(client.get(f"{API}/hazardous-wastes", {"q": "VOCs"}))) == expected


def test_a_code_prefix_finds_its_codes(client):
    expected = sorted(r["waste_code"] for r in _waste_rows() if r["waste_code"].startswith("841-"))
    assert sorted(_codes(client.get(f"{API}/hazardous-wastes", {"q": "841-"}))) == expected


def test_one_code_returns_its_fields(client):
    response = client.get(f"{API}/hazardous-wastes/900-041-49")
    assert response.status_code == 200
    row = next(r for r in _waste_rows() if r["waste_code"] == "900-041-49")
    assert response.json() == {
        "code": "900-041-49",
        "category": "HW49",
        "category_name": "其他废物",
        "industry_source": "非特定行业",
        "description": row["description"],
        "hazards": ["T", "In"],
        "hazard_notation": "T/In",
        "edition": "2021",
    }
    assert "过滤吸附介质" in response.json()["description"]


def test_unknown_code_is_404_with_a_stable_error_code(client):
    response = client.get(f"{API}/hazardous-wastes/999-999-99")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "unknown_waste_code"
    assert "999-999-99" in body["message"]


@pytest.mark.parametrize("hazard", ["T", "C", "I", "R", "In"])
def test_hazard_filter_matches_the_list(client, hazard):
    expected = sorted(r["waste_code"] for r in _waste_rows() if hazard in r["hazard"].split(","))
    assert expected
    assert sorted(_codes(client.get(f"{API}/hazardous-wastes", {"hazard": hazard}))) == expected


def test_infectivity_filter_finds_medical_waste_and_the_other_in_codes(client):
    codes = _codes(client.get(f"{API}/hazardous-wastes", {"hazard": "In"}))
    assert {"841-001-01", "841-002-01", "841-003-01"} <= set(codes)
    expected = {r["waste_code"] for r in _waste_rows() if "In" in r["hazard"].split(",")}
    assert set(codes) == expected
    # 'I' (ignitability) must not pick up 'In' (infectivity) rows, nor the other way round.
    ignitable = set(_codes(client.get(f"{API}/hazardous-wastes", {"hazard": "I"})))
    assert "841-001-01" not in ignitable


def test_hazard_filter_ignores_case_and_rejects_unknown_values(client):
    assert _codes(client.get(f"{API}/hazardous-wastes", {"hazard": "in"})) == _codes(
        client.get(f"{API}/hazardous-wastes", {"hazard": "In"}))
    response = client.get(f"{API}/hazardous-wastes", {"hazard": "X"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert response.json()["errors"][0]["field"] == "hazard"


def test_categories_with_counts(client):
    response = client.get(f"{API}/hazardous-waste-categories")
    assert response.status_code == 200
    counts = {c["code"]: c["code_count"] for c in response.json()}
    assert len(counts) == 46
    assert counts["HW49"] == 11 and counts["HW11"] == 85
    detail = client.get(f"{API}/hazardous-waste-categories/hw08")
    assert detail.json()["code"] == "HW08" and detail.json()["number"] == 8
    missing = client.get(f"{API}/hazardous-waste-categories/HW41")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_waste_category"


def test_exemptions_for_a_code_include_those_of_its_category(client):
    def seqs(code):
        response = client.get(f"{API}/hazardous-waste-exemptions", {"code": code})
        assert response.status_code == 200
        return sorted({row["seq"] for row in response.json()})

    assert len(client.get(f"{API}/hazardous-waste-exemptions").json()) == 57
    assert seqs("900-041-49") == [24]
    assert seqs("841-001-01") == [2, 3]  # item 2 names HW01, item 3 names the code
    assert seqs("HW01") == [2, 3, 4, 5]
    assert seqs("HW11") == [10]  # 252-002-11;252-017-11;451-003-11
    assert seqs("HW49") == [24, 27, 28]
    assert seqs("251-017-50") == [30]


# --- treatment methods, general solid waste ----------------------------------------------

@pytest.mark.parametrize("kind", ["utilization", "disposal", "other"])
def test_treatment_methods_filter_by_kind(client, kind):
    expected = sorted(r["code"] for r in reference.rows("treatment_methods.csv") if r["kind"] == kind)
    assert expected
    assert sorted(_codes(client.get(f"{API}/treatment-methods", {"kind": kind}))) == expected


def test_treatment_method_detail_and_unknown(client):
    response = client.get(f"{API}/treatment-methods/d10")
    assert response.status_code == 200
    assert response.json()["code"] == "D10" and response.json()["kind"] == "disposal"
    missing = client.get(f"{API}/treatment-methods/Z99")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_method_code"


def test_general_solid_wastes_carry_the_verified_flag(client):
    rows = client.get(f"{API}/general-solid-wastes").json()
    assert len(rows) == 12
    flags = {row["code"]: row["verified"] for row in rows}
    assert flags["S01-S59"] is True
    assert flags["SW02"] is False


# --- regions -----------------------------------------------------------------------------

def test_chongqing_children_are_its_37_current_districts(client):
    expected = sorted(r["code"] for r in reference.rows("regions.csv") if r["parent_code"] == "500000")
    assert len(expected) == 37
    codes = _codes(client.get(f"{API}/regions", {"parent": "500000"}))
    assert sorted(codes) == expected
    assert "500157" in codes
    assert "500105" not in codes and "500112" not in codes


def test_abolished_districts_are_listed_on_request(client):
    response = client.get(f"{API}/regions", {"parent": "500000", "include_abolished": "true"})
    rows = {row["code"]: row for row in response.json()}
    assert len(rows) == 39
    assert rows["500105"]["status"] == "abolished" and rows["500105"]["name"] == "江北区"
    assert rows["500112"]["status"] == "abolished"
    assert rows["500157"]["status"] == "current"


def test_region_filters_by_level_and_text(client):
    provinces = _codes(client.get(f"{API}/regions", {"level": "province"}))
    assert len(provinces) == 33 and "500000" in provinces
    found = client.get(f"{API}/regions", {"q": "巴南"}).json()
    assert [(r["code"], r["name"]) for r in found] == [("500113", "巴南区")]


def test_one_region_shows_its_ancestors(client):
    response = client.get(f"{API}/regions/500113")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "500113" and body["name"] == "巴南区"
    assert body["level"] == "district" and body["parent"] == "500000" and body["status"] == "current"
    assert [a["code"] for a in body["ancestors"]] == ["500000"]
    assert body["children"] == []


def test_a_province_shows_its_current_children(client):
    body = client.get(f"{API}/regions/500000").json()
    assert body["ancestors"] == [] and body["parent"] is None
    children = [c["code"] for c in body["children"]]
    assert len(children) == 37 and "500113" in children and "500105" not in children


def test_a_county_under_a_city_has_two_ancestors(client):
    body = client.get(f"{API}/regions/330106").json()  # 杭州市西湖区
    assert [a["code"] for a in body["ancestors"]] == ["330000", "330100"]


def test_unknown_region_is_404(client):
    response = client.get(f"{API}/regions/999999")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_region"


# --- zones -------------------------------------------------------------------------------

WANSHENG = {"code": "WSJK", "name": "万盛经开区", "kind": "special_zone", "region": QIJIANG,
            "description": "万盛经济技术开发区"}


def _post_zone(client, payload=None, **headers):
    return client.post(f"{API}/zones", payload or WANSHENG, content_type="application/json", headers=headers)


def test_regulator_creates_a_special_zone(regulator_of, client_for, client):
    regulator = regulator_of(QIJIANG)
    response = _post_zone(client_for(regulator))
    assert response.status_code == 201, response.content
    assert response.json() == {**WANSHENG, "region_name": "綦江区"}
    zone = Zone.objects.get(code="WSJK")
    assert zone.region_id == QIJIANG and zone.kind == Zone.Kind.SPECIAL_ZONE
    event = AuditEvent.objects.get(entity_type="catalog.zone", entity_id=str(zone.pk))
    assert event.action == "created" and event.actor_id == regulator.pk
    # Zones are public reference data: anyone can read them, by region subtree too.
    assert _codes(client.get(f"{API}/zones", {"region": "500000"})) == ["WSJK"]
    assert _codes(client.get(f"{API}/zones", {"region": "500113"})) == []
    assert client.get(f"{API}/zones/WSJK").json()["name"] == "万盛经开区"
    assert client.get(f"{API}/zones/NOPE").json()["code"] == "unknown_zone"


def test_a_city_regulator_may_create_zones_in_its_districts(regulator_of, client_for):
    assert _post_zone(client_for(regulator_of("500000"))).status_code == 201


def test_anonymous_callers_cannot_create_zones(client):
    response = _post_zone(client)
    assert response.status_code == 401
    assert not Zone.objects.exists()


def test_enterprise_users_cannot_create_zones(make_org, member_of, client_for):
    user = member_of(make_org(region=QIJIANG))
    response = _post_zone(client_for(user))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Zone.objects.exists()


def test_regulators_of_another_region_cannot_create_zones(regulator_of, client_for):
    response = _post_zone(client_for(regulator_of("500113")))
    assert response.status_code == 403
    assert not Zone.objects.exists()


def test_zone_in_an_unknown_region_is_404(regulator_of, client_for):
    response = _post_zone(client_for(regulator_of(QIJIANG)), {**WANSHENG, "region": "999999"})
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_region"


def test_duplicate_zone_code_is_422(regulator_of, client_for):
    client = client_for(regulator_of(QIJIANG))
    assert _post_zone(client).status_code == 201
    response = _post_zone(client, {**WANSHENG, "name": "另一个园区"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert [e["field"] for e in response.json()["errors"]] == ["code"]
    assert Zone.objects.count() == 1


def test_invalid_kind_and_missing_fields_are_422(regulator_of, client_for):
    client = client_for(regulator_of(QIJIANG))
    response = _post_zone(client, {**WANSHENG, "kind": "harbour"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "kind"
    response = _post_zone(client, {"code": "X"})
    assert response.status_code == 422
    assert not Zone.objects.exists()


def test_idempotency_key_replays_the_first_answer(regulator_of, client_for):
    client = client_for(regulator_of(QIJIANG))
    first = _post_zone(client, **{"Idempotency-Key": "zone-wsjk-1"})
    second = _post_zone(client, **{"Idempotency-Key": "zone-wsjk-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Zone.objects.count() == 1
    # Without the key a retry is a new create, and fails as a duplicate.
    assert _post_zone(client).status_code == 422
    assert Zone.objects.count() == 1
