"""The manifests API: idempotent creates, signatures over HTTP, sync, and the scope walk over every endpoint.

Enterprise A, the Banan regulator and a Banan department must not see or change anything of the Kaizhou chain
(generator B, its carrier and its receiver) through any manifests endpoint; the Kaizhou regulator and B's parties
do see it. The walk is driven by the router: a new endpoint without a case fails the first test.
"""

import json

import pytest
from django.utils import timezone

from tests.conftest import BANAN, KAIZHOU
from tests.manifests.conftest import SOLVENT
from wufei.core import audit
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.manifests import services
from wufei.manifests.api import router
from wufei.manifests.models import Manifest, ManifestContainer, Revision, Signature, SigningCode, TransportLeg
from wufei.registry.models import Site
from wufei.tracking import services as tracking

pytestmark = pytest.mark.django_db


def call(client, method, url, body=None, **headers):
    if body is None:
        return client.generic(method, url, **headers)
    return client.generic(method, url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def world(make_org, member_of, regulator_of, department_user, make_site, make_vehicle, make_permit):
    b = make_org("乙化工有限公司", region=KAIZHOU, roles=("generator",))
    carrier = make_org("乙运输有限公司", region=KAIZHOU, roles=("transporter",))
    receiver = make_org("乙处置中心", region=KAIZHOU, roles=("receiver",))
    make_permit(receiver, lines=(("HW06", "100", ("D10",)),))
    b_admin, carrier_admin, receiver_admin = member_of(b), member_of(carrier), member_of(receiver)
    store = make_site(b, kind=Site.Kind.STORAGE, name="乙贮存库")
    vehicle = make_vehicle(carrier, plate="渝F77777")
    scope = scope_for(b_admin)

    def record(count=1):
        return tracking.record_batch(scope=scope, organization_id=b.pk, waste_code=SOLVENT, waste_name="乙公司废溶剂",
                                     physical_form="liquid", packaging="drum", net_weight_tonnes="0.654321",
                                     storage_site_id=store.pk, count=count)

    legs = [{"transporter_id": carrier.pk, "vehicle_id": vehicle.pk, "driver_name": "乙司机",
             "driver_phone": "13900001111"}]
    draft = services.create_manifest(scope=scope, kind="hazardous", generator_id=b.pk, receiver_id=receiver.pk,
                                     legs=legs, container_codes=[c.code for c in record()], planned_method="D10",
                                     note="乙合同价格保密")
    moving = services.create_manifest(scope=scope, kind="hazardous", generator_id=b.pk, receiver_id=receiver.pk,
                                      legs=legs, container_codes=[c.code for c in record()], planned_method="D10")
    services.sign(scope=scope, manifest_id=moving.pk, step="submit", version=moving.version)
    moving.refresh_from_db()
    services.sign(scope=scope_for(carrier_admin), manifest_id=moving.pk, step="pickup", version=moving.version)
    moving.refresh_from_db()
    revision = services.request_revision(scope=scope, manifest_id=moving.pk, version=moving.version,
                                         reason="乙补充说明", changes={"note": "乙修订"})
    moving.refresh_from_db()
    free = record()[0]
    a = make_org("甲公司", region=BANAN, roles=("generator", "transporter", "receiver"))
    a_admin = member_of(a)
    return {
        "b": b, "carrier": carrier, "receiver": receiver, "b_admin": b_admin, "carrier_admin": carrier_admin,
        "receiver_admin": receiver_admin, "draft": draft, "moving": moving, "revision": revision, "free": free,
        "a": a, "vehicle": vehicle,
        "outsiders": {"enterprise A admin": a_admin, "Banan regulator": regulator_of(BANAN),
                      "Banan department": department_user(BANAN)},
        "insiders": {"Kaizhou regulator": regulator_of(KAIZHOU), "B admin": b_admin,
                     "carrier admin": carrier_admin, "receiver admin": receiver_admin},
        "markers": ["乙化工有限公司", "乙处置中心", "乙运输有限公司", "乙公司废溶剂", "渝F77777", "13900001111",
                    "乙合同价格保密", b.uscc, draft.carried.get().container.code],
    }


CASES = {
    ("GET", "/manifests"): lambda w: (f"/api/v1/manifests?organization={w['b'].pk}&limit=500", None),
    ("POST", "/manifests"): lambda w: ("/api/v1/manifests", {
        "kind": "hazardous", "generator_id": w["b"].pk, "receiver_id": w["receiver"].pk,
        "container_codes": [w["free"].code]}),
    ("POST", "/manifests/sign"): lambda w: ("/api/v1/manifests/sign", {
        "step": "receive", "items": [{"id": w["moving"].pk, "version": w["moving"].version}]}),
    ("GET", "/manifests/by-number/{number}"): lambda w: (f"/api/v1/manifests/by-number/{w['moving'].number}", None),
    ("GET", "/manifests/{manifest_id}"): lambda w: (f"/api/v1/manifests/{w['moving'].pk}", None),
    ("PATCH", "/manifests/{manifest_id}"): lambda w: (f"/api/v1/manifests/{w['draft'].pk}", {
        "version": w["draft"].version, "receiver_id": w["a"].pk}),
    ("POST", "/manifests/{manifest_id}/containers"): lambda w: (f"/api/v1/manifests/{w['draft'].pk}/containers", {
        "version": w["draft"].version, "codes": [w["free"].code]}),
    ("POST", "/manifests/{manifest_id}/containers/remove"): lambda w: (
        f"/api/v1/manifests/{w['draft'].pk}/containers/remove", {
            "version": w["draft"].version, "codes": [w["draft"].carried.get().container.code]}),
    ("POST", "/manifests/{manifest_id}/methods"): lambda w: (f"/api/v1/manifests/{w['draft'].pk}/methods", {
        "version": w["draft"].version, "methods": {"1": "D1"}}),
    ("POST", "/manifests/{manifest_id}/legs/{position}"): lambda w: (f"/api/v1/manifests/{w['draft'].pk}/legs/1", {
        "version": w["draft"].version, "driver_name": "冒名"}),
    ("POST", "/manifests/{manifest_id}/sign"): lambda w: (f"/api/v1/manifests/{w['moving'].pk}/sign", {
        "step": "receive", "version": w["moving"].version}),
    ("POST", "/manifests/{manifest_id}/revisions"): lambda w: (f"/api/v1/manifests/{w['moving'].pk}/revisions", {
        "version": w["moving"].version, "reason": "冒名", "changes": {"note": "x"}}),
    ("POST", "/revisions/{revision_id}/decision"): lambda w: (f"/api/v1/revisions/{w['revision'].pk}/decision", {
        "approve": True}),
    ("POST", "/manifests/{manifest_id}/follow-up"): lambda w: (f"/api/v1/manifests/{w['moving'].pk}/follow-up", {
        "purpose": "return"}),
    ("POST", "/organizations/{organization_id}/signing-code"): lambda w: (
        f"/api/v1/organizations/{w['b'].pk}/signing-code", {"code": "482913"}),
}


def operations(api_router):
    return {(method, path) for path, view in api_router.path_operations.items()
            for op in view.operations for method in op.methods}


def test_every_manifests_endpoint_has_a_scope_case():
    assert operations(router) == set(CASES)


def b_state(w):
    manifests = Manifest.objects.filter(generator=w["b"])
    return {
        "manifests": list(manifests.order_by("pk").values()),
        "carried": list(ManifestContainer.objects.filter(manifest__in=manifests).order_by("pk").values()),
        "legs": list(TransportLeg.objects.filter(manifest__in=manifests).order_by("pk").values()),
        "signatures": list(Signature.objects.filter(manifest__in=manifests).order_by("pk").values()),
        "revisions": list(Revision.objects.filter(manifest__in=manifests).order_by("pk").values()),
        "codes": list(SigningCode.objects.filter(organization=w["b"]).values()),
    }


@pytest.mark.parametrize("who", ["enterprise A admin", "Banan regulator", "Banan department"])
def test_outsiders_cannot_read_or_change_b_through_any_endpoint(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = b_state(world)
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    for (method, path), case in sorted(CASES.items()):
        url, body = case(world)
        response = call(client, method, url, body)
        text = response.content.decode("utf-8", "replace")
        for marker in world["markers"]:
            assert marker not in text, f"{who} saw {marker} through {method} {url}: {response.status_code}"
        if path == "/manifests/sign":  # one answer per manifest
            assert [r["error"]["code"] for r in response.json()] == ["not_found"]
        elif method != "GET":
            assert response.status_code in (403, 404, 422), f"{who}: {method} {url} -> {response.status_code}"
        elif "{" in path:
            assert response.status_code == 404, f"{who}: {method} {url} -> {response.status_code}"
        else:
            assert response.json()["items"] == []
    assert b_state(world) == before
    assert not AuditEvent.objects.filter(pk__gt=last_event).exists()
    assert audit.verify_chain().ok


@pytest.mark.parametrize("who", ["Kaizhou regulator", "B admin", "carrier admin", "receiver admin"])
def test_insiders_see_the_manifest(world, client_for, who):
    client = client_for(world["insiders"][who])
    detail = client.get(f"/api/v1/manifests/{world['moving'].pk}")
    assert detail.status_code == 200 and detail.json()["number"] == world["moving"].number
    listing = client.get("/api/v1/manifests?limit=500").json()
    assert world["moving"].pk in {m["id"] for m in listing["items"]}


def test_regulators_see_either_end_and_city_sees_all(world, client_for, regulator_of, make_org, make_permit):
    city = client_for(regulator_of("500000")).get("/api/v1/manifests?limit=500").json()
    assert {m["id"] for m in city["items"]} == {world["draft"].pk, world["moving"].pk}


def test_regulators_cannot_sign(world, client_for):
    client = client_for(world["insiders"]["Kaizhou regulator"])
    response = call(client, "POST", f"/api/v1/manifests/{world['moving'].pk}/sign",
                    {"step": "receive", "version": world["moving"].version})
    assert response.status_code == 403


def test_idempotent_create_returns_the_first_manifest(world, client_for):
    client = client_for(world["b_admin"])
    body = {"kind": "hazardous", "generator_id": world["b"].pk, "receiver_id": world["receiver"].pk,
            "container_codes": [world["free"].code], "planned_method": "D10"}
    first = call(client, "POST", "/api/v1/manifests", body, HTTP_IDEMPOTENCY_KEY="create-1")
    second = call(client, "POST", "/api/v1/manifests", body, HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Manifest.objects.filter(carried__container=world["free"]).count() == 1
    third = call(client, "POST", "/api/v1/manifests", body, HTTP_IDEMPOTENCY_KEY="create-2")
    assert third.status_code == 422  # a different key is a new create: the container is already taken


def test_sign_over_http_and_conflicts(world, client_for):
    receiver = client_for(world["receiver_admin"])
    moving = world["moving"]
    stale = call(receiver, "POST", f"/api/v1/manifests/{moving.pk}/sign",
                 {"step": "receive", "version": moving.version - 1})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    done = call(receiver, "POST", f"/api/v1/manifests/{moving.pk}/sign",
                {"step": "receive", "version": moving.version, "data": {"received_tonnes": "0.654321"}})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["status"] == "received" and body["next_steps"] == ["process"]
    again = call(receiver, "POST", f"/api/v1/manifests/{moving.pk}/sign",
                 {"step": "receive", "version": body["version"]})
    assert again.status_code == 409 and again.json()["code"] == "step_not_allowed"
    bad = call(receiver, "POST", f"/api/v1/manifests/{moving.pk}/sign",
               {"step": "process", "version": body["version"], "data": {"method": "D1"}})
    assert bad.status_code == 422 and bad.json()["code"] == "receiver_not_permitted"
    assert Manifest.objects.get(pk=moving.pk).version == body["version"]


def test_updated_after_sync(world, client_for):
    client = client_for(world["b_admin"])
    mark = timezone.now()
    assert client.get("/api/v1/manifests", {"updated_after": mark.isoformat()}).json()["items"] == []
    Manifest.objects.get(pk=world["draft"].pk).save()
    items = client.get("/api/v1/manifests", {"updated_after": mark.isoformat()}).json()
    assert [m["id"] for m in items["items"]] == [world["draft"].pk]


def test_bulk_sign_over_http(world, client_for):
    client = client_for(world["receiver_admin"])
    moving = world["moving"]
    results = call(client, "POST", "/api/v1/manifests/sign", {
        "step": "receive", "items": [{"id": moving.pk, "version": moving.version},
                                     {"id": world["draft"].pk, "version": world["draft"].version}]}).json()
    assert [r["ok"] for r in results] == [True, False]
    assert results[1]["error"]["code"] == "step_not_allowed"


def test_by_number_and_filters(world, client_for):
    client = client_for(world["insiders"]["Kaizhou regulator"])
    assert client.get(f"/api/v1/manifests/by-number/{world['moving'].number}").json()["id"] == world["moving"].pk
    in_transit = client.get("/api/v1/manifests", {"status": "in_transit"}).json()["items"]
    assert [m["id"] for m in in_transit] == [world["moving"].pk]
    assert client.get("/api/v1/manifests", {"cross_province": "true"}).json()["items"] == []
    assert client.get("/api/v1/manifests", {"overdue": "true"}).json()["items"] == []
