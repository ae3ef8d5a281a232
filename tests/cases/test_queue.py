"""The regulators' queue: scope walk (another district's regulator, enterprise, department, anonymous see
and change nothing), the handling loop with optimistic concurrency, assignment, the registry link,
photos through the scoped view, and the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.cases.conftest import JPEG
from tests.conftest import BANAN, CHONGQING, KAIZHOU
from wufei.cases import services
from wufei.cases.models import Report
from wufei.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for

pytestmark = pytest.mark.usefixtures("english")


def en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def reports(filed):
    banan, _ = filed(BANAN, kind="illegal_dumping", photos=[("p.jpg", JPEG)], contact_phone="13900001111")
    banan2, _ = filed(BANAN)
    kaizhou, _ = filed(KAIZHOU)
    return banan, banan2, kaizhou


def test_queue_shows_the_regulators_own_districts_with_counts(reports, banan_regulator, kaizhou_regulator,
                                                             regulator_of, client_for):
    banan, banan2, kaizhou = reports
    page = en(client_for(banan_regulator)).get("/cases/")
    html = page.content.decode()
    assert page.status_code == 200
    assert banan.number in html and banan2.number in html and kaizhou.number not in html
    assert 'data-testid="total-count">2<' in html and 'data-testid="kind-illegal_dumping">illegal dumping report (1)' \
        in html
    filtered = en(client_for(banan_regulator)).get("/cases/?kind=complaint")
    assert banan2.number in filtered.content.decode() and banan.number not in filtered.content.decode()
    city = en(client_for(regulator_of(CHONGQING))).get(f"/cases/?region={KAIZHOU}")
    assert kaizhou.number in city.content.decode() and banan.number not in city.content.decode()
    assert services.counts(scope_for(regulator_of(CHONGQING)))["by_status"] == {"submitted": 3}


def test_scope_walk_nobody_else_sees_or_changes(reports, kaizhou_regulator, make_org, member_of, department_user,
                                               client_for):
    banan = reports[0]
    photo = banan.photos.get()
    enterprise_user = member_of(make_org(region=BANAN))
    outsiders = {"other district": client_for(kaizhou_regulator),
                 "enterprise": client_for(enterprise_user),
                 "department": client_for(department_user(BANAN)), "anonymous": Client()}
    events = AuditEvent.objects.count()
    for who, client in outsiders.items():
        for url in (f"/cases/{banan.pk}/", f"/cases/{banan.pk}/photos/{photo.pk}/"):
            assert client.get(url).status_code in (302, 403, 404), (who, url)
        for url, data in ((f"/cases/{banan.pk}/act/", {"action": "accept", "version": 1}),
                          (f"/cases/{banan.pk}/assign/", {"version": 1, "assignee_id": ""}),
                          (f"/cases/{banan.pk}/note/", {"version": 1, "note": "x"}),
                          (f"/cases/{banan.pk}/organization/", {"version": 1, "organization_id": ""})):
            assert client.post(url, data).status_code in (302, 403, 404), (who, url)
            if who == "anonymous":
                assert client.post(url, data)["Location"].startswith("/accounts/login/")
        api = client.get(f"/api/v1/cases/{banan.pk}")
        assert api.status_code in (401, 403, 404), who
        assert client.post(f"/api/v1/cases/{banan.pk}/actions/accept", {"version": 1},
                           content_type="application/json").status_code in (401, 403, 404), who
        listing = client.get("/api/v1/cases")
        assert listing.status_code in (401, 403) or banan.number not in listing.content.decode(), who
        assert client.get(f"/api/v1/cases/{banan.pk}/photos/{photo.pk}").status_code in (401, 403, 404), who
    assert client_for(kaizhou_regulator).get("/cases/").status_code == 200
    assert banan.number not in client_for(kaizhou_regulator).get("/cases/").content.decode()
    for client in list(outsiders.values())[1:3]:
        assert client.get("/cases/").status_code == 403
    banan.refresh_from_db()
    assert banan.status == "submitted" and banan.version == 1 and banan.internal_note == ""
    assert AuditEvent.objects.count() == events
    with pytest.raises(NotFound):
        services.transition(scope=scope_for(kaizhou_regulator), report_id=banan.pk, action="accept", version=1)
    with pytest.raises(PermissionDenied):
        services.transition(scope=scope_for(enterprise_user), report_id=banan.pk, action="accept", version=1)


def test_the_loop_with_history_and_stale_version(reports, banan_regulator, regulator_of, client_for):
    banan = reports[0]
    scope = scope_for(banan_regulator)
    report = services.transition(scope=scope, report_id=banan.pk, action="accept", version=1, note="转执法")
    assert report.status == "accepted" and report.assignee_id == banan_regulator.pk and report.version == 2
    with pytest.raises(Conflict) as stale:
        services.transition(scope=scope, report_id=banan.pk, action="investigate", version=1)
    assert stale.value.code == "stale_version" and stale.value.status == 409
    with pytest.raises(Conflict) as wrong:
        services.transition(scope=scope, report_id=banan.pk, action="close", version=2, result="x")
    assert wrong.value.code == "invalid_transition"
    report = services.transition(scope=scope, report_id=banan.pk, action="investigate", version=2)
    with pytest.raises(ValidationFailed) as missing:
        services.transition(scope=scope, report_id=banan.pk, action="close", version=report.version)
    assert missing.value.errors[0]["field"] == "result"
    report = services.transition(scope=scope, report_id=banan.pk, action="close", version=report.version,
                                 result="已清理", note="罚款两万")
    assert report.status == "closed" and report.closed_at is not None and "罚款两万" in report.internal_note
    actions = [h["action"] for h in services.history(report)]
    assert actions == ["created", "photos_added", "accept", "investigate", "close"]
    page = en(client_for(banan_regulator)).get(f"/cases/{banan.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "已清理" in html and "罚款两万" in html and "13900001111" in html
    assert f"/cases/{banan.pk}/photos/{banan.photos.get().pk}/" in html
    photo = client_for(banan_regulator).get(f"/cases/{banan.pk}/photos/{banan.photos.get().pk}/")
    assert photo.status_code == 200 and photo.content == JPEG and photo["Content-Type"] == "image/jpeg"


def test_page_actions_assign_link_and_stale_form(reports, banan_regulator, regulator_of, make_org, client_for):
    banan = reports[0]
    colleague = regulator_of(CHONGQING)
    kaizhou_only = regulator_of(KAIZHOU)
    unit = make_org(name="某化工有限公司", region=BANAN)
    client = en(client_for(banan_regulator))
    assert client.post(f"/cases/{banan.pk}/act/", {"action": "accept", "version": 1}).status_code == 302
    banan.refresh_from_db()
    assert banan.status == "accepted" and banan.version == 2
    response = client.post(f"/cases/{banan.pk}/act/", {"action": "investigate", "version": 1}, follow=True)
    assert "changed meanwhile" in response.content.decode()
    banan.refresh_from_db()
    assert banan.status == "accepted" and banan.version == 2
    client.post(f"/cases/{banan.pk}/assign/", {"version": 2, "assignee_id": colleague.pk})
    banan.refresh_from_db()
    assert banan.assignee_id == colleague.pk and banan.version == 3
    with pytest.raises(ValidationFailed):
        services.assign(scope=scope_for(banan_regulator), report_id=banan.pk, version=3, assignee_id=kaizhou_only.pk)
    client.post(f"/cases/{banan.pk}/organization/", {"version": 3, "organization_id": unit.pk, "note": "核实"})
    banan.refresh_from_db()
    assert banan.organization_id == unit.pk and banan.version == 4
    page = client.get(f"/cases/{banan.pk}/").content.decode()
    assert f"/registry/organizations/{unit.pk}/" in page and "某化工有限公司" in page and colleague.username in page
    other = make_org(region=KAIZHOU)
    with pytest.raises(ValidationFailed):
        services.link_organization(scope=scope_for(banan_regulator), report_id=banan.pk, version=4,
                                   organization_id=other.pk)
    client.post(f"/cases/{banan.pk}/act/", {"action": "reject", "version": 4, "reason": ""})
    banan.refresh_from_db()
    assert banan.status == "accepted"
    client.post(f"/cases/{banan.pk}/act/", {"action": "reject", "version": 4, "reason": "重复举报"})
    banan.refresh_from_db()
    assert banan.status == "rejected" and banan.rejection_reason == "重复举报"


def test_api_list_detail_act_and_409(reports, banan_regulator, make_org, member_of, client_for):
    banan, banan2, kaizhou = reports
    client = client_for(banan_regulator)
    listing = client.get("/api/v1/cases?limit=1")
    body = listing.json()
    assert listing.status_code == 200 and len(body["items"]) == 1 and body["next_cursor"]
    rest = client.get(f"/api/v1/cases?limit=5&cursor={body['next_cursor']}").json()
    assert {i["number"] for i in body["items"] + rest["items"]} == {banan.number, banan2.number}
    assert rest["next_cursor"] is None
    assert client.get("/api/v1/cases?kind=illegal_dumping").json()["items"][0]["number"] == banan.number
    assert client.get("/api/v1/cases?status=nope").status_code == 422
    assert client.get("/api/v1/cases/counts").json()["by_kind"] == {"illegal_dumping": 1, "complaint": 1}
    detail = client.get(f"/api/v1/cases/{banan.pk}").json()
    assert detail["actions"] == ["accept", "reject"] and len(detail["photos"]) == 1
    assert detail["contact_phone"] == "13900001111"
    assert client.get(f"/api/v1/cases/{kaizhou.pk}").status_code == 404
    ok = client.post(f"/api/v1/cases/{banan.pk}/actions/accept", {"version": 1}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["status"] == "accepted" and ok.json()["version"] == 2
    stale = client.post(f"/api/v1/cases/{banan.pk}/actions/investigate", {"version": 1},
                        content_type="application/json")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    note = client.post(f"/api/v1/cases/{banan.pk}/notes", {"version": 2, "note": "电话回访"},
                       content_type="application/json")
    assert note.status_code == 200 and "电话回访" in note.json()["internal_note"]
    photo = client.get(f"/api/v1/cases/{banan.pk}/photos/{detail['photos'][0]['id']}")
    assert photo.status_code == 200 and photo.content == JPEG
    enterprise = client_for(member_of(make_org(region=BANAN)))
    assert enterprise.get("/api/v1/cases").status_code == 403
    assert Client().get("/api/v1/cases").status_code == 401
    assert Report.objects.get(pk=banan.pk).version == 3


def test_api_create_then_regulator_sees_it(districts, banan_regulator, client_for):
    response = Client().post("/api/v1/cases/reports", {
        "kind": "illegal_dumping", "region": BANAN, "place": "巴南某山坡", "description": "山坡上有人倾倒废油桶。",
        "longitude": "106.6", "latitude": "29.3", "consent": "true",
        "photos": [SimpleUploadedFile("a.jpg", JPEG), SimpleUploadedFile("b.jpg", JPEG)]})
    assert response.status_code == 201
    items = client_for(banan_regulator).get("/api/v1/cases").json()["items"]
    assert [i["number"] for i in items] == [response.json()["number"]]
    assert items[0]["longitude"] == "106.600000" or float(items[0]["longitude"]) == 106.6
