"""Cockpit figures link to the records behind them: follow the hrefs of the `data-figure` anchors, the sub-region
figures and the Sankey links, and add up what the list shows. Generated and in stock list exactly the containers
counted; the Sankey links exactly the manifest lines; the ledger's flows (transferred, received, utilized,
disposed) open the manifests of the region's generators / receivers, which hold the manifested part of them (a
load in transit is transferred out already; in-house processing has no manifest)."""

import html as htmllib
import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.analytics.conftest import process
from tests.manifests.conftest import OIL
from wufei.manifests.models import Manifest

T = Decimal


def figure_links(page: str) -> dict[str, tuple[str, Decimal]]:
    return {key: (htmllib.unescape(href), T(value)) for key, href, value in
            re.findall(r'data-figure="([a-z]+\.[a-z]+)" href="([^"]*)">([^<]*)</a>', page)}


def listed_tonnes(client, url: str) -> tuple[Decimal, int]:
    """(the tonnes the list totals, the number of records listed) of a manifest or container list page."""
    answer = client.get(url)
    assert answer.status_code == 200, url
    page = answer.content.decode()
    if url.startswith("/manifests/"):
        total = T(re.search(r'data-testid="accepted-total">[^0-9<]*([0-9.]+)', page).group(1))
        rows = re.findall(r'data-accepted="([0-9.]+)"', page)
        assert sum((T(r) for r in rows), T(0)) == total, url  # the rows add up to the total shown
    else:
        total = T(re.search(r'data-testid="net-total">[^0-9<]*([0-9.]+)', page).group(1))
        rows = re.findall(r"<tr[^>]*>\s*<td><a href=\"/tracking/containers/", page)
    count = int(re.search(r'<p role="status">[^<0-9]*([0-9]+)', page).group(1))
    assert count == len(rows), url
    return total, count


@pytest.fixture
def more(region):
    """Records the figures must not count: a manifest of last year, and 2 t of oil in stock in Kaizhou."""
    batch = region.record(count=2, tonnes="0.25")
    old = process(region, batch, method="R2", planned="R2")
    last_year = timezone.localtime(old.received_at).replace(year=region.year - 1)
    Manifest.objects.filter(pk=old.pk).update(received_at=last_year)
    return region


def test_headline_figures_link_to_exactly_their_records(more, client_for, english):
    region = more
    client = client_for(region.banan_regulator)
    links = figure_links(client.get("/cockpit/").content.decode())
    assert links["hazardous.generated"][1] == T("2.8")  # 3 × 0.5 + 0.8 + 2 × 0.25 (the R2 batch: this year)
    # the ledger: everything handed over this year, the load in transit and the R2 batch included
    assert links["hazardous.transferred"][1] == T("2.8")
    assert links["hazardous.disposed"][1] == T("0") and links["hazardous.utilized"][1] == T("0")  # in Kaizhou
    assert links["medical.stored"][1] == T("0.2")
    expected_counts = {"hazardous.generated": 6, "hazardous.stored": 0, "medical.generated": 1, "medical.stored": 1}
    for key, count in expected_counts.items():
        url, figure = links[key]
        assert listed_tonnes(client, url) == (figure, count), (key, url)
    # the manifested part of the transfers: the one manifest received this year (not the R2 one, received
    # last year, nor the load in transit)
    assert listed_tonnes(client, links["hazardous.transferred"][0]) == (T("1.5"), 1)
    assert "year=" in links["hazardous.transferred"][0] and "side=generator" in links["hazardous.transferred"][0]


def test_stored_link_follows_the_holder_region(region, client_for, english):
    client = client_for(region.kaizhou_regulator)
    links = figure_links(client.get("/cockpit/").content.decode())
    assert links["hazardous.stored"][1] == T("2.0")
    assert listed_tonnes(client, links["hazardous.stored"][0]) == (T("2.0"), 1)
    assert links["hazardous.generated"][1] == T("2.0")
    assert listed_tonnes(client, links["hazardous.generated"][0]) == (T("2.0"), 1)


