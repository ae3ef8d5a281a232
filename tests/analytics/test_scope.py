"""Who sees the cockpit: regulators of the region subtree only. An enterprise user, a department user or
another district's regulator gets 403 / 404 and no figures, on every page and API operation."""

import pytest

PAGES = ["/cockpit/", "/cockpit/?region=500113"]
APIS = ["/api/v1/analytics/cockpit", "/api/v1/analytics/flows", "/api/v1/analytics/cockpit?region=500113",
        "/api/v1/analytics/flows?region=500113"]


def _leaks(body: str) -> bool:
    return "data-figure" in body or "2.300" in body or "巴南精细化工" in body


@pytest.mark.parametrize("who", ["generator_admin", "receiver_admin", "driver", "department"])
def test_non_regulators_get_403_everywhere(region, client_for, who):
    client = client_for(region[who])
    for url in PAGES + APIS:
        answer = client.get(url)
        assert answer.status_code == 403, url
        assert not _leaks(answer.content.decode()), url


def test_another_districts_regulator_sees_nothing_of_banan(region, client_for):
    client = client_for(region.kaizhou_regulator)
    for url in ["/cockpit/?region=500113", "/cockpit/?region=500000", "/api/v1/analytics/cockpit?region=500113",
                "/api/v1/analytics/flows?region=500113", "/api/v1/analytics/cockpit?region=500000"]:
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert not _leaks(answer.content.decode()), url
    own = client.get("/api/v1/analytics/cockpit").json()
    assert own["region"]["code"] == "500154"
    assert own["headline"]["hazardous"]["generated"] == "2.000"  # the Kaizhou generator only
    assert all(row["code"] != "500113" for row in own["sub_regions"])
    own_page = client.get("/cockpit/").content.decode()
    assert (f'data-figure="hazardous.generated" href="/tracking/?region=500154&amp;year={region.year}'
            f'&amp;stream=hazardous&amp;origin=produced">2.000</a>') in own_page
    assert "巴南精细化工" not in own_page  # no Banan unit (its generation is not counted: 2.000 above)
    # what Banan sent into Kaizhou is Kaizhou's to see: the inflow, and its source region in the flows
    assert own["headline"]["hazardous"]["inflow"] == "1.500"
    assert [n["name"] for n in own["flows"]["nodes"] if n["layer"] == "region"] == ["巴南区（区外）"]


def test_district_regulator_cannot_go_up_to_the_city(region, client_for):
    client = client_for(region.banan_regulator)
    assert client.get("/cockpit/?region=500000").status_code == 404
    assert client.get("/api/v1/analytics/cockpit?region=500000").status_code == 404
    assert client.get("/cockpit/?region=999999").status_code == 404


def test_anonymous_is_sent_to_log_in(client, db):
    answer = client.get("/cockpit/")
    assert answer.status_code == 302 and "/login" in answer["Location"]
    assert client.get("/api/v1/analytics/cockpit").status_code in (401, 403)


def test_platform_admin_may_choose_any_region(region, platform_admin, client_for):
    answer = client_for(platform_admin).get("/api/v1/analytics/cockpit?region=500113")
    assert answer.status_code == 200 and answer.json()["headline"]["hazardous"]["generated"] == "2.300"
