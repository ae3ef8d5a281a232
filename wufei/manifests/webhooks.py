"""Webhooks: tell an organization's endpoint that one of its manifests changed.

An organization's administrators register http(s) addresses. Each state change of a manifest
calls `enqueue(manifest, action)` inside the manifest's transaction: one pending delivery per
active webhook of every party (generator, receiver, each leg's transporter); other apps queue
their own subjects the same way (`enqueue_events`: the alerts). One delivery table serves all
subjects (`WebhookDelivery.subject_type` / `subject_id` / `payload`). After the transaction
commits, a queue job sends them (`webhooks.send` in manifests/tasks.py); the periodic
`webhooks.deliver` job (and `wufei webhooks deliver`) sends whatever is still due. Nothing is
ever sent inside the transaction that signed the manifest, so a slow or dead endpoint can
neither hold the signature's locks nor announce a change that was rolled back.

A delivery is one POST of JSON: its payload (a manifest's: `{"id": manifest_id, "action": action}`; an
alert's: `{"type": "alert", "alert": id, "action", "rule", "level"}`) and `"delivery": delivery_id`
(`Content-Type: application/json`, `User-Agent: wufei-webhooks/1`, 5 s timeout, redirects not
followed). Only public addresses are called (`wufei.core.outbound`): checked when the address is
registered and again before each send, connecting to the address just checked; a refused address or
a failed connection is a failed attempt whose `last_error` says only that (the log has the detail).
A 2xx answer delivers it; anything else schedules a retry after 1 min, 5 min,
30 min, 2 h (then 6 h if MAX_ATTEMPTS is raised) and fails it after MAX_ATTEMPTS attempts.
A webhook counts its consecutive failed attempts (a success resets the count); at
SWITCH_OFF_AFTER it is switched off and its pending deliveries fail, until an administrator
enables it again.

No shared secret or signature is needed: the payload carries only ids, and the receiver
fetches the manifest through the authenticated API, which applies the receiver's own scope.
A forged call can at worst make a receiver fetch something it may already read. Delivery is
at least once (a deliverer that dies between sending and recording may send again after the
lease), so receivers should treat the `delivery` id as idempotency key.

Two deliverers never send the same delivery twice: each delivery is claimed by a conditional
UPDATE (still pending, due, webhook active) that moves `next_attempt_at` a lease into the
future, in its own transaction, before it is sent.
"""

import datetime as dt
import logging
import urllib.parse

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from wufei.core import audit, outbound
from wufei.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, field_error
from wufei.core.jobs import enqueue_on_commit
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope
from wufei.manifests.models import TransportLeg, Webhook, WebhookDelivery
from wufei.registry.services import get_organization

log = logging.getLogger(__name__)

BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=2),
           dt.timedelta(hours=6))
MAX_ATTEMPTS = 5
SWITCH_OFF_AFTER = 10
TIMEOUT = 5  # seconds, per HTTP request
LEASE = dt.timedelta(minutes=15)  # a claimed delivery is left alone this long by other deliverers
USER_AGENT = "wufei-webhooks/1"
URL_MAX_LENGTH = 500
SWITCHED_OFF = gettext_noop("switched off after repeated failed deliveries")
DELIVERIES_SHOWN = 100

Status = WebhookDelivery.Status


# --- managing webhooks -----------------------------------------------------------------------

def webhooks_for(scope: Scope, *, organization: int | None = None):
    """Webhooks the caller may see (members of the organization, platform administrators)."""
    webhooks = Webhook.objects.visible_to(scope)
    if organization:
        webhooks = webhooks.filter(organization_id=organization)
    return webhooks.order_by("pk")


def get_webhook(scope: Scope, webhook_id: int, *, for_update: bool = False) -> Webhook:
    """The webhook if the caller may see it (manage it, with for_update); NotFound if invisible."""
    webhook = Webhook.objects.visible_to(scope).filter(pk=webhook_id).first()
    if webhook is None:
        raise NotFound(_("webhook not found"))
    if for_update and not Webhook.objects.editable_by(scope).filter(pk=webhook_id).exists():
        raise PermissionDenied(_("only an administrator of the organization may manage its webhooks"))
    return webhook