def test_sankey_links_list_exactly_their_tonnes(more, client_for, english):
    region = more
    oil = region.record(waste_code=OIL, waste_name="废矿物油", tonnes="0.4")
    process(region, oil, method="R9", planned="R9")  # a second category and method this year
    client = client_for(region.city_regulator)
    page = client.get("/cockpit/?region=500000").content.decode()
    data = json.loads(re.search(r'<script id="cockpit-chart-data" type="application/json">(.*?)</script>',
                                page, re.S).group(1))
    links = data["sankey"]["links"]
    assert {(lk["source"], lk["target"]): lk["value"] for lk in links} == {
        ("region:500113", "waste:HW06"): 1.5, ("region:500113", "waste:HW08"): 0.4,
        ("waste:HW06", f"receiver:{region.receiver.pk}"): 1.5, ("waste:HW08", f"receiver:{region.receiver.pk}"): 0.4,
        (f"receiver:{region.receiver.pk}", "method:D10"): 1.5, (f"receiver:{region.receiver.pk}", "method:R9"): 0.4}
    for link in links:
        total, count = listed_tonnes(client, link["url"])
        assert total == T(str(link["value"])) and count == 1, link
    for node in data["sankey"]["nodes"]:
        assert client.get(node["url"]).status_code == 200
    # the city's headline figures: the ledger's (2.3 + 0.5 + 0.4 t handed over; the Kaizhou receiver utilized
    # 0.4 t (R9) + 0.5 t (R2, the manifest received "last year" but processed now) and disposed of 1.5 t), their
    # lists the manifests received this year
    figures = figure_links(page)
    assert (figures["hazardous.transferred"][1], figures["hazardous.utilized"][1],
            figures["hazardous.disposed"][1]) == (T("3.2"), T("0.9"), T("1.5"))
    assert listed_tonnes(client, figures["hazardous.transferred"][0]) == (T("1.9"), 2)
    assert listed_tonnes(client, figures["hazardous.utilized"][0]) == (T("0.4"), 1)
    assert listed_tonnes(client, figures["hazardous.disposed"][0]) == (T("1.5"), 1)


def test_sub_region_and_transit_links(region, client_for, english):
    client = client_for(region.city_regulator)
    answer = client.get("/cockpit/?region=500000")
    rows = {row["code"]: row for row in answer.context["sub_regions"]}
    banan = rows["500113"]
    # 2.3 t of hazardous waste handed over (1.5 t received by Kaizhou on one manifest, 0.8 t in transit) and 3 t
    # of GISW entrusted (e-ledger, no manifest)
    assert (banan["figures"]["hazardous"]["transferred"], banan["total"]["transferred"]) == (T("2.3"), T("5.3"))
    assert listed_tonnes(client, banan["links"]["transferred"]) == (T("1.5"), 1)
    assert listed_tonnes(client, banan["links"]["hazardous_generated"])[0] == banan["figures"]["hazardous"]["generated"]
    kaizhou = rows["500154"]
    assert listed_tonnes(client, kaizhou["links"]["stored"]) == (kaizhou["total"]["stored"], 1)
    page = answer.content.decode()
    transit = htmllib.unescape(re.search(r'href="([^"]*)" data-testid="transit-count"', page).group(1))
    assert listed_tonnes(client, transit)[1] == answer.context["in_transit"]["count"] == 1


def test_the_filters_only_narrow_what_the_caller_sees(region, client_for, english):
    # a Kaizhou enterprise following Banan's links: nothing of Banan's generator shows
    client = client_for(region.kaizhou_admin)
    for url in ("/manifests/?region=500113&side=generator&status=received,processed",
                "/tracking/?region=500113&origin=produced", "/tracking/?holder_region=500113&in_stock=yes"):
        assert listed_tonnes(client, url) == (T(0), 0), url
    assert listed_tonnes(client, "/tracking/?region=500154&stream=hazardous") == (T("2.0"), 1)
    # the Kaizhou regulator sees the Banan manifest to its receiver, and no Banan container in stock
    client = client_for(region.kaizhou_regulator)
    assert listed_tonnes(client, "/manifests/?region=500113&side=generator&status=received,processed")[1] == 1
    assert listed_tonnes(client, "/tracking/?holder_region=500113&in_stock=yes") == (T(0), 0)
