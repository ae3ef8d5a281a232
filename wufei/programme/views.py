"""Plan implementation pages: the leading group's board, a unit's to-do list, items, projects, cells, bulletin.

Thin: each view takes the caller's Scope, calls `services` / `imports` / `bulletin` and renders. A
WufeiError becomes a message on the page (errors naming a field are listed under it); NotFound is a 404.
"""

import datetime as dt
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wufei.core import spreadsheets
from wufei.core.errors import NotFound, PermissionDenied, ValidationFailed, WufeiError
from wufei.core.scope import request_scope
from wufei.programme import bulletin, imports, plan_text, services
from wufei.programme.models import CellStatus, CellType, Progress, ProjectStatus
from wufei.registry.models import Organization, Site


def _not_found_is_404(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _date(value):
    try:
        return dt.date.fromisoformat(str(value).strip()) if value else None
    except ValueError:
        return None


def _flag(value):
    return {"1": True, "true": True, "0": False, "false": False}.get(str(value).lower()) if value else None


def _error(request, exc: WufeiError) -> None:
    details = "; ".join(f"{e.get('field') or ''} {e.get('message', '')}".strip() for e in exc.errors[:20])
    messages.error(request, f"{exc.message}{': ' + details if details else ''}")


def _flag_overdue(items, today) -> None:
    for item in items:
        item.overdue_flag = item.is_overdue(today)


@login_required
@require_GET
def plan_list(request):
    scope = request_scope(request)
    plans = [{"plan": plan, "overseer": services.is_overseer(scope, plan)} for plan in services.plans_for(scope)]
    return render(request, "programme/plan_list.html", {
        "plans": plans, "has_units": services.my_units(scope).exists()})


@login_required
@require_GET
@_not_found_is_404
def board(request, plan_id: int):
    scope = request_scope(request)
    filters = {"section_id": _int(request.GET.get("section")), "unit_id": _int(request.GET.get("unit")),
               "status": request.GET.get("status") or None, "overdue": _flag(request.GET.get("overdue"))}
    try:
        data = services.board(scope, plan_id, today=_date(request.GET.get("today")), **filters)
    except PermissionDenied as exc:  # a unit sees its own rows on its to-do list
        _error(request, exc)
        return redirect("programme:todo")
    except ValidationFailed as exc:  # a filter it cannot read
        _error(request, exc)
        data = services.board(scope, plan_id)
    _flag_overdue(data["items"], data["today"])
    return render(request, "programme/board.html", {
        **data, "filters": filters, "statuses": Progress.choices, "import_errors": None,
        "unit_choices": sorted({row["unit"] for row in data["units"]}, key=lambda u: u.name),
    })


@login_required
@require_POST
@_not_found_is_404
def import_list(request, plan_id: int, kind: str):
    scope = request_scope(request)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("choose a file to import"))
        return redirect("programme:board", plan_id=plan_id)
    try:
        plan = imports.check_caller(scope, plan_id)
        content = spreadsheets.read_upload(upload, spreadsheets.limits(plan.region))
        result = imports.import_file(scope=scope, plan_id=plan_id, kind=kind, content=content, filename=upload.name)
    except WufeiError as exc:
        if isinstance(exc, NotFound):
            raise
        if not exc.errors or "row" not in exc.errors[0]:
            _error(request, exc)
            return redirect("programme:board", plan_id=plan_id)
        data = services.board(scope, plan_id)
        return render(request, "programme/board.html", {
            **data, "filters": {}, "statuses": Progress.choices, "unit_choices": [],
            "import_errors": exc.errors, "import_message": exc.message}, status=422)
    messages.success(request, _("%(rows)d rows imported") % {"rows": result.rows})
    return redirect("programme:board", plan_id=plan_id)


