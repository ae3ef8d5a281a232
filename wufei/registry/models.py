"""The organization registry (一企一档): units, their sites, vehicles, permits and people.

Who sees a row is decided by `visibility_q(scope)` on each model: an enterprise
user sees its own organizations, a regulator its region subtree.
"""

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wufei.catalog.models import HazardousWaste, HazardousWasteCategory, Region, TreatmentMethod, Zone
from wufei.core.models import AuditedModel, ScopedQuerySet
from wufei.core.scope import nothing
from wufei.registry import history


def organization_q(scope, path: str = "", *, ids=None) -> Q:
    """Rows whose organization (reached by `path`, e.g. 'organization__') is one of `ids` or in the scope's regions.

    `ids` defaults to the organizations the caller belongs to; pass the writable or admin
    sets for write checks. Platform admins match everything.
    """
    if scope.is_platform_admin:
        return Q()
    ids = scope.organization_ids if ids is None else ids
    return Q(**{f"{path}pk__in": ids}) | scope.region_q(f"{path}region__path")


class SupervisionClass(models.TextChoices):
    KEY = "key", _("key supervision")
    SIMPLIFIED = "simplified", _("simplified management")
    REGISTERED = "registered", _("registration management")


class Organization(AuditedModel):
    """A unit on the platform, identified by its USCC."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        CLOSED = "closed", _("closed")

    uscc = models.CharField(_("USCC"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="organizations",
                               verbose_name=_("region"))
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.PROTECT, related_name="organizations",
                             verbose_name=_("park / zone"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    industry_code = models.CharField(_("industry code (GB/T 4754)"), max_length=5, blank=True)
    industry_name = models.CharField(_("industry"), max_length=100, blank=True)
    legal_representative = models.CharField(_("legal representative"), max_length=50, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)

    is_generator = models.BooleanField(_("generator"), default=False)
    is_transporter = models.BooleanField(_("transporter"), default=False)
    is_collector = models.BooleanField(_("collector"), default=False)
    is_receiver = models.BooleanField(_("receiver / licensed operator"), default=False)
    is_medical_institution = models.BooleanField(_("medical institution"), default=False)

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    registered_on = models.DateField(_("registered on"), default=timezone.localdate,
                                     help_text=_("The day the unit was registered; its registry history (what the "
                                                 "indicators of past years count) starts on this day."))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_reason = models.CharField(_("reason for closing"), max_length=300, blank=True)

    annual_hazardous_waste_tonnes = models.DecimalField(
        _("annual hazardous waste generation (t)"), max_digits=18, decimal_places=6, default=0,
        help_text=_("Declared or estimated; the supervision class uses the larger of this and the quantities "
                    "recorded in containers."),
    )
    # What the unit's containers say it generated (tracking's scan events), kept current by
    # registry.services.set_recorded_generation: after each recorded batch and by the daily
    # `wufei supervision refresh`. Derived figures, like the ledger's: not edited by hand.
    recorded_hw_tonnes_last_year = models.DecimalField(
        _("hazardous waste recorded in the last full year (t)"), max_digits=18, decimal_places=6, default=0)
    recorded_hw_tonnes_12_months = models.DecimalField(
        _("hazardous waste recorded in the last 12 months (t)"), max_digits=18, decimal_places=6, default=0)
    recorded_hw_as_of = models.DateField(_("recorded quantities as of"), null=True, blank=True,
                                         help_text=_("The day the recorded quantities were counted up to; "
                                                     "empty until they are counted for the first time."))
    supervision_class = models.CharField(_("supervision class"), max_length=12, choices=SupervisionClass.choices,
                                         default=SupervisionClass.REGISTERED)
    supervision_basis = models.JSONField(_("basis of the class"), default=dict, blank=True)
    supervision_override = models.CharField(_("class set by regulator"), max_length=12,
                                            choices=SupervisionClass.choices, blank=True)
    supervision_override_reason = models.CharField(_("reason for the regulator's class"), max_length=500,
                                                   blank=True)
    supervision_override_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                                on_delete=models.SET_NULL, related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        indexes = [models.Index(fields=["region", "status"])]

    def __str__(self):
        return self.name

    ROLE_FIELDS = {
        "generator": "is_generator",
        "transporter": "is_transporter",
        "collector": "is_collector",
        "receiver": "is_receiver",
        "medical_institution": "is_medical_institution",
    }

    @property
    def roles(self) -> list[str]:
        return [role for role, attr in self.ROLE_FIELDS.items() if getattr(self, attr)]

    # A basis is a rule name with its numbers (registry.services.compute_supervision_class).
    # Tonnage rules carry the declared and the recorded figures; bases stored before the
    # recorded figures existed carry only "tonnes" and keep their old wording.
    BASIS_MESSAGES = {
        "operating_permit": _("holds a hazardous waste operating permit"),
        "own_facility": _("has its own utilization or disposal facility"),
        "tonnes_key": _("generates %(tonnes)s t/a, at least %(key_min)s t"),
        "tonnes_simplified": _("generates %(tonnes)s t/a, at least %(simplified_min)s t and below %(key_min)s t"),
        "tonnes_registered": _("generates %(tonnes)s t/a, below %(simplified_min)s t"),
    }
    TONNES_BASIS_MESSAGES = {
        "tonnes_key": _("generates %(tonnes)s t/a (%(figures)s), at least %(key_min)s t"),
        "tonnes_simplified": _("generates %(tonnes)s t/a (%(figures)s), at least %(simplified_min)s t and below "
                               "%(key_min)s t"),
        "tonnes_registered": _("generates %(tonnes)s t/a (%(figures)s), below %(simplified_min)s t"),
    }
    BASIS_FIGURES = _("%(decided)s; declared %(declared)s t, recorded %(recorded_last_year)s t in %(last_year)s "
                      "and %(recorded_12_months)s t in the last 12 months")
    BASIS_FIGURES_NOT_COUNTED = _("declared %(declared)s t; the recorded quantities are not counted yet")
    BASIS_DECIDED_BY = {
        "declared": _("as declared"),
        "recorded_last_year": _("as recorded in %(last_year)s"),
        "recorded_12_months": _("as recorded in the last 12 months"),
    }

    @property
    def supervision_basis_text(self) -> str:
        """The computed class's basis in the reader's language (stored as a rule name and its numbers)."""
        basis = self.supervision_basis or {}
        rule = basis.get("rule")
        if rule in self.TONNES_BASIS_MESSAGES and "declared" in basis:
            if basis.get("last_year") is None:
                figures = str(self.BASIS_FIGURES_NOT_COUNTED) % basis
            else:
                decided = str(self.BASIS_DECIDED_BY[basis["decided_by"]]) % basis
                figures = str(self.BASIS_FIGURES) % {**basis, "decided": decided}
            return str(self.TONNES_BASIS_MESSAGES[rule]) % {**basis, "figures": figures}
        message = self.BASIS_MESSAGES.get(rule)
        return str(message) % basis if message else ""

    @property
    def recorded_hw_year(self) -> int | None:
        """The calendar year of `recorded_hw_tonnes_last_year` (None until counted)."""
        return self.recorded_hw_as_of.year - 1 if self.recorded_hw_as_of else None

    @property
    def effective_supervision_class(self) -> str:
        return self.supervision_override or self.supervision_class

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def save(self, *args, effective_on=None, **kwargs):
        """Save, audited, and keep the unit's dated history (`states`) in the same transaction: a change of a
        counted fact takes effect on `effective_on` (default today), a closing on `closed_on` (registry.history)."""
        with transaction.atomic():
            super().save(*args, **kwargs)
            history.follow(self, effective_on=effective_on)

    @classmethod
    def visibility_q(cls, scope):
        return organization_q(scope)

    @classmethod
    def editability_q(cls, scope):
        return organization_q(scope, ids=scope.writable_organization_ids)


class OrganizationState(models.Model):
    """What the registry said of a unit from `valid_from` to the day before `valid_to` (None: still in force): the
    facts the indicators count (status, region, roles, industry code). Written by `registry.history` whenever the
    unit is saved; read through `registry.selectors` to evaluate a past year as the registry stood then."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="states")
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until (exclusive)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Organization.Status.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    industry_code = models.CharField(_("industry code (GB/T 4754)"), max_length=5, blank=True)
    is_generator = models.BooleanField(_("generator"), default=False)
    is_transporter = models.BooleanField(_("transporter"), default=False)
    is_collector = models.BooleanField(_("collector"), default=False)
    is_receiver = models.BooleanField(_("receiver / licensed operator"), default=False)
    is_medical_institution = models.BooleanField(_("medical institution"), default=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["organization_id", "valid_from"]
        verbose_name = _("registry state")
        verbose_name_plural = _("registry history")
        constraints = [
            models.UniqueConstraint(fields=["organization", "valid_from"], name="organization_state_unique_start"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                                   name="organization_state_not_empty"),
        ]
        indexes = [models.Index(fields=["region", "valid_from"])]

    def __str__(self):
        return f"{self.organization_id} {self.valid_from}–{self.valid_to or ''} {self.status}"

    @classmethod
    def visibility_q(cls, scope):
        return organization_q(scope, "organization__")


class OwnedByOrganization(AuditedModel):
    """A row that belongs to one organization and is seen by whoever sees that organization."""

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def visibility_q(cls, scope):
        return organization_q(scope, "organization__")

    @classmethod
    def editability_q(cls, scope):
        return organization_q(scope, "organization__", ids=scope.writable_organization_ids)


class Site(OwnedByOrganization):
    """A production site or facility; storage facilities carry a capacity."""

    class Kind(models.TextChoices):
        PRODUCTION = "production", _("production site")
        STORAGE = "storage", _("storage facility")
        SELF_UTILIZATION = "self_utilization", _("self-utilization facility")
        SELF_DISPOSAL = "self_disposal", _("self-disposal facility")
        OPERATING = "operating", _("utilization / disposal facility")
        COLLECTION_POINT = "collection_point", _("collection point")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sites")
    code = models.CharField(_("site code"), max_length=24, unique=True,
                            help_text=_("HJ 608 style: USCC + 3-digit sequence + P"))
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    address = models.CharField(_("address"), max_length=300, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    storage_capacity_tonnes = models.DecimalField(_("storage capacity (t)"), max_digits=18, decimal_places=6,
                                                  null=True, blank=True)
    design_capacity_tonnes_per_year = models.DecimalField(_("design capacity (t/a)"), max_digits=18,
                                                          decimal_places=6, null=True, blank=True)
    capacity_note = models.CharField(_("capacity as published"), max_length=200, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["organization_id", "code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self):
        return f"{self.name} ({self.code})"


class Vehicle(OwnedByOrganization):
    """A transporter's road vehicle with its dangerous-goods road transport permit (道路运输证)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="vehicles")
    plate = models.CharField(_("plate"), max_length=10, unique=True)
    vehicle_type = models.CharField(_("vehicle type"), max_length=60, blank=True)
    load_capacity_tonnes = models.DecimalField(_("rated load (t)"), max_digits=9, decimal_places=3, null=True,
                                               blank=True)
    transport_permit_number = models.CharField(_("road transport permit number"), max_length=40)
    transport_permit_valid_until = models.DateField(_("permit valid until"))
    is_active = models.BooleanField(_("in service"), default=True)

    class Meta:
        ordering = ["plate"]
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")

    def __str__(self):
        return self.plate


class OperatingPermit(OwnedByOrganization):
    """A hazardous waste operating permit (危险废物经营许可证) and, through its lines, what it allows."""

    class Kind(models.TextChoices):
        COMPREHENSIVE = "comprehensive", _("collection, storage, utilization and disposal")
        COLLECTION = "collection", _("collection only")
        SMALL_VOLUME_COLLECTION = "small_volume_collection", _("small-volume collection")
        MEDICAL_WASTE = "medical_waste", _("medical waste disposal")

    class Status(models.TextChoices):
        VALID = "valid", _("valid")
        SUSPENDED = "suspended", _("suspended")
        REVOKED = "revoked", _("revoked")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="permits")
    number = models.CharField(_("permit number"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    issuing_authority = models.CharField(_("issued by"), max_length=100, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.VALID)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="permits")

    class Meta:
        ordering = ["number"]
        verbose_name = _("operating permit")
        verbose_name_plural = _("operating permits")

    def __str__(self):
        return self.number

    def is_valid_on(self, day) -> bool:
        return self.status == self.Status.VALID and self.valid_from <= day <= self.valid_until


class PermitLine(AuditedModel):
    """One line of a permit: a waste code or a whole category, annual capacity and allowed methods."""

    permit = models.ForeignKey(OperatingPermit, on_delete=models.CASCADE, related_name="lines")
    waste = models.ForeignKey(HazardousWaste, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(HazardousWasteCategory, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    annual_capacity_tonnes = models.DecimalField(_("annual capacity (t/a)"), max_digits=18, decimal_places=6)
    methods = models.ManyToManyField(TreatmentMethod, blank=True, related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["permit_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(waste__isnull=False, category__isnull=True)
                           | Q(waste__isnull=True, category__isnull=False)),
                name="permit_line_code_or_category",
            )
        ]

    def __str__(self):
        return f"{self.permit_id}: {self.scope_label}"

    @property
    def scope_label(self) -> str:
        return self.waste_id or self.category_id

    def covers(self, waste_code: str) -> bool:
        return self.waste_id == waste_code if self.waste_id else waste_code.endswith(self.category_id[2:])

    @classmethod
    def visibility_q(cls, scope):
        return organization_q(scope, "permit__organization__")

    @classmethod
    def editability_q(cls, scope):
        return organization_q(scope, "permit__organization__", ids=scope.writable_organization_ids)


# --- people ---------------------------------------------------------------------------------

class Membership(AuditedModel):
    """A person acting for an organization."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("administrator")
        MEMBER = "member", _("member")
        DRIVER = "driver", _("driver")
        READER = "reader", _("reader")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} @ {self.organization_id} ({self.role})"

    @classmethod
    def visibility_q(cls, scope):
        return organization_q(scope, "organization__")

    @classmethod
    def editability_q(cls, scope):
        return Q() if scope.is_platform_admin else Q(organization_id__in=scope.admin_organization_ids)


class RegulatorMembership(AuditedModel):
    """A person working for an ecology and environment authority, seeing a region subtree."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="regulator_roles")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    authority = models.CharField(_("authority"), max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "region"], name="regulator_membership_unique")]

    def __str__(self):
        return f"{self.user} @ {self.authority}"


class Department(AuditedModel):
    """A government department that reports data and progress (区城市管理局, 区农业农村委 …)."""

    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "region"], name="department_unique")]
        ordering = ["region_id", "name"]

    def __str__(self):
        return self.name

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        return Q(pk__in=scope.department_ids) | scope.region_q("region__path")

    @classmethod
    def editability_q(cls, scope):
        return scope.region_q("region__path") if scope.region_paths or scope.is_platform_admin else nothing()


class DepartmentMembership(AuditedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="department_roles")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="department_membership_unique")]

    def __str__(self):
        return f"{self.user} @ {self.department}"


# --- change requests (变更申请) ----------------------------------------------------------------

class ChangeRequest(AuditedModel):
    """A unit asks its regulator to change a field that decides how it is supervised.

    The old value stays in force until the regulator of the unit's region approves (the change then goes
    through the registry's services, audited old → new) or refuses with a reason. `base_value` is the value
    in force when the request was filed: approving after it moved is refused. `subject` names what changes
    (the field, "permit:<id>" / "permit:new", or "site_kind:<id>"); a unit has at most one pending request per
    subject.
    """

    class Field(models.TextChoices):
        ANNUAL_HAZARDOUS_WASTE_TONNES = "annual_hazardous_waste_tonnes", _("declared annual hazardous waste (t)")
        ROLES = "roles", _("roles")
        REGION = "region", _("region")
        PERMIT = "permit", _("operating permit")
        SITE_KIND = "site_kind", _("kind of a site (own utilization or disposal facility)")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the regulator")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="change_requests")
    field = models.CharField(_("field"), max_length=40, choices=Field.choices)
    permit = models.ForeignKey(OperatingPermit, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="change_requests", help_text=_("the permit to replace, if any"))
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="change_requests",
                             help_text=_("the site whose kind changes"))
    subject = models.CharField(max_length=60)
    value = models.JSONField(_("requested value"))
    base_value = models.JSONField(_("value when filed"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("reason for the decision"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        constraints = [models.UniqueConstraint(fields=["organization", "subject"], condition=Q(status="pending"),
                                               name="change_request_one_pending_per_subject")]
        indexes = [models.Index(fields=["status", "organization"])]

    def __str__(self):
        return f"{self.organization_id} {self.field} ({self.status})"

    @classmethod
    def visibility_q(cls, scope):
        """The unit's writers (not its drivers or readers) and the regulators of its region."""
        return organization_q(scope, "organization__", ids=scope.writable_organization_ids)

    @classmethod
    def editability_q(cls, scope):
        """Regulators of the unit's region decide."""
        return scope.region_q("organization__region__path") if scope.is_regulator else nothing()


def change_request_attachment_path(instance, filename):
    return f"change-requests/{instance.request_id}/{filename}"


class ChangeRequestAttachment(models.Model):
    """A supporting file of a change request (licence scan, EIA approval …); the chain records its SHA-256."""

    request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=change_request_attachment_path, max_length=300)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.name
