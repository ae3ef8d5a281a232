"""Enterprise A, a regulator of another district and a department can neither see nor change the alerts about
B (in Kaizhou) nor B's tracks; B and Kaizhou's regulator can. Driven by the router and the urlpatterns: a new
endpoint or page without a case here fails the test."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern

from tests.alerts.conftest import NOW
from tests.conftest import BANAN, KAIZHOU
from wufei.alerts import urls as alert_urls
from wufei.alerts.api import router
from wufei.alerts.models import Alert, AlertAttachment, AlertComment, Notification, Rule, RuleOverride, TrackPoint
from wufei.alerts.scanner import ensure_rules
from wufei.core.scope import Scope
from wufei.manifests.models import Manifest, TransportLeg


@pytest.fixture
def world(make_org, member_of, regulator_of, department_user, make_vehicle):
    ensure_rules()
    a = make_org("甲公司", region=BANAN)
    b = make_org("乙公司", region=KAIZHOU, roles=("generator", "transporter"))
    receiver = make_org("乙方接收单位", region=KAIZHOU, roles=("receiver",))
    b_admin = member_of(b, "admin")
    manifest = Manifest.objects.create(number="20265001000777", kind="hazardous", status="in_transit",
                                       generator=b, receiver=receiver, shipped_tonnes=1)
    leg = TransportLeg.objects.create(manifest=manifest, position=1, transporter=b, taken_at=NOW,
                                      vehicle=make_vehicle(b, plate="渝F99999"))
    TrackPoint.objects.create(leg=leg, recorded_at=NOW, longitude=Decimal("108.1"), latitude=Decimal("31.1"))
    alert = Alert(rule_id="manifest.overweight", level="orange", entity_type="manifest", entity_id=str(manifest.pk),
                  entity_label="乙公司超载联单", organization=b, region_id=KAIZHOU, region_path="/500000/500154/",
                  evidence={"vehicle": "渝F99999"}, opened_at=NOW, last_seen_at=NOW, status="rectifying")
    alert.save()
    attachment = AlertAttachment(alert=alert, name="乙公司整改.pdf", size=3)
    attachment.file.save("乙公司整改.pdf", SimpleUploadedFile("x.pdf", b"pdf"), save=False)
    attachment.save()
    AlertComment.objects.create(alert=alert, author_label="b", action="comment", text="乙公司说明")
    Notification.objects.create(alert=alert, organization=b, action="opened")
    Notification.objects.create(alert=alert, region_path="/500000/500154/", action="opened")
    return {"a": a, "b": b, "alert": alert, "attachment": attachment, "manifest": manifest,
            "outsiders": {"enterprise A admin": member_of(a, "admin"), "Banan regulator": regulator_of(BANAN),
                          "Banan department": department_user(BANAN)},
            "insiders": {"B admin": b_admin, "Kaizhou regulator": regulator_of(KAIZHOU)},
            "markers": ["乙公司超载联单", "乙公司整改", "乙公司说明", "渝F99999", "108.1"]}


def _action(w):
    return {"version": w["alert"].version, "comment": "x"}


CASES = {
    ("GET", "/alerts"): lambda w: ("/api/v1/alerts?limit=500", None),
    ("GET", "/alerts/stats"): lambda w: ("/api/v1/alerts/stats", None),
    ("GET", "/alerts/{alert_id}"): lambda w: (f"/api/v1/alerts/{w['alert'].pk}", None),
    ("POST", "/alerts/{alert_id}/actions/{action}"): lambda w: (
        f"/api/v1/alerts/{w['alert'].pk}/actions/close", _action(w)),
    ("POST", "/alerts/{alert_id}/assign"): lambda w: (f"/api/v1/alerts/{w['alert'].pk}/assign", {
        "version": w["alert"].version, "deadline": "2030-01-01"}),
    ("POST", "/alerts/{alert_id}/comments"): lambda w: (f"/api/v1/alerts/{w['alert'].pk}/comments", {"text": "y"}),
    ("POST", "/alerts/{alert_id}/attachments"): lambda w: (f"/api/v1/alerts/{w['alert'].pk}/attachments", "FILE"),
    ("GET", "/alerts/{alert_id}/attachments/{attachment_id}"): lambda w: (
        f"/api/v1/alerts/{w['alert'].pk}/attachments/{w['attachment'].pk}", None),
    ("GET", "/alert-rules"): lambda w: ("/api/v1/alert-rules", None),
    ("PATCH", "/alert-rules/{rule_id}"): lambda w: ("/api/v1/alert-rules/manifest.overweight", {
        "version": 1, "level": "blue"}),
    ("PUT", "/alert-rules/{rule_id}/overrides/{region_code}"): lambda w: (
        f"/api/v1/alert-rules/manifest.overweight/overrides/{KAIZHOU}", {"enabled": False}),
    ("GET", "/alert-notifications"): lambda w: ("/api/v1/alert-notifications?limit=500", None),
    ("POST", "/alert-notifications/read"): lambda w: ("/api/v1/alert-notifications/read", {"ids": None}),
    ("POST", "/manifests/{manifest_id}/legs/{position}/track"): lambda w: (
        f"/api/v1/manifests/{w['manifest'].pk}/legs/1/track", {"points": [
            {"recorded_at": (NOW - dt.timedelta(minutes=5)).isoformat(), "longitude": 100, "latitude": 30}]}),
    ("GET", "/manifests/{manifest_id}/track"): lambda w: (f"/api/v1/manifests/{w['manifest'].pk}/track", None),
    ("POST", "/tracks/import"): lambda w: ("/api/v1/tracks/import", "CSV"),
}

PAGES = {
    "board": lambda w: ("GET", "/alerts/", None),
    "rules": lambda w: ("GET", "/alerts/rules/", None),
    "detail": lambda w: ("GET", f"/alerts/{w['alert'].pk}/", None),
    "act": lambda w: ("POST", f"/alerts/{w['alert'].pk}/act/", {"action": "close", "version": w["alert"].version,
                                                                 "comment": "x"}),
    "comment": lambda w: ("POST", f"/alerts/{w['alert'].pk}/comment/", {"text": "y"}),
    "upload": lambda w: ("POST", f"/alerts/{w['alert'].pk}/upload/", "FILE"),
    "attachment": lambda w: ("GET", f"/alerts/{w['alert'].pk}/attachments/{w['attachment'].pk}/", None),
}


def operations(api_router):
    return {(method, path) for path, view in api_router.path_operations.items()
            for op in view.operations for method in op.methods}


def test_every_endpoint_and_page_has_a_scope_case():
    assert operations(router) == set(CASES)
    assert {p.name for p in alert_urls.urlpatterns if isinstance(p, URLPattern)} == set(PAGES)


def call(client, method, url, body, w):
    if body == "FILE":
        return client.post(url, {"file": SimpleUploadedFile("整改.pdf", b"%PDF"), "note": "n"})
    if body == "CSV":
        content = f"manifest,leg,recorded_at,longitude,latitude\n{w['manifest'].number},1,{NOW.isoformat()},100,30\n"
        return client.post(url, {"file": SimpleUploadedFile("t.csv", content.encode())})
    if body is None:
        return client.generic(method, url)
    if url.startswith("/api/"):
        return client.generic(method, url, json.dumps(body), content_type="application/json")
    return client.post(url, body)


def b_state(w):
    return {"alerts": list(Alert.objects.filter(organization=w["b"]).values()),
            "comments": AlertComment.objects.count(), "attachments": AlertAttachment.objects.count(),
            "unread": Notification.objects.filter(read_at__isnull=True).count(),
            "rules": list(Rule.objects.values("pk", "level", "version")),
            "overrides": RuleOverride.objects.count(), "points": TrackPoint.objects.count()}


@pytest.mark.parametrize("who", ["enterprise A admin", "Banan regulator", "Banan department"])
def test_outsiders_cannot_read_or_change_b_alerts(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = b_state(world)
    for (method, _path), case in sorted(CASES.items()):
        url, body = case(world)
        response = call(client, method, url, body, world)
        text = response.content.decode(errors="replace")
        assert response.status_code < 500, (method, url, text[:300])
        for marker in world["markers"]:
            assert marker not in text, (who, method, url, marker)
    for name, case in sorted(PAGES.items()):
        method, url, body = case(world)
        response = call(client, method, url, body, world)
        if response.status_code in (302, 301):
            response = client.get(response["Location"])
        text = response.content.decode(errors="replace")
        assert response.status_code in (200, 404, 403), (name, response.status_code)
        for marker in world["markers"]:
            assert marker not in text, (who, name, marker)
    assert b_state(world) == before


@pytest.mark.parametrize("who", ["B admin", "Kaizhou regulator"])
def test_insiders_see_b_alerts(world, client_for, who):
    client = client_for(world["insiders"][who])
    listing = client.get("/api/v1/alerts").json()
    assert [a["id"] for a in listing["items"]] == [world["alert"].pk]
    assert "乙公司超载联单" in client.get(f"/alerts/{world['alert'].pk}/").content.decode()
    assert client.get(f"/api/v1/manifests/{world['manifest'].pk}/track").json()["legs"][0]["points"]
    assert client.get("/api/v1/alert-notifications").json()


def test_an_enterprise_sees_only_alerts_about_itself(world, make_org):
    other = make_org("丙公司", region=KAIZHOU)
    Alert(rule_id="manifest.overweight", level="orange", entity_type="manifest", entity_id="x", organization=other,
          region_id=KAIZHOU, region_path="/500000/500154/", opened_at=NOW, last_seen_at=NOW).save()
    from wufei.alerts.services import alerts_for
    from wufei.core.scope import scope_for

    b_scope = scope_for(world["insiders"]["B admin"])
    assert set(alerts_for(b_scope).values_list("organization_id", flat=True)) == {world["b"].pk}
    regulator = scope_for(world["insiders"]["Kaizhou regulator"])
    assert alerts_for(regulator).count() == 2
    assert alerts_for(Scope()).count() == 0
