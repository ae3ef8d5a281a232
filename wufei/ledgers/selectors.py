"""Reading the ledger: the one home of monthly figures, brought current before they are read.

`monthly_figures` is what every reader of tonnes per unit, waste code and month goes through — the regulator
cockpit (analytics.services), the indicators' platform quantities (indicators.quantities), the annual
declarations (declarations.py) and the alert rules. It reads two stored ledgers, narrowed to the caller's scope:

* hazardous and medical waste: `LedgerMonth` (HJ 1259, derived from the scan events by compute.py), brought
  current first (`upkeep.ensure_current` for the years and units read: a figure is never older than the last
  scan). Stream: 'medical' for HW01 codes (NNN-NNN-01, `catalog.services.medical_code_q`), else 'hazardous'.
* general industrial solid waste (stream 'gisw'): the monthly e-ledger `SolidWasteMonth`, typed by the units.

Figures (t, exact to 0.000001 t), the same names for every stream:

* generated, received_in, transferred_out, self_utilized / self_disposed (the unit's own waste in its own
  facility), utilized / disposed (waste the unit received, utilized or disposed of as a licensed operator):
  the LedgerMonth columns of that name (see compute.py). For the e-ledger: generated, self_utilized,
  self_disposed as typed; transferred_out = entrusted_utilization + entrusted_disposal (both also given on
  their own, 0 for the hazardous ledger); received_in = the entrusted tonnes of e-ledger months that name the
  unit as their receiver (counted for the receiver, not for the generator); utilized / disposed 0 (the e-ledger
  does not record a receiver's processing).
* opening_stock / closing_stock: with "month" among the keys, the month's own; otherwise the opening of the
  first month and the closing of the last month of the months read, per unit and code, summed. The hazardous
  ledger holds a row for every month from the first movement (or January, when stock is carried) through
  December, so these are the rows of the first / last month asked; the e-ledger may skip months, so there they are
  the unit's and code's earliest / latest recorded month within the months asked.

Keys a caller may group by (`by`): year, month, organization (the unit's id), region (the unit's region code),
sub_region (the child of `region` the unit lies in; '' for units registered at `region` itself), stream, waste
(the code), industrial (whether the unit is an industrial source, `catalog.services.industrial_source_q`).
Each row is one combination of those keys that has records, with every figure summed.
"""

from decimal import Decimal

from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round
from django.db.models.query import QuerySet

from wufei.catalog.models import Region
from wufei.catalog.services import industrial_source_q, medical_code_q
from wufei.core.scope import Scope
from wufei.ledgers import upkeep
from wufei.ledgers.compute import FIGURES, VALUE_FIELDS, ZERO, check_year, compute_ledger
from wufei.ledgers.models import LedgerMonth, SolidWasteMonth
from wufei.registry import services as registry_services
from wufei.registry.models import Organization

STREAMS = ("hazardous", "medical", "gisw")
WASTE_STREAMS = ("hazardous", "medical")
MONTHLY = ("opening_stock", "generated", "received_in", "transferred_out", "self_utilized", "self_disposed",
           "utilized", "disposed", "entrusted_utilization", "entrusted_disposal", "closing_stock")
FLOWS = MONTHLY[1:-1]
KEYS = ("year", "month", "organization", "region", "sub_region", "stream", "waste", "industrial")
SUMMED = DecimalField(max_digits=24, decimal_places=6)
MICRO = Value(1000000)
SIX = Decimal("0.000001")


# --- exact sums --------------------------------------------------------------------------------------

def exact_sum(expression, condition: Q | None = None):
    """Σ of a tonnes column, exact: on SQLite decimals are binary floats, so whole micro-tonnes are summed there
    (64-bit integers); `as_tonnes` reads the result back."""
    if connection.vendor == "sqlite":
        micro = Cast(Round(ExpressionWrapper(F(expression) * MICRO, output_field=FloatField())), BigIntegerField())
        return Coalesce(Sum(micro, filter=condition), Value(0), output_field=BigIntegerField())
    return Coalesce(Sum(expression, filter=condition, output_field=SUMMED), Value(ZERO, output_field=SUMMED),
                    output_field=SUMMED)


