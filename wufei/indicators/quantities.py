"""Platform quantities: what the ledgers, the monthly e-ledger, the manifests and the registry say
for a region subtree and a calendar year. Read-only: nothing here writes another app's tables.

The ledgers' figures (`hw_*`, `ihw_*`, `gisw_*`) are read through the ledger's one selector,
`wufei.ledgers.selectors.monthly_figures` (the hazardous waste ledger brought current first, and the monthly
e-ledger), as the cockpit, the declarations and the alert rules read them; the manifests and the registry
with one aggregate query per region and year, whatever the number of quantities asked from them
(`platform_values`). Every figure can be opened into the records behind it, one row per organization
(`platform_records`).

Streams. The hazardous waste ledger (`LedgerMonth`) and the manifests hold every hazardous waste code,
medical waste (HW01, codes NNN-NNN-01, `catalog.services.is_medical_code`) included, from every kind of
unit. Two families of quantities read them:

* `hw_*` (and `manifest_tonnes`, `manifests_received`): all hazardous waste, medical waste included, from
  every source — what the national list calls 危险废物;
* `ihw_*`: industrial hazardous waste (工业危险废物) — codes other than HW01, from industrial sources
  (`catalog.services.industrial_source_q`: GB/T 4754 sections B–D, not a medical institution; a unit
  without an industry code counts as industrial). On a manifest, a line is medical when the manifest is a
  medical waste manifest or the line's code is HW01; its source is the manifest's generator.

General industrial solid waste (`gisw_*`) is the monthly e-ledger (`SolidWasteMonth`) alone: its codes
are industrial by construction (SWnn / NNN-NNN-Sxx of the industrial range, checked when a month is
saved) and the units that keep it are industrial; GISW manifests (kind "general") count in no quantity.

Which family each catalog formula uses (data/catalog.csv; the decision follows its `definition`):

* gisw_intensity, gisw_utilization, gisw_storage_disposal_decline: gisw_* (general industrial solid waste);
* hw_intensity 工业危险废物产生强度: ihw_generated ÷ industrial value added ("industrial hazardous waste");
* isw_intensity 工业固体废物产生强度: (gisw_generated + ihw_generated) ÷ industrial value added (2019
  definition: GISW + industrial HW);
* hw_utilization 工业危险废物综合利用率: ihw_utilized ÷ (ihw_generated + hw_prior_stock_utilized);
* hw_landfill_decline 工业危险废物填埋处置量下降幅度: ihw_landfilled of the baseline year and of the year;
* hw_safe_disposal 工业危险废物安全处置率: (ihw_utilized + ihw_disposed) ÷ (ihw_generated + ihw_opening_stock)
  (the name says industrial);
* hw_landfill_share 危险废物填埋处置量占比: hw_landfilled ÷ (hw_utilized + hw_disposed) — all hazardous
  waste: the definition (Zhejiang's target) is not limited to industry, and medical waste is hazardous waste;
* medical_waste_coverage 医疗废物收集处置体系覆盖率: medical institutions with a received manifest carrying
  medical waste (a medical waste manifest, or an HW01 line on another) ÷ active medical institutions.

Registry counts (`REGISTRY`: generators, operators, medical institutions) are the registry as it stood at the end of
the year evaluated (`registry.selectors`: active on 31 December), not today's; the medical institutions covered are
counted among those same units.

Missing is not zero. A region and year for which the platform holds no record of a stream at all (no
ledger month and no received manifest for the hazardous quantities; no e-ledger month for the GISW ones)
has no value for that stream's quantities (None, "missing"), not 0: a year before the platform was in use
must not read as "nothing was generated, landfilled or covered" (it would make a decline from the
baseline year −100 % of nothing, or a coverage of 0 %). Once any record of the stream exists for the
region and year, a quantity with no rows of its own is a real 0.
"""

import calendar
from decimal import Decimal

from django.db import connection
from django.db.models import BigIntegerField, Count, DecimalField, ExpressionWrapper, F, FloatField, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round

from wufei.catalog import streams
from wufei.catalog.services import industrial_source_q, medical_code_q
from wufei.core.scope import Scope
from wufei.ledgers import selectors as ledger
from wufei.manifests import kinds
from wufei.manifests.models import (
    RECEIVED_PURPOSES,
    TRANSFERRED_PURPOSES,
    Manifest,
    ManifestLine,
    ManifestStatus,
)
from wufei.registry import selectors as registry
from wufei.registry.models import Organization

