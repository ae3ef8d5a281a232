"""Plan, declaration, spot check and e-ledger pages (and their sections of the organization page).

Thin: each view takes the caller's Scope, calls `plans` / `declarations` / `solid_waste` and renders.
A WufeiError becomes a message on the page (errors naming a field are shown next to it); NotFound is a 404.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wufei.catalog import services as catalog
from wufei.core import parameters, spreadsheets
from wufei.core.errors import NotFound, WufeiError
from wufei.core.models import Job
from wufei.core.scope import Scope, request_scope
from wufei.ledgers import declarations, plans, solid_waste, spot_checks
from wufei.ledgers.models import DeclarationStatus, ReviewStatus, SpotCheck
from wufei.registry.models import Organization, Site
from wufei.registry.views import OrganizationSection, register_organization_section

BLANK_ROWS = 3
STREAM_FIELDS = ("waste", "planned_generation", "storage_site", "planned_self_processing", "note")
TRANSFER_FIELDS = ("waste", "receiver", "planned_quantity", "method")
MONTH_FIELDS = (*solid_waste.QUANTITIES, "name", "receiver")


# --- helpers ----------------------------------------------------------------------------------

def _not_found_is_404(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def _field_errors(exc: WufeiError | None) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for error in exc.errors if exc else []:
        result.setdefault(error.get("field") or "general", []).append(error.get("message", ""))
    return result


def _int(value, default=0) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _writable_organizations(scope: Scope):
    return Organization.objects.filter(pk__in=scope.writable_organization_ids, status=Organization.Status.ACTIVE)


def _posted_rows(request, fields: tuple[str, ...]) -> tuple[list[dict], list[int]]:
    """Rows of a table form (one list per field); blank rows dropped. Returns rows and their form row numbers."""
    columns = {name: request.POST.getlist(name) for name in fields}
    count = max((len(values) for values in columns.values()), default=0)
    rows, numbers = [], []
    for index in range(count):
        row = {name: (columns[name][index] if index < len(columns[name]) else "").strip() for name in fields}
        if any(row.values()):
            rows.append(row)
            numbers.append(index)
    return rows, numbers


def _table_rows(rows: list[dict], fields, prefix: str, errors: dict, numbers: list[int] | None = None) -> list[dict]:
    """Rows for a table form with their field errors ('streams.2.waste' → row of index 2), plus blank rows."""
    numbers = numbers if numbers is not None else list(range(len(rows)))
    by_form_row = {}
    for parsed_index, form_index in enumerate(numbers):
        by_form_row[form_index] = {name: errors.get(f"{prefix}.{parsed_index}.{name}", []) for name in fields}
    width = (max(numbers) + 1) if numbers else 0
    values_by_form_row = dict(zip(numbers, rows, strict=True))
    table = []
    for index in range(width + BLANK_ROWS):
        table.append({"values": values_by_form_row.get(index, {name: "" for name in fields}),
                      "errors": by_form_row.get(index, {}), "number": index + 1})
    return table


# --- management plans --------------------------------------------------------------------------

@login_required
@require_GET
def plan_list(request):
    scope = request_scope(request)
    year = _int(request.GET.get("year"), timezone.localdate().year)
    status = request.GET.get("status", "").strip()
    try:
        listing = plans.plans_for(scope, year=year, status=status or None).order_by("organization__name", "site_id",
                                                                                    "-revision")
    except WufeiError as exc:
        messages.error(request, exc.message)
        listing = plans.plans_for(scope, year=year)
    rows = [{"plan": p, "late": plans.submitted_late(p)} for p in listing[:500]]
    return render(request, "ledgers/plan_list.html", {
        "year": year, "status": status, "statuses": ReviewStatus.choices, "rows": rows,
        "queue": list(plans.review_queue(scope)[:200]) if scope.is_regulator else [],
        "overdue": list(plans.overdue_plans(scope, year=year).order_by("due_date", "pk")[:200]),
        "organizations": _writable_organizations(scope),
        "sites": Site.objects.filter(organization__in=_writable_organizations(scope)).order_by("organization_id",
                                                                                                "code"),
        "next_year": timezone.localdate().year + 1,
    })


@login_required
@require_POST
@_not_found_is_404
def plan_create(request):
    scope = request_scope(request)
    try:
        plan = plans.create_plan(scope=scope, organization_id=_int(request.POST.get("organization")),
                                 year=_int(request.POST.get("year")),
                                 site_id=_int(request.POST.get("site")) or None)
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        for messages_of_field in _field_errors(exc).values():
            for message in messages_of_field:
                messages.error(request, message)
        return redirect(f"{reverse('ledgers:plan_list')}?year={_int(request.POST.get('year'))}")
    messages.success(request, _("The management plan was created; add its waste streams."))
    return redirect("ledgers:plan_detail", plan.pk)


def _plan_page(request, plan_id: int, *, status: int = 200, errors: dict | None = None, posted: dict | None = None):
    scope = request_scope(request)
    plan = plans.plan_detail(scope, plan_id)
    errors = errors or {}
    posted = posted or {}
    can_write = plans.is_unit_writer(scope, plan.organization)
    editable = can_write and (plan.status in plans.EDITABLE
                              or (plan.status == ReviewStatus.APPROVED and plan.newer_revision is None))
    if "streams" in posted:
        stream_rows = _table_rows(posted["streams"][0], STREAM_FIELDS, "streams", errors, posted["streams"][1])
    else:
        stream_rows = _table_rows([{
            "waste": s.waste_id, "planned_generation": plans.plain(s.planned_generation),
            "storage_site": str(s.storage_site_id or ""),
            "planned_self_processing": plans.plain(s.planned_self_processing), "note": s.note}
            for s in plan.stream_list], STREAM_FIELDS, "streams", errors)
    if "transfers" in posted:
        transfer_rows = _table_rows(posted["transfers"][0], TRANSFER_FIELDS, "transfers", errors,
                                    posted["transfers"][1])
    else:
        transfer_rows = _table_rows([{
            "waste": t.waste_id, "receiver": t.receiver.uscc, "planned_quantity": plans.plain(t.planned_quantity),
            "method": t.method_id or ""} for t in plan.transfer_list], TRANSFER_FIELDS, "transfers", errors)
    return render(request, "ledgers/plan_detail.html", {
        "plan": plan, "can_write": can_write, "editable": editable,
        "can_submit": can_write and plan.status in plans.EDITABLE,
        "can_review": plan.status == ReviewStatus.SUBMITTED and plans.is_regulator_of(scope, plan.organization),
        "overdue": plans.is_overdue(plan), "late": plans.submitted_late(plan),
        "storage_sites": Site.objects.filter(organization=plan.organization, kind=Site.Kind.STORAGE, is_active=True),
        "stream_rows": stream_rows, "transfer_rows": transfer_rows,
        "errors": errors, "posted": posted,
    }, status=status)


@login_required
@require_GET
@_not_found_is_404
def plan_detail(request, plan_id: int):
    return _plan_page(request, plan_id)


def _plan_action(request, plan_id: int, action, success: str, posted: dict | None = None):
    try:
        plan = action(request_scope(request))
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        errors = {}
        for error in exc.errors:
            errors.setdefault(error.get("field") or "general", []).append(error.get("message", ""))
        return _plan_page(request, plan_id, status=exc.status, errors=errors, posted=posted)
    if plan.pk != plan_id:
        messages.info(request, _("The plan was approved, so your change was saved as revision %(n)d.")
                      % {"n": plan.revision})
    messages.success(request, success)
    return redirect("ledgers:plan_detail", plan.pk)


@login_required
@require_POST
@_not_found_is_404
def plan_measures(request, plan_id: int):
    data = {name: request.POST.get(name, "") for name in ("reduction_measures", "storage_measures")}
    return _plan_action(request, plan_id, lambda scope: plans.update_measures(
        scope=scope, plan_id=plan_id, version=_int(request.POST.get("version")), data=data),
        _("Measures saved."), posted={"measures": data})


@login_required
@require_POST
@_not_found_is_404
def plan_streams(request, plan_id: int):
    rows, numbers = _posted_rows(request, STREAM_FIELDS)
    return _plan_action(request, plan_id, lambda scope: plans.set_streams(
        scope=scope, plan_id=plan_id, version=_int(request.POST.get("version")), streams=rows),
        _("Waste streams saved."), posted={"streams": (rows, numbers)})


@login_required
@require_POST
@_not_found_is_404
def plan_transfers(request, plan_id: int):
    rows, numbers = _posted_rows(request, TRANSFER_FIELDS)
    cleaned = [{**row, "method": row["method"] or None} for row in rows]
    return _plan_action(request, plan_id, lambda scope: plans.set_transfers(
        scope=scope, plan_id=plan_id, version=_int(request.POST.get("version")), transfers=cleaned),
        _("Planned transfers saved."), posted={"transfers": (rows, numbers)})


@login_required
@require_POST
@_not_found_is_404
def plan_submit(request, plan_id: int):
    return _plan_action(request, plan_id, lambda scope: plans.submit_plan(
        scope=scope, plan_id=plan_id, version=_int(request.POST.get("version"))),
        _("The plan was submitted for review."))


@login_required
@require_POST
@_not_found_is_404
def plan_review(request, plan_id: int):
    comment = request.POST.get("comment", "")
    version = _int(request.POST.get("version"))
    if request.POST.get("decision") == "approve":
        def action(scope):
            return plans.approve_plan(scope=scope, plan_id=plan_id, version=version, comment=comment)
        success = _("The plan was approved.")
    else:
        def action(scope):
            return plans.return_plan(scope=scope, plan_id=plan_id, version=version, comment=comment)
        success = _("The plan was returned to the unit.")
    return _plan_action(request, plan_id, action, success, posted={"review": {"comment": comment}})


# --- annual declarations -----------------------------------------------------------------------

@login_required
@require_GET
def declaration_list(request):
    scope = request_scope(request)
    year = _int(request.GET.get("year"), 0) or None
    status = request.GET.get("status", "").strip()
    try:
        listing = declarations.declarations_for(scope, year=year, status=status or None)
    except WufeiError as exc:
        messages.error(request, exc.message)
        listing = declarations.declarations_for(scope, year=year)
    return render(request, "ledgers/declaration_list.html", {
        "declarations": listing.order_by("-year", "organization__name")[:500], "year": year or "", "status": status,
        "statuses": DeclarationStatus.choices, "organizations": _writable_organizations(scope),
        "last_year": timezone.localdate().year - 1,
    })


@login_required
@require_POST
@_not_found_is_404
def declaration_draft(request):
    scope = request_scope(request)
    try:
        declaration = declarations.draft_declaration(
            scope=scope, organization_id=_int(request.POST.get("organization")), year=_int(request.POST.get("year")),
            version=_int(request.POST.get("version")) or None)
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        return redirect("ledgers:declaration_list")
    messages.success(request, _("The declaration was drafted from the ledger."))
    return redirect("ledgers:declaration_detail", declaration.pk)


def _declaration_page(request, declaration_id: int, *, status: int = 200, errors: dict | None = None,
                      posted=None):
    scope = request_scope(request)
    declaration = declarations.declaration_detail(scope, declaration_id)
    editable = declaration.status == DeclarationStatus.DRAFT and plans.is_unit_writer(scope, declaration.organization)
    for row in declaration.rows:
        for cell in row["cells"]:
            key = f"{row['code']}__{cell['field']}"
            cell["key"] = key
            cell["posted_declared"] = posted.get(f"declared__{key}") if posted else None
            cell["posted_reason"] = posted.get(f"reason__{key}") if posted else None
            cell["errors"] = (errors or {}).get(key, [])
    return render(request, "ledgers/declaration_detail.html", {
        "declaration": declaration, "editable": editable, "errors": errors or {},
        "is_regulator": plans.is_regulator_of(scope, declaration.organization),
    }, status=status)


@login_required
@require_GET
@_not_found_is_404
def declaration_detail(request, declaration_id: int):
    return _declaration_page(request, declaration_id)


@login_required
@require_POST
@_not_found_is_404
def declaration_adjust(request, declaration_id: int):
    """The page posts every figure; only those that changed (value or reason) are sent to the service."""
    scope = request_scope(request)
    declaration = declarations.get_declaration(scope, declaration_id)
    changes, keys = [], []
    for line in declaration.lines.all():
        key = f"{line.waste_id}__{line.field}"
        declared = request.POST.get(f"declared__{key}")
        reason = request.POST.get(f"reason__{key}", "").strip()
        if declared is None:
            continue
        if declared.strip() != plans.plain(line.declared_value) or reason != line.adjustment_reason:
            changes.append({"waste": line.waste_id, "field": line.field, "declared_value": declared,
                            "reason": reason})
            keys.append(key)
    if not changes:
        messages.info(request, _("Nothing changed."))
        return redirect("ledgers:declaration_detail", declaration_id)
    try:
        declarations.adjust_lines(scope=scope, declaration_id=declaration_id,
                                  version=_int(request.POST.get("version")), changes=changes)
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        errors = {}
        for error in exc.errors:
            parts = error.get("field", "").split(".")
            key = keys[int(parts[1])] if len(parts) == 3 and parts[0] == "changes" else "general"
            errors.setdefault(key, []).append(error.get("message", ""))
        return _declaration_page(request, declaration_id, status=exc.status, errors=errors, posted=request.POST)
    messages.success(request, _("The declared figures were saved."))
    return redirect("ledgers:declaration_detail", declaration_id)


@login_required
@require_POST
@_not_found_is_404
def declaration_submit(request, declaration_id: int):
    scope = request_scope(request)
    try:
        declaration = declarations.submit_declaration(scope=scope, declaration_id=declaration_id,
                                                      version=_int(request.POST.get("version")))
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        errors = {}
        for error in exc.errors:
            parts = error.get("field", "").split(".")
            key = f"{parts[1]}__{parts[2]}" if len(parts) == 3 and parts[0] == "lines" else "general"
            errors.setdefault(key, []).append(error.get("message", ""))
        return _declaration_page(request, declaration_id, status=exc.status, errors=errors)
    if declaration.submitted_late:
        messages.warning(request, _("The declaration was submitted after its due date and is marked late."))
    messages.success(request, _("The declaration was submitted."))
    return redirect("ledgers:declaration_detail", declaration_id)


# --- spot checks ----------------------------------------------------------------------------------

def _spot_check_page(request, *, status: int = 200, errors: dict | None = None, posted=None, drawn=None):
    scope = request_scope(request)
    year = _int(request.GET.get("year") or (posted or {}).get("year"), timezone.localdate().year - 1)
    region = scope.region_codes[0] if scope.region_codes else None
    draws = list(spot_checks.draws_for(scope, year=year).order_by("region_id", "sequence")) if scope.is_regulator \
        else []
    return render(request, "ledgers/spot_check_list.html", {
        "year": year, "checks": spot_checks.spot_checks_for(scope, year=year).order_by("-pk")[:500],
        "pool": spot_checks.spot_check_pool(scope, year).count() if scope.is_regulator else 0,
        "draws": draws, "regions": [catalog.get_region(code) for code in scope.region_codes],
        "drawn_regions": {d.region_id for d in draws},
        "default_share": parameters.get("declaration.spot_check_share_percent", region),
        "can_draw": scope.is_regulator, "outcomes": [(SpotCheck.Outcome.CONSISTENT, SpotCheck.Outcome.CONSISTENT.label),
                                                     (SpotCheck.Outcome.DISCREPANCY,
                                                      SpotCheck.Outcome.DISCREPANCY.label)],
        "editable_ids": set(SpotCheck.objects.editable_by(scope).values_list("pk", flat=True))
        if scope.is_regulator else set(),
        "errors": errors or {}, "posted": posted or {}, "drawn": drawn or [],
    }, status=status)


@login_required
@require_GET
def spot_check_list(request):
    return _spot_check_page(request)


@login_required
@require_POST
def spot_check_draw(request):
    scope = request_scope(request)
    year = _int(request.POST.get("year"))
    try:
        checks = spot_checks.draw_spot_checks(scope=scope, year=year, region=request.POST.get("region") or None,
                                              share_percent=request.POST.get("share_percent") or None,
                                              reason=request.POST.get("reason", ""))
    except WufeiError as exc:
        messages.error(request, exc.message)
        return _spot_check_page(request, status=exc.status, errors={"draw": _field_errors(exc)}, posted=request.POST)
    if checks:
        messages.success(request, _("%(n)d declarations were drawn with seed %(seed)s.")
                         % {"n": len(checks), "seed": checks[0].draw_seed})
    else:
        messages.info(request, _("No submitted declaration of that year is left to draw."))
    return redirect(f"{reverse('ledgers:spot_check_list')}?year={year}")


@login_required
@require_POST
@_not_found_is_404
def spot_check_finding(request, spot_check_id: int):
    scope = request_scope(request)
    try:
        check = spot_checks.record_finding(scope=scope, spot_check_id=spot_check_id,
                                           version=_int(request.POST.get("version")),
                                           outcome=request.POST.get("outcome", ""),
                                           findings=request.POST.get("findings", ""))
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        return _spot_check_page(request, status=exc.status, errors={spot_check_id: _field_errors(exc)},
                                posted=request.POST)
    messages.success(request, _("The finding was recorded."))
    return redirect(f"{reverse('ledgers:spot_check_list')}?year={check.declaration.year}")


# --- the solid waste monthly e-ledger ---------------------------------------------------------------

def _solid_waste_page(request, *, status: int = 200, errors: dict | None = None, posted=None):
    scope = request_scope(request)
    source = posted or request.GET
    year = _int(source.get("year"), timezone.localdate().year)
    organization_id = _int(source.get("organization"))
    writable = list(_writable_organizations(scope))
    if not organization_id and writable:
        organization_id = writable[0].pk
    summary, rows, can_write = None, [], False
    if organization_id:
        summary = solid_waste.yearly_summary(scope, organization_id=organization_id, year=year)  # NotFound → 404
        rows = list(solid_waste.months_for(scope, organization_id=organization_id, year=year).order_by("month",
                                                                                                        "code"))
        can_write = plans.is_unit_writer(scope, summary["organization"])
    required = solid_waste.required_units(scope, year=year) if scope.is_regulator else []
    errors = errors or {}
    entry_fields = [{"key": key, "label": solid_waste.LABELS[key], "value": (posted or {}).get(key, ""),
                     "errors": errors.get(key, [])} for key in solid_waste.QUANTITIES]
    return render(request, "ledgers/solid_waste_months.html", {
        "year": year, "organization_id": organization_id, "organizations": writable, "summary": summary,
        "rows": rows, "can_write": can_write, "required": required, "entry_fields": entry_fields,
        "codes": solid_waste.catalog_codes().items(), "months": range(1, 13), "errors": errors, "posted": posted or {},
    }, status=status)


@login_required
@require_GET
@_not_found_is_404
def solid_waste_months(request):
    return _solid_waste_page(request)


@login_required
@require_POST
@_not_found_is_404
def solid_waste_save(request):
    scope = request_scope(request)
    values = {name: request.POST.get(name, "") for name in MONTH_FIELDS}
    organization_id = _int(request.POST.get("organization"))
    year = _int(request.POST.get("year"))
    try:
        row = solid_waste.save_month(scope=scope, organization_id=organization_id, year=year,
                                     month=_int(request.POST.get("month")), code=request.POST.get("code", ""),
                                     values=values, version=_int(request.POST.get("version")) or None)
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        return _solid_waste_page(request, status=exc.status, errors=_field_errors(exc), posted=request.POST)
    messages.success(request, _("%(code)s %(year)d-%(month)02d saved.")
                     % {"code": row.code, "year": row.year, "month": row.month})
    return redirect(f"{reverse('ledgers:solid_waste_months')}?organization={organization_id}&year={year}")


@login_required
@require_http_methods(["GET", "POST"])
def solid_waste_import(request):
    scope = request_scope(request)
    rejected, status = None, 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a file to import."))
            status = 422
        else:
            try:
                solid_waste.check_import_caller(scope)
                content = spreadsheets.read_upload(upload, spreadsheets.limits_for(scope))
                result = solid_waste.import_or_queue(scope=scope, user=request.user, content=content,
                                                     filename=upload.name)
            except WufeiError as exc:
                rejected, status = exc, exc.status
                messages.error(request, exc.message)
            else:
                if isinstance(result, Job):  # a large file: imported by a background job, followed on its page
                    return redirect("job", job_id=result.pk)
                messages.success(request, _("Imported %(file)s: %(created)d months created, %(updated)d updated.")
                                 % {"file": upload.name, **result})
                return redirect("ledgers:solid_waste_import")
    return render(request, "ledgers/solid_waste_import.html", {
        "rejected": rejected, "header": solid_waste.template_header()}, status=status)


# --- sections of the organization page (一企一档) ------------------------------------------------------

def _plan_section(scope: Scope, organization: Organization) -> dict:
    return {"overview": plans.plan_overview(scope, organization),
            "can_write": plans.is_unit_writer(scope, organization)}


def _declaration_section(scope: Scope, organization: Organization) -> dict:
    year = timezone.localdate().year - 1
    declaration = declarations.declarations_for(scope, organization_id=organization.pk, year=year).first()
    return {"year": year, "declaration": declaration,
            "due_date": declaration.due_date if declaration else declarations.declaration_due_date(organization, year),
            "overdue": (declaration is None or declaration.status == DeclarationStatus.DRAFT)
            and timezone.localdate() > (declaration.due_date if declaration
                                        else declarations.declaration_due_date(organization, year)),
            "can_write": plans.is_unit_writer(scope, organization),
            "spot_checks": list(spot_checks.spot_checks_for(scope).filter(
                declaration__organization=organization).order_by("-pk")[:5])}


def _solid_waste_section(scope: Scope, organization: Organization) -> dict:
    year = timezone.localdate().year
    summary = solid_waste.yearly_summary(scope, organization_id=organization.pk, year=year)
    duty = solid_waste.ledger_duty(organization, year=year) if organization.is_generator else None
    return {"year": year, "summary": summary, "duty": duty, "due": solid_waste.due_months(year)}


register_organization_section(OrganizationSection(
    key="management-plans", title=gettext_lazy("Management plans"), template="ledgers/plan_section.html",
    data=_plan_section, order=60))
register_organization_section(OrganizationSection(
    key="declarations", title=gettext_lazy("Annual declaration"), template="ledgers/declaration_section.html",
    data=_declaration_section, order=61))
register_organization_section(OrganizationSection(
    key="solid-waste-ledger", title=gettext_lazy("Solid waste monthly e-ledger"),
    template="ledgers/solid_waste_section.html", data=_solid_waste_section, order=62))


urlpatterns = [
    path("plans/", plan_list, name="plan_list"),
    path("plans/new/", plan_create, name="plan_create"),
    path("plans/<int:plan_id>/", plan_detail, name="plan_detail"),
    path("plans/<int:plan_id>/measures/", plan_measures, name="plan_measures"),
    path("plans/<int:plan_id>/streams/", plan_streams, name="plan_streams"),
    path("plans/<int:plan_id>/transfers/", plan_transfers, name="plan_transfers"),
    path("plans/<int:plan_id>/submit/", plan_submit, name="plan_submit"),
    path("plans/<int:plan_id>/review/", plan_review, name="plan_review"),
    path("declarations/", declaration_list, name="declaration_list"),
    path("declarations/draft/", declaration_draft, name="declaration_draft"),
    path("declarations/<int:declaration_id>/", declaration_detail, name="declaration_detail"),
    path("declarations/<int:declaration_id>/adjust/", declaration_adjust, name="declaration_adjust"),
    path("declarations/<int:declaration_id>/submit/", declaration_submit, name="declaration_submit"),
    path("spot-checks/", spot_check_list, name="spot_check_list"),
    path("spot-checks/draw/", spot_check_draw, name="spot_check_draw"),
    path("spot-checks/<int:spot_check_id>/finding/", spot_check_finding, name="spot_check_finding"),
    path("solid-waste/", solid_waste_months, name="solid_waste_months"),
    path("solid-waste/save/", solid_waste_save, name="solid_waste_save"),
    path("solid-waste/import/", solid_waste_import, name="solid_waste_import"),
]