def as_tonnes(value) -> Decimal:
    """A sum of `exact_sum` in tonnes."""
    if not value:
        return ZERO
    if isinstance(value, int):
        return Decimal(value).scaleb(-6)
    return Decimal(value).quantize(SIX)


# --- the scope of a read -----------------------------------------------------------------------------

def region_codes(path: str) -> list[str]:
    """The codes of the region subtree at `path` (a few dozen for a province)."""
    return sorted(Region.objects.filter(path__startswith=path).values_list("code", flat=True))


def in_region(path: str, field: str = "organization") -> Q:
    """Rows whose unit (reached by `field`) is registered in the region subtree at `path`.

    The two databases want different shapes (measured with bench/cockpit.py): SQLite walks the unit's index
    best from an `IN (subquery)` of the region's units; PostgreSQL misestimates both that subquery and a LIKE
    on the region path (it assumes units spread evenly over the country's 3,000 regions and picks nested loops),
    while with the subtree's region codes as a list it reads organization.region_id's statistics."""
    if connection.vendor == "sqlite":
        return Q(**{f"{field}__in": Organization.objects.filter(region__path__startswith=path).values("pk")})
    return Q(**{f"{field}__region_id__in": region_codes(path)})


def _path(region) -> str | None:
    if region is None or region == "":
        return None
    if isinstance(region, Region):
        return region.path
    if isinstance(region, str) and region.startswith("/"):
        return region
    return Region.objects.get(pk=region).path


def _years(year) -> list[int]:
    return sorted({check_year(y) for y in ([year] if isinstance(year, int | str) else year)})


def _stream_case():
    return Case(When(medical_code_q("waste__code"), then=Value("medical")), default=Value("hazardous"),
                output_field=CharField())


def _industrial_case(field: str = "organization"):
    return Case(When(industrial_source_q(field), then=Value(True)), default=Value(False),
                output_field=BooleanField())


# --- the selector ------------------------------------------------------------------------------------

