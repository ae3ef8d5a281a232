"""Platform quantities: what the ledgers, the monthly e-ledger, the manifests and the registry say
for a region subtree and a calendar year. Read-only: nothing here writes another app's tables.

Each source table is read with one aggregate query per region and year, whatever the number of
quantities asked from it (`platform_values`), and every figure can be opened into the records
behind it, one row per organization (`platform_records`).
"""

import calendar
from decimal import Decimal

from django.db import connection
from django.db.models import BigIntegerField, Count, DecimalField, ExpressionWrapper, F, FloatField, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round

from wufei.ledgers.models import LedgerMonth, SolidWasteMonth
from wufei.manifests.models import Manifest, ManifestLine, ManifestStatus
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


def _ledger(path: str, year: int):
    return LedgerMonth.objects.filter(organization__region__path__startswith=path, year=year)


def _solid(path: str, year: int):
    return SolidWasteMonth.objects.filter(organization__region__path__startswith=path, year=year)


def _lines(path: str, year: int):
    return ManifestLine.objects.filter(manifest__generator__region__path__startswith=path,
                                       manifest__kind__in=WASTE_KINDS, manifest__status__in=DONE,
                                       manifest__received_at__year=year)


LEDGER = {
    "hw_generated": ("generated", None),
    "hw_transferred": ("transferred_out", None),
    "hw_opening_stock": ("opening_stock", Q(month=1)),
    "hw_self_utilized": ("self_utilized", None),
    "hw_self_disposed": ("self_disposed", None),
}
SOLID = {
    "gisw_generated": (("generated",), None),
    "gisw_utilized": (("self_utilized", "entrusted_utilization"), None),
    "gisw_disposed": (("self_disposed", "entrusted_disposal"), None),
    "gisw_stored": (("closing_stock",), Q(month=12)),
}
LINES = {"line_utilized": _utilization, "line_disposed": _disposal, "hw_landfilled": _landfill}
DEPENDS = {
    "hw_utilized": ("hw_self_utilized", "line_utilized"),
    "hw_disposed": ("hw_self_disposed", "line_disposed"),
    "gisw_stored_disposed": ("gisw_disposed", "gisw_stored"),
}


def platform_values(path: str, year: int, keys) -> dict[str, Decimal]:
    """The platform quantities `keys` of the region subtree `path` in `year`."""
    return platform_values_years(path, [year], keys).get(year, {})


def platform_values_years(path: str, years, keys) -> dict[int, dict[str, Decimal]]:
    """The platform quantities `keys` of the region subtree `path` for each of `years`: one GROUP BY year
    query per source table, whatever the number of quantities and years."""
    years = sorted(set(years))
    wanted = set(keys)
    for key in list(wanted):
        wanted.update(DEPENDS.get(key, ()))
    out: dict[int, dict[str, Decimal]] = {year: {} for year in years}

    def collect(queryset, aggregates, year_field="year"):
        for row in queryset.values(year_field).order_by().annotate(**aggregates):
            year = row.pop(year_field)
            out[year].update({key: _tonnes(value) for key, value in row.items()})
        for year in years:
            for key in aggregates:
                out[year].setdefault(key, ZERO)

    if wanted & set(LEDGER):
        aggregates = {key: _sum(field, condition) for key, (field, condition) in LEDGER.items()}
        collect(LedgerMonth.objects.filter(organization__region__path__startswith=path, year__in=years), aggregates)
    if wanted & set(SOLID):
        aggregates = {}
        for key, (fields, condition) in SOLID.items():
            expression = None
            for name in fields:
                expression = _sum(name, condition) if expression is None else expression + _sum(name, condition)
            aggregates[key] = expression
        collect(SolidWasteMonth.objects.filter(organization__region__path__startswith=path, year__in=years),
                aggregates)
    for year in years:
        values = out[year]
        if wanted & (set(LINES) | {"manifest_tonnes"}):
            aggregates = {key: _sum("accepted_tonnes", condition()) for key, condition in LINES.items()}
            aggregates["manifest_tonnes"] = _sum("accepted_tonnes")
            values.update({key: _tonnes(value) for key, value in _lines(path, year).aggregate(**aggregates).items()})
        if "manifests_received" in wanted:
            values["manifests_received"] = Decimal(Manifest.objects.filter(
                generator__region__path__startswith=path, kind__in=WASTE_KINDS, status__in=DONE,
                received_at__year=year).count())
        if "medical_institutions_covered" in wanted:
            values["medical_institutions_covered"] = Decimal(Manifest.objects.filter(
                generator__region__path__startswith=path, generator__is_medical_institution=True, kind="medical",
                status__in=DONE, received_at__year=year).values("generator_id").distinct().count())
        if "days_in_year" in wanted:
            values["days_in_year"] = Decimal(366 if calendar.isleap(year) else 365)
    if wanted & {"generators", "hw_operators", "medical_institutions"}:
        counts = Organization.objects.filter(region__path__startswith=path, status="active").aggregate(
            generators=Count("pk", filter=Q(is_generator=True)),
            hw_operators=Count("pk", filter=Q(is_receiver=True)),
            medical_institutions=Count("pk", filter=Q(is_medical_institution=True)))
        for year in years:  # the registry as it is now (no history of registrations is kept)
            out[year].update({key: Decimal(value) for key, value in counts.items()})
    for year in years:
        values = out[year]
        for key, parts in DEPENDS.items():
            if key in wanted:
                values[key] = sum((values[p] for p in parts), ZERO)
        out[year] = {key: _exact(values[key]) for key in keys if key in values}
    return out


