"""Complaint pages: the public report form and its receipt, the reporter's follow-up, the regulators'
queue (filters, counts), a report with its photos, coordinates, history and actions.
Thin: scope, services, render; a WufeiError becomes a message or errors at their fields."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wufei.cases import services
from wufei.cases.api import client_key
from wufei.cases.models import Kind, Status
from wufei.core.errors import NotFound, RuleViolation, ValidationFailed, WufeiError
from wufei.core.scope import request_scope
from wufei.registry.services import organizations_for

PAGE_SIZE = 50
FILTERS = ("status", "kind", "region", "q")
FORM_FIELDS = ("kind", "region", "place", "longitude", "latitude", "description", "organization_named",
               "contact_name", "contact_phone")
ACTION_LABELS = {
    "created": gettext_lazy("submitted"), "photos_added": gettext_lazy("photos received"),
    "accept": gettext_lazy("accepted"), "investigate": gettext_lazy("investigation started"),
    "close": gettext_lazy("closed"), "reject": gettext_lazy("rejected"), "assigned": gettext_lazy("assigned"),
    "organization_linked": gettext_lazy("organization linked"), "note": gettext_lazy("internal note"),
    "updated": gettext_lazy("updated"),
}
BUTTONS = {"accept": gettext_lazy("Accept"), "investigate": gettext_lazy("Start the investigation"),
           "close": gettext_lazy("Close with a result"), "reject": gettext_lazy("Reject")}


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


# --- public ------------------------------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def report(request):
    """/cases/report/: the public form; on success the receipt with the number and the secret (shown once)."""
    values = {name: "" for name in FORM_FIELDS}
    errors, status = {}, 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in FORM_FIELDS}
        uploads = request.FILES.getlist("photos")
        try:
            created, secret = services.submit_report(
                **values, consent=request.POST.get("consent") == "on",
                photos=services.read_photos(uploads), honeypot=request.POST.get("website", ""),
                client_key=client_key(request))
            return _no_store(render(request, "cases/submitted.html", {"report": created, "secret": secret},
                                    status=201))
        except ValidationFailed as exc:
            status = 422
            messages.error(request, exc.message)
            for error in exc.errors:
                errors.setdefault(error["field"], []).append(error["message"])
        except (services.RateLimited, services.Rejected) as exc:
            status = exc.status
            messages.error(request, exc.message)
    return _no_store(render(request, "cases/report_form.html", {
        "values": values, "errors": errors, "kinds": Kind.choices, "regions": services.public_regions(),
        "consent": request.POST.get("consent") == "on", "max_photos": services.MAX_PHOTOS,
        "max_mb": services.MAX_PHOTO_BYTES // 2**20}, status=status))


@never_cache
@require_http_methods(["GET", "POST"])
def follow(request):
    """/cases/follow/: number + secret -> status and the public result (never the internal notes)."""
    view, asked, error, status = None, False, "", 200
    number = ""
    if request.method == "POST":
        asked = True
        number = request.POST.get("number", "").strip()
        try:
            view = services.follow_up(number=number, secret=request.POST.get("secret", ""),
                                      client_key=client_key(request))
        except services.RateLimited as exc:
            error, status = exc.message, 429
        else:
            if view is None:
                error, status = _("No report matches this number and secret."), 404
    return _no_store(render(request, "cases/follow.html", {"view": view, "asked": asked, "error": error,
                                                           "number": number}, status=status))


# --- regulators ------------------------------------------------------------------------------------------

def _regulator_scope(request):
    scope = request_scope(request)
    if not scope.is_regulator:
        raise DjangoPermissionDenied(_("Only regulators handle complaints and reports."))
    return scope


def _report_or_404(scope, report_id):
    try:
        return services.get_report(scope, report_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
@require_GET
def queue(request):
    scope = _regulator_scope(request)
    filters = {name: (request.GET.get(name) or "").strip() for name in FILTERS}
    selection = {k: v or None for k, v in filters.items()}
    try:
        reports = services.reports_for(scope, **selection)
        counts = services.counts(scope, **{k: v for k, v in selection.items() if k != "q"})
    except WufeiError as exc:
        messages.error(request, exc.message)
        reports, counts = services.reports_for(scope), services.counts(scope)
    paginator = Paginator(reports.order_by("-submitted_at", "-id"), PAGE_SIZE)
    regions = [r for r in services.public_regions() if scope.covers_region_path(r.path)]
    return render(request, "cases/queue.html", {
        "filters": filters, "page": paginator.get_page(request.GET.get("page")), "counts": counts,
        "statuses": [(c, label, counts["by_status"].get(c, 0)) for c, label in Status.choices],
        "kinds": [(c, label, counts["by_kind"].get(c, 0)) for c, label in Kind.choices], "regions": regions})


@login_required
@require_GET
def detail(request, report_id: int):
    scope = _regulator_scope(request)
    item = _report_or_404(scope, report_id)
    history = [{**h, "label": ACTION_LABELS.get(h["action"], h["action"])} for h in services.history(item)]
    suggestions = []
    if item.organization_named and item.organization_id is None:
        suggestions = list(organizations_for(scope, q=item.organization_named[:20])[:10])
    return render(request, "cases/detail.html", {
        "report": item, "history": history, "photos": list(item.photos.all()),
        "actions": [(a, BUTTONS[a]) for a in services.available_actions(scope, item)],
        "assignees": services.assignees_for(scope, item), "suggestions": suggestions})


def _version(request):
    try:
        return int(request.POST.get("version") or 0) or None
    except ValueError as exc:
        raise RuleViolation(_("the version is not a number")) from exc


def _optional_int(raw):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationFailed(_("not a number")) from exc


def _run(request, report_id, call):
    scope = _regulator_scope(request)
    _report_or_404(scope, report_id)
    try:
        call(scope)
        messages.success(request, _("Saved."))
    except WufeiError as exc:
        details = "; ".join(e["message"] for e in exc.errors)
        messages.error(request, f"{exc.message}{': ' + details if details else ''}")
    return redirect("cases:detail", report_id=report_id)


@login_required
@require_POST
def act(request, report_id: int):
    return _run(request, report_id, lambda scope: services.transition(
        scope=scope, report_id=report_id, action=request.POST.get("action", ""), version=_version(request),
        result=request.POST.get("result", ""), reason=request.POST.get("reason", ""),
        note=request.POST.get("note", "")))


@login_required
@require_POST
def assign(request, report_id: int):
    return _run(request, report_id, lambda scope: services.assign(
        scope=scope, report_id=report_id, version=_version(request),
        assignee_id=_optional_int(request.POST.get("assignee_id"))))


@login_required
@require_POST
def link(request, report_id: int):
    return _run(request, report_id, lambda scope: services.link_organization(
        scope=scope, report_id=report_id, version=_version(request),
        organization_id=_optional_int(request.POST.get("organization_id")), note=request.POST.get("note", "")))


@login_required
@require_POST
def note(request, report_id: int):
    return _run(request, report_id, lambda scope: services.add_note(
        scope=scope, report_id=report_id, version=_version(request), note=request.POST.get("note", "")))


@login_required
@require_GET
def photo(request, report_id: int, photo_id: int):
    """A report's photo for its regulators (never a public media address)."""
    scope = _regulator_scope(request)
    try:
        row = services.get_photo(scope, report_id, photo_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    content_type = "image/png" if row.name.lower().endswith(".png") else "image/jpeg"
    response = HttpResponse(services.read_photo(row), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response
