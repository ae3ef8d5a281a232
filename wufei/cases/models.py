"""Complaints and illegal-dumping reports from the public (信访投诉举报).

Anyone files a Report without an account; it gets a tracking number (TS + date + serial) and a
follow-up secret shown once (only its SHA-256 is stored). The regulators of the report's region
subtree handle it: accept -> investigating -> closed (a result the reporter reads) or rejected
(a reason the reporter reads); internal notes never leave the queue. Enterprises and departments
never see reports; the reporter's contact details are never shown publicly.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wufei.catalog.models import Region
from wufei.core.models import AuditedModel, ScopedQuerySet
from wufei.registry.models import Organization


class Kind(models.TextChoices):
    COMPLAINT = "complaint", _("complaint")
    ILLEGAL_DUMPING = "illegal_dumping", _("illegal dumping report")
    OTHER = "other", _("other")


class Status(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("report status", "submitted")
    ACCEPTED = "accepted", pgettext_lazy("report status", "accepted")
    INVESTIGATING = "investigating", pgettext_lazy("report status", "investigating")
    CLOSED = "closed", pgettext_lazy("report status", "closed")
    REJECTED = "rejected", pgettext_lazy("report status", "rejected")


OPEN = (Status.SUBMITTED, Status.ACCEPTED, Status.INVESTIGATING)


class Report(AuditedModel):
    number = models.CharField(_("tracking number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("district"))
    region_path = models.CharField(max_length=40, db_index=True)
    place = models.CharField(_("place"), max_length=300)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    description = models.TextField(_("description"))
    organization_named = models.CharField(_("organization named by the reporter"), max_length=200, blank=True)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("organization (registry)"))
    contact_name = models.CharField(_("contact name"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    consent = models.BooleanField(_("consent"), default=False)
    secret_hash = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED,
                              db_index=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("assignee"))
    submitted_at = models.DateTimeField(_("submitted at"), db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    result = models.TextField(_("result (shown to the reporter)"), blank=True)
    rejection_reason = models.CharField(_("reason for rejecting (shown to the reporter)"), max_length=1000,
                                        blank=True)
    internal_note = models.TextField(_("internal notes"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("complaint or report")
        verbose_name_plural = _("complaints and reports")
        indexes = [models.Index(fields=["status", "kind"]), models.Index(fields=["updated_at", "id"])]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @classmethod
    def visibility_q(cls, scope):
        """Regulators of the report's region subtree and platform administrators; nobody else."""
        if scope.is_platform_admin:
            return Q()
        return scope.region_q("region_path")

    @classmethod
    def editability_q(cls, scope):
        return cls.visibility_q(scope)


class ReportPhoto(models.Model):
    """A photo sent with a report, stored by `wufei.core.files.store_evidence`; served only to the regulators."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    path = models.CharField(max_length=300)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name
