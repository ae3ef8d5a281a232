"""Rewriting the audit chain directly in the database is detected.

Someone with write access to the database but not the audit key (held outside it) cannot recompute the links:
`wufei audit verify` names the rewritten event. Someone who holds the key as well is caught by the signed
checkpoints of the chain's head, kept outside the database (`wufei audit checkpoint`, the periodic job).
"""

import hashlib
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from wufei.core import audit
from wufei.core.models import AuditChainHead, AuditEvent


@pytest.fixture
def checkpoints(settings, tmp_path):
    settings.AUDIT_CHECKPOINTS = str(tmp_path / "audit-checkpoints.jsonl")
    return tmp_path / "audit-checkpoints.jsonl"


def change(org, n):
    with audit.acting_as("test"):
        org.address = f"巴南区某路{n}号"
        org.save()


def rewrite_from(event_id, link):
    """Alter one event's payload, then recompute every later link and the head with `link(previous, content)`."""
    AuditEvent.objects.filter(pk=event_id).update(payload={"changes": {"address": ["", "改写后的地址"]}})
    events = list(AuditEvent.objects.filter(pk__gte=event_id).order_by("id"))
    previous = AuditEvent.objects.filter(pk__lt=event_id).order_by("-id").values_list("hash", flat=True).first() \
        or audit.GENESIS_HASH
    for event in events:
        content = audit.canonical({"created_at": event.created_at.isoformat(timespec="microseconds"),
                                   "entity_type": event.entity_type, "entity_id": event.entity_id,
                                   "action": event.action, "actor_id": event.actor_id,
                                   "actor_label": event.actor_label, "payload": event.payload})
        digest = link(previous, content)
        AuditEvent.objects.filter(pk=event.pk).update(prev_hash=previous, hash=digest)
        previous = digest
    AuditChainHead.objects.filter(pk=1).update(last_hash=previous)


def unkeyed(previous, content):
    return hashlib.sha256((previous + content).encode("utf-8")).hexdigest()


def test_a_rewrite_by_someone_without_the_audit_key_is_named(make_org):
    org = make_org(name="链测试单位")
    for n in range(1, 4):
        change(org, n)
    target = list(AuditEvent.objects.order_by("id"))[2]
    rewrite_from(target.pk, unkeyed)  # every later hash and the head recomputed, as SHA-256 alone allowed
    with pytest.raises(CommandError, match=f"broken at event #{target.pk}: content does not match"):
        call_command("audit", "verify", stdout=StringIO())


def test_a_rewrite_with_the_key_is_caught_by_the_checkpoints_and_named(make_org, checkpoints, monkeypatch):
    from wufei.core import jobs
    from wufei.core.tasks import audit_checkpoint

    monkeypatch.setattr(jobs, "close_old_connections", lambda: None)  # the test's connection stays open
    before = AuditEvent.objects.count()  # the migrations' own events
    org = make_org(name="链测试单位")
    change(org, 1)
    call_command("audit", "checkpoint", stdout=StringIO())
    change(org, 2)
    target = AuditEvent.objects.order_by("-id").first()
    audit_checkpoint()  # the periodic job
    change(org, 3)
    change(org, 4)
    call_command("audit", "checkpoint", stdout=StringIO())
    lines = [json.loads(line) for line in checkpoints.read_text().splitlines()]
    assert [c["sequence"] - before for c in lines] == [2, 3, 5] and lines[1]["event_id"] == target.pk
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "3 checkpoints hold" in out.getvalue()

    rewrite_from(target.pk, audit.link_hash)  # with the key: the links hold, the checkpoints do not
    assert [c["hash"] for c in map(json.loads, checkpoints.read_text().splitlines())] == [c["hash"] for c in lines]
    with pytest.raises(CommandError, match=f"event #{target.pk} was rewritten since that checkpoint"):
        call_command("audit", "verify", stdout=StringIO())


def test_removed_tail_events_are_caught_by_the_checkpoints(make_org, checkpoints):
    org = make_org(name="链测试单位")
    change(org, 1)
    change(org, 2)
    call_command("audit", "checkpoint", stdout=StringIO())
    last, before = AuditEvent.objects.order_by("-id")[:2]
    removed = last.pk
    last.delete()
    AuditChainHead.objects.filter(pk=1).update(last_hash=before.hash, last_event_id=before.pk,
                                               length=AuditEvent.objects.count())
    with pytest.raises(CommandError, match=f"broken at event #{removed}: .*events were removed"):
        call_command("audit", "verify", stdout=StringIO())


def test_an_altered_checkpoint_line_is_refused(make_org, checkpoints):
    change(make_org(name="链测试单位"), 1)
    call_command("audit", "checkpoint", stdout=StringIO())
    checkpoint = json.loads(checkpoints.read_text())
    checkpoints.write_text(json.dumps({**checkpoint, "hash": "0" * 64}) + "\n")
    with pytest.raises(CommandError, match="line 1 .* is not signed with this installation's audit key"):
        call_command("audit", "verify", stdout=StringIO())


def test_the_chain_is_keyed_by_the_configured_audit_key(make_org, settings):
    change(make_org(name="链测试单位"), 1)
    assert audit.verify_chain().ok
    settings.AUDIT_KEY = "another-installation's-key"
    report = audit.verify_chain()
    assert not report.ok and report.broken_event_id == AuditEvent.objects.order_by("id").first().pk
