"""Manifests in the Django admin: read-only. Every change goes through manifests.services, which checks the
step table (manifests/machine.py), moves the containers and writes the signatures and the audit chain."""

from django.contrib import admin

from wufei.manifests.models import (
    CrossProvinceApplication,
    CrossProvinceRule,
    Manifest,
    ManifestContainer,
    ManifestLine,
    Revision,
    Signature,
    TransportLeg,
    Webhook,
    WebhookDelivery,
)
from wufei.tracking.admin import ReadOnlyAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LineInline(ReadOnlyInline):
    model = ManifestLine
    fields = ("position", "waste", "general_code", "waste_name", "container_count", "shipped_tonnes",
              "accepted_tonnes", "refused_tonnes", "planned_method", "method", "processed_on")
    readonly_fields = fields


class LegInline(ReadOnlyInline):
    model = TransportLeg
    fields = ("position", "transporter", "vehicle", "driver_name", "taken_at", "handed_at")
    readonly_fields = fields


class SignatureInline(ReadOnlyInline):
    model = Signature
    fields = ("step", "organization", "signer_name", "method", "signed_at")
    readonly_fields = fields


class CarriedInline(ReadOnlyInline):
    model = ManifestContainer
    fields = ("container", "line", "shipped_tonnes", "received_tonnes", "refused")
    readonly_fields = fields


@admin.register(Manifest)
class ManifestAdmin(ReadOnlyAdmin):
    list_display = ("number", "kind", "purpose", "status", "generator", "receiver", "shipped_tonnes",
                    "discrepancy", "cross_province_basis", "submitted_at")
    list_filter = ("status", "kind", "purpose", "discrepancy", "cross_province_basis")
    search_fields = ("number", "generator__name", "generator__uscc", "receiver__name", "receiver__uscc")
    date_hierarchy = "created_at"
    list_select_related = ("generator", "receiver")
    raw_id_fields = ("generator", "receiver", "generator_site", "receiver_site", "follows", "application")
    inlines = [LineInline, LegInline, CarriedInline, SignatureInline]


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ("manifest", "requested_by", "status", "cancel", "created_at", "decided_at")
    list_filter = ("status", "cancel")


@admin.register(CrossProvinceApplication)
class CrossProvinceApplicationAdmin(ReadOnlyAdmin):
    list_display = ("pk", "kind", "generator", "receiver", "origin_province", "destination_province", "waste",
                    "requested_tonnes", "approved_tonnes", "status", "valid_until")
    list_filter = ("kind", "status", "origin_province", "destination_province")
    search_fields = ("generator__name", "receiver__name", "waste__code", "general_code")


@admin.register(CrossProvinceRule)
class CrossProvinceRuleAdmin(ReadOnlyAdmin):
    list_display = ("kind", "origin_province", "destination_province", "generator", "receiver", "code",
                    "valid_from", "valid_until")
    list_filter = ("kind",)


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ("organization", "url", "is_active", "consecutive_failures", "disabled_reason")
    list_filter = ("is_active",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("webhook", "subject_type", "subject_id", "action", "status", "attempts", "next_attempt_at",
                    "last_error")
    list_filter = ("status",)
