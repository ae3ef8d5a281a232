"""Cross-province transfer API shapes: applications and filings, regulators' decisions, standing rules."""

import datetime as dt
from decimal import Decimal

from ninja import Schema

from wufei.core.inputs import Id, PositiveTonnes, RecordDate
from wufei.manifests import crossprovince


class CrossProvinceApplicationIn(Schema):
    """An application to the province of origin (kind `approval`) or a utilization filing (kind `filing`)."""

    kind: str = "approval"
    generator_id: Id
    receiver: Id | str  # organization id or USCC
    code: str  # hazardous waste code (900-041-49) or general industrial solid waste code (SW01, 251-001-S17)
    waste_name: str = ""
    method: str  # utilization / disposal method code (R4, D10 …)
    requested_tonnes: PositiveTonnes
    requested_until: RecordDate
    note: str = ""


class CrossProvinceReviewIn(Schema):
    consent: bool
    note: str = ""  # required to refuse
    version: int


class CrossProvinceDecisionIn(Schema):
    approve: bool
    approved_tonnes: PositiveTonnes | None = None  # default: the tonnes asked for
    note: str = ""  # required to refuse
    version: int


class CrossProvinceHistoryEntryOut(Schema):
    step: str
    by: str
    at: str
    decision: str
    note: str = ""


class CrossProvinceApplicationOut(Schema):
    id: int
    kind: str
    status: str
    awaiting: str
    generator_id: int
    generator_name: str
    receiver_id: int
    receiver_name: str
    origin_province: str
    origin_province_name: str
    destination_province: str
    destination_province_name: str
    code: str
    waste_name: str
    method: str | None
    requested_tonnes: Decimal
    requested_until: dt.date
    approved_tonnes: Decimal | None
    valid_from: dt.date | None
    valid_until: dt.date | None
    decision_note: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_awaiting(obj):
        return crossprovince.awaiting(obj)

    @staticmethod
    def resolve_generator_name(obj):
        return obj.generator.name

    @staticmethod
    def resolve_receiver_name(obj):
        return obj.receiver.name

    @staticmethod
    def resolve_origin_province(obj):
        return obj.origin_province_id

    @staticmethod
    def resolve_origin_province_name(obj):
        return obj.origin_province.name

    @staticmethod
    def resolve_destination_province(obj):
        return obj.destination_province_id

    @staticmethod
    def resolve_destination_province_name(obj):
        return obj.destination_province.name

    @staticmethod
    def resolve_code(obj):
        return obj.code

    @staticmethod
    def resolve_method(obj):
        return obj.method_id


class CrossProvinceApplicationDetailOut(CrossProvinceApplicationOut):
    quantity_left: Decimal | None  # approved applications only
    history: list[CrossProvinceHistoryEntryOut]

    @staticmethod
    def resolve_quantity_left(obj):
        if obj.status != "approved":
            return None
        return crossprovince.quantity_left(obj)


class CrossProvinceApplicationPage(Schema):
    items: list[CrossProvinceApplicationOut]
    next_cursor: str | None


class CrossProvinceRuleIn(Schema):
    kind: str  # whitelist | point_to_point
    origin_province: str  # province code, e.g. 500000
    destination_province: str
    generator_id: Id | None = None  # required for point_to_point
    receiver_id: Id | None = None  # required for point_to_point
    code: str = ""  # blank: any; a waste code, a general code or an HW category (HW49)
    valid_from: RecordDate
    valid_until: RecordDate
    note: str = ""


class CrossProvinceRuleUpdateIn(Schema):
    version: int
    valid_from: RecordDate | None = None
    valid_until: RecordDate | None = None
    note: str | None = None


class CrossProvinceRuleOut(Schema):
    id: int
    kind: str
    origin_province: str
    destination_province: str
    generator_id: int | None
    generator_name: str
    receiver_id: int | None
    receiver_name: str
    code: str
    valid_from: dt.date
    valid_until: dt.date
    note: str
    version: int

    @staticmethod
    def resolve_origin_province(obj):
        return obj.origin_province_id

    @staticmethod
    def resolve_destination_province(obj):
        return obj.destination_province_id

    @staticmethod
    def resolve_generator_name(obj):
        return obj.generator.name if obj.generator_id else ""

    @staticmethod
    def resolve_receiver_name(obj):
        return obj.receiver.name if obj.receiver_id else ""


class CrossProvinceRulePage(Schema):
    items: list[CrossProvinceRuleOut]
    next_cursor: str | None
