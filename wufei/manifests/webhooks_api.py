"""Webhooks API: an organization's administrators register addresses told about its manifests.

Thin: parse, call `wufei.manifests.webhooks` with the caller's scope, shape the answer.
"""

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from wufei.core.api import scope_of
from wufei.core.inputs import Id
from wufei.manifests import webhooks

router = Router(tags=["webhooks"])


class WebhookIn(Schema):
    organization_id: Id
    url: str


class WebhookOut(Schema):
    id: int
    organization_id: int
    url: str
    is_active: bool
    consecutive_failures: int
    disabled_reason: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_disabled_reason(obj):
        return _(obj.disabled_reason) if obj.disabled_reason else ""


class DeliveryOut(Schema):
    id: int
    subject_type: str
    subject_id: int
    manifest_id: int | None
    action: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime

    @staticmethod
    def resolve_manifest_id(obj):
        return obj.subject_id if obj.subject_type == "manifest" else None


@router.post("/webhooks", response={201: WebhookOut})
def create_webhook(request, payload: WebhookIn):
    """Register an http(s) address for an organization (its administrators only).

    Each change of one of its manifests is POSTed as `{"id", "action", "delivery"}`; the
    receiver reads the manifest through this API with its own credentials.
    """
    webhook = webhooks.create_webhook(scope=scope_of(request), **payload.model_dump())
    return Status(201, webhook)


@router.get("/webhooks", response=list[WebhookOut])
def list_webhooks(request, organization: Id | None = None):
    return list(webhooks.webhooks_for(scope_of(request), organization=organization))


@router.delete("/webhooks/{webhook_id}", response={204: None})
def delete_webhook(request, webhook_id: Id):
    webhooks.delete_webhook(scope=scope_of(request), webhook_id=webhook_id)
    return Status(204, None)


@router.post("/webhooks/{webhook_id}/enable", response=WebhookOut)
def enable_webhook(request, webhook_id: Id):
    """Switch a webhook on again after repeated failures switched it off; the failure count restarts."""
    return webhooks.enable_webhook(scope=scope_of(request), webhook_id=webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries", response=list[DeliveryOut])
def list_deliveries(request, webhook_id: Id):
    """The latest 100 deliveries, newest first."""
    return webhooks.deliveries_of(scope_of(request), webhook_id)
