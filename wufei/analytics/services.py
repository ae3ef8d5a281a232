"""The regulator cockpit's queries ("selectors"): one grouped aggregate query per section, for a region
subtree and a calendar year (Asia/Shanghai), narrowed to the caller's scope.

Scope: `cockpit_region` admits regulators (and platform admins) only, and only a region inside their
subtree; everything below is then filtered by that region's subtree, which is exactly what the regulator's
`visible_to` querysets cover (a regulator sees every record of units in its regions, and the manifests whose
generator or receiver lies there — so the flows to receivers elsewhere are its to see). Selectors that the
owning apps expose for a Scope (alerts statistics, indicator plans, programme items / projects, overdue
plans, declarations) are called with the caller's scope.

Definitions (each reuses the owning app's expression or rule rather than a new one):

* Streams: hazardous waste (every code but HW01), medical waste (HW01 codes, NNN-NNN-01) and general industrial
  solid waste (GISW) — the streams of `wufei.ledgers.selectors`.
* The headline and sub-region figures are the ledger's, read through `ledgers.selectors.monthly_figures` as the
  indicators, the declarations and the alert rules read them (one home of monthly figures: the cockpit keeps no
  sums of its own), for the units registered in the region (a sub-region row: in that sub-region), the year:
  - generated: Σ LedgerMonth.generated (GISW: the e-ledger's generated);
  - received: Σ LedgerMonth.received_in — what the region's units received, wherever it came from (a province
    sees what its receivers received from other provinces); GISW: the entrusted tonnes of e-ledger months that
    name a receiver of the region;
  - transferred: Σ LedgerMonth.transferred_out — what left the region's units (委外, at the handover: a load in
    transit is transferred; the province of origin sees what went to other provinces); GISW: entrusted
    utilization + entrusted disposal;
  - utilized / disposed: in-house (self_utilized / self_disposed) plus, for hazardous and medical waste, what
    the region's licensed operators utilized / disposed of of the waste they received (LedgerMonth.utilized /
    .disposed): where the processing happened. GISW: in-house + entrusted (the e-ledger records the generator's
    side only, as the indicators' gisw_utilized / gisw_disposed);
  - stored: the closing stock of the year (December's; for the current year the stock now); GISW: the closing
    stock of each unit's and code's latest recorded month of the year;
  - inflow: of what the region's receivers accepted, the part from generators outside the region — the accepted
    tonnes of manifest lines (received / processed in the year, purposes that bring waste to its treatment,
    `RECEIVED_PURPOSES`) whose receiver lies in the region and whose generator does not: the ledger does not
    record where a load came from.
* The Sankey, the map and the capacity table are about manifests: accepted tonnes of the lines of received /
  processed manifests received in the year (`quantities._lines`), by kind ('hazardous', 'medical', 'general').
* Load of a facility: as the alert rules `facility.load_high` / `load_low` compute it (wufei/alerts/rules.py
  `_load`, `_receiver_usage`): Σ annual capacity of the valid permit lines against the tonnes of this year's
  live manifests to the receiver (shipped while submitted / in transit, accepted once received), pro-rated to
  the days elapsed in the year (min(elapsed, 365) / 365); a past year counts whole.
"""

import contextlib
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from wufei.catalog import streams
from wufei.catalog.models import Region, TreatmentMethod
from wufei.core.errors import NotFound, PermissionDenied, ValidationFailed
from wufei.core.scope import Scope
from wufei.indicators import quantities
from wufei.ledgers import selectors as ledger_selectors
from wufei.manifests import kinds
from wufei.manifests import services as manifest_services
from wufei.manifests.models import (
    RECEIVED_PURPOSES,
    TRANSFERRED_PURPOSES,
    Manifest,
    ManifestLine,
    ManifestStatus,
    Purpose,
)
from wufei.registry.models import OperatingPermit, Organization, PermitLine, Site

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
ZERO = Decimal(0)
THREE = Decimal("0.001")
STREAMS = ("hazardous", "medical", "gisw")
FIGURES = ("generated", "transferred", "received", "inflow", "utilized", "disposed", "stored")
KIND_STREAM = {"hazardous": "hazardous", "medical": "medical", "general": "gisw"}
STREAM_KIND = {v: k for k, v in KIND_STREAM.items()}
DONE = (ManifestStatus.RECEIVED, ManifestStatus.PROCESSED)
TRANSFERRED = Q(manifest__purpose__in=TRANSFERRED_PURPOSES)
RECEIVED = Q(manifest__purpose__in=RECEIVED_PURPOSES)
TOP_RECEIVERS = 15
OTHER_RECEIVERS = "other"
MAP_LIMIT = 5000
IN_TRANSIT_LIMIT = 10
OVERDUE_LIMIT = 10
INDICATOR_PLAN_LIMIT = 5
ROLES = ("generator", "transporter", "collector", "receiver")


