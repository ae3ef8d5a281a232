"""Alert pages: the board (filters, counts, closure rate, time to close, an SVG map of open alerts), an
alert with its evidence, history, comments and the loop's actions, the enterprise's upload of its
rectification, the rules in force. Thin: scope, services, render; a WufeiError becomes a message."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from wufei.alerts import services
from wufei.alerts.models import LEVEL_ORDER, AlertAttachment, Level, Status
from wufei.alerts.tracks import svg_projection
from wufei.core.errors import NotFound, WufeiError
from wufei.core.scope import request_scope

PAGE_SIZE = 50
MAP_LIMIT = 2000
LEVEL_COLOURS = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e6c300", "blue": "#1f77b4"}
FILTERS = ("status", "level", "rule", "region", "q")
ACTION_LABELS = {
    "opened": gettext_lazy("opened by the scan"), "verify": gettext_lazy("verification started"),
    "rectify": gettext_lazy("rectification ordered"), "close": gettext_lazy("closed"),
    "false_positive": gettext_lazy("marked a false positive"), "reopen": gettext_lazy("reopened"),
    "auto_closed": gettext_lazy("closed by itself (condition cleared)"), "cleared": gettext_lazy("condition cleared"),
    "attachment_added": gettext_lazy("rectification uploaded"), "upload": gettext_lazy("rectification uploaded"),
    "assigned": gettext_lazy("assigned"), "comment": gettext_lazy("comment"), "updated": gettext_lazy("updated"),
    "facts_changed": gettext_lazy("the facts changed while open"),
}


def _alert_or_404(scope, alert_id):
    try:
        return services.get_alert(scope, alert_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def open_alert_map(alerts) -> dict:
    """SVG circles for open alerts with coordinates (plain coordinates, no map tiles)."""
    rows = list(alerts.filter(status__in=("open", "verifying", "rectifying"), longitude__isnull=False,
                              latitude__isnull=False).values("pk", "level", "entity_label", "longitude",
                                                             "latitude")[:MAP_LIMIT])
    project = svg_projection([(r["longitude"], r["latitude"]) for r in rows])
    rows.sort(key=lambda r: -LEVEL_ORDER.get(r["level"], 9))  # red drawn last, on top
    return {"width": 640, "height": 400, "points": [
        {"id": r["pk"], "x": project(r["longitude"], r["latitude"])[0], "y": project(r["longitude"], r["latitude"])[1],
         "colour": LEVEL_COLOURS.get(r["level"], "#777"), "label": r["entity_label"]} for r in rows]}


@login_required
@require_GET
def board(request):
    scope = request_scope(request)
    filters = {name: (request.GET.get(name) or "").strip() for name in FILTERS}
    try:
        alerts = services.alerts_for(scope, **{k: v or None for k, v in filters.items()})
        stats = services.statistics(scope, **{k: v or None for k, v in filters.items() if k != "q"})
    except WufeiError as exc:
        messages.error(request, exc.message)
        alerts, stats = services.alerts_for(scope), services.statistics(scope)
    paginator = Paginator(alerts.order_by("-opened_at", "-id"), PAGE_SIZE)
    rules = {r.pk: _(r.description) for r in services.rules_for(scope)}
    context = {
        "filters": filters, "page": paginator.get_page(request.GET.get("page")), "stats": stats,
        "levels": Level.choices, "statuses": Status.choices, "rules": sorted(rules.items()),
        "by_level": [(code, label, stats["by_level"].get(code, 0), LEVEL_COLOURS[code]) for code, label
                     in Level.choices],
        "by_rule": sorted(((rules.get(k, k), n) for k, n in stats["by_rule"].items()), key=lambda x: -x[1]),
        "by_region": sorted(stats["by_region"].items(), key=lambda x: -x[1]),
        "map": open_alert_map(alerts), "enterprise": not scope.is_regulator,
    }
    return render(request, "alerts/board.html", context)


@login_required
@require_GET
def alert_detail(request, alert_id: int):
    scope = request_scope(request)
    alert = _alert_or_404(scope, alert_id)
    history = [{**h, "label": ACTION_LABELS.get(h["action"], h["action"])} for h in services.history(alert)]
    comments = list(alert.comments.all())
    for c in comments:
        c.label = ACTION_LABELS.get(c.action, c.action)
    return render(request, "alerts/detail.html", {
        "alert": alert, "history": history, "comments": comments,
        "attachments": list(alert.attachments.all()), "actions": services.available_actions(scope, alert),
        "colour": LEVEL_COLOURS.get(alert.level), "can_comment": services.is_party_of(scope, alert)
        or services.is_regulator_of(scope, alert),
        "evidence": sorted(alert.evidence.items())})


@login_required
@require_POST
def act(request, alert_id: int):
    scope = request_scope(request)
    _alert_or_404(scope, alert_id)
    try:
        version = int(request.POST.get("version") or 0) or None
        deadline = parse_date(request.POST.get("deadline") or "") if request.POST.get("deadline") else None
        services.transition(scope=scope, alert_id=alert_id, action=request.POST.get("action", ""),
                            version=version, comment=request.POST.get("comment", ""), deadline=deadline)
        messages.success(request, _("Saved."))
    except (WufeiError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    return redirect("alerts:detail", alert_id=alert_id)


@login_required
@require_POST
def comment(request, alert_id: int):
    scope = request_scope(request)
    _alert_or_404(scope, alert_id)
    try:
        services.add_comment(scope=scope, alert_id=alert_id, text=request.POST.get("text", ""))
    except WufeiError as exc:
        messages.error(request, exc.message)
    return redirect("alerts:detail", alert_id=alert_id)


@login_required
@require_POST
def upload(request, alert_id: int):
    scope = request_scope(request)
    _alert_or_404(scope, alert_id)
    file = request.FILES.get("file")
    if file is None:
        messages.error(request, _("Choose a file."))
        return redirect("alerts:detail", alert_id=alert_id)
    try:
        services.upload_rectification(scope=scope, alert_id=alert_id, file=file, note=request.POST.get("note", ""))
        messages.success(request, _("Rectification uploaded."))
    except WufeiError as exc:
        messages.error(request, exc.message)
    return redirect("alerts:detail", alert_id=alert_id)


@login_required
@require_GET
def attachment(request, alert_id: int, attachment_id: int):
    alert = _alert_or_404(request_scope(request), alert_id)
    row = AlertAttachment.objects.filter(alert=alert, pk=attachment_id).first()
    if row is None:
        raise Http404
    return FileResponse(row.file.open("rb"), as_attachment=True, filename=row.name)


@login_required
@require_GET
def rule_list(request):
    scope = request_scope(request)
    return render(request, "alerts/rules.html", {"rules": list(services.rules_for(scope)),
                                                 "colours": LEVEL_COLOURS})
