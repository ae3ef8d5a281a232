"""Ledgers (HJ 1259 台账), management plans (管理计划), annual declarations (申报登记) and the
general industrial solid waste monthly e-ledger (一般工业固体废物电子月台账).

The hazardous waste ledger is derived from container scan events (wufei.tracking) and kept
in LedgerMonth rows that `build_ledger` rebuilds; nothing in it is typed by hand.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wufei.catalog.models import HazardousWaste, TreatmentMethod
from wufei.core.models import AuditedModel, ScopedQuerySet
from wufei.core.scope import nothing
from wufei.registry.models import Organization, Site, organization_q

TONNES = {"max_digits": 18, "decimal_places": 6}


class OrganizationOwned(AuditedModel):
    """Seen by the organization's people and its regulators; written by its admins and members."""

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def visibility_q(cls, scope):
        return organization_q(scope, "organization__")

    @classmethod
    def editability_q(cls, scope):
        return organization_q(scope, "organization__", ids=scope.writable_organization_ids)


class LedgerMonth(models.Model):
    """One organization, waste code and month of the hazardous waste ledger, derived from scan events.

    opening + generated + received_in − self_utilized − self_disposed − utilized − disposed − transferred_out
    = closing. self_*: the unit's own waste in its own facility (自行利用 / 自行处置); utilized / disposed: waste it
    received from others, as a licensed operator (经营利用 / 处置). Storage in/out are the movements through the
    storage facility (HJ 1259 入库 / 出库).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="ledger_months")
    waste = models.ForeignKey(HazardousWaste, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    opening_stock = models.DecimalField(_("opening stock (t)"), **TONNES, default=0)
    generated = models.DecimalField(_("generated (t)"), **TONNES, default=0)
    received_in = models.DecimalField(_("received (t)"), **TONNES, default=0)
    stored_in = models.DecimalField(_("into storage (t)"), **TONNES, default=0)
    stored_out = models.DecimalField(_("out of storage (t)"), **TONNES, default=0)
    self_utilized = models.DecimalField(_("self-utilized (t)"), **TONNES, default=0)
    self_disposed = models.DecimalField(_("self-disposed (t)"), **TONNES, default=0)
    utilized = models.DecimalField(_("received waste utilized (t)"), **TONNES, default=0)
    disposed = models.DecimalField(_("received waste disposed of (t)"), **TONNES, default=0)
    transferred_out = models.DecimalField(_("transferred out (t)"), **TONNES, default=0)
    closing_stock = models.DecimalField(_("closing stock (t)"), **TONNES, default=0)
    containers = models.PositiveIntegerField(_("containers generated"), default=0)
    built_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["organization_id", "year", "month", "waste_id"]
        constraints = [models.UniqueConstraint(fields=["organization", "waste", "year", "month"],
                                               name="ledger_month_unique")]

    def __str__(self):
        return f"{self.organization_id} {self.waste_id} {self.year}-{self.month:02d}"

    @classmethod
    def visibility_q(cls, scope):
        return organization_q(scope, "organization__")

    @classmethod
    def editability_q(cls, scope):
        return Q(pk__in=[])  # derived: rebuilt, never edited


class LedgerDirty(models.Model):
    """An organization's year whose LedgerMonth rows no longer follow its scan events (written with the events, in
    their transaction: wufei/ledgers/upkeep.py); a build of that year deletes the marks it has caught up with."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "year"], name="ledger_dirty_unique")]

    def __str__(self):
        return f"{self.organization_id} {self.year}"


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    RETURNED = "returned", _("returned for revision")


class ManagementPlan(OrganizationOwned):
    """Annual hazardous waste management plan of one site (HJ 1259; filed by 31 March)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="management_plans")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    revision = models.PositiveSmallIntegerField(_("revision"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT)
    due_date = models.DateField(_("due date"))
    reduction_measures = models.TextField(_("reduction measures"), blank=True)
    storage_measures = models.TextField(_("storage measures"), blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    review_comment = models.TextField(_("review comment"), blank=True)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")

    class Meta:
        ordering = ["-year", "organization_id", "-revision"]
        constraints = [models.UniqueConstraint(fields=["organization", "site", "year", "revision"],
                                               name="management_plan_revision_unique")]

    def __str__(self):
        return f"{self.organization_id} {self.year} r{self.revision}"


class PlanStream(models.Model):
    """A waste stream of a plan: planned generation, storage and in-house processing."""

    plan = models.ForeignKey(ManagementPlan, on_delete=models.CASCADE, related_name="streams")
    waste = models.ForeignKey(HazardousWaste, on_delete=models.PROTECT, related_name="+")
    planned_generation = models.DecimalField(_("planned generation (t)"), **TONNES)
    storage_site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    planned_self_processing = models.DecimalField(_("planned in-house utilization / disposal (t)"), **TONNES,
                                                  default=0)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["plan_id", "waste_id"]

    def __str__(self):
        return f"{self.plan_id} {self.waste_id}"


class PlanTransfer(models.Model):
    """A planned transfer: receiver, code, quantity and method (the manifests check against these)."""

    plan = models.ForeignKey(ManagementPlan, on_delete=models.CASCADE, related_name="transfers")
    waste = models.ForeignKey(HazardousWaste, on_delete=models.PROTECT, related_name="+")
    receiver = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    planned_quantity = models.DecimalField(_("planned quantity (t)"), **TONNES)
    method = models.ForeignKey(TreatmentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["plan_id", "waste_id"]

    def __str__(self):
        return f"{self.plan_id} {self.waste_id} → {self.receiver_id}"


class DeclarationStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")


class AnnualDeclaration(OrganizationOwned):
    """The yearly declaration (申报登记) drafted from the ledger and confirmed or adjusted by the unit."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="declarations")
    year = models.PositiveSmallIntegerField(_("year"))
    status = models.CharField(_("status"), max_length=10, choices=DeclarationStatus.choices,
                              default=DeclarationStatus.DRAFT)
    due_date = models.DateField(_("due date"))
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_late = models.BooleanField(default=False)

    class Meta:
        ordering = ["-year", "organization_id"]
        constraints = [models.UniqueConstraint(fields=["organization", "year"], name="declaration_unique")]

    def __str__(self):
        return f"{self.organization_id} {self.year}"


