"""Management plans, annual declarations, spot checks and the solid waste monthly e-ledger API.

Thin: parse, call `plans` / `declarations` / `spot_checks` / `solid_waste` with the caller's scope, shape the answer.
State changes carry the `version` the client saw (a stale one answers 409).
"""

import datetime as dt
from decimal import Decimal

from ninja import File, Router, Schema, Status, UploadedFile
from pydantic import ConfigDict

from wufei.core import import_jobs, spreadsheets
from wufei.core.api import page, scope_of
from wufei.core.inputs import Id, Month, Since, Tonnes, Year, quantity
from wufei.core.models import Job
from wufei.ledgers import declarations, plans, solid_waste, spot_checks
from wufei.ledgers.models import ManagementPlan, SpotCheck

router = Router(tags=["plans and declarations"])
Percent = quantity(max_digits=5, decimal_places=2, maximum=100, inclusive=True)  # a share of declarations


# --- schemas -------------------------------------------------------------------------------

class PlanCreateIn(Schema):
    organization_id: Id
    year: Year
    site_id: Id | None = None
    reduction_measures: str = ""
    storage_measures: str = ""


class PlanMeasuresIn(Schema):
    version: int
    reduction_measures: str | None = None
    storage_measures: str | None = None


class StreamIn(Schema):
    waste: str
    planned_generation: Tonnes
    storage_site: Id | str | None = None  # a storage site of the unit: id or site code
    planned_self_processing: Tonnes | None = None
    note: str = ""


class StreamsIn(Schema):
    version: int
    streams: list[StreamIn]


class TransferIn(Schema):
    waste: str
    receiver: Id | str  # organization id or USCC
    planned_quantity: Tonnes
    method: str | None = None


class TransfersIn(Schema):
    version: int
    transfers: list[TransferIn]


class PlanVersionIn(Schema):
    version: int


class PlanReviewIn(Schema):
    version: int
    comment: str = ""


class StreamOut(Schema):
    waste: str
    waste_description: str
    planned_generation: Decimal
    storage_site_id: int | None
    planned_self_processing: Decimal
    note: str

    @staticmethod
    def resolve_waste(obj):
        return obj.waste_id

    @staticmethod
    def resolve_waste_description(obj):
        return obj.waste.description


class TransferOut(Schema):
    waste: str
    receiver_id: int
    receiver_uscc: str
    receiver_name: str
    planned_quantity: Decimal
    method: str | None

    @staticmethod
    def resolve_waste(obj):
        return obj.waste_id

    @staticmethod
    def resolve_receiver_uscc(obj):
        return obj.receiver.uscc

    @staticmethod
    def resolve_receiver_name(obj):
        return obj.receiver.name

    @staticmethod
    def resolve_method(obj):
        return obj.method_id


class PlanSummaryOut(Schema):
    id: int
    organization_id: int
    organization_name: str
    site_id: int | None
    year: int
    revision: int
    status: str
    due_date: dt.date
    submitted_at: dt.datetime | None
    submitted_late: bool
    reviewed_at: dt.datetime | None
    review_comment: str
    supersedes_id: int | None
    version: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_organization_name(obj):
        return obj.organization.name

    @staticmethod
    def resolve_submitted_late(obj):
        return plans.submitted_late(obj)


class ManagementPlanOut(PlanSummaryOut):
    reduction_measures: str
    storage_measures: str
    streams: list[StreamOut]
    transfers: list[TransferOut]

    @staticmethod
    def resolve_streams(obj):
        return obj.streams.select_related("waste")

    @staticmethod
    def resolve_transfers(obj):
        return obj.transfers.select_related("receiver")


class PlanPage(Schema):
    items: list[PlanSummaryOut]
    next_cursor: str | None


class DraftIn(Schema):
    organization_id: Id
    year: Year
    version: int | None = None


class DeclarationLineOut(Schema):
    waste: str
    field: str
    ledger_value: Decimal
    declared_value: Decimal
    adjustment_reason: str
    differs: bool

    @staticmethod
    def resolve_waste(obj):
        return obj.waste_id

    @staticmethod
    def resolve_differs(obj):
        return obj.declared_value != obj.ledger_value


class DeclarationSummaryOut(Schema):
    id: int
    organization_id: int
    organization_name: str
    year: int
    status: str
    due_date: dt.date
    submitted_at: dt.datetime | None
    submitted_late: bool
    version: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_organization_name(obj):
        return obj.organization.name


class DeclarationOut(DeclarationSummaryOut):
    lines: list[DeclarationLineOut]

    @staticmethod
    def resolve_lines(obj):
        return obj.lines.all()


