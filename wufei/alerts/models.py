"""Alerts (预警): rules as data, graded alerts and their verify -> rectify -> close loop, vehicle tracks.

A Rule row is the shipped default of one rule in `rules.py` (id, level, parameters) as a regulator
has edited it; a RuleOverride changes the level, the parameters or switches the rule off for a
region subtree (the most specific region wins). An Alert is one rule tripped by one entity
(a container, manifest, permit, vehicle, organization-period, transport leg). While an alert is
open (open, verifying, rectifying) the same rule never opens a second one on the same entity:
a partial unique constraint says so, so two concurrent scans cannot either.

Visibility: the organization an alert is about (its members), the regulators of the alert's
region subtree, platform administrators.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wufei.catalog.models import Region
from wufei.core.models import AuditedModel, ScopedQuerySet
from wufei.manifests.models import TransportLeg
from wufei.registry.models import Organization


class Level(models.TextChoices):
    RED = "red", _("red")
    ORANGE = "orange", _("orange")
    YELLOW = "yellow", _("yellow")
    BLUE = "blue", _("blue")


LEVEL_ORDER = {Level.RED: 0, Level.ORANGE: 1, Level.YELLOW: 2, Level.BLUE: 3}


class Status(models.TextChoices):
    OPEN = "open", _("open")
    VERIFYING = "verifying", _("verifying")
    RECTIFYING = "rectifying", _("rectifying")
    CLOSED = "closed", _("closed")
    FALSE_POSITIVE = "false_positive", _("false positive")


ACTIVE = (Status.OPEN, Status.VERIFYING, Status.RECTIFYING)
ENDED = (Status.CLOSED, Status.FALSE_POSITIVE)


class Rule(AuditedModel):
    """One alert rule in force; the row is created from rules.py and regulators edit it."""

    id = models.CharField(_("rule"), max_length=60, primary_key=True)
    description = models.CharField(_("description"), max_length=300)
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    auto_close = models.BooleanField(_("closes itself when the condition clears"), default=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    source = models.CharField(_("source"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")

    def __str__(self):
        return self.id

    @classmethod
    def visibility_q(cls, scope):
        return Q() if scope.is_authenticated or scope.is_platform_admin else Q(pk__in=[])

    @classmethod
    def editability_q(cls, scope):
        return Q() if scope.is_platform_admin else Q(pk__in=[])


class RuleOverride(AuditedModel):
    """A region subtree's own level / parameters for a rule, or the rule switched off there."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="overrides")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    level = models.CharField(_("level"), max_length=8, choices=Level.choices, blank=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["rule_id", "region_id"]
        constraints = [models.UniqueConstraint(fields=["rule", "region"], name="alerts_override_rule_region")]

    def __str__(self):
        return f"{self.rule_id}@{self.region_id}"

    @classmethod
    def visibility_q(cls, scope):
        return Q() if scope.is_authenticated or scope.is_platform_admin else Q(pk__in=[])

    @classmethod
    def editability_q(cls, scope):
        return scope.region_q("region__path")


class AlertQuerySet(ScopedQuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE)


class Alert(AuditedModel):
    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="alerts", verbose_name=_("rule"))
    level = models.CharField(_("level"), max_length=8, choices=Level.choices, db_index=True)
    entity_type = models.CharField(_("entity"), max_length=30)
    entity_id = models.CharField(_("entity id"), max_length=60)
    entity_label = models.CharField(_("about"), max_length=200, blank=True)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="alerts", verbose_name=_("organization"))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_path = models.CharField(max_length=40, db_index=True)
    evidence = models.JSONField(_("evidence"), default=dict)
    message = models.CharField(_("message"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("assignee"))
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), db_index=True)
    last_seen_at = models.DateTimeField(_("last seen at"))
    cleared_at = models.DateTimeField(_("condition cleared at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=1000, blank=True)
    closed_by_system = models.BooleanField(_("closed itself"), default=False)
    recurrence_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="recurrences", verbose_name=_("recurrence of"))
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [models.UniqueConstraint(
            fields=["rule", "entity_type", "entity_id"], condition=Q(status__in=["open", "verifying", "rectifying"]),
            name="alerts_one_active_per_rule_entity")]
        indexes = [models.Index(fields=["rule", "status"]), models.Index(fields=["organization", "status"]),
                   models.Index(fields=["entity_type", "entity_id"]), models.Index(fields=["updated_at", "id"])]

    def __str__(self):
        return f"{self.rule_id} {self.entity_type}:{self.entity_id}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        return Q(organization_id__in=scope.organization_ids) | scope.region_q("region_path")

    @classmethod
    def editability_q(cls, scope):
        """Regulators of the region run the loop; the organization answers (comments, rectification)."""
        if scope.is_platform_admin:
            return Q()
        return Q(organization_id__in=scope.writable_organization_ids) | scope.region_q("region_path")


def attachment_path(instance, filename):
    return f"alerts/{instance.alert_id}/{filename}"


class AlertComment(AuditedModel):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    author_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, blank=True)
    text = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.alert_id} {self.action}"


class AlertAttachment(models.Model):
    """A rectification file (under MEDIA_ROOT/alerts/<alert>/). The audit chain records its name, size and
    SHA-256 on the alert (action "attachment_added"): a FileField is not a value the chain can hold."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.name


class Notification(models.Model):
    """An in-app notice of an alert's change for an organization or for the regulators of a region."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    region_path = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.alert_id} {self.action}"

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        query = Q(organization_id__in=scope.organization_ids)
        for path in scope.region_paths:
            query |= Q(organization__isnull=True, region_path__startswith=path)
        return query

    @classmethod
    def editability_q(cls, scope):
        return cls.visibility_q(scope)


class ScanRun(models.Model):
    """One run of the scan: when, what each rule found, and the watermark of the incremental rules."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    watermark = models.DateTimeField(null=True, blank=True)
    full = models.BooleanField(default=False)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"scan {self.started_at:%Y-%m-%d %H:%M}"


class TrackPoint(models.Model):
    """One GPS fix of the vehicle of a manifest leg (承运人 记录运输轨迹, 转移管理办法 第11条)."""

    leg = models.ForeignKey(TransportLeg, on_delete=models.CASCADE, related_name="track_points")
    recorded_at = models.DateTimeField(_("time"))
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    speed_kmh = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["leg_id", "recorded_at", "id"]
        constraints = [models.UniqueConstraint(fields=["leg", "recorded_at"], name="alerts_track_point_unique")]

    def __str__(self):
        return f"{self.leg_id} {self.recorded_at:%H:%M:%S}"