def clean_url(url: str) -> str:
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or len(url) > URL_MAX_LENGTH \
            or any(ch.isspace() for ch in url):
        message = _("the address must be an http:// or https:// address with a host name")
        raise ValidationFailed(message, errors=[field_error("url", message)])
    try:
        outbound.check_url(url)
    except outbound.Refused as exc:
        log.info("webhook address refused: %s", exc)
        message = _("the address must be on the public internet: loopback, private, link-local and cloud "
                    "metadata addresses are not called")
        raise ValidationFailed(message, code="webhook_address_not_allowed",
                               errors=[field_error("url", message)]) from exc
    return url


def create_webhook(*, scope: Scope, organization_id: int, url: str) -> Webhook:
    """Register an address for an organization; its administrators (or platform administrators) only."""
    organization = get_organization(scope, organization_id)
    if not scope.is_platform_admin and organization.pk not in scope.admin_organization_ids:
        raise PermissionDenied(_("only an administrator of the organization may manage its webhooks"))
    url = clean_url(url)
    with transaction.atomic():
        if Webhook.objects.filter(organization=organization, url=url).exists():
            raise Conflict(_("this address is already registered for the organization"), code="webhook_exists")
        webhook = Webhook(organization=organization, url=url)
        webhook.save()
    return webhook


def delete_webhook(*, scope: Scope, webhook_id: int) -> None:
    with transaction.atomic():
        webhook = get_webhook(scope, webhook_id, for_update=True)
        webhook.delete()


def enable_webhook(*, scope: Scope, webhook_id: int) -> Webhook:
    """Switch a webhook on again (after it was switched off); its failure count starts from zero."""
    with transaction.atomic():
        get_webhook(scope, webhook_id, for_update=True)
        webhook = lock_rows(Webhook.objects).get(pk=webhook_id)
        webhook.is_active = True
        webhook.consecutive_failures = 0
        webhook.disabled_reason = ""
        webhook.save(audit_action="enabled")
    return webhook


def deliveries_of(scope: Scope, webhook_id: int) -> list[WebhookDelivery]:
    """The latest deliveries of a webhook the caller may see, newest first."""
    webhook = get_webhook(scope, webhook_id)
    return list(webhook.deliveries.order_by("-pk")[:DELIVERIES_SHOWN])


# --- enqueueing -------------------------------------------------------------------------------

def enqueue(manifest, action: str) -> int:
    """Queue one delivery per active webhook of each party of the manifest; returns how many.

    Call it inside the manifest's transaction after the state change: the deliveries commit or
    roll back with it, and sending starts only after the commit. One query when no webhook
    applies.
    """
    legs = TransportLeg.objects.filter(manifest_id=manifest.pk).values("transporter_id")
    parties = Q(organization_id__in=[manifest.generator_id, manifest.receiver_id]) | Q(organization_id__in=legs)
    return _enqueue(parties, [("manifest", manifest.pk, action, {"id": manifest.pk, "action": action})])


def enqueue_events(events: list[tuple[int, str, int, str, dict]]) -> int:
    """Queue deliveries of other subjects to their organizations' webhooks, in the caller's transaction:
    [(organization_id, subject_type, subject_id, action, payload), …] (the alerts' changes, for instance)."""
    by_org: dict[int, list] = {}
    for organization_id, subject_type, subject_id, action, payload in events:
        by_org.setdefault(organization_id, []).append((subject_type, subject_id, action, payload))
    hooks = Webhook.objects.filter(is_active=True, organization_id__in=list(by_org)).values_list(
        "pk", "organization_id")
    now = timezone.now()
    deliveries = [WebhookDelivery(webhook_id=pk, subject_type=subject_type, subject_id=subject_id, action=action,
                                  payload=payload, next_attempt_at=now)
                  for pk, organization_id in hooks
                  for subject_type, subject_id, action, payload in by_org[organization_id]]
    return _created(deliveries)


def _enqueue(parties: Q, subjects) -> int:
    webhook_ids = list(Webhook.objects.filter(is_active=True).filter(parties).order_by("pk").values_list(
        "pk", flat=True))
    if not webhook_ids:
        return 0
    now = timezone.now()
    return _created([WebhookDelivery(webhook_id=pk, subject_type=subject_type, subject_id=subject_id,
                                     action=action, payload=payload, next_attempt_at=now)
                     for pk in webhook_ids for subject_type, subject_id, action, payload in subjects])


