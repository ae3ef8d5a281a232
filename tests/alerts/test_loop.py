"""The verify -> rectify -> close loop, comments, rectification uploads, notifications and webhooks, tracks."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.alerts.conftest import NOW, active, manifest, scan
from tests.conftest import KAIZHOU
from wufei.alerts import services, tracks
from wufei.alerts.models import Notification, TrackPoint
from wufei.core.errors import Conflict, PermissionDenied, ValidationFailed
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.manifests.models import WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(chain):
    manifest(chain, tonnes="45")  # overweight: about the carrier (Banan)
    scan()
    [alert] = active("manifest.overweight")
    return alert


def test_the_whole_loop_with_history(chain, alert, regulator_of, english):
    regulator = scope_for(regulator_of(chain.transporter.region_id))
    carrier = chain.scopes["transporter_admin"]
    assert services.available_actions(carrier, alert) == []
    with pytest.raises(PermissionDenied):
        services.transition(scope=carrier, alert_id=alert.pk, action="verify", version=alert.version)
    services.transition(scope=regulator, alert_id=alert.pk, action="verify", version=alert.version)
    with pytest.raises(Conflict):  # stale version
        services.transition(scope=regulator, alert_id=alert.pk, action="rectify", version=alert.version)
    alert.refresh_from_db()
    services.transition(scope=regulator, alert_id=alert.pk, action="rectify", version=alert.version,
                        deadline=dt.date(2030, 1, 1), comment="unload 5 t")
    with pytest.raises(Conflict):  # verify is not allowed from rectifying
        alert.refresh_from_db()
        services.transition(scope=regulator, alert_id=alert.pk, action="verify", version=alert.version)
    assert services.available_actions(carrier, alert) == ["upload"]
    attachment = services.upload_rectification(scope=carrier, alert_id=alert.pk, note="unloaded",
                                               file=SimpleUploadedFile("整改报告.pdf", b"%PDF-1.4"))
    assert attachment.size == 8 and len(attachment.sha256) == 64
    with pytest.raises(ValidationFailed):
        services.upload_rectification(scope=carrier, alert_id=alert.pk, file=SimpleUploadedFile("x.exe", b"MZ"))
    services.add_comment(scope=carrier, alert_id=alert.pk, text="done")
    alert.refresh_from_db()
    with pytest.raises(ValidationFailed):  # closing needs a reason
        services.transition(scope=regulator, alert_id=alert.pk, action="close", version=alert.version)
    services.transition(scope=regulator, alert_id=alert.pk, action="close", version=alert.version,
                        comment="checked on site")
    alert.refresh_from_db()
    assert alert.status == "closed" and alert.closed_at and alert.deadline == dt.date(2030, 1, 1)
    actions = [h["action"] for h in services.history(alert)]
    assert actions == ["opened", "verify", "rectify", "attachment_added", "close"]
    assert [c.action for c in alert.comments.all()] == ["verify", "rectify", "upload", "comment", "close"]
    stats = services.statistics(regulator)
    assert stats["closure_rate"] == 100.0 and stats["mean_hours_to_close"] is not None
    assert Notification.objects.filter(alert=alert, organization=chain.transporter).count() == 6


def test_notifications_and_webhook_deliveries(chain, alert, monkeypatch, django_capture_on_commit_callbacks):
    """An alert's change is a delivery in the webhooks' one table, sent by the queue job after the commit."""
    from wufei.manifests import webhooks

    webhooks.create_webhook(scope=chain.scopes["transporter_admin"], organization_id=chain.transporter.pk,
                            url="https://carrier.example/hook")
    sent = []
    monkeypatch.setattr(webhooks, "send", lambda url, payload, **kw: sent.append((url, payload)) or None)
    manifest(chain, tonnes="50")
    with django_capture_on_commit_callbacks(execute=True):
        scan()
    [delivery] = WebhookDelivery.objects.filter(subject_type="alert")
    assert delivery.status == "delivered"  # the queue (immediate in the tests) sent it after the commit
    url, payload = sent[0]
    assert url == "https://carrier.example/hook" and payload["type"] == "alert" and payload["action"] == "opened"
    assert payload["delivery"] == delivery.pk and payload["alert"] == delivery.subject_id
    carrier = chain.scopes["transporter_admin"]
    assert services.notifications_for(carrier, unread=True).count() == 2
    assert services.mark_read(scope=carrier) == 2
    assert services.notifications_for(carrier, unread=True).count() == 0
    generator = chain.scopes["generator_admin"]
    assert services.notifications_for(generator).count() == 0


def test_regulator_region_override_through_the_service(chain, regulator_of):
    kaizhou = scope_for(regulator_of(KAIZHOU))
    scan()
    services.set_override(scope=kaizhou, rule_id="manifest.overweight", region_code=KAIZHOU,
                          parameters={"max_tonnes": "30"})
    with pytest.raises(PermissionDenied):
        services.set_override(scope=kaizhou, rule_id="manifest.overweight", region_code="500113",
                              parameters={"max_tonnes": "30"})
    with pytest.raises(ValidationFailed):
        services.set_override(scope=kaizhou, rule_id="manifest.overweight", region_code=KAIZHOU,
                              parameters={"nonsense": 1})


def test_track_points_by_api_are_idempotent_and_only_from_the_carrier(chain, client_for):
    m = manifest(chain, status="in_transit", picked_up_at=NOW - dt.timedelta(hours=1))
    points = [{"recorded_at": (NOW - dt.timedelta(minutes=m_)).isoformat(), "longitude": "106.5",
               "latitude": "29.5", "speed_kmh": 40} for m_ in (50, 40, 30)]
    client = client_for(chain.transporter_admin)
    url = f"/api/v1/manifests/{m.pk}/legs/1/track"
    first = client.post(url, {"points": points}, content_type="application/json")
    assert first.status_code == 200 and first.json()["stored"] == 3
    assert client.post(url, {"points": points}, content_type="application/json").json()["stored"] == 0
    bad = client.post(url, {"points": [{"recorded_at": "x", "longitude": 200, "latitude": 0}]},
                      content_type="application/json")
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"
    refused = client_for(chain.generator_admin).post(url, {"points": points}, content_type="application/json")
    assert refused.status_code == 403
    track = client_for(chain.generator_admin).get(f"/api/v1/manifests/{m.pk}/track").json()
    assert len(track["legs"][0]["points"]) == 3
    assert TrackPoint.objects.count() == 3


def test_track_csv_import_all_or_nothing(chain):
    m = manifest(chain, status="in_transit")
    good = f"manifest,leg,recorded_at,longitude,latitude\n{m.number},1,{NOW.isoformat()},106.5,29.5\n"
    bad = good + f"{m.number},1,not-a-time,106.5,29.5\n99999999999999,1,{NOW.isoformat()},1,1\n"
    with pytest.raises(ValidationFailed) as error:
        tracks.import_points(scope=chain.scopes["transporter_admin"], content=bad.encode())
    assert {e["row"] for e in error.value.errors} == {3, 4}
    assert TrackPoint.objects.count() == 0
    result = tracks.import_points(scope=chain.scopes["transporter_admin"], content=good.encode())
    assert result == {"received": 1, "stored": 1, "legs": 1}


def test_pages_board_detail_rules_and_the_track_map(chain, alert, client_for, regulator_of):
    from django.template import Context, Template
    from django.test import RequestFactory

    m = manifest(chain, status="in_transit")
    TrackPoint.objects.create(leg=m.legs.get(), recorded_at=NOW, longitude=Decimal("106.5"),
                              latitude=Decimal("29.5"))
    regulator = client_for(regulator_of(chain.transporter.region_id))
    board = regulator.get("/alerts/?level=orange")
    assert board.status_code == 200 and 'data-testid="alert-map"' in board.content.decode()
    detail = regulator.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'data-testid="action-verify"' in detail and "45" in detail
    response = regulator.post(f"/alerts/{alert.pk}/act/", {"action": "verify", "version": alert.version})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "verifying"
    assert regulator.get("/alerts/rules/").status_code == 200
    carrier_page = client_for(chain.transporter_admin).get("/alerts/").content.decode()
    assert str(alert.entity_label) in carrier_page
    request = RequestFactory().get("/")
    request.user = chain.generator_admin
    html = Template("{% load alerts %}{% track_map manifest %}").render(Context({"request": request,
                                                                                 "manifest": m}))
    assert "<polyline" in html and 'data-testid="track-map"' in html
    assert AuditEvent.objects.filter(entity_type="alerts.alert", action="verify").exists()
