"""Waste streams as one declarative table: what each stream is measured in, which catalog its codes come from,
how a code is recognised as belonging to it, whether it counts as industrial, its storage limits, the ledger that
holds its monthly figures and its cockpit tile. Services read this table; nothing else says "medical waste is a
code ending in -01".

Python data, not a database table: a row carries code (how a code is recognised, the Q that finds its rows) and
names models and parameters that code must know; what regions do change about a stream (storage limits,
densities and other conversion factors) is already a region-editable parameter (`core.parameters`) the row
names. A new stream is a row here plus only what is truly new (its catalog, a parameter for its density).
Tests register a stream of their own with `register` and remove it with `unregister`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wufei.core.units import Unit

# national hazardous waste list (国家危险废物名录 2021): NNN-NNN-CC, CC the category HWCC
HAZARDOUS_CODE = r"^\d{3}-\d{3}-\d{2}$"
# the category of medical waste (HW01): every code ending in -01, so no join to the category table is needed
MEDICAL_CATEGORY = "HW01"
MEDICAL_CODE_SUFFIX = "-01"


@dataclass(frozen=True)
class StorageLimit:
    """The parameters holding a stream's longest storage and the warning window before it, in `unit`."""

    limit_key: str
    warning_key: str
    unit: str  # "days" | "hours"


@dataclass(frozen=True)
class Tile:
    label: str
    order: int


@dataclass(frozen=True)
class Stream:
    key: str
    label: str
    unit: str  # core.units.Unit: what its quantities are measured in
    catalog: str  # "hazardous_list" (catalog.HazardousWaste, filtered by `matches`) | "gisw" (GeneralSolidWasteCode) …
    matches: Callable[[str], bool]  # whether a waste code belongs to the stream
    code_q: Callable[[str, bool], Q]  # (code field, listed) -> Q of rows whose code belongs to the stream
    industrial: bool  # counts in the industrial families of indicators (ihw_ / gisw_) when from industrial sources
    indicator_family: str | None  # "ihw" | "gisw" | None
    storage: StorageLimit | None
    ledger: str | None  # the model holding its monthly figures ("ledgers.LedgerMonth" …)
    tile: Tile
    tonnes_factor_key: str | None = None  # parameter: tonnes per unit (a density) where the unit is not a mass

    def q(self, field: str = "waste__code", *, listed: bool = True) -> Q:
        """Rows whose waste code (the text field `field`) belongs to the stream. `listed`: the field only holds
        codes of the national hazardous list (a HazardousWaste key), so the format need not be checked."""
        return self.code_q(field, listed)

    @property
    def in_tonnes(self) -> bool:
        return self.unit == Unit.TONNE


def _code(code: str | None) -> str:
    return (code or "").strip().upper()


def is_hazardous_code(code: str | None) -> bool:
    """Whether a code has the national hazardous list's format (NNN-NNN-NN)."""
    return re.match(HAZARDOUS_CODE, _code(code)) is not None


def _is_medical(code: str | None) -> bool:
    return is_hazardous_code(code) and _code(code).endswith(MEDICAL_CODE_SUFFIX)


def _medical_q(field: str, listed: bool) -> Q:
    q = Q(**{f"{field}__endswith": MEDICAL_CODE_SUFFIX})
    return q if listed else q & Q(**{f"{field}__regex": HAZARDOUS_CODE})


def _is_hazardous(code: str | None) -> bool:
    return is_hazardous_code(code) and not _code(code).endswith(MEDICAL_CODE_SUFFIX)


def _hazardous_q(field: str, listed: bool) -> Q:
    q = ~Q(**{f"{field}__endswith": MEDICAL_CODE_SUFFIX})
    return q if listed else q & Q(**{f"{field}__regex": HAZARDOUS_CODE})


def _is_general(code: str | None) -> bool:
    return bool(_code(code)) and not is_hazardous_code(code)


def _general_q(field: str, listed: bool) -> Q:
    if listed:  # a field of the hazardous list holds no general industrial solid waste
        return Q(pk__in=[])
    return ~Q(**{f"{field}__regex": HAZARDOUS_CODE}) & ~Q(**{field: ""})


HAZARDOUS = "hazardous"
MEDICAL = "medical"
GENERAL = "general"

_STREAMS: dict[str, Stream] = {
    MEDICAL: Stream(
        key=MEDICAL, label=_("medical waste"), unit=Unit.TONNE, catalog="hazardous_list", matches=_is_medical,
        code_q=_medical_q, industrial=False, indicator_family=None,
        storage=StorageLimit("storage.medical_max_hours", "storage.medical_warning_hours", "hours"),
        ledger="ledgers.LedgerMonth", tile=Tile(_("medical waste"), 20)),
    HAZARDOUS: Stream(
        key=HAZARDOUS, label=_("hazardous waste"), unit=Unit.TONNE, catalog="hazardous_list", matches=_is_hazardous,
        code_q=_hazardous_q, industrial=True, indicator_family="ihw",
        storage=StorageLimit("storage.max_days", "storage.warning_days", "days"),
        ledger="ledgers.LedgerMonth", tile=Tile(_("hazardous waste"), 10)),
    GENERAL: Stream(
        key=GENERAL, label=_("general industrial solid waste"), unit=Unit.TONNE, catalog="gisw", matches=_is_general,
        code_q=_general_q, industrial=True, indicator_family="gisw", storage=None,
        ledger="ledgers.SolidWasteMonth", tile=Tile(_("general industrial solid waste"), 30)),
}


def get(key: str) -> Stream:
    try:
        return _STREAMS[key]
    except KeyError:
        raise KeyError(f"unknown waste stream {key!r}") from None


def all_streams() -> list[Stream]:
    """Every stream, in the cockpit's order."""
    return sorted(_STREAMS.values(), key=lambda stream: stream.tile.order)


def stream_of(code: str | None) -> Stream | None:
    """The stream a waste code belongs to (the first row, in table order, that recognises it)."""
    for stream in _STREAMS.values():
        if stream.matches(code):
            return stream
    return None


def is_medical_code(code: str | None) -> bool:
    """Whether a hazardous waste code is medical waste (HW01: NNN-NNN-01)."""
    return _STREAMS[MEDICAL].matches(code)


def medical_q(field: str = "waste__code") -> Q:
    """Rows whose hazardous waste code (`field`) is medical waste (HW01)."""
    return _STREAMS[MEDICAL].q(field)


def register(stream: Stream, *, before: str | None = None) -> None:
    """Add a stream (tests, and later data migrations of new streams); `before`: recognised ahead of that row."""
    if stream.key in _STREAMS:
        raise ValueError(f"waste stream {stream.key!r} exists")
    if before is None:
        _STREAMS[stream.key] = stream
        return
    items = list(_STREAMS.items())
    index = [key for key, _row in items].index(before)
    items.insert(index, (stream.key, stream))
    _STREAMS.clear()
    _STREAMS.update(items)


def unregister(key: str) -> None:
    _STREAMS.pop(key, None)
