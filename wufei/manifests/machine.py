"""The manifest's life as declarative tables: which step may follow which status, who signs it, which
fields it needs and which it seals (after Trackdéchets' field rules: each field says which signature
requires it and which seals it). Services read these tables; nothing else decides.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Schema
from pydantic import ValidationError

from wufei.core.errors import ValidationFailed
from wufei.core.inputs import Id, Tonnes
from wufei.manifests.models import ManifestStatus as S
from wufei.manifests.models import Purpose

# --- what each step's signer sends (the `data` of a signature; the API documents one model per step) -------------


class SubmitData(Schema):
    """Submit: nothing beyond the draft; the generator signs what it drafted."""


class TakeOverData(Schema):
    """Pickup / handover: the carrier's vehicle (required unless its leg names one) and driver."""

    vehicle_id: Id | None = None
    driver_name: str = ""
    driver_phone: str = ""


class ReceiveData(Schema):
    """Receive: what the receiver refused and measured. `received_tonnes`: the weighbridge total (kinds in
    tonnes); `received_quantity`: the measured total in the manifest's unit (kinds not in tonnes, e.g. m³)."""

    received_tonnes: Tonnes | None = None
    received_quantity: Tonnes | None = None
    refused_containers: list[str] = []
    refused_lines: list[int] = []
    refuse_all: bool = False
    refusal_reason: str = ""
    container_weights: dict[str, Tonnes] = {}


class ProcessData(Schema):
    """Process: the method for all lines (`method`) or per line position (`methods`), and the day."""

    method: str | None = None
    methods: dict[int, str] = {}
    processed_on: dt.date | None = None


class CancelData(Schema):
    """Cancel: the reason (required once submitted)."""

    reason: str = ""


@dataclass(frozen=True)
class Step:
    allowed_from: frozenset
    to_status: str | None  # None: decided by the step's data (e.g. received or refused)
    party: str  # generator | transporter | next_transporter | receiver
    label: str = ""
    payload: type[Schema] = SubmitData  # what the signer sends
    gate: bool = False  # may be signed at the gate on another party's phone, with the signing party's code (PIN)
    any_member: bool = False  # any member of the party signs (drivers); otherwise its writers (admins, staff)
    bulk: bool = False  # may be signed for many manifests at once (pages)
    not_for: frozenset = frozenset()  # purposes whose manifests never take this step


STEPS: dict[str, Step] = {
    # the generator signs its section and sends the manifest
    "submit": Step(frozenset({S.DRAFT}), S.SUBMITTED, "generator", gettext_lazy("Sign and submit"),
                   SubmitData, gate=True),
    # the first carrier takes the load at the generator's gate
    "pickup": Step(frozenset({S.SUBMITTED}), S.IN_TRANSIT, "transporter", gettext_lazy("Take the load over"),
                   TakeOverData, gate=True, any_member=True, bulk=True),
    # the next carrier takes the load from the previous one (联运)
    "handover": Step(frozenset({S.IN_TRANSIT}), S.IN_TRANSIT, "next_transporter",
                     gettext_lazy("Take over from the previous carrier"), TakeOverData, gate=True, any_member=True),
    # the receiver checks the load in: accepted (whole or in part) or refused
    "receive": Step(frozenset({S.IN_TRANSIT}), None, "receiver", gettext_lazy("Check the load in"), ReceiveData,
                    gate=True, bulk=True),
    # the receiver records the utilization / disposal method and date; collections and returns end at receipt
    "process": Step(frozenset({S.RECEIVED}), S.PROCESSED, "receiver", gettext_lazy("Record utilization / disposal"),
                    ProcessData, not_for=frozenset({Purpose.COLLECTION, Purpose.RETURN})),
    # the generator withdraws the manifest before anyone else has signed
    "cancel": Step(frozenset({S.DRAFT, S.SUBMITTED}), S.CANCELLED, "generator", gettext_lazy("Cancel the manifest"),
                   CancelData),
}

SIGNED_STEPS = ("submit", "pickup", "handover", "receive", "process")
GATE_STEPS = tuple(name for name, step in STEPS.items() if step.gate)
BULK_STEPS = tuple(name for name, step in STEPS.items() if step.bulk)


@dataclass(frozen=True)
class Field:
    """A field of the manifest: the step whose signature requires it (when `required_if` holds, described by
    `condition`), the step whose signature seals it, the party that fills it."""

    label: str
    requires: str | None
    seals: str
    party: str
    required_if: Callable | None = None  # (manifest) -> bool; None: always
    condition: str = ""


