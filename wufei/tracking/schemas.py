"""Containers API shapes (django-ninja / Pydantic). Weights are Decimal tonnes; times ISO 8601."""

import datetime as dt
from decimal import Decimal

from ninja import Schema

from wufei.core.inputs import EventDateTime, Id, Latitude, Longitude, PositiveTonnes, quantity

Litres = quantity(max_digits=10, decimal_places=1)  # Container.volume_litres


class BatchIn(Schema):
    """One batch of containers of one waste: 五即 in one step (default) or only the first steps."""

    waste_code: str
    waste_name: str = ""
    physical_form: str
    packaging: str
    net_weight_tonnes: PositiveTonnes | None = None
    volume_litres: Litres | None = None
    site_id: Id | None = None
    storage_site_id: Id | None = None
    storage_location: str = ""
    main_components: str = ""
    produced_at: EventDateTime | None = None
    steps: list[str] = ["produced", "packed", "weighed", "coded", "stored"]
    count: int = 1
    hazards: list[str] | None = None
    note: str = ""


class RecordBatchIn(BatchIn):
    organization_id: Id


class BulkRecordIn(Schema):
    organization_id: Id
    batches: list[BatchIn]


class BulkRecordOut(Schema):
    created: int
    codes: list[str]


class StepIn(Schema):
    step: str
    occurred_at: EventDateTime | None = None
    net_weight_tonnes: PositiveTonnes | None = None
    site_id: Id | None = None
    storage_site_id: Id | None = None
    storage_location: str = ""
    note: str = ""
    version: int | None = None


class ScanIn(Schema):
    kind: str
    occurred_at: EventDateTime | None = None
    weight_tonnes: PositiveTonnes | None = None
    site_id: Id | None = None
    to_organization_id: Id | None = None
    method_code: str = ""
    reference: str = ""
    note: str = ""
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    storage_location: str = ""
    version: int | None = None


class ReweighIn(Schema):
    weight_tonnes: PositiveTonnes
    occurred_at: EventDateTime | None = None
    site_id: Id | None = None
    reference: str = ""
    note: str = ""
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    version: int | None = None


class MergeIn(Schema):
    codes: list[str]
    packaging: str
    storage_site_id: Id | None = None
    storage_location: str = ""
    volume_litres: Litres | None = None
    occurred_at: EventDateTime | None = None
    note: str = ""


class SplitIn(Schema):
    weights: list[PositiveTonnes]
    packaging: str | None = None
    storage_site_id: Id | None = None
    occurred_at: EventDateTime | None = None
    note: str = ""
    version: int | None = None


class ContainerOut(Schema):
    id: int
    code: str
    organization_id: int
    organization_name: str
    holder_id: int
    holder_name: str
    site_id: int | None
    storage_site_id: int | None
    storage_site_name: str | None
    storage_location: str
    waste_code: str
    waste_name: str
    physical_form: str
    hazards: list[str]
    main_components: str
    packaging: str
    volume_litres: Decimal | None
    net_weight_tonnes: Decimal | None
    produced_at: dt.datetime
    packed_at: dt.datetime | None
    weighed_at: dt.datetime | None
    coded_at: dt.datetime | None
    stored_at: dt.datetime | None
    status: str
    origin: str
    merged_into: str | None
    split_from: str | None
    note: str
    storage_age_days: Decimal | None = None
    storage_state: str = ""
    version: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_organization_name(obj):
        return obj.organization.name

    @staticmethod
    def resolve_holder_name(obj):
        return obj.holder.name

    @staticmethod
    def resolve_storage_site_name(obj):
        return obj.storage_site.name if obj.storage_site_id else None

    @staticmethod
    def resolve_waste_code(obj):
        return obj.waste_id

    @staticmethod
    def resolve_hazards(obj):
        return [h for h in obj.hazards.split(",") if h]

    @staticmethod
    def resolve_merged_into(obj):
        return obj.parent.code if obj.parent_id else None

    @staticmethod
    def resolve_split_from(obj):
        return obj.split_from.code if obj.split_from_id else None

    @staticmethod
    def resolve_storage_age_days(obj):
        return getattr(obj, "storage_age_days", None)

    @staticmethod
    def resolve_storage_state(obj):
        return getattr(obj, "storage_state", "")


class ContainerPage(Schema):
    items: list[ContainerOut]
    next_cursor: str | None


class ScanEventOut(Schema):
    id: int
    kind: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    actor: str | None
    organization_id: int
    organization_name: str
    site_id: int | None
    weight_tonnes: Decimal | None
    expected_weight_tonnes: Decimal | None
    discrepancy: bool
    method: str
    related_container: str | None
    reference: str
    longitude: Decimal | None
    latitude: Decimal | None
    note: str

    @staticmethod
    def resolve_actor(obj):
        return obj.actor.get_username() if obj.actor_id else None

    @staticmethod
    def resolve_organization_name(obj):
        return obj.organization.name

    @staticmethod
    def resolve_related_container(obj):
        return obj.related_container.code if obj.related_container_id else None


class ContainerDetailOut(Schema):
    container: ContainerOut
    events: list[ScanEventOut]
    next_scans: list[str]


class ScanResultOut(Schema):
    container: ContainerOut
    event: ScanEventOut


class InventoryRowOut(Schema):
    holder_id: int
    holder_name: str
    storage_site_id: int | None
    storage_site_name: str
    storage_site_code: str
    storage_capacity_tonnes: Decimal | None
    waste_code: str
    waste_description: str
    tonnes: Decimal
    count: int
    unweighed: int
    oldest_since: dt.datetime | None
    oldest_age_days: Decimal | None
    limit_days: Decimal | None
    state: str


class InventoryTotalsOut(Schema):
    tonnes: Decimal
    count: int
    near_limit: int
    over_limit: int


class InventoryOut(Schema):
    as_of: dt.datetime
    rows: list[InventoryRowOut]
    totals: InventoryTotalsOut


class LineageOut(Schema):
    code: str
    relation: str
    status: str
    origin: str
    waste_code: str
    net_weight_tonnes: Decimal | None
    holder_name: str
    sources: list["LineageOut"] = []
    successors: list["LineageOut"] = []


class CustodyOut(Schema):
    organization_id: int
    organization_name: str
    since: dt.datetime
    until: dt.datetime | None


class TraceOut(Schema):
    container: ContainerOut
    events: list[ScanEventOut]
    sources: list[LineageOut]
    successors: list[LineageOut]
    custody: list[CustodyOut]
