"""Writing many rows at once: containers and scan events in bulk with reserved ids, and their links in the audit
chain.
"""

import datetime as dt
import functools
import json
import operator
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from wufei.core import audit
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope
from wufei.tracking import signals
from wufei.tracking.models import (
    Container,
    ScanEvent,
)
from wufei.tracking.services.common import _TABLES

_JSON = DjangoJSONEncoder()


_CONTAINER_FIELDS = [f.attname for f in Container._meta.concrete_fields if f.attname not in ("created_at",
                                                                                             "updated_at")]


_EVENT_FIELDS = ("id", "kind", "occurred_at", "actor_id", "organization_id", "site_id", "weight_tonnes",
                 "expected_weight_tonnes", "discrepancy", "method", "related_container_id", "reference",
                 "longitude", "latitude", "note")


def json_value(value):
    """Same result as wufei.core.audit's snapshot for the types these rows hold, without a JSON round trip."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return str(value)  # a TextChoices member becomes its plain value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value, value.utcoffset())  # equal instants in other zones print differently
    if isinstance(value, dt.date):
        return _JSON.default(value)
    return audit.plain(value)


@functools.lru_cache(maxsize=8192)
def _decimal_text(value: Decimal) -> str:
    return audit.plain(value)  # 0.2 and 0.200000 are equal and print the same, so sharing a cache entry is right


@functools.lru_cache(maxsize=8192)
def _datetime_text(value: dt.datetime, _offset) -> str:
    return _JSON.default(value)


def _values(container) -> dict:
    """The container's audited values (as wufei.core.audit.snapshot gives them), from an instance or a row dict."""
    get = container.get if isinstance(container, dict) else functools.partial(getattr, container)
    return {name: json_value(get(name)) for name in _CONTAINER_FIELDS}


def event_audit_values(event) -> dict:
    """A scan event's content for its audit link (empty fields left out), from an instance or a row dict."""
    get = event.get if isinstance(event, dict) else functools.partial(getattr, event)
    result = {}
    for name in _EVENT_FIELDS:
        value = get(name)
        if value not in (None, "", False) or name in ("id", "kind"):
            result[name] = json_value(value)
    return result


class _Table:
    """Multi-row INSERTs (COPY on PostgreSQL) with ids reserved up front: bulk_create minus its per-value overhead.

    Values go through the backend's own adapters (datetimes, decimals, JSON), so the rows are
    exactly what the ORM would have written. Ids come from the table's sequence (PostgreSQL)
    or after the largest id ever used (SQLite, under its write lock: IMMEDIATE transactions).
    """

    def __init__(self, model):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.defaults = {f.attname: f.get_default() for f in self.fields if not f.primary_key}

    def reserve_ids(self, count: int) -> list[int]:
        from django.db import connection

        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                               [table, count])
                return sorted(row[0] for row in cursor.fetchall())
            if connection.vendor != "sqlite":
                raise ImproperlyConfigured(f"bulk inserts support SQLite and PostgreSQL, not {connection.vendor}")
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")
            start = max(row[0] if row else 0, cursor.fetchone()[0] or 0) + 1
        return list(range(start, start + count))

    def _adapters(self, connection):
        ops = connection.ops
        adapters = []
        for field in self.fields:
            kind = field.get_internal_type()
            if kind == "DateTimeField":
                adapters.append(ops.adapt_datetimefield_value)
            elif kind == "DecimalField":
                adapters.append(functools.partial(_adapt_decimal, ops, field.max_digits, field.decimal_places))
            elif kind == "JSONField":
                adapters.append(functools.partial(_adapt_json, ops, field.encoder))
            elif kind == "DateField":
                adapters.append(ops.adapt_datefield_value)
            else:
                adapters.append(None)
        return adapters

    def insert(self, rows: list[dict], *, batch_size: int = 2000) -> None:
        from django.db import connection

        if not rows:
            return
        getter = operator.itemgetter(*self.attnames)
        adapt_at = [(index, _memoized(adapt)) for index, adapt in enumerate(self._adapters(connection)) if adapt]
        width = len(self.fields)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        placeholders = "(" + ", ".join(["%s"] * width) + ")"
        per_statement = max(1, min(batch_size, _max_params(connection) // width))
        table = quote(self.model._meta.db_table)

        def adapted(row):
            values = list(getter(row))
            for index, adapt in adapt_at:
                if values[index] is not None:
                    values[index] = adapt(values[index])
            return values

        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # COPY: several times faster than INSERT … VALUES
                with connection.wrap_database_errors, \
                        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(adapted(row))
                return
            for start in range(0, len(rows), per_statement):
                chunk = rows[start:start + per_statement]
                params = []
                for row in chunk:
                    params += adapted(row)
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(chunk))}",
                               params)


def _memoized(adapt):
    """Rows of one insert repeat the same times and weights: adapt each distinct value once."""
    cache = {}

    def adapted(value):
        try:
            return cache[value]
        except KeyError:
            result = cache[value] = adapt(value)
            return result
        except TypeError:  # unhashable (JSON payloads)
            return adapt(value)

    return adapted


