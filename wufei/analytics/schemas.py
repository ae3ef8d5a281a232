"""Cockpit API shapes: the same figures as the /cockpit/ page (tonnes as decimals, 3 places in headlines)."""

import datetime as dt
from decimal import Decimal

from ninja import Schema


class CockpitRegionOut(Schema):
    code: str
    name: str
    level: str


class SubRegionOut(Schema):
    code: str
    name: str
    figures: dict[str, dict[str, Decimal]]
    total: dict[str, Decimal]


class NodeOut(Schema):
    id: str
    name: str
    layer: str
    code: str | None = None
    kind: str | None = None
    organization_id: int | None = None


class LinkOut(Schema):
    source: str
    target: str
    source_name: str
    target_name: str
    tonnes: Decimal


class FlowsOut(Schema):
    region: CockpitRegionOut
    year: int
    total: Decimal
    nodes: list[NodeOut]
    links: list[LinkOut]


class MapPointOut(Schema):
    organization_id: int
    name: str
    role: str
    kind: str
    longitude: float
    latitude: float
    tonnes: Decimal


class MapOut(Schema):
    points: list[MapPointOut]
    organizations: int
    skipped_organizations: int
    sites: int
    skipped_sites: int
    truncated: bool


class CapacityOut(Schema):
    organization_id: int
    name: str
    permitted_tonnes: Decimal
    design_tonnes: Decimal | None
    received_tonnes: Decimal
    load_percent: Decimal | None


class CockpitIndicatorPlanOut(Schema):
    plan_id: int
    name: str
    region: str
    counts: dict[str, int]
    total: int


class LevelCount(Schema):
    level: str
    label: str
    count: int


class RuleCount(Schema):
    rule: str
    description: str
    count: int


class AlertsOut(Schema):
    open: int
    overdue: int
    by_level: list[LevelCount]
    top_rules: list[RuleCount]


class TransitOut(Schema):
    manifest_id: int
    number: str
    kind: str
    picked_up_at: dt.datetime | None
    elapsed_hours: float | None
    overdue: bool
    generator: str
    receiver: str
    shipped_tonnes: Decimal


class InTransitOut(Schema):
    count: int
    overdue: int
    oldest: list[TransitOut]


class OverdueItemOut(Schema):
    plan_id: int
    label: str
    due_date: dt.date | None


class OverdueOut(Schema):
    task_items: int
    key_projects: int
    management_plans: int
    declarations: int
    plan_year: int
    declaration_year: int
    task_item_list: list[OverdueItemOut]
    key_project_list: list[OverdueItemOut]


class CockpitOut(Schema):
    region: CockpitRegionOut
    year: int
    as_of: dt.datetime
    breadcrumb: list[CockpitRegionOut]
    headline: dict[str, dict[str, Decimal]]
    sub_regions: list[SubRegionOut]
    flows: FlowsOut
    map: MapOut
    capacity: list[CapacityOut]
    indicators: list[CockpitIndicatorPlanOut]
    alerts: AlertsOut
    in_transit: InTransitOut
    overdue: OverdueOut