@login_required
@require_GET
@_not_found_is_404
def bulletin_file(request, plan_id: int, fmt: str):
    if fmt not in ("pdf", "xlsx"):
        raise Http404
    scope = request_scope(request)
    try:
        data = bulletin.bulletin(scope, plan_id, today=_date(request.GET.get("today")))
    except WufeiError as exc:
        if isinstance(exc, NotFound):
            raise
        _error(request, exc)
        return redirect("programme:plan_list")
    if fmt == "xlsx":
        response = HttpResponse(bulletin.render_xlsx(data),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        response = HttpResponse(bulletin.render_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="bulletin-{plan_id}-{timezone.localdate():%Y%m%d}.{fmt}"'
    return response


@login_required
@require_GET
def todo(request):
    scope = request_scope(request)
    data = services.todo(scope, today=_date(request.GET.get("today")))
    _flag_overdue([row["item"] for row in data["items"]], data["today"])
    return render(request, "programme/todo.html", data)


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_is_404
def item_detail(request, item_id: int):
    scope = request_scope(request)
    item = services.get_item(scope, item_id)
    if request.method == "POST":
        try:
            report = services.report_on_item(
                scope=scope, item_id=item.pk, status=request.POST.get("status", ""),
                percent=request.POST.get("percent"), narrative=request.POST.get("narrative", ""),
                unit_id=_int(request.POST.get("unit")), version=_int(request.POST.get("version")))
            _attach(request, scope, report)
            messages.success(request, _("progress reported"))
            return redirect("programme:item_detail", item_id=item.pk)
        except WufeiError as exc:
            if isinstance(exc, NotFound):
                raise
            _error(request, exc)
            item = services.get_item(scope, item_id)
    assigned = {a.unit_id for a in item.assignments.all()}
    return render(request, "programme/item_detail.html", {
        "item": item, "today": timezone.localdate(), "reports": services.reports_for(scope, item_id=item.pk),
        "my_units": [u for u in services.my_units(scope) if u.pk in assigned], "statuses": Progress.choices,
        "overseer": services.is_overseer(scope, item.plan)})


def _attach(request, scope, report) -> None:
    upload = request.FILES.get("evidence")
    if upload is not None:
        services.add_evidence(scope=scope, report_id=report.pk, name=upload.name, content=upload,
                              content_type=upload.content_type or "")


@login_required
@require_GET
@_not_found_is_404
def project_list(request, plan_id: int):
    scope = request_scope(request)
    plan = services.get_plan(scope, plan_id)
    overseer = services.is_overseer(scope, plan)
    today = timezone.localdate()
    projects = list(services.projects_for(scope, plan_id=plan.pk).order_by("number"))
    return render(request, "programme/project_list.html", {
        "plan": plan, "overseer": overseer, "today": today,
        "rows": [{"project": p, "overdue": p.is_overdue(today)} for p in projects],
        "investment": services.investment_totals(plan) if overseer else None,
        "kinds": plan_text.INVESTMENT_KINDS})


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_is_404
def project_detail(request, project_id: int):
    scope = request_scope(request)
    project = services.get_project(scope, project_id)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "report":
                report = services.report_on_project(
                    scope=scope, project_id=project.pk, status=request.POST.get("status", ""),
                    percent=request.POST.get("percent"), narrative=request.POST.get("narrative", ""),
                    spend_to_date=request.POST.get("spend_to_date") or None, unit_id=_int(request.POST.get("unit")),
                    version=_int(request.POST.get("version")))
                _attach(request, scope, report)
                messages.success(request, _("progress reported"))
            elif action == "milestone":
                services.add_milestone(scope=scope, project_id=project.pk, title=request.POST.get("title", ""),
                                       due_date=_date(request.POST.get("due_date")), note=request.POST.get("note", ""))
                messages.success(request, _("milestone added"))
            elif action == "milestone_done":
                services.update_milestone(scope=scope, milestone_id=_int(request.POST.get("milestone")) or 0,
                                          version=_int(request.POST.get("version")) or 0,
                                          done_on=_date(request.POST.get("done_on")) or timezone.localdate())
                messages.success(request, _("milestone reached"))
            elif action == "facility":
                services.link_facility(scope=scope, project_id=project.pk, version=_int(request.POST.get("version")),
                                       site_id=_int(request.POST.get("site")))
                messages.success(request, _("facility linked"))
            else:
                messages.error(request, _("unknown action"))
            return redirect("programme:project_detail", project_id=project.pk)
        except WufeiError as exc:
            if isinstance(exc, NotFound):
                raise
            _error(request, exc)
            project = services.get_project(scope, project_id)
    assigned = {a.unit_id for a in project.assignments.all()}
    my_units = [u for u in services.my_units(scope) if u.pk in assigned]
    overseer = services.is_overseer(scope, project.plan)
    sites = []
    if (overseer or my_units) and project.status == ProjectStatus.COMPLETED:
        organizations = Organization.objects.visible_to(scope).filter(region__path__startswith=project.plan.region.path)
        sites = Site.objects.visible_to(scope).filter(organization__in=organizations, is_active=True).select_related(
            "organization").order_by("organization__name", "name")[:300]
    return render(request, "programme/project_detail.html", {
        "project": project, "today": timezone.localdate(),
        "reports": services.reports_for(scope, project_id=project.pk),
        "my_units": my_units, "overseer": overseer, "statuses": ProjectStatus.choices, "sites": sites,
        "overdue": project.is_overdue(timezone.localdate()),
        "can_manage": overseer or bool(my_units)})


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_is_404
def cells(request, plan_id: int):
    scope = request_scope(request)
    plan = services.get_plan(scope, plan_id)
    overseer = services.is_overseer(scope, plan)
    if request.method == "POST":
        try:
            services.apply_cell(scope=scope, plan_id=plan.pk, cell_type=request.POST.get("cell_type", ""),
                                name=request.POST.get("name", ""), address=request.POST.get("address", ""),
                                application=request.POST.get("application", ""),
                                organization_id=_int(request.POST.get("organization")),
                                department_id=_int(request.POST.get("department")))
            messages.success(request, _("application recorded"))
            return redirect("programme:cells", plan_id=plan.pk)
        except WufeiError as exc:
            if isinstance(exc, NotFound):
                raise
            _error(request, exc)
    return render(request, "programme/cells.html", {
        "plan": plan, "overseer": overseer, "counts": services.cell_counts(plan) if overseer else None,
        "cells": services.cells_for(scope, plan_id=plan.pk).order_by("cell_type", "name"),
        "types": CellType.choices, "statuses": CellStatus,
        "organizations": Organization.objects.filter(pk__in=scope.writable_organization_ids,
                                                     region__path__startswith=plan.region.path),
        "departments": [u.department for u in services.my_units(scope) if u.department_id
                        and u.department.region_id == plan.region_id]})


@login_required
@require_POST
@_not_found_is_404
def cell_review(request, cell_id: int, action: str):
    scope = request_scope(request)
    cell = services.get_cell(scope, cell_id)
    try:
        if action == "assess":
            services.assess_cell(scope=scope, cell_id=cell.pk, version=_int(request.POST.get("version")),
                                 passed=request.POST.get("passed") == "1", score=request.POST.get("score") or None,
                                 findings=request.POST.get("findings", ""))
            messages.success(request, _("assessment recorded"))
        elif action == "certify":
            services.certify_cell(scope=scope, cell_id=cell.pk, version=_int(request.POST.get("version")),
                                  certificate_number=request.POST.get("certificate_number", ""))
            messages.success(request, _("cell certified"))
        else:
            raise Http404
    except WufeiError as exc:
        if isinstance(exc, NotFound):
            raise
        _error(request, exc)
    return redirect("programme:cells", plan_id=cell.plan_id)
