"""Alerts: selectors narrowed to the caller's scope, the verify -> rectify -> close loop, comments and
attachments, notifications (in the app and through the organization's webhooks), rule settings.

Who does what. The regulators of an alert's region run the loop (verify, ask for rectification,
close, mark a false positive, assign, set the deadline); the organization the alert is about sees
it, comments and uploads its rectification; everyone who sees it may comment. Each change is one
audited save of the alert (its history) and a notification.
"""

import datetime as dt
import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from wufei.alerts.models import (
    ACTIVE,
    Alert,
    AlertAttachment,
    AlertComment,
    Level,
    Notification,
    Rule,
    RuleOverride,
    Status,
)
from wufei.alerts.rules import BY_ID
from wufei.core import audit, files
from wufei.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, field_error
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope, scope_for

log = logging.getLogger(__name__)
ADMIN = Scope(is_platform_admin=True)
CLEARED = gettext_noop("the condition cleared")  # the resolution of an alert that closed itself

# action -> (from statuses, to status, who: "regulator" | "party")
TRANSITIONS = {
    "verify": ((Status.OPEN,), Status.VERIFYING, "regulator"),
    "rectify": ((Status.OPEN, Status.VERIFYING), Status.RECTIFYING, "regulator"),
    "close": ((Status.VERIFYING, Status.RECTIFYING), Status.CLOSED, "regulator"),
    "false_positive": ((Status.OPEN, Status.VERIFYING), Status.FALSE_POSITIVE, "regulator"),
    "reopen": ((Status.CLOSED,), Status.RECTIFYING, "regulator"),
}


# --- reading -------------------------------------------------------------------------------------------

def alerts_for(scope: Scope, *, status: str | None = None, level: str | None = None, rule: str | None = None,
               region: str | None = None, organization: int | None = None, entity_type: str | None = None,
               entity_id: str | None = None, active: bool | None = None, q: str | None = None):
    alerts = Alert.objects.visible_to(scope).select_related("rule", "organization", "region", "assignee")
    if status:
        if status not in Status.values:
            raise ValidationFailed(_("unknown status"), errors=[field_error("status", status)])
        alerts = alerts.filter(status=status)
    if active is not None:
        alerts = alerts.filter(status__in=ACTIVE) if active else alerts.exclude(status__in=ACTIVE)
    if level:
        if level not in Level.values:
            raise ValidationFailed(_("unknown level"), errors=[field_error("level", level)])
        alerts = alerts.filter(level=level)
    if rule:
        alerts = alerts.filter(rule_id=rule)
    if region:
        alerts = alerts.filter(region_path__contains=f"/{region}/")
    if organization:
        alerts = alerts.filter(organization_id=organization)
    if entity_type:
        alerts = alerts.filter(entity_type=entity_type)
    if entity_id:
        alerts = alerts.filter(entity_id=entity_id)
    if q:
        alerts = alerts.filter(Q(entity_label__contains=q.strip()) | Q(organization__name__contains=q.strip()))
    return alerts


def get_alert(scope: Scope, alert_id: int) -> Alert:
    alert = alerts_for(scope).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(_("alert %(id)s not found") % {"id": alert_id})
    return alert


def history(alert: Alert) -> list[dict]:
    """The alert's audited changes, oldest first: action, time, actor and the changed fields."""
    return [{"action": e.action, "at": e.created_at, "actor": e.actor_label, "payload": e.payload}
            for e in audit.history(alert)]


def is_regulator_of(scope: Scope, alert: Alert) -> bool:
    return scope.covers_region_path(alert.region_path)


def _check_assignee(alert: Alert, assignee_id: int | None) -> None:
    """An alert is handed to an active regulator of its region (as a case is), never to an unknown account."""
    if assignee_id is None:
        return
    user = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
    if user is None or not is_regulator_of(scope_for(user), alert):
        raise ValidationFailed(_("the assignee must be a regulator of the alert's region"),
                               errors=[field_error("assignee_id", _("not a regulator of this region"))])


