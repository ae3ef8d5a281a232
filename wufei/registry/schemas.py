import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema

from wufei.core.inputs import EventDate, Latitude, Longitude, RecordDate, RecordDateTime, Tonnes, quantity

LoadTonnes = quantity(max_digits=9, decimal_places=3)  # Vehicle.load_capacity_tonnes


class OrganizationIn(Schema):
    uscc: str
    name: str
    region: str
    zone: str | None = None
    address: str = ""
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    industry_code: str = ""
    industry_name: str = ""
    legal_representative: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    roles: list[str]
    annual_hazardous_waste_tonnes: Tonnes | None = None
    registered_on: dt.date | None = None  # default: today; the unit's registry history starts on it


class OrganizationPatch(Schema):
    version: int
    name: str | None = None
    region: str | None = None
    zone: str | None = None
    address: str | None = None
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    industry_code: str | None = None
    industry_name: str | None = None
    legal_representative: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    roles: list[str] | None = None
    annual_hazardous_waste_tonnes: Tonnes | None = None
    registered_on: dt.date | None = None  # the regulator of the unit's region only


class OrganizationOut(Schema):
    id: int
    uscc: str
    name: str
    region: str
    region_name: str
    zone: str | None
    address: str
    longitude: Decimal | None
    latitude: Decimal | None
    industry_code: str
    industry_name: str
    contact_name: str
    contact_phone: str
    roles: list[str]
    status: str
    registered_on: dt.date
    closed_on: dt.date | None
    annual_hazardous_waste_tonnes: Decimal  # declared
    recorded_hw_tonnes_last_year: Decimal  # recorded in containers in recorded_hw_year
    recorded_hw_tonnes_12_months: Decimal  # recorded in the twelve months up to recorded_hw_as_of
    recorded_hw_year: int | None
    recorded_hw_as_of: dt.date | None  # None: not counted yet
    supervision_class: str
    computed_supervision_class: str
    supervision_basis: str
    supervision_override_reason: str
    version: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_region(obj):
        return obj.region_id

    @staticmethod
    def resolve_region_name(obj):
        return obj.region.name

    @staticmethod
    def resolve_zone(obj):
        return obj.zone.code if obj.zone_id else None

    @staticmethod
    def resolve_supervision_class(obj):
        return obj.effective_supervision_class

    @staticmethod
    def resolve_computed_supervision_class(obj):
        return obj.supervision_class

    @staticmethod
    def resolve_supervision_basis(obj):
        return obj.supervision_basis_text


class OrganizationPage(Schema):
    items: list[OrganizationOut]
    next_cursor: str | None


class CloseIn(Schema):
    version: int
    reason: str
    closed_on: EventDate | None = None


class SupervisionOverrideIn(Schema):
    version: int
    supervision_class: str
    reason: str


class SiteIn(Schema):
    organization: str  # USCC
    name: str
    kind: str
    address: str = ""
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    storage_capacity_tonnes: Tonnes | None = None
    design_capacity_tonnes_per_year: Tonnes | None = None
    capacity_note: str = ""


class SitePatch(Schema):
    version: int
    name: str | None = None
    kind: str | None = None
    address: str | None = None
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    storage_capacity_tonnes: Tonnes | None = None
    design_capacity_tonnes_per_year: Tonnes | None = None
    capacity_note: str | None = None


class SiteOut(Schema):
    id: int
    organization_id: int
    code: str
    name: str
    kind: str
    address: str
    longitude: Decimal | None
    latitude: Decimal | None
    storage_capacity_tonnes: Decimal | None
    design_capacity_tonnes_per_year: Decimal | None
    capacity_note: str
    is_active: bool
    version: int


class VehicleIn(Schema):
    organization: str  # USCC
    plate: str
    vehicle_type: str = ""
    load_capacity_tonnes: LoadTonnes | None = None
    transport_permit_number: str
    transport_permit_valid_until: RecordDate


