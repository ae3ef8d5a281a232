"""The container life as a declarative table: which scan may follow which status, what it leads to.

Each entry: scan kind -> Transition(from_statuses, to_status, requires, holder_change).
`requires` names container fields that must be set before the scan (五即: a container is
stored only once it is weighed and coded). `holder_change` says the scan moves custody to
the organization named in the scan (`to_organization`). Services read this table; nothing
else decides whether a scan is allowed.
"""

from dataclasses import dataclass

from wufei.tracking.models import ContainerStatus as S
from wufei.tracking.models import ScanKind as K

BEFORE_STORAGE = frozenset({S.PRODUCED, S.PACKED, S.WEIGHED, S.CODED})
IN_CUSTODY = frozenset({S.PRODUCED, S.PACKED, S.WEIGHED, S.CODED, S.STORED, S.LOADED, S.HANDED_OVER, S.RECEIVED})
FINAL = frozenset({S.UTILIZED, S.DISPOSED, S.SELF_UTILIZED, S.SELF_DISPOSED, S.MERGED, S.SPLIT})


@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset
    to_status: str | None  # None: the status stays as it is
    requires: tuple[str, ...] = ()
    holder_change: bool = False
    needs_method: bool = False


TRANSITIONS: dict[str, Transition] = {
    K.PACKED: Transition(frozenset({S.PRODUCED}), S.PACKED),
    K.WEIGHED: Transition(frozenset({S.PRODUCED, S.PACKED}), S.WEIGHED),
    K.CODED: Transition(frozenset({S.PRODUCED, S.PACKED, S.WEIGHED}), S.CODED),
    K.STORED: Transition(BEFORE_STORAGE | {S.RECEIVED}, S.STORED, requires=("net_weight_tonnes", "coded_at")),
    K.REWEIGHED: Transition(IN_CUSTODY, None),
    K.MOVED: Transition(frozenset({S.STORED}), None),
    # a collector forwards what it received (小微收运): received → loaded
    K.LOADED: Transition(frozenset({S.STORED, S.CODED, S.WEIGHED, S.RECEIVED}), S.LOADED,
                         requires=("net_weight_tonnes",)),
    # a carrier passes a load on to the next carrier or the receiver (联运): handed_over → handed_over
    K.HANDED_OVER: Transition(frozenset({S.LOADED, S.STORED, S.HANDED_OVER}), S.HANDED_OVER, holder_change=True),
    K.RECEIVED: Transition(frozenset({S.HANDED_OVER, S.LOADED}), S.RECEIVED),
    K.UTILIZED: Transition(frozenset({S.RECEIVED, S.STORED}), S.UTILIZED, needs_method=True),
    K.DISPOSED: Transition(frozenset({S.RECEIVED, S.STORED}), S.DISPOSED, needs_method=True),
    K.SELF_UTILIZED: Transition(frozenset({S.STORED, S.WEIGHED, S.CODED}), S.SELF_UTILIZED,
                                requires=("net_weight_tonnes",), needs_method=True),
    K.SELF_DISPOSED: Transition(frozenset({S.STORED, S.WEIGHED, S.CODED}), S.SELF_DISPOSED,
                                requires=("net_weight_tonnes",), needs_method=True),
    K.MERGED: Transition(frozenset({S.STORED, S.CODED, S.WEIGHED, S.RECEIVED}), S.MERGED),
    K.SPLIT: Transition(frozenset({S.STORED, S.CODED, S.WEIGHED, S.RECEIVED}), S.SPLIT),
}

# the five immediates, in order, with the timestamp each one sets
FIVE_STEPS = (
    (K.PRODUCED, "produced_at"),
    (K.PACKED, "packed_at"),
    (K.WEIGHED, "weighed_at"),
    (K.CODED, "coded_at"),
    (K.STORED, "stored_at"),
)

# statuses in which a container still counts in its holder's stock
IN_STOCK = frozenset({S.PRODUCED, S.PACKED, S.WEIGHED, S.CODED, S.STORED, S.RECEIVED})


def next_scans(status: str) -> list[str]:
    """The scan kinds allowed from a status (for the scan page's buttons)."""
    return [kind for kind, transition in TRANSITIONS.items() if status in transition.allowed_from]
