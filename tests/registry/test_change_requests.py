"""Change requests (变更申请): a unit's declared tonnes, roles, region and permits change only when the regulator
of its region approves. A Banan plating works declares 150 t/a of hazardous waste: key supervision (≥ 100 t)."""

import json
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import BANAN, KAIZHOU
from wufei.core import audit
from wufei.registry.models import ChangeRequest, Organization
from wufei.registry.services import refresh_supervision_class

pytestmark = pytest.mark.django_db


def send(client, method, path, body=None):
    return getattr(client, method)(path, json.dumps(body, default=str), content_type="application/json",
                                   HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def works(make_org, member_of, regulator_of, client_for):
    unit = make_org("巴南电镀厂", region=BANAN, roles=("generator",), annual_hazardous_waste_tonnes=Decimal(150))
    refresh_supervision_class(unit)
    assert unit.supervision_class == "key"
    admin = member_of(unit, "admin")
    regulator = regulator_of(BANAN)
    return {"unit": unit, "admin": admin, "enterprise": client_for(admin), "regulator": client_for(regulator),
            "url": f"/api/v1/organizations/{unit.pk}"}


def file(works, field, value, reason="年产生量下降"):
    return send(works["enterprise"], "post", f"{works['url']}/change-requests",
                {"field": field, "value": value, "reason": reason})


def test_the_enterprise_cannot_patch_its_declared_tonnes_or_roles(works):
    unit = works["unit"]
    for change in ({"annual_hazardous_waste_tonnes": "5"}, {"roles": ["generator", "receiver", "transporter"]}):
        answer = send(works["enterprise"], "patch", works["url"], {"version": unit.version, **change})
        assert answer.status_code == 403, answer.content
        body = answer.json()
        assert body["code"] == "change_request_required" and "change-requests" in body["message"]
        assert [e["field"] for e in body["errors"]] == list(change)
    unit.refresh_from_db()
    assert (unit.annual_hazardous_waste_tonnes, unit.roles, unit.supervision_class) == (150, ["generator"], "key")
    # what does not decide supervision stays the unit's own, and resending the values in force is no change
    renamed = send(works["enterprise"], "patch", works["url"], {"version": unit.version, "name": "巴南精密电镀厂",
                                                                "roles": ["generator"],
                                                                "annual_hazardous_waste_tonnes": "150.000"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "巴南精密电镀厂"


def test_filed_then_approved_the_class_is_recomputed_and_audited(works):
    unit = works["unit"]
    filed = file(works, "annual_hazardous_waste_tonnes", "8.5")
    assert filed.status_code == 201, filed.content
    request = filed.json()
    assert (request["status"], request["base_value"], request["value"]) == ("pending", "150", "8.5")
    unit.refresh_from_db()
    assert unit.supervision_class == "key"  # the old value stays in force while the request waits

    waiting = works["regulator"].get("/api/v1/change-requests?status=pending").json()["items"]
    assert [r["id"] for r in waiting] == [request["id"]]
    approved = send(works["regulator"], "post", f"/api/v1/change-requests/{request['id']}/approve",
                    {"version": request["version"]})
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"]

    unit.refresh_from_db()
    assert unit.annual_hazardous_waste_tonnes == Decimal("8.5")
    assert unit.supervision_class == "registered"  # 8.5 t < 10 t (simplified management threshold)
    change = audit.history(unit).filter(action="updated").last()
    assert [Decimal(v) for v in change.payload["changes"]["annual_hazardous_waste_tonnes"]] == [150, Decimal("8.5")]
    assert str(request["id"]) in change.payload["note"]
    listed = works["enterprise"].get(f"/api/v1/change-requests?organization={unit.pk}").json()["items"]
    assert [(r["id"], r["status"]) for r in listed] == [(request["id"], "approved")]


def test_refused_with_a_reason_nothing_changes(works):
    request = file(works, "roles", ["generator", "receiver"], reason="新建处置设施").json()
    path = f"/api/v1/change-requests/{request['id']}/refuse"
    assert send(works["regulator"], "post", path, {"version": request["version"]}).status_code == 422
    refused = send(works["regulator"], "post", path, {"version": request["version"], "reason": "未取得经营许可证"})
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert refused.json()["decision_reason"] == "未取得经营许可证"
    works["unit"].refresh_from_db()
    assert works["unit"].roles == ["generator"] and works["unit"].supervision_class == "key"
    again = send(works["regulator"], "post", f"/api/v1/change-requests/{request['id']}/approve",
                 {"version": refused.json()["version"]})
    assert again.status_code == 409 and again.json()["code"] == "already_decided"


def test_one_pending_request_per_field(works):
    assert file(works, "annual_hazardous_waste_tonnes", "50").status_code == 201
    second = file(works, "annual_hazardous_waste_tonnes", "40")
    assert second.status_code == 409 and second.json()["code"] == "request_pending"
    assert file(works, "roles", ["generator", "transporter"]).status_code == 201  # another field may wait too


def test_approving_after_the_value_in_force_moved_is_a_conflict(works):
    unit = works["unit"]
    request = file(works, "annual_hazardous_waste_tonnes", "60").json()
    direct = send(works["regulator"], "patch", works["url"], {"version": unit.version,
                                                              "annual_hazardous_waste_tonnes": "120"})
    assert direct.status_code == 200  # the regulator may change it directly
    late = send(works["regulator"], "post", f"/api/v1/change-requests/{request['id']}/approve",
                {"version": request["version"]})
    assert late.status_code == 409 and late.json()["code"] == "base_changed"
    unit.refresh_from_db()
    assert unit.annual_hazardous_waste_tonnes == 120
    assert ChangeRequest.objects.get(pk=request["id"]).status == "pending"


def test_others_neither_see_nor_decide(works, make_org, member_of, regulator_of, client_for):
    request = file(works, "annual_hazardous_waste_tonnes", "5").json()
    detail, approve = f"/api/v1/change-requests/{request['id']}", f"/api/v1/change-requests/{request['id']}/approve"
    other_unit = make_org("巴南另一厂", region=BANAN)
    driver = member_of(works["unit"], "driver")
    outsiders = {"another enterprise": client_for(member_of(other_unit, "admin")),
                 "another region's regulator": client_for(regulator_of(KAIZHOU)),
                 "the unit's driver": client_for(driver)}
    for who, client in outsiders.items():
        assert client.get(detail).status_code == 404, who
        assert client.get("/api/v1/change-requests").json()["items"] == [], who
        assert send(client, "post", approve, {"version": request["version"]}).status_code in (403, 404), who
    filed_by_driver = send(outsiders["the unit's driver"], "post", f"{works['url']}/change-requests",
                           {"field": "roles", "value": ["generator", "receiver"], "reason": "x"})
    assert filed_by_driver.status_code == 403
    filed_by_other = send(outsiders["another enterprise"], "post", f"{works['url']}/change-requests",
                          {"field": "roles", "value": ["generator", "receiver"], "reason": "x"})
    assert filed_by_other.status_code == 404
    own_approval = send(works["enterprise"], "post", approve, {"version": request["version"]})
    assert own_approval.status_code == 403  # the unit sees its request but cannot decide it
    assert Organization.objects.get(pk=works["unit"].pk).annual_hazardous_waste_tonnes == 150


def test_a_new_operating_permit_on_request_makes_the_unit_a_receiver(works):
    value = {"number": "渝危废0123号", "kind": "comprehensive", "issuing_authority": "重庆市生态环境局",
             "valid_from": "2026-01-01", "valid_until": "2030-12-31",
             "lines": [{"waste": "HW17", "annual_capacity_tonnes": "3000", "methods": ["D10"]}]}
    assert file(works, "permit", {**value, "lines": ["HW17"]}).status_code == 422
    request = file(works, "permit", {**value, "lines": [{"waste": "HW99", "annual_capacity_tonnes": "-1"}]})
    assert request.status_code == 422
    assert {e["field"] for e in request.json()["errors"]} == {"value.lines.0.waste",
                                                              "value.lines.0.annual_capacity_tonnes"}
    request = file(works, "permit", value, reason="新建综合利用处置设施").json()
    upload = works["enterprise"].post(f"/api/v1/change-requests/{request['id']}/attachments",
                                      {"file": SimpleUploadedFile("许可证.pdf", b"%PDF-1.4 scan")})
    assert upload.status_code == 201, upload.content
    assert works["unit"].permits.count() == 0
    approved = send(works["regulator"], "post", f"/api/v1/change-requests/{request['id']}/approve",
                    {"version": request["version"] + 1})  # the attachment is a change of the request
    assert approved.status_code == 200, approved.content
    unit = Organization.objects.get(pk=works["unit"].pk)
    assert unit.roles == ["generator", "receiver"] and unit.supervision_basis["rule"] == "operating_permit"
    assert [(line.category_id, line.annual_capacity_tonnes) for line in unit.permits.get().lines.all()] == [
        ("HW17", 3000)]


def test_pages_file_on_the_unit_page_and_decide_on_the_regulator_side(works, member_of, client_for):
    page_url = f"/registry/organizations/{works['unit'].pk}/"
    page = works["enterprise"].get(page_url).content.decode()
    assert re.findall(r'data-request-field="([a-z_]+)"', page) == ["annual_hazardous_waste_tonnes", "roles", "region"]
    driver_page = client_for(member_of(works["unit"], "driver")).get(page_url).content.decode()
    assert "data-request-field" not in driver_page and "data-change-request" not in driver_page

    filed = works["enterprise"].post(f"{page_url}change-requests/", {
        "field": "annual_hazardous_waste_tonnes", "value": "12", "reason": "工艺改造后产生量下降",
        "file": SimpleUploadedFile("环评批复.pdf", b"%PDF-1.4")}, follow=True)
    page = filed.content.decode()
    assert 'data-status="pending"' in page and "150.000 t" in page and "12.000 t" in page and "环评批复.pdf" in page
    assert 'data-testid="request-annual_hazardous_waste_tonnes"' not in page  # one pending request per field
    assert 'data-testid="request-roles"' in page

    waiting = works["regulator"].get("/registry/change-requests/").content.decode()
    row = ChangeRequest.objects.get()
    assert f'data-change-request="{row.pk}"' in waiting and "巴南电镀厂" in waiting
    assert f'data-testid="approve-{row.pk}"' in works["regulator"].get(page_url).content.decode()
    decided = works["regulator"].post(f"/registry/change-requests/{row.pk}/decide/",
                                      {"version": row.version, "decision": "approve"}, follow=True)
    assert 'data-status="approved"' in decided.content.decode()
    works["unit"].refresh_from_db()
    assert works["unit"].supervision_class == "simplified"  # 12 t: at least 10 t, below 100 t


def test_an_own_disposal_facility_changes_kind_only_on_request(make_org, member_of, regulator_of, client_for,
                                                               make_site):
    """A unit with its own disposal facility is key-supervised whatever its tonnes (HJ 1259-2022)."""
    unit = make_org("巴南焚烧厂", region=BANAN, annual_hazardous_waste_tonnes=Decimal(2))
    furnace = make_site(unit, kind="self_disposal", name="自建焚烧炉")
    refresh_supervision_class(unit)
    assert unit.supervision_class == "key"
    enterprise, regulator = client_for(member_of(unit, "admin")), client_for(regulator_of(BANAN))
    renamed = send(enterprise, "patch", f"/api/v1/sites/{furnace.pk}", {"version": furnace.version, "name": "1号炉"})
    assert renamed.status_code == 200
    relabelled = send(enterprise, "patch", f"/api/v1/sites/{furnace.pk}",
                      {"version": renamed.json()["version"], "kind": "storage"})
    assert relabelled.status_code == 403 and relabelled.json()["code"] == "change_request_required"
    unit.refresh_from_db()
    assert unit.supervision_class == "key"

    request = send(enterprise, "post", f"/api/v1/organizations/{unit.pk}/change-requests",
                   {"field": "site_kind", "site": furnace.pk, "value": "storage", "reason": "焚烧炉已拆除"}).json()
    assert (request["base_value"], request["value"]) == ("self_disposal", "storage")
    approved = send(regulator, "post", f"/api/v1/change-requests/{request['id']}/approve",
                    {"version": request["version"]})
    assert approved.status_code == 200, approved.content
    unit.refresh_from_db()
    assert unit.supervision_class == "registered"  # 2 t < 10 t, no own facility any more
