"""The manifest's life as declarative tables: which step may follow which status, who signs it, which
fields it needs and which it seals (after Trackdéchets' field rules: each field says which signature
requires it and which seals it). Services read these tables; nothing else decides.
"""

from dataclasses import dataclass

from wufei.manifests.models import ManifestStatus as S


@dataclass(frozen=True)
class Step:
    allowed_from: frozenset
    to_status: str | None  # None: decided by the step's data (e.g. received or refused)
    party: str  # generator | transporter | next_transporter | receiver


STEPS: dict[str, Step] = {
    # the generator signs its section and sends the manifest
    "submit": Step(frozenset({S.DRAFT}), S.SUBMITTED, "generator"),
    # the first carrier takes the load at the generator's gate
    "pickup": Step(frozenset({S.SUBMITTED}), S.IN_TRANSIT, "transporter"),
    # the next carrier takes the load from the previous one (联运)
    "handover": Step(frozenset({S.IN_TRANSIT}), S.IN_TRANSIT, "next_transporter"),
    # the receiver checks the load in: accepted (whole or in part) or refused
    "receive": Step(frozenset({S.IN_TRANSIT}), None, "receiver"),
    # the receiver records the utilization / disposal method and date
    "process": Step(frozenset({S.RECEIVED}), S.PROCESSED, "receiver"),
    # the generator withdraws the manifest before anyone else has signed
    "cancel": Step(frozenset({S.DRAFT, S.SUBMITTED}), S.CANCELLED, "generator"),
}

SIGNED_STEPS = ("submit", "pickup", "handover", "receive", "process")

# field -> (the step that requires it, the step that seals it, the party that fills it)
# "lines" and "legs" are the manifest's line and leg rows; a leg's fields are sealed by the
# signature that takes that leg over (pickup for the first, handover for the others).
FIELDS: dict[str, tuple[str | None, str, str]] = {
    "kind": ("submit", "submit", "generator"),
    "generator_site_id": (None, "submit", "generator"),
    "receiver_id": ("submit", "submit", "generator"),
    "receiver_site_id": (None, "submit", "generator"),
    "emergency_measures": (None, "submit", "generator"),
    "note": (None, "submit", "generator"),
    "lines": ("submit", "submit", "generator"),
    "legs": ("submit", "pickup", "generator"),  # the generator names the carriers; each seals its own leg
    "leg.vehicle_id": ("pickup", "pickup", "transporter"),
    "leg.driver_name": (None, "pickup", "transporter"),
    "leg.driver_phone": (None, "pickup", "transporter"),
    "leg.start_place": (None, "pickup", "transporter"),
    "leg.end_place": (None, "pickup", "transporter"),
    "received_tonnes": ("receive", "receive", "receiver"),
    "reception": ("receive", "receive", "receiver"),
    "refusal_reason": (None, "receive", "receiver"),
    "line.method_id": ("process", "process", "receiver"),
    "line.processed_on": ("process", "process", "receiver"),
}

# what a revision may change once sealed (anything else needs a new manifest)
REVISABLE = frozenset({"receiver_site_id", "emergency_measures", "note", "line.waste_name", "line.planned_method_id",
                       "line.method_id", "line.processed_on"})

# statuses in which nothing moves any more
FINAL = frozenset({S.PROCESSED, S.REFUSED, S.CANCELLED})
# statuses in which the load is on the road (the containers are with a carrier)
ON_THE_ROAD = frozenset({S.IN_TRANSIT})


def next_steps(status: str) -> list[str]:
    return [name for name, step in STEPS.items() if status in step.allowed_from]


def sealed_by(field: str) -> str:
    return FIELDS[field][1]


def required_for(step: str) -> list[str]:
    return [field for field, (requires, _seals, _party) in FIELDS.items() if requires == step]
