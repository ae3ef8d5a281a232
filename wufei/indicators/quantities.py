"""Platform quantities: what the ledgers, the monthly e-ledger, the manifests and the registry say
for a region subtree and a calendar year. Read-only: nothing here writes another app's tables.

Each source table is read with one aggregate query per region and year, whatever the number of
quantities asked from it (`platform_values`), and every figure can be opened into the records
behind it, one row per organization (`platform_records`).

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
from wufei.ledgers import upkeep
from wufei.ledgers.models import LedgerMonth, SolidWasteMonth
from wufei.manifests import kinds
from wufei.manifests.models import (
    RECEIVED_PURPOSES,
    TRANSFERRED_PURPOSES,
    Manifest,
    ManifestLine,
    ManifestStatus,
)
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


def _ledger(path: str, year: int):
    upkeep.ensure_current(years=year, region_path=path)
    return LedgerMonth.objects.filter(organization__region__path__startswith=path, year=year)


def _solid(path: str, year: int):
    return SolidWasteMonth.objects.filter(organization__region__path__startswith=path, year=year)


def _manifests(path: str, year: int):
    return Manifest.objects.filter(generator__region__path__startswith=path, kind__in=WASTE_KINDS, status__in=DONE,
                                   received_at__year=year, purpose__in=TRANSFERRED_PURPOSES)


def _lines(path: str, year: int):
    return ManifestLine.objects.filter(manifest__generator__region__path__startswith=path,
                                       manifest__kind__in=WASTE_KINDS, manifest__status__in=DONE,
                                       manifest__received_at__year=year)


def _and(*conditions):
    parts = [c for c in conditions if c is not None]
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out &= part
    return out


# key → (ledger field, row condition or None); conditions are functions so that Q objects are built per query
LEDGER = {
    "hw_generated": ("generated", lambda: None),
    "hw_transferred": ("transferred_out", lambda: None),
    "hw_opening_stock": ("opening_stock", lambda: Q(month=1)),
    "hw_self_utilized": ("self_utilized", lambda: None),
    "hw_self_disposed": ("self_disposed", lambda: None),
    "ihw_generated": ("generated", industrial_ledger),
    "ihw_opening_stock": ("opening_stock", lambda: Q(month=1) & industrial_ledger()),
    "ihw_self_utilized": ("self_utilized", industrial_ledger),
    "ihw_self_disposed": ("self_disposed", industrial_ledger),
}
SOLID = {
    "gisw_generated": (("generated",), lambda: None),
    "gisw_utilized": (("self_utilized", "entrusted_utilization"), lambda: None),
    "gisw_disposed": (("self_disposed", "entrusted_disposal"), lambda: None),
    "gisw_stored": (("closing_stock",), lambda: Q(month=12)),
}
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

    def collect(queryset, aggregates, stream):
        for row in queryset.values("year").order_by().annotate(_rows=Count("pk"), **aggregates):
            year = row.pop("year")
            if row.pop("_rows"):
                recorded[stream].add(year)
            out[year].update({key: _tonnes(value) for key, value in row.items()})
        for year in years:
            for key in aggregates:
                out[year].setdefault(key, ZERO)

    if wanted & HAZARDOUS:
        upkeep.ensure_current(years=years, region_path=path)  # the ledger is never read stale
        aggregates = {key: _sum(field, condition()) for key, (field, condition) in LEDGER.items() if key in wanted}
        collect(LedgerMonth.objects.filter(organization__region__path__startswith=path, year__in=years), aggregates,
                "ledger")
    if wanted & GISW:
        aggregates = {}
        for key, (fields, condition) in SOLID.items():
            if key not in wanted:
                continue
            expression = None
            for name in fields:
                term = _sum(name, condition())
                expression = term if expression is None else expression + term
            aggregates[key] = expression
        collect(SolidWasteMonth.objects.filter(organization__region__path__startswith=path, year__in=years),
                aggregates, "gisw")
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
                _manifests(path, year).filter(generator__is_medical_institution=True)
                .filter(Q(kind__in=kinds.carrying(streams.MEDICAL)) | medical_code_q("lines__waste__code"))
                .values("generator_id").distinct().count())
        if values.get("manifests_received"):
            hazardous_years.add(year)
        if wanted & HAZARDOUS and year not in hazardous_years and _manifests(path, year).exists():
            hazardous_years.add(year)
        if "days_in_year" in wanted:
            values["days_in_year"] = Decimal(366 if calendar.isleap(year) else 365)
    if wanted & set(REGISTRY):
        counts = Organization.objects.filter(region__path__startswith=path, status="active").aggregate(
            **{key: Count("pk", filter=Q(**{flag: True})) for key, flag in REGISTRY.items()})
        for year in years:  # the registry as it is now (no history of registrations is kept)
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
    if part in LEDGER:
        field, condition = LEDGER[part]
        queryset, source, org = _ledger(path, year), "ledger", "organization"
        expression = _sum(field)
    elif part in LINES:
        field, condition = "accepted_tonnes", LINES[part]
        queryset, source, org = _lines(path, year), "manifests", "manifest__generator"
        expression = _sum(field)
    elif part in SOLID:
        fields, condition = SOLID[part]
        queryset, source, org = _solid(path, year), "solid_waste_ledger", "organization"
        expression = None
        for name in fields:
            expression = _sum(name) if expression is None else expression + _sum(name)
    else:
        return []
    if condition() is not None:
        queryset = queryset.filter(condition())
    return [{"organization_id": row[f"{org}_id"], "name": row[f"{org}__name"], "value": _tonnes(row["value"]),
             "source": source}
            for row in queryset.values(f"{org}_id", f"{org}__name").annotate(value=expression).order_by("-value")]


def platform_records(key: str, path: str, year: int) -> list[dict]:
    """The records behind a platform quantity, summed per organization: [{organization_id, name, value, source}]."""
    rows = []
    for part in DEPENDS.get(key, (key,)):
        rows += _part_records(part, path, year)
    if key in REGISTRY:
        for org in Organization.objects.filter(region__path__startswith=path, status="active", **{REGISTRY[key]: True}
                                               ).order_by("name").values("pk", "name")[:1000]:
            rows.append({"organization_id": org["pk"], "name": org["name"], "value": Decimal(1),
                         "source": "registry"})
    if key in MANIFESTS:
        queryset = _manifests(path, year)
        if key == "medical_institutions_covered":
            queryset = queryset.filter(generator__is_medical_institution=True).filter(
                Q(kind__in=kinds.carrying(streams.MEDICAL)) | medical_code_q("lines__waste__code"))
        for row in (queryset.values("generator_id", "generator__name").annotate(value=Count("pk", distinct=True))
                    .order_by("-value")):
            rows.append({"organization_id": row["generator_id"], "name": row["generator__name"],
                         "value": Decimal(row["value"]), "source": "manifests"})
    return rows
