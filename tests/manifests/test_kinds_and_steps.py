"""The manifest kinds table (manifests/kinds.py) and each signing step's contract (manifests/machine.py)."""

import datetime as dt
from decimal import Decimal

import pytest

from tests.manifests.conftest import MEDICAL, SOLVENT, draft
from wufei.core.errors import ValidationFailed
from wufei.manifests import kinds, machine, services
from wufei.manifests.models import Reception
from wufei.registry.models import OperatingPermit


def test_each_kind_says_its_streams_lines_permits_checks_and_title():
    assert kinds.keys() == ["hazardous", "medical", "general"]
    hazardous, medical, general = map(kinds.get, ("hazardous", "medical", "general"))
    assert (hazardous.streams, hazardous.lines, hazardous.unit) == (("hazardous",), "containers", "t")
    assert (medical.streams, medical.lines, general.streams, general.lines) == (
        ("medical",), "containers", ("general",), "typed")
    assert hazardous.receiver_permits == medical.receiver_permits == frozenset(OperatingPermit.Kind.values)
    assert not general.needs_permit and kinds.needing_permit() == ["hazardous", "medical"]
    assert hazardous.checks == ("parties", "receiver_permit", "cross_province")
    assert general.checks == ("parties", "cross_province")
    assert set(hazardous.checks) | set(general.checks) <= set(services.submission.CHECKS)
    assert [kind.pdf_title for kind in (hazardous, medical, general)] == [
        "危险废物转移联单", "医疗废物转移联单", "一般工业固体废物转移联单"]
    assert (hazardous.plan_checked, general.plan_checked, general.utilization_by_filing) == (True, False, True)
    assert (hazardous.dangerous_goods, general.dangerous_goods) == (True, False)


@pytest.mark.parametrize(("code", "kind"), [(MEDICAL, "medical"), (SOLVENT, "hazardous"), ("SW01", None), ("", None)])
def test_a_containers_waste_names_the_kind_that_carries_it(code, kind):
    found = kinds.for_waste(code)
    assert (found.key if found else None) == kind
    assert kinds.get("general").carries("SW01") and not kinds.get("general").carries(SOLVENT)


@pytest.mark.django_db
def test_a_container_travels_only_on_the_kind_of_its_stream(chain, english):
    with pytest.raises(ValidationFailed) as excinfo:
        draft(chain, chain.record(waste_code=MEDICAL, waste_name="感染性废物"))  # a hazardous waste manifest
    assert "medical waste travels on a medical waste manifest" in excinfo.value.errors[0]["message"]
    with pytest.raises(ValidationFailed) as excinfo:
        draft(chain, chain.record(), kind="medical")
    assert "hazardous waste travels on a hazardous waste manifest" in excinfo.value.errors[0]["message"]


def test_each_step_says_its_label_payload_gate_and_signers():
    assert machine.GATE_STEPS == ("submit", "pickup", "handover", "receive")
    assert machine.BULK_STEPS == ("pickup", "receive")
    assert {name: step.payload.__name__ for name, step in machine.STEPS.items()} == {
        "submit": "SubmitData", "pickup": "TakeOverData", "handover": "TakeOverData", "receive": "ReceiveData",
        "process": "ProcessData", "cancel": "CancelData"}
    assert [name for name, step in machine.STEPS.items() if step.any_member] == ["pickup", "handover"]
    assert machine.refusal("process", "received", "collection") == "purpose"
    assert machine.refusal("process", "received", "transfer") is None
    assert machine.refusal("process", "in_transit", "transfer") == "status"
    assert machine.refusal("weigh", "draft", "transfer") == "not_a_step"
    contract = {row["step"]: row for row in machine.contract()}
    assert [f["field"] for f in contract["pickup"]["requires"]] == ["leg.vehicle_id"]
    assert contract["pickup"]["seals"] == ["legs", "leg.vehicle_id", "leg.driver_name", "leg.driver_phone",
                                           "leg.start_place", "leg.end_place"]


class _Received:
    """A manifest as the receive step's conditions read it."""

    def __init__(self, reception):
        self.reception = reception


def test_a_fields_requirement_may_hold_only_under_its_condition(english):
    assert machine.required_for("receive") == ["received_tonnes", "reception", "refusal_reason"]
    assert machine.required_for("receive", _Received(Reception.ACCEPTED)) == ["received_tonnes", "reception"]
    assert "refusal_reason" in machine.required_for("receive", _Received(Reception.PARTIAL))
    assert str(machine.FIELDS["refusal_reason"].condition) == "when anything is refused"


def test_the_step_data_is_checked_against_its_model():
    assert machine.payload("receive", {"received_tonnes": "1.5", "refused_lines": ["2"], "other": 1}) == {
        "received_tonnes": Decimal("1.5"), "refused_lines": [2]}
    assert machine.payload("process", {"processed_on": "2026-11-30"}) == {"processed_on": dt.date(2026, 11, 30)}
    with pytest.raises(ValidationFailed) as excinfo:
        machine.payload("receive", {"received_tonnes": "-1", "container_weights": {"A": "x"}})
    assert [error["field"] for error in excinfo.value.errors] == ["received_tonnes", "container_weights.A"]
    with pytest.raises(ValidationFailed) as excinfo:
        machine.payload("process", {"processed_on": "2026-13-01"})
    assert excinfo.value.errors[0]["field"] == "processed_on"


@pytest.mark.django_db
def test_the_api_and_the_pages_refuse_the_same_bad_step_data(chain, client_for):
    manifest = draft(chain, chain.record())
    scope = chain.scopes["generator_admin"]
    services.sign(scope=scope, manifest_id=manifest.pk, step="submit", version=manifest.version)
    manifest.refresh_from_db()
    carrier = client_for(chain.transporter_admin)
    response = carrier.post(f"/api/v1/manifests/{manifest.pk}/sign", {
        "step": "pickup", "version": manifest.version, "data": {"vehicle_id": "a lorry"}},
        content_type="application/json")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "pickup.data.vehicle_id"
    with pytest.raises(ValidationFailed) as excinfo:  # what the pages call
        services.sign(scope=chain.scopes["transporter_admin"], manifest_id=manifest.pk, step="pickup",
                      version=manifest.version, data={"vehicle_id": "a lorry"})
    assert excinfo.value.errors[0]["field"] == "vehicle_id"
    manifest.refresh_from_db()
    assert manifest.status == "submitted" and not manifest.signatures.filter(step="pickup").exists()
    # the same JSON body as before signs
    response = carrier.post(f"/api/v1/manifests/{manifest.pk}/sign", {
        "step": "pickup", "version": manifest.version, "data": {"vehicle_id": chain.vehicle.pk,
                                                                  "driver_name": "张师傅"}},
        content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "in_transit"


@pytest.mark.django_db
def test_the_api_document_shows_one_sign_model_per_step(client):
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name, data in (("SignSubmitIn", "SubmitData"), ("SignPickupIn", "TakeOverData"),
                       ("SignReceiveIn", "ReceiveData"), ("SignProcessIn", "ProcessData"),
                       ("SignCancelIn", "CancelData"), ("SignHandoverIn", "TakeOverData")):
        assert f"/{data}'" in str(schemas[name]["properties"]["data"]), name
    assert set(schemas["ReceiveData"]["properties"]) >= {"received_tonnes", "received_quantity", "refused_lines"}
    body = document["paths"]["/api/v1/manifests/{manifest_id}/sign"]["post"]["requestBody"]
    text = str(body)
    assert all(name in text for name in ("SignSubmitIn", "SignReceiveIn", "SignProcessIn"))
