"""JSON shapes of the programme API (django-ninja / Pydantic)."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from ninja import Schema

from wufei.core.inputs import EventDate, Id, RecordDate, Year, quantity

Money = quantity(max_digits=14, decimal_places=2)  # 10k CNY: investment, spending to date
Score = quantity(max_digits=5, decimal_places=1, maximum=100, inclusive=True)  # a cell's assessment score


def _today(context) -> dt.date:
    """The day the caller looks from (the API's `today` parameter), else today."""
    request = (context or {}).get("request")
    return getattr(request, "programme_today", None) or timezone.localdate()


class UnitOut(Schema):
    id: int
    region: str
    name: str
    kind: str
    department_id: int | None
    department_name: str | None
    organization_id: int | None
    organization_name: str | None
    match_note: str
    version: int

    @staticmethod
    def resolve_region(obj):
        return obj.region_id

    @staticmethod
    def resolve_department_name(obj):
        return obj.department.name if obj.department_id else None

    @staticmethod
    def resolve_organization_name(obj):
        return obj.organization.name if obj.organization_id else None


class UnitLinkIn(Schema):
    version: int
    department_id: Id | None = None
    organization_id: Id | None = None


class PlanIn(Schema):
    region_code: str
    code: str
    title: str
    start_year: Year
    end_year: Year
    issuer: str = ""
    issued_on: EventDate | None = None
    leading_office_id: Id | None = None
    printed_project_total: Money | None = None
    source: str = ""


class GroupOut(Schema):
    code: str
    numbers: list[int]
    figures: list[Decimal]
    double_counted: Decimal


class InvestmentOut(Schema):
    printed_total: Decimal | None
    summed: Decimal
    matches_printed: bool
    stated: Decimal
    estimated: Decimal
    undetermined: list[int]
    blank: list[int]
    unreadable: list[int]
    double_counted: Decimal
    counted_once: Decimal
    groups: list[GroupOut]


class SectionOut(Schema):
    id: int
    ordinal: int
    title: str


class ProgrammePlanOut(Schema):
    id: int
    code: str
    region: str
    title: str
    issuer: str
    issued_on: dt.date | None
    start_year: int
    end_year: int
    reporting_starts_on: dt.date
    leading_office_id: int | None
    leading_office_name: str
    printed_project_total: Decimal | None
    source: str
    version: int

    @staticmethod
    def resolve_region(obj):
        return obj.region_id


class ProgrammePlanDetailOut(ProgrammePlanOut):
    """The plan with what the caller may know of its lists (`plan.detail`, set by the router)."""

    sections: list[SectionOut]
    items: int
    tasks: int
    projects: int
    investment: InvestmentOut | None

    @staticmethod
    def resolve_sections(obj):
        return obj.detail["sections"]

    @staticmethod
    def resolve_items(obj):
        return obj.detail["items"]

    @staticmethod
    def resolve_tasks(obj):
        return obj.detail["tasks"]

    @staticmethod
    def resolve_projects(obj):
        return obj.detail["projects"]

    @staticmethod
    def resolve_investment(obj):
        return obj.detail["investment"]


class AssignmentOut(Schema):
    unit_id: int
    unit: str
    role: str


class ItemOut(Schema):
    id: int
    plan_id: int
    number: int
    section: str
    task_id: int
    task: str
    task_printed: str
    content: str
    lead_text: str
    responsible_text: str
    units: list[AssignmentOut]
    deadline_text: str
    deadline_kind: str
    deadline_reason: str
    start_date: dt.date | None
    due_date: dt.date | None
    overdue: bool
    indicator_names: list[str]
    note: str
    status: str
    percent: int
    completed_on: dt.date | None
    last_report_at: dt.datetime | None
    version: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_section(obj):
        return obj.task.section.title

    @staticmethod
    def resolve_task(obj):
        return obj.task.display_name

    @staticmethod
    def resolve_task_printed(obj):
        return obj.task.name

    @staticmethod
    def resolve_units(obj):
        return [{"unit_id": a.unit_id, "unit": a.unit.name, "role": a.role} for a in obj.assignments.all()]

    @staticmethod
    def resolve_overdue(obj, context):
        return obj.is_overdue(_today(context))


class ItemPage(Schema):
    items: list[ItemOut]
    next_cursor: str | None


class ProgressReportIn(Schema):
    status: str
    percent: int
    narrative: str
    unit_id: Id | None = None
    version: int | None = None


class ProjectReportIn(ProgressReportIn):
    spend_to_date: Money | None = None


class ProgressEvidenceOut(Schema):
    id: int
    name: str
    size: int
    sha256: str
    content_type: str
    url: str

    @staticmethod
    def resolve_url(obj):
        return f"/api/v1/programme/evidence/{obj.pk}"


class ProgressReportOut(Schema):
    id: int
    item_id: int | None
    project_id: int | None
    unit_id: int
    unit: str
    status: str
    percent: int
    narrative: str
    spend_to_date: Decimal | None
    submitted_by: str | None
    created_at: dt.datetime
    evidence: list[ProgressEvidenceOut]

    @staticmethod
    def resolve_unit(obj):
        return obj.unit.name

    @staticmethod
    def resolve_submitted_by(obj):
        return obj.submitted_by.get_username() if obj.submitted_by_id else None

    @staticmethod
    def resolve_evidence(obj):
        return list(obj.evidence.all())


class ProgressReportPage(Schema):
    items: list[ProgressReportOut]
    next_cursor: str | None


class MilestoneOut(Schema):
    id: int
    project_id: int
    ordinal: int
    title: str
    due_date: dt.date | None
    done_on: dt.date | None
    note: str
    version: int


class MilestoneIn(Schema):
    title: str
    due_date: RecordDate | None = None
    note: str = ""


class MilestonePatch(Schema):
    version: int
    title: str | None = None
    due_date: RecordDate | None = None
    done_on: EventDate | None = None
    note: str | None = None


class FacilityOut(Schema):
    id: int
    code: str
    name: str
    organization: str
    kind: str
    design_capacity_tonnes_per_year: Decimal | None
    storage_capacity_tonnes: Decimal | None
    capacity_note: str

    @staticmethod
    def resolve_organization(obj):
        return obj.organization.name


class ProjectOut(Schema):
    id: int
    plan_id: int
    number: int
    group_title: str
    category: str
    name: str
    display_name: str
    content: str
    capacities: list[dict]
    units_text: str
    units: list[AssignmentOut]
    investment_text: str
    investment_kind: str
    investment: Decimal | None
    merge_group: str
    note: str
    deadline_text: str
    deadline_kind: str
    start_date: dt.date | None
    due_date: dt.date | None
    overdue: bool
    status: str
    percent: int
    spend_to_date: Decimal | None
    completed_on: dt.date | None
    last_report_at: dt.datetime | None
    facility: FacilityOut | None
    milestones: list[MilestoneOut]
    version: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_units(obj):
        return [{"unit_id": a.unit_id, "unit": a.unit.name, "role": "responsible"} for a in obj.assignments.all()]

    @staticmethod
    def resolve_overdue(obj, context):
        return obj.is_overdue(_today(context))

    @staticmethod
    def resolve_milestones(obj):
        return list(obj.milestones.all())


class ProjectPage(Schema):
    items: list[ProjectOut]
    next_cursor: str | None


class FacilityIn(Schema):
    version: int
    site_id: Id | None


class CellIn(Schema):
    plan_id: Id
    cell_type: str
    name: str
    address: str = ""
    application: str = ""
    organization_id: Id | None = None
    department_id: Id | None = None


class CellOut(Schema):
    id: int
    plan_id: int
    cell_type: str
    name: str
    address: str
    organization_id: int | None
    department_id: int | None
    application: str
    status: str
    score: Decimal | None
    findings: str
    assessed_on: dt.date | None
    certificate_number: str
    certified_on: dt.date | None
    version: int
    updated_at: dt.datetime


class CellPage(Schema):
    items: list[CellOut]
    next_cursor: str | None


class AssessIn(Schema):
    version: int
    passed: bool
    score: Score | None = None
    findings: str = ""
    assessed_on: EventDate | None = None


class CertifyIn(Schema):
    version: int
    certificate_number: str = ""
    certified_on: EventDate | None = None


class CellCountOut(Schema):
    cell_type: str
    label: str
    target: int | None
    applied: int
    assessed: int
    certified: int
    rejected: int
    remaining: int | None


class CellTargetOut(Schema):
    cell_type: str
    target: int
    text: str
    source: str


class CellCountsOut(Schema):
    types: list[CellCountOut]
    total: CellCountOut
    targets: list[CellTargetOut]


class ProgressCountsOut(Schema):
    total: int
    not_started: int
    in_progress: int
    completed: int
    overdue: int


class SectionCountsOut(ProgressCountsOut):
    section_id: int
    title: str


class UnitCountsOut(ProgressCountsOut):
    unit_id: int
    unit: str
    missing_reports: int
    last_report_at: dt.datetime | None
    can_report: bool


class MissingOut(Schema):
    item_id: int
    number: int
    unit_id: int
    unit: str


class PeriodOut(Schema):
    label: str
    start: dt.date
    end: dt.date
    due: dt.date


class BoardOut(Schema):
    plan: ProgrammePlanOut
    today: dt.date
    totals: ProgressCountsOut
    sections: list[SectionCountsOut]
    units: list[UnitCountsOut]
    items: list[ItemOut]
    overdue_items: list[int]
    period: PeriodOut | None
    missing_reports: list[MissingOut]
    unparsed_deadlines: list[int]
    project_counts: dict[str, int]
    overdue_projects: list[int]
    investment: InvestmentOut
    cells: CellCountsOut


class TodoItemOut(Schema):
    item: ItemOut
    lead: bool
    overdue: bool
    report_due: bool


class TodoProjectOut(Schema):
    project: ProjectOut
    overdue: bool


class TodoOut(Schema):
    today: dt.date
    units: list[UnitOut]
    items: list[TodoItemOut]
    projects: list[TodoProjectOut]


class ProgrammeImportOut(Schema):
    kind: str
    rows: int
    sections: int
    tasks: int
    items: int
    projects: int
    units: int
    cell_targets: int