class DeclarationPage(Schema):
    items: list[DeclarationSummaryOut]
    next_cursor: str | None


class ChangeIn(Schema):
    waste: str
    field: str
    declared_value: Tonnes
    reason: str = ""


class AdjustIn(Schema):
    version: int
    changes: list[ChangeIn]


class DrawIn(Schema):
    """The seed is the server's: a body that names one is refused. A further draw of a year and region needs a
    `reason`."""

    model_config = ConfigDict(extra="forbid")

    year: Year
    region: str | None = None  # a region code of the caller's (default: its only region)
    share_percent: Percent | None = None
    reason: str = ""


class SpotCheckDrawOut(Schema):
    """A draw and what it read: `sorted(random.Random(seed).sample(pool, len(drawn)))` gives `drawn` again."""

    id: int
    year: Year
    region: str
    region_name: str
    sequence: int
    share_percent: str
    seed: str
    pool: list[int]
    drawn: list[int]
    drawn_by: str | None
    reason: str
    created_at: dt.datetime

    @staticmethod
    def resolve_region(obj):
        return obj.region_id

    @staticmethod
    def resolve_region_name(obj):
        return obj.region.name

    @staticmethod
    def resolve_share_percent(obj):
        return plans.plain(obj.share_percent)

    @staticmethod
    def resolve_drawn_by(obj):
        return obj.drawn_by.get_username() if obj.drawn_by_id else None


class SpotCheckDrawPage(Schema):
    items: list[SpotCheckDrawOut]
    next_cursor: str | None


class SpotCheckOut(Schema):
    id: int
    declaration_id: int
    organization_id: int
    organization_name: str
    year: int
    draw_id: int | None
    draw_seed: str
    drawn_by: str | None
    outcome: str
    findings: str
    created_at: dt.datetime
    version: int

    @staticmethod
    def resolve_organization_id(obj):
        return obj.declaration.organization_id

    @staticmethod
    def resolve_organization_name(obj):
        return obj.declaration.organization.name

    @staticmethod
    def resolve_year(obj):
        return obj.declaration.year

    @staticmethod
    def resolve_drawn_by(obj):
        return obj.drawn_by.get_username() if obj.drawn_by_id else None


class SpotCheckPage(Schema):
    items: list[SpotCheckOut]
    next_cursor: str | None


class FindingIn(Schema):
    version: int
    outcome: str
    findings: str = ""


class MonthIn(Schema):
    opening_stock: Tonnes | None = None
    generated: Tonnes | None = None
    self_utilized: Tonnes | None = None
    entrusted_utilization: Tonnes | None = None
    self_disposed: Tonnes | None = None
    entrusted_disposal: Tonnes | None = None
    closing_stock: Tonnes | None = None
    name: str = ""
    receiver: Id | str | None = None  # organization id or USCC
    version: int | None = None


class MonthOut(Schema):
    id: int
    organization_id: int
    code: str
    name: str
    year: int
    month: int
    opening_stock: Decimal
    generated: Decimal
    self_utilized: Decimal
    entrusted_utilization: Decimal
    self_disposed: Decimal
    entrusted_disposal: Decimal
    closing_stock: Decimal
    receiver_id: int | None
    version: int
    updated_at: dt.datetime


class MonthPage(Schema):
    items: list[MonthOut]
    next_cursor: str | None


class CodeSummaryOut(Schema):
    code: str
    name: str
    months: list[int]
    missing: list[int]
    opening_stock: Decimal
    generated: Decimal
    self_utilized: Decimal
    entrusted_utilization: Decimal
    self_disposed: Decimal
    entrusted_disposal: Decimal
    closing_stock: Decimal
    utilization_rate: Decimal | None
    breaks: list[dict]


class SummaryOut(Schema):
    organization_id: int
    year: int
    months_filled: list[int]
    months_missing: list[int]
    codes: list[CodeSummaryOut]
    totals: dict[str, Decimal]


class RequiredUnitOut(Schema):
    organization_id: int
    organization_name: str
    previous_year_tonnes: Decimal | None
    months_recorded: int
    threshold: Decimal
    status: str


class MonthImportOut(Schema):
    rows: int
    created: int
    updated: int


def _listing(queryset, cursor, limit, updated_after):
    items, next_cursor = page(queryset, cursor=cursor, limit=limit, updated_after=updated_after)
    return {"items": items, "next_cursor": next_cursor}


# --- management plans ----------------------------------------------------------------------

