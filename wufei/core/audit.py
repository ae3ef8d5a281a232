"""The audit chain: every state change is an event linked to the previous one by a keyed hash.

hash(n) = HMAC-SHA256(key, prev_hash(n) + canonical JSON of event n's content), with
prev_hash(n) = hash(n-1). Altering, inserting or deleting any stored event breaks the chain at
that point; `verify_chain()` names the first broken link.

The key is not in the database: settings.AUDIT_KEY (env WUFEI_AUDIT_KEY, or WUFEI_AUDIT_KEY_FILE, a
file holding it); when neither is set, HMAC-SHA256(SECRET_KEY, "wufei.audit.chain-key.v1"), so a
distinct key derived from the secret key, never the secret key itself. Someone who can write the
database but does not hold the key cannot recompute the links after a rewritten event. (Changing the
key, or the secret key it is derived from, makes the stored chain unverifiable: set WUFEI_AUDIT_KEY_FILE
once and keep it with the secret key.)

Someone who holds the key as well could rewrite an event and recompute every later link and the
head. Checkpoints catch that: `write_checkpoint()` (the periodic job `core.audit_checkpoint` and
`wufei audit checkpoint`) appends the head — sequence (events so far), last event id, hash, time,
and an HMAC over them — as one JSON line to settings.AUDIT_CHECKPOINTS (env WUFEI_AUDIT_CHECKPOINTS, a
file outside the database, opened for appending only) and writes the same line to the log. Kept on
another machine (log shipping, a copy of the file) they pin the chain as it was: `verify_chain()`
checks that the chain passes through every checkpoint and names the events between the last
checkpoint that holds and the first that does not.

Chains written before the key existed (unkeyed SHA-256) were checked and re-linked with the key by
migration core.0005, which stops if the old chain does not verify.
"""

import contextlib
import contextvars
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import os
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from wufei.core import bulk
from wufei.core.chain import GENESIS_HASH, AuditChainHead, AuditEvent
from wufei.core.locks import lock_rows

KEY_DERIVATION_SALT = b"wufei.audit.chain-key.v1"
log = logging.getLogger("wufei.audit")

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


def actor_fields():
    actor = _actor.get()
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    if getattr(actor, "is_authenticated", False):
        return actor.pk, actor.get_username()
    return None, "anonymous"


def plain(value):
    """JSON-safe, database-independent form of a field value (Decimals as strings).

    What a JSON round trip with DjangoJSONEncoder gives, without the round trip for the common scalar types.
    """
    if value is None or type(value) in (str, int, bool):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, str):
        return str.__str__(value)  # a TextChoices member: its plain value
    if isinstance(value, dt.date | dt.time | dt.timedelta | uuid.UUID):
        return _ENCODER.default(value)
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


_ENCODER = DjangoJSONEncoder()


def snapshot(instance) -> dict:
    """Field values of a row as loaded; fields left out of the query (.only/.defer) are not fetched."""
    deferred = instance.get_deferred_fields()
    return {
        field.attname: plain(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if field.attname not in ("created_at", "updated_at") and field.attname not in deferred
    }


def diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v and k != "version"}


def entity_type_of(instance) -> str:
    return instance._meta.label_lower


