"""The audit chain's tables: its links and its head. Below `wufei.core.audit`, which writes and checks them, and
`wufei.core.models`, whose audited base model calls `audit.record` (so neither imports the other in a cycle)."""

from django.db import models

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One link of the SHA-256 hash chain (全程留痕)."""

    created_at = models.DateTimeField(db_index=True)
    entity_type = models.CharField(max_length=64)
    entity_id = models.CharField(max_length=64)
    action = models.CharField(max_length=40)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["entity_type", "entity_id", "id"])]

    def __str__(self):
        return f"#{self.pk} {self.entity_type}:{self.entity_id} {self.action}"


class AuditChainHead(models.Model):
    """A single row holding the newest link; locking it serializes writers of the chain."""

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    length = models.BigIntegerField(default=0)

    def __str__(self):
        return f"audit head #{self.last_event_id}"