@router.post("/plans", response={201: ManagementPlanOut})
def create_plan(request, payload: PlanCreateIn):
    plan = plans.create_plan(scope=scope_of(request), **payload.model_dump())
    return Status(201, plan)


@router.get("/plans", response=PlanPage)
def list_plans(request, organization: Id | None = None, year: Year | None = None, status: str | None = None,
               cursor: str | None = None, limit: int = 50, updated_after: Since | None = None):
    """Plans the caller can see; regulators' review queue is `status=submitted`."""
    queryset = plans.plans_for(scope_of(request), organization_id=organization, year=year, status=status)
    return _listing(queryset, cursor, limit, updated_after)


@router.get("/plans/overdue", response=list[PlanSummaryOut])
def list_overdue_plans(request, year: Year):
    """Plans of the year past their due date and not filed (neither submitted nor approved in any revision)."""
    return plans.overdue_plans(scope_of(request), year=year).order_by("due_date", "pk")


@router.get("/plans/{plan_id}", response=ManagementPlanOut)
def get_plan(request, plan_id: Id):
    return plans.get_plan(scope_of(request), plan_id)


def _after_edit(plan: ManagementPlan, plan_id: int):
    """An edit of an approved plan answers with the new revision it created (201), otherwise with the plan."""
    return Status(201 if plan.pk != plan_id else 200, plan)


@router.patch("/plans/{plan_id}", response={200: ManagementPlanOut, 201: ManagementPlanOut})
def update_plan_measures(request, plan_id: Id, payload: PlanMeasuresIn):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    plan = plans.update_measures(scope=scope_of(request), plan_id=plan_id, version=version, data=data)
    return _after_edit(plan, plan_id)


@router.put("/plans/{plan_id}/streams", response={200: ManagementPlanOut, 201: ManagementPlanOut})
def put_streams(request, plan_id: Id, payload: StreamsIn):
    data = payload.model_dump()
    return _after_edit(plans.set_streams(scope=scope_of(request), plan_id=plan_id, version=data["version"],
                                         streams=data["streams"]), plan_id)


@router.put("/plans/{plan_id}/transfers", response={200: ManagementPlanOut, 201: ManagementPlanOut})
def put_transfers(request, plan_id: Id, payload: TransfersIn):
    data = payload.model_dump()
    return _after_edit(plans.set_transfers(scope=scope_of(request), plan_id=plan_id, version=data["version"],
                                           transfers=data["transfers"]), plan_id)


@router.post("/plans/{plan_id}/submit", response=ManagementPlanOut)
def submit_plan(request, plan_id: Id, payload: PlanVersionIn):
    return plans.submit_plan(scope=scope_of(request), plan_id=plan_id, version=payload.version)


@router.post("/plans/{plan_id}/approve", response=ManagementPlanOut)
def approve_plan(request, plan_id: Id, payload: PlanReviewIn):
    return plans.approve_plan(scope=scope_of(request), plan_id=plan_id, version=payload.version,
                              comment=payload.comment)


@router.post("/plans/{plan_id}/return", response=ManagementPlanOut)
def return_plan(request, plan_id: Id, payload: PlanReviewIn):
    return plans.return_plan(scope=scope_of(request), plan_id=plan_id, version=payload.version,
                             comment=payload.comment)


# --- annual declarations ---------------------------------------------------------------------

@router.post("/declarations/draft", response=DeclarationOut)
def draft_declaration(request, payload: DraftIn):
    """Create the year's declaration from the ledger, or refresh its ledger figures (adjustments are kept)."""
    return declarations.draft_declaration(scope=scope_of(request), organization_id=payload.organization_id,
                                          year=payload.year, version=payload.version)


@router.get("/declarations", response=DeclarationPage)
def list_declarations(request, organization: Id | None = None, year: Year | None = None, status: str | None = None,
                      cursor: str | None = None, limit: int = 50, updated_after: Since | None = None):
    queryset = declarations.declarations_for(scope_of(request), organization_id=organization, year=year,
                                             status=status)
    return _listing(queryset, cursor, limit, updated_after)


@router.get("/declarations/{declaration_id}", response=DeclarationOut)
def get_declaration(request, declaration_id: Id):
    """Ledger and declared figures side by side (`ledger_value`, `declared_value`, `adjustment_reason`)."""
    return declarations.get_declaration(scope_of(request), declaration_id)


@router.post("/declarations/{declaration_id}/adjustments", response=DeclarationOut)
def adjust_declaration(request, declaration_id: Id, payload: AdjustIn):
    data = payload.model_dump()
    return declarations.adjust_lines(scope=scope_of(request), declaration_id=declaration_id,
                                     version=data["version"], changes=data["changes"])