def monthly_figures(scope: Scope, region, year, *, by=("stream",), streams=STREAMS, organization_ids=None,
                    months: tuple[int, int] | None = None, industrial: bool | None = None) -> list[dict]:
    """The monthly figures of the units the caller sees in `region` (a Region, its code or its path; None: all),
    for `year` (one or several), grouped by the keys `by` (see the module docstring), summed.

    `streams` narrows the streams read, `organization_ids` the units, `months` = (first, last) the months
    (default the whole year), `industrial` the units by source (True: industrial sources only). Returns
    [{key: value, …, figure: Decimal, …}] with every figure of MONTHLY, sorted by the keys.
    """
    by = tuple(by)
    unknown = set(by) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    years = _years(year)
    first, last = months or (1, 12)
    path = _path(region)
    ids = organization_ids if organization_ids is None or isinstance(organization_ids, QuerySet) else sorted(
        set(organization_ids))  # ids, or a queryset of units (read as a subquery)
    rows: dict[tuple, dict] = {}
    wanted = set(streams)

    def add(found, organization_field):
        for row in found:
            key = tuple(_key_value(row, name, organization_field) for name in by)
            target = rows.get(key)
            if target is None:
                target = rows[key] = {**dict(zip(by, key, strict=True)), **dict.fromkeys(MONTHLY, ZERO)}
            for figure in MONTHLY:
                if f"sum_{figure}" in row:
                    target[figure] += as_tonnes(row[f"sum_{figure}"])

    if wanted & set(WASTE_STREAMS):
        upkeep.ensure_current(years=years, organization_ids=ids, region_path=path)
        ledger = LedgerMonth.objects.visible_to(scope).filter(year__in=years, month__gte=first, month__lte=last)
        if path:
            ledger = ledger.filter(in_region(path))
        if ids is not None:
            ledger = ledger.filter(organization_id__in=ids)
        if wanted & set(WASTE_STREAMS) != set(WASTE_STREAMS):
            medical = medical_code_q("waste__code")
            ledger = ledger.filter(medical if "medical" in wanted else ~medical)
        if industrial is not None:
            ledger = ledger.filter(industrial_source_q("organization") if industrial
                                   else ~industrial_source_q("organization"))
        ledger = ledger.annotate(stream=_stream_case())
        if "industrial" in by:
            ledger = ledger.annotate(industrial=_industrial_case())
        grouped = "month" in by
        aggregates = {name: exact_sum(name) for name in ("generated", "received_in", "transferred_out",
                                                         "self_utilized", "self_disposed", "utilized", "disposed")}
        aggregates["opening_stock"] = exact_sum("opening_stock", None if grouped else Q(month=first))
        aggregates["closing_stock"] = exact_sum("closing_stock", None if grouped else Q(month=last))
        add(ledger.values(*_fields(by, "organization")).annotate(**_named(aggregates)).order_by(),
            "organization")

    if "gisw" in wanted:
        solid = SolidWasteMonth.objects.visible_to(scope).filter(year__in=years, month__gte=first, month__lte=last)
        if industrial is False:
            solid = solid.none()  # the e-ledger is kept by industrial units only
        base = solid
        if path:
            solid = solid.filter(in_region(path))
        if ids is not None:
            solid = solid.filter(organization_id__in=ids)
        solid = solid.annotate(stream=Value("gisw", output_field=CharField()))
        if "industrial" in by:
            solid = solid.annotate(industrial=Value(True, output_field=BooleanField()))
        grouped = "month" in by
        aggregates = {name: exact_sum(name) for name in ("generated", "self_utilized", "self_disposed",
                                                         "entrusted_utilization", "entrusted_disposal")}
        aggregates["transferred_out"] = exact_sum("entrusted_utilization") + exact_sum("entrusted_disposal")
        if grouped:
            aggregates["opening_stock"] = exact_sum("opening_stock")
            aggregates["closing_stock"] = exact_sum("closing_stock")
        else:
            earliest, latest = _recorded(first, last, "month"), _recorded(first, last, "-month")
            aggregates["opening_stock"] = exact_sum("opening_stock", Q(month=Subquery(earliest)))
            aggregates["closing_stock"] = exact_sum("closing_stock", Q(month=Subquery(latest)))
        add(solid.values(*_fields(by, "organization", "code")).annotate(**_named(aggregates)).order_by(),
            "organization")
        # what the units entrusted to a receiver, received by that receiver
        received = base.filter(receiver__isnull=False)
        if path:
            received = received.filter(in_region(path, "receiver"))
        if ids is not None:
            received = received.filter(receiver_id__in=ids)
        received = received.annotate(stream=Value("gisw", output_field=CharField()))
        if "industrial" in by:
            received = received.annotate(industrial=_industrial_case("receiver"))
        add(received.values(*_fields(by, "receiver", "code")).annotate(
            sum_received_in=exact_sum("entrusted_utilization") + exact_sum("entrusted_disposal")).order_by(),
            "receiver")

    out = list(rows.values())
    if "sub_region" in by:
        out = _by_sub_region(out, path, by)
    return sorted(out, key=lambda row: tuple(_sortable(row[name]) for name in by))


def _named(aggregates: dict) -> dict:
    """Aggregates named apart from the columns they sum (an annotation named like a column shadows it)."""
    return {f"sum_{name}": expression for name, expression in aggregates.items()}


def _recorded(first: int, last: int, order: str):
    """The earliest ('month') or latest ('-month') month the unit recorded for a code within [first, last]."""
    return (SolidWasteMonth.objects.filter(organization_id=OuterRef("organization_id"), code=OuterRef("code"),
                                           year=OuterRef("year"), month__gte=first, month__lte=last)
            .order_by(order).values("month")[:1])


