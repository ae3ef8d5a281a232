from django.contrib import admin

from wufei.core.models import ApiToken, AuditEvent, Job, Parameter


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "entity_type", "entity_id", "action", "actor_label")
    list_filter = ("entity_type", "action")
    search_fields = ("entity_id", "actor_label")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Parameter)
class ParameterAdmin(admin.ModelAdmin):
    list_display = ("key", "region_code", "value", "reason", "updated_at")
    search_fields = ("key", "region_code")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Background jobs: what runs, what failed and why (the traceback), for the platform administrator."""

    list_display = ("id", "name", "label", "status", "progress", "attempts", "created_at", "finished_at")
    list_filter = ("status", "name")
    search_fields = ("name", "label", "error")
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