class DeclarationLine(models.Model):
    """One waste code of a declaration: the ledger's figure, the declared figure and the reason for any change."""

    FIELDS = ("opening_stock", "generated", "received_in", "self_utilized", "self_disposed", "utilized", "disposed",
              "transferred_out", "closing_stock")

    declaration = models.ForeignKey(AnnualDeclaration, on_delete=models.CASCADE, related_name="lines")
    waste = models.ForeignKey(HazardousWaste, on_delete=models.PROTECT, related_name="+")
    field = models.CharField(max_length=20)
    ledger_value = models.DecimalField(_("ledger figure (t)"), **TONNES)
    declared_value = models.DecimalField(_("declared figure (t)"), **TONNES)
    adjustment_reason = models.CharField(_("reason for the change"), max_length=500, blank=True)

    class Meta:
        ordering = ["declaration_id", "waste_id", "field"]
        constraints = [models.UniqueConstraint(fields=["declaration", "waste", "field"],
                                               name="declaration_line_unique")]

    def __str__(self):
        return f"{self.declaration_id} {self.waste_id} {self.field}"


class SpotCheckDraw(AuditedModel):
    """One random draw of a year's submitted declarations in a region (抽查), with everything it read so that anyone
    can redo it: `choose_sample(pool, share_percent, seed) == drawn`. The seed comes from the server. The first
    draw of a year and region is `sequence` 1; a further one (2, 3 …) needs a reason."""

    year = models.PositiveSmallIntegerField(_("declared year"))
    region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    sequence = models.PositiveSmallIntegerField(_("draw number"), default=1)
    share_percent = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)
    seed = models.CharField(_("seed"), max_length=64)
    pool = models.JSONField(_("declarations drawn from"), default=list)  # their ids, ascending
    drawn = models.JSONField(_("declarations drawn"), default=list)
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason for a further draw"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["year", "region", "sequence"],
                                               name="spot_check_draw_once_per_number")]

    def __str__(self):
        return f"draw {self.sequence} of {self.year} in {self.region_id}"

    @classmethod
    def visibility_q(cls, scope):
        return scope.region_q("region__path")

    @classmethod
    def editability_q(cls, scope):
        return nothing()


class SpotCheck(AuditedModel):
    """A data-quality spot check (抽查核查) of a submitted declaration, drawn at random by a regulator."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("pending")
        CONSISTENT = "consistent", _("consistent")
        DISCREPANCY = "discrepancy", _("discrepancy found")

    declaration = models.ForeignKey(AnnualDeclaration, on_delete=models.PROTECT, related_name="spot_checks")
    draw = models.ForeignKey(SpotCheckDraw, null=True, blank=True, on_delete=models.PROTECT, related_name="checks")
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    draw_seed = models.CharField(_("draw seed"), max_length=64)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.PENDING)
    findings = models.TextField(_("findings"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"spot check {self.pk} of {self.declaration_id}"

    @classmethod
    def visibility_q(cls, scope):
        return organization_q(scope, "declaration__organization__")

    @classmethod
    def editability_q(cls, scope):
        return Q() if scope.is_platform_admin else scope.region_q("declaration__organization__region__path")


class SolidWasteMonth(OrganizationOwned):
    """One month and one general industrial solid waste code of the electronic monthly ledger.

    opening_stock + generated = self_utilized + entrusted_utilization + self_disposed
    + entrusted_disposal + closing_stock (t); a month that does not balance is refused.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="solid_waste_months")
    code = models.CharField(_("solid waste code"), max_length=20)
    name = models.CharField(_("name"), max_length=100, blank=True)
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    opening_stock = models.DecimalField(_("opening stock (t)"), **TONNES, default=0)
    generated = models.DecimalField(_("generated (t)"), **TONNES, default=0)
    self_utilized = models.DecimalField(_("utilized in-house (t)"), **TONNES, default=0)
    entrusted_utilization = models.DecimalField(_("entrusted for utilization (t)"), **TONNES, default=0)
    self_disposed = models.DecimalField(_("disposed in-house (t)"), **TONNES, default=0)
    entrusted_disposal = models.DecimalField(_("entrusted for disposal (t)"), **TONNES, default=0)
    closing_stock = models.DecimalField(_("closing stock (t)"), **TONNES, default=0)
    receiver = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("entrusted receiver"))

    class Meta:
        ordering = ["organization_id", "year", "month", "code"]
        constraints = [models.UniqueConstraint(fields=["organization", "code", "year", "month"],
                                               name="solid_waste_month_unique")]

    def __str__(self):
        return f"{self.organization_id} {self.code} {self.year}-{self.month:02d}"