class VehicleOut(Schema):
    id: int
    organization_id: int
    plate: str
    vehicle_type: str
    load_capacity_tonnes: Decimal | None
    transport_permit_number: str
    transport_permit_valid_until: dt.date
    is_active: bool
    version: int


class PermitLineIn(Schema):
    waste: str  # 8-digit code or HWnn category
    annual_capacity_tonnes: Tonnes
    methods: list[str] = []


class PermitIn(Schema):
    organization: str  # USCC
    number: str
    kind: str
    issuing_authority: str = ""
    valid_from: RecordDate
    valid_until: RecordDate
    lines: list[PermitLineIn]


class PermitLineOut(Schema):
    waste: str | None
    category: str | None
    annual_capacity_tonnes: Decimal
    methods: list[str]

    @staticmethod
    def resolve_waste(obj):
        return obj.waste_id

    @staticmethod
    def resolve_category(obj):
        return obj.category_id

    @staticmethod
    def resolve_methods(obj):
        return [m.code for m in obj.methods.all()]


class PermitOut(Schema):
    id: int
    organization_id: int
    number: str
    kind: str
    issuing_authority: str
    valid_from: dt.date
    valid_until: dt.date
    status: str
    lines: list[PermitLineOut]
    version: int

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class MemberIn(Schema):
    username: str
    role: str


class MemberOut(Schema):
    username: str
    role: str

    @staticmethod
    def resolve_username(obj):
        return obj.user.username


class OrganizationFileOut(Schema):
    organization: OrganizationOut
    sites: list[SiteOut]
    vehicles: list[VehicleOut]
    permits: list[PermitOut]
    members: list[MemberOut]


class MeOut(Schema):
    username: str
    organizations: list[int]
    regions: list[str]
    departments: list[int]
    is_platform_admin: bool


class TokenIn(Schema):
    name: str
    expires_at: RecordDateTime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    token: str


class ImportErrorOut(Schema):
    row: int
    column: str
    field: str
    message: str


class ImportResultOut(Schema):
    kind: str
    created: int
    updated: int
    rows: int


# --- change requests (变更申请) --------------------------------------------------------------------------------

class ChangeRequestIn(Schema):
    field: str  # annual_hazardous_waste_tonnes | roles | region | permit | site_kind
    value: Any  # tonnes "12.5"; roles ["generator", …]; region "500113"; permit {number, kind, …, lines: […]};
    # site_kind "storage"
    reason: str
    permit: int | None = None  # with field "permit": the permit to replace (none: a new permit)
    site: int | None = None  # with field "site_kind": the site


class ChangeRequestDecisionIn(Schema):
    version: int
    reason: str = ""  # required to refuse


class ChangeRequestAttachmentOut(Schema):
    id: int
    name: str
    size: int
    sha256: str


class ChangeRequestOut(Schema):
    id: int
    organization: int
    organization_name: str
    field: str
    field_label: str
    permit: int | None
    site: int | None
    value: Any
    base_value: Any  # the value in force when the request was filed
    reason: str
    status: str
    status_label: str
    filed_by: str | None
    filed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str
    attachments: list[ChangeRequestAttachmentOut]
    version: int

    @staticmethod
    def resolve_organization(obj):
        return obj.organization_id

    @staticmethod
    def resolve_organization_name(obj):
        return obj.organization.name

    @staticmethod
    def resolve_field_label(obj):
        return str(obj.get_field_display())

    @staticmethod
    def resolve_permit(obj):
        return obj.permit_id

    @staticmethod
    def resolve_site(obj):
        return obj.site_id

    @staticmethod
    def resolve_status_label(obj):
        return str(obj.get_status_display())

    @staticmethod
    def resolve_filed_by(obj):
        return obj.filed_by.get_username() if obj.filed_by_id else None

    @staticmethod
    def resolve_filed_at(obj):
        return obj.created_at

    @staticmethod
    def resolve_decided_by(obj):
        return obj.decided_by.get_username() if obj.decided_by_id else None

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())


class ChangeRequestPage(Schema):
    items: list[ChangeRequestOut]
    next_cursor: str | None
