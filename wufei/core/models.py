"""Shared base models and the platform-wide tables: parameters, tokens, idempotency, jobs.

The audit chain's own tables live in `wufei.core.chain` (below `wufei.core.audit`, which writes them) and are
importable from here too."""

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from wufei.core import audit
from wufei.core.chain import AuditChainHead, AuditEvent

__all__ = ["ApiToken", "AuditChainHead", "AuditEvent", "AuditedModel", "IdempotencyRecord", "Installation", "Job",
           "Parameter", "ScopedQuerySet", "TimeStampedModel"]


class ScopedQuerySet(models.QuerySet):
    """Every queryset a caller sees goes through `visible_to(scope)`.

    A model says who may see and change its rows with two class methods,
    `visibility_q(scope)` and `editability_q(scope)`, each returning a Q.
    """

    def visible_to(self, scope):
        return self.filter(self.model.visibility_q(scope))

    def editable_by(self, scope):
        return self.filter(self.model.editability_q(scope))


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        abstract = True


class AuditedModel(TimeStampedModel):
    """A model whose every create, update and delete is written to the audit chain.

    `save(audit_action="closed")` names a state change; otherwise the action is
    "created" or "updated" and the payload holds the changed fields.
    `version` increases on every save: clients send the version they saw and a
    stale write fails (optimistic concurrency).
    """

    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        abstract = True

    def save(self, *args, audit_action: str | None = None, audit_note: str = "", audit_before=(), **kwargs):
        """Save and append the row's link; `audit_before`: links of the same change written with it, appended
        just before the row's own in one write of the chain ((entity_type, entity_id, action, payload) as
        `audit.append_many` takes them)."""
        creating = self._state.adding
        before = getattr(self, "_audit_snapshot", {})
        if not creating:
            self.version = (self.version or 0) + 1
        with transaction.atomic(savepoint=False):  # the row and its link, or neither (the caller's block decides)
            super().save(*args, **kwargs)
            after = audit.snapshot(self)
            payload = {"values": after} if creating else {"changes": audit.diff(before, after)}
            if audit_note:
                payload["note"] = audit_note
            action = audit_action or ("created" if creating else "updated")
            if audit_before:
                audit.append_many([*audit_before, (audit.entity_type_of(self), self.pk, action, payload)])
            else:
                audit.record(entity=self, action=action, payload=payload)
        self._audit_snapshot = after

    def delete(self, *args, **kwargs):
        with transaction.atomic(savepoint=False):
            audit.record(entity=self, action="deleted", payload={"values": audit.snapshot(self)})
            return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._audit_snapshot = audit.snapshot(instance)
        return instance


class Parameter(models.Model):
    """A rule value a regulator may change (threshold, deadline, tolerance), per region.

    The shipped defaults live in `wufei.core.parameters.DEFAULTS`; a row here
    overrides the default for a region subtree (blank region = whole platform).
    """

    key = models.CharField(max_length=100)
    region_code = models.CharField(max_length=12, blank=True, default="")
    value = models.JSONField()
    reason = models.CharField(max_length=300, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "region_code"], name="parameter_key_region_unique")]

    def __str__(self):
        return f"{self.key}@{self.region_code or '*'}={self.value}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 digest is stored; the secret is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class IdempotencyRecord(models.Model):
    """The stored answer to a create sent with an Idempotency-Key, replayed on a retry."""

    user_id = models.BigIntegerField()
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64, blank=True, default="")  # SHA-256 of the request's body
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "key"], name="idempotency_user_key_unique")]

    def __str__(self):
        return f"{self.method} {self.path} [{self.key}]"


class Job(models.Model):
    """One run of a background job that someone watches (an import, a report) or that failed (any job).

    Written by wufei.core.jobs; an administrator reads them in the admin (failures with their traceback)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    name = models.CharField(_("job"), max_length=60, db_index=True)
    label = models.CharField(_("what"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED,
                              db_index=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    message = models.CharField(_("message"), max_length=300, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("started by"))
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")

    def __str__(self):
        return f"{self.name} #{self.pk} {self.status}"


class Installation(models.Model):
    """What this database is: the demo district (`wufei demo` built it into an empty database) or a real one.

    One row at most; a database without a row is a real one. The demo's shared password belongs to demo databases
    only, and every page says "demo" on one (wufei.core.installation)."""

    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return "demo" if self.is_demo else "installation"
