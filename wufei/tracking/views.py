"""Container pages: record a batch, the scan page, storage inventory, container list and detail.

Views are thin: they take the caller's Scope, call `services`, and render. A WufeiError
becomes a message on the page (errors naming a field are shown next to it); NotFound is a 404.
Importing this module registers the "Containers" section of the organization page (一企一档).
"""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wufei.catalog.models import HAZARD_CHARACTERISTICS, HazardousWaste, TreatmentMethod
from wufei.core import ratelimit
from wufei.core.errors import NotFound, ValidationFailed, WufeiError
from wufei.core.scope import request_scope
from wufei.registry import services as registry_services
from wufei.registry.models import Organization, Site
from wufei.registry.views import OrganizationSection, register_organization_section
from wufei.tracking import codes, life, services
from wufei.tracking.models import ContainerStatus, Packaging, PhysicalForm, ScanKind

PAGE_SIZE = 50
# storage state → the existing badge / row classes of wufei.css
STATE_CLASSES = {"over_limit": "over_limit", "near_limit": "near_limit"}
STATE_LABELS = {
    "ok": gettext_lazy("within the limit"),
    "near_limit": gettext_lazy("near the storage limit"),
    "over_limit": gettext_lazy("over the storage limit"),
}
# which inputs each scan's form shows
SCAN_INPUTS = {
    ScanKind.PACKED: (),
    ScanKind.WEIGHED: ("weight",),
    ScanKind.CODED: (),
    ScanKind.STORED: ("storage_site", "storage_location"),
    ScanKind.REWEIGHED: ("weight",),
    ScanKind.MOVED: ("storage_site", "storage_location"),
    ScanKind.LOADED: ("reference",),
    ScanKind.HANDED_OVER: ("to_organization", "reference"),
    ScanKind.RECEIVED: ("weight_optional", "storage_site", "storage_location", "reference"),
    ScanKind.UTILIZED: ("method", "reference"),
    ScanKind.DISPOSED: ("method", "reference"),
    ScanKind.SELF_UTILIZED: ("method", "site"),
    ScanKind.SELF_DISPOSED: ("method", "site"),
}
METHOD_KIND = {
    ScanKind.UTILIZED: TreatmentMethod.Kind.UTILIZATION, ScanKind.SELF_UTILIZED: TreatmentMethod.Kind.UTILIZATION,
    ScanKind.DISPOSED: TreatmentMethod.Kind.DISPOSAL, ScanKind.SELF_DISPOSED: TreatmentMethod.Kind.DISPOSAL,
}
STEP_CHOICES = [
    (tuple(services.FIVE_STEP_KINDS[:n]), label) for n, label in (
        (5, gettext_lazy("all five: produced, packed, weighed, coded, stored (五即)")),
        (4, gettext_lazy("up to coded (store later)")),
        (3, gettext_lazy("up to weighed")),
        (2, gettext_lazy("up to packed")),
        (1, gettext_lazy("produced only")),
    )
]
RELATION_LABELS = {
    "merged_from": gettext_lazy("merged from"),
    "merged_into": gettext_lazy("merged into"),
    "split_from": gettext_lazy("split from"),
    "split_into": gettext_lazy("split into"),
}
RECORD_FIELDS = ("waste_code", "waste_name", "physical_form", "packaging", "net_weight_tonnes", "volume_litres",
                 "count", "site_id", "storage_site_id", "storage_location", "main_components", "produced_at", "note")


