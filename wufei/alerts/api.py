"""Alerts API: the board's list and statistics, an alert with its evidence and history, the loop's
actions, comments and rectification uploads, rule settings, notifications, vehicle tracks.

Thin: parse, call `wufei.alerts.services` / `tracks` with the caller's scope, shape the answer.
"""


from django.http import FileResponse
from ninja import File, Router, Status, UploadedFile

from wufei.alerts import services, tracks
from wufei.alerts.models import AlertAttachment
from wufei.alerts.schemas import (
    AlertAssignIn,
    AlertDetailOut,
    AlertPage,
    AttachmentOut,
    CommentIn,
    CommentOut,
    NotificationOut,
    OverrideIn,
    OverrideOut,
    PointsIn,
    PointsResult,
    ReadIn,
    RuleIn,
    RuleOut,
    StatsOut,
    TrackOut,
    TransitionIn,
)
from wufei.core import spreadsheets
from wufei.core.api import page, scope_of
from wufei.core.errors import NotFound
from wufei.core.inputs import Id, Since

router = Router(tags=["alerts"])


def detail(scope, alert_id: int):
    """The alert as the caller sees it now, with its comments, attachments, history and the caller's actions."""
    alert = services.get_alert(scope, alert_id)
    alert.history = services.history(alert)
    alert.actions = services.available_actions(scope, alert)
    return alert


@router.get("/alerts", response=AlertPage)
def list_alerts(request, status: str | None = None, level: str | None = None, rule: str | None = None,
                region: str | None = None, organization: Id | None = None, entity_type: str | None = None,
                entity_id: str | None = None, active: bool | None = None, q: str | None = None,
                cursor: str | None = None, limit: int = 50, updated_after: Since | None = None):
    """Alerts the caller sees: about its own organizations, or in its regions (regulators)."""
    alerts = services.alerts_for(scope_of(request), status=status, level=level, rule=rule, region=region,
                                 organization=organization, entity_type=entity_type, entity_id=entity_id,
                                 active=active, q=q)
    items, next_cursor = page(alerts, cursor=cursor, limit=limit, updated_after=updated_after)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/alerts/stats", response=StatsOut)
def alert_stats(request, level: str | None = None, rule: str | None = None, region: str | None = None,
                since: Since | None = None):
    """Open alerts by level, rule and region; closure rate (%) and mean hours to close."""
    return services.statistics(scope_of(request), since=since, level=level, rule=rule, region=region)


@router.get("/alerts/{alert_id}", response=AlertDetailOut)
def get_alert(request, alert_id: Id):
    return detail(scope_of(request), alert_id)


@router.post("/alerts/{alert_id}/actions/{action}", response=AlertDetailOut)
def act(request, alert_id: Id, action: str, payload: TransitionIn):
    """verify, rectify, close, false_positive, reopen (regulators of the alert's region; send the version)."""
    scope = scope_of(request)
    services.transition(scope=scope, alert_id=alert_id, action=action, **payload.model_dump())
    return detail(scope, alert_id)


@router.post("/alerts/{alert_id}/assign", response=AlertDetailOut)
def assign(request, alert_id: Id, payload: AlertAssignIn):
    scope = scope_of(request)
    services.assign(scope=scope, alert_id=alert_id, **payload.model_dump())
    return detail(scope, alert_id)


@router.post("/alerts/{alert_id}/comments", response={201: CommentOut})
def add_comment(request, alert_id: Id, payload: CommentIn):
    return Status(201, services.add_comment(scope=scope_of(request), alert_id=alert_id, text=payload.text))


@router.post("/alerts/{alert_id}/attachments", response={201: AttachmentOut})
def upload(request, alert_id: Id, file: UploadedFile = File(...), note: str = ""):
    """Rectification evidence (pdf, images, office files, zip; 20 MB at most) while the alert is rectifying."""
    attachment = services.upload_rectification(scope=scope_of(request), alert_id=alert_id, file=file, note=note)
    return Status(201, attachment)


@router.get("/alerts/{alert_id}/attachments/{attachment_id}")
def download(request, alert_id: Id, attachment_id: Id):
    alert = services.get_alert(scope_of(request), alert_id)
    attachment = AlertAttachment.objects.filter(alert=alert, pk=attachment_id).first()
    if attachment is None:
        raise NotFound("attachment not found")
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)


@router.get("/alert-rules", response=list[RuleOut])
def list_rules(request):
    return list(services.rules_for(scope_of(request)))


@router.patch("/alert-rules/{rule_id}", response=RuleOut)
def update_rule(request, rule_id: str, payload: RuleIn):
    return services.update_rule(scope=scope_of(request), rule_id=rule_id, **payload.model_dump())


@router.put("/alert-rules/{rule_id}/overrides/{region_code}", response=OverrideOut)
def set_override(request, rule_id: str, region_code: str, payload: OverrideIn):
    """A regulator's level, parameters or switch for its region subtree (the most specific region wins)."""
    return services.set_override(scope=scope_of(request), rule_id=rule_id, region_code=region_code,
                                 **payload.model_dump())


@router.get("/alert-notifications", response=list[NotificationOut])
def list_notifications(request, unread: bool | None = None, limit: int = 50):
    return list(services.notifications_for(scope_of(request), unread=unread)[: max(1, min(limit, 500))])


@router.post("/alert-notifications/read", response=dict)
def read_notifications(request, payload: ReadIn):
    return {"marked": services.mark_read(scope=scope_of(request), ids=payload.ids)}


@router.post("/manifests/{manifest_id}/legs/{position}/track", response=PointsResult)
def send_track(request, manifest_id: Id, position: Id, payload: PointsIn):
    """GPS points of a leg (the carrier); points already stored for the same time are skipped."""
    points = [p.model_dump() for p in payload.points]
    return tracks.record_points(scope=scope_of(request), manifest_id=manifest_id, position=position, points=points)


@router.get("/manifests/{manifest_id}/track", response=TrackOut)
def get_track(request, manifest_id: Id):
    track = tracks.track_of(scope_of(request), manifest_id)
    return {**track, "manifest_id": track["manifest"].pk}


@router.post("/tracks/import", response=PointsResult)
def import_tracks(request, file: UploadedFile = File(...)):
    """A CSV with columns manifest, leg, recorded_at, longitude, latitude[, speed_kmh]; all or nothing."""
    scope = scope_of(request)
    tracks.check_import_caller(scope)  # before anything of the file is read
    content = spreadsheets.read_upload(file, spreadsheets.limits_for(scope))
    return tracks.import_points(scope=scope, content=content, filename=file.name or "points.csv")
