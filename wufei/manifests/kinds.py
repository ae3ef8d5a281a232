"""Manifest kinds as one declarative table: per kind, the waste streams it carries, whether its lines are built
from containers (一物一码) or typed, which operating permits a receiver needs, which submission checks apply
(named in services/submission.py CHECKS), its PDF title, the purposes it allows and the unit of its quantities.
Services, views and the PDF read this table; none branches on a kind's name.

The database column `Manifest.kind` and the API keep the kinds' keys ("hazardous", "medical", "general").
Python data like catalog.streams (a row names code: checks, permit kinds, streams). Tests register a kind of
their own with `register` and remove it with `unregister`.
"""

from dataclasses import dataclass

from wufei.catalog import streams
from wufei.core.units import Unit
from wufei.manifests.models import ManifestKind, Purpose
from wufei.registry.models import OperatingPermit

CONTAINERS = "containers"  # lines are built by scanning containers onto the manifest
TYPED = "typed"  # lines are typed: code, name, quantity

ALL_PURPOSES = frozenset(Purpose.values)
ANY_PERMIT = frozenset(OperatingPermit.Kind.values)


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    streams: tuple[str, ...]  # catalog.streams keys of the waste it carries
    lines: str  # CONTAINERS | TYPED
    receiver_permits: frozenset  # OperatingPermit.Kind values one of which must cover each line; empty: none needed
    checks: tuple[str, ...]  # submission checks (services/submission.py CHECKS), in order
    pdf_title: str  # printed at the top of the manifest (Chinese, as the regulations name the form)
    purposes: frozenset  # Purpose values a manifest of this kind may have
    unit: str  # core.units.Unit of its quantities
    # cross-province transfers to utilization are filed, not approved (固废法 第22条第2款)
    utilization_by_filing: bool = False
    plan_checked: bool = False  # submission warns when the transfer is not in the approved management plan
    dangerous_goods: bool = True  # travels with a dangerous goods waybill (危险货物运单), as the PDF says

    @property
    def typed_lines(self) -> bool:
        return self.lines == TYPED

    @property
    def needs_permit(self) -> bool:
        return bool(self.receiver_permits)

    def carries(self, waste_code: str | None) -> bool:
        """Whether a waste code belongs to one of the streams this kind carries."""
        stream = streams.stream_of(waste_code)
        return stream is not None and stream.key in self.streams

    @property
    def stream(self) -> streams.Stream:
        """The kind's first (main) stream."""
        return streams.get(self.streams[0])


_KINDS: dict[str, Kind] = {
    ManifestKind.HAZARDOUS: Kind(
        key=ManifestKind.HAZARDOUS, label=ManifestKind.HAZARDOUS.label, streams=(streams.HAZARDOUS,),
        lines=CONTAINERS, receiver_permits=ANY_PERMIT,
        checks=("parties", "receiver_permit", "cross_province"), pdf_title="危险废物转移联单",
        purposes=ALL_PURPOSES, unit=Unit.TONNE, plan_checked=True),
    ManifestKind.MEDICAL: Kind(
        key=ManifestKind.MEDICAL, label=ManifestKind.MEDICAL.label, streams=(streams.MEDICAL,),
        lines=CONTAINERS, receiver_permits=ANY_PERMIT,
        checks=("parties", "receiver_permit", "cross_province"), pdf_title="医疗废物转移联单",
        purposes=ALL_PURPOSES, unit=Unit.TONNE, plan_checked=True),
    ManifestKind.GENERAL: Kind(
        key=ManifestKind.GENERAL, label=ManifestKind.GENERAL.label, streams=(streams.GENERAL,),
        lines=TYPED, receiver_permits=frozenset(), checks=("parties", "cross_province"),
        pdf_title="一般工业固体废物转移联单", purposes=ALL_PURPOSES, unit=Unit.TONNE,
        utilization_by_filing=True, dangerous_goods=False),
}

DEFAULT = ManifestKind.HAZARDOUS


def get(key: str) -> Kind:
    try:
        return _KINDS[key]
    except KeyError:
        raise KeyError(f"unknown manifest kind {key!r}") from None


def find(key: str | None) -> Kind | None:
    return _KINDS.get(key or "")


def keys() -> list[str]:
    return list(_KINDS)


def choices() -> list[tuple[str, str]]:
    """(key, label) for forms and filters."""
    return [(kind.key, kind.label) for kind in _KINDS.values()]


def carrying(stream: str) -> list[str]:
    """The kinds whose manifests carry a stream."""
    return [kind.key for kind in _KINDS.values() if stream in kind.streams]


def for_waste(waste_code: str | None) -> Kind | None:
    """The container kind that carries a waste code (e.g. the kind a container's manifest must be)."""
    for kind in _KINDS.values():
        if kind.lines == CONTAINERS and kind.carries(waste_code):
            return kind
    return None


def register(kind: Kind) -> None:
    if kind.key in _KINDS:
        raise ValueError(f"manifest kind {kind.key!r} exists")
    _KINDS[kind.key] = kind


def unregister(key: str) -> None:
    _KINDS.pop(key, None)



def needing_permit() -> list[str]:
    """The kinds whose receivers need an operating permit covering each line."""
    return [kind.key for kind in _KINDS.values() if kind.needs_permit]


def with_typed_lines() -> list[str]:
    return [kind.key for kind in _KINDS.values() if kind.typed_lines]
