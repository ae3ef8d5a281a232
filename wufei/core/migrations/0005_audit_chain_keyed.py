"""Re-link the audit chain with the keyed hash (HMAC-SHA256, wufei.core.audit).

The events written so far were linked by unkeyed SHA-256. Each is first checked against that old link (the
migration stops, naming the event, if the old chain does not hold: rewriting it then would bless the damage;
investigate with `wufei audit verify` of the previous version and a backup), then linked again with the key.
The events' content is unchanged; only `prev_hash` / `hash` and the head move to the keyed chain, so
`wufei audit verify` has one rule for every event and nothing to downgrade.
"""

import hashlib

from django.db import migrations

GENESIS_HASH = "0" * 64
BATCH = 2000


def _sha256(previous: str, content: str) -> str:
    return hashlib.sha256((previous + content).encode("utf-8")).hexdigest()


def _keyed(previous: str, content: str) -> str:
    from wufei.core import audit

    return audit.link_hash(previous, content)


def _relink(apps, old_link, new_link):
    from wufei.core import audit

    AuditEvent = apps.get_model("core", "AuditEvent")
    AuditChainHead = apps.get_model("core", "AuditChainHead")
    old_previous = new_previous = GENESIS_HASH
    count = 0
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:BATCH])
        if not batch:
            break
        for event in batch:
            content = audit.content_of(created_at=event.created_at, entity_type=event.entity_type,
                                       entity_id=event.entity_id, action=event.action, actor_id=event.actor_id,
                                       actor_label=event.actor_label, payload=event.payload)
            old = old_link(old_previous, content)
            if event.prev_hash != old_previous or event.hash != old:
                raise RuntimeError(f"the audit chain is broken at event #{event.pk} (before re-linking it): nothing "
                                   "was changed; check it with `wufei audit verify` of the version that wrote it, "
                                   "and a backup")
            old_previous = old
            event.prev_hash = new_previous
            event.hash = new_previous = new_link(new_previous, content)
            last_id = event.pk
            count += 1
        AuditEvent.objects.bulk_update(batch, ["prev_hash", "hash"])
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None:
        if head.last_hash != old_previous or head.length != count:
            raise RuntimeError(f"the audit chain's head does not match its {count} events (events are missing after "
                               "the last stored one): nothing was changed")
        head.last_hash = new_previous
        head.save(update_fields=["last_hash"])


def forwards(apps, schema_editor):
    _relink(apps, _sha256, _keyed)


def backwards(apps, schema_editor):
    _relink(apps, _keyed, _sha256)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_idempotency_fingerprint"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
