"""Plan implementation (实施方案的落实): task lists, key projects, zero-waste cells and progress reports.

A `Plan` is one district's implementation plan. Its task list (建设任务清单) has `Section`s; a
`Task` is a merged group of the printed table (one 任务 name) holding one or more `TaskItem`s,
the numbered rows (序号) that carry the content, the lead and responsible units and the deadline;
progress is reported on items. `KeyProject`s (重点工程) carry investment as printed and as read,
period, status, milestones, spend and, once built, the registry facility (Site).

Units (`ResponsibleUnit`) are the names the plans print ("区生态环境局", "各乡镇（街道）"), kept
verbatim per district and linked to a registry Department or Organization when one matches.

Who sees what (`visibility_q`):
- the plan's overseers — regulators whose region covers the plan's district, and members of the
  leading group's office (the plan's `leading_office` department) — see and manage everything;
- a unit's people (members of its Department, writers of its Organization) see the rows the unit is
  assigned to, and report on them; nobody else sees them.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wufei.catalog.models import Region
from wufei.core.models import AuditedModel, ScopedQuerySet
from wufei.programme import plan_text
from wufei.registry.models import Department, Organization, Site


def overseer_q(scope, prefix: str = "") -> Q:
    """Plans (reached by `prefix`, e.g. 'plan__') the caller oversees: regional regulators and the leading office."""
    if scope.is_platform_admin:
        return Q()
    query = scope.region_q(f"{prefix}region__path")
    if scope.department_ids:
        query |= Q(**{f"{prefix}leading_office_id__in": scope.department_ids})
    return query


def units_of(scope, *, writable: bool = False):
    """The units the caller acts for: its departments' units and its organizations' units (writers only if asked)."""
    organizations = scope.writable_organization_ids if writable else scope.organization_ids
    return ResponsibleUnit.objects.filter(Q(department_id__in=scope.department_ids)
                                          | Q(organization_id__in=organizations))


class Plan(AuditedModel):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("district"))
    title = models.CharField(_("title"), max_length=200)
    issuer = models.CharField(_("issued by"), max_length=200, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    start_year = models.PositiveSmallIntegerField(_("first year"))
    end_year = models.PositiveSmallIntegerField(_("last year"))
    reporting_starts_on = models.DateField(_("progress reporting starts on"))
    leading_office = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", verbose_name=_("leading group office"))
    leading_office_name = models.CharField(_("leading group office as printed"), max_length=100, blank=True)
    printed_project_total = models.DecimalField(_("printed total investment (10k CNY)"), max_digits=14,
                                                decimal_places=2, null=True, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["region_id", "start_year", "code"]
        verbose_name = _("implementation plan")
        verbose_name_plural = _("implementation plans")

    def __str__(self):
        return self.title

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        units = units_of(scope)
        assigned = (Q(pk__in=TaskItem.objects.filter(assignments__unit__in=units).values("plan_id"))
                    | Q(pk__in=KeyProject.objects.filter(assignments__unit__in=units).values("plan_id")))
        if not (scope.department_ids or scope.organization_ids):
            assigned = Q(pk__in=[])
        return overseer_q(scope) | assigned

    @classmethod
    def editability_q(cls, scope):
        return overseer_q(scope)


class Section(AuditedModel):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="sections")
    ordinal = models.PositiveSmallIntegerField(_("order"))
    title = models.CharField(_("title"), max_length=200)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["plan", "ordinal"], name="programme_section_unique")]
        verbose_name = _("section")
        verbose_name_plural = _("sections")

    def __str__(self):
        return self.title

    @classmethod
    def visibility_q(cls, scope):
        return Q(plan__in=Plan.objects.visible_to(scope))

    @classmethod
    def editability_q(cls, scope):
        return overseer_q(scope, "plan__")


class Task(AuditedModel):
    """A task of the list: one merged 任务 cell and the numbered rows (items) under it."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tasks")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="tasks")
    ordinal = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("task as printed"), max_length=200, blank=True)
    inferred_name = models.CharField(_("name read from the body text"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["plan", "ordinal"], name="programme_task_unique")]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.inferred_name or str(_("(no task name printed)"))

    @classmethod
    def visibility_q(cls, scope):
        return overseer_q(scope, "plan__") | Q(pk__in=TaskItem.objects.visible_to(scope).values("task_id"))

    @classmethod
    def editability_q(cls, scope):
        return overseer_q(scope, "plan__")


class Progress(models.TextChoices):
    NOT_STARTED = "not_started", _("not started")
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETED = "completed", _("completed")


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETED = "completed", _("completed")
    SUSPENDED = "suspended", _("suspended")


