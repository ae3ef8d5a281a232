"""Plan implementation API: plans and their lists, progress reports, key projects, zero-waste cells, the board.

Thin: parse, call `services` / `imports` / `bulletin` with the caller's scope, shape the answer.
Changes carry the `version` the client saw where a record changes state (a stale one answers 409).
`today` (ISO date) may be given to the board, the to-do list and the bulletin to see them as of a day.
"""

import datetime as dt

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Router, Status, UploadedFile

from wufei.core import spreadsheets
from wufei.core.api import page, scope_of
from wufei.core.errors import ValidationFailed
from wufei.core.inputs import Id, RecordDate, Since
from wufei.programme import bulletin, imports, services
from wufei.programme.schemas import (
    AssessIn,
    BoardOut,
    CellCountsOut,
    CellIn,
    CellOut,
    CellPage,
    CertifyIn,
    FacilityIn,
    ItemOut,
    ItemPage,
    MilestoneIn,
    MilestoneOut,
    MilestonePatch,
    PlanIn,
    ProgrammeImportOut,
    ProgrammePlanDetailOut,
    ProgrammePlanOut,
    ProgressEvidenceOut,
    ProgressReportIn,
    ProgressReportOut,
    ProgressReportPage,
    ProjectOut,
    ProjectPage,
    ProjectReportIn,
    TodoOut,
    UnitLinkIn,
    UnitOut,
)

router = Router(tags=["plan implementation"])


def _today(request, today: dt.date | None = None) -> dt.date:
    request.programme_today = today or timezone.localdate()
    return request.programme_today


def _listing(queryset, cursor, limit, updated_after):
    items, next_cursor = page(queryset, cursor=cursor, limit=limit, updated_after=updated_after)
    return {"items": items, "next_cursor": next_cursor}


# --- plans ---------------------------------------------------------------------------------

@router.get("/programme/plans", response=list[ProgrammePlanOut])
def list_plans(request):
    return services.plans_for(scope_of(request))


@router.post("/programme/plans", response={201: ProgrammePlanOut})
def create_plan(request, payload: PlanIn):
    return Status(201, services.create_plan(scope=scope_of(request), **payload.model_dump()))


@router.get("/programme/plans/{plan_id}", response=ProgrammePlanDetailOut)
def get_plan(request, plan_id: Id):
    """The plan, its sections and the re-added investment (`investment.double_counted` flags merged rows the
    printed total counts more than once). Units that see only their own rows get no totals."""
    scope = scope_of(request)
    plan = services.get_plan(scope, plan_id)
    overseer = services.is_overseer(scope, plan)
    plan.detail = {
        "sections": list(services.sections_of(plan)) if overseer else [],
        "items": plan.items.count() if overseer else services.items_for(scope, plan_id=plan.pk).count(),
        "tasks": plan.tasks.count() if overseer else 0,
        "projects": plan.projects.count() if overseer else services.projects_for(scope, plan_id=plan.pk).count(),
        "investment": services.totals_as_dict(services.investment_totals(plan)) if overseer else None,
    }
    return plan


@router.post("/programme/plans/{plan_id}/imports/{kind}", response=ProgrammeImportOut)
def import_list(request, plan_id: Id, kind: str, file: UploadedFile = File(...)):
    """A task list (`tasks`) or key projects (`projects`) from .xlsx or .csv into an empty plan; the whole
    file is checked and written only if every row passes (errors name row and column)."""
    scope = scope_of(request)
    plan = imports.check_caller(scope, plan_id)  # before anything of the file is read
    content = spreadsheets.read_upload(file, spreadsheets.limits(plan.region))
    result = imports.import_file(scope=scope, plan_id=plan_id, kind=kind, content=content, filename=file.name)
    return result.as_dict()


