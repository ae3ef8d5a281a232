"""Containers in the Django admin: read-only. Every change goes through tracking.services, which checks
the life table (tracking/life.py) and writes the scan events and the audit chain."""

from django.contrib import admin

from wufei.tracking.models import CodeSequence, Container, ScanEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScanEventInline(admin.TabularInline):
    model = ScanEvent
    fk_name = "container"
    extra = 0
    fields = ("occurred_at", "kind", "organization", "actor", "weight_tonnes", "expected_weight_tonnes",
              "discrepancy", "method", "reference", "note")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Container)
class ContainerAdmin(ReadOnlyAdmin):
    list_display = ("code", "organization", "holder", "waste", "net_weight_tonnes", "status", "origin", "produced_at")
    list_filter = ("status", "origin", "physical_form", "packaging")
    search_fields = ("code", "organization__name", "organization__uscc", "waste__code")
    date_hierarchy = "produced_at"
    list_select_related = ("organization", "holder", "waste")
    raw_id_fields = ("organization", "holder", "site", "storage_site", "parent", "split_from")
    inlines = [ScanEventInline]


@admin.register(ScanEvent)
class ScanEventAdmin(ReadOnlyAdmin):
    list_display = ("container", "kind", "occurred_at", "organization", "weight_tonnes", "discrepancy")
    list_filter = ("kind", "discrepancy")
    search_fields = ("container__code", "reference")
    list_select_related = ("container", "organization")
    raw_id_fields = ("container", "organization", "site", "related_container", "actor")


@admin.register(CodeSequence)
class CodeSequenceAdmin(ReadOnlyAdmin):
    list_display = ("organization", "waste", "day", "last")
    search_fields = ("organization__name", "organization__uscc", "waste__code")
    list_select_related = ("organization",)
