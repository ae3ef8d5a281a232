"""Organization A, a district regulator and a department cannot see or change B's data through any endpoint.

The walk is driven by the router itself: every registry API operation must have a
case below, so a new endpoint without a scope case fails this test.
"""

import io
import json

import pytest
from openpyxl import load_workbook

from tests.conftest import BANAN, KAIZHOU
from wufei.core import audit
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.core.tokens import issue_token
from wufei.registry import changes
from wufei.registry.api import router
from wufei.registry.changes_api import router as changes_router
from wufei.registry.models import ChangeRequest, Membership, OperatingPermit, Organization, Site, Vehicle


@pytest.fixture
def world(make_org, member_of, regulator_of, department_user, make_site, make_vehicle, make_permit, make_user):
    a = make_org("甲公司", region=BANAN, roles=("generator", "transporter"))
    b = make_org("乙公司", region=KAIZHOU, roles=("generator", "transporter", "receiver"))
    b_admin = member_of(b, "admin")
    b_token, _ = issue_token(user=b_admin, name="B's ERP")
    b_request = changes.file_request(scope=scope_for(b_admin), organization_id=b.pk, field="roles",
                                     value=["generator", "transporter"], reason="乙申请-停止接收")
    return {
        "a": a, "b": b, "b_admin": b_admin, "b_token": b_token,
        "b_site": make_site(b, name="乙贮存库"), "b_vehicle": make_vehicle(b, plate="渝F99999"),
        "b_permit": make_permit(b, number="乙许可证-001"), "b_request": b_request,
        "outsiders": {
            "enterprise A admin": member_of(a, "admin"),
            "Banan regulator": regulator_of(BANAN),
            "Banan department": department_user(BANAN),
        },
        "insiders": {"Kaizhou regulator": regulator_of(KAIZHOU), "B admin": b_admin},
        "b_markers": [b.uscc, b.name, "乙贮存库", "渝F99999", "乙许可证-001", "乙申请-停止接收"],
    }


def csv_bytes(rows):
    return "\n".join(",".join(map(str, r)) for r in rows).encode()


def b_org_update_csv(w):
    return csv_bytes([["uscc", "name", "region", "roles"], [w["b"].uscc, "被篡改", KAIZHOU, "generator"]])


# (method, path) -> how to call it against B: path parameters and body
CASES = {
    ("GET", "/me"): lambda w: ("/api/v1/me", None),
    ("GET", "/tokens"): lambda w: ("/api/v1/tokens", None),
    ("POST", "/tokens"): lambda w: ("/api/v1/tokens", {"name": "mine"}),
    ("DELETE", "/tokens/{token_id}"): lambda w: (f"/api/v1/tokens/{w['b_token'].pk}", None),
    ("GET", "/organizations"): lambda w: ("/api/v1/organizations", None),
    ("POST", "/organizations"): lambda w: ("/api/v1/organizations", {
        "uscc": w["b"].uscc, "name": "冒名", "region": KAIZHOU, "roles": ["generator"]}),
    ("GET", "/exports/{kind}"): lambda w: ("/api/v1/exports/organizations", None),
    ("GET", "/organizations/{organization_id}"): lambda w: (f"/api/v1/organizations/{w['b'].pk}", None),
    ("PATCH", "/organizations/{organization_id}"): lambda w: (
        f"/api/v1/organizations/{w['b'].pk}", {"version": w["b"].version, "name": "被篡改"}),
    ("POST", "/organizations/{organization_id}/close"): lambda w: (
        f"/api/v1/organizations/{w['b'].pk}/close", {"version": w["b"].version, "reason": "x"}),
    ("POST", "/organizations/{organization_id}/supervision-class"): lambda w: (
        f"/api/v1/organizations/{w['b'].pk}/supervision-class",
        {"version": w["b"].version, "supervision_class": "registered", "reason": "x"}),
    ("GET", "/organizations/{organization_id}/members"): lambda w: (
        f"/api/v1/organizations/{w['b'].pk}/members", None),
    ("POST", "/organizations/{organization_id}/members"): lambda w: (
        f"/api/v1/organizations/{w['b'].pk}/members", {"username": "intruder", "role": "admin"}),
    ("GET", "/sites"): lambda w: (f"/api/v1/sites?organization={w['b'].pk}", None),
    ("POST", "/sites"): lambda w: ("/api/v1/sites", {"organization": w["b"].uscc, "name": "x", "kind": "storage"}),
    ("GET", "/sites/{site_id}"): lambda w: (f"/api/v1/sites/{w['b_site'].pk}", None),
    ("PATCH", "/sites/{site_id}"): lambda w: (
        f"/api/v1/sites/{w['b_site'].pk}", {"version": w["b_site"].version, "name": "被篡改"}),
    ("GET", "/vehicles"): lambda w: (f"/api/v1/vehicles?organization={w['b'].pk}", None),
    ("POST", "/vehicles"): lambda w: ("/api/v1/vehicles", {
        "organization": w["b"].uscc, "plate": "渝F88888", "transport_permit_number": "x",
        "transport_permit_valid_until": "2030-01-01"}),
    ("GET", "/vehicles/{vehicle_id}"): lambda w: (f"/api/v1/vehicles/{w['b_vehicle'].pk}", None),
    ("GET", "/permits"): lambda w: (f"/api/v1/permits?organization={w['b'].pk}", None),
    ("POST", "/permits"): lambda w: ("/api/v1/permits", {
        "organization": w["b"].uscc, "number": "伪造-1", "kind": "comprehensive", "valid_from": "2024-01-01",
        "valid_until": "2029-01-01", "lines": [{"waste": "HW49", "annual_capacity_tonnes": "1", "methods": []}]}),
    ("GET", "/permits/{permit_id}"): lambda w: (f"/api/v1/permits/{w['b_permit'].pk}", None),
    ("POST", "/imports/{kind}"): lambda w: ("/api/v1/imports/organizations", "FILE"),
    ("GET", "/change-requests"): lambda w: (f"/api/v1/change-requests?organization={w['b'].pk}", None),
    ("POST", "/organizations/{organization_id}/change-requests"): lambda w: (
        f"/api/v1/organizations/{w['b'].pk}/change-requests",
        {"field": "annual_hazardous_waste_tonnes", "value": "1", "reason": "x"}),
    ("GET", "/change-requests/{request_id}"): lambda w: (f"/api/v1/change-requests/{w['b_request'].pk}", None),
    ("POST", "/change-requests/{request_id}/approve"): lambda w: (
        f"/api/v1/change-requests/{w['b_request'].pk}/approve", {"version": w["b_request"].version}),
    ("POST", "/change-requests/{request_id}/refuse"): lambda w: (
        f"/api/v1/change-requests/{w['b_request'].pk}/refuse", {"version": w["b_request"].version, "reason": "x"}),
    ("POST", "/change-requests/{request_id}/attachments"): lambda w: (
        f"/api/v1/change-requests/{w['b_request'].pk}/attachments", "FILE"),
    ("GET", "/change-requests/{request_id}/attachments/{attachment_id}"): lambda w: (
        f"/api/v1/change-requests/{w['b_request'].pk}/attachments/1", None),
}


