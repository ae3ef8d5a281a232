"""The regulator cockpit page /cockpit/ (?region=&year=). Thin: scope, services, links, render.

Every figure links to the records behind it through the existing list pages' filters; where a list page has
no filter for something (year, waste category, method, a region subtree for containers), the link goes to the
nearest page and the template says so in a note.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from wufei.analytics import services
from wufei.core.errors import NotFound, PermissionDenied, ValidationFailed
from wufei.core.scope import request_scope

ROLE_COLOURS = {"generator": "#1f77b4", "transporter": "#ff7f0e", "collector": "#9467bd", "receiver": "#2ca02c"}
LEVEL_COLOURS = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e6c300", "blue": "#1f77b4"}


def _url(name: str, *args, **query) -> str:
    url = reverse(name, args=args)
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def figure_links(region_code: str, year: int) -> dict[str, dict[str, str]]:
    """The page behind each headline figure (stream.figure)."""
    links = {}
    for stream in ("hazardous", "medical"):
        kind = services.STREAM_KIND[stream]
        links[stream] = {
            # the container list has no region or year filter: all containers the regulator sees
            "generated": _url("tracking:container_list"),
            "transferred": _url("manifests:list", kind=kind, region=region_code),
            "utilized": _url("manifests:list", kind=kind, region=region_code, status="processed"),
            "disposed": _url("manifests:list", kind=kind, region=region_code, status="processed"),
            "stored": _url("tracking:container_list", in_stock="yes"),
        }
    solid = _url("ledgers:solid_waste_months", year=year)
    links["gisw"] = {"generated": solid, "transferred": _url("manifests:list", kind="general", region=region_code),
                     "utilized": solid, "disposed": solid, "stored": solid}
    return links


def flow_links(region_code: str, flows: dict) -> None:
    """A manifests:list address on every Sankey node and link (region, kind and receiver filters)."""
    nodes = {n["id"]: n for n in flows["nodes"]}

    def query(*parts) -> dict:
        out = {"region": region_code}
        for node in parts:
            if node["layer"] == "region":
                out["region"] = node["code"]
            elif node["layer"] == "waste":
                out["kind"] = node.get("kind")
            elif node["layer"] == "receiver" and node.get("organization_id"):
                out["organization"] = node["organization_id"]
            elif node["layer"] == "method":
                out["status"] = "processed"
        return out

    for node in flows["nodes"]:
        node["url"] = _url("manifests:list", **query(node))
    for link in flows["links"]:
        link["url"] = _url("manifests:list", **query(nodes[link["source"]], nodes[link["target"]]))


@login_required
@require_GET
def cockpit(request):
    scope = request_scope(request)
    try:
        data = services.cockpit(scope, region_code=request.GET.get("region"),
                                year=request.GET.get("year") or None)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ValidationFailed as exc:
        return HttpResponseBadRequest(exc.message)
    region, year = data["region"], data["year"]
    flow_links(region.code, data["flows"])
    streams = [(stream, label, data["headline"][stream], figure_links(region.code, year)[stream])
               for stream, label in (("hazardous", _label("hazardous")), ("medical", _label("medical")),
                                     ("gisw", _label("gisw")))]
    points = data["map"]["points"]
    for point in points:
        point["url"] = reverse("registry:organization_detail", args=[point["organization_id"]])
        point["colour"] = ROLE_COLOURS.get(point["role"], "#777")
    chart = {
        "sankey": {"nodes": [{"name": n["id"], "label": n["name"], "url": n["url"]} for n in data["flows"]["nodes"]],
                   "links": [{"source": lk["source"], "target": lk["target"], "value": float(lk["tonnes"]),
                              "url": lk["url"]} for lk in data["flows"]["links"]]},
        "map": {"points": [{"name": p["name"], "value": [p["longitude"], p["latitude"], float(p["tonnes"])],
                            "role": p["role"], "url": p["url"], "colour": p["colour"]} for p in points],
                "roles": [{"role": r, "label": str(_label(r)), "colour": c} for r, c in ROLE_COLOURS.items()]},
    }
    context = {
        **data,
        "streams": streams,
        "figures": services.FIGURES,
        "chart": chart,
        "role_colours": [(str(_label(r)), c) for r, c in ROLE_COLOURS.items()],
        "level_colours": LEVEL_COLOURS,
        "years": list(range(year - 4, year + 2)),
        "alert_board": _url("alerts:board", region=region.code),
        "transit_list": _url("manifests:list", region=region.code, status="in_transit"),
        "transit_overdue": _url("manifests:list", region=region.code, overdue="yes"),
        "plan_list": _url("ledgers:plan_list", year=year),
        "declaration_list": _url("ledgers:declaration_list", year=year - 1, status="draft"),
    }
    return render(request, "analytics/cockpit.html", context)


def _label(key: str):
    from django.utils.translation import gettext_lazy as _

    return {
        "hazardous": _("Hazardous waste"), "medical": _("Medical waste"),
        "gisw": _("General industrial solid waste"), "generator": _("Generator"),
        "transporter": _("Transporter"), "collector": _("Collector"), "receiver": _("Receiver"),
    }[key]
