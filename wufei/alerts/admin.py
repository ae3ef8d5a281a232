from django.contrib import admin

from wufei.alerts.models import Alert, Rule, RuleOverride


class OverrideInline(admin.TabularInline):
    model = RuleOverride
    extra = 0


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("id", "level", "enabled", "auto_close", "source")
    list_filter = ("level", "enabled")
    inlines = [OverrideInline]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "rule", "level", "status", "entity_label", "organization", "region", "opened_at")
    list_filter = ("level", "status", "rule")
    search_fields = ("entity_label", "entity_id")
    raw_id_fields = ("organization", "assignee")
    readonly_fields = ("evidence",)