def platform_records(key: str, path: str, year: int) -> list[dict]:
    """The records behind a platform quantity, summed per organization: [{organization_id, name, value, source}]."""
    rows = []
    if key in LEDGER or key in ("hw_utilized", "hw_disposed"):
        field, condition = LEDGER.get(key, (None, None))
        if key == "hw_utilized":
            field = "self_utilized"
        elif key == "hw_disposed":
            field = "self_disposed"
        queryset = _ledger(path, year)
        if condition is not None:
            queryset = queryset.filter(condition)
        for row in (queryset.values("organization_id", "organization__name").annotate(value=_sum(field))
                    .order_by("-value")):
            rows.append({"organization_id": row["organization_id"], "name": row["organization__name"],
                         "value": _tonnes(row["value"]), "source": "ledger"})
    if key in ("hw_utilized", "hw_disposed", "hw_landfilled", "manifest_tonnes"):
        condition = {"hw_utilized": _utilization, "hw_disposed": _disposal, "hw_landfilled": _landfill}.get(key)
        queryset = _lines(path, year)
        if condition is not None:
            queryset = queryset.filter(condition())
        for row in (queryset.values("manifest__generator_id", "manifest__generator__name")
                    .annotate(value=_sum("accepted_tonnes")).order_by("-value")):
            rows.append({"organization_id": row["manifest__generator_id"], "name": row["manifest__generator__name"],
                         "value": _tonnes(row["value"]), "source": "manifests"})
    parts = {"gisw_stored_disposed": ("gisw_disposed", "gisw_stored")}.get(key, (key,))
    for part in parts:
        if part in SOLID:
            fields, condition = SOLID[part]
            queryset = _solid(path, year)
            if condition is not None:
                queryset = queryset.filter(condition)
            expression = None
            for name in fields:
                expression = _sum(name) if expression is None else expression + _sum(name)
            for row in (queryset.values("organization_id", "organization__name").annotate(value=expression)
                        .order_by("-value")):
                rows.append({"organization_id": row["organization_id"], "name": row["organization__name"],
                             "value": _tonnes(row["value"]), "source": "solid_waste_ledger"})
    if key in ("generators", "hw_operators", "medical_institutions"):
        flag = {"generators": "is_generator", "hw_operators": "is_receiver",
                "medical_institutions": "is_medical_institution"}[key]
        for org in Organization.objects.filter(region__path__startswith=path, status="active", **{flag: True}
                                               ).order_by("name").values("pk", "name")[:1000]:
            rows.append({"organization_id": org["pk"], "name": org["name"], "value": Decimal(1),
                         "source": "registry"})
    if key in ("manifests_received", "medical_institutions_covered"):
        queryset = Manifest.objects.filter(generator__region__path__startswith=path, kind__in=WASTE_KINDS,
                                           status__in=DONE, received_at__year=year)
        if key == "medical_institutions_covered":
            queryset = queryset.filter(kind="medical", generator__is_medical_institution=True)
        for row in queryset.values("generator_id", "generator__name").annotate(value=Count("pk")).order_by("-value"):
            rows.append({"organization_id": row["generator_id"], "name": row["generator__name"],
                         "value": Decimal(row["value"]), "source": "manifests"})
    return rows