@router.get("/programme/plans/{plan_id}/board", response=BoardOut)
def get_board(request, plan_id: Id, today: RecordDate | None = None, section: Id | None = None,
              unit: Id | None = None, status: str | None = None, overdue: bool | None = None):
    """The leading group's board: items by section and lead unit, overdue items, missing reports, projects, cells."""
    data = services.board(scope_of(request), plan_id, today=_today(request, today), section_id=section,
                          unit_id=unit, status=status, overdue=overdue)
    return {
        "plan": data["plan"], "today": data["today"], "totals": data["totals"],
        "sections": [{"section_id": r["section"].pk, "title": r["section"].title, **_counts(r)}
                     for r in data["sections"]],
        "units": [{"unit_id": r["unit"].pk, "unit": r["unit"].name, "missing_reports": r["missing_reports"],
                   "last_report_at": r["last_report_at"], "can_report": r["can_report"], **_counts(r)}
                  for r in data["units"]],
        "items": data["items"],
        "overdue_items": [i.pk for i in data["overdue_items"]],
        "period": ({"label": data["period"].label, "start": data["period"].start, "end": data["period"].end,
                    "due": data["period"].due} if data["period"] else None),
        "missing_reports": [{"item_id": r["item"].pk, "number": r["item"].number, "unit_id": r["unit"].pk,
                             "unit": r["unit"].name} for r in data["missing_reports"]],
        "unparsed_deadlines": [i.pk for i in data["unparsed_deadlines"]],
        "project_counts": data["project_counts"],
        "overdue_projects": [p.pk for p in data["overdue_projects"]],
        "investment": services.totals_as_dict(data["investment"]),
        "cells": data["cells"],
    }


def _counts(row: dict) -> dict:
    return {k: row[k] for k in ("total", "not_started", "in_progress", "completed", "overdue")}


@router.get("/programme/plans/{plan_id}/bulletin")
def get_bulletin(request, plan_id: Id, format: str = "pdf", today: RecordDate | None = None):
    """The progress bulletin (推进情况通报) by unit: `format=pdf` or `xlsx`."""
    if format not in ("pdf", "xlsx"):
        raise ValidationFailed(_("format is pdf or xlsx"), errors=[{"field": "format", "message": format}])
    data = bulletin.bulletin(scope_of(request), plan_id, today=today)
    if format == "xlsx":
        body, content_type = bulletin.render_xlsx(data), \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, content_type = bulletin.render_pdf(data), "application/pdf"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="bulletin-{plan_id}.{format}"'
    return response


@router.get("/programme/plans/{plan_id}/cell-counts", response=CellCountsOut)
def get_cell_counts(request, plan_id: Id):
    return services.cell_counts(services.get_plan(scope_of(request), plan_id, oversee=True))


# --- units -----------------------------------------------------------------------------------

@router.get("/programme/units", response=list[UnitOut])
def list_units(request, plan: Id | None = None, linked: bool | None = None):
    return services.units_for(scope_of(request), plan_id=plan, linked=linked).order_by("region_id", "name")


@router.post("/programme/units/{unit_id}/link", response=UnitOut)
def link_unit(request, unit_id: Id, payload: UnitLinkIn):
    """Say which registry department or organization a printed unit is (neither: unlink)."""
    return services.link_unit(scope=scope_of(request), unit_id=unit_id, **payload.model_dump())


# --- task items ------------------------------------------------------------------------------

@router.get("/programme/items", response=ItemPage)
def list_items(request, plan: Id | None = None, section: int | None = None, unit: Id | None = None,
               role: str | None = None, status: str | None = None, overdue: bool | None = None,
               mine: bool = False, q: str | None = None, today: RecordDate | None = None, cursor: str | None = None,
               limit: int = 100, updated_after: Since | None = None):
    """Task items (numbered rows) the caller can see; `mine=true` for the items of the caller's own units."""
    queryset = services.items_for(scope_of(request), plan_id=plan, section_id=section, unit_id=unit, role=role,
                                  status=status, overdue=overdue, today=_today(request, today), q=q, mine=mine)
    return _listing(queryset, cursor, limit, updated_after)


@router.get("/programme/items/{item_id}", response=ItemOut)
def get_item(request, item_id: Id):
    _today(request)
    return services.get_item(scope_of(request), item_id)


@router.post("/programme/items/{item_id}/reports", response={201: ProgressReportOut})
def report_on_item(request, item_id: Id, payload: ProgressReportIn):
    """A unit reports progress on one of its items (a lead unit's report sets the item's status)."""
    report = services.report_on_item(scope=scope_of(request), item_id=item_id, **payload.model_dump())
    return Status(201, report)


@router.get("/programme/todo", response=TodoOut)
def get_todo(request, today: RecordDate | None = None):
    """The caller's own to-do list: its units' items and projects, overdue ones and reports due first."""
    return services.todo(scope_of(request), today=_today(request, today))


# --- reports ---------------------------------------------------------------------------------

@router.get("/programme/reports", response=ProgressReportPage)
def list_reports(request, plan: Id | None = None, item: Id | None = None, project: Id | None = None,
                 unit: Id | None = None, cursor: str | None = None, limit: int = 100,
                 updated_after: Since | None = None):
    queryset = services.reports_for(scope_of(request), plan_id=plan, item_id=item, project_id=project, unit_id=unit)
    return _listing(queryset, cursor, limit, updated_after)


