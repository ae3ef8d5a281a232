"""Catalog pages: public, read-only views over `wufei.catalog.services`."""

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from wufei.catalog import services
from wufei.catalog.models import HAZARD_CHARACTERISTICS, TreatmentMethod, Zone
from wufei.core.errors import NotFound, ValidationFailed


def _param(request, name: str) -> str:
    return request.GET.get(name, "").strip()


def _not_found(request, what: str, code: str):
    return render(request, "catalog/not_found.html", {"what": what, "code": code}, status=404)


@require_safe
def index(request):
    general_solid_wastes = list(services.search_general_solid_wastes())
    counts = {
        "hazardous_wastes": services.search_hazardous_wastes().count(),
        "categories": services.categories_with_counts().count(),
        "exemptions": services.exemptions_for().count(),
        "treatment_methods": services.search_treatment_methods().count(),
        "general_solid_wastes": len(general_solid_wastes),
        "general_solid_wastes_unverified": sum(1 for code in general_solid_wastes if not code.verified),
        "provinces": services.search_regions(level="province").count(),
        "regions": services.search_regions().count(),
        "zones": services.search_zones().count(),
    }
    return render(request, "catalog/index.html", {"counts": counts})


@require_safe
def hazardous_wastes(request):
    filters = {"category": _param(request, "category"), "q": _param(request, "q"), "hazard": _param(request, "hazard")}
    error = None
    try:
        wastes = list(services.search_hazardous_wastes(
            category=filters["category"] or None, q=filters["q"] or None, hazard=filters["hazard"] or None))
    except ValidationFailed:
        wastes, error = [], _("Choose a hazard characteristic from the list.")
    return render(request, "catalog/hazardous_wastes.html", {
        "wastes": wastes, "filters": filters, "error": error,
        "categories": services.categories_with_counts(), "hazards": HAZARD_CHARACTERISTICS.items(),
        "filtered": any(filters.values()),
    })


@require_safe
def hazardous_waste_detail(request, code):
    try:
        waste = services.get_hazardous_waste(code)
    except NotFound:
        return _not_found(request, _("hazardous waste code"), code)
    hazards = [(key, HAZARD_CHARACTERISTICS[key]) for key in waste.hazard_list if key in HAZARD_CHARACTERISTICS]
    if "/" in waste.hazard_notation:
        notation_meaning = _("The waste has one or more of these characteristics.")
    elif len(hazards) > 1:
        notation_meaning = _("The waste has the first characteristic and may have the others.")
    else:
        notation_meaning = ""
    return render(request, "catalog/hazardous_waste_detail.html", {
        "waste": waste, "hazards": hazards, "notation_meaning": notation_meaning,
        "exemptions": services.exemptions_for(waste.code),
    })


@require_safe
def categories(request):
    return render(request, "catalog/categories.html", {"categories": services.categories_with_counts()})


@require_safe
def treatment_methods(request):
    filters = {"kind": _param(request, "kind"), "q": _param(request, "q")}
    methods = services.search_treatment_methods(kind=filters["kind"] or None, q=filters["q"] or None)
    return render(request, "catalog/treatment_methods.html", {
        "methods": methods, "filters": filters, "kinds": TreatmentMethod.Kind.choices,
    })


@require_safe
def general_solid_wastes(request):
    codes = list(services.search_general_solid_wastes())
    return render(request, "catalog/general_solid_wastes.html", {
        "codes": codes, "unverified_count": sum(1 for c in codes if not c.verified),
    })


@require_safe
def exemptions(request):
    code = _param(request, "code")
    return render(request, "catalog/exemptions.html", {
        "exemptions": services.exemptions_for(code or None), "code": code,
    })


@require_safe
def regions(request):
    q = _param(request, "q")
    if q:
        found, heading = services.search_regions(q=q, include_abolished=True)[:200], None
    else:
        found, heading = services.search_regions(level="province"), _("Provinces")
    return render(request, "catalog/regions.html", {"regions": found, "q": q, "heading": heading})


@require_safe
def region_detail(request, code):
    try:
        ancestry = services.region_ancestry(code)
    except NotFound:
        return _not_found(request, _("region code"), code)
    region = ancestry[-1]
    return render(request, "catalog/region_detail.html", {
        "region": region, "ancestors": ancestry[:-1],
        "children": services.search_regions(parent=region.code, include_abolished=True),
        "zones": services.search_zones(region=region.code),
    })


@require_safe
def zones(request):
    filters = {"region": _param(request, "region"), "kind": _param(request, "kind")}
    error = None
    try:
        found = list(services.search_zones(region=filters["region"] or None, kind=filters["kind"] or None))
    except NotFound:
        found, error = [], _("No region has this code.")
    return render(request, "catalog/zones.html", {
        "zones": found, "filters": filters, "error": error, "kinds": Zone.Kind.choices,
    })