class DeadlineFields(models.Model):
    """The printed deadline and what `plan_text.parse_deadline` read from it."""

    deadline_text = models.CharField(_("deadline as printed"), max_length=60, blank=True)
    deadline_kind = models.CharField(_("deadline kind"), max_length=10, choices=list(plan_text.DEADLINE_KINDS.items()))
    deadline_reason = models.CharField(_("why there is no due date"), max_length=20, blank=True)
    start_date = models.DateField(_("starts"), null=True, blank=True)
    due_date = models.DateField(_("due"), null=True, blank=True, db_index=True)

    class Meta:
        abstract = True

    def set_deadline(self, deadline: plan_text.Deadline) -> None:
        self.deadline_text = deadline.text
        self.deadline_kind = deadline.kind
        self.deadline_reason = deadline.reason
        self.start_date = deadline.start
        self.due_date = deadline.due

    @property
    def deadline_reason_label(self) -> str:
        return str(plan_text.DEADLINE_REASONS.get(self.deadline_reason, ""))


class ResponsibleUnit(AuditedModel):
    """A unit as a plan prints it, per district; linked to the registry when a department or organization matches."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("district"))
    name = models.CharField(_("name as printed"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=list(plan_text.UNIT_KINDS.items()))
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="programme_units", verbose_name=_("department"))
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="programme_units", verbose_name=_("organization"))
    match_note = models.CharField(_("how it was matched"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["region_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="programme_unit_unique"),
            models.CheckConstraint(condition=Q(department__isnull=True) | Q(organization__isnull=True),
                                   name="programme_unit_one_link"),
        ]
        verbose_name = _("responsible unit")
        verbose_name_plural = _("responsible units")

    def __str__(self):
        return self.name

    @property
    def is_linked(self) -> bool:
        return bool(self.department_id or self.organization_id)

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        mine = Q(department_id__in=scope.department_ids) | Q(organization_id__in=scope.organization_ids)
        overseen = Q(region_id__in=Plan.objects.filter(overseer_q(scope)).values("region_id"))
        return mine | overseen

    @classmethod
    def editability_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        return Q(region_id__in=Plan.objects.filter(overseer_q(scope)).values("region_id"))


class Role(models.TextChoices):
    LEAD = "lead", _("lead unit")
    RESPONSIBLE = "responsible", _("responsible / cooperating unit")


def overseen_or_assigned_q(scope, assignments, target: str) -> Q:
    """Rows of a plan the caller oversees, or assigned (through `assignments`, a callable giving the
    assignment manager: the model is defined below) to one of the caller's units."""
    if scope.is_platform_admin:
        return Q()
    query = overseer_q(scope, "plan__")
    if scope.department_ids or scope.organization_ids:
        query |= Q(pk__in=assignments().filter(unit__in=units_of(scope)).values(target))
    return query


