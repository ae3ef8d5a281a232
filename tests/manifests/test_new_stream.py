"""A new waste stream and manifest kind are rows: a test-only stream of sewage sludge measured in m³, with its
density a parameter, and a manifest kind for it, registered here and removed afterwards. A manifest of it goes
draft → submit → pickup → receive through the API with its quantities in m³ from end to end."""

import json
from decimal import Decimal

import pytest
from django.db.models import Q

from wufei.catalog import streams
from wufei.core import parameters
from wufei.core.models import Parameter
from wufei.core.units import Unit
from wufei.manifests import kinds
from wufei.manifests.models import Manifest, Purpose

DENSITY = "test_sludge.density_t_per_m3"


@pytest.fixture
def sludge():
    stream = streams.Stream(
        key="test_sludge", label="sewage sludge", unit=Unit.CUBIC_METRE, catalog="test",
        matches=lambda code: (code or "").strip().upper().startswith("SLG-"),
        code_q=lambda field, listed: Q(**{f"{field}__startswith": "SLG-"}), industrial=False,
        indicator_family=None, storage=None, ledger=None, tile=streams.Tile("sewage sludge", 90),
        tonnes_factor_key=DENSITY)
    kind = kinds.Kind(key="sludge", label="sewage sludge", streams=("test_sludge",), lines=kinds.TYPED,
                      receiver_permits=frozenset(), checks=("parties",), pdf_title="污泥转移联单",
                      purposes=frozenset({Purpose.TRANSFER}), unit=Unit.CUBIC_METRE, dangerous_goods=False)
    parameters.DEFAULTS[DENSITY] = parameters.ParameterDefault("1.2", "Density of dewatered sludge (t/m³)", "test")
    streams.register(stream, before=streams.GENERAL)
    kinds.register(kind)
    try:
        yield kind
    finally:
        kinds.unregister("sludge")
        streams.unregister("test_sludge")
        parameters.DEFAULTS.pop(DENSITY, None)


def post(client, url, body):
    response = client.post(url, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def sludge_draft(chain, client, **line):
    return post(client, "/api/v1/manifests", {
        "kind": "sludge", "generator_id": chain.generator.pk, "receiver_id": chain.receiver.pk,
        "legs": [{"transporter_id": chain.transporter.pk}],
        "lines": [{"general_code": "SLG-01", "waste_name": "脱水污泥", **line}]})


def test_the_tables_know_the_new_stream_and_kind_only_while_registered(sludge):
    assert streams.stream_of("SLG-01").key == "test_sludge" and streams.stream_of("SW01").key == streams.GENERAL
    assert kinds.get("sludge").carries("slg-7") and not kinds.get("sludge").carries("SW01")
    assert kinds.carrying("test_sludge") == ["sludge"]
    kinds.unregister("sludge")
    streams.unregister("test_sludge")
    assert streams.stream_of("SLG-01").key == streams.GENERAL and kinds.find("sludge") is None
    assert [stream.key for stream in streams.all_streams()] == ["hazardous", "medical", "general"]


@pytest.mark.django_db
def test_a_sludge_manifest_runs_from_draft_to_receipt_in_cubic_metres(sludge, chain, client_for):
    Parameter.objects.create(key=DENSITY, region_code="500000", value="1.25")  # Chongqing's own density
    generator, carrier, receiver = (client_for(chain.generator_admin), client_for(chain.transporter_admin),
                                    client_for(chain.receiver_admin))
    status, body = sludge_draft(chain, generator, quantity="10", unit="m3")
    assert status == 201, body
    line = body["lines"][0]
    # 10 m³ × 1.25 t/m³ (the region's density, not the default 1.2) = 12.5 t
    assert (body["kind"], body["unit"], line["unit"]) == ("sludge", "m3", "m3")
    assert (Decimal(line["shipped_quantity"]), Decimal(line["shipped_tonnes"])) == (Decimal(10), Decimal("12.5"))
    assert Decimal(body["shipped_tonnes"]) == Decimal("12.5")
    manifest_id = body["id"]

    def sign(client, step, version, data=None):
        return post(client, f"/api/v1/manifests/{manifest_id}/sign",
                    {"step": step, "version": version, "data": data or {}})

    status, body = sign(generator, "submit", body["version"])
    assert status == 200 and body["status"] == "submitted", body
    status, body = sign(carrier, "pickup", body["version"], {"vehicle_id": chain.vehicle.pk})
    assert status == 200 and body["status"] == "in_transit", body
    # the receiver measures in m³: a weighbridge figure in tonnes is refused, nothing changes
    status, refused = sign(receiver, "receive", body["version"], {"received_tonnes": "12"})
    assert status == 422 and refused["code"] == "unit_mismatch"
    assert Manifest.objects.get(pk=manifest_id).status == "in_transit"
    status, body = sign(receiver, "receive", body["version"], {"received_quantity": "9.6"})
    assert status == 200 and body["status"] == "received", body
    line = body["lines"][0]
    # 9.6 m³ measured × 1.25 = 12 t accepted; 0.5 t less than shipped = 4 % (within the 5 % tolerance)
    assert (line["unit"], Decimal(line["received_quantity"])) == ("m3", Decimal("9.6"))
    assert Decimal(line["accepted_tonnes"]) == Decimal(12) and Decimal(body["accepted_tonnes"]) == Decimal(12)
    assert (Decimal(body["discrepancy_percent"]), body["discrepancy"]) == (Decimal(4), False)
    assert Manifest.objects.get(pk=manifest_id).lines.get().received.value == Decimal("9.6")


@pytest.mark.django_db
def test_the_new_kind_refuses_other_units_codes_and_purposes(sludge, chain, client_for):
    generator = client_for(chain.generator_admin)
    status, body = sludge_draft(chain, generator, quantity="3", unit="t")
    assert status == 422 and body["code"] == "unit_mismatch"
    assert body["errors"][0]["field"] == "lines.0.unit"
    status, body = sludge_draft(chain, generator, tonnes="3")  # tonnes are not its measure
    assert status == 422 and body["errors"][0]["field"] == "lines.0.quantity"
    status, body = post(generator, "/api/v1/manifests", {
        "kind": "sludge", "generator_id": chain.generator.pk, "receiver_id": chain.receiver.pk,
        "lines": [{"general_code": "SW01", "waste_name": "炉渣", "quantity": "3"}]})
    assert status == 422 and body["errors"][0]["field"] == "lines.0.general_code"
    status, body = post(generator, "/api/v1/manifests", {
        "kind": "sludge", "purpose": "collection", "generator_id": chain.generator.pk,
        "receiver_id": chain.receiver.pk, "lines": [{"general_code": "SLG-01", "waste_name": "污泥", "quantity": "3"}]})
    assert status == 422 and body["errors"][0]["field"] == "purpose"
    assert not Manifest.objects.exists()
    # the general kind keeps its tonnes as before
    status, body = post(generator, "/api/v1/manifests", {
        "kind": "general", "generator_id": chain.generator.pk, "receiver_id": chain.receiver.pk,
        "lines": [{"general_code": "SW01", "waste_name": "炉渣", "tonnes": "3"}]})
    assert status == 201 and (body["unit"], body["lines"][0]["unit"]) == ("t", "t")
    assert Decimal(body["lines"][0]["shipped_quantity"]) == Decimal(body["shipped_tonnes"]) == Decimal(3)