def registry_operations():
    return {(method, path) for routes in (router, changes_router) for path, view in routes.path_operations.items()
            for op in view.operations for method in op.methods}


def test_every_registry_endpoint_has_a_scope_case():
    assert registry_operations() == set(CASES)


def call(client, method, url, body, w):
    if body == "FILE":
        upload = io.BytesIO(b_org_update_csv(w))
        upload.name = "b.csv"
        return client.post(url, {"file": upload})
    if body is None:
        return client.generic(method, url)
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def b_state(w):
    b = w["b"]
    return {
        "org": Organization.objects.filter(pk=b.pk).values().get(),
        "sites": list(Site.objects.filter(organization=b).values()),
        "vehicles": list(Vehicle.objects.filter(organization=b).values()),
        "permits": list(OperatingPermit.objects.filter(organization=b).values()),
        "members": list(Membership.objects.filter(organization=b).values("user_id", "role")),
        "token_revoked": w["b_token"].__class__.objects.get(pk=w["b_token"].pk).revoked_at,
        "change_requests": list(ChangeRequest.objects.filter(organization=b).values()),
    }


def response_text(response) -> str:
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        sheet = load_workbook(io.BytesIO(response.content)).active
        return json.dumps([[str(c) for c in row] for row in sheet.iter_rows(values_only=True)], ensure_ascii=False)
    return response.content.decode("utf-8", "replace")


