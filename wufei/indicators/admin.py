from django.contrib import admin

from wufei.indicators.models import DataRequest, Indicator, Judgement, Plan, PlanIndicator, QuantityValue, Target


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level1", "mark", "unit", "kind", "numerator", "denominator")
    list_filter = ("level1", "mark", "kind")
    search_fields = ("code", "name")


class TargetInline(admin.TabularInline):
    model = Target
    extra = 0


@admin.register(PlanIndicator)
class PlanIndicatorAdmin(admin.ModelAdmin):
    list_display = ("plan", "number", "name", "baseline_text", "responsible")
    list_filter = ("plan",)
    inlines = [TargetInline]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "region", "baseline_year")


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin):
    list_display = ("department", "region", "year", "due_date", "status")
    list_filter = ("status", "year")


@admin.register(QuantityValue)
class QuantityValueAdmin(admin.ModelAdmin):
    list_display = ("region", "year", "key", "value", "state", "status")
    list_filter = ("status", "year", "key")


admin.site.register(Judgement)