@router.post("/declarations/{declaration_id}/submit", response=DeclarationOut)
def submit_declaration(request, declaration_id: Id, payload: PlanVersionIn):
    return declarations.submit_declaration(scope=scope_of(request), declaration_id=declaration_id,
                                           version=payload.version)


# --- spot checks ---------------------------------------------------------------------------------

@router.post("/spot-checks/draw", response={201: list[SpotCheckOut]})
def draw_spot_checks(request, payload: DrawIn):
    """Draw a year's submitted declarations of a region at random (the seed is the server's); a further draw of
    the same year and region needs a reason and is recorded in the audit chain."""
    checks = spot_checks.draw_spot_checks(scope=scope_of(request), year=payload.year, region=payload.region,
                                          share_percent=payload.share_percent, reason=payload.reason)
    return Status(201, SpotCheck.objects.filter(pk__in=[c.pk for c in checks]).select_related(
        "declaration", "declaration__organization", "drawn_by").order_by("pk"))


@router.get("/spot-check-draws", response=SpotCheckDrawPage)
def list_spot_check_draws(request, year: Year | None = None, region: str | None = None, cursor: str | None = None,
                          limit: int = 50, updated_after: Since | None = None):
    """The draws of the caller's regions with their seed, pool and sample (regulators)."""
    return _listing(spot_checks.draws_for(scope_of(request), year=year, region=region), cursor, limit,
                    updated_after)


@router.get("/spot-checks", response=SpotCheckPage)
def list_spot_checks(request, year: Year | None = None, outcome: str | None = None, cursor: str | None = None,
                     limit: int = 50, updated_after: Since | None = None):
    queryset = spot_checks.spot_checks_for(scope_of(request), year=year, outcome=outcome)
    return _listing(queryset, cursor, limit, updated_after)


@router.post("/spot-checks/{spot_check_id}/finding", response=SpotCheckOut)
def record_finding(request, spot_check_id: Id, payload: FindingIn):
    return spot_checks.record_finding(scope=scope_of(request), spot_check_id=spot_check_id,
                                      version=payload.version, outcome=payload.outcome, findings=payload.findings)


# --- the solid waste monthly e-ledger --------------------------------------------------------------

@router.get("/solid-waste/months", response=MonthPage)
def list_months(request, organization: Id | None = None, year: Year | None = None, code: str | None = None,
                cursor: str | None = None, limit: int = 100, updated_after: Since | None = None):
    queryset = solid_waste.months_for(scope_of(request), organization_id=organization, year=year, code=code)
    return _listing(queryset, cursor, limit, updated_after)


@router.put("/solid-waste/months/{organization_id}/{year}/{month}/{code}", response=MonthOut)
def put_month(request, organization_id: Id, year: Year, month: Month, code: str, payload: MonthIn):
    """Record one month of one code; refused unless it balances and its opening stock continues the month before."""
    data = payload.model_dump()
    version = data.pop("version")
    return solid_waste.save_month(scope=scope_of(request), organization_id=organization_id, year=year, month=month,
                                  code=code, values=data, version=version)


@router.post("/solid-waste/imports", response={200: MonthImportOut, 202: dict})
def import_months(request, file: UploadedFile = File(...)):
    """Months from .xlsx or .csv; the whole file is checked and written only if every row passes. A large file
    (`imports.background_min_rows`) is imported by a background job: 202 with the job to follow."""
    scope = scope_of(request)
    solid_waste.check_import_caller(scope)  # before anything of the file is read
    content = spreadsheets.read_upload(file, spreadsheets.limits_for(scope))
    outcome = solid_waste.import_or_queue(scope=scope, user=request.user, content=content, filename=file.name)
    if isinstance(outcome, Job):
        return Status(202, import_jobs.answer(outcome))
    return outcome


@router.get("/solid-waste/summary", response=SummaryOut)
def yearly_summary(request, organization: Id, year: Year):
    summary = solid_waste.yearly_summary(scope_of(request), organization_id=organization, year=year)
    return {**summary, "organization_id": summary["organization"].pk}


@router.get("/solid-waste/required-units", response=list[RequiredUnitOut])
def required_units(request, year: Year, include_not_required: bool = False):
    """Units that must keep the monthly e-ledger in `year` (or whose duty is unknown), from last year's months."""
    units = solid_waste.required_units(scope_of(request), year=year, include_not_required=include_not_required)
    return [{**unit, "organization_id": unit["organization"].pk, "organization_name": unit["organization"].name}
            for unit in units]