# --- region and year ---------------------------------------------------------------------------------

def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime(year, 1, 1, tzinfo=LOCAL_TZ), dt.datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ)


def check_year(year) -> int:
    try:
        year = int(year)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        raise ValidationFailed(_("year out of range"), errors=[{"field": "year", "message": str(year)}])
    return year


def default_region_code(scope: Scope) -> str:
    if scope.region_codes:
        return scope.region_codes[0]
    first = Region.objects.filter(level=Region.Level.PROVINCE, status="current").order_by("code").first()
    return first.code if first else ""


def cockpit_region(scope: Scope, code: str | None = None) -> Region:
    """The region the caller may see the cockpit of: regulators (and platform admins) only, inside their subtree.

    Anyone else gets PermissionDenied; a region outside the caller's subtree is NotFound (a probe learns nothing).
    """
    if not scope.is_regulator:
        raise PermissionDenied(_("the cockpit is for regulators"))
    code = (code or "").strip() or default_region_code(scope)
    region = Region.objects.filter(pk=code).first()
    if region is None or not scope.covers_region_path(region.path):
        raise NotFound(_("Region %(code)s not found") % {"code": code})
    return region


def breadcrumb(scope: Scope, region: Region) -> list[Region]:
    """The regions from the caller's own region (or the top for admins) down to `region`."""
    codes = [c for c in region.path.strip("/").split("/") if c]
    regions = {r.code: r for r in Region.objects.filter(code__in=codes)}
    chain = [regions[c] for c in codes if c in regions]
    return [r for r in chain if scope.covers_region_path(r.path)]


def sub_regions(region: Region) -> list[Region]:
    return list(Region.objects.filter(parent=region, status="current").order_by("code"))


def _child_code(region: Region, path: str | None) -> str:
    """The child of `region` a descendant path falls in ('' for the region itself)."""
    rest = (path or "")[len(region.path):]
    return rest.split("/", 1)[0] if rest else ""


def region_paths(region: Region) -> dict[str, str]:
    """{code: path} of the region subtree (a few dozen rows for a province): the queries group by the
    units' region code and the children are found here, instead of joining the region table per row."""
    cached = getattr(region, "_cockpit_paths", None)
    if cached is None:
        cached = dict(Region.objects.filter(path__startswith=region.path).values_list("code", "path"))
        region._cockpit_paths = cached
    return cached


def units_of(region: Region):
    """The ids of the units registered in the region subtree, as a subquery (the index-driving filter)."""
    return Organization.objects.filter(region__path__startswith=region.path).values("pk")


def within(region: Region, field: str) -> Q:
    """Rows whose organization (reached by `field`) is registered in the region subtree.

    The two databases want different shapes (measured with bench/cockpit.py): SQLite walks the organization's
    indexes best from an `IN (subquery)` of the region's units. PostgreSQL misestimates both that subquery and
    a LIKE on the region path (it assumes units spread evenly over the 3,000 regions of the country: a plan for
    400 rows that meets 2,000,000, nested loops for 17 s); with the subtree's region codes as a list it reads
    the estimate from organization.region_id's statistics and chooses hash joins.
    """
    if connection.vendor == "sqlite":
        return Q(**{f"{field}__in": units_of(region)})
    return Q(**{f"{field}__region_id__in": sorted(region_paths(region))})


