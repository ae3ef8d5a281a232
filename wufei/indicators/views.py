"""Indicator pages: catalog and plans, the evaluation board with drill-down, roll-up, data requests, reports.

Thin: take the caller's Scope, call `services` / `reports`, render. NotFound becomes a 404; other
service errors become a message on the page.
"""

import datetime as dt
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from wufei.core.errors import NotFound, WufeiError
from wufei.core.scope import request_scope
from wufei.indicators import formulas, reports, services
from wufei.indicators.models import Indicator
from wufei.registry.models import Department


def _not_found_is_404(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapped


def _year(request, default: int | None = None) -> int:
    try:
        return int(request.GET.get("year") or default or timezone.localdate().year - 1)
    except ValueError as exc:
        raise Http404(_("Not a year")) from exc


@login_required
@require_GET
def index(request):
    scope = request_scope(request)
    groups: dict[str, list] = {}
    for indicator in Indicator.objects.visible_to(scope):
        groups.setdefault(indicator.level1, []).append(indicator)
    return render(request, "indicators/index.html", {
        "plans": services.plans_for(scope), "groups": groups, "quantities": formulas.QUANTITIES.values()})


@login_required
@require_GET
@_not_found_is_404
def plan_board(request, plan_id: int):
    scope = request_scope(request)
    plan = services.get_plan(scope, plan_id)
    year = _year(request, plan.target_years[0] if plan.target_years else None)
    context = reports.context(scope=scope, plan_id=plan_id, year=year)
    context["can_judge"] = scope.is_platform_admin or scope.covers_region_path(plan.region.path)
    context["judged"] = services.JUDGED
    context["chart"] = {"labels": [b["label"] for b in context["bars"]],
                        "values": [float(b["value"]) for b in context["bars"]],
                        "colours": [b["colour"] for b in context["bars"]],
                        "targets": [None if b["target_x"] is None else float((b["target_x"] - 250) / 3)
                                    for b in context["bars"]],
                        "value_label": _("Value"), "target_label": _("Target")} if context["bars"] else None
    return render(request, "indicators/board.html", context)


@login_required
@require_GET
@_not_found_is_404
def plan_report(request, plan_id: int, fmt: str):
    scope = request_scope(request)
    year = _year(request)
    if fmt == "xlsx":
        response = HttpResponse(reports.export_xlsx(scope=scope, plan_id=plan_id, year=year),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="indicators-{plan_id}-{year}.xlsx"'
        return response
    if fmt == "pdf":
        response = HttpResponse(reports.render_pdf(scope=scope, plan_id=plan_id, year=year),
                                content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="indicators-{plan_id}-{year}.pdf"'
        return response
    return HttpResponse(reports.render_html(scope=scope, plan_id=plan_id, year=year))


@login_required
@require_POST
@_not_found_is_404
def report_pdf(request, plan_id: int):
    """The PDF takes seconds of layout: a background job prepares it and its page shows how far it is."""
    try:
        record = services.queue_report_pdf(scope=request_scope(request), user=request.user, plan_id=plan_id,
                                           year=int(request.POST.get("year") or timezone.localdate().year - 1))
    except (ValueError, WufeiError) as exc:
        messages.error(request, getattr(exc, "message", _("Not a year")))
        return redirect("indicators:board", plan_id=plan_id)
    return redirect("job", job_id=record.pk)


@login_required
@require_POST
@_not_found_is_404
def judge(request, plan_id: int):
    scope = request_scope(request)
    year = _year(request)
    try:
        services.judge(scope=scope, row_id=int(request.POST.get("row_id", 0)), year=int(request.POST.get("year", year)),
                       status=request.POST.get("status", ""), note=request.POST.get("note", ""))
        messages.success(request, _("Judgement saved."))
    except (WufeiError, ValueError) as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, getattr(exc, "message", str(exc)))
    return redirect(f"{request.path.rsplit('/judge/', 1)[0]}/?year={request.POST.get('year', year)}")


@login_required
@require_GET
@_not_found_is_404
def drilldown(request, region: str):
    scope = request_scope(request)
    year = _year(request)
    key = request.GET.get("key", "")
    result = services.drill_down(scope=scope, region_code=region, year=year, key=key)
    spec = formulas.QUANTITIES.get(key)
    return render(request, "indicators/drilldown.html", {"result": result, "year": year, "region": region,
                                                         "spec": spec})


@login_required
@require_GET
@_not_found_is_404
def rollup(request, region: str):
    scope = request_scope(request)
    year = _year(request)
    table = services.rollup(scope=scope, region_code=region, year=year)
    rows = [{"indicator": row["indicator"],
             "cells": [row["values"].get(column.code) for column in table["columns"]]}
            for row in table["rows"] if any(r.value is not None or r.state for r in row["values"].values())]
    return render(request, "indicators/rollup.html", {"table": table, "rows": rows, "year": year})


@login_required
@require_GET
@_not_found_is_404
def compare(request):
    scope = request_scope(request)
    year = _year(request)
    codes = [c for c in request.GET.get("regions", "").split(",") if c]
    table = services.compare(scope=scope, region_codes=codes, year=year)
    rows = [{"indicator": row["indicator"],
             "cells": [row["values"].get(column.code) for column in table["columns"]]}
            for row in table["rows"] if any(r.value is not None or r.state for r in row["values"].values())]
    return render(request, "indicators/rollup.html", {"table": table, "rows": rows, "year": year,
                                                      "comparison": True})


@login_required
def requests_list(request):
    """Data requests the caller sees; regulators ask a department for entered quantities here."""
    scope = request_scope(request)
    if request.method == "POST":
        try:
            created = services.create_request(
                scope=scope, region_code=request.POST.get("region", ""),
                department_id=int(request.POST.get("department_id") or 0), year=int(request.POST.get("year") or 0),
                keys=request.POST.getlist("keys"), note=request.POST.get("note", ""),
                due_date=dt.date.fromisoformat(request.POST.get("due_date", "")))
        except (ValueError, WufeiError) as exc:
            messages.error(request, getattr(exc, "message", _("Check the year, department and due date")))
            return redirect("indicators:requests")
        messages.success(request, _("Data request sent."))
        return redirect("indicators:request_detail", created.pk)
    departments = Department.objects.visible_to(scope).select_related("region") if scope.is_regulator else []
    entered = [spec for spec in formulas.QUANTITIES.values() if spec.source == "entered"]
    direct = Indicator.objects.filter(kind__in=(Indicator.Kind.DIRECT, Indicator.Kind.STATE))
    return render(request, "indicators/requests.html", {
        "requests": services.requests_for(scope), "departments": departments, "entered": entered,
        "direct": direct, "regions": scope.region_codes, "year": timezone.localdate().year - 1,
        "due": dt.date(timezone.localdate().year, 3, 31)})


@login_required
@_not_found_is_404
def request_detail(request, request_id: int):
    scope = request_scope(request)
    data_request = services.get_request(scope, request_id)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "value":
                services.enter_value(scope=scope, request_id=request_id, key=request.POST.get("key", ""),
                                     value=request.POST.get("value") or None, unit=request.POST.get("unit", ""),
                                     state=request.POST.get("state", ""), evidence=request.POST.get("evidence", ""))
            elif action == "file":
                upload = request.FILES.get("file")
                services.attach_evidence(scope=scope, request_id=request_id, key=request.POST.get("key", ""),
                                         name=upload.name if upload else "", content=upload,
                                         content_type=upload.content_type if upload else "")
            elif action == "submit":
                services.submit_request(scope=scope, request_id=request_id, version=request.POST.get("version"))
            elif action in ("approve", "return"):
                services.review_request(scope=scope, request_id=request_id, approve=action == "approve",
                                        comment=request.POST.get("comment", ""), version=request.POST.get("version"))
            messages.success(request, _("Saved."))
        except NotFound:
            raise
        except WufeiError as exc:
            messages.error(request, exc.message)
        return redirect("indicators:request_detail", request_id)
    values = {v.key: v for v in data_request.values.all()}
    lines = [{"key": key, "spec": formulas.QUANTITIES.get(key), "value": values.get(key)} for key in data_request.keys]
    return render(request, "indicators/request_detail.html", {
        "data_request": data_request, "lines": lines,
        "is_department": data_request.department_id in scope.department_ids or scope.is_platform_admin,
        "is_regulator": scope.is_platform_admin or scope.covers_region_path(data_request.region.path),
        "overdue": data_request.status in ("draft", "returned") and data_request.due_date < dt.date.today()})
