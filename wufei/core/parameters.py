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
    "permit.expiry_warning_days": ParameterDefault(
        60, "Days before a permit or vehicle permit expires that it is shown as expiring",
        "platform default",
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


def _region_chain(region) -> list[str]:
    """Codes from the province down to the region itself, e.g. 500000, 500113."""
    if isinstance(region, str):
        from wufei.catalog.services import get_region

        region = get_region(region)
    return [code for code in region.path.split("/") if code]