@contextlib.contextmanager
def _analytic_session():
    """PostgreSQL, for the cockpit's few large aggregates: no JIT (the CASE and correlated lookups make the
    estimates high enough to JIT-compile the queries, which costs more than it saves; the ledger's
    `compute_ledger` switches it off the same way), and room to hash and sort a province's year in memory
    instead of spilling to disk (measured with bench/cockpit.py: the 'generated' aggregate over 2,000,000 events
    spilled 120 MB at the default 4 MB)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def _tonnes(value) -> Decimal:
    """A sum read back from the database (quantities._sum: whole micro-tonnes on SQLite), in tonnes."""
    if not value:
        return ZERO
    if isinstance(value, int):
        return Decimal(value).scaleb(-6)
    return Decimal(value)




# --- 1. headline figures by stream (and per sub-region) -----------------------------------------------

def stream_figures(scope: Scope, region: Region, year: int) -> dict[str, dict[str, dict[str, Decimal]]]:
    """{child code ('' = the region itself): {stream: {figure: tonnes}}} for the region subtree and year.

    Every figure but inflow is the ledger's (`ledgers.selectors.monthly_figures`, see the module docstring)."""
    out: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(
        lambda: {stream: dict.fromkeys(FIGURES, ZERO) for stream in STREAMS})
    for row in ledger_selectors.monthly_figures(scope, region, year, by=("sub_region", "stream")):
        figures = out[row["sub_region"]][row["stream"]]
        for figure, value in ledger_figures(row, row["stream"]).items():
            figures[figure] += value

    # inflow: what the region's receivers accepted from generators outside the region (the manifests)
    start, end = year_bounds(year)
    paths = region_paths(region)
    inbound = (ManifestLine.objects.filter(within(region, "manifest__receiver"), ~within(region, "manifest__generator"),
                                           RECEIVED, manifest__status__in=DONE,
                                           manifest__received_at__gte=start, manifest__received_at__lt=end)
               .values("manifest__receiver__region_id", "manifest__kind")
               .annotate(inflow=quantities._sum("accepted_tonnes")).order_by())
    for row in inbound:
        stream = KIND_STREAM.get(row["manifest__kind"])
        if stream is not None:
            child = _child_code(region, paths.get(row["manifest__receiver__region_id"], ""))
            out[child][stream]["inflow"] += _tonnes(row["inflow"])
    return out


def ledger_figures(row: dict, stream: str) -> dict[str, Decimal]:
    """The cockpit's figures of one row of the ledger selector (see the module docstring)."""
    if stream == "gisw":
        utilized = row["self_utilized"] + row["entrusted_utilization"]
        disposed = row["self_disposed"] + row["entrusted_disposal"]
    else:
        utilized = row["self_utilized"] + row["utilized"]
        disposed = row["self_disposed"] + row["disposed"]
    return {"generated": row["generated"], "received": row["received_in"], "transferred": row["transferred_out"],
            "utilized": utilized, "disposed": disposed, "stored": row["closing_stock"]}


def headline(figures_by_child: dict) -> dict[str, dict[str, Decimal]]:
    total = {stream: dict.fromkeys(FIGURES, ZERO) for stream in STREAMS}
    for per_stream in figures_by_child.values():
        for stream, figures in per_stream.items():
            for figure, value in figures.items():
                total[stream][figure] += value
    return {s: {f: v.quantize(THREE) for f, v in figures.items()} for s, figures in total.items()}


def sub_region_rows(region: Region, figures_by_child: dict) -> list[dict]:
    """One row per child region (and one for units registered at the region itself, if any)."""
    rows = []
    children = sub_regions(region)
    known = {c.code for c in children}
    for child in children:
        figures = headline({child.code: figures_by_child[child.code]} if child.code in figures_by_child else {})
        rows.append({"region": child, "code": child.code, "name": child.name, "figures": figures,
                     "total": _stream_total(figures)})
    own = {k: v for k, v in figures_by_child.items() if k == "" or k not in known}
    if own and any(v for per in own.values() for f in per.values() for v in f.values()):
        figures = headline(own)
        rows.append({"region": region, "code": "", "name": region.name, "figures": figures,
                     "total": _stream_total(figures), "own": True})
    return rows


def _stream_total(figures: dict) -> dict[str, Decimal]:
    return {f: sum((figures[s][f] for s in STREAMS), ZERO) for f in FIGURES}


# --- 2. flows (Sankey) ---------------------------------------------------------------------------------