ZERO = Decimal(0)
SIX = Decimal("0.000001")
MICRO = Value(1000000)
DONE = (ManifestStatus.RECEIVED, ManifestStatus.PROCESSED)
WASTE_KINDS = ("hazardous", "medical")
DEC = DecimalField(max_digits=24, decimal_places=6)


def _micro() -> bool:
    """On SQLite, decimals are stored and added as binary floats: 10 million rows of tonnes to 0.000001 t
    lose the last digits. There, sums are taken over whole micro-tonnes (exact 64-bit integers)."""
    return connection.vendor == "sqlite"


def _sum(expression, condition: Q | None = None):
    if _micro():
        micro = Cast(Round(ExpressionWrapper(F(expression) * MICRO, output_field=FloatField())), BigIntegerField())
        return Coalesce(Sum(micro, filter=condition), Value(0), output_field=BigIntegerField())
    return Coalesce(Sum(expression, filter=condition, output_field=DEC), Value(ZERO, output_field=DEC),
                    output_field=DEC)


def _tonnes(value) -> Decimal:
    """A sum read back from the database, in tonnes."""
    if _micro():
        return Decimal(int(value)).scaleb(-6)
    return Decimal(value)


def _exact(value) -> Decimal:
    """To the quantities' precision (0.000001 t)."""
    return Decimal(value).quantize(SIX)


def _utilization():
    return Q(method__kind="utilization") | Q(method__isnull=True, planned_method__kind="utilization")


def _disposal():
    return Q(method__kind="disposal") | Q(method__isnull=True, planned_method__kind="disposal")


def _landfill():
    return Q(method_id="D1") | Q(method__isnull=True, planned_method_id="D1")


def industrial_ledger() -> Q:
    """Ledger months of industrial hazardous waste: not HW01, of an industrial source."""
    return ~medical_code_q("waste__code") & industrial_source_q("organization")


def medical_line() -> Q:
    """Manifest lines of medical waste: on a medical waste manifest, or of an HW01 code."""
    return Q(manifest__kind__in=kinds.carrying(streams.MEDICAL)) | medical_code_q("waste__code")


def industrial_line() -> Q:
    """Manifest lines of industrial hazardous waste: not medical, the manifest's generator an industrial source."""
    return ~medical_line() & industrial_source_q("manifest__generator")


def _manifests(path: str, year: int):
    return Manifest.objects.filter(generator__region__path__startswith=path, kind__in=WASTE_KINDS, status__in=DONE,
                                   received_at__year=year, purpose__in=TRANSFERRED_PURPOSES)


def _lines(path: str, year: int):
    return ManifestLine.objects.filter(manifest__generator__region__path__startswith=path,
                                       manifest__kind__in=WASTE_KINDS, manifest__status__in=DONE,
                                       manifest__received_at__year=year)


def _covered(path: str, year: int):
    """Received manifests carrying medical waste (a medical waste manifest, or an HW01 line on another) of the
    medical institutions counted for the year (registry.selectors): the covered ones are among those counted."""
    return (Manifest.objects.filter(generator__in=registry.counted_units(year, path, flag="is_medical_institution"),
                                    kind__in=WASTE_KINDS, status__in=DONE, received_at__year=year,
                                    purpose__in=TRANSFERRED_PURPOSES)
            .filter(Q(kind__in=kinds.carrying(streams.MEDICAL)) | medical_code_q("lines__waste__code")))


def _and(*conditions):
    parts = [c for c in conditions if c is not None]
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out &= part
    return out


SYSTEM = Scope(is_platform_admin=True, username="indicators")  # a region's figures: the callers check the region

