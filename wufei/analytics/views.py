"""The regulator cockpit page /cockpit/ (?region=&year=). Thin: scope, services, links, render.

Every figure links to the records behind it through the list pages' filters (services.py's definitions):

* generated (hazardous / medical): the containers produced in the year (origin 'produced') whose generator
  lies in the region, of the stream — `tracking:container_list` ?region=&year=&stream=&origin=produced: exactly
  the ledger's generation;
* stored: the containers in stock held in the region — ?holder_region=&in_stock=yes&stream= (the ledger's closing
  stock, for the current year);
* transferred / utilized / disposed: the received / processed manifests of the region's generators received
  in the year — `manifests:list` ?region=&side=generator&year=&status=received,processed&kind= (utilized /
  disposed add method_kind=: the list then totals the accepted tonnes of those lines only);
* received / inflow: the same list by the receiver's side (side=receiver), or the receiver's side with the
  generator outside the region (side=inflow: exactly the inflow);
* Sankey nodes and links: the same manifests narrowed by waste category, receiver and method (exactly the
  lines counted); a source node outside the region lists its generators' manifests received in the region
  (to_region=);
* the e-ledger figures (GISW): the e-ledger list of the year.

The ledger's flows (transferred, received, utilized, disposed) count the scan events; their manifest lists show
the manifested part: a load handed over but not yet received is transferred out already, in-house utilization /
disposal has no manifest, and an operator's processing counts where the operator is. "Other receivers" of the
Sankey (the receivers beyond the top 15: the link lists every receiver) and units registered at the region's own
level (the region filter takes the whole subtree) cannot be listed apart.
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
DONE = ",".join(services.DONE)  # received, processed: the manifests the cockpit's tonnes count


def _url(name: str, *args, **query) -> str:
    url = reverse(name, args=args)
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def _manifests(region_code: str, year: int, side: str = "generator", **query) -> str:
    """The received / processed manifests of the region's generators (or receivers: side) received in the year,
    narrowed."""
    return _url("manifests:list", region=region_code, side=side, year=year, status=DONE, **query)


def figure_links(region_code: str, year: int) -> dict[str, dict[str, str]]:
    """The page behind each headline figure (stream.figure)."""
    links = {}
    for stream in ("hazardous", "medical"):
        kind = services.STREAM_KIND[stream]
        links[stream] = {
            "generated": _url("tracking:container_list", region=region_code, year=year, stream=stream,
                              origin="produced"),
            "transferred": _manifests(region_code, year, purpose="transferred", kind=kind),
            "received": _manifests(region_code, year, side="receiver", purpose="received", kind=kind),
            "inflow": _manifests(region_code, year, side="inflow", purpose="received", kind=kind),
            "utilized": _manifests(region_code, year, purpose="received", kind=kind, method_kind="utilization"),
            "disposed": _manifests(region_code, year, purpose="received", kind=kind, method_kind="disposal"),
            "stored": _url("tracking:container_list", holder_region=region_code, in_stock="yes", stream=stream),
        }
    solid = _url("ledgers:solid_waste_months", year=year)
    links["gisw"] = {"generated": solid, "transferred": _manifests(region_code, year, purpose="transferred",
                                                                   kind="general"),
                     "received": _manifests(region_code, year, side="receiver", purpose="received", kind="general"),
                     "inflow": _manifests(region_code, year, side="inflow", purpose="received", kind="general"),
                     "utilized": solid, "disposed": solid, "stored": solid}
    return links


def sub_region_links(rows: list[dict], year: int) -> None:
    """Links on a sub-region row's figures (the own-level row has none: a region filter takes the subtree)."""
    for row in rows:
        if row.get("own"):
            row["links"] = {}
            continue
        links = figure_links(row["code"], year)
        row["links"] = {"hazardous_generated": links["hazardous"]["generated"],
                        "medical_generated": links["medical"]["generated"],
                        "gisw_generated": links["gisw"]["generated"],
                        "transferred": _manifests(row["code"], year, purpose="transferred"),
                        "received": _manifests(row["code"], year, side="receiver", purpose="received"),
                        "stored": _url("tracking:container_list", holder_region=row["code"], in_stock="yes")}


def flow_links(region_code: str, year: int, flows: dict) -> None:
    """A manifests:list address on every Sankey node and link: the lines counted, by region, category,
    receiver and method (the list totals the accepted tonnes of the matching lines)."""
    nodes = {n["id"]: n for n in flows["nodes"]}

    def query(*parts) -> dict:
        out = {"region": region_code, "side": ""}  # generator or receiver in the region, as the flows count
        for node in parts:
            if node["layer"] == "region":
                out["region"], out["side"] = node["code"], "generator"
                if node.get("outside"):  # from that region into this one
                    out["to_region"] = region_code
            elif node["layer"] == "waste":
                out["category"] = node["code"]
            elif node["layer"] == "receiver" and node.get("organization_id"):
                out["receiver"] = node["organization_id"]
            elif node["layer"] == "method":
                out["method"] = node["code"] or "none"
        return out

    def url(*parts) -> str:
        found = query(*parts)
        return _manifests(found.pop("region"), year, purpose="received", **found)

    for node in flows["nodes"]:
        node["url"] = url(node)
    for link in flows["links"]:
        link["url"] = url(nodes[link["source"]], nodes[link["target"]])


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
    flow_links(region.code, year, data["flows"])
    sub_region_links(data["sub_regions"], year)
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
        "transit_list": _url("manifests:list", region=region.code, side="generator", status="in_transit"),
        "transit_overdue": _url("manifests:list", region=region.code, side="generator", overdue="yes"),
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
