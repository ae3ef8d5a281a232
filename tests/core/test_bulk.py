"""wufei.core.bulk (bulk inserts with reserved ids) and audit.append_many (many links at once)."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import transaction

from wufei.core import audit, bulk
from wufei.core.models import AuditChainHead, AuditEvent, Job

pytestmark = pytest.mark.django_db(transaction=False)

MOMENT = dt.datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=dt.UTC)


def test_reserved_ids_follow_the_rows_already_there_and_the_insert_keeps_every_value():
    first = Job.objects.create(name="first", label="ORM")
    table = bulk.table(Job)
    ids = table.reserve_ids(3)
    assert ids == sorted(ids) and len(set(ids)) == 3 and ids[0] > first.pk
    rows = [{**table.defaults, "id": pk, "name": f"n{pk}", "label": "批量", "created_at": MOMENT,
             "finished_at": None if pk == ids[0] else MOMENT + dt.timedelta(minutes=pk),
             "result": {"吨": "1.5", "list": [1, None, "甲"]}} for pk in ids]
    table.insert(rows)
    stored = {job.pk: job for job in Job.objects.filter(pk__in=ids)}
    assert sorted(stored) == ids
    assert stored[ids[0]].finished_at is None
    assert stored[ids[1]].finished_at == MOMENT + dt.timedelta(minutes=ids[1])
    assert all(job.created_at == MOMENT and job.label == "批量" and job.status == "queued" for job in stored.values())
    assert stored[ids[2]].result == {"吨": "1.5", "list": [1, None, "甲"]}
    # the ORM's next id comes after the reserved ones
    assert Job.objects.create(name="after").pk > ids[-1]


def test_append_many_writes_links_that_record_would_write_and_verify_accepts():
    already = AuditEvent.objects.count()  # the migrations' own links
    with audit.acting_as("批量导入"):
        first = audit.record_raw(entity_type="test.thing", entity_id=1, action="created", payload={"n": 1})
        ids = audit.append_many([("test.thing", 2, "created", {"name": "甲", "weight": "0.2"}),
                                 ("test.thing", "3", "updated", {"changes": {"n": [1, 2]}}),
                                 ("test.other", 4, "closed", {})])
    events = list(AuditEvent.objects.filter(id__gte=first.pk).order_by("id"))
    assert [e.pk for e in events[1:]] == ids and len(events) == 4
    assert [(e.entity_type, e.entity_id, e.action) for e in events[1:]] == [
        ("test.thing", "2", "created"), ("test.thing", "3", "updated"), ("test.other", "4", "closed")]
    for before, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == before.hash
        assert event.actor_label == "批量导入" and event.actor_id is None
        # the hash is record_raw's: recomputed here from the stored fields
        assert event.hash == audit.compute_hash(
            before.hash, created_at=event.created_at, entity_type=event.entity_type, entity_id=event.entity_id,
            action=event.action, actor_id=None, actor_label="批量导入", payload=event.payload)
    assert events[1].payload == {"name": "甲", "weight": "0.2"}
    head = AuditChainHead.objects.get(pk=1)
    assert (head.length, head.last_event_id, head.last_hash) == (already + 4, ids[-1], events[-1].hash)
    # a single link after the bulk ones continues the chain
    audit.record_raw(entity_type="test.thing", entity_id=5, action="created", payload={})
    assert audit.verify_chain().ok and audit.verify_chain().checked == already + 5
    call_command("audit", "verify")  # raises on a broken chain


def test_append_many_rolls_back_with_its_transaction():
    audit.record_raw(entity_type="test.thing", entity_id=1, action="created", payload={})
    head_before = AuditChainHead.objects.values("length", "last_hash", "last_event_id").get(pk=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.append_many([("test.thing", n, "created", {}) for n in range(2, 6)])
        raise RuntimeError("refused after the links were written")
    assert AuditEvent.objects.count() == head_before["length"]
    assert AuditChainHead.objects.values("length", "last_hash", "last_event_id").get(pk=1) == head_before
    assert audit.verify_chain().ok


def test_nothing_to_append_writes_nothing():
    count = AuditEvent.objects.count()
    assert audit.append_many([]) == []
    assert AuditEvent.objects.count() == count


def test_many_links_go_in_with_reserved_ids_and_verify():
    count = audit.FEW_LINKS + 10  # past the few the ORM inserts: ids reserved, then one multi-row insert (COPY)
    ids = audit.append_many([("test.thing", n, "created", {"n": n, "名": "甲" * (n % 3)}) for n in range(count)])
    assert len(ids) == count and ids == sorted(ids)
    events = list(AuditEvent.objects.filter(id__in=ids).order_by("id"))
    assert [e.entity_id for e in events] == [str(n) for n in range(count)]
    assert events[7].payload == {"n": 7, "名": "甲"}
    assert all(after.prev_hash == before.hash for before, after in zip(events, events[1:], strict=False))
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_event_id, head.last_hash) == (ids[-1], events[-1].hash)
    assert audit.verify_chain().ok
