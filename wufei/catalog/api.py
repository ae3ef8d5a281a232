"""Catalog API: public, read-only reference lists (zones may be added by regulators)."""

from types import SimpleNamespace

from ninja import Router, Status

from wufei.catalog import services
from wufei.catalog.schemas import (
    CategoryOut,
    ExemptionOut,
    GeneralSolidWasteOut,
    HazardousWasteOut,
    RegionDetailOut,
    RegionOut,
    TreatmentMethodOut,
    ZoneIn,
    ZoneOut,
)
from wufei.core.api import scope_of, session_or_token

router = Router(tags=["catalog"], auth=None)


@router.get("/hazardous-waste-categories", response=list[CategoryOut])
def list_categories(request):
    return services.categories_with_counts()


@router.get("/hazardous-waste-categories/{code}", response=CategoryOut)
def get_category(request, code: str):
    return services.get_category(code)


@router.get("/hazardous-wastes", response=list[HazardousWasteOut])
def list_hazardous_wastes(request, category: str | None = None, q: str | None = None, hazard: str | None = None,
                          industry: str | None = None):
    """Filter by category (HW49), text (活性炭), hazard characteristic (T, C, I, R, In) or industry source."""
    return services.search_hazardous_wastes(category=category, q=q, hazard=hazard, industry=industry)


@router.get("/hazardous-wastes/{code}", response=HazardousWasteOut)
def get_hazardous_waste(request, code: str):
    return services.get_hazardous_waste(code)


@router.get("/hazardous-waste-exemptions", response=list[ExemptionOut])
def list_exemptions(request, code: str | None = None):
    return services.exemptions_for(code)


@router.get("/general-solid-wastes", response=list[GeneralSolidWasteOut])
def list_general_solid_wastes(request, q: str | None = None):
    return services.search_general_solid_wastes(q)


@router.get("/treatment-methods", response=list[TreatmentMethodOut])
def list_treatment_methods(request, kind: str | None = None, q: str | None = None):
    return services.search_treatment_methods(kind=kind, q=q)


@router.get("/treatment-methods/{code}", response=TreatmentMethodOut)
def get_treatment_method(request, code: str):
    return services.get_treatment_method(code)


@router.get("/regions", response=list[RegionOut])
def list_regions(request, parent: str | None = None, level: str | None = None, q: str | None = None,
                 include_abolished: bool = False):
    return services.search_regions(parent=parent, level=level, q=q, include_abolished=include_abolished)


@router.get("/regions/{code}", response=RegionDetailOut)
def get_region(request, code: str):
    region = services.get_region(code)
    # `children` is the reverse relation's manager: it cannot be assigned, so answer with a plain object.
    return SimpleNamespace(
        code=region.code, name=region.name, level=region.level, parent_id=region.parent_id, status=region.status,
        ancestors=services.region_ancestry(code)[:-1], children=list(services.search_regions(parent=region.code)),
    )


@router.get("/zones", response=list[ZoneOut])
def list_zones(request, region: str | None = None, kind: str | None = None, q: str | None = None):
    return services.search_zones(region=region, kind=kind, q=q)


@router.get("/zones/{code}", response=ZoneOut)
def get_zone(request, code: str):
    return services.get_zone(code)


@router.post("/zones", response={201: ZoneOut}, auth=session_or_token)
def create_zone(request, payload: ZoneIn):
    zone = services.create_zone(scope=scope_of(request), code=payload.code, name=payload.name, kind=payload.kind,
                                region_code=payload.region, description=payload.description)
    return Status(201, zone)