class TaskItem(DeadlineFields, AuditedModel):
    """A numbered row of the task list (序号): what is to be done, by whom, by when, and how far it is."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="items")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="items")
    number = models.PositiveSmallIntegerField(_("number"))
    content = models.TextField(_("content"))
    lead_text = models.CharField(_("lead units as printed"), max_length=300, blank=True)
    responsible_text = models.CharField(_("responsible units as printed"), max_length=400, blank=True)
    indicator_names = models.JSONField(_("linked indicators"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Progress.choices, default=Progress.NOT_STARTED)
    percent = models.PositiveSmallIntegerField(_("percent done"), default=0)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    last_report_at = models.DateTimeField(_("last report"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="programme_item_unique")]
        verbose_name = _("task item")
        verbose_name_plural = _("task items")

    def __str__(self):
        return f"{self.number}. {self.task.display_name}"

    def is_overdue(self, today) -> bool:
        return self.status != Progress.COMPLETED and self.due_date is not None and self.due_date < today

    @classmethod
    def visibility_q(cls, scope):
        return overseen_or_assigned_q(scope, lambda: TaskAssignment.objects, "item_id")

    @classmethod
    def editability_q(cls, scope):
        return overseer_q(scope, "plan__")


class TaskAssignment(AuditedModel):
    item = models.ForeignKey(TaskItem, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(ResponsibleUnit, on_delete=models.PROTECT, related_name="task_assignments")
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    position = models.PositiveSmallIntegerField(_("position in the cell"), default=0)

    class Meta:
        ordering = ["item_id", "role", "position"]
        constraints = [models.UniqueConstraint(fields=["item", "unit", "role"], name="programme_assignment_unique")]

    def __str__(self):
        return f"{self.item_id}: {self.unit} ({self.role})"


class KeyProject(DeadlineFields, AuditedModel):
    """A key project (重点工程 / 重点项目) with its investment as printed and as read."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="projects")
    number = models.PositiveSmallIntegerField(_("number"))
    group_title = models.CharField(_("part"), max_length=100, blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)
    name = models.CharField(_("name as printed"), max_length=200, blank=True)
    content = models.TextField(_("content and scale"))
    capacities = models.JSONField(_("capacities stated"), default=list, blank=True)
    units_text = models.CharField(_("responsible units as printed"), max_length=300, blank=True)
    investment_text = models.CharField(_("investment as printed"), max_length=30, blank=True)
    investment_kind = models.CharField(_("investment kind"), max_length=12,
                                       choices=list(plan_text.INVESTMENT_KINDS.items()))
    investment = models.DecimalField(_("investment (10k CNY)"), max_digits=14, decimal_places=2, null=True,
                                     blank=True)
    merge_group = models.CharField(_("merged cells"), max_length=20, blank=True,
                                   help_text=_("rows sharing a merged cell of the printed table"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ProjectStatus.choices,
                              default=ProjectStatus.PLANNED)
    percent = models.PositiveSmallIntegerField(_("percent done"), default=0)
    spend_to_date = models.DecimalField(_("spent to date (10k CNY)"), max_digits=14, decimal_places=2, null=True,
                                        blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    last_report_at = models.DateTimeField(_("last report"), null=True, blank=True)
    facility = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="programme_projects", verbose_name=_("built facility"))

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="programme_project_unique")]
        verbose_name = _("key project")
        verbose_name_plural = _("key projects")

    def __str__(self):
        return f"{self.number}. {self.display_name}"

    @property
    def display_name(self) -> str:
        """The printed name; for a row under a merged name cell, the name its merge group prints."""
        if self.name:
            return self.name
        shared = KeyProject.objects.filter(plan_id=self.plan_id, merge_group=self.merge_group).exclude(name="") \
            .values_list("name", flat=True).first() if self.merge_group else None
        return shared or str(_("(name cell merged with the row above)"))

    @property
    def investment_reading(self) -> plan_text.Investment:
        return plan_text.Investment(self.investment_text, self.investment_kind, self.investment)

    def is_overdue(self, today) -> bool:
        return self.status != ProjectStatus.COMPLETED and self.due_date is not None and self.due_date < today

    @classmethod
    def visibility_q(cls, scope):
        return overseen_or_assigned_q(scope, lambda: ProjectAssignment.objects, "project_id")

    @classmethod
    def editability_q(cls, scope):
        return overseer_q(scope, "plan__")


