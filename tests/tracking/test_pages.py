"""Container pages: record a batch, list, detail with scan buttons, inventory, scan page, the 一企一档 section."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import BANAN, KAIZHOU
from tests.tracking import MEDICAL, SOLVENT, make_plant, record
from wufei.core import audit
from wufei.tracking.models import Container, ContainerStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant(make_org, make_site, member_of):
    return make_plant(make_org, make_site, member_of)


@pytest.fixture
def browser(client_for):
    def make(user):
        client = client_for(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


def text(response) -> str:
    return response.content.decode()


def test_pages_require_login(client, plant):
    [container] = record(plant)
    for url in (reverse("tracking:container_list"), reverse("tracking:record"), reverse("tracking:inventory"),
                reverse("tracking:container_detail", args=[container.code])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_record_a_batch_through_the_form(plant, browser):
    client = browser(plant["admin"])
    page = client.get(reverse("tracking:record"))
    assert page.status_code == 200
    body = text(page)
    assert plant["store"].name in body and 'for="f-waste"' in body and 'id="f-waste"' in body
    response = client.post(reverse("tracking:record"), {
        "organization": plant["org"].pk, "waste_code": SOLVENT, "waste_name": "废清洗剂", "physical_form": "liquid",
        "packaging": "drum", "count": "3", "net_weight_tonnes": "0.2", "steps": "produced,packed,weighed,coded,stored",
        "site_id": plant["workshop"].pk, "storage_site_id": plant["store"].pk, "storage_location": "A-1"})
    assert response.status_code == 302
    assert Container.objects.filter(status=ContainerStatus.STORED, waste_name="废清洗剂").count() == 3
    assert audit.verify_chain().ok


def test_record_form_shows_errors_next_to_fields(plant, browser):
    client = browser(plant["admin"])
    response = client.post(reverse("tracking:record"), {
        "organization": plant["org"].pk, "waste_code": "123", "physical_form": "liquid", "packaging": "drum",
        "count": "1", "steps": "produced,packed,weighed,coded,stored"})
    assert response.status_code == 422
    body = text(response)
    assert 'id="f-waste-error"' in body and 'aria-invalid="true"' in body
    assert 'id="f-weight-error"' in body
    assert Container.objects.count() == 0


def test_partial_recording_then_steps_from_the_detail_page(plant, browser):
    client = browser(plant["admin"])
    client.post(reverse("tracking:record"), {
        "organization": plant["org"].pk, "waste_code": SOLVENT, "physical_form": "liquid", "packaging": "drum",
        "count": "1", "steps": "produced,packed"})
    container = Container.objects.get()
    assert container.status == ContainerStatus.PACKED
    detail = reverse("tracking:container_detail", args=[container.code])
    body = text(client.get(detail))
    assert 'data-testid="action-weighed"' in body and 'data-testid="action-coded"' in body
    scan_url = reverse("tracking:container_scan", args=[container.code])
    response = client.post(scan_url, {"kind": "weighed", "weight_tonnes": "0.3", "next": detail})
    assert response.status_code == 302 and response["Location"] == detail
    client.post(scan_url, {"kind": "coded"})
    client.post(scan_url, {"kind": "stored", "storage_site_id": plant["store"].pk, "storage_location": "B-1"})
    container.refresh_from_db()
    assert container.status == ContainerStatus.STORED and container.storage_location == "B-1"
    # a refused scan is reported, nothing changes
    response = client.post(scan_url, {"kind": "received"}, follow=True)
    assert "not allowed" in text(response)
    assert Container.objects.get().status == ContainerStatus.STORED


def test_handover_by_uscc_from_the_page(plant, browser, make_org):
    transporter = make_org("渝运危货运输有限公司", roles=("transporter",))
    [container] = record(plant)
    client = browser(plant["admin"])
    scan_url = reverse("tracking:container_scan", args=[container.code])
    client.post(scan_url, {"kind": "loaded"})
    client.post(scan_url, {"kind": "handed_over", "to_organization": transporter.uscc.lower()})
    container.refresh_from_db()
    assert container.holder == transporter and container.status == ContainerStatus.HANDED_OVER
    body = text(client.get(reverse("tracking:container_detail", args=[container.code])))
    assert "Only the current holder" in body and "data-testid=\"action-" not in body


def test_list_shows_storage_age_and_state(plant, browser):
    now = timezone.now()
    record(plant, produced_at=now - dt.timedelta(days=370))
    record(plant, produced_at=now - dt.timedelta(days=350))
    record(plant, waste=MEDICAL, waste_name="感染性废物", produced_at=now - dt.timedelta(hours=1))
    body = text(browser(plant["admin"]).get(reverse("tracking:container_list")))
    assert 'data-testid="state-over_limit"' in body and 'data-testid="state-near_limit"' in body
    assert 'data-testid="state-ok"' in body
    assert 'class="over_limit"' in body and 'class="near_limit"' in body
    assert "3 containers" in body


def test_detail_shows_history_lineage_and_code_segments(plant, browser):
    a, b = record(plant, weight="0.5", count=2)
    from wufei.tracking import services

    merged = services.merge(scope=plant["scope"], codes=[a.code, b.code], packaging="ibc")
    body = text(browser(plant["admin"]).get(reverse("tracking:container_detail", args=[a.code])))
    assert merged.code in body and "merged into" in body
    assert 'data-testid="events"' in body and "merged" in body
    assert 'data-testid="code-segments"' in body and plant["org"].uscc in body
    body = text(browser(plant["admin"]).get(reverse("tracking:container_detail", args=[merged.code])))
    assert a.code in body and b.code in body and "merged from" in body


def test_inventory_page_highlights_limits(plant, browser):
    now = timezone.now()
    record(plant, produced_at=now - dt.timedelta(days=400), count=2)
    response = browser(plant["admin"]).get(reverse("tracking:inventory"))
    body = text(response)
    assert response.status_code == 200
    assert 'data-testid="state-over_limit"' in body and plant["store"].name in body
    assert 'class="over_limit"' in body


def test_scan_page_for_anonymous_visitors_only_verifies(plant, client):
    [container] = record(plant, weight="0.123456", waste_name="废清洗溶剂甲")
    response = client.get(f"/t/{container.code}/", HTTP_ACCEPT_LANGUAGE="en")
    body = text(response)
    assert response.status_code == 200 and 'data-testid="genuine"' in body
    assert plant["org"].name in body and SOLVENT in body and "废清洗溶剂甲" in body
    for secret in ("0.123456", plant["store"].name, 'data-testid="events"', "A-01", "action-"):
        assert secret not in body
    missing = client.get(f"/t/{container.code[:-3]}999/", HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 404 and 'data-testid="not-genuine"' in text(missing)
    assert client.get("/t/nonsense/").status_code == 404


def test_code_lookups_by_one_visitor_are_limited(plant, client, settings):
    """Guessing container codes to map a unit's production: one visitor gets a bounded number of look-ups."""
    settings.CONTAINER_LOOKUPS_PER_HOUR = 3
    [container] = record(plant)
    guesses = [f"{container.code[:-3]}{n:03d}" for n in range(900, 903)]
    for guess in guesses:
        assert client.get(f"/t/{guess}/", REMOTE_ADDR="198.51.100.7").status_code == 404
    limited = client.get(f"/t/{container.code}/", REMOTE_ADDR="198.51.100.7", HTTP_ACCEPT_LANGUAGE="en")
    assert limited.status_code == 429 and plant["org"].name not in text(limited)
    assert 'data-testid="too-many"' in text(limited)
    assert client.get(f"/t/{container.code}/", REMOTE_ADDR="198.51.100.8").status_code == 200  # someone else