def canonical(event_fields: dict) -> str:
    return json.dumps(event_fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_key() -> bytes:
    """The chain's HMAC key: settings.AUDIT_KEY, else derived from SECRET_KEY with a salt of its own."""
    return _key(getattr(settings, "AUDIT_KEY", "") or "", settings.SECRET_KEY)


@functools.lru_cache(maxsize=4)
def _key(configured: str, secret_key: str) -> bytes:
    if configured:
        return configured.encode("utf-8")
    return hmac.new(secret_key.encode("utf-8"), KEY_DERIVATION_SALT, hashlib.sha256).digest()


@functools.lru_cache(maxsize=4)
def _keyed(configured: str, secret_key: str):
    return hmac.new(_key(configured, secret_key), digestmod=hashlib.sha256)


def link_hash(prev_hash: str, content: str) -> str:
    """One link: HMAC-SHA256(key, previous hash + canonical content)."""
    mac = _keyed(getattr(settings, "AUDIT_KEY", "") or "", settings.SECRET_KEY).copy()
    mac.update((prev_hash + content).encode("utf-8"))
    return mac.hexdigest()


def content_of(*, created_at, entity_type, entity_id, action, actor_id, actor_label, payload) -> str:
    return canonical(
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


def compute_hash(prev_hash: str, **fields) -> str:
    return link_hash(prev_hash, content_of(**fields))


def lock_chain() -> None:
    """Take the chain's head lock now, inside the caller's transaction (held until it ends).

    For a transaction that will append many events and touch rows another writer may touch too: taking the
    head first makes concurrent writers queue at its start instead of deadlocking half-way."""
    lock_rows(AuditChainHead.objects).get_or_create(pk=1)


def record(*, entity, action: str, payload: dict | None = None):
    """Append one event for `entity` (a model instance) inside the caller's transaction."""
    return record_raw(entity_type=entity_type_of(entity), entity_id=entity.pk, action=action, payload=payload)


def record_raw(*, entity_type: str, entity_id, action: str, payload: dict | None = None):
    payload = plain(payload or {})
    actor_id, actor_label = actor_fields()
    with transaction.atomic(savepoint=False):  # a failure aborts the caller's transaction: nothing to keep
        head, _ = lock_rows(AuditChainHead.objects).get_or_create(pk=1)
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


FEW_LINKS = 50  # up to this many links are inserted by the ORM (ids returned), more with reserved ids (COPY)


def append_many(entries) -> list[int]:
    """Append links in order, one per (entity_type, entity_id, action, payload), inside the caller's transaction.

    The one way to write many links at once (a job that changes many rows, a bulk recording, a
    signature covering many containers): one lock of the chain head, as `record` takes it, one
    insert (a few links: INSERT … RETURNING; many: ids reserved first, then COPY on PostgreSQL) and
    one update of the head, instead of three statements per link. Each link is what `record_raw`
    would write (same content, same keyed hash), so `verify_chain` accepts them. A payload must be
    JSON-safe already (the values `plain` / `snapshot` / `diff` give).
    Returns the new events' ids, in chain order.
    """
    entries = list(entries)
    if not entries:
        return []
    actor_id, actor_label = actor_fields()
    actor_text = f'"actor_id":{_dumps(actor_id)},"actor_label":{_dumps(actor_label)},'
    table = bulk.table(AuditEvent)
    with transaction.atomic(savepoint=False):  # a failure aborts the caller's transaction: nothing to keep
        head, _created = lock_rows(AuditChainHead.objects).get_or_create(pk=1)
        ids = table.reserve_ids(len(entries)) if len(entries) > FEW_LINKS else None
        previous = head.last_hash
        rows = []
        for pk, (entity_type, entity_id, action, payload) in zip(ids or [None] * len(entries), entries, strict=True):
            created_at = timezone.now()
            entity_id, action, payload = str(entity_id), str(action), payload or {}
            payload_json = bulk.JSONText(canonical(payload))
            # canonical(content) spelled out: keys in sorted order, the payload serialized once
            content = (f'{{"action":{_dumps(action)},{actor_text}'
                       f'"created_at":{_dumps(created_at.isoformat(timespec="microseconds"))},'
                       f'"entity_id":{_dumps(entity_id)},"entity_type":{_dumps(entity_type)},'
                       f'"payload":{payload_json}}}')
            digest = link_hash(previous, content)
            rows.append({"id": pk, "created_at": created_at, "entity_type": entity_type, "entity_id": entity_id,
                         "action": action, "actor_id": actor_id, "actor_label": actor_label,
                         "payload": payload_json if pk is not None else payload, "prev_hash": previous,
                         "hash": digest})
            previous = digest
        if ids is None:  # a few links: one INSERT … RETURNING gives their ids
            created = AuditEvent.objects.bulk_create([AuditEvent(**row) for row in rows])
            ids = [event.pk for event in created]
        else:
            table.insert(rows)
        head.last_event_id = ids[-1]
        head.last_hash = previous
        head.length += len(rows)
        head.save(update_fields=["last_event_id", "last_hash", "length"])
    return ids


_dumps = functools.partial(json.dumps, ensure_ascii=False)


@dataclass
class ChainReport:
    ok: bool
    checked: int
    broken_event_id: int | None = None
    reason: str = ""
    checkpoints: int = 0  # checkpoints the chain was found to pass through
    first_suspect_id: int | None = None  # with a failed checkpoint: the earliest event that may have been changed


# --- checkpoints ---------------------------------------------------------------------------------

def checkpoints_path() -> Path | None:
    path = getattr(settings, "AUDIT_CHECKPOINTS", None)
    return Path(path) if path else None


def _signature(fields: dict) -> str:
    return hmac.new(chain_key(), ("checkpoint:" + canonical(fields)).encode("utf-8"), hashlib.sha256).hexdigest()


def write_checkpoint() -> dict:
    """Append the chain's head, signed, to the checkpoints file and the log; returns the checkpoint."""
    head = AuditChainHead.objects.filter(pk=1).first()
    fields = {"sequence": head.length if head else 0, "event_id": head.last_event_id if head else 0,
              "hash": head.last_hash if head else GENESIS_HASH,
              "at": timezone.now().isoformat(timespec="seconds")}
    checkpoint = {**fields, "hmac": _signature(fields)}
    line = json.dumps(checkpoint, sort_keys=True)
    path = checkpoints_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        with os.fdopen(descriptor, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
    log.info("audit checkpoint %s", line)
    return checkpoint


class CheckpointError(ValueError):
    pass


def read_checkpoints() -> list[dict]:
    """The checkpoints file's lines, each checked against its HMAC; CheckpointError names a bad line."""
    path = checkpoints_path()
    if path is None or not path.exists():
        return []
    checkpoints = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            checkpoint = json.loads(line)
            fields = {k: checkpoint[k] for k in ("sequence", "event_id", "hash", "at")}
            signed = hmac.compare_digest(str(checkpoint["hmac"]), _signature(fields))
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"line {number} of {path} is not a checkpoint") from exc
        if not signed:
            raise CheckpointError(f"line {number} of {path} is not signed with this installation's audit key "
                                  "(the line was altered, or the key changed)")
        checkpoints.append({**fields, "line": number})
    return sorted(checkpoints, key=lambda c: c["sequence"])


def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Recompute every link in order, and check the chain passes through every checkpoint; stop at the first
    link or checkpoint that does not hold."""
    try:
        checkpoints = read_checkpoints()
    except CheckpointError as exc:
        return ChainReport(False, 0, None, str(exc))
    pending = [c for c in checkpoints if c["sequence"] > 0]
    passed = len(checkpoints) - len(pending)
    last_good_sequence, last_good_id = 0, 0
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
                return ChainReport(False, checked, event.pk, "previous hash does not match the event before it",
                                   passed)
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
                return ChainReport(False, checked, event.pk, "content does not match its hash", passed)
            prev_hash = event.hash
            last_id = event.pk
            checked += 1
            while pending and pending[0]["sequence"] == checked:
                checkpoint = pending.pop(0)
                if checkpoint["hash"] != event.hash or checkpoint["event_id"] != event.pk:
                    first = AuditEvent.objects.filter(id__gt=last_good_id).order_by("id").values_list(
                        "id", flat=True).first()
                    span = (f"event #{event.pk} was rewritten" if first == event.pk
                            else f"one or more of events #{first}–#{event.pk} were rewritten")
                    return ChainReport(
                        False, checked, event.pk,
                        f"the chain differs from the checkpoint of {checkpoint['at']} (event #{checkpoint['event_id']}"
                        f", {checkpoint['sequence']} events): {span} since that checkpoint was taken (the "
                        f"{last_good_sequence} events before match the checkpoints)", passed, first)
                passed += 1
                last_good_sequence, last_good_id = checked, event.pk
    if pending:
        checkpoint = pending[0]
        return ChainReport(False, checked, checkpoint["event_id"],
                           f"the checkpoint of {checkpoint['at']} counted {checkpoint['sequence']} events up to "
                           f"event #{checkpoint['event_id']}, the chain holds {checked}: events were removed", passed)
    head = AuditChainHead.objects.filter(pk=1).first()
    if head and (head.last_hash != prev_hash or head.length != checked):
        return ChainReport(False, checked, head.last_event_id, "events are missing after the last stored one", passed)
    return ChainReport(True, checked, checkpoints=passed)


def history(instance):
    return AuditEvent.objects.filter(entity_type=entity_type_of(instance), entity_id=str(instance.pk))
