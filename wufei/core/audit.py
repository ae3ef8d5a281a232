"""The audit chain: every state change is an event linked to the previous one by SHA-256.

hash(n) = SHA-256(prev_hash(n) + canonical JSON of event n's content), with
prev_hash(n) = hash(n-1). Altering, inserting or deleting any stored event breaks
the chain at that point; `verify_chain()` names the first broken link.
"""

import contextlib
import contextvars
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

GENESIS_HASH = "0" * 64

_actor: contextvars.ContextVar = contextvars.ContextVar("wufei_actor", default=None)


@contextlib.contextmanager
def acting_as(user_or_label):
    """Attribute events written inside the block to a user (or a system label such as 'import')."""
    token = _actor.set(user_or_label)
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(user_or_label):
    return _actor.set(user_or_label)


def reset_actor(token):
    _actor.reset(token)


def current_actor():
    return _actor.get()


def _actor_fields():
    actor = _actor.get()
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    if getattr(actor, "is_authenticated", False):
        return actor.pk, actor.get_username()
    return None, "anonymous"


def _plain(value):
    """JSON-safe, database-independent form of a field value (Decimals as strings)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def snapshot(instance) -> dict:
    """Field values of a row as loaded; fields left out of the query (.only/.defer) are not fetched."""
    deferred = instance.get_deferred_fields()
    return {
        field.attname: _plain(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if field.attname not in ("created_at", "updated_at") and field.attname not in deferred
    }


def diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v and k != "version"}


def entity_type_of(instance) -> str:
    return instance._meta.label_lower


def canonical(event_fields: dict) -> str:
    return json.dumps(event_fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compute_hash(prev_hash: str, *, created_at, entity_type, entity_id, action, actor_id, actor_label, payload) -> str:
    content = canonical(
        {
            "created_at": created_at.isoformat(timespec="microseconds"),
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "action": action,
            "actor_id": actor_id,
            "actor_label": actor_label,
            "payload": payload,
        }
    )
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def lock_chain() -> None:
    """Take the chain's head lock now, inside the caller's transaction (held until it ends).

    For a transaction that will append many events and touch rows another writer may touch too: taking the
    head first makes concurrent writers queue at its start instead of deadlocking half-way."""
    from wufei.core.models import AuditChainHead

    AuditChainHead.objects.select_for_update().get_or_create(pk=1)


def record(*, entity, action: str, payload: dict | None = None):
    """Append one event for `entity` (a model instance) inside the caller's transaction."""
    return record_raw(entity_type=entity_type_of(entity), entity_id=entity.pk, action=action, payload=payload)


def record_raw(*, entity_type: str, entity_id, action: str, payload: dict | None = None):
    from wufei.core.models import AuditChainHead, AuditEvent

    payload = _plain(payload or {})
    actor_id, actor_label = _actor_fields()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        created_at = timezone.now()
        digest = compute_hash(
            head.last_hash,
            created_at=created_at,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            actor_id=actor_id,
            actor_label=actor_label,
            payload=payload,
        )
        event = AuditEvent.objects.create(
            created_at=created_at,
            entity_type=entity_type,
            entity_id=str(entity_id),
            action=action,
            actor_id=actor_id,
            actor_label=actor_label,
            payload=payload,
            prev_hash=head.last_hash,
            hash=digest,
        )
        head.last_event_id = event.pk
        head.last_hash = digest
        head.length += 1
        head.save()
    return event


def record_many(entries) -> None:
    """Append one event per (entity, action, payload) in order, as `record` would one at a time.

    For jobs that change many rows at once: one lock of the chain head and one INSERT instead of
    three statements per event. The links are the same as record's (same content, same hashes).
    """
    from wufei.core.models import AuditChainHead, AuditEvent

    entries = list(entries)
    if not entries:
        return
    actor_id, actor_label = _actor_fields()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        previous = head.last_hash
        events = []
        for entity, action, payload in entries:
            payload = _plain(payload or {})
            created_at = timezone.now()
            fields = {"created_at": created_at, "entity_type": entity_type_of(entity), "entity_id": str(entity.pk),
                      "action": action, "actor_id": actor_id, "actor_label": actor_label, "payload": payload}
            digest = compute_hash(previous, **fields)
            events.append(AuditEvent(**fields, prev_hash=previous, hash=digest))
            previous = digest
        AuditEvent.objects.bulk_create(events)  # in order: ids increase along the chain
        last = events[-1]
        head.last_event_id = last.pk or AuditEvent.objects.get(hash=last.hash).pk
        head.last_hash = previous
        head.length += len(events)
        head.save()


@dataclass
class ChainReport:
    ok: bool
    checked: int
    broken_event_id: int | None = None
    reason: str = ""


def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Recompute every link in order; stop at the first one that does not hold."""
    from wufei.core.models import AuditChainHead, AuditEvent

    prev_hash = GENESIS_HASH
    checked = 0
    last_id = 0
    queryset = AuditEvent.objects.order_by("id")
    while True:
        batch = list(queryset.filter(id__gt=last_id)[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.prev_hash != prev_hash:
                return ChainReport(False, checked, event.pk, "previous hash does not match the event before it")
            expected = compute_hash(
                prev_hash,
                created_at=event.created_at,
                entity_type=event.entity_type,
                entity_id=event.entity_id,
                action=event.action,
                actor_id=event.actor_id,
                actor_label=event.actor_label,
                payload=event.payload,
            )
            if expected != event.hash:
                return ChainReport(False, checked, event.pk, "content does not match its hash")
            prev_hash = event.hash
            last_id = event.pk
            checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head and (head.last_hash != prev_hash or head.length != checked):
        return ChainReport(False, checked, head.last_event_id, "events are missing after the last stored one")
    return ChainReport(True, checked)


def history(instance):
    from wufei.core.models import AuditEvent

    return AuditEvent.objects.filter(entity_type=entity_type_of(instance), entity_id=str(instance.pk))