def _fields(by, organization: str, waste: str = "waste_id") -> list[str]:
    """The columns behind the keys `by` (`organization`: the relation whose unit the row counts for)."""
    fields = {"year": "year", "month": "month", "organization": f"{organization}_id",
              "region": f"{organization}__region_id", "sub_region": f"{organization}__region_id",
              "stream": "stream", "waste": waste, "industrial": "industrial"}
    return list(dict.fromkeys(fields[name] for name in by))


def _key_value(row: dict, name: str, organization: str):
    if name == "organization":
        return row[f"{organization}_id"]
    if name in ("region", "sub_region"):
        return row[f"{organization}__region_id"]
    if name == "waste":
        return row.get("waste_id", row.get("code"))
    return row[name]


def _sortable(value):
    return (value is None, str(value) if not isinstance(value, int | bool) else f"{int(value):012d}")


def _by_sub_region(rows: list[dict], path: str | None, by) -> list[dict]:
    """Rows keyed by the unit's region code, merged into the child of the region read that holds it."""
    paths = dict(Region.objects.filter(path__startswith=path or "/").values_list("code", "path"))
    merged: dict[tuple, dict] = {}
    for row in rows:
        rest = (paths.get(row["sub_region"], "") or "")[len(path or "/"):]
        row["sub_region"] = rest.split("/", 1)[0] if rest else ""
        key = tuple(row[name] for name in by)
        target = merged.get(key)
        if target is None:
            merged[key] = row
        else:
            for figure in MONTHLY:
                target[figure] += row[figure]
    return list(merged.values())


def unit_year(scope: Scope, organization_id: int, year: int, *, streams=WASTE_STREAMS) -> dict[str, dict]:
    """{waste code: {figure: tonnes}} of one unit's year: opening of its first month, flows summed, closing of
    December (what an annual declaration is drafted from)."""
    return {row["waste"]: {name: row[name] for name in MONTHLY}
            for row in monthly_figures(scope, None, year, by=("waste",), streams=streams,
                                       organization_ids=[organization_id])}



# --- one unit's ledger (pages, API, export) ----------------------------------------------------------

def organization_for(scope: Scope, organization_id: int) -> Organization:
    """The organization if the caller sees it, else NotFound (an id probe learns nothing)."""
    return registry_services.get_organization(scope, organization_id)



def ledger_months(scope: Scope, organization_id: int, year: int):
    """The LedgerMonth rows of one organization and year that the caller may see (brought up to date first)."""
    upkeep.ensure_current(years=check_year(year), organization_ids=[organization_id])
    return (LedgerMonth.objects.visible_to(scope).filter(organization_id=organization_id, year=check_year(year))
            .select_related("waste", "waste__category").order_by("waste_id", "month"))


def summarize_year(months) -> list[dict]:
    """Per waste code: opening of the first month, sums of the flows, closing of the last month."""
    by_code: dict[str, dict] = {}
    for row in sorted(months, key=lambda r: (r.waste_id, r.month)):
        summary = by_code.get(row.waste_id)
        if summary is None:
            summary = by_code[row.waste_id] = {
                "waste": row.waste_id, "category": row.waste.category_id, "description": row.waste.description,
                **{name: ZERO for name in FIGURES}, "containers": 0, "opening_stock": row.opening_stock,
                "first_month": row.month}
        for name in FIGURES[1:-1]:
            summary[name] += getattr(row, name)
        summary["containers"] += row.containers
        summary["closing_stock"] = row.closing_stock
        summary["last_month"] = row.month
    return list(by_code.values())


def ledger_year(scope: Scope, organization_id: int, year: int) -> list[dict]:
    """The yearly summary per waste code from the stored ledger (the caller's scope applies)."""
    return summarize_year(ledger_months(scope, organization_id, year))



def ledger_is_current(organization_id: int, year: int, computed: dict | None = None) -> bool:
    """Whether the stored rows equal what the events give now."""
    computed = compute_ledger(year=year, organization_ids=[organization_id]) if computed is None else computed
    stored = {(r.organization_id, r.waste_id, r.month): {name: getattr(r, name) for name in VALUE_FIELDS}
              for r in LedgerMonth.objects.filter(organization_id=organization_id, year=year)}
    return stored == computed


