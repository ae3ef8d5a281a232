"""Containers (一物一码) and their scan events.

A container is one package of waste with its own code (HJ 1276 digital identification
code). It is recorded at the source in the five immediate steps (五即: produce, pack, weigh,
code, store) and every later touch is a ScanEvent. Events are the single record the ledgers
are derived from: nothing is typed twice.

Visibility: the generator (organization), the current holder, every organization that
scanned it, and the regulators of the generator's and the holder's regions.
"""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from wufei.catalog import streams
from wufei.catalog.models import HazardousWaste
from wufei.core.models import AuditedModel, ScopedQuerySet
from wufei.registry.models import Organization, Site


class PhysicalForm(models.TextChoices):
    SOLID = "solid", _("solid")
    SEMI_SOLID = "semi_solid", _("semi-solid")
    LIQUID = "liquid", _("liquid")
    GAS = "gas", _("gas (contained)")


class Packaging(models.TextChoices):
    DRUM = "drum", _("drum")
    BAG = "bag", _("bag")
    TONNE_BAG = "tonne_bag", _("tonne bag")
    BOX = "box", _("box")
    IBC = "ibc", _("IBC tote")
    TANK = "tank", _("tank")
    SHARPS_BOX = "sharps_box", _("sharps box")
    BULK = "bulk", _("bulk (vehicle body)")
    OTHER = "other", _("other")


class ContainerStatus(models.TextChoices):
    """Where a container is in its life; the declarative transitions live in tracking/life.py."""

    PRODUCED = "produced", _("produced")
    PACKED = "packed", _("packed")
    WEIGHED = "weighed", _("weighed")
    CODED = "coded", _("coded")
    STORED = "stored", _("in storage")
    LOADED = "loaded", _("loaded")
    HANDED_OVER = "handed_over", _("handed over")
    RECEIVED = "received", _("received")
    UTILIZED = "utilized", _("utilized")
    DISPOSED = "disposed", _("disposed")
    SELF_UTILIZED = "self_utilized", _("self-utilized")
    SELF_DISPOSED = "self_disposed", _("self-disposed")
    MERGED = "merged", _("merged into another package")
    SPLIT = "split", _("split into packages")


class ContainerOrigin(models.TextChoices):
    """Only PRODUCED containers count as generation in the ledgers; merged and split ones are repackaging."""

    PRODUCED = "produced", _("produced")
    MERGED = "merged", _("made by merging")
    SPLIT = "split", _("made by splitting")


class ContainerQuerySet(ScopedQuerySet):
    pass


