"""Electronic transfer manifests (电子转移联单) and what they depend on.

One engine for three kinds (hazardous, medical, general industrial solid waste). A manifest
names its parties — generator (移出人), one or more ordered transport legs (承运人), receiver
(接受人) — and its lines, built from containers where the waste has them. Every signature
moves it through the state machine in `machine.py` and seals the fields of its section.

Cross-province transfers need an application approved by the origin province with the
destination's consent (跨省转移审批), or a whitelist / point-to-point exemption configured by
a province, or — for general industrial waste going to utilization — a filing (备案).

Visibility: the parties (generator, transporters, receiver) and the regulators of the
generator's or the receiver's region.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wufei.catalog.models import HazardousWaste, Region, TreatmentMethod
from wufei.core.models import AuditedModel, ScopedQuerySet
from wufei.core.scope import nothing
from wufei.core.units import Quantity, Unit
from wufei.registry.models import Organization, Site, Vehicle
from wufei.tracking.models import Container

TONNES = {"max_digits": 18, "decimal_places": 6}


class ManifestKind(models.TextChoices):
    HAZARDOUS = "hazardous", _("hazardous waste")
    MEDICAL = "medical", _("medical waste")
    GENERAL = "general", _("general industrial solid waste")


class ManifestStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    IN_TRANSIT = "in_transit", _("in transit")
    RECEIVED = "received", _("received")
    REFUSED = "refused", _("refused")
    PROCESSED = "processed", _("processed")
    CANCELLED = "cancelled", _("cancelled")


class Reception(models.TextChoices):
    ACCEPTED = "accepted", _("accepted")
    PARTIAL = "partial", _("partially refused")
    REFUSED = "refused", _("refused")


class Purpose(models.TextChoices):
    """Why the manifest exists: an ordinary transfer, or the follow-up of an earlier one."""

    TRANSFER = "transfer", _("transfer")
    COLLECTION = "collection", _("small-volume collection")
    FORWARD = "forward", _("forwarding of collected waste")
    RETURN = "return", _("return of a refused load")
    ONWARD = "onward", _("refused load sent onward")


# What a manifest's accepted tonnes count as in the figures (cockpit, indicators, lists), by its purpose.
# Transferred (转移): waste leaving the unit that produced it — to a receiver, to a collector, or onward after a
# refusal; a collector forwarding what it collected is the same waste moving on, a return brings it back.
# Received (接收): waste reaching the facility that utilizes or disposes of it — a collector's intake is not
# (the forwarding that follows is), nor is a returned load.
TRANSFERRED_PURPOSES = (Purpose.TRANSFER, Purpose.COLLECTION, Purpose.ONWARD)
RECEIVED_PURPOSES = (Purpose.TRANSFER, Purpose.FORWARD, Purpose.ONWARD)


class CrossProvinceBasis(models.TextChoices):
    NONE = "", _("not cross-province")
    APPROVAL = "approval", _("approved application")
    WHITELIST = "whitelist", _("whitelist")
    POINT_TO_POINT = "point_to_point", _("point-to-point utilization exemption")
    FILING = "filing", _("filing (utilization)")


def party_q(scope, prefix: str = "") -> Q:
    """Manifests (reached by `prefix`) where one of the caller's organizations is a party, or in its regions."""
    if scope.is_platform_admin:
        return Q()
    ids = scope.organization_ids
    return (Q(**{f"{prefix}generator_id__in": ids}) | Q(**{f"{prefix}receiver_id__in": ids})
            | Q(**{f"{prefix}legs__transporter_id__in": ids})
            | scope.region_q(f"{prefix}generator__region__path") | scope.region_q(f"{prefix}receiver__region__path"))


class ManifestQuerySet(ScopedQuerySet):
    def visible_to(self, scope):
        if scope.is_platform_admin:
            return self.all()
        return self.filter(pk__in=Manifest.objects.filter(party_q(scope)).values("pk"))


