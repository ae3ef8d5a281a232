import json

import pytest

from tests.conftest import BANAN, KAIZHOU, uscc_for
from wufei.core import audit
from wufei.registry.models import Organization


def post(client, path, body, **headers):
    headers.setdefault("HTTP_ACCEPT_LANGUAGE", "en")  # messages are asserted in English
    return client.post(path, json.dumps(body, default=str), content_type="application/json", **headers)


def patch(client, path, body):
    return client.patch(path, json.dumps(body, default=str), content_type="application/json",
                        HTTP_ACCEPT_LANGUAGE="en")


def org_body(**overrides):
    body = {"uscc": uscc_for(BANAN), "name": "重庆某电子科技有限公司", "region": BANAN, "roles": ["generator"],
            "address": "巴南区界石镇", "longitude": "106.54", "latitude": "29.40",
            "annual_hazardous_waste_tonnes": "42.5"}
    body.update(overrides)
    return body


@pytest.fixture
def regulator_client(regulator_of, client_for):
    return client_for(regulator_of(BANAN))


def test_regulator_registers_an_organization_and_its_class_is_computed(regulator_client):
    response = post(regulator_client, "/api/v1/organizations", org_body())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["supervision_class"] == "simplified"
    assert "42.5" in body["supervision_basis"]
    assert audit.verify_chain().ok


@pytest.mark.parametrize("field, value, message", [
    ("uscc", "91500113MA0000000X", "check character"),
    ("uscc", "123", "18 characters"),
    ("region", "999999", "not a GB/T 2260 region code"),
    ("roles", ["pirate"], "not one of"),
    ("latitude", "95", "at most 90"),
    ("annual_hazardous_waste_tonnes", "-1", "at least 0"),
])
def test_bad_input_names_the_field_and_writes_nothing(regulator_client, field, value, message):
    response = post(regulator_client, "/api/v1/organizations", org_body(**{field: value}))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert any(e["field"] == field and message in e["message"] for e in body["errors"]), body
    assert Organization.objects.count() == 0


def test_all_errors_are_reported_at_once(regulator_client):
    response = post(regulator_client, "/api/v1/organizations", org_body(uscc="bad", region="000000", roles=[]))
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"uscc", "region", "roles"} <= fields


def test_duplicate_uscc_is_rejected(regulator_client, make_org):
    existing = make_org()
    response = post(regulator_client, "/api/v1/organizations", org_body(uscc=existing.uscc))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "uscc"