class Container(AuditedModel):
    code = models.CharField(_("container code"), max_length=40, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="containers",
                                     verbose_name=_("generator"))
    holder = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="held_containers",
                               verbose_name=_("current holder"))
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("production site"))
    storage_site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="stored_containers", verbose_name=_("storage facility"))
    storage_location = models.CharField(_("storage location"), max_length=100, blank=True)
    waste = models.ForeignKey(HazardousWaste, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("waste code"))
    waste_name = models.CharField(_("waste name"), max_length=200)
    physical_form = models.CharField(_("physical form"), max_length=12, choices=PhysicalForm.choices)
    hazards = models.CharField(_("hazard characteristics"), max_length=20)
    main_components = models.CharField(_("main components"), max_length=200, blank=True)
    packaging = models.CharField(_("packaging"), max_length=12, choices=Packaging.choices)
    volume_litres = models.DecimalField(_("volume (L)"), max_digits=10, decimal_places=1, null=True, blank=True)
    net_weight_tonnes = models.DecimalField(_("net weight (t)"), max_digits=18, decimal_places=6, null=True,
                                            blank=True)
    produced_at = models.DateTimeField(_("produced at"))
    packed_at = models.DateTimeField(_("packed at"), null=True, blank=True)
    weighed_at = models.DateTimeField(_("weighed at"), null=True, blank=True)
    coded_at = models.DateTimeField(_("coded at"), null=True, blank=True)
    stored_at = models.DateTimeField(_("stored at"), null=True, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=14, choices=ContainerStatus.choices,
                              default=ContainerStatus.PRODUCED, db_index=True)
    origin = models.CharField(_("origin"), max_length=10, choices=ContainerOrigin.choices,
                              default=ContainerOrigin.PRODUCED)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from",
                               verbose_name=_("merged into"))
    split_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="split_into", verbose_name=_("split from"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = ContainerQuerySet.as_manager()

    class Meta:
        ordering = ["-produced_at", "-id"]
        verbose_name = _("container")
        verbose_name_plural = _("containers")
        indexes = [
            models.Index(fields=["organization", "waste", "produced_at"]),
            models.Index(fields=["holder", "status"]),
        ]

    def __str__(self):
        return self.code

    @property
    def is_medical(self) -> bool:
        return streams.is_medical_code(self.waste_id)

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        touched = Exists(ScanEvent.objects.filter(container=OuterRef("pk"),
                                                  organization_id__in=scope.organization_ids))
        return (Q(organization_id__in=scope.organization_ids) | Q(holder_id__in=scope.organization_ids)
                | Q(touched) | scope.region_q("organization__region__path") | scope.region_q("holder__region__path"))

    @classmethod
    def editability_q(cls, scope):
        """Who may scan it next: the admins and members of its current holder (regulators read)."""
        if scope.is_platform_admin:
            return Q()
        return Q(holder_id__in=scope.writable_organization_ids)


class ScanKind(models.TextChoices):
    PRODUCED = "produced", _("produced")
    PACKED = "packed", _("packed")
    WEIGHED = "weighed", _("weighed")
    CODED = "coded", _("coded")
    STORED = "stored", _("stored")
    REWEIGHED = "reweighed", _("re-weighed")
    MOVED = "moved", _("moved in storage")
    LOADED = "loaded", _("loaded")
    HANDED_OVER = "handed_over", _("handed over")
    RECEIVED = "received", _("received")
    UTILIZED = "utilized", _("utilized")
    DISPOSED = "disposed", _("disposed")
    SELF_UTILIZED = "self_utilized", _("self-utilized")
    SELF_DISPOSED = "self_disposed", _("self-disposed")
    MERGED = "merged", _("merged")
    SPLIT = "split", _("split")


class ScanEvent(models.Model):
    """One touch of a container: who, when, where, and the weight if re-weighed.

    Rows are only ever added (the audit chain also records each one); the ledgers are
    aggregates of these rows.
    """

    container = models.ForeignKey(Container, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=14, choices=ScanKind.choices)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("on behalf of"))
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    weight_tonnes = models.DecimalField(_("weight (t)"), max_digits=18, decimal_places=6, null=True, blank=True)
    expected_weight_tonnes = models.DecimalField(_("recorded weight (t)"), max_digits=18, decimal_places=6,
                                                 null=True, blank=True)
    discrepancy = models.BooleanField(_("weight discrepancy"), default=False)
    method = models.CharField(_("utilization / disposal method"), max_length=6, blank=True)
    related_container = models.ForeignKey(Container, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    to_organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name=_("handed over to"))
    reference = models.CharField(_("reference (e.g. manifest number)"), max_length=40, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["organization", "kind", "occurred_at"]),
            models.Index(fields=["container", "occurred_at"]),
        ]

    def __str__(self):
        return f"{self.container_id} {self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        return Q(container__in=Container.objects.visible_to(scope))

    @classmethod
    def editability_q(cls, scope):
        return Q(pk__in=[])  # events are never edited


class CodeSequence(models.Model):
    """The last sequence number used for a generator, waste code and day (the code's 4th segment)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    waste = models.ForeignKey(HazardousWaste, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "waste", "day"], name="code_sequence_unique")]

    def __str__(self):
        return f"{self.organization_id}/{self.waste_id}/{self.day}: {self.last}"