# key → (ledger figure, units): "all" hazardous waste (medical included), or "industrial" hazardous waste (not
# HW01, of an industrial source); the opening stock is the ledger's opening of January
LEDGER = {
    "hw_generated": ("generated", "all"),
    "hw_transferred": ("transferred_out", "all"),
    "hw_opening_stock": ("opening_stock", "all"),
    "hw_self_utilized": ("self_utilized", "all"),
    "hw_self_disposed": ("self_disposed", "all"),
    "ihw_generated": ("generated", "industrial"),
    "ihw_opening_stock": ("opening_stock", "industrial"),
    "ihw_self_utilized": ("self_utilized", "industrial"),
    "ihw_self_disposed": ("self_disposed", "industrial"),
}
# key → e-ledger figures summed; gisw_stored: the closing stock of each unit's and code's latest month of the year
SOLID = {
    "gisw_generated": ("generated",),
    "gisw_utilized": ("self_utilized", "entrusted_utilization"),
    "gisw_disposed": ("self_disposed", "entrusted_disposal"),
    "gisw_stored": ("closing_stock",),
}


def _is_industrial(row: dict) -> bool:
    return row["stream"] == "hazardous" and row["industrial"]


def _ledger_values(row: dict, keys) -> dict[str, Decimal]:
    """The ledger quantities `keys` of one selector row (grouped by stream and industrial source at least)."""
    out = {}
    for key in keys:
        if key in LEDGER:
            figure, units = LEDGER[key]
            out[key] = row[figure] if units == "all" or _is_industrial(row) else ZERO
        elif key in SOLID:
            out[key] = sum((row[name] for name in SOLID[key]), ZERO)
    return out


def _transferred():
    """Manifests that move waste away from its generator (not a collector's forwarding, not a return)."""
    return Q(manifest__purpose__in=TRANSFERRED_PURPOSES)


def _treated():
    """Manifests that bring waste to the facility that utilizes or disposes of it: their methods are final."""
    return Q(manifest__purpose__in=RECEIVED_PURPOSES)


# key → line condition (accepted tonnes of received hazardous and medical manifests)
LINES = {
    "manifest_tonnes": _transferred,
    "line_utilized": lambda: _utilization() & _treated(),
    "line_disposed": lambda: _disposal() & _treated(),
    "hw_landfilled": lambda: _landfill() & _treated(),
    "iline_utilized": lambda: _utilization() & _treated() & industrial_line(),
    "iline_disposed": lambda: _disposal() & _treated() & industrial_line(),
    "ihw_landfilled": lambda: _landfill() & _treated() & industrial_line(),
}
DEPENDS = {
    "hw_utilized": ("hw_self_utilized", "line_utilized"),
    "hw_disposed": ("hw_self_disposed", "line_disposed"),
    "ihw_utilized": ("ihw_self_utilized", "iline_utilized"),
    "ihw_disposed": ("ihw_self_disposed", "iline_disposed"),
    "gisw_stored_disposed": ("gisw_disposed", "gisw_stored"),
}
MANIFESTS = ("manifests_received", "medical_institutions_covered")
REGISTRY = {"generators": "is_generator", "hw_operators": "is_receiver",
            "medical_institutions": "is_medical_institution"}
HAZARDOUS = set(LEDGER) | set(LINES) | set(MANIFESTS) | {k for k, parts in DEPENDS.items() if parts[0] in LEDGER}
GISW = set(SOLID) | {"gisw_stored_disposed"}


def platform_values(path: str, year: int, keys) -> dict[str, Decimal | None]:
    """The platform quantities `keys` of the region subtree `path` in `year` (None: nothing recorded)."""
    return platform_values_years(path, [year], keys).get(year, {})


