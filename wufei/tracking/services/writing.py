"""Writing many rows at once: containers and scan events in bulk with reserved ids, and their links in the audit
chain.
"""

import datetime as dt
import functools
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from wufei.core import audit
from wufei.core.scope import Scope
from wufei.tracking import signals
from wufei.tracking.models import (
    Container,
    ScanEvent,
)

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
    audit.append_many([(entity_type, str(container.pk), action,
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
    audit.append_many([(audit.entity_type_of(container), str(container.pk), action,
                       {"changes": audit.diff(before, after), "events": [event_audit_values(e) for e in events]})])
    container._audit_snapshot = after


def _actor_id(scope: Scope) -> int | None:
    return scope.user_id