class ProjectAssignment(AuditedModel):
    project = models.ForeignKey(KeyProject, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(ResponsibleUnit, on_delete=models.PROTECT, related_name="project_assignments")
    position = models.PositiveSmallIntegerField(_("position in the cell"), default=0)

    class Meta:
        ordering = ["project_id", "position"]
        constraints = [models.UniqueConstraint(fields=["project", "unit"], name="programme_project_unit_unique")]

    def __str__(self):
        return f"{self.project_id}: {self.unit}"


class Milestone(AuditedModel):
    project = models.ForeignKey(KeyProject, on_delete=models.CASCADE, related_name="milestones")
    ordinal = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("milestone"), max_length=200)
    due_date = models.DateField(_("due"), null=True, blank=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "ordinal", "id"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")

    def __str__(self):
        return self.title

    def is_overdue(self, today) -> bool:
        return self.done_on is None and self.due_date is not None and self.due_date < today

    @classmethod
    def visibility_q(cls, scope):
        return Q(project__in=KeyProject.objects.visible_to(scope))

    @classmethod
    def editability_q(cls, scope):
        return overseer_q(scope, "project__plan__")


class ProgressReport(AuditedModel):
    """What a unit reports on an item or a project: status, percent, narrative, evidence. Never edited: a
    correction is a new report."""

    item = models.ForeignKey(TaskItem, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    project = models.ForeignKey(KeyProject, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    unit = models.ForeignKey(ResponsibleUnit, on_delete=models.PROTECT, related_name="reports")
    status = models.CharField(_("status"), max_length=12)
    percent = models.PositiveSmallIntegerField(_("percent done"))
    narrative = models.TextField(_("progress"))
    spend_to_date = models.DecimalField(_("spent to date (10k CNY)"), max_digits=14, decimal_places=2, null=True,
                                        blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(
            condition=(Q(item__isnull=False, project__isnull=True) | Q(item__isnull=True, project__isnull=False)),
            name="programme_report_item_or_project")]
        indexes = [models.Index(fields=["unit", "created_at"])]
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")

    def __str__(self):
        return f"{self.unit} {self.created_at:%Y-%m-%d}"

    @property
    def subject(self):
        return self.item or self.project

    @classmethod
    def visibility_q(cls, scope):
        return Q(item__in=TaskItem.objects.visible_to(scope)) | Q(project__in=KeyProject.objects.visible_to(scope))

    @classmethod
    def editability_q(cls, scope):
        return Q(unit__in=units_of(scope, writable=True))


class Evidence(AuditedModel):
    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="evidence")
    path = models.CharField(_("stored as"), max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["report_id", "id"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self):
        return self.name

    @classmethod
    def visibility_q(cls, scope):
        return Q(report__in=ProgressReport.objects.visible_to(scope))

    @classmethod
    def editability_q(cls, scope):
        return Q(report__unit__in=units_of(scope, writable=True))


class CellType(models.TextChoices):
    OFFICE = "office", plan_text.CELL_TYPES["office"]
    SCHOOL = "school", plan_text.CELL_TYPES["school"]
    SCENIC_AREA = "scenic_area", plan_text.CELL_TYPES["scenic_area"]
    RESIDENTIAL = "residential", plan_text.CELL_TYPES["residential"]
    BUSINESS_DISTRICT = "business_district", plan_text.CELL_TYPES["business_district"]
    RESTAURANT = "restaurant", plan_text.CELL_TYPES["restaurant"]
    FACTORY = "factory", plan_text.CELL_TYPES["factory"]
    PARK = "park", plan_text.CELL_TYPES["park"]
    MALL = "mall", plan_text.CELL_TYPES["mall"]
    HOSPITAL = "hospital", plan_text.CELL_TYPES["hospital"]
    MARKET = "market", plan_text.CELL_TYPES["market"]
    VILLAGE = "village", plan_text.CELL_TYPES["village"]
    OTHER = "other", plan_text.CELL_TYPES["other"]


class CellTarget(AuditedModel):
    """How many zero-waste cells a plan targets, per type (blank type: all types together)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="cell_targets")
    cell_type = models.CharField(_("type"), max_length=20, choices=CellType.choices, blank=True)
    target = models.PositiveIntegerField(_("target"))
    text = models.CharField(_("as printed"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "cell_type"]
        constraints = [models.UniqueConstraint(fields=["plan", "cell_type"], name="programme_cell_target_unique")]

    def __str__(self):
        return f"{self.plan_id} {self.cell_type or '*'}: {self.target}"

    @classmethod
    def visibility_q(cls, scope):
        return Q(plan__in=Plan.objects.visible_to(scope))

    @classmethod
    def editability_q(cls, scope):
        return overseer_q(scope, "plan__")


class CellStatus(models.TextChoices):
    APPLIED = "applied", _("applied")
    ASSESSED = "assessed", _("assessed, passed")
    CERTIFIED = "certified", _("certified")
    REJECTED = "rejected", _("not passed")


class ZeroWasteCell(AuditedModel):
    """A zero-waste cell (无废城市细胞): application → assessment → certification."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="cells")
    cell_type = models.CharField(_("type"), max_length=20, choices=CellType.choices)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("organization"))
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("department"))
    application = models.TextField(_("what the unit did"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=CellStatus.choices, default=CellStatus.APPLIED)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    score = models.DecimalField(_("assessment score"), max_digits=5, decimal_places=1, null=True, blank=True)
    findings = models.TextField(_("assessment findings"), blank=True)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    assessed_on = models.DateField(_("assessed on"), null=True, blank=True)
    certificate_number = models.CharField(_("certificate number"), max_length=60, blank=True)
    certified_on = models.DateField(_("certified on"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "cell_type", "name"]
        constraints = [models.UniqueConstraint(fields=["plan", "cell_type", "name"], name="programme_cell_unique")]
        verbose_name = _("zero-waste cell")
        verbose_name_plural = _("zero-waste cells")

    def __str__(self):
        return self.name

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        query = overseer_q(scope, "plan__") | Q(department_id__in=scope.department_ids) \
            | Q(organization_id__in=scope.organization_ids)
        if scope.user_id:
            query |= Q(applied_by_id=scope.user_id)
        return query

    @classmethod
    def editability_q(cls, scope):
        return overseer_q(scope, "plan__")