def _not_found_is_404(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def _field_errors(exc: WufeiError) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for error in exc.errors:
        result.setdefault(error.get("field") or "general", []).append(error.get("message", ""))
    return result


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _limit_label(limit) -> str:
    if limit is None:
        return ""
    hours = int(limit.total_seconds() // 3600)
    if hours < 24 * 7:
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return ngettext("%(n)d day", "%(n)d days", limit.days) % {"n": limit.days}


def _decorate(containers):
    for container in containers:
        container.state_class = STATE_CLASSES.get(container.storage_state, "")
        container.state_label = STATE_LABELS.get(container.storage_state, "")
        container.limit_label = _limit_label(getattr(container, "storage_limit", None))
    return containers


def _decorate_rows(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["state_class"] = STATE_CLASSES.get(row["state"], "")
        row["state_label"] = STATE_LABELS.get(row["state"], "")
        row["list_query"] = urlencode({"waste": row["waste_code"], "in_stock": "yes"})
    return rows


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


# --- list ----------------------------------------------------------------------------------------

@login_required
@require_GET
def container_list(request):
    from decimal import Decimal

    from django.db.models import Sum

    from wufei.tracking.models import ContainerOrigin

    scope = request_scope(request)
    filters = {name: request.GET.get(name, "").strip() for name in CONTAINER_FILTERS}
    errors: dict[str, list[str]] = {}
    year = _int(filters["year"])
    if filters["year"] and not (year is not None and 2000 <= year <= 2100):
        errors["year"] = [_("Not a valid year; this filter is ignored.")]
        year = None
    selection = {"q": filters["q"] or None, "waste": filters["waste"] or None, "status": filters["status"] or None,
                 "organization": _int(filters["organization"]),
                 "in_stock": {"yes": True, "no": False}.get(filters["in_stock"]),
                 "region": filters["region"] or None, "holder_region": filters["holder_region"] or None,
                 "year": year, "stream": filters["stream"] or None, "origin": filters["origin"] or None}
    try:
        containers = services.containers_for(scope, **selection)
    except WufeiError as exc:
        messages.error(request, exc.message)
        errors.update(_field_errors(exc))
        containers = services.containers_for(scope).none()
    for message in errors.get("year", []):
        messages.error(request, message)
    total = containers.aggregate(t=Sum("net_weight_tonnes"))["t"] or 0
    page = Paginator(containers.order_by("-produced_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _decorate(services.annotate_storage(page.object_list))
    return render(request, "tracking/container_list.html", {
        "page": page, "filters": filters, "errors": errors, "statuses": ContainerStatus.choices,
        "streams": STREAM_CHOICES, "origins": ContainerOrigin.choices,
        "total_tonnes": Decimal(str(total)).quantize(Decimal("0.000001")),
        "can_record": bool(services.recording_organizations(scope)),
    })


CONTAINER_FILTERS = ("q", "waste", "status", "organization", "in_stock", "region", "holder_region", "year", "stream",
                     "origin")
STREAM_CHOICES = (("", gettext_lazy("any")), ("hazardous", gettext_lazy("Hazardous waste")),
                  ("medical", gettext_lazy("Medical waste")))


# --- record a batch (五即) ---------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def record(request):
    scope = request_scope(request)
    organizations = services.recording_organizations(scope)
    if not organizations:
        messages.error(request, _("Only the administrators and members of a generator or collector record "
                                  "containers."))
        return redirect("tracking:container_list")
    chosen = _int(request.POST.get("organization") or request.GET.get("organization"))
    organization = organizations[0] if chosen is None else next((o for o in organizations if o.pk == chosen), None)
    if organization is None:
        raise Http404(_("organization not found"))
    sites = list(registry_services.sites_for(scope, organization.pk).filter(is_active=True))
    posted: dict = {}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        posted = {name: request.POST.get(name, "").strip() for name in RECORD_FIELDS}
        posted["steps"] = request.POST.get("steps", "")
        steps = next((value for value, _label in STEP_CHOICES if ",".join(value) == posted["steps"]), None)
        try:
            if steps is None:
                raise ValidationFailed(_("choose the steps to record"),
                                       errors=[{"field": "steps", "message": _("is required")}])
            containers = services.record_batch(
                scope=scope, organization_id=organization.pk, waste_code=posted["waste_code"],
                waste_name=posted["waste_name"], physical_form=posted["physical_form"],
                packaging=posted["packaging"], net_weight_tonnes=posted["net_weight_tonnes"] or None,
                volume_litres=posted["volume_litres"] or None, count=posted["count"] or 1,
                site_id=_int(posted["site_id"]), storage_site_id=_int(posted["storage_site_id"]),
                storage_location=posted["storage_location"], main_components=posted["main_components"],
                produced_at=posted["produced_at"] or None, steps=steps, note=posted["note"])
        except WufeiError as exc:
            messages.error(request, exc.message)
            errors = _field_errors(exc)
            status = exc.status
        else:
            codes_ = [c.code for c in containers]
            messages.success(request, _("Recorded %(n)d containers: %(codes)s") % {
                "n": len(codes_), "codes": ", ".join(codes_[:5]) + (" …" if len(codes_) > 5 else "")})
            if len(containers) == 1:
                return redirect("tracking:container_detail", containers[0].code)
            return redirect(reverse("tracking:container_list") + "?" + urlencode({"organization": organization.pk}))
    return render(request, "tracking/record.html", {
        "organizations": organizations, "organization": organization,
        "production_sites": [s for s in sites if s.kind not in services.STORAGE_SITE_KINDS],
        "storage_sites": [s for s in sites if s.kind in services.STORAGE_SITE_KINDS],
        "wastes": HazardousWaste.objects.only("code", "description").order_by("code"),
        "physical_forms": PhysicalForm.choices, "packagings": Packaging.choices,
        "step_choices": [(",".join(value), label) for value, label in STEP_CHOICES],
        "posted": posted, "errors": errors,
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }, status=status)


# --- one container -------------------------------------------------------------------------------

def _action_forms(scope, container) -> list[dict]:
    """One form per scan the caller may record next (life.next_scans), with the inputs it needs."""
    kinds = services.allowed_scans(scope, container)
    if not kinds:
        return []
    sites = list(Site.objects.filter(organization_id=container.holder_id, is_active=True).order_by("code"))
    methods = {kind: list(TreatmentMethod.objects.filter(kind=kind).order_by("code"))
               for kind in set(METHOD_KIND.values())}
    forms = []
    for kind in kinds:
        inputs = SCAN_INPUTS.get(kind, ())
        forms.append({
            "kind": kind, "label": ScanKind(kind).label, "inputs": inputs,
            "storage_sites": [s for s in sites if s.kind in services.STORAGE_SITE_KINDS],
            "sites": [s for s in sites if s.kind in services.SELF_SITE_KINDS.get(kind, ())],
            "methods": methods.get(METHOD_KIND.get(kind), []),
        })
    return forms


def _flatten(nodes: list[dict], key: str, depth: int = 0) -> list[dict]:
    """Lineage trees as rows with a depth, for a table (sources or successors, recursively)."""
    rows = []
    for node in nodes:
        rows.append({**node, "depth": depth, "indent": "↳ " * depth if depth else "",
                     "relation_label": RELATION_LABELS.get(node["relation"], node["relation"]),
                     "status_label": ContainerStatus(node["status"]).label})
        rows += _flatten(node.get(key, []), key, depth + 1)
    return rows


def _container_context(request, code: str) -> dict:
    scope = request_scope(request)
    result = services.trace(scope, code)
    container = _decorate(services.annotate_storage([result["container"]]))[0]
    return {
        "container": container, "events": result["events"],
        "lineage": _flatten(result["sources"], "sources") + _flatten(result["successors"], "successors"),
        "custody": result["custody"],
        "hazards": [(h, HAZARD_CHARACTERISTICS.get(h, h)) for h in container.hazards.split(",") if h],
        "parsed": codes.parse_code(container.code), "actions": _action_forms(scope, container),
        "next_scans": [ScanKind(k).label for k in life.next_scans(container.status)],
        "can_scan": services.can_scan(scope, container),
        "holder_region": container.holder.region,
    }


@login_required
@require_GET
@_not_found_is_404
def container_detail(request, code: str):
    context = _container_context(request, code)
    if context["container"].code != code:
        return redirect("tracking:container_detail", context["container"].code)
    return render(request, "tracking/container_detail.html", {**context, "compact": False})


@login_required
@require_POST
@_not_found_is_404
def container_scan(request, code: str):
    """Record the scan posted from a container's page (or the scan page) and go back there."""
    scope = request_scope(request)
    back = _safe_next(request, reverse("tracking:container_detail", args=[code]))
    kind = request.POST.get("kind", "")
    data = request.POST
    try:
        to_organization_id = None
        if data.get("to_organization", "").strip():
            to_organization_id = services.custody_receiver_id(data["to_organization"])
        services.scan(
            scope=scope, code=code, kind=kind, occurred_at=data.get("occurred_at") or None,
            weight_tonnes=data.get("weight_tonnes") or None,
            site_id=_int(data.get("storage_site_id") or data.get("site_id")),
            to_organization_id=to_organization_id, method_code=data.get("method_code", ""),
            reference=data.get("reference", ""), note=data.get("note", ""),
            storage_location=data.get("storage_location", ""), version=_int(data.get("version")))
    except NotFound:
        raise
    except WufeiError as exc:
        details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in exc.errors if e.get("field"))
        messages.error(request, f"{exc.message}" + (f" ({details})" if details else ""))
    else:
        messages.success(request, _("Recorded: %(scan)s.") % {"scan": ScanKind(kind).label})
    return redirect(back)


# --- the scan page -------------------------------------------------------------------------------

@require_GET
def scan_page(request, code: str):
    """/t/<code>/: what a scanned label opens. Anyone learns whether the code is genuine; those who may
    see the container get its history, lineage and the next scans they may record."""
    scope = request_scope(request)
    if scope.is_authenticated:
        try:
            context = _container_context(request, code)
        except (NotFound, ValidationFailed):
            pass
        else:
            return render(request, "tracking/container_detail.html", {**context, "compact": True})
    visitor = f"user:{scope.user_id}" if scope.is_authenticated else ratelimit.client_address(request)
    if not ratelimit.take("container-verify", visitor, limit=settings.CONTAINER_LOOKUPS_PER_HOUR, window=3600):
        return render(request, "tracking/verify.html", {"verification": {"code": codes.normalize(code)},
                                                        "too_many": True}, status=429)
    verification = services.verify_code(code)
    return render(request, "tracking/verify.html", {"verification": verification},
                  status=200 if verification["genuine"] else 404)


@require_GET
def scan_lookup(request):
    """/tracking/scan/: type (or paste) a code."""
    code = codes.normalize(request.GET.get("code", ""))
    if code:
        return redirect("scan_page", code)
    return render(request, "tracking/scan.html")


# --- inventory ---------------------------------------------------------------------------------

@login_required
@require_GET
@_not_found_is_404
def inventory(request):
    scope = request_scope(request)
    organization_id = _int(request.GET.get("organization"))
    site_id = _int(request.GET.get("site"))
    result = services.inventory(scope, organization_id=organization_id, site_id=site_id)
    _decorate_rows(result["rows"])
    organization = registry_services.get_organization(scope, organization_id) if organization_id else None
    return render(request, "tracking/inventory.html", {"inventory": result, "organization": organization})


# --- the organization page's section --------------------------------------------------------------

def _organization_section(scope, organization: Organization) -> dict:
    summary = services.organization_summary(scope, organization)
    _decorate(summary["latest"])
    _decorate_rows(summary["inventory"]["rows"])
    summary["can_record"] = any(o.pk == organization.pk for o in services.recording_organizations(scope))
    return summary


register_organization_section(OrganizationSection(
    key="containers", title=gettext_lazy("Containers"), template="tracking/_organization_section.html",
    data=_organization_section, order=20,
))
