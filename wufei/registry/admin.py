from django.contrib import admin

from wufei.registry.models import (
    Department,
    DepartmentMembership,
    Membership,
    OperatingPermit,
    Organization,
    OrganizationState,
    PermitLine,
    RegulatorMembership,
    Site,
    Vehicle,
)


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


class OrganizationStateInline(admin.TabularInline):
    """The unit's dated history, written by registry.history whenever the unit is saved: read only."""

    model = OrganizationState
    extra = 0
    can_delete = False
    fields = readonly_fields = ("valid_from", "valid_to", "status", "region", "industry_code", "is_generator",
                                "is_transporter", "is_collector", "is_receiver", "is_medical_institution")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "uscc", "region", "status", "supervision_class", "supervision_override")
    list_filter = ("status", "supervision_class", "is_generator", "is_receiver", "is_transporter")
    search_fields = ("name", "uscc")
    # counted from the containers (registry.services.set_recorded_generation), never typed
    readonly_fields = ("recorded_hw_tonnes_last_year", "recorded_hw_tonnes_12_months", "recorded_hw_as_of")
    inlines = [SiteInline, MembershipInline, OrganizationStateInline]


class PermitLineInline(admin.TabularInline):
    model = PermitLine
    extra = 0


@admin.register(OperatingPermit)
class OperatingPermitAdmin(admin.ModelAdmin):
    list_display = ("number", "organization", "kind", "valid_from", "valid_until", "status")
    inlines = [PermitLineInline]


admin.site.register(Vehicle)
admin.site.register(RegulatorMembership)
admin.site.register(Department)
admin.site.register(DepartmentMembership)
