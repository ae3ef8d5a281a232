"""Manifests API shapes (django-ninja / Pydantic). Quantities are Decimal tonnes; times ISO 8601."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from wufei.core.inputs import Id, Latitude, Longitude, PositiveTonnes
from wufei.manifests import machine


class LegIn(Schema):
    transporter_id: Id
    vehicle_id: Id | None = None
    driver_name: str = ""
    driver_phone: str = ""
    start_place: str = ""
    end_place: str = ""


class TypedLineIn(Schema):
    """A typed line (no containers; general industrial solid waste …): code, name and quantity — `tonnes` for
    kinds measured in tonnes, or `quantity` in the kind's `unit` (m³, head …; a different unit is refused)."""

    general_code: str
    waste_name: str
    tonnes: PositiveTonnes | None = None
    quantity: PositiveTonnes | None = None
    unit: str | None = None
    physical_form: str = ""
    planned_method: str | None = None


class ManifestIn(Schema):
    kind: str
    generator_id: Id
    receiver_id: Id
    purpose: str = "transfer"
    generator_site_id: Id | None = None
    receiver_site_id: Id | None = None
    legs: list[LegIn] = []
    container_codes: list[str] = []
    lines: list[TypedLineIn] = []
    planned_method: str | None = None
    emergency_measures: str = ""
    note: str = ""


class DraftChangesIn(Schema):
    version: int
    receiver_id: Id | None = None
    generator_site_id: Id | None = None
    receiver_site_id: Id | None = None
    emergency_measures: str | None = None
    note: str | None = None
    legs: list[LegIn] | None = None
    lines: list[TypedLineIn] | None = None


class ContainersIn(Schema):
    version: int
    codes: list[str]
    planned_method: str | None = None


class MethodsIn(Schema):
    version: int
    methods: dict[int, str]


class LegChangesIn(Schema):
    version: int
    vehicle_id: Id | None = None
    driver_name: str | None = None
    driver_phone: str | None = None
    start_place: str | None = None
    end_place: str | None = None


class _SignBase(Schema):
    version: int
    signing_code: str | None = None
    signer_name: str = ""
    longitude: Longitude | None = None
    latitude: Latitude | None = None


class SignSubmitIn(_SignBase):
    """The generator signs its section and sends the manifest."""

    step: Literal["submit"]
    data: machine.SubmitData = machine.SubmitData()


class SignPickupIn(_SignBase):
    """The first carrier takes the load over at the generator's gate."""

    step: Literal["pickup"]
    data: machine.TakeOverData = machine.TakeOverData()


class SignHandoverIn(_SignBase):
    """The next carrier takes the load over from the previous one (联运)."""

    step: Literal["handover"]
    data: machine.TakeOverData = machine.TakeOverData()


class SignReceiveIn(_SignBase):
    """The receiver checks the load in: accepted, partly refused or refused."""

    step: Literal["receive"]
    data: machine.ReceiveData = machine.ReceiveData()


class SignProcessIn(_SignBase):
    """The receiver records the utilization / disposal method and day."""

    step: Literal["process"]
    data: machine.ProcessData = machine.ProcessData()


class SignCancelIn(_SignBase):
    """The generator withdraws the manifest before anyone else has signed."""

    step: Literal["cancel"]
    data: machine.CancelData = machine.CancelData()


# Sign a step: one model per step (machine.STEPS[step].payload), told apart by `step`; the body is the same JSON
# as ever ({"step", "version", "data", "signing_code", …}). With `signing_code` the step is signed at the gate for
# the party whose code it is.
SignIn = Annotated[SignSubmitIn | SignPickupIn | SignHandoverIn | SignReceiveIn | SignProcessIn | SignCancelIn,
                   Field(discriminator="step")]


class BulkItemIn(Schema):
    id: int
    version: int
    data: dict = {}


class BulkSignIn(Schema):
    step: str
    items: list[BulkItemIn]
    data: dict = {}
    signing_code: str | None = None


class BulkResultOut(Schema):
    id: int | None
    ok: bool
    number: str | None = None
    status: str | None = None
    version: int | None = None
    error: dict | None = None


class RevisionIn(Schema):
    version: int
    reason: str
    changes: dict = {}
    cancel: bool = False


class DecisionIn(Schema):
    approve: bool
    comment: str = ""


class FollowUpIn(Schema):
    purpose: str
    receiver_id: Id | None = None
    legs: list[LegIn] = []


class SigningCodeIn(Schema):
    code: str


class PartyOut(Schema):
    id: int
    name: str
    uscc: str
    region_id: str


class LegOut(Schema):
    position: int
    transporter: PartyOut
    vehicle_plate: str | None = None
    vehicle_id: int | None = None
    driver_name: str
    driver_phone: str
    start_place: str
    end_place: str
    taken_at: dt.datetime | None
    handed_at: dt.datetime | None

    @staticmethod
    def resolve_vehicle_plate(leg):
        return leg.vehicle.plate if leg.vehicle_id else None


class CarriedOut(Schema):
    code: str
    shipped_tonnes: Decimal
    received_tonnes: Decimal | None
    refused: bool
    status: str

    @staticmethod
    def resolve_code(entry):
        return entry.container.code

    @staticmethod
    def resolve_status(entry):
        return entry.container.status


class ManifestLineOut(Schema):
    position: int
    code: str
    waste_name: str
    physical_form: str
    hazards: str
    packaging: str
    container_count: int
    shipped_tonnes: Decimal
    received_tonnes: Decimal | None
    accepted_tonnes: Decimal
    refused_tonnes: Decimal
    planned_method: str | None
    method: str | None
    processed_on: dt.date | None
    containers: list[CarriedOut]
    unit: str
    shipped_quantity: Decimal
    received_quantity: Decimal | None

    @staticmethod
    def resolve_shipped_quantity(line):
        return line.shipped.value

    @staticmethod
    def resolve_received_quantity(line):
        received = line.received
        return None if received is None else received.value

    @staticmethod
    def resolve_planned_method(line):
        return line.planned_method_id

    @staticmethod
    def resolve_method(line):
        return line.method_id

    @staticmethod
    def resolve_containers(line):
        return list(line.carried.select_related("container"))


class SignatureOut(Schema):
    step: str
    organization_id: int
    signer_name: str
    method: str
    signed_at: dt.datetime


class RevisionOut(Schema):
    id: int
    requested_by_id: int
    changes: dict
    cancel: bool
    reason: str
    approvers: list[int]
    approvals: list[int]
    status: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class ManifestOut(Schema):
    id: int
    number: str | None
    kind: str
    purpose: str
    unit: str
    status: str
    version: int
    generator: PartyOut
    receiver: PartyOut
    follows_id: int | None
    cross_province_basis: str
    application_id: int | None
    plan_warning: str
    shipped_tonnes: Decimal
    received_tonnes: Decimal | None
    accepted_tonnes: Decimal
    refused_tonnes: Decimal
    reception: str
    discrepancy: bool
    discrepancy_percent: Decimal | None
    submitted_at: dt.datetime | None
    picked_up_at: dt.datetime | None
    received_at: dt.datetime | None
    processed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    updated_at: dt.datetime


class ManifestDetailOut(ManifestOut):
    generator_site_id: int | None
    receiver_site_id: int | None
    emergency_measures: str
    note: str
    refusal_reason: str
    cancel_reason: str
    lines: list[ManifestLineOut]
    legs: list[LegOut]
    signatures: list[SignatureOut]
    revisions: list[RevisionOut]
    next_steps: list[str]
    overdue: bool


class ManifestPage(Schema):
    items: list[ManifestOut]
    next_cursor: str | None
