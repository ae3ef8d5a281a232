from django.contrib import admin

from wufei.cases.models import Report, ReportPhoto


class PhotoInline(admin.TabularInline):
    model = ReportPhoto
    extra = 0
    readonly_fields = ("path", "name", "size", "sha256")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("number", "kind", "status", "region", "place", "submitted_at")
    list_filter = ("kind", "status")
    search_fields = ("number", "place", "organization_named")
    raw_id_fields = ("organization", "assignee")
    readonly_fields = ("secret_hash",)
    inlines = [PhotoInline]