def _category_of(kind: str, waste_code: str | None, general_code: str) -> str:
    """HWxx of a hazardous waste code (NNN-NNN-xx), SWxx / Sxx of a general solid waste code, or 'medical'."""
    if kind in kinds.carrying(streams.MEDICAL) or streams.is_medical_code(waste_code):
        return "medical"
    if waste_code:
        return f"HW{waste_code[-2:]}"
    code = (general_code or "").strip()
    if code.startswith("SW"):
        return code[:4]
    return code.rsplit("-", 1)[-1] if code else "SW"


def _outside_region(region: Region, path: str) -> str:
    """The code of the largest region holding `path` but not `region` (the province, for another province's
    generator seen from a province; the district, for another district's seen from a district)."""
    inside = set(region.path.strip("/").split("/"))
    return next((code for code in path.strip("/").split("/") if code not in inside), "")


def flows(region: Region, year: int) -> dict:
    """Nodes and links of accepted tonnes: generator sub-region → waste category → receiver → method.

    Source: lines of received / processed manifests received in the year whose generator lies in the region
    (receivers anywhere) or whose receiver lies in it (inflow: the source node is the generator's region
    outside, marked `outside`). Receivers beyond the top 15 by tonnes are grouped as "Other receivers".
    """
    start, end = year_bounds(year)
    paths = region_paths(region)
    rows = list(ManifestLine.objects.filter(
        within(region, "manifest__generator") | within(region, "manifest__receiver"), RECEIVED,
        manifest__status__in=DONE,
        manifest__received_at__gte=start, manifest__received_at__lt=end)
        .annotate(line_method=Coalesce("method_id", "planned_method_id"))
        .values("manifest__generator__region_id", "manifest__generator__region__path", "manifest__kind", "waste_id",
                "general_code", "manifest__receiver_id", "line_method")
        .annotate(total=quantities._sum("accepted_tonnes")).order_by())
    outside_codes = {_outside_region(region, r["manifest__generator__region__path"]) for r in rows
                     if r["manifest__generator__region_id"] not in paths}
    outside = {r.code: r for r in Region.objects.filter(code__in=outside_codes - {""})}
    children = {c.code: c for c in sub_regions(region)}
    by_receiver: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        row["tonnes"] = _tonnes(row["total"])
        by_receiver[row["manifest__receiver_id"]] += row["tonnes"]
    ranked = sorted(by_receiver.items(), key=lambda kv: (-kv[1], kv[0]))
    top = {pk for pk, _t in ranked[:TOP_RECEIVERS]}
    names = dict(Organization.objects.filter(pk__in=top).values_list("pk", "name"))
    methods = {m.code: m for m in TreatmentMethod.objects.filter(
        code__in={r["line_method"] for r in rows if r["line_method"]})}

    nodes: dict[str, dict] = {}
    links: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    medical_label, other_label, no_method_label = _("Medical waste"), _("Other receivers"), _("Method not stated")
    chinese = (get_language() or "zh-hans").startswith("zh")

    def node(key: str, name: str, layer: str, **extra) -> str:
        if key not in nodes:
            nodes[key] = {"id": key, "name": name, "layer": layer, **extra}
        return key

    for row in rows:
        if not row["tonnes"]:
            continue
        if row["manifest__generator__region_id"] in paths:
            child = _child_code(region, paths[row["manifest__generator__region_id"]])
            place = children.get(child, region)
            source = node(f"region:{place.code}", place.name, "region", code=place.code)
        else:
            code = _outside_region(region, row["manifest__generator__region__path"])
            name = outside[code].name if code in outside else code
            source = node(f"region:{code}", _("%(region)s (outside)") % {"region": name}, "region", code=code,
                          outside=True)
        category = _category_of(row["manifest__kind"], row["waste_id"], row["general_code"])
        category_name = medical_label if category == "medical" else category
        waste = node(f"waste:{category}", category_name, "waste", code=category,
                     kind=row["manifest__kind"])
        receiver_id = row["manifest__receiver_id"]
        if receiver_id in top:
            receiver = node(f"receiver:{receiver_id}", names.get(receiver_id, str(receiver_id)), "receiver",
                            organization_id=receiver_id)
        else:
            receiver = node(f"receiver:{OTHER_RECEIVERS}", other_label, "receiver", organization_id=None)
        code = row["line_method"] or ""
        method = methods.get(code)
        name = (method.name_zh if chinese else method.name_en) if method else ""
        label = f"{code} {name}".strip() if code else no_method_label
        target = node(f"method:{code or '-'}", label, "method", code=code)
        links[(source, waste)] += row["tonnes"]
        links[(waste, receiver)] += row["tonnes"]
        links[(receiver, target)] += row["tonnes"]
    link_rows = [{"source": s, "target": t, "source_name": nodes[s]["name"], "target_name": nodes[t]["name"],
                  "tonnes": v.quantize(THREE)} for (s, t), v in links.items()]
    layer_order = {"region": 0, "waste": 1, "receiver": 2, "method": 3}
    link_rows.sort(key=lambda r: (layer_order[nodes[r["source"]]["layer"]], -r["tonnes"], r["source"], r["target"]))
    return {"nodes": list(nodes.values()), "links": link_rows,
            "total": sum((r["tonnes"] for r in rows), ZERO).quantize(THREE)}