def test_regulator_cannot_register_outside_its_region(regulator_client):
    response = post(regulator_client, "/api/v1/organizations", org_body(uscc=uscc_for(KAIZHOU), region=KAIZHOU))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_idempotency_key_replays_the_first_answer(regulator_client):
    body = org_body()
    first = post(regulator_client, "/api/v1/organizations", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    second = post(regulator_client, "/api/v1/organizations", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Organization.objects.count() == 1


def test_stale_version_is_a_conflict_and_changes_nothing(regulator_client, make_org):
    org = make_org(name="旧名")
    ok = patch(regulator_client, f"/api/v1/organizations/{org.pk}", {"version": org.version, "name": "新名"})
    assert ok.status_code == 200 and ok.json()["name"] == "新名"
    stale = patch(regulator_client, f"/api/v1/organizations/{org.pk}", {"version": org.version, "name": "又一名"})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert Organization.objects.get(pk=org.pk).name == "新名"


def test_override_requires_a_reason(regulator_client, make_org):
    org = make_org()
    url = f"/api/v1/organizations/{org.pk}/supervision-class"
    refused = post(regulator_client, url, {"version": org.version, "supervision_class": "key", "reason": " "})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "reason"
    assert Organization.objects.get(pk=org.pk).supervision_override == ""
    body = {"version": org.version, "supervision_class": "key", "reason": "重点排污单位名录"}
    done = post(regulator_client, url, body)
    assert done.status_code == 200
    assert done.json()["supervision_class"] == "key"
    assert done.json()["computed_supervision_class"] == "registered"
    assert audit.history(org).last().action == "supervision_class_overridden"


def test_enterprise_cannot_override_its_own_class(member_of, client_for, make_org):
    org = make_org()
    client = client_for(member_of(org))
    url = f"/api/v1/organizations/{org.pk}/supervision-class"
    response = post(client, url, {"version": org.version, "supervision_class": "registered", "reason": "想要"})
    assert response.status_code == 403


def test_close_then_cannot_be_used(member_of, client_for, make_org):
    from wufei.core.errors import RuleViolation
    from wufei.registry.services import ensure_usable

    org = make_org()
    client = client_for(member_of(org))
    response = post(client, f"/api/v1/organizations/{org.pk}/close", {"version": org.version, "reason": "停产"})
    assert response.status_code == 200 and response.json()["status"] == "closed"
    org.refresh_from_db()
    with pytest.raises(RuleViolation) as caught:
        ensure_usable(org)
    assert caught.value.code == "organization_closed"


def test_list_pages_by_cursor(regulator_client, make_org):
    for _ in range(5):
        make_org()
    first = regulator_client.get("/api/v1/organizations?limit=2").json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    seen = [o["id"] for o in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = regulator_client.get(f"/api/v1/organizations?limit=2&cursor={cursor}").json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen) and len(seen) == 5


def test_unauthenticated_requests_get_401(client, db):
    response = client.get("/api/v1/organizations")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_sites_vehicles_permits(regulator_client, make_org):
    org = make_org(roles=("transporter", "receiver"))
    site = post(regulator_client, "/api/v1/sites", {"organization": org.uscc, "name": "焚烧车间", "kind": "operating",
                                                    "design_capacity_tonnes_per_year": "30000"})
    assert site.status_code == 201 and site.json()["code"] == f"{org.uscc}001P"
    vehicle = post(regulator_client, "/api/v1/vehicles", {
        "organization": org.uscc, "plate": "渝B·12345", "transport_permit_number": "渝交运管500113001",
        "transport_permit_valid_until": "2027-06-30"})
    assert vehicle.status_code == 201 and vehicle.json()["plate"] == "渝B12345"
    permit = post(regulator_client, "/api/v1/permits", {
        "organization": org.uscc, "number": "渝危废[2024]001号", "kind": "comprehensive",
        "valid_from": "2024-01-01", "valid_until": "2028-12-31",
        "lines": [{"waste": "HW49", "annual_capacity_tonnes": "5000", "methods": ["D10"]},
                  {"waste": "900-041-49", "annual_capacity_tonnes": "100", "methods": ["D10", "R15"]}]})
    assert permit.status_code == 201, permit.content
    assert [line["category"] or line["waste"] for line in permit.json()["lines"]] == ["HW49", "900-041-49"]
    detail = regulator_client.get(f"/api/v1/organizations/{org.pk}").json()
    assert detail["organization"]["supervision_class"] == "key"  # holds an operating permit
    assert len(detail["sites"]) == 1 and len(detail["vehicles"]) == 1 and len(detail["permits"]) == 1


def test_permit_lines_report_their_index(regulator_client, make_org):
    org = make_org(roles=("receiver",))
    response = post(regulator_client, "/api/v1/permits", {
        "organization": org.uscc, "number": "X-1", "kind": "comprehensive",
        "valid_from": "2025-01-01", "valid_until": "2024-01-01",
        "lines": [{"waste": "HW49", "annual_capacity_tonnes": "1", "methods": []},
                  {"waste": "999-999-99", "annual_capacity_tonnes": "1", "methods": ["Q9"]}]})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"valid_until", "lines.1.waste", "lines.1.methods"} <= fields


def test_tokens_are_hashed_and_authenticate(member_of, client_for, make_org, client):
    from wufei.core.models import ApiToken

    org = make_org()
    user = member_of(org)
    created = post(client_for(user), "/api/v1/tokens", {"name": "ERP"})
    assert created.status_code == 201
    secret = created.json()["token"]
    stored = ApiToken.objects.get()
    assert secret not in (stored.digest, stored.prefix) and len(stored.digest) == 64
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert me.status_code == 200 and me.json()["organizations"] == [org.pk]
    client_for(user).delete(f"/api/v1/tokens/{stored.pk}")
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer wf_nope_nope").status_code == 401


def test_a_token_can_neither_mint_nor_revoke_tokens(member_of, client_for, make_org, client):
    """A leaked token must not outlive its revocation by minting a successor (or revoke its owner's others)."""
    from wufei.core.models import ApiToken

    user = member_of(make_org())
    session = client_for(user)
    secret = post(session, "/api/v1/tokens", {"name": "ERP"}).json()["token"]
    other = post(session, "/api/v1/tokens", {"name": "报表"}).json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    minted = post(client, "/api/v1/tokens", {"name": "spare"}, **bearer)
    assert minted.status_code == 403 and minted.json()["code"] == "session_required"
    revoked = client.delete(f"/api/v1/tokens/{other['id']}", **bearer)
    assert revoked.status_code == 403 and revoked.json()["code"] == "session_required"
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 2
    assert client.get("/api/v1/tokens", **bearer).status_code == 200  # reading the list stays possible
    assert session.delete(f"/api/v1/tokens/{other['id']}").status_code == 204  # the signed-in owner manages them


def test_token_requests_are_attributed_in_the_audit_chain(regulator_of, client):
    from wufei.core.tokens import issue_token

    user = regulator_of(BANAN)
    _, secret = issue_token(user=user, name="sync")
    response = post(client, "/api/v1/organizations", org_body(), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 201
    org = Organization.objects.get()
    assert audit.history(org).first().actor_id == user.pk