ACCESS_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
ACCESS_CODE_LENGTH = 8  # 40 bits


def new_access_code() -> str:
    """A fresh random access code (8 characters of Crockford's base 32)."""
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(ACCESS_CODE_LENGTH))


class Manifest(AuditedModel):
    number = models.CharField(_("manifest number"), max_length=14, unique=True, null=True, blank=True)
    # printed only on the manifest (its PDF and QR link): with the number, it opens the public page's details
    access_code = models.CharField(_("access code"), max_length=ACCESS_CODE_LENGTH, default=new_access_code,
                                   editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=ManifestKind.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices, default=Purpose.TRANSFER)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.TONNE)
    status = models.CharField(_("status"), max_length=12, choices=ManifestStatus.choices,
                              default=ManifestStatus.DRAFT, db_index=True)
    follows = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="followed_by",
                                verbose_name=_("follows manifest"))

    generator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="manifests_out",
                                  verbose_name=_("generator (consignor)"))
    generator_site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("from site"))
    receiver = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="manifests_in",
                                 verbose_name=_("receiver"))
    receiver_site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("to site"))
    emergency_measures = models.CharField(_("emergency measures"), max_length=500, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    cross_province_basis = models.CharField(_("cross-province basis"), max_length=16,
                                            choices=CrossProvinceBasis.choices, blank=True)
    application = models.ForeignKey("CrossProvinceApplication", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="manifests", verbose_name=_("cross-province application"))
    plan_warning = models.CharField(_("management plan warning"), max_length=300, blank=True)

    shipped_tonnes = models.DecimalField(_("shipped (t)"), **TONNES, default=0)
    received_tonnes = models.DecimalField(_("received (weighbridge, t)"), **TONNES, null=True, blank=True)
    accepted_tonnes = models.DecimalField(_("accepted (t)"), **TONNES, default=0)
    refused_tonnes = models.DecimalField(_("refused (t)"), **TONNES, default=0)
    reception = models.CharField(_("reception"), max_length=10, choices=Reception.choices, blank=True)
    refusal_reason = models.CharField(_("reason for refusal"), max_length=500, blank=True)
    discrepancy = models.BooleanField(_("quantity discrepancy"), default=False, db_index=True)
    discrepancy_percent = models.DecimalField(_("difference (%)"), max_digits=9, decimal_places=3, null=True,
                                              blank=True)

    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    picked_up_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = ManifestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("transfer manifest")
        verbose_name_plural = _("transfer manifests")
        indexes = [models.Index(fields=["generator", "status"]), models.Index(fields=["receiver", "status"]),
                   models.Index(fields=["updated_at", "id"])]

    def __str__(self):
        return self.number or f"#{self.pk}"

    @property
    def is_cross_province(self) -> bool:
        return self.generator.region_id[:2] != self.receiver.region_id[:2]

    @classmethod
    def visibility_q(cls, scope):
        return party_q(scope)

    @classmethod
    def editability_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        ids = scope.organization_ids
        return Q(generator_id__in=ids) | Q(receiver_id__in=ids) | Q(legs__transporter_id__in=ids)


class ManifestLine(models.Model):
    """One waste on the manifest: its code, name, quantity shipped and what became of it."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    waste = models.ForeignKey(HazardousWaste, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("hazardous waste code"))
    general_code = models.CharField(_("general solid waste code"), max_length=20, blank=True)
    waste_name = models.CharField(_("waste name"), max_length=200)
    physical_form = models.CharField(_("physical form"), max_length=12, blank=True)
    hazards = models.CharField(_("hazard characteristics"), max_length=20, blank=True)
    packaging = models.CharField(_("packaging"), max_length=12, blank=True)
    container_count = models.PositiveIntegerField(_("packages"), default=0)
    shipped_tonnes = models.DecimalField(_("shipped (t)"), **TONNES, default=0)
    received_tonnes = models.DecimalField(_("received (t)"), **TONNES, null=True, blank=True)
    accepted_tonnes = models.DecimalField(_("accepted (t)"), **TONNES, default=0)
    refused_tonnes = models.DecimalField(_("refused (t)"), **TONNES, default=0)
    # the unit of the line's quantities (its kind's, manifests/kinds.py); where it is not tonnes, the quantities
    # as measured are kept here and the tonnes fields hold their conversion by the stream's documented factor
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.TONNE)
    shipped_quantity = models.DecimalField(_("shipped (in its unit)"), **TONNES, null=True, blank=True)
    received_quantity = models.DecimalField(_("received (in its unit)"), **TONNES, null=True, blank=True)
    planned_method = models.ForeignKey(TreatmentMethod, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", verbose_name=_("intended method"))
    method = models.ForeignKey(TreatmentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("utilization / disposal method"))
    processed_on = models.DateField(_("processed on"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["manifest_id", "position"]
        constraints = [models.UniqueConstraint(fields=["manifest", "position"], name="manifest_line_position")]

    def __str__(self):
        return f"{self.manifest_id}/{self.position} {self.code}"

    @property
    def code(self) -> str:
        return self.waste_id or self.general_code

    @property
    def shipped(self) -> Quantity:
        """What the line ships, in its unit."""
        if self.unit == Unit.TONNE:
            return Quantity(self.shipped_tonnes, Unit.TONNE)
        return Quantity(self.shipped_quantity or Decimal(0), self.unit)

    @property
    def received(self) -> Quantity | None:
        """What the receiver measured, in the line's unit (None before receipt)."""
        if self.unit == Unit.TONNE:
            return None if self.received_tonnes is None else Quantity(self.received_tonnes, Unit.TONNE)
        return None if self.received_quantity is None else Quantity(self.received_quantity, self.unit)

    @classmethod
    def visibility_q(cls, scope):
        return Q(manifest__in=Manifest.objects.visible_to(scope))

    @classmethod
    def editability_q(cls, scope):
        return nothing()


class ManifestContainer(models.Model):
    """A container carried on a manifest line, with the weight shipped and what the receiver found."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="carried")
    line = models.ForeignKey(ManifestLine, on_delete=models.CASCADE, related_name="carried")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="manifest_entries")
    shipped_tonnes = models.DecimalField(_("shipped (t)"), **TONNES)
    received_tonnes = models.DecimalField(_("received (t)"), **TONNES, null=True, blank=True)
    refused = models.BooleanField(_("refused"), default=False)

    class Meta:
        ordering = ["manifest_id", "line_id", "id"]
        constraints = [models.UniqueConstraint(fields=["manifest", "container"], name="manifest_container_once")]

    def __str__(self):
        return f"{self.manifest_id}: {self.container_id}"


class TransportLeg(models.Model):
    """One carrier's part of the journey (联运: several ordered legs)."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="legs")
    position = models.PositiveSmallIntegerField()
    transporter = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("transporter"))
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("vehicle"))
    driver_name = models.CharField(_("driver"), max_length=50, blank=True)
    driver_phone = models.CharField(_("driver's phone"), max_length=30, blank=True)
    start_place = models.CharField(_("from"), max_length=200, blank=True)
    end_place = models.CharField(_("to"), max_length=200, blank=True)
    taken_at = models.DateTimeField(_("taken over at"), null=True, blank=True)
    handed_at = models.DateTimeField(_("handed over at"), null=True, blank=True)

    class Meta:
        ordering = ["manifest_id", "position"]
        constraints = [models.UniqueConstraint(fields=["manifest", "position"], name="transport_leg_position")]

    def __str__(self):
        return f"{self.manifest_id} leg {self.position}: {self.transporter_id}"


