from django.contrib import admin

from wufei.catalog.models import HazardousWaste, Region, TreatmentMethod, Zone


@admin.register(HazardousWaste)
class HazardousWasteAdmin(admin.ModelAdmin):
    list_display = ("code", "category", "industry_source", "hazards")
    list_filter = ("category",)
    search_fields = ("code", "description")


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "status")
    list_filter = ("level", "status")
    search_fields = ("code", "name")


@admin.register(TreatmentMethod)
class TreatmentMethodAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "name_zh", "confidence")


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "region")
    search_fields = ("code", "name")