def is_party_of(scope: Scope, alert: Alert) -> bool:
    return alert.organization_id is not None and alert.organization_id in scope.writable_organization_ids


def available_actions(scope: Scope, alert: Alert) -> list[str]:
    actions = []
    if is_regulator_of(scope, alert):
        actions = [name for name, (before, _to, _who) in TRANSITIONS.items() if alert.status in before]
    if alert.status == Status.RECTIFYING and (is_party_of(scope, alert) or is_regulator_of(scope, alert)):
        actions.append("upload")
    return actions


def statistics(scope: Scope, *, since: dt.datetime | None = None, **filters) -> dict:
    """Counts of open alerts by level, rule and region; closure rate and mean time to close."""
    alerts = alerts_for(scope, **filters)
    if since is not None:
        alerts = alerts.filter(opened_at__gte=since)
    open_alerts = alerts.filter(status__in=ACTIVE)
    by = {name: {row[field]: row["n"] for row in open_alerts.values(field).annotate(n=Count("id")).order_by(field)}
          for name, field in (("level", "level"), ("rule", "rule_id"), ("region", "region_id"))}
    totals = {row["status"]: row["n"] for row in alerts.values("status").annotate(n=Count("id")).order_by()}
    total = sum(totals.values())
    closed = totals.get(Status.CLOSED, 0) + totals.get(Status.FALSE_POSITIVE, 0)
    mean = alerts.filter(status=Status.CLOSED, closed_at__isnull=False).aggregate(t=Avg(ExpressionWrapper(
        F("closed_at") - F("opened_at"), output_field=DurationField())))["t"]
    overdue = open_alerts.filter(deadline__lt=timezone.localdate()).count()
    return {"total": total, "by_status": totals, "open": sum(by["level"].values()), "by_level": by["level"],
            "by_rule": by["rule"], "by_region": by["region"], "overdue": overdue,
            "closure_rate": round(closed * 100 / total, 1) if total else None,
            "mean_hours_to_close": round(mean.total_seconds() / 3600, 1) if mean else None}


# --- the loop ------------------------------------------------------------------------------------------

def _locked(scope: Scope, alert_id: int, version: int | None) -> Alert:
    get_alert(scope, alert_id)  # NotFound when invisible
    alert = lock_rows(Alert.objects).select_related("rule").get(pk=alert_id)
    if version is not None and alert.version != version:
        raise Conflict(_("the alert was changed meanwhile (version %(now)s, you saw %(seen)s): reload it")
                       % {"now": alert.version, "seen": version}, code="stale_version")
    return alert


def _comment(alert: Alert, scope: Scope, action: str, text: str) -> AlertComment:
    from django.contrib.auth import get_user_model

    author = get_user_model().objects.filter(pk=scope.user_id).first() if scope.user_id else None
    comment = AlertComment(alert=alert, author=author, author_label=scope.username or "system", action=action,
                           text=text)
    comment.save()
    return comment


@transaction.atomic
def transition(*, scope: Scope, alert_id: int, action: str, version: int | None, comment: str = "",
               deadline: dt.date | None = None, assignee_id: int | None = None) -> Alert:
    if action not in TRANSITIONS:
        raise ValidationFailed(_("unknown action"), errors=[field_error("action", action)])
    alert = _locked(scope, alert_id, version)
    before, after, _who = TRANSITIONS[action]
    if not is_regulator_of(scope, alert):
        raise PermissionDenied(_("only a regulator of the alert's region can do this"))
    if alert.status not in before:
        raise Conflict(_("the alert is %(status)s: it cannot be %(action)s now")
                       % {"status": alert.get_status_display(), "action": action}, code="invalid_transition")
    if action == "reopen":
        newer = Alert.objects.filter(rule_id=alert.rule_id, entity_type=alert.entity_type, entity_id=alert.entity_id,
                                     status__in=ACTIVE).exclude(pk=alert.pk).first()
        if newer is not None:
            raise Conflict(_("a newer alert about the same is open (No. %(id)s): handle that one")
                           % {"id": newer.pk}, code="invalid_transition")
    _check_assignee(alert, assignee_id)
    comment = (comment or "").strip()
    if action in ("close", "false_positive", "reopen") and not comment:
        raise ValidationFailed(_("give the reason"), errors=[field_error("comment", _("is required"))])
    alert.status = after
    if deadline is not None:
        alert.deadline = deadline
    if assignee_id is not None:
        alert.assignee_id = assignee_id
    if after in (Status.CLOSED, Status.FALSE_POSITIVE):
        alert.closed_at = timezone.now()
        alert.resolution, alert.closed_by_system = comment[:1000], False
    elif action == "reopen":
        alert.closed_at, alert.resolution, alert.closed_by_system = None, "", False
    alert.save(audit_action=action, audit_note=comment[:300])
    _comment(alert, scope, action, comment)
    notify(alert, action)
    return alert


