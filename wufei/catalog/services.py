"""Catalog look-ups: search and fetch reference rows, regions and their subtrees, zones."""

from django.db import transaction
from django.db.models import Q

from wufei.catalog.models import (
    GeneralSolidWasteCode,
    HazardousWaste,
    HazardousWasteCategory,
    HazardousWasteExemption,
    Region,
    TreatmentMethod,
    Zone,
)
from wufei.core.errors import NotFound, PermissionDenied, ValidationFailed, field_error

WASTE_CODE_FORMAT = r"^\d{3}-\d{3}-\d{2}$"


def search_hazardous_wastes(*, category: str | None = None, q: str | None = None, hazard: str | None = None,
                            industry: str | None = None):
    wastes = HazardousWaste.objects.select_related("category")
    if category:
        wastes = wastes.filter(category_id=category.upper())
    if hazard:
        wastes = wastes.filter(Q(hazards=hazard) | Q(hazards__startswith=f"{hazard},")
                               | Q(hazards__endswith=f",{hazard}") | Q(hazards__contains=f",{hazard},"))
    if industry:
        wastes = wastes.filter(industry_source__contains=industry)
    if q:
        q = q.strip()
        wastes = wastes.filter(Q(code__startswith=q) | Q(description__contains=q) | Q(industry_source__contains=q)
                               | Q(category__name__contains=q))
    return wastes


def get_hazardous_waste(code: str) -> HazardousWaste:
    waste = HazardousWaste.objects.select_related("category").filter(code=code.strip()).first()
    if waste is None:
        raise NotFound(f"{code} is not a code of the national hazardous waste list", code="unknown_waste_code")
    return waste


def categories_with_counts():
    from django.db.models import Count

    return HazardousWasteCategory.objects.annotate(code_count=Count("wastes"))


def get_category(code: str) -> HazardousWasteCategory:
    category = HazardousWasteCategory.objects.filter(code=code.upper()).first()
    if category is None:
        raise NotFound(f"{code} is not a hazardous waste category", code="unknown_waste_category")
    return category


def exemptions_for(code_or_category: str | None = None):
    exemptions = HazardousWasteExemption.objects.all()
    if code_or_category:
        exemptions = exemptions.filter(category_or_code__contains=code_or_category)
    return exemptions


def search_treatment_methods(*, kind: str | None = None, q: str | None = None):
    methods = TreatmentMethod.objects.all()
    if kind:
        methods = methods.filter(kind=kind)
    if q:
        methods = methods.filter(Q(code__iexact=q) | Q(name_zh__contains=q) | Q(name_en__icontains=q))
    return methods


def get_treatment_method(code: str) -> TreatmentMethod:
    method = TreatmentMethod.objects.filter(code=code.strip().upper()).first()
    if method is None:
        raise NotFound(f"{code} is not a utilization / disposal method code", code="unknown_method_code")
    return method


def search_general_solid_wastes(q: str | None = None):
    codes = GeneralSolidWasteCode.objects.all()
    if q:
        codes = codes.filter(Q(code__istartswith=q) | Q(name__contains=q))
    return codes


def search_regions(*, parent: str | None = None, level: str | None = None, q: str | None = None,
                   include_abolished: bool = False):
    regions = Region.objects.all()
    if not include_abolished:
        regions = regions.filter(status="current")
    if parent:
        regions = regions.filter(parent_id=parent)
    if level:
        regions = regions.filter(level=level)
    if q:
        regions = regions.filter(Q(code__startswith=q) | Q(name__contains=q))
    return regions


def get_region(code: str) -> Region:
    region = Region.objects.filter(code=str(code).strip()).first()
    if region is None:
        raise NotFound(f"{code} is not a GB/T 2260 region code", code="unknown_region")
    return region


def region_ancestry(code: str) -> list[Region]:
    """The region and its ancestors, province first."""
    region = get_region(code)
    codes = [part for part in region.path.split("/") if part]
    by_code = Region.objects.in_bulk(codes)
    return [by_code[c] for c in codes]


def regions_under(code: str):
    return Region.objects.filter(path__startswith=get_region(code).path)


def search_zones(*, region: str | None = None, kind: str | None = None, q: str | None = None):
    zones = Zone.objects.select_related("region")
    if region:
        zones = zones.filter(region__path__startswith=get_region(region).path)
    if kind:
        zones = zones.filter(kind=kind)
    if q:
        zones = zones.filter(Q(name__contains=q) | Q(code__istartswith=q))
    return zones


def get_zone(code: str) -> Zone:
    zone = Zone.objects.select_related("region").filter(code=code).first()
    if zone is None:
        raise NotFound(f"{code} is not a known park or special zone", code="unknown_zone")
    return zone


@transaction.atomic
def create_zone(*, scope, code: str, name: str, kind: str, region_code: str, description: str = "") -> Zone:
    region = get_region(region_code)
    if not scope.covers_region_path(region.path):
        raise PermissionDenied("only the regulator of a region can define zones in it")
    errors = []
    if kind not in Zone.Kind.values:
        errors.append(field_error("kind", f"kind must be one of {', '.join(Zone.Kind.values)}"))
    if not code.strip():
        errors.append(field_error("code", "code is required"))
    elif Zone.objects.filter(code=code.strip()).exists():
        errors.append(field_error("code", f"zone code {code} already exists"))
    if not name.strip():
        errors.append(field_error("name", "name is required"))
    if errors:
        raise ValidationFailed("zone is not valid", errors=errors)
    return Zone.objects.create(code=code.strip(), name=name.strip(), kind=kind, region=region,
                               description=description)
