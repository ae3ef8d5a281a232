import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Schema

from wufei.core.inputs import EventDateTime, Id, Latitude, Longitude, RecordDate, quantity

Speed = quantity(max_digits=6, decimal_places=1)  # km/h of a GPS point


class AlertOut(Schema):
    id: int
    rule_id: str
    rule_description: str
    level: str
    status: str
    entity_type: str
    entity_id: str
    entity_label: str
    organization_id: int | None
    organization_name: str
    region_id: str
    evidence: dict
    assignee_id: int | None
    deadline: dt.date | None
    opened_at: dt.datetime
    last_seen_at: dt.datetime
    cleared_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution: str
    longitude: Decimal | None
    latitude: Decimal | None
    recurrence_of_id: int | None
    version: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_rule_description(obj):
        return _(obj.rule.description)

    @staticmethod
    def resolve_organization_name(obj):
        return obj.organization.name if obj.organization_id else ""

    @staticmethod
    def resolve_resolution(obj):
        return _(obj.resolution) if obj.resolution else ""


class AlertPage(Schema):
    items: list[AlertOut]
    next_cursor: str | None


class CommentOut(Schema):
    id: int
    author_label: str
    action: str
    text: str
    created_at: dt.datetime


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    note: str
    created_at: dt.datetime


class AlertHistoryOut(Schema):
    action: str
    at: dt.datetime
    actor: str
    payload: dict


class AlertDetailOut(AlertOut):
    comments: list[CommentOut]
    attachments: list[AttachmentOut]
    history: list[AlertHistoryOut]
    actions: list[str]


class TransitionIn(Schema):
    version: int
    comment: str = ""
    deadline: RecordDate | None = None
    assignee_id: Id | None = None


class AlertAssignIn(Schema):
    version: int
    assignee_id: Id | None = None
    deadline: RecordDate | None = None


class CommentIn(Schema):
    text: str


class StatsOut(Schema):
    total: int
    open: int
    overdue: int
    by_status: dict[str, int]
    by_level: dict[str, int]
    by_rule: dict[str, int]
    by_region: dict[str, int]
    closure_rate: float | None
    mean_hours_to_close: float | None


class OverrideOut(Schema):
    region_id: str
    level: str
    parameters: dict
    enabled: bool | None
    reason: str


class RuleOut(Schema):
    id: str
    description: str
    level: str
    parameters: dict
    auto_close: bool
    enabled: bool
    source: str
    version: int
    overrides: list[OverrideOut]

    @staticmethod
    def resolve_description(obj):
        return _(obj.description)

    @staticmethod
    def resolve_overrides(obj):
        return list(obj.overrides.all())


class RuleIn(Schema):
    version: int
    level: str | None = None
    parameters: dict | None = None
    enabled: bool | None = None
    auto_close: bool | None = None


class OverrideIn(Schema):
    level: str = ""
    parameters: dict = {}
    enabled: bool | None = None
    reason: str = ""


class NotificationOut(Schema):
    id: int
    alert_id: int
    action: str
    level: str
    rule_id: str
    label: str
    created_at: dt.datetime
    read_at: dt.datetime | None

    @staticmethod
    def resolve_level(obj):
        return obj.alert.level

    @staticmethod
    def resolve_rule_id(obj):
        return obj.alert.rule_id

    @staticmethod
    def resolve_label(obj):
        return obj.alert.entity_label


class ReadIn(Schema):
    ids: list[Id] | None = None


class PointIn(Schema):
    recorded_at: EventDateTime
    longitude: Longitude
    latitude: Latitude
    speed_kmh: Speed | None = None


class PointsIn(Schema):
    points: list[PointIn]


class PointsResult(Schema):
    received: int
    stored: int
    legs: int = 1


class TrackPointOut(Schema):
    recorded_at: dt.datetime
    longitude: Decimal
    latitude: Decimal
    speed_kmh: Decimal | None


class PlaceOut(Schema):
    name: str
    longitude: Decimal
    latitude: Decimal


class LegTrackOut(Schema):
    position: int
    vehicle: str
    transporter: str
    points: list[TrackPointOut]


class TrackOut(Schema):
    manifest_id: int
    origin: PlaceOut | None
    destination: PlaceOut | None
    legs: list[LegTrackOut]