@transaction.atomic
def assign(*, scope: Scope, alert_id: int, version: int | None, assignee_id: int | None = None,
           deadline: dt.date | None = None) -> Alert:
    alert = _locked(scope, alert_id, version)
    if not is_regulator_of(scope, alert):
        raise PermissionDenied(_("only a regulator of the alert's region can do this"))
    _check_assignee(alert, assignee_id)
    alert.assignee_id, alert.deadline = assignee_id, deadline or alert.deadline
    alert.save(audit_action="assigned")
    return alert


@transaction.atomic
def add_comment(*, scope: Scope, alert_id: int, text: str) -> AlertComment:
    alert = get_alert(scope, alert_id)
    if not (is_regulator_of(scope, alert) or is_party_of(scope, alert)):
        raise PermissionDenied(_("only the organization concerned or its regulator can comment"))
    if not (text or "").strip():
        raise ValidationFailed(_("the comment is empty"), errors=[field_error("text", _("is required"))])
    comment = _comment(alert, scope, "comment", text.strip()[:5000])
    notify(alert, "comment")
    return comment


@transaction.atomic
def upload_rectification(*, scope: Scope, alert_id: int, file, note: str = "") -> AlertAttachment:
    """The organization (or the regulator) attaches evidence of rectification to an alert being rectified."""
    alert = get_alert(scope, alert_id)
    if not (is_party_of(scope, alert) or is_regulator_of(scope, alert)):
        raise PermissionDenied(_("only the organization concerned or its regulator can upload"))
    if alert.status != Status.RECTIFYING:
        raise Conflict(_("rectification is uploaded while the alert is being rectified"),
                       code="invalid_transition")
    name, sha256 = files.checked_attachment(file)
    from django.contrib.auth import get_user_model

    attachment = AlertAttachment(alert=alert, name=name, size=file.size, note=(note or "")[:300],
                                 sha256=sha256,
                                 uploaded_by=get_user_model().objects.filter(pk=scope.user_id).first())
    attachment.file.save(name, file, save=False)
    attachment.save()
    audit.record(entity=alert, action="attachment_added", payload={
        "attachment": attachment.pk, "name": name, "size": attachment.size, "sha256": attachment.sha256})
    _comment(alert, scope, "upload", note or name)
    notify(alert, "upload")
    return attachment


def close_by_system(*, alert: Alert, now, announce: bool = True) -> Alert:
    alert.status, alert.closed_at, alert.cleared_at = Status.CLOSED, now, alert.cleared_at or now
    alert.resolution, alert.closed_by_system = CLEARED, True
    alert.save(audit_action="auto_closed", audit_note=CLEARED)
    if announce:
        notify(alert, "auto_closed")
    return alert


# --- notifications -------------------------------------------------------------------------------------

def notifications_for(scope: Scope, *, unread: bool | None = None):
    notes = Notification.objects.visible_to(scope).select_related("alert", "alert__rule")
    if unread is not None:
        notes = notes.filter(read_at__isnull=unread)
    return notes