@pytest.mark.parametrize("who", ["enterprise A admin", "Banan regulator", "Banan department"])
def test_outsiders_cannot_read_or_change_b_through_any_endpoint(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = b_state(world)
    last_event_before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    for (method, _path), case in sorted(CASES.items()):
        url, body = case(world)
        response = call(client, method, url, body, world)
        text = response_text(response)
        for marker in world["b_markers"]:
            assert marker not in text, f"{who} saw {marker} through {method} {url}: {response.status_code}"
        if method != "GET" and (_path, method) not in (("/tokens", "POST"),):
            assert response.status_code in (403, 404, 422), f"{who}: {method} {url} -> {response.status_code}"
    assert b_state(world) == before
    new_events = AuditEvent.objects.filter(pk__gt=last_event_before)
    assert not new_events.filter(entity_id=str(world["b"].pk), entity_type="registry.organization").exists()
    assert audit.verify_chain().ok


@pytest.mark.parametrize("who", ["Kaizhou regulator", "B admin"])
def test_insiders_do_see_b(world, client_for, who):
    """The positive control: the same walk finds B's data for those entitled to it."""
    client = client_for(world["insiders"][who])
    for url in (f"/api/v1/organizations/{world['b'].pk}", f"/api/v1/sites/{world['b_site'].pk}",
                f"/api/v1/vehicles/{world['b_vehicle'].pk}", f"/api/v1/permits/{world['b_permit'].pk}"):
        assert client.get(url).status_code == 200, url
    listing = client.get("/api/v1/organizations").json()
    assert world["b"].uscc in [o["uscc"] for o in listing["items"]]
    assert world["b"].uscc in response_text(client.get("/api/v1/exports/organizations"))
    page = client.get(f"/registry/organizations/{world['b'].pk}/")
    assert page.status_code == 200 and all(marker in page.content.decode() for marker in world["b_markers"])


def test_district_regulator_sees_only_its_district(world, client_for):
    banan = client_for(world["outsiders"]["Banan regulator"])
    ids = {o["id"] for o in banan.get("/api/v1/organizations?limit=500").json()["items"]}
    assert world["a"].pk in ids and world["b"].pk not in ids
    kaizhou = client_for(world["insiders"]["Kaizhou regulator"])
    ids = {o["id"] for o in kaizhou.get("/api/v1/organizations?limit=500").json()["items"]}
    assert ids == {world["b"].pk}


def test_city_regulator_sees_every_district(world, client_for, regulator_of):
    city = client_for(regulator_of("500000"))
    ids = {o["id"] for o in city.get("/api/v1/organizations?limit=500").json()["items"]}
    assert ids == {world["a"].pk, world["b"].pk}


def test_a_token_of_a_sees_what_a_sees(world, client):
    _, secret = issue_token(user=world["outsiders"]["enterprise A admin"], name="A")
    listing = client.get("/api/v1/organizations", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert [o["uscc"] for o in listing["items"]] == [world["a"].uscc]
    assert client.get(f"/api/v1/organizations/{world['b'].pk}",
                      HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 404


# --- pages ---------------------------------------------------------------------------------

PAGE_CASES = {
    "organization_list": lambda w: [("GET", "/registry/organizations/", None),
                                    ("GET", f"/registry/organizations/?region={KAIZHOU}", None),
                                    ("GET", "/registry/organizations/?q=乙公", None)],  # finds 乙公司 if visible
    "organization_detail": lambda w: [("GET", f"/registry/organizations/{w['b'].pk}/", None)],
    "organization_supervision": lambda w: [("POST", f"/registry/organizations/{w['b'].pk}/supervision/", {
        "version": w["b"].version, "supervision_class": "registered", "reason": "x"})],
    "organization_close": lambda w: [("POST", f"/registry/organizations/{w['b'].pk}/close/", {
        "version": w["b"].version, "reason": "x"})],
    "change_request_file": lambda w: [("POST", f"/registry/organizations/{w['b'].pk}/change-requests/", {
        "field": "annual_hazardous_waste_tonnes", "value": "1", "reason": "x"})],
    "change_requests": lambda w: [("GET", "/registry/change-requests/", None)],
    "change_request_decide": lambda w: [
        ("POST", f"/registry/change-requests/{w['b_request'].pk}/decide/", {
            "version": w["b_request"].version, "decision": decision, "reason": "x"})
        for decision in ("approve", "refuse")],
    "import": lambda w: [("GET", "/registry/import/", None), ("POST", "/registry/import/", "FILE")],
    "import_template": lambda w: [("GET", f"/registry/import/template/{kind}.xlsx", None)
                                  for kind in ("organizations", "sites", "vehicles", "permits")],
    "export": lambda w: [("GET", f"/registry/export/{kind}.xlsx", None)
                         for kind in ("organizations", "sites", "vehicles", "permits")],
}


def test_every_registry_page_has_a_scope_case():
    from wufei.registry.urls import urlpatterns

    assert {pattern.name for pattern in urlpatterns} == set(PAGE_CASES)


@pytest.mark.parametrize("who", ["enterprise A admin", "Banan regulator", "Banan department"])
def test_outsiders_cannot_read_or_change_b_through_any_page(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = b_state(world)
    for case in PAGE_CASES.values():
        for method, url, body in case(world):
            if body == "FILE":
                upload = io.BytesIO(b_org_update_csv(world))
                upload.name = "b.csv"
                response = client.post(url, {"kind": "organizations", "file": upload})
            elif method == "POST":
                response = client.post(url, body)
            else:
                response = client.get(url)
            text = response_text(response)
            for marker in world["b_markers"]:
                assert marker not in text, f"{who} saw {marker} on {method} {url}"
            if method == "POST":
                assert response.status_code in (403, 404, 422), f"{who}: {method} {url} -> {response.status_code}"
    assert b_state(world) == before
