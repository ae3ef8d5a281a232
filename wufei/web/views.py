import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from wufei.core.errors import WufeiError
from wufei.core.scope import request_scope
from wufei.core.tokens import issue_token, revoke_token

log = logging.getLogger(__name__)


def _main_page(scope) -> dict | None:
    """Where the caller's work starts: the cockpit for regulators (once it exists, else the organizations),
    the workspace for enterprise users, the data requests for departments."""
    candidates = []
    if scope.is_regulator:
        candidates += [("analytics:cockpit", _("Cockpit")), ("registry:organization_list", _("Organizations"))]
    if scope.organization_ids:
        candidates.append(("workspace", _("Workspace")))
    if scope.department_ids:
        candidates.append(("indicators:requests", _("Indicator data requests")))
    for name, label in candidates:
        try:
            return {"url": reverse(name), "label": label}
        except NoReverseMatch:
            continue
    return None


def home(request):
    """Anonymous visitors: the public landing (portal, verification, reports); others: their main page first."""
    scope = request_scope(request)
    return render(request, "web/home.html", {"main_page": _main_page(scope) if scope.is_authenticated else None})


@login_required
def workspace(request):
    """An enterprise user's units: the to-do list and quick actions first, then every registered section."""
    from wufei.registry.models import Organization
    from wufei.registry.views import organization_sections
    from wufei.tracking.services import recording_organizations
    from wufei.web import todo

    scope = request_scope(request)
    organizations = Organization.objects.filter(pk__in=scope.organization_ids).select_related("region").order_by(
        "name", "pk")
    recording_ids = {o.pk for o in recording_organizations(scope)} if scope.writable_organization_ids else set()
    now = timezone.now()
    units = []
    for organization in organizations:
        items = todo.todo_for(scope, organization, now=now)
        units.append({
            "organization": organization, "todo": items, "todo_count": sum(item.count for item in items),
            "overdue_count": sum(1 for item in items if item.overdue),
            "actions": todo.quick_actions(scope, organization, recording_ids=recording_ids, now=now),
            "sections": organization_sections(scope, organization),
        })
    return render(request, "web/workspace.html", {"organizations": units})


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    """Personal API tokens: create (the secret is shown once) and revoke."""
    created = None
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                revoke_token(user=request.user, token_id=int(request.POST["revoke"]))
                messages.success(request, _("Token revoked."))
                return redirect("tokens")
            _token, created = issue_token(user=request.user, name=request.POST.get("name") or _("API token"))
        except (WufeiError, ValueError) as exc:
            messages.error(request, str(exc))
    return render(request, "web/tokens.html", {
        "tokens": request.user.api_tokens.order_by("-created_at"), "created": created,
    })


@require_http_methods(["GET", "HEAD"])
def healthz(request):
    """For the load balancer and the operator: the database and the task queue answer (200), or not (503).
    Names no host, version or error: the logs have those."""
    from django.db import connection

    from wufei.core.jobs import queue_is_reachable

    checks = {"database": "ok", "queue": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        log.exception("health check: the database does not answer")
        checks["database"] = "down"
    if not queue_is_reachable():
        checks["queue"] = "down"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503)


def server_error(request):
    """The 500 page, with the request id the log line carries (so a report can be found)."""
    from django.template import loader

    from wufei.core.middleware import current_request_id

    html = loader.get_template("500.html").render({"request_id": getattr(request, "request_id", "")
                                                   or current_request_id()})
    return HttpResponseServerError(html)


@login_required
def job(request, job_id: int):
    """A background job its starter waits for: how far it is (the page refreshes itself), then its file."""
    from django.http import Http404

    from wufei.core.jobs import job_for

    found = job_for(request.user, job_id)
    if found is None:
        raise Http404(_("job not found"))
    return render(request, "web/job.html", {"job": found, "running": found.status in ("queued", "running")})


@login_required
def job_file(request, job_id: int):
    from django.core.files.storage import default_storage
    from django.http import FileResponse, Http404

    from wufei.core.jobs import job_for

    found = job_for(request.user, job_id)
    result = (found.result or {}) if found else {}
    if found is None or found.status != "done" or not result.get("file"):
        raise Http404(_("job not found"))
    return FileResponse(default_storage.open(result["file"], "rb"), as_attachment=True, filename=result["name"],
                        content_type=result.get("content_type", "application/octet-stream"))