def mark_read(*, scope: Scope, ids: list[int] | None = None) -> int:
    notes = notifications_for(scope, unread=True)
    if ids is not None:
        notes = notes.filter(pk__in=ids)
    return Notification.objects.filter(pk__in=list(notes.values_list("pk", flat=True))).update(
        read_at=timezone.now())


def notify(alert: Alert, action: str) -> None:
    notify_many([alert], action)


def notify_opened(alerts: list[Alert]) -> None:
    notify_many(alerts, "opened")


def notify_many(alerts: list[Alert], action: str) -> None:
    """In-app notices for the organization and the region's regulators; webhook deliveries for the organization
    (the manifests app's webhooks, one delivery table for every subject, sent by the queue after the commit)."""
    from wufei.manifests.webhooks import enqueue_events

    notes = []
    for alert in alerts:
        notes.append(Notification(alert=alert, region_path=alert.region_path, action=action))
        if alert.organization_id:
            notes.append(Notification(alert=alert, organization_id=alert.organization_id, action=action))
    Notification.objects.bulk_create(notes, batch_size=1000)
    enqueue_events([(alert.organization_id, "alert", alert.pk, action,
                     {"type": "alert", "alert": alert.pk, "action": action, "rule": alert.rule_id,
                      "level": alert.level}) for alert in alerts if alert.organization_id])


# --- rule settings -------------------------------------------------------------------------------------

def rules_for(scope: Scope):
    return Rule.objects.visible_to(scope).prefetch_related("overrides")


@transaction.atomic
def update_rule(*, scope: Scope, rule_id: str, version: int | None, level: str | None = None,
                parameters: dict | None = None, enabled: bool | None = None, auto_close: bool | None = None) -> Rule:
    """Platform administrators change a rule's defaults (regulators override them for their region)."""
    rule = Rule.objects.visible_to(scope).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("rule %(id)s not found") % {"id": rule_id})
    if not Rule.objects.editable_by(scope).filter(pk=rule_id).exists():
        raise PermissionDenied(_("only platform administrators change a rule's defaults"))
    rule = lock_rows(Rule.objects).get(pk=rule_id)
    if version is not None and rule.version != version:
        raise Conflict(_("the rule was changed meanwhile: reload it"), code="stale_version")
    _check_rule_values(rule_id, level, parameters)
    if level:
        rule.level = level
    if parameters is not None:
        rule.parameters = {**rule.parameters, **parameters}
    if enabled is not None:
        rule.enabled = enabled
    if auto_close is not None:
        rule.auto_close = auto_close
    rule.save()
    return rule


def _check_rule_values(rule_id: str, level, parameters) -> None:

    if level and level not in Level.values:
        raise ValidationFailed(_("unknown level"), errors=[field_error("level", level)])
    known = set(BY_ID[rule_id].defaults) | {"deadline_days"} if rule_id in BY_ID else set()
    unknown = sorted(set(parameters or {}) - known)
    if unknown:
        raise ValidationFailed(_("unknown parameter"), errors=[field_error("parameters", ", ".join(unknown))])


@transaction.atomic
def set_override(*, scope: Scope, rule_id: str, region_code: str, level: str = "", parameters: dict | None = None,
                 enabled: bool | None = None, reason: str = "") -> RuleOverride:
    """A regulator sets the rule's level, parameters or switch for its region subtree."""
    from wufei.catalog.services import get_region

    rule = Rule.objects.visible_to(scope).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("rule %(id)s not found") % {"id": rule_id})
    region = get_region(region_code)
    if not scope.covers_region_path(region.path):
        raise PermissionDenied(_("only a regulator of region %(code)s can do this") % {"code": region.code})
    _check_rule_values(rule_id, level, parameters)
    override = RuleOverride.objects.filter(rule=rule, region=region).first() or RuleOverride(rule=rule, region=region)
    override.level, override.parameters = level or "", parameters or {}
    override.enabled, override.reason = enabled, (reason or "")[:300]
    override.save()
    return override
