"""The whole alert loop through the public API, as a client would drive it: every alerts endpoint answers with
its status code and the alert as it now stands (no 500 after a saved change, so a client never retries into 409)."""

import pytest

from tests.alerts.conftest import manifest, scan

pytestmark = pytest.mark.django_db


def test_every_alerts_endpoint_through_the_loop(chain, client_for, regulator_of, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    manifest(chain, tonnes="45")  # overweight: the alert is about the carrier (Banan)
    scan()
    regulator_user = regulator_of(chain.transporter.region_id)
    regulator, carrier = client_for(regulator_user), client_for(chain.transporter_admin)
    json = "application/json"

    listed = regulator.get("/api/v1/alerts?rule=manifest.overweight&active=true")
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    alert_id, version = item["id"], item["version"]
    assert item["recurrence_of_id"] is None and item["organization_name"] == chain.transporter.name

    shown = regulator.get(f"/api/v1/alerts/{alert_id}")
    assert shown.status_code == 200, shown.content
    body = shown.json()
    assert body["actions"] == ["verify", "rectify", "false_positive"] and body["history"][0]["action"] == "opened"
    assert carrier.get(f"/api/v1/alerts/{alert_id}").json()["actions"] == []

    assigned = regulator.post(f"/api/v1/alerts/{alert_id}/assign", {"version": version, "assignee_id":
                              regulator_user.pk, "deadline": "2030-01-31"}, content_type=json)
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["assignee_id"] == regulator_user.pk and assigned.json()["deadline"] == "2030-01-31"
    version = assigned.json()["version"]

    stale = regulator.post(f"/api/v1/alerts/{alert_id}/actions/verify", {"version": version - 1}, content_type=json)
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    for action, comment in (("verify", ""), ("rectify", "卸下5吨")):
        answer = regulator.post(f"/api/v1/alerts/{alert_id}/actions/{action}", {"version": version,
                                                                                "comment": comment}, content_type=json)
        assert answer.status_code == 200, answer.content
        version = answer.json()["version"]
    assert answer.json()["status"] == "rectifying" and "upload" in answer.json()["actions"]

    uploaded = carrier.post(f"/api/v1/alerts/{alert_id}/attachments",
                            {"file": _file("整改报告.pdf", b"%PDF-1.4 x"), "note": "已卸货"})
    assert uploaded.status_code == 201, uploaded.content
    attachment = uploaded.json()["id"]
    download = regulator.get(f"/api/v1/alerts/{alert_id}/attachments/{attachment}")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 x"
    commented = carrier.post(f"/api/v1/alerts/{alert_id}/comments", {"text": "已整改"}, content_type=json)
    assert commented.status_code == 201 and commented.json()["text"] == "已整改"

    version = regulator.get(f"/api/v1/alerts/{alert_id}").json()["version"]
    no_reason = regulator.post(f"/api/v1/alerts/{alert_id}/actions/close", {"version": version}, content_type=json)
    assert no_reason.status_code == 422
    closed = regulator.post(f"/api/v1/alerts/{alert_id}/actions/close", {"version": version, "comment": "现场核实"},
                            content_type=json)
    assert closed.status_code == 200, closed.content
    body = closed.json()
    assert body["status"] == "closed" and body["resolution"] == "现场核实" and body["actions"] == ["reopen"]
    assert [h["action"] for h in body["history"]] == ["opened", "assigned", "verify", "rectify", "attachment_added",
                                                       "close"]
    assert [c["action"] for c in body["comments"]] == ["verify", "rectify", "upload", "comment", "close"]
    assert [a["name"] for a in body["attachments"]] == ["整改报告.pdf"]

    scan(full=True)
    assert regulator.get("/api/v1/alerts?rule=manifest.overweight&active=true").json()["items"] == []

    stats = regulator.get("/api/v1/alerts/stats").json()
    assert stats["by_status"]["closed"] == 1 and stats["closure_rate"] == 100.0
    notes = carrier.get("/api/v1/alert-notifications?unread=true").json()
    assert {n["action"] for n in notes} >= {"opened", "rectify", "close"}
    read = carrier.post("/api/v1/alert-notifications/read", {"ids": None}, content_type=json)
    assert read.status_code == 200 and read.json()["marked"] == len(notes)
    reopened = regulator.post(f"/api/v1/alerts/{alert_id}/actions/reopen", {"version": body["version"],
                              "comment": "复查未整改"}, content_type=json)
    assert reopened.status_code == 200 and reopened.json()["status"] == "rectifying"


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)