# --- 3. map of units ----------------------------------------------------------------------------------

def _role_of(org: dict) -> str:
    for role in ("receiver", "collector", "transporter", "generator"):
        if org[f"is_{role}"]:
            return role
    return "generator"


def map_points(region: Region, year: int) -> dict:
    """Units and facilities of the region with coordinates, coloured by role, sized by this year's tonnes."""
    start, end = year_bounds(year)
    path = region.path
    orgs = Organization.objects.filter(region__path__startswith=path, status="active")
    counts = orgs.aggregate(total=Count("pk"), placed=Count("pk", filter=Q(longitude__isnull=False,
                                                                          latitude__isnull=False)))
    done = {"manifest__status__in": DONE, "manifest__received_at__gte": start, "manifest__received_at__lt": end}
    out_tonnes = dict((pk, _tonnes(v)) for pk, v in ManifestLine.objects.filter(
        within(region, "manifest__generator"), TRANSFERRED, **done).values("manifest__generator_id").annotate(
        t=quantities._sum("accepted_tonnes")).order_by().values_list("manifest__generator_id", "t"))
    in_tonnes = dict((pk, _tonnes(v)) for pk, v in ManifestLine.objects.filter(
        within(region, "manifest__receiver"), ~Q(manifest__purpose=Purpose.RETURN), **done
    ).values("manifest__receiver_id").annotate(
        t=quantities._sum("accepted_tonnes")).order_by().values_list("manifest__receiver_id", "t"))
    points = []
    for org in orgs.filter(longitude__isnull=False, latitude__isnull=False).values(
            "pk", "name", "longitude", "latitude", *[f"is_{r}" for r in ROLES]).order_by("pk")[:MAP_LIMIT]:
        tonnes = out_tonnes.get(org["pk"], ZERO) + in_tonnes.get(org["pk"], ZERO)
        points.append({"organization_id": org["pk"], "name": org["name"], "role": _role_of(org), "kind": "unit",
                       "longitude": float(org["longitude"]), "latitude": float(org["latitude"]),
                       "tonnes": tonnes.quantize(THREE)})
    sites = Site.objects.filter(organization__region__path__startswith=path, organization__status="active",
                                is_active=True)
    site_counts = sites.aggregate(total=Count("pk"), placed=Count("pk", filter=Q(longitude__isnull=False,
                                                                                latitude__isnull=False)))
    for site in sites.filter(longitude__isnull=False, latitude__isnull=False).values(
            "pk", "name", "longitude", "latitude", "organization_id", "organization__name",
            *[f"organization__is_{r}" for r in ROLES]).order_by("pk")[:MAP_LIMIT]:
        org = {f"is_{r}": site[f"organization__is_{r}"] for r in ROLES}
        points.append({"organization_id": site["organization_id"], "name": f"{site['organization__name']} · "
                       f"{site['name']}", "role": _role_of(org), "kind": "site",
                       "longitude": float(site["longitude"]), "latitude": float(site["latitude"]),
                       "tonnes": in_tonnes.get(site["organization_id"], ZERO).quantize(THREE)})
    return {"points": points, "organizations": counts["total"],
            "skipped_organizations": counts["total"] - counts["placed"], "sites": site_counts["total"],
            "skipped_sites": site_counts["total"] - site_counts["placed"],
            "truncated": counts["placed"] > MAP_LIMIT or site_counts["placed"] > MAP_LIMIT}