class SignatureMethod(models.TextChoices):
    SESSION = "session", _("logged-in member")
    SIGNING_CODE = "signing_code", _("signing code at the gate")


class Signature(models.Model):
    """A party's signature of a step; each one is also a link of the audit chain."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="signatures")
    step = models.CharField(_("step"), max_length=16)
    leg = models.ForeignKey(TransportLeg, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("signed for"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("signed by"))
    signer_name = models.CharField(_("signer"), max_length=150)
    method = models.CharField(_("how"), max_length=14, choices=SignatureMethod.choices)
    signed_at = models.DateTimeField(_("signed at"))
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        ordering = ["manifest_id", "signed_at", "id"]

    def __str__(self):
        return f"{self.manifest_id} {self.step} by {self.organization_id}"


class SigningCode(models.Model):
    """An organization's gate signing code (PIN): stored hashed; wrong entries lock out the person who typed them
    (SigningCodeFailure), never the organization."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="signing_code")
    digest = models.CharField(max_length=200)
    # set before codes had at least 6 digits: it may be shorter, and a shorter code no longer signs
    needs_renewal = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"signing code of {self.organization_id}"


class SigningCodeFailure(models.Model):
    """One wrong signing code of `organization` typed by `user` (signed in, or by one of the user's API tokens) for
    a manifest. Counted per person and manifest, and per person over all manifests of a day."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    manifest = models.ForeignKey("Manifest", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["organization", "user", "at"], name="signing_failure_guesser")]

    def __str__(self):
        return f"wrong signing code of {self.organization_id} by {self.user_id}"


class RevisionStatus(models.TextChoices):
    PENDING = "pending", _("awaiting approval")
    APPROVED = "approved", _("approved and applied")
    REJECTED = "rejected", _("rejected")


class Revision(AuditedModel):
    """A change to sealed fields (or a cancellation) after a signature, approved by the other signed parties."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="revisions")
    requested_by = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    changes = models.JSONField(_("changes"), default=dict)
    cancel = models.BooleanField(_("cancel the manifest"), default=False)
    reason = models.CharField(_("reason"), max_length=500)
    approvers = models.JSONField(_("approvals needed"), default=list)
    approvals = models.JSONField(_("approved by"), default=list)
    status = models.CharField(_("status"), max_length=10, choices=RevisionStatus.choices,
                              default=RevisionStatus.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"revision {self.pk} of {self.manifest_id}"

    @classmethod
    def visibility_q(cls, scope):
        return Q(manifest__in=Manifest.objects.visible_to(scope))

    @classmethod
    def editability_q(cls, scope):
        return nothing()


class ManifestSequence(models.Model):
    """The last serial used for a year and city (numbers: year + province + city + 6-digit serial)."""

    prefix = models.CharField(max_length=8, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.prefix}: {self.last}"


# --- cross-province transfers ------------------------------------------------------------------

class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted to the province of origin")
    CONSULTING = "consulting", _("origin consents, awaiting the destination")
    DESTINATION_CONSENTED = "dest_consented", _("destination consents, awaiting approval")
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")
    FILED = "filed", _("filed")


class ApplicationKind(models.TextChoices):
    APPROVAL = "approval", _("approval (storage / disposal, hazardous waste)")
    FILING = "filing", _("filing (utilization of general industrial waste)")


class CrossProvinceApplication(AuditedModel):
    """跨省转移申请 (or 备案): asked by the generator in the province of origin; regulators consent and approve."""

    kind = models.CharField(_("kind"), max_length=10, choices=ApplicationKind.choices,
                            default=ApplicationKind.APPROVAL)
    generator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="cross_province_out",
                                  verbose_name=_("generator"))
    receiver = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="cross_province_in",
                                 verbose_name=_("receiver"))
    origin_province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                                        verbose_name=_("province of origin"))
    destination_province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                                             verbose_name=_("destination province"))
    waste = models.ForeignKey(HazardousWaste, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("hazardous waste code"))
    general_code = models.CharField(_("general solid waste code"), max_length=20, blank=True)
    waste_name = models.CharField(_("waste name"), max_length=200)
    method = models.ForeignKey(TreatmentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("utilization / disposal method"))
    requested_tonnes = models.DecimalField(_("requested (t)"), **TONNES)
    requested_until = models.DateField(_("requested until"))
    status = models.CharField(_("status"), max_length=16, choices=ApplicationStatus.choices,
                              default=ApplicationStatus.SUBMITTED)
    approved_tonnes = models.DecimalField(_("approved (t)"), **TONNES, null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)
    history = models.JSONField(_("decisions"), default=list)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("cross-province transfer application")
        verbose_name_plural = _("cross-province transfer applications")

    def __str__(self):
        return f"{self.pk} {self.generator_id}→{self.receiver_id} {self.code}"

    @property
    def code(self) -> str:
        return self.waste_id or self.general_code

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        ids = scope.organization_ids
        return (Q(generator_id__in=ids) | Q(receiver_id__in=ids) | scope.region_q("origin_province__path")
                | scope.region_q("destination_province__path") | scope.region_q("generator__region__path")
                | scope.region_q("receiver__region__path"))

    @classmethod
    def editability_q(cls, scope):
        """Acting on an application is for the two provinces (the services check which step is whose)."""
        if scope.is_platform_admin:
            return Q()
        return (Q(generator_id__in=scope.writable_organization_ids) | scope.region_q("origin_province__path")
                | scope.region_q("destination_province__path"))


