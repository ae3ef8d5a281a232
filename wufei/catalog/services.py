"""Catalog look-ups: search and fetch reference rows, regions and their subtrees, zones; which stream a waste
code belongs to (medical waste) and which units are industrial sources (GB/T 4754)."""

import re

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from wufei.catalog import streams
from wufei.catalog.models import (
    HAZARD_CHARACTERISTICS,
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
# Industrial sources: GB/T 4754-2017 sections B (mining, divisions 06–12), C (manufacturing, 13–43) and
# D (electricity, heat, gas and water production and supply, 44–46), as the statistics of 工业固体废物 /
# 工业危险废物 count them. A registry industry code is a division, group or class ("3974", "C3974", "39")
# or a bare section letter; everything else (auto repair 8111, schools 83xx, labs 7452, hospitals 84xx,
# waste treatment 7724 …) is a non-industrial (social) source.
INDUSTRIAL_INDUSTRY_CODE = r"^([BCD]$|[BCD]?(0[6-9]|[1-3][0-9]|4[0-6]))"


def is_medical_code(code: str | None) -> bool:
    """Whether a hazardous waste code is medical waste (HW01): the stream table decides (catalog.streams)."""
    return streams.is_medical_code(code)


def medical_code_q(code_field: str = "waste__code") -> Q:
    """Rows whose hazardous waste code (`code_field`) is medical waste (HW01), as catalog.streams says."""
    return streams.medical_q(code_field)


def is_industrial_source(industry_code: str | None, *, is_medical_institution: bool = False) -> bool:
    """Whether a unit is an industrial source: not a medical institution and, when its industry is registered,
    an industry of GB/T 4754 sections B–D. A unit without an industry code counts as industrial (the registry
    does not say it is not)."""
    if is_medical_institution:
        return False
    code = (industry_code or "").strip().upper()
    return not code or re.match(INDUSTRIAL_INDUSTRY_CODE, code) is not None


def industrial_source_q(organization: str = "organization") -> Q:
    """Rows whose unit (the relation `organization`; "" for organizations themselves) is an industrial source,
    as `is_industrial_source`."""
    prefix = f"{organization}__" if organization else ""
    return Q(**{f"{prefix}is_medical_institution": False}) & (
        Q(**{f"{prefix}industry_code": ""}) | Q(**{f"{prefix}industry_code__iregex": INDUSTRIAL_INDUSTRY_CODE}))


def search_hazardous_wastes(*, category: str | None = None, q: str | None = None, hazard: str | None = None,
                            industry: str | None = None):
    wastes = HazardousWaste.objects.select_related("category")
    if category:
        wastes = wastes.filter(category_id=category.strip().upper())
    if hazard:
        hazard = normalize_hazard(hazard)
        wastes = wastes.filter(Q(hazards=hazard) | Q(hazards__startswith=f"{hazard},")
                               | Q(hazards__endswith=f",{hazard}") | Q(hazards__contains=f",{hazard},"))
    if industry:
        wastes = wastes.filter(industry_source__contains=industry)
    if q:
        q = q.strip()
        # icontains, not contains: SQLite's LIKE ignores ASCII case and PostgreSQL's does not ("VOCs").
        wastes = wastes.filter(Q(code__startswith=q) | Q(description__icontains=q)
                               | Q(industry_source__icontains=q) | Q(category__name__icontains=q))
    return wastes


def normalize_hazard(hazard: str) -> str:
    """'t' -> 'T', 'in' -> 'In'; an unknown characteristic is a validation error, not an empty list.

    (The hazard filter uses LIKE, which ignores case on SQLite only: without this, 'i' would
    find different rows on SQLite and PostgreSQL.)
    """
    by_lower = {key.lower(): key for key in HAZARD_CHARACTERISTICS}
    key = by_lower.get(hazard.strip().lower())
    if key is None:
        raise ValidationFailed(_("hazard must be one of %(options)s") % {"options": ", ".join(HAZARD_CHARACTERISTICS)},
                               errors=[field_error("hazard", _("unknown hazard characteristic"))])
    return key


def get_hazardous_waste(code: str) -> HazardousWaste:
    waste = HazardousWaste.objects.select_related("category").filter(code=code.strip()).first()
    if waste is None:
        raise NotFound(_("%(code)s is not a code of the national hazardous waste list") % {"code": code},
                       code="unknown_waste_code")
    return waste


def categories_with_counts():
    from django.db.models import Count

    return HazardousWasteCategory.objects.annotate(code_count=Count("wastes"))


def get_category(code: str) -> HazardousWasteCategory:
    category = HazardousWasteCategory.objects.filter(code=code.upper()).first()
    if category is None:
        raise NotFound(_("%(code)s is not a hazardous waste category") % {"code": code}, code="unknown_waste_category")
    return category


def exemptions_for(code_or_category: str | None = None):
    """Exemption rows that apply to a waste code or a category.

    For a code (900-041-49): the rows naming that code and the rows naming its whole category (HW49).
    For a category (HW01): the rows naming the category and the rows naming any of its codes.
    Anything else is matched as text inside the row's category-or-code cell.
    """
    exemptions = HazardousWasteExemption.objects.all()
    if not code_or_category:
        return exemptions
    value = code_or_category.strip()
    if re.match(WASTE_CODE_FORMAT, value):
        return exemptions.filter(Q(category_or_code__contains=value) | Q(category_or_code=f"HW{value[-2:]}"))
    if re.match(r"^[Hh][Ww]\d{2}$", value):
        category, number = value.upper(), value[-2:]
        # Cells hold codes joined by ';', each ending in its category number: '-49' at the end or before ';'.
        return exemptions.filter(Q(category_or_code=category) | Q(category_or_code__endswith=f"-{number}")
                                 | Q(category_or_code__contains=f"-{number};"))
    return exemptions.filter(category_or_code__contains=value)


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
        raise NotFound(_("%(code)s is not a utilization / disposal method code") % {"code": code},
                       code="unknown_method_code")
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
        raise NotFound(_("%(code)s is not a GB/T 2260 region code") % {"code": code}, code="unknown_region")
    return region


def regions_by_code(codes) -> dict[str, Region]:
    """{code: Region} of the codes that exist, with one query (what `get_region` finds for each, misses left out)."""
    return Region.objects.in_bulk({str(code).strip() for code in codes})


def zones_by_code(codes) -> dict[str, Zone]:
    """{code: Zone, its region selected} of the codes that exist, with one query (as `get_zone` for each)."""
    return {zone.code: zone for zone in Zone.objects.select_related("region").filter(code__in=set(codes))}


def hazardous_wastes_by_code(codes) -> dict[str, HazardousWaste]:
    """{code: HazardousWaste, its category selected} with one query (as `get_hazardous_waste` for each)."""
    return {waste.code: waste for waste in HazardousWaste.objects.select_related("category").filter(
        code__in={code.strip() for code in codes})}


def categories_by_code(codes) -> dict[str, HazardousWasteCategory]:
    """{code: HazardousWasteCategory} with one query (as `get_category` for each, codes upper-cased)."""
    return HazardousWasteCategory.objects.in_bulk({code.upper() for code in codes})


def treatment_methods_by_code(codes) -> dict[str, TreatmentMethod]:
    """{code: TreatmentMethod} with one query (as `get_treatment_method` for each, codes upper-cased)."""
    return TreatmentMethod.objects.in_bulk({code.strip().upper() for code in codes})


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
        raise NotFound(_("%(code)s is not a known park or special zone") % {"code": code}, code="unknown_zone")
    return zone


@transaction.atomic
def create_zone(*, scope, code: str, name: str, kind: str, region_code: str, description: str = "") -> Zone:
    region = get_region(region_code)
    if not scope.covers_region_path(region.path):
        raise PermissionDenied(_("only the regulator of a region can define zones in it"))
    errors = []
    if kind not in Zone.Kind.values:
        options = ", ".join(Zone.Kind.values)
        errors.append(field_error("kind", _("kind must be one of %(options)s") % {"options": options}))
    if not code.strip():
        errors.append(field_error("code", _("is required")))
    elif Zone.objects.filter(code=code.strip()).exists():
        errors.append(field_error("code", _("zone code %(code)s already exists") % {"code": code}))
    if not name.strip():
        errors.append(field_error("name", _("is required")))
    if errors:
        raise ValidationFailed(_("zone is not valid"), errors=errors)
    return Zone.objects.create(code=code.strip(), name=name.strip(), kind=kind, region=region,
                               description=description)