def _created(deliveries: list[WebhookDelivery]) -> int:
    """Insert the deliveries and queue a job that sends them once the transaction commits."""
    if not deliveries:
        return 0
    created = WebhookDelivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in created if d.pk is not None]
    if len(ids) == len(created):
        enqueue_on_commit("webhooks.send", ids)
    # else (a backend that does not return ids): the periodic `webhooks.deliver` job sends them
    return len(created)


# --- delivering -------------------------------------------------------------------------------

def send(url: str, payload: dict, *, timeout: float | None = None) -> str | None:
    """POST the payload; None when the endpoint answered 2xx, else a short error text that names no port's state."""
    try:
        status = outbound.post_json(url, payload, headers={"User-Agent": USER_AGENT},
                                    timeout=TIMEOUT if timeout is None else timeout)
    except outbound.Refused as exc:
        log.warning("webhook delivery to %s refused: %s", url, exc)
        return exc.reason
    except outbound.ConnectionFailed as exc:
        return str(exc)
    return None if 200 <= status < 300 else f"HTTP {status}"


def _due(now):
    return Q(status=Status.PENDING, next_attempt_at__lte=now, webhook__is_active=True)


def _claim(pk: int, now) -> WebhookDelivery | None:
    """Take one delivery for this deliverer: a conditional update, committed before sending."""
    with transaction.atomic():
        claimed = WebhookDelivery.objects.filter(
            pk=pk, status=Status.PENDING, next_attempt_at__lte=now,
            webhook__in=Webhook.objects.filter(is_active=True).values("pk"),
        ).update(next_attempt_at=now + LEASE)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("webhook").filter(pk=pk).first()  # None if just deleted


def _succeeded(delivery: WebhookDelivery) -> None:
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.DELIVERED, attempts=F("attempts") + 1, last_error="")
        Webhook.objects.filter(pk=delivery.webhook_id).update(consecutive_failures=0)


def _failed(delivery: WebhookDelivery, error: str, now) -> tuple[str, bool]:
    """Record a failed attempt: (the delivery's new status, whether the webhook was switched off)."""
    attempts = delivery.attempts + 1
    status = Status.FAILED if attempts >= MAX_ATTEMPTS else Status.PENDING
    next_attempt_at = now + BACKOFF[min(attempts, len(BACKOFF)) - 1]
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING).update(
            status=status, attempts=attempts, last_error=error[:300], next_attempt_at=next_attempt_at)
        Webhook.objects.filter(pk=delivery.webhook_id).update(consecutive_failures=F("consecutive_failures") + 1)
        webhook = lock_rows(Webhook.objects).filter(pk=delivery.webhook_id).first()
        switched_off = webhook is not None and webhook.is_active \
            and webhook.consecutive_failures >= SWITCH_OFF_AFTER
        if switched_off:
            webhook.is_active = False
            webhook.disabled_reason = SWITCHED_OFF
            with audit.acting_as("webhooks"):
                webhook.save(audit_action="switched_off")
            webhook.deliveries.filter(status=Status.PENDING).update(
                status=Status.FAILED, last_error="webhook switched off")
            status = Status.FAILED
    return status, switched_off


def deliver_due(*, now=None, limit: int = 100, ids=None) -> dict:
    """Send up to `limit` due deliveries (only `ids`, if given); returns counts of what happened.

    `{"sent", "delivered", "retrying", "failed", "switched_off"}`: attempts made, deliveries
    delivered, scheduled again, failed for good, and webhooks switched off.
    """
    now = now or timezone.now()
    result = {"sent": 0, "delivered": 0, "retrying": 0, "failed": 0, "switched_off": 0}
    candidates = WebhookDelivery.objects.filter(_due(now))
    if ids is not None:
        candidates = candidates.filter(pk__in=list(ids))
    for pk in list(candidates.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]):
        delivery = _claim(pk, now)
        if delivery is None:
            continue  # another deliverer took it, or its webhook was switched off meanwhile
        error = send(delivery.webhook.url, {**delivery.body(), "delivery": delivery.pk})
        result["sent"] += 1
        if error is None:
            _succeeded(delivery)
            result["delivered"] += 1
            continue
        status, switched_off = _failed(delivery, error, now)
        result["failed" if status == Status.FAILED else "retrying"] += 1
        result["switched_off"] += int(switched_off)
    return result