@router.get("/programme/reports/{report_id}", response=ProgressReportOut)
def get_report(request, report_id: Id):
    return services.get_report(scope_of(request), report_id)


@router.post("/programme/reports/{report_id}/evidence", response={201: ProgressEvidenceOut})
def add_evidence(request, report_id: Id, file: UploadedFile = File(...)):
    evidence = services.add_evidence(scope=scope_of(request), report_id=report_id, name=file.name,
                                     content=file, content_type=file.content_type or "")
    return Status(201, evidence)


@router.get("/programme/evidence/{evidence_id}")
def get_evidence(request, evidence_id: Id):
    evidence = services.get_evidence(scope_of(request), evidence_id)
    return FileResponse(default_storage.open(evidence.path, "rb"), as_attachment=True, filename=evidence.name,
                        content_type=evidence.content_type or "application/octet-stream")


# --- key projects ----------------------------------------------------------------------------

@router.get("/programme/projects", response=ProjectPage)
def list_projects(request, plan: Id | None = None, status: str | None = None, unit: Id | None = None,
                  overdue: bool | None = None, mine: bool = False, today: RecordDate | None = None,
                  cursor: str | None = None, limit: int = 100, updated_after: Since | None = None):
    queryset = services.projects_for(scope_of(request), plan_id=plan, status=status, unit_id=unit, overdue=overdue,
                                     today=_today(request, today), mine=mine)
    return _listing(queryset, cursor, limit, updated_after)


@router.get("/programme/projects/{project_id}", response=ProjectOut)
def get_project(request, project_id: Id):
    _today(request)
    return services.get_project(scope_of(request), project_id)


@router.post("/programme/projects/{project_id}/reports", response={201: ProgressReportOut})
def report_on_project(request, project_id: Id, payload: ProjectReportIn):
    """A project's unit reports status, percent and spend to date (10k CNY)."""
    report = services.report_on_project(scope=scope_of(request), project_id=project_id, **payload.model_dump())
    return Status(201, report)


@router.post("/programme/projects/{project_id}/milestones", response={201: MilestoneOut})
def add_milestone(request, project_id: Id, payload: MilestoneIn):
    return Status(201, services.add_milestone(scope=scope_of(request), project_id=project_id,
                                              **payload.model_dump()))


@router.patch("/programme/milestones/{milestone_id}", response=MilestoneOut)
def update_milestone(request, milestone_id: Id, payload: MilestonePatch):
    """Change a milestone; `done_on` marks it reached (null: not reached)."""
    data = payload.model_dump(exclude_unset=True)
    return services.update_milestone(scope=scope_of(request), milestone_id=milestone_id, **data)


@router.post("/programme/projects/{project_id}/facility", response=ProjectOut)
def link_facility(request, project_id: Id, payload: FacilityIn):
    """Link the registry facility (Site) a completed project built; `site_id: null` removes the link."""
    _today(request)
    project = services.link_facility(scope=scope_of(request), project_id=project_id, **payload.model_dump())
    return services.get_project(scope_of(request), project.pk)


# --- zero-waste cells --------------------------------------------------------------------------

@router.get("/programme/cells", response=CellPage)
def list_cells(request, plan: Id | None = None, status: str | None = None, cell_type: str | None = None,
               cursor: str | None = None, limit: int = 100, updated_after: Since | None = None):
    queryset = services.cells_for(scope_of(request), plan_id=plan, status=status, cell_type=cell_type)
    return _listing(queryset, cursor, limit, updated_after)


@router.post("/programme/cells", response={201: CellOut})
def apply_cell(request, payload: CellIn):
    """Apply for a zero-waste cell (the unit itself, or the leading group on its behalf)."""
    return Status(201, services.apply_cell(scope=scope_of(request), **payload.model_dump()))


@router.get("/programme/cells/{cell_id}", response=CellOut)
def get_cell(request, cell_id: Id):
    return services.get_cell(scope_of(request), cell_id)


@router.post("/programme/cells/{cell_id}/assessment", response=CellOut)
def assess_cell(request, cell_id: Id, payload: AssessIn):
    return services.assess_cell(scope=scope_of(request), cell_id=cell_id, **payload.model_dump())


@router.post("/programme/cells/{cell_id}/certificate", response=CellOut)
def certify_cell(request, cell_id: Id, payload: CertifyIn):
    return services.certify_cell(scope=scope_of(request), cell_id=cell_id, **payload.model_dump())
