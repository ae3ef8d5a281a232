"""Rule values that regulators may change, with the defaults shipped from the regulations.

A value is looked up for a region: the most specific override on the region's
path wins (district over city over province over platform), else the default.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ParameterDefault:
    value: object
    description: str
    source: str


DEFAULTS: dict[str, ParameterDefault] = {
    "supervision.key.min_annual_tonnes": ParameterDefault(
        "100", "Annual hazardous waste generation (t) at or above which a unit is key-supervised",
        "HJ 1259-2022 (single source, RULES.md §3)",
    ),
    "supervision.simplified.min_annual_tonnes": ParameterDefault(
        "10", "Annual hazardous waste generation (t) at or above which a unit is under simplified management",
        "HJ 1259-2022; Shanghai notice (RULES.md §3)",
    ),
    "tracking.code.sequence_digits": ParameterDefault(
        3, "Digits of the 4th segment (sequence) of the HJ 1276 digital identification code: "
        "USCC 18 + waste code 8 + date 8 + sequence 3 = 37 characters",
        "HJ 1276-2022 (4 segments, 37 characters); segment lengths UNCONFIRMED (RULES.md §4)",
    ),
    "tracking.reweigh_tolerance_percent": ParameterDefault(
        "2", "A re-weigh differing from the recorded net weight by more than this share (%) is flagged",
        "platform default (no regulation found)",
    ),
    "storage.max_days": ParameterDefault(
        365, "Longest storage of hazardous waste (days)", "固废法 2020 第81条第3款 (one year)",
    ),
    "storage.medical_max_hours": ParameterDefault(
        48, "Longest temporary storage of medical waste (hours)", "医疗废物管理条例 第17条 (2 days)",
    ),
    "storage.medical_warning_hours": ParameterDefault(
        12, "Hours before the medical waste storage limit that a container is shown as close to it",
        "platform default",
    ),
    "storage.warning_days": ParameterDefault(
        30, "Days before the storage limit that a container is shown as close to it", "platform default",
    ),
    "label.background_rgb": ParameterDefault(
        "255,150,0", "Background colour of hazardous waste labels (R,G,B)",
        "HJ 1276-2022 template colour, UNCONFIRMED (RULES.md §4)",
    ),
    "plan.due": ParameterDefault(
        "03-31", "Management plans for a year are filed by this day of that year (MM-DD)",
        "HJ 1259-2022; RULES.md §3 (每年3月31日前)",
    ),
    "declaration.due": ParameterDefault(
        "03-31", "The declaration of a year is submitted by this day of the following year (MM-DD)",
        "MEE 2021 notice; RULES.md §3 (3月31日)",
    ),
    "declaration.spot_check_share_percent": ParameterDefault(
        "5", "Share (%) of submitted declarations a regulator's random draw selects for a spot check",
        "platform default",
    ),
    "solid_waste.monthly_ledger_min_annual_tonnes": ParameterDefault(
        "100", "General industrial solid waste generation (t/a) from which the monthly e-ledger is required",
        "巴南区实施方案 L165 / task 76 (规模以上 or ≥100 t)",
    ),
    "manifest.receipt_working_days": ParameterDefault(
        5, "Working days within which the receiver confirms receipt; loads in transit longer are overdue",
        "危险废物转移管理办法 第18条 (5 个工作日)",
    ),
    "manifest.discrepancy_tolerance_percent": ParameterDefault(
        "5", "A weighbridge quantity differing from the accepted shipped quantity by more than this share (%) is "
        "recorded as a discrepancy", "platform default (no regulation found; UNCONFIRMED)",
    ),
    "manifest.signing_code_max_failures": ParameterDefault(
        5, "Wrong gate signing codes one person may type for one manifest within the lock time; then that person "
        "is refused on that manifest (others still sign with the code)", "platform default",
    ),
    "manifest.signing_code_lock_minutes": ParameterDefault(
        15, "Minutes a person stays refused on a manifest after repeated wrong gate signing codes",
        "platform default",
    ),
    "manifest.signing_code_max_failures_per_day": ParameterDefault(
        20, "Wrong gate signing codes of one unit one person may type over all manifests within 24 hours; then that "
        "person is refused that unit's code until the oldest ones are a day old", "platform default",
    ),
    "permit.expiry_warning_days": ParameterDefault(
        60, "Days before a permit or vehicle permit expires that it is shown as expiring",
        "platform default",
    ),
    "indicators.evidence_max_mb": ParameterDefault(
        20, "Largest evidence file (MB) a department attaches to an entered indicator quantity", "platform default",
    ),
    "imports.max_file_mb": ParameterDefault(
        20, "Largest file (MB) an import (.xlsx, .csv) may be; a workbook may unpack to ten times this",
        "platform default",
    ),
    "imports.max_rows": ParameterDefault(
        100000, "Most data rows an imported file may hold", "platform default",
    ),
    "imports.max_columns": ParameterDefault(
        200, "Most columns an imported file may fill", "platform default",
    ),
    "imports.max_cells": ParameterDefault(
        2000000, "Most filled cells an imported workbook may hold (reading time and memory grow with them)",
        "platform default",
    ),
    "imports.background_min_rows": ParameterDefault(
        2000, "Data rows from which an import runs as a background job (its progress on the job's page)",
        "platform default",
    ),
    "indicators.index": ParameterDefault(
        None, "Zero-waste index definition (sub-indices, components, weights, worst/best bounds); "
        "None = the shipped wufei/indicators/data/index.json", "platform default (no official definition found)",
    ),
}


def default(key: str):
    return DEFAULTS[key].value


def get(key: str, region=None):
    """The value of `key` in force for a region (a Region, or a code such as '500113'), or the default."""
    from wufei.core.models import Parameter

    if key not in DEFAULTS:
        raise KeyError(f"unknown parameter {key!r}")
    candidates = [""]
    if region:
        candidates += _region_chain(region)
    overrides = {p.region_code: p.value for p in Parameter.objects.filter(key=key, region_code__in=candidates)}
    for code in reversed(candidates):
        if code in overrides:
            return overrides[code]
    return DEFAULTS[key].value


def get_decimal(key: str, region=None) -> Decimal:
    return Decimal(str(get(key, region)))


def get_for_regions(key: str, regions) -> dict[str, object]:
    """{region code: the value of `key` in force there} for many Region rows, with one query (as `get` each)."""
    from wufei.core.models import Parameter

    if key not in DEFAULTS:
        raise KeyError(f"unknown parameter {key!r}")
    overrides = dict(Parameter.objects.filter(key=key).values_list("region_code", "value"))
    result = {}
    for region in regions:
        value = overrides.get("", DEFAULTS[key].value)
        for code in _region_chain(region):
            if code in overrides:
                value = overrides[code]
        result[region.code] = value
    return result


def _region_chain(region) -> list[str]:
    """Codes from the province down to the region itself, e.g. 500000, 500113."""
    if isinstance(region, str):
        from wufei.catalog.services import get_region

        region = get_region(region)
    return [code for code in region.path.split("/") if code]