def _adapt_decimal(ops, max_digits, decimal_places, value):
    return None if value is None else ops.adapt_decimalfield_value(value, max_digits, decimal_places)


class _JSONText(str):
    """JSON already serialized (an audit payload): stored as it is, not serialized again."""


def _adapt_json(ops, encoder, value):
    return value if isinstance(value, _JSONText) else ops.adapt_json_value(value, encoder)


_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _link_hash(previous: str, *, created_at, entity_type, entity_id, action, actor_id, actor_label,
               payload_json: str) -> str:
    """audit.compute_hash (keyed) with the payload serialized once (it is also the stored text).

    audit.canonical sorts keys and uses compact separators; the content's keys in sorted order are
    action, actor_id, actor_label, created_at, entity_id, entity_type, payload. The chain is
    verified with audit.compute_hash itself (tests/tracking/test_bulk.py), so any drift shows.
    """
    content = (f'{{"action":{_dumps(action)},"actor_id":{_dumps(actor_id)},"actor_label":{_dumps(actor_label)},'
               f'"created_at":{_dumps(created_at.isoformat(timespec="microseconds"))},'
               f'"entity_id":{_dumps(str(entity_id))},"entity_type":{_dumps(entity_type)},"payload":{payload_json}}}')
    return audit.link_hash(previous, content)


def _max_params(connection) -> int:
    if connection.vendor == "sqlite":
        import sqlite3

        try:
            return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except (AttributeError, sqlite3.Error):
            return 999
    return 65535  # PostgreSQL's wire protocol limit


def _table(model) -> _Table:
    if model not in _TABLES:
        _TABLES[model] = _Table(model)
    return _TABLES[model]


def _append_to_chain(entries: list[tuple[str, str, str, dict]]) -> None:
    """Append (entity_type, entity_id, action, payload) links in order, as audit.record_raw does one at a time.

    Under the AuditChainHead row lock: each link's hash covers the previous one (same
    canonical content and SHA-256 as record_raw); the rows are inserted in chain order with
    increasing ids, and the head moves to the last one.
    """
    from wufei.core.models import AuditChainHead, AuditEvent

    if not entries:
        return
    actor_id, actor_label = audit.actor_fields()
    table = _table(AuditEvent)
    with transaction.atomic():
        head, _created = lock_rows(AuditChainHead.objects).get_or_create(pk=1)
        ids = table.reserve_ids(len(entries))
        previous = head.last_hash
        rows = []
        for pk, (entity_type, entity_id, action, payload) in zip(ids, entries, strict=True):
            created_at = timezone.now()
            payload_json = _JSONText(audit.canonical(payload))
            digest = _link_hash(previous, created_at=created_at, entity_type=entity_type, entity_id=entity_id,
                                action=action, actor_id=actor_id, actor_label=actor_label, payload_json=payload_json)
            rows.append({"id": pk, "created_at": created_at, "entity_type": entity_type,
                         "entity_id": str(entity_id), "action": action, "actor_id": actor_id,
                         "actor_label": actor_label, "payload": payload_json, "prev_hash": previous, "hash": digest})
            previous = digest
        table.insert(rows)
        head.last_event_id = ids[-1]
        head.last_hash = previous
        head.length += len(rows)
        head.save()


def _insert(containers: list[Container], events: list[list[ScanEvent]], *, action: str) -> None:
    """Insert new containers (instances: merge and split) and their events; one audit link per container."""
    Container.objects.bulk_create(containers)
    flat = []
    for container, own in zip(containers, events, strict=True):
        for event in own:
            event.container_id = container.pk
            flat.append(event)
    ScanEvent.objects.bulk_create(flat)
    signals.announce(flat)
    entity_type = audit.entity_type_of(Container)
    _append_to_chain([(entity_type, str(container.pk), action,
                       {"values": _values(container), "events": [event_audit_values(e) for e in own]})
                      for container, own in zip(containers, events, strict=True)])
    for container in containers:
        container._state.adding = False
        container._audit_snapshot = _values(container)


def _save(container: Container, events: list[ScanEvent], *, action: str) -> None:
    """Save a changed container and its new events; one audit link with the changes and the events.

    Mirrors AuditedModel.save (version + 1, changed fields in the payload) and puts the scan
    events into the same link.
    """
    before = getattr(container, "_audit_snapshot", {})
    container.version += 1
    models.Model.save(container)
    for event in events:
        event.container = container
    ScanEvent.objects.bulk_create(events)
    signals.announce(events)
    after = _values(container)
    _append_to_chain([(audit.entity_type_of(container), str(container.pk), action,
                       {"changes": audit.diff(before, after), "events": [event_audit_values(e) for e in events]})])
    container._audit_snapshot = after


def _actor_id(scope: Scope) -> int | None:
    return scope.user_id