class TransferRuleKind(models.TextChoices):
    WHITELIST = "whitelist", _("whitelist (白名单)")
    POINT_TO_POINT = "point_to_point", _("point-to-point utilization exemption (点对点定向利用豁免)")


class CrossProvinceRule(AuditedModel):
    """A province's standing permission: a whitelist between two provinces, or a point-to-point exemption.

    Blank generator / receiver / code means any; the code may be a full code or a category (HWxx).
    """

    kind = models.CharField(_("kind"), max_length=16, choices=TransferRuleKind.choices)
    origin_province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                                        verbose_name=_("province of origin"))
    destination_province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                                             verbose_name=_("destination province"))
    generator = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("generator"))
    receiver = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("receiver"))
    code = models.CharField(_("waste code or category"), max_length=20, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["origin_province_id", "destination_province_id", "id"]

    def __str__(self):
        return f"{self.kind} {self.origin_province_id}→{self.destination_province_id} {self.code or '*'}"

    def covers_code(self, code: str) -> bool:
        if not self.code:
            return True
        if self.code.upper().startswith("HW") and len(self.code) == 4:  # a category covers its 8-digit codes
            return len(code) == 10 and code[3] == "-" and code.endswith("-" + self.code[2:])
        return code == self.code

    @classmethod
    def visibility_q(cls, scope):
        if scope.is_platform_admin:
            return Q()
        ids = scope.organization_ids
        return (Q(generator_id__in=ids) | Q(receiver_id__in=ids) | scope.region_q("origin_province__path")
                | scope.region_q("destination_province__path"))

    @classmethod
    def editability_q(cls, scope):
        return scope.region_q("origin_province__path") if not scope.is_platform_admin else Q()


# --- webhooks ----------------------------------------------------------------------------------

class Webhook(AuditedModel):
    """An organization's endpoint told about its manifests (payload: id and action only)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("address"), max_length=500)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["organization_id", "id"]

    def __str__(self):
        return self.url

    @classmethod
    def visibility_q(cls, scope):
        return Q() if scope.is_platform_admin else Q(organization_id__in=scope.organization_ids)

    @classmethod
    def editability_q(cls, scope):
        return Q() if scope.is_platform_admin else Q(organization_id__in=scope.admin_organization_ids)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    subject_type = models.CharField(max_length=20, default="manifest")  # manifest, alert …
    subject_id = models.BigIntegerField()
    action = models.CharField(max_length=30)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.webhook_id} {self.subject_type}:{self.subject_id} {self.action} {self.status}"

    def body(self) -> dict:
        """What is POSTed (without the delivery id): the payload queued with it (older rows: a manifest's)."""
        return self.payload or {"id": self.subject_id, "action": self.action}
