"""Plan implementation in the Django admin: read-only. Every change goes through programme.services (reports move
an item's status, cells go application → assessment → certification), which write the audit chain."""

from django.contrib import admin

from wufei.programme.models import (
    CellTarget,
    Evidence,
    KeyProject,
    Milestone,
    Plan,
    ProgressReport,
    ResponsibleUnit,
    TaskAssignment,
    TaskItem,
    ZeroWasteCell,
)
from wufei.tracking.admin import ReadOnlyAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AssignmentInline(ReadOnlyInline):
    model = TaskAssignment
    fields = ("unit", "role", "position")
    readonly_fields = fields


class MilestoneInline(ReadOnlyInline):
    model = Milestone
    fields = ("ordinal", "title", "due_date", "done_on", "note")
    readonly_fields = fields


class CellTargetInline(ReadOnlyInline):
    model = CellTarget
    fields = ("cell_type", "target", "text", "source")
    readonly_fields = fields


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ("code", "title", "region", "start_year", "end_year", "printed_project_total", "leading_office")
    inlines = [CellTargetInline]


@admin.register(TaskItem)
class TaskItemAdmin(ReadOnlyAdmin):
    list_display = ("plan", "number", "task", "lead_text", "deadline_text", "due_date", "status", "percent")
    list_filter = ("plan", "status", "deadline_kind")
    search_fields = ("content", "lead_text", "responsible_text", "task__name")
    list_select_related = ("plan", "task")
    inlines = [AssignmentInline]


@admin.register(KeyProject)
class KeyProjectAdmin(ReadOnlyAdmin):
    list_display = ("plan", "number", "name", "investment_text", "investment_kind", "investment", "merge_group",
                    "deadline_text", "status", "spend_to_date", "facility")
    list_filter = ("plan", "status", "investment_kind")
    raw_id_fields = ("facility",)
    inlines = [MilestoneInline]


@admin.register(ResponsibleUnit)
class ResponsibleUnitAdmin(ReadOnlyAdmin):
    list_display = ("name", "region", "kind", "department", "organization", "match_note")
    list_filter = ("region", "kind")
    search_fields = ("name",)


@admin.register(ProgressReport)
class ProgressReportAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "unit", "item", "project", "status", "percent", "spend_to_date", "submitted_by")
    list_select_related = ("unit", "item", "project", "submitted_by")


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ("name", "report", "size", "sha256")


@admin.register(ZeroWasteCell)
class ZeroWasteCellAdmin(ReadOnlyAdmin):
    list_display = ("name", "plan", "cell_type", "status", "score", "certificate_number", "certified_on")
    list_filter = ("plan", "cell_type", "status")