def test_scan_page_for_the_holder_shows_history_and_next_scans(plant, browser):
    [container] = record(plant, weight="0.123456")
    body = text(browser(plant["admin"]).get(f"/t/{container.code}/"))
    assert "0.123456" in body and 'data-testid="events"' in body
    assert 'data-testid="action-loaded"' in body and 'data-testid="action-reweighed"' in body
    assert 'data-testid="action-received"' not in body


def test_scan_page_for_a_logged_in_outsider_only_verifies(plant, browser, make_org, member_of):
    [container] = record(plant, weight="0.123456")
    body = text(browser(member_of(make_org(region=KAIZHOU))).get(f"/t/{container.code}/"))
    assert 'data-testid="genuine"' in body and "0.123456" not in body


def test_scan_lookup_redirects_to_the_scan_page(client, plant):
    [container] = record(plant)
    response = client.get(reverse("tracking:scan_lookup"), {"code": f" {container.code.lower()} "})
    assert response.status_code == 302 and response["Location"] == f"/t/{container.code}/"
    assert client.get(reverse("tracking:scan_lookup")).status_code == 200


def test_regulator_reads_but_gets_no_buttons(plant, browser, regulator_of):
    [container] = record(plant)
    client = browser(regulator_of(BANAN))
    body = text(client.get(reverse("tracking:container_detail", args=[container.code])))
    assert container.code in body and "action-" not in body
    response = client.post(reverse("tracking:container_scan", args=[container.code]), {"kind": "loaded"},
                           follow=True)
    assert "only the current holder" in text(response)
    assert Container.objects.get().status == ContainerStatus.STORED
    assert client.get(reverse("tracking:record")).status_code == 302  # nothing to record for


def test_organization_page_has_a_containers_section(plant, browser, regulator_of):
    [first, _second] = record(plant, count=2, weight="0.5")
    body = text(browser(plant["admin"]).get(reverse("registry:organization_detail", args=[plant["org"].pk])))
    assert 'id="containers"' in body and 'data-testid="containers-summary"' in body
    assert 'data-testid="latest-containers"' in body and "2 containers recorded; 2 in stock (1 t)" in body
    assert first.code in body and plant["store"].name in body
    assert reverse("tracking:record") in body
    body = text(browser(regulator_of(BANAN)).get(reverse("registry:organization_detail", args=[plant["org"].pk])))
    assert first.code in body and reverse("tracking:record") not in body


def test_workspace_shows_the_section(plant, browser):
    record(plant)
    response = browser(plant["admin"]).get(reverse("workspace"))
    assert 'data-testid="containers-summary"' in text(response)
