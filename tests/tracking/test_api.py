"""Containers API: the happy paths and the error shape."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from tests.conftest import BANAN
from tests.tracking import OIL, SOLVENT, make_plant, record
from wufei.core import audit
from wufei.tracking.models import Container

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant(make_org, make_site, member_of):
    return make_plant(make_org, make_site, member_of)


@pytest.fixture
def api(plant, client_for):
    return client_for(plant["admin"])


def post(client, path, body, **headers):
    headers.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    return client.post(path, json.dumps(body, default=str), content_type="application/json", **headers)


def batch(plant, **overrides):
    body = {"organization_id": plant["org"].pk, "waste_code": SOLVENT, "waste_name": "废清洗溶剂",
            "physical_form": "liquid", "packaging": "drum", "net_weight_tonnes": "0.2",
            "storage_site_id": plant["store"].pk, "site_id": plant["workshop"].pk, "count": 2}
    body.update(overrides)
    return body


def test_record_batch(api, plant):
    response = post(api, "/api/v1/containers", batch(plant))
    assert response.status_code == 201, response.content
    items = response.json()
    assert len(items) == 2 and all(len(i["code"]) == 37 for i in items)
    assert items[0]["status"] == "stored" and items[0]["hazards"] == ["T", "I", "R"]
    assert items[0]["storage_state"] == "ok" and items[0]["storage_site_name"] == plant["store"].name


def test_record_batch_errors_name_the_field(api, plant):
    response = post(api, "/api/v1/containers", batch(plant, waste_code="000-000-00", net_weight_tonnes=None))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert {"waste_code", "net_weight_tonnes"} <= {e["field"] for e in body["errors"]}


def test_idempotency_key_records_once(api, plant):
    first = post(api, "/api/v1/containers", batch(plant), HTTP_IDEMPOTENCY_KEY="scale-7-0001")
    again = post(api, "/api/v1/containers", batch(plant), HTTP_IDEMPOTENCY_KEY="scale-7-0001")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and Container.objects.count() == 2


def test_bulk_record(api, plant):
    batches = [{k: v for k, v in batch(plant, count=1, net_weight_tonnes=f"0.{i + 1}").items()
                if k != "organization_id"} for i in range(5)]
    response = post(api, "/api/v1/containers/bulk", {"organization_id": plant["org"].pk, "batches": batches})
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 5 and len(set(response.json()["codes"])) == 5
    bad = post(api, "/api/v1/containers/bulk", {"organization_id": plant["org"].pk,
                                                "batches": [batches[0], {**batches[1], "packaging": "sack"}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "batches.1.packaging"
    assert Container.objects.count() == 5


def test_list_filters_and_pages(api, plant):
    old = timezone.now() - dt.timedelta(days=30)
    record(plant, count=3, produced_at=old)
    record(plant, waste=OIL, count=2)
    record(plant, weight=None, steps=("produced",))
    listing = api.get("/api/v1/containers?limit=2").json()
    assert len(listing["items"]) == 2 and listing["next_cursor"]
    rest = api.get(f"/api/v1/containers?limit=50&cursor={listing['next_cursor']}").json()
    assert len(rest["items"]) == 4 and rest["next_cursor"] is None
    assert len(api.get(f"/api/v1/containers?waste={OIL}").json()["items"]) == 2
    assert len(api.get("/api/v1/containers?waste=HW06").json()["items"]) == 4
    assert len(api.get("/api/v1/containers?status=produced").json()["items"]) == 1
    stored_before = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert len(api.get("/api/v1/containers", {"stored_before": stored_before}).json()["items"]) == 3
    assert len(api.get("/api/v1/containers", {"organization": plant["org"].pk}).json()["items"]) == 6
    later = timezone.now().isoformat()
    assert api.get("/api/v1/containers", {"updated_after": later}).json()["items"] == []
    assert api.get("/api/v1/containers?status=lost", HTTP_ACCEPT_LANGUAGE="en").status_code == 422


def test_detail_steps_scans_and_reweigh(api, plant):
    [container] = record(plant, weight=None, steps=("produced",))
    code = container.code
    response = post(api, f"/api/v1/containers/{code}/steps", {"step": "weighed", "net_weight_tonnes": "1.000"})
    assert response.status_code == 201, response.content
    assert response.json()["event"]["kind"] == "weighed" and response.json()["container"]["status"] == "weighed"
    post(api, f"/api/v1/containers/{code}/steps", {"step": "coded"})
    response = post(api, f"/api/v1/containers/{code}/steps", {"step": "stored", "storage_site_id": plant["store"].pk})
    assert response.json()["container"]["status"] == "stored"
    response = post(api, f"/api/v1/containers/{code}/reweigh", {"weight_tonnes": "1.05"})
    assert response.status_code == 201
    event = response.json()["event"]
    assert event["discrepancy"] is True and event["expected_weight_tonnes"] == "1.000000"
    response = post(api, f"/api/v1/containers/{code}/scans", {"kind": "moved", "storage_location": "Z-9"})
    assert response.status_code == 201 and response.json()["container"]["storage_location"] == "Z-9"
    refused = post(api, f"/api/v1/containers/{code}/scans", {"kind": "received"})
    assert refused.status_code == 422 and refused.json()["code"] == "scan_not_allowed"
    assert "in storage" in refused.json()["message"]
    stale = post(api, f"/api/v1/containers/{code}/scans", {"kind": "moved", "version": 1})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    detail = api.get(f"/api/v1/containers/{code}").json()
    assert [e["kind"] for e in detail["events"]] == ["produced", "weighed", "coded", "stored", "reweighed", "moved"]
    assert "loaded" in detail["next_scans"] and detail["container"]["net_weight_tonnes"] == "1.050000"


def test_merge_split_and_trace(api, plant):
    a, b = record(plant, weight="0.4", count=2)
    response = post(api, "/api/v1/containers/merge", {"codes": [a.code, b.code], "packaging": "ibc"})
    assert response.status_code == 201, response.content
    merged = response.json()
    assert merged["net_weight_tonnes"] == "0.800000" and merged["origin"] == "merged"
    mixed = record(plant, waste=OIL)[0]
    refused = post(api, "/api/v1/containers/merge", {"codes": [merged["code"], mixed.code], "packaging": "ibc"})
    assert refused.status_code == 422 and refused.json()["code"] == "merge_mixed"
    response = post(api, f"/api/v1/containers/{merged['code']}/split", {"weights": ["0.5", "0.3"]})
    assert response.status_code == 201, response.content
    children = response.json()
    assert [c["split_from"] for c in children] == [merged["code"]] * 2
    wrong = post(api, f"/api/v1/containers/{children[0]['code']}/split", {"weights": ["0.2", "0.2"]})
    assert wrong.status_code == 422 and wrong.json()["code"] == "split_weights_mismatch"
    trace = api.get(f"/api/v1/trace/{a.code}").json()
    assert trace["container"]["merged_into"] == merged["code"]
    [into] = trace["successors"]
    assert into["relation"] == "merged_into" and {c["code"] for c in into["successors"]} == {
        c["code"] for c in children}
    assert trace["custody"][0]["organization_id"] == plant["org"].pk
    back = api.get(f"/api/v1/trace/{children[1]['code']}").json()
    assert back["sources"][0]["code"] == merged["code"]
    assert {s["code"] for s in back["sources"][0]["sources"]} == {a.code, b.code}
    assert audit.verify_chain().ok


def test_inventory(api, plant):
    record(plant, weight="0.25", count=4)
    body = api.get("/api/v1/inventory").json()
    assert body["totals"]["count"] == 4 and body["totals"]["tonnes"] == "1.000000"
    [row] = body["rows"]
    assert row["storage_site_id"] == plant["store"].pk and row["waste_code"] == SOLVENT and row["state"] == "ok"
    assert api.get(f"/api/v1/inventory?organization={plant['org'].pk}&site={plant['store'].pk}").json() \
        ["totals"]["count"] == 4


def test_unknown_code_is_404(api):
    response = api.get("/api/v1/containers/91500113MA0000001B9004020620250101001")
    assert response.status_code == 404 and response.json()["code"] == "container_not_found"


def test_regulator_reads_but_cannot_write(plant, client_for, regulator_of):
    [container] = record(plant)
    regulator = client_for(regulator_of(BANAN))
    assert regulator.get(f"/api/v1/containers/{container.code}").status_code == 200
    assert post(regulator, "/api/v1/containers", batch(plant)).status_code == 403
    assert post(regulator, f"/api/v1/containers/{container.code}/scans", {"kind": "loaded"}).status_code == 403