def platform_values_years(path: str, years, keys) -> dict[int, dict[str, Decimal | None]]:
    """The platform quantities `keys` of the region subtree `path` for each of `years`: one GROUP BY year
    query per source table, whatever the number of quantities and years. A quantity of a stream the platform
    holds no record of for the region and year is None (see the module docstring)."""
    years = sorted(set(years))
    wanted = set(keys)
    for key in list(wanted):
        wanted.update(DEPENDS.get(key, ()))
    out: dict[int, dict[str, Decimal]] = {year: {} for year in years}
    recorded: dict[str, set[int]] = {"ledger": set(), "gisw": set()}
    sources = ((set(LEDGER), ledger.WASTE_STREAMS, "ledger"), (set(SOLID), ("gisw",), "gisw"))
    for source_keys, stream_keys, name in sources:
        asked = wanted & source_keys
        if not (asked or (name == "ledger" and wanted & HAZARDOUS)):
            continue
        for year in years:
            out[year].update(dict.fromkeys(asked, ZERO))
        by = ("year", "stream", "industrial")
        for row in ledger.monthly_figures(SYSTEM, path, years, by=by, streams=stream_keys):
            recorded[name].add(row["year"])
            for key, value in _ledger_values(row, asked).items():
                out[row["year"]][key] += value
    hazardous_years = set(recorded["ledger"])
    for year in years:
        values = out[year]
        if wanted & set(LINES):
            aggregates = {key: _sum("accepted_tonnes", condition()) for key, condition in LINES.items()
                          if key in wanted}
            aggregates["_lines"] = Count("pk")
            found = _lines(path, year).aggregate(**aggregates)
            if found.pop("_lines"):
                hazardous_years.add(year)
            values.update({key: _tonnes(value) for key, value in found.items()})
        if "manifests_received" in wanted:
            values["manifests_received"] = Decimal(_manifests(path, year).count())
        if "medical_institutions_covered" in wanted:
            values["medical_institutions_covered"] = Decimal(
                _covered(path, year).values("generator_id").distinct().count())
        if values.get("manifests_received"):
            hazardous_years.add(year)
        if wanted & HAZARDOUS and year not in hazardous_years and _manifests(path, year).exists():
            hazardous_years.add(year)
        if "days_in_year" in wanted:
            values["days_in_year"] = Decimal(366 if calendar.isleap(year) else 365)
    if wanted & set(REGISTRY):
        for year, counts in registry.count_units(path, years, REGISTRY).items():  # the registry as it stood then
            out[year].update({key: Decimal(value) for key, value in counts.items()})
    for year in years:
        values = out[year]
        for key, parts in DEPENDS.items():
            if key in wanted:
                values[key] = sum((values[p] for p in parts), ZERO)
        for key in wanted:
            if (key in HAZARDOUS and year not in hazardous_years) or (key in GISW and year not in recorded["gisw"]):
                values[key] = None
        out[year] = {key: None if values[key] is None else _exact(values[key]) for key in keys if key in values}
    return out


def _part_records(part: str, path: str, year: int) -> list[dict]:
    """Per-organization sums behind one summed quantity (a ledger, line or e-ledger key)."""
    if part in LEDGER or part in SOLID:
        streams, source = (ledger.WASTE_STREAMS, "ledger") if part in LEDGER else (("gisw",), "solid_waste_ledger")
        values: dict[int, Decimal] = {}
        for row in ledger.monthly_figures(SYSTEM, path, year, by=("organization", "stream", "industrial"),
                                          streams=streams):
            values[row["organization"]] = values.get(row["organization"], ZERO) + _ledger_values(row, [part])[part]
        names = dict(Organization.objects.filter(pk__in=list(values)).values_list("pk", "name"))
        rows = [{"organization_id": pk, "name": names.get(pk, ""), "value": value, "source": source}
                for pk, value in values.items() if value or part in SOLID or LEDGER[part][1] == "all"]
        return sorted(rows, key=lambda r: (-r["value"], r["organization_id"]))
    if part not in LINES:
        return []
    queryset = _lines(path, year).filter(LINES[part]())
    return [{"organization_id": row["manifest__generator_id"], "name": row["manifest__generator__name"],
             "value": _tonnes(row["value"]), "source": "manifests"}
            for row in queryset.values("manifest__generator_id", "manifest__generator__name")
            .annotate(value=_sum("accepted_tonnes")).order_by("-value")]


def platform_records(key: str, path: str, year: int) -> list[dict]:
    """The records behind a platform quantity, summed per organization: [{organization_id, name, value, source}]."""
    rows = []
    for part in DEPENDS.get(key, (key,)):
        rows += _part_records(part, path, year)
    if key in REGISTRY:
        for org in registry.counted_units(year, path, flag=REGISTRY[key]).order_by("name").values("pk", "name")[:1000]:
            rows.append({"organization_id": org["pk"], "name": org["name"], "value": Decimal(1),
                         "source": "registry"})
    if key in MANIFESTS:
        queryset = _manifests(path, year)
        if key == "medical_institutions_covered":
            queryset = _covered(path, year)
        for row in (queryset.values("generator_id", "generator__name").annotate(value=Count("pk", distinct=True))
                    .order_by("-value")):
            rows.append({"organization_id": row["generator_id"], "name": row["generator__name"],
                         "value": Decimal(row["value"]), "source": "manifests"})
    return rows
