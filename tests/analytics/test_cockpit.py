"""Golden numbers of the regulator cockpit on a small region (tests/analytics/conftest.py `region`), the
figures moving with live records, drill-down, capacity load, in-transit list and the empty region."""

import datetime as dt
import re
from decimal import Decimal

from django.utils import timezone

from tests.analytics.conftest import process
from tests.manifests.conftest import OIL, draft, run
from wufei.analytics import services
from wufei.core.scope import scope_for
from wufei.registry.models import OperatingPermit

T = Decimal


def figures_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([a-z]+\.[a-z]+)" href="[^"]*">([^<]*)</a>', html))


def flows_table(html: str) -> list[tuple[str, str, str]]:
    table = html.split('<table id="flows"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr data-source[^>]*><td>([^<]*)</td><td>([^<]*)</td><td><a [^>]*>([^<]*)</a></td></tr>",
                      table)


def test_headline_figures_of_the_district(region, client_for):
    """Banan's ledger: 2.3 t of hazardous waste generated (3 × 0.5 solvent + 0.8 oil), all of it handed over
    (transferred out: 1.5 t processed at the Kaizhou receiver, 0.8 t still in transit), so nothing in stock and
    nothing utilized or disposed of in Banan (the solvent was disposed of in Kaizhou); 0.2 t of medical waste in
    stock. GISW e-ledger: generated 10 + 5, entrusted 2 + 1 (transferred), utilized 4 + 2 + 3, disposed 1 + 1,
    closing stock of February 4."""
    data = services.cockpit(scope_for(region.banan_regulator))
    assert data["region"].code == "500113" and data["year"] == region.year
    none = {"received": T("0.000"), "inflow": T("0.000")}  # Banan has no receiver: the solvent went to Kaizhou
    assert data["headline"]["hazardous"] == {"generated": T("2.300"), "transferred": T("2.300"),
                                             "utilized": T("0.000"), "disposed": T("0.000"), "stored": T("0.000"),
                                             **none}
    assert data["headline"]["medical"] == {"generated": T("0.200"), "transferred": T("0.000"),
                                           "utilized": T("0.000"), "disposed": T("0.000"), "stored": T("0.200"),
                                           **none}
    assert data["headline"]["gisw"] == {"generated": T("15.000"), "transferred": T("3.000"), "utilized": T("9.000"),
                                        "disposed": T("2.000"), "stored": T("4.000"), **none}
    html = client_for(region.banan_regulator).get("/cockpit/").content.decode()
    figures = figures_of(html)
    assert len(figures) == 21
    assert (figures["hazardous.generated"], figures["hazardous.transferred"], figures["hazardous.disposed"],
            figures["medical.stored"], figures["gisw.utilized"]) == ("2.300", "2.300", "0.000", "0.200", "9.000")


def test_kaizhou_sees_the_disposal_at_its_receiver(region):
    """Kaizhou's ledger: its generator's 2.0 t of oil in stock; its receiver received the 1.5 t of Banan solvent
    (all of it from outside the district: inflow) and disposed of it (D10)."""
    hazardous = services.cockpit(scope_for(region.kaizhou_regulator))["headline"]["hazardous"]
    assert hazardous == {"generated": T("2.000"), "transferred": T("0.000"), "received": T("1.500"),
                         "inflow": T("1.500"), "utilized": T("0.000"), "disposed": T("1.500"), "stored": T("2.000")}


def test_figures_move_with_a_new_batch_and_a_processed_manifest(region):
    """The city (Banan generator, Kaizhou receiver): a new 0.75 t batch is generated and in stock at once; once
    shipped and processed it is transferred out and received (0.75 t each) and disposed of, and out of stock."""
    scope = scope_for(region.city_regulator)
    before = services.cockpit(scope)["headline"]["hazardous"]
    batch = region.record(count=2, tonnes="0.375")
    after_batch = services.cockpit(scope)["headline"]["hazardous"]
    assert after_batch["generated"] - before["generated"] == T("0.750")
    assert after_batch["stored"] - before["stored"] == T("0.750")
    assert after_batch["transferred"] == before["transferred"]
    process(region, batch, method="D10")
    after = services.cockpit(scope)["headline"]["hazardous"]
    assert after["transferred"] - after_batch["transferred"] == T("0.750")
    assert after["received"] - after_batch["received"] == T("0.750")
    assert after["disposed"] - after_batch["disposed"] == T("0.750")
    assert after["utilized"] == after_batch["utilized"]
    assert after_batch["stored"] - after["stored"] == T("0.750")
    assert after["generated"] == after_batch["generated"]


def test_utilization_method_counts_as_utilized(region):
    scope = scope_for(region.city_regulator)  # the oil is utilized at the Kaizhou receiver
    before = services.cockpit(scope)["headline"]["hazardous"]
    oil = region.record(waste_code=OIL, waste_name="废矿物油", tonnes="1.25")
    process(region, oil, method="R9", planned="R9")
    after = services.cockpit(scope)["headline"]["hazardous"]
    assert after["utilized"] - before["utilized"] == T("1.250")
    assert after["disposed"] == before["disposed"]


def test_sankey_links_and_table(region, client_for):
    receiver = region.receiver
    flows = services.cockpit_flows(scope_for(region.banan_regulator))
    links = {(lk["source"], lk["target"]): lk["tonnes"] for lk in flows["links"]}
    assert links == {("region:500113", "waste:HW06"): T("1.500"),
                     ("waste:HW06", f"receiver:{receiver.pk}"): T("1.500"),
                     (f"receiver:{receiver.pk}", "method:D10"): T("1.500")}
    html = client_for(region.banan_regulator).get("/cockpit/").content.decode()
    rows = flows_table(html)
    assert ("巴南区", "HW06", "1.500") in rows
    assert ("HW06", receiver.name, "1.500") in rows
    assert len(rows) == 3
    api = client_for(region.banan_regulator).get("/api/v1/analytics/flows").json()
    assert {(lk["source"], lk["target"], lk["tonnes"]) for lk in api["links"]} == {
        ("region:500113", "waste:HW06", "1.500"), ("waste:HW06", f"receiver:{receiver.pk}", "1.500"),
        (f"receiver:{receiver.pk}", "method:D10", "1.500")}


def test_other_receivers_are_grouped_beyond_the_top_15(region, monkeypatch):
    monkeypatch.setattr(services, "TOP_RECEIVERS", 0)
    flows = services.cockpit_flows(scope_for(region.banan_regulator))
    assert {lk["target"] for lk in flows["links"] if lk["source"] == "waste:HW06"} == {"receiver:other"}


def test_capacity_load_pro_rated(region, client_for):
    city = services.cockpit_region(scope_for(region.city_regulator), "500000")
    start, end = services.year_bounds(region.year)
    whole = {r["organization_id"]: r for r in services.capacity_load(city, region.year, end + dt.timedelta(days=3))}
    row = whole[region.receiver.pk]
    # 150 t/a permitted (100 t HW06 + 50 t HW08); 1.5 t accepted + 0.8 t shipped in transit
    assert (row["permitted_tonnes"], row["received_tonnes"], row["load_percent"]) == (T(150), T("2.300"), T("1.5"))
    OperatingPermit.objects.filter(organization=region.receiver).update(valid_from=dt.date(region.year, 1, 1))
    fifth = {r["organization_id"]: r for r in services.capacity_load(city, region.year, start + dt.timedelta(days=73))}
    assert fifth[region.receiver.pk]["load_percent"] == T("7.7")  # 2.3 / (150 × 0.2)
    banan = services.cockpit_region(scope_for(region.banan_regulator), "500113")
    assert services.capacity_load(banan, region.year, timezone.now()) == []  # the receiver is in Kaizhou
    html = client_for(region.city_regulator).get("/cockpit/?region=500000").content.decode()
    assert f'<span data-load="{region.receiver.pk}">' in html


def test_in_transit_list_and_overdue_flag(region):
    banan = services.cockpit_region(scope_for(region.banan_regulator), "500113")
    now = timezone.now()
    fresh = services.in_transit(banan, now)
    assert (fresh["count"], fresh["overdue"]) == (1, 0)
    [row] = fresh["oldest"]
    assert (row["manifest_id"], row["overdue"], row["shipped_tonnes"]) == (region.moving.pk, False, T("0.8"))
    late = services.in_transit(banan, now + dt.timedelta(days=30))
    assert (late["count"], late["overdue"], late["oldest"][0]["overdue"]) == (1, 1, True)
    assert late["oldest"][0]["elapsed_hours"] >= 30 * 24 - 1


def test_drill_down_city_equals_the_sum_of_its_districts(region, client_for):
    city = services.cockpit(scope_for(region.city_regulator), region_code="500000")
    rows = {row["code"]: row for row in city["sub_regions"]}
    assert rows["500113"]["figures"]["hazardous"]["generated"] == T("2.300")
    assert rows["500154"]["figures"]["hazardous"]["generated"] == T("2.000")
    assert rows["500154"]["figures"]["hazardous"]["stored"] == T("2.000")
    assert city["headline"]["hazardous"]["generated"] == T("4.300")
    for stream in services.STREAMS:
        for figure in services.FIGURES:
            assert city["headline"][stream][figure] == sum(
                (row["figures"][stream][figure] for row in city["sub_regions"]), T(0)), (stream, figure)
    banan = services.cockpit(scope_for(region.city_regulator), region_code="500113")
    assert banan["headline"] == services.cockpit(scope_for(region.banan_regulator))["headline"]
    assert [r.code for r in banan["breadcrumb"]] == ["500000", "500113"]
    html = client_for(region.city_regulator).get("/cockpit/?region=500000").content.decode()
    assert 'href="?region=500113&amp;year=' in html
    assert figures_of(html)["hazardous.generated"] == "4.300"
    # the district regulator's breadcrumb starts at its own district
    assert [r.code for r in services.cockpit(scope_for(region.banan_regulator))["breadcrumb"]] == ["500113"]


def test_sankey_of_the_city_starts_at_the_districts(region):
    flows = services.cockpit_flows(scope_for(region.city_regulator), region_code="500000")
    assert ("region:500113", "waste:HW06") in {(lk["source"], lk["target"]) for lk in flows["links"]}


def test_api_returns_the_page_figures(region, client_for):
    answer = client_for(region.banan_regulator).get("/api/v1/analytics/cockpit")
    assert answer.status_code == 200
    data = answer.json()
    assert data["region"]["code"] == "500113"
    assert data["headline"]["hazardous"]["generated"] == "2.300"
    assert data["headline"]["gisw"]["stored"] == "4.000"
    assert data["in_transit"]["count"] == 1
    assert data["map"]["skipped_organizations"] >= 1


def test_empty_region_renders(regulator_of, client_for):
    user = regulator_of("500154")
    answer = client_for(user).get("/cockpit/")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert set(figures_of(html).values()) == {"0.000"}
    assert flows_table(html) == []
    api = client_for(user).get("/api/v1/analytics/cockpit?year=2024").json()
    assert api["year"] == 2024 and api["flows"]["links"] == []


def test_bad_year_is_refused(regulator_of, client_for):
    client = client_for(regulator_of("500113"))
    assert client.get("/cockpit/?year=1066").status_code == 400
    assert client.get("/api/v1/analytics/cockpit?year=1066").status_code == 422


def test_map_points_have_roles_and_links(region, client_for):
    region.generator.longitude, region.generator.latitude = T("106.52"), T("29.38")
    region.generator.save()
    data = services.cockpit(scope_for(region.banan_regulator))
    [point] = [p for p in data["map"]["points"] if p["organization_id"] == region.generator.pk]
    assert (point["role"], point["tonnes"]) == ("generator", T("1.500"))
    html = client_for(region.banan_regulator).get("/cockpit/").content.decode()
    assert f"/registry/organizations/{region.generator.pk}/" in html


def test_a_province_sees_what_enters_it_from_another(region, make_org, member_of, make_permit, regulator_of,
                                                     client_for):
    """Two 0.6 t drums of Banan solvent go to a Chengdu receiver on a whitelist and are weighed there at 1.18 t,
    then disposed of (D10).
    Sichuan's cockpit: received 1.180 t (what its receiver's ledger received), all of it from outside (inflow
    1.180 t), disposed 1.180 t; nothing generated or transferred by Sichuan's own units; its flows start at
    "重庆市（区外）" and the link lists that manifest. Chongqing's cockpit counts the load among what its
    generators transferred out, as weighed at the handover: 2.300 (the region fixture) + 1.200 = 3.500 t; it
    received 1.500 t (the Kaizhou receiver) and disposed of 1.500 t — the Chengdu disposal is Sichuan's."""
    from wufei.manifests import crossprovince
    from wufei.manifests import services as manifests
    from wufei.manifests.models import Manifest

    chengdu = make_org("四川环资再生有限公司", region="510104", roles=("receiver",))
    make_permit(chengdu, lines=(("HW06", "100", ("D10",)),))
    crossprovince.create_rule(scope=scope_for(regulator_of("500000")), kind="whitelist", origin_province="500000",
                              destination_province="510000", code="HW06",
                              valid_from=region.processed.received_at.date() - dt.timedelta(days=1),
                              valid_until=region.processed.received_at.date() + dt.timedelta(days=30))
    drums = region.record(count=2, tonnes="0.6")
    manifest = draft(region, drums, receiver_id=chengdu.pk)
    run(region, manifest, "submit", "generator_admin")
    run(region, manifest, "pickup", "driver")
    manifest.refresh_from_db()
    chengdu_admin = scope_for(member_of(chengdu, "admin"))
    manifests.sign(scope=chengdu_admin, manifest_id=manifest.pk, step="receive", version=manifest.version,
                   data={"received_tonnes": "1.18"})
    manifest.refresh_from_db()
    manifests.sign(scope=chengdu_admin, manifest_id=manifest.pk, step="process", version=manifest.version,
                   data={"method": "D10"})

    sichuan = client_for(regulator_of("510000"))
    data = sichuan.get("/api/v1/analytics/cockpit").json()
    hazardous = data["headline"]["hazardous"]
    assert (hazardous["generated"], hazardous["transferred"], hazardous["received"], hazardous["inflow"],
            hazardous["disposed"], hazardous["stored"]) == ("0.000", "0.000", "1.180", "1.180", "1.180", "0.000")
    sources = [n for n in data["flows"]["nodes"] if n["layer"] == "region"]
    assert [n["name"] for n in sources] == ["重庆市（区外）"] and data["flows"]["total"] == "1.180"
    page = sichuan.get("/cockpit/").content.decode()
    assert 'data-figure="hazardous.inflow"' in page
    [link] = [lk for lk in _chart(page)["sankey"]["links"] if lk["source"] == "region:500000"]
    listed = sichuan.get(link["url"]).content.decode()
    assert manifest.number in listed and region.processed.number not in listed
    received = services.cockpit(scope_for(region.city_regulator))["headline"]["hazardous"]
    assert received["transferred"] == T("3.500") and received["received"] == T("1.500")
    assert received["inflow"] == T("0.000") and received["disposed"] == T("1.500")
    assert Manifest.objects.get(pk=manifest.pk).accepted_tonnes == T("1.18")


def _chart(page):
    import json
    import re

    return json.loads(re.search(r'<script id="cockpit-chart-data" type="application/json">(.*?)</script>', page,
                                re.S).group(1))