# --- 4. capacity and load -------------------------------------------------------------------------------

def elapsed_days(year: int, now: dt.datetime) -> float:
    start, end = year_bounds(year)
    if now >= end:
        return 365.0
    return max(0.0, (now - start).total_seconds() / 86400)


def capacity_load(region: Region, year: int, now: dt.datetime) -> list[dict]:
    """Receivers of the region: permitted annual capacity (valid permit lines), design capacity of their
    sites, this year's tonnes and the load pro-rated to the elapsed days (as the alert rules' `_load`)."""
    path = region.path
    start, end = year_bounds(year)
    day = min(timezone.localtime(now).date(), dt.date(year, 12, 31))
    capacity = dict(PermitLine.objects.filter(
        permit__organization__region__path__startswith=path, permit__status=OperatingPermit.Status.VALID,
        permit__valid_from__lte=day, permit__valid_until__gte=day)
        .values("permit__organization_id").annotate(t=Sum("annual_capacity_tonnes")).order_by()
        .values_list("permit__organization_id", "t"))
    design = dict(Site.objects.filter(organization__region__path__startswith=path,
                                      design_capacity_tonnes_per_year__isnull=False, is_active=True)
                  .values("organization_id").annotate(t=Sum("design_capacity_tonnes_per_year")).order_by()
                  .values_list("organization_id", "t"))
    usage: dict[int, Decimal] = defaultdict(Decimal)
    for (receiver, _code), tonnes in manifest_services.capacity_usage(
            start=start, end=end, receivers=within(region, "manifest__receiver")).items():
        usage[receiver] += tonnes
    ids = set(capacity) | set(design)
    names = dict(Organization.objects.filter(pk__in=ids).values_list("pk", "name"))
    fraction = Decimal(str(min(elapsed_days(year, now), 365) / 365))
    rows = []
    for pk in ids:
        permitted = capacity.get(pk) or ZERO
        used = usage.get(pk, ZERO)
        expected = permitted * fraction
        load = (used * 100 / expected).quantize(Decimal("0.1")) if expected else None
        rows.append({"organization_id": pk, "name": names.get(pk, str(pk)), "permitted_tonnes": permitted,
                     "design_tonnes": design.get(pk), "received_tonnes": used.quantize(THREE),
                     "load_percent": load, "bar_percent": min(float(load), 100.0) if load is not None else 0.0})
    rows.sort(key=lambda r: (-(r["load_percent"] or Decimal(-1)), r["name"]))
    return rows


# --- 5. indicators --------------------------------------------------------------------------------------

def indicator_board(scope: Scope, region: Region, year: int) -> list[dict]:
    """The region's indicator plans (its own, else those of its sub-regions) with counts by status."""
    from wufei.indicators import services as indicators

    plans = indicators.plans_for(scope).filter(region=region).order_by("key", "pk")
    if not plans.exists():
        plans = indicators.plans_for(scope).filter(region__path__startswith=region.path).order_by("region_id", "pk")
    out = []
    for plan in list(plans[:INDICATOR_PLAN_LIMIT]):
        results = indicators.evaluate_plan(scope=scope, plan_id=plan.pk, year=year)
        counts = indicators.status_counts(results)
        out.append({"plan_id": plan.pk, "name": str(plan), "region": plan.region_id, "counts": counts,
                    "total": sum(counts.values())})
    return out


# --- 6. alerts ------------------------------------------------------------------------------------------

