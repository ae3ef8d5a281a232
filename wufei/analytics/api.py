"""Cockpit API: the regulator cockpit's figures and its Sankey flows. Thin: scope, services, shape.

GET /api/v1/analytics/cockpit?region=&year=   every section of the /cockpit/ page
GET /api/v1/analytics/flows?region=&year=     Sankey nodes and links (accepted tonnes)
Regulators of the region subtree only: anyone else 403, a region outside the caller's subtree 404.
"""

from ninja import Router

from wufei.analytics import services
from wufei.analytics.schemas import CockpitOut, FlowsOut
from wufei.core.api import scope_of
from wufei.core.inputs import Year

router = Router(tags=["analytics"])


def _region(region) -> dict:
    return {"code": region.code, "name": region.name, "level": region.level}


@router.get("/analytics/cockpit", response=CockpitOut)
def cockpit(request, region: str | None = None, year: Year | None = None):
    """Headline figures by stream, sub-regions, flows, map, capacity and load, indicators, alerts,
    manifests in transit and overdue work for a region (default: the caller's) and year (default: this year)."""
    data = services.cockpit(scope_of(request), region_code=region, year=year)
    flows = data["flows"]
    return {
        **data,
        "region": _region(data["region"]),
        "breadcrumb": [_region(r) for r in data["breadcrumb"]],
        "sub_regions": [{**row, "code": row["code"] or data["region"].code} for row in data["sub_regions"]],
        "flows": {**flows, "region": _region(data["region"]), "year": data["year"]},
    }


@router.get("/analytics/flows", response=FlowsOut)
def flows(request, region: str | None = None, year: Year | None = None):
    """Sankey of accepted tonnes: generator sub-region → waste category → receiver (top 15) → method."""
    data = services.cockpit_flows(scope_of(request), region_code=region, year=year)
    return {**data, "region": _region(data["region"])}