def _refused_something(manifest) -> bool:
    return manifest.reception in ("partial", "refused")


def _accepted_something(manifest) -> bool:
    return manifest.accepted_tonnes > 0 or manifest.lines.filter(accepted_tonnes__gt=0).exists()


# "lines" and "legs" are the manifest's line and leg rows; a leg's fields are sealed by the signature that takes
# that leg over (pickup for the first, handover for the others).
FIELDS: dict[str, Field] = {
    "kind": Field(gettext_lazy("kind"), "submit", "submit", "generator"),
    "generator_site_id": Field(gettext_lazy("from site"), None, "submit", "generator"),
    "receiver_id": Field(gettext_lazy("receiver"), "submit", "submit", "generator"),
    "receiver_site_id": Field(gettext_lazy("to site"), None, "submit", "generator"),
    "emergency_measures": Field(gettext_lazy("emergency measures"), None, "submit", "generator"),
    "note": Field(gettext_lazy("note"), None, "submit", "generator"),
    "lines": Field(gettext_lazy("lines"), "submit", "submit", "generator"),
    # the generator names the carriers; each seals its own leg
    "legs": Field(gettext_lazy("carriers"), "submit", "pickup", "generator"),
    "leg.vehicle_id": Field(gettext_lazy("vehicle"), "pickup", "pickup", "transporter"),
    "leg.driver_name": Field(gettext_lazy("driver"), None, "pickup", "transporter"),
    "leg.driver_phone": Field(gettext_lazy("driver's phone"), None, "pickup", "transporter"),
    "leg.start_place": Field(gettext_lazy("from"), None, "pickup", "transporter"),
    "leg.end_place": Field(gettext_lazy("to"), None, "pickup", "transporter"),
    "received_tonnes": Field(gettext_lazy("received (weighbridge, t)"), "receive", "receive", "receiver"),
    "reception": Field(gettext_lazy("reception"), "receive", "receive", "receiver"),
    "refusal_reason": Field(gettext_lazy("reason for refusal"), "receive", "receive", "receiver",
                            _refused_something, gettext_lazy("when anything is refused")),
    "line.method_id": Field(gettext_lazy("utilization / disposal method"), "process", "process", "receiver",
                            _accepted_something, gettext_lazy("on every accepted line")),
    "line.processed_on": Field(gettext_lazy("processed on"), "process", "process", "receiver",
                               _accepted_something, gettext_lazy("on every accepted line")),
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
    return FIELDS[field].seals


def required_for(step: str, manifest=None) -> list[str]:
    """The fields a step's signature requires (for a manifest: those whose condition holds for it)."""
    return [name for name, field in FIELDS.items() if field.requires == step
            and (manifest is None or field.required_if is None or field.required_if(manifest))]


def refusal(step: str, status: str, purpose: str) -> str | None:
    """Why a step cannot be signed now (None: it can): 'not_a_step', 'status' or 'purpose'."""
    rule = STEPS.get(step)
    if rule is None:
        return "not_a_step"
    if status not in rule.allowed_from:
        return "status"
    if purpose in rule.not_for:
        return "purpose"
    return None


def signer_ids(step: str, scope) -> frozenset:
    """The organizations for which the caller signs `step` when logged in (gate signing goes by code)."""
    return scope.organization_ids if STEPS[step].any_member else scope.writable_organization_ids


def payload(step: str, data: dict | None) -> dict:
    """The step's data checked against its model (STEPS[step].payload): the fields sent, typed."""
    try:
        checked = STEPS[step].payload.model_validate(data or {})
    except ValidationError as exc:
        errors = [{"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
                  for error in exc.errors()]
        raise ValidationFailed(_("the data of the '%(step)s' signature is not valid") % {"step": step},
                               errors=errors) from None
    return checked.model_dump(exclude_unset=True)


def contract() -> list[dict]:
    """Every step's contract in words: who signs, at the gate or not, what it requires and seals (docs, pages)."""
    return [{"step": name, "label": str(step.label), "party": step.party, "gate": step.gate,
             "from": sorted(step.allowed_from), "payload": step.payload.__name__,
             "requires": [{"field": f, "label": str(FIELDS[f].label), "condition": str(FIELDS[f].condition)}
                          for f in required_for(name)],
             "seals": [f for f, field in FIELDS.items() if field.seals == name]}
            for name, step in STEPS.items()]