def alert_board(scope: Scope, region: Region) -> dict:
    from wufei.alerts import services as alerts
    from wufei.alerts.models import Level, Rule

    stats = alerts.statistics(scope, region=region.code)
    descriptions = dict(Rule.objects.filter(pk__in=list(stats["by_rule"])).values_list("pk", "description"))
    rules = sorted(stats["by_rule"].items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return {"open": stats["open"], "overdue": stats["overdue"],
            "by_level": [{"level": code, "label": str(label), "count": stats["by_level"].get(code, 0)}
                         for code, label in Level.choices],
            "top_rules": [{"rule": pk, "description": _(descriptions.get(pk, pk)), "count": n} for pk, n in rules]}


# --- 7. manifests in transit ----------------------------------------------------------------------------

def in_transit(region: Region, now: dt.datetime) -> dict:
    from wufei.manifests import services as manifests

    since = manifests.overdue_since(now, region)
    transit = Manifest.objects.filter(within(region, "generator"), status=ManifestStatus.IN_TRANSIT)
    counts = transit.aggregate(total=Count("pk"), overdue=Count("pk", filter=Q(picked_up_at__lt=since)),
                               oldest=Min("picked_up_at"))
    oldest = []
    for row in transit.order_by("picked_up_at", "pk").values(
            "pk", "number", "kind", "picked_up_at", "generator__name", "receiver__name", "shipped_tonnes")[
            :IN_TRANSIT_LIMIT]:
        picked = row["picked_up_at"]
        hours = (now - picked).total_seconds() / 3600 if picked else None
        oldest.append({"manifest_id": row["pk"], "number": row["number"] or f"#{row['pk']}", "kind": row["kind"],
                       "picked_up_at": picked, "elapsed_hours": round(hours, 1) if hours is not None else None,
                       "overdue": bool(picked and picked < since), "generator": row["generator__name"],
                       "receiver": row["receiver__name"], "shipped_tonnes": row["shipped_tonnes"]})
    return {"count": counts["total"], "overdue": counts["overdue"], "oldest": oldest}


# --- 8. overdue tasks -----------------------------------------------------------------------------------

def overdue_work(scope: Scope, region: Region, year: int, today: dt.date) -> dict:
    from wufei.ledgers import declarations, plans
    from wufei.programme import services as programme

    path = region.path
    items = programme.items_for(scope, overdue=True, today=today).filter(plan__region__path__startswith=path)
    projects = programme.projects_for(scope, overdue=True, today=today).filter(plan__region__path__startswith=path)
    late_plans = plans.overdue_plans(scope, year=year, today=today).filter(organization__region__path__startswith=path)
    late_declarations = declarations.declarations_for(scope, year=year - 1, status="draft").filter(
        organization__region__path__startswith=path, due_date__lt=today)
    by_plan = list(items.order_by().values("plan_id", "plan__title").annotate(n=Count("pk")).order_by("plan_id"))
    return {
        "task_items": items.count(),
        "task_items_by_plan": [{"plan_id": r["plan_id"], "title": r["plan__title"], "count": r["n"]}
                               for r in by_plan],
        "task_item_list": [{"item_id": i.pk, "plan_id": i.plan_id, "label": str(i), "due_date": i.due_date}
                           for i in items.order_by("due_date", "pk")[:OVERDUE_LIMIT]],
        "key_projects": projects.count(),
        "key_project_list": [{"project_id": p.pk, "plan_id": p.plan_id, "label": str(p), "due_date": p.due_date}
                             for p in projects.order_by("due_date", "pk")[:OVERDUE_LIMIT]],
        "management_plans": late_plans.count(),
        "declarations": late_declarations.count(),
        "plan_year": year,
        "declaration_year": year - 1,
    }


# --- the whole cockpit ----------------------------------------------------------------------------------

def cockpit(scope: Scope, *, region_code: str | None = None, year: int | None = None,
            now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    region = cockpit_region(scope, region_code)
    year = check_year(year if year is not None else timezone.localtime(now).year)
    today = timezone.localtime(now).date()
    with _analytic_session():
        by_child = stream_figures(scope, region, year)
        flow_data = flows(region, year)
        map_data = map_points(region, year)
        capacity = capacity_load(region, year, now)
    return {
        "region": region,
        "year": year,
        "as_of": now,
        "breadcrumb": breadcrumb(scope, region),
        "headline": headline(by_child),
        "sub_regions": sub_region_rows(region, by_child),
        "flows": flow_data,
        "map": map_data,
        "capacity": capacity,
        "indicators": indicator_board(scope, region, year),
        "alerts": alert_board(scope, region),
        "in_transit": in_transit(region, now),
        "overdue": overdue_work(scope, region, year, today),
    }


def cockpit_flows(scope: Scope, *, region_code: str | None = None, year: int | None = None,
                  now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    region = cockpit_region(scope, region_code)
    year = check_year(year if year is not None else timezone.localtime(now).year)
    with _analytic_session():
        return {"region": region, "year": year, **flows(region, year)}
