"""Zero-waste city indicators: catalog, district plans with baselines and targets, entered quantities
with the data requests that collect them, manual judgements and stored evaluations."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wufei.catalog.models import Region
from wufei.core.models import AuditedModel, ScopedQuerySet
from wufei.core.scope import nothing
from wufei.registry.models import Department

VALUE = {"max_digits": 24, "decimal_places": 8}


def _plan_region_q(scope, lookup: str) -> Q:
    """Regulators over the region's subtree, and departments of the same region."""
    if scope.is_platform_admin:
        return Q()
    query = scope.region_q(f"{lookup}path")
    if scope.department_ids:
        query |= Q(**{f"{lookup}code__in": Department.objects.filter(pk__in=scope.department_ids)
                      .values("region_id")})
    return query


class Mark(models.TextChoices):
    MANDATORY = "mandatory", _("mandatory ★")
    OPTIONAL = "optional", _("optional")
    LOCAL = "local", _("local Δ")


class Indicator(AuditedModel):
    """One indicator of the catalog: the national 2021 system's and local ones, with its formula."""

    class Kind(models.TextChoices):
        RATIO = "ratio", _("formula")
        DIRECT = "direct", _("entered value")
        STATE = "state", _("state")
        INDEX = "index", _("zero-waste index")

    class Direction(models.TextChoices):
        UP = "up", _("higher is better")
        DOWN = "down", _("lower is better")
        NONE = "none", _("no direction")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    level1 = models.CharField(_("level 1"), max_length=40)
    level2 = models.CharField(_("level 2"), max_length=40)
    mark = models.CharField(_("mark"), max_length=10, choices=Mark.choices, default=Mark.OPTIONAL)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices, default=Direction.UP)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.RATIO)
    numerator = models.CharField(_("numerator"), max_length=200)
    denominator = models.CharField(_("denominator"), max_length=200, blank=True)
    scale = models.DecimalField(_("scale"), max_digits=12, decimal_places=6, default=1)
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=2)
    definition = models.TextField(_("definition"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.code} {self.name}"

    @classmethod
    def visibility_q(cls, scope):
        return Q() if scope.is_authenticated else nothing()

    @classmethod
    def editability_q(cls, scope):
        return Q() if scope.is_platform_admin else nothing()


class Plan(AuditedModel):
    """A region's indicator table for a plan period: the chosen indicators, baselines and targets."""

    key = models.SlugField(_("key"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    baseline_year = models.PositiveSmallIntegerField(_("baseline year"))
    target_years = models.JSONField(_("target years"), default=list)
    source = models.TextField(_("source"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["region_id", "key"]

    def __str__(self):
        return self.name

    @classmethod
    def visibility_q(cls, scope):
        return _plan_region_q(scope, "region__")

    @classmethod
    def editability_q(cls, scope):
        return Q() if scope.is_platform_admin else scope.region_q("region__path")


class PlanIndicator(AuditedModel):
    """One row of a plan's table, kept as printed (name, unit, baseline, responsible units)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveSmallIntegerField(_("number"))
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="plan_rows")
    name = models.CharField(_("name as printed"), max_length=200)
    level1 = models.CharField(_("level 1"), max_length=40, blank=True)
    level2 = models.CharField(_("level 2"), max_length=40, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    mark = models.CharField(_("mark as printed"), max_length=10, blank=True)
    baseline_text = models.CharField(_("baseline as printed"), max_length=300, blank=True)
    baseline_value = models.DecimalField(_("baseline value"), **VALUE, null=True, blank=True)
    baseline_year = models.PositiveSmallIntegerField(_("baseline year"), null=True, blank=True)
    responsible = models.CharField(_("responsible units"), max_length=200, blank=True)
    numerator = models.CharField(_("numerator (regional formula)"), max_length=200, blank=True)
    denominator = models.CharField(_("denominator (regional formula)"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="plan_indicator_unique")]

    def __str__(self):
        return f"{self.plan_id} #{self.number} {self.name}"

    @classmethod
    def visibility_q(cls, scope):
        return _plan_region_q(scope, "plan__region__")

    @classmethod
    def editability_q(cls, scope):
        return Q() if scope.is_platform_admin else scope.region_q("plan__region__path")


class Target(AuditedModel):
    """A target of one year, verbatim, with its parsed expression (None: not parsed, judged by hand)."""

    row = models.ForeignKey(PlanIndicator, on_delete=models.CASCADE, related_name="targets")
    year = models.PositiveSmallIntegerField(_("year"))
    text = models.CharField(_("target as printed"), max_length=300)
    expression = models.JSONField(_("expression"), null=True, blank=True)

    class Meta:
        ordering = ["row_id", "year"]
        constraints = [models.UniqueConstraint(fields=["row", "year"], name="target_row_year_unique")]

    def __str__(self):
        return f"{self.row_id} {self.year}: {self.text}"


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    RETURNED = "returned", _("returned for revision")


class DataRequest(AuditedModel):
    """A regulator asks a department for quantities of a region and year, by a due date."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="indicator_requests",
                                   verbose_name=_("department"))
    year = models.PositiveSmallIntegerField(_("year"))
    keys = models.JSONField(_("quantities"), default=list)
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT)
    note = models.CharField(_("note"), max_length=500, blank=True)
    review_comment = models.CharField(_("review comment"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "due_date", "pk"]

    def __str__(self):
        return f"{self.department} {self.year}"

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        return scope.region_q("region__path") | Q(department_id__in=scope.department_ids)

    @classmethod
    def editability_q(cls, scope):
        return cls.visibility_q(scope)


class QuantityValue(AuditedModel):
    """An entered quantity of a region and year (converted to the quantity's base unit), with its evidence."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    key = models.CharField(_("quantity"), max_length=60)
    value = models.DecimalField(_("value"), **VALUE, null=True, blank=True)
    state = models.CharField(_("state"), max_length=100, blank=True)
    entered_value = models.CharField(_("value as entered"), max_length=60, blank=True)
    entered_unit = models.CharField(_("unit as entered"), max_length=20, blank=True)
    evidence = models.TextField(_("evidence"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT)
    request = models.ForeignKey(DataRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="values")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["region_id", "year", "key"]
        constraints = [models.UniqueConstraint(fields=["region", "year", "key"], name="quantity_value_unique")]

    def __str__(self):
        return f"{self.region_id} {self.year} {self.key}={self.value if self.value is not None else self.state}"

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        return scope.region_q("region__path") | Q(request__department_id__in=scope.department_ids)

    @classmethod
    def editability_q(cls, scope):
        return cls.visibility_q(scope)


class QuantityEvidence(AuditedModel):
    """A file proving an entered quantity (statistics table, survey report, photo of a facility …)."""

    value = models.ForeignKey(QuantityValue, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(_("stored as"), max_length=300)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["value_id", "id"]

    def __str__(self):
        return self.name

    @classmethod
    def visibility_q(cls, scope):
        return Q(value__in=QuantityValue.objects.visible_to(scope))

    @classmethod
    def editability_q(cls, scope):
        return Q(value__request__department_id__in=scope.department_ids)


class Judgement(AuditedModel):
    """A regulator's judgement of a target that is judged by hand (完成市级任务, unparsed text)."""

    row = models.ForeignKey(PlanIndicator, on_delete=models.CASCADE, related_name="judgements")
    year = models.PositiveSmallIntegerField(_("year"))
    status = models.CharField(_("status"), max_length=14)
    note = models.CharField(_("note"), max_length=500, blank=True)
    judged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["row", "year"], name="judgement_row_year_unique")]

    def __str__(self):
        return f"{self.row_id} {self.year} {self.status}"


class Evaluation(models.Model):
    """The stored result of evaluating one plan row for one year (rebuilt by `evaluate_plan(store=True)`)."""

    row = models.ForeignKey(PlanIndicator, on_delete=models.CASCADE, related_name="evaluations")
    year = models.PositiveSmallIntegerField()
    value = models.DecimalField(**VALUE, null=True, blank=True)
    numerator = models.DecimalField(**VALUE, null=True, blank=True)
    denominator = models.DecimalField(**VALUE, null=True, blank=True)
    status = models.CharField(max_length=14)
    trend = models.CharField(max_length=10, blank=True)
    inputs = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["row_id", "year"]
        constraints = [models.UniqueConstraint(fields=["row", "year"], name="evaluation_row_year_unique")]

    def __str__(self):
        return f"{self.row_id} {self.year} {self.status}"
