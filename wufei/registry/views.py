"""Registry pages: the organization list, the one-unit file (一企一档), import and export.

Views are thin: they take the caller's Scope, call `services` / `imports` / `exports`,
and render. A WufeiError becomes a message on the page (and errors naming a field are
shown next to that field); NotFound becomes a 404.

Other apps add sections to the organization page with `register_organization_section`
(containers, manifests, ledgers, alerts …), typically from their AppConfig.ready().
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wufei.core import audit, spreadsheets
from wufei.core.errors import NotFound, ValidationFailed, WufeiError
from wufei.core.models import Job
from wufei.core.parsing import date as parse_date
from wufei.core.scope import ANONYMOUS, Scope, request_scope
from wufei.registry import change_views, exports, imports, services
from wufei.registry.models import Organization, SupervisionClass

PAGE_SIZE = 50
KINDS = {
    "organizations": gettext_lazy("organizations"),
    "sites": gettext_lazy("sites"),
    "vehicles": gettext_lazy("vehicles"),
    "permits": gettext_lazy("operating permits"),
}
FILTERS = ("q", "role", "region", "status", "supervision_class")
ACTION_LABELS = {
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "deleted": gettext_lazy("deleted"),
    "closed": gettext_lazy("closed"),
    "role_added": gettext_lazy("role added"),
    "supervision_class_computed": gettext_lazy("supervision class recomputed"),
    "supervision_class_overridden": gettext_lazy("supervision class set by regulator"),
    "supervision_override_removed": gettext_lazy("regulator's class removed"),
}


SYSTEM_ACTORS = {"system": gettext_lazy("system"), "demo": gettext_lazy("demo data")}


def _field_label(attname: str) -> str:
    """The verbose name of an Organization field from its attribute name (region_id → region)."""
    for field in Organization._meta.concrete_fields:
        if field.attname == attname:
            return str(field.verbose_name)
    return attname


# --- extension point: more sections on the organization page ------------------------------

@dataclass(frozen=True)
class OrganizationSection:
    """A section appended to the organization page.

    `template` (a template name, or a Template object) is included with `section` in its
    context; `section.data` is what `data(scope, organization)` returned (called only when
    the caller sees the unit, so a provider should still use its own scoped selectors).
    """

    key: str  # HTML id / anchor, e.g. "containers"
    title: str  # a lazy translation
    template: object  # template name or Template
    data: Callable[[Scope, Organization], dict] | None = None
    order: int = 100


ORGANIZATION_SECTIONS: dict[str, OrganizationSection] = {}


def register_organization_section(section: OrganizationSection) -> None:
    """Add (or replace, by key) a section shown after the registry's own sections."""
    ORGANIZATION_SECTIONS[section.key] = section


def organization_sections(scope: Scope, organization: Organization) -> list[dict]:
    """The registered sections for one unit, with their data, in order (the 一企一档 page and the workspace)."""
    return [
        {"key": section.key, "title": section.title, "template": section.template,
         "data": section.data(scope, organization) if section.data else {}}
        for section in sorted(ORGANIZATION_SECTIONS.values(), key=lambda s: (s.order, s.key))
    ]


# --- helpers ----------------------------------------------------------------------------------

def _not_found_is_404(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def _field_errors(exc: WufeiError) -> dict[str, list[str]]:
    """{field: [messages]}; errors naming no field go under 'general'."""
    result: dict[str, list[str]] = {}
    for error in exc.errors:
        result.setdefault(error.get("field") or "general", []).append(error.get("message", ""))
    return result


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _role_labels() -> dict[str, str]:
    return {role: Organization._meta.get_field(attr).verbose_name for role, attr in Organization.ROLE_FIELDS.items()}


def _decorate(organization: Organization, role_labels: dict[str, str]) -> Organization:
    organization.role_labels = [role_labels[role] for role in organization.roles]
    organization.effective_class = organization.effective_supervision_class
    organization.effective_class_label = SupervisionClass(organization.effective_supervision_class).label
    return organization


# --- organization list ------------------------------------------------------------------------

@login_required
@require_GET
def organization_list(request):
    scope = request_scope(request)
    filters = {name: request.GET.get(name, "").strip() for name in FILTERS}
    errors: dict[str, list[str]] = {}
    try:
        organizations = services.organizations_for(scope, **{k: v or None for k, v in filters.items()})
    except WufeiError as exc:
        messages.error(request, exc.message)
        errors = _field_errors(exc)
        organizations = Organization.objects.none()
    page = Paginator(organizations.order_by("name", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    role_labels = _role_labels()
    for organization in page.object_list:
        _decorate(organization, role_labels)
    return render(request, "registry/organization_list.html", {
        "page": page,
        "filters": filters,
        "errors": errors,
        "roles": role_labels.items(),
        "statuses": Organization.Status.choices,
        "classes": SupervisionClass.choices,
        "kinds": KINDS.items(),
        "waiting_requests": change_views.waiting_count(scope),
    })


# --- the one-unit file (一企一档) --------------------------------------------------------------

def _render_detail(request, organization_id: int, *, status: int = 200, errors: dict | None = None,
                   posted: dict | None = None):
    scope = request_scope(request)
    file = services.organization_file(scope, organization_id)
    organization = _decorate(file["organization"], _role_labels())
    for vehicle in file["vehicles"]:
        vehicle.validity = services.validity_state(vehicle.transport_permit_valid_until, region=organization.region)
    for permit in file["permits"]:
        permit.validity = services.validity_state(permit.valid_until, region=organization.region)
    sections = organization_sections(scope, organization)
    history = list(audit.history(organization).order_by("-id"))
    for event in history:
        event.action_label = ACTION_LABELS.get(event.action, event.action)
        event.actor_display = SYSTEM_ACTORS.get(event.actor_label, event.actor_label)
        event.changed_fields = [_field_label(name) for name in (event.payload.get("changes") or {})]
    can_edit = Organization.objects.editable_by(scope).filter(pk=organization.pk).exists()
    return render(request, "registry/organization_detail.html", {
        **file,
        "organization": organization,
        "history": history,
        "can_override": scope.covers_region_path(organization.region.path),
        "can_close": can_edit and organization.is_active,
        "classes": SupervisionClass.choices,
        "errors": errors or {},
        "posted": posted or {},
        "sections": sections,
        **change_views.section(scope, organization),
    }, status=status)


@login_required
@require_GET
@_not_found_is_404
def organization_detail(request, organization_id: int):
    return _render_detail(request, organization_id)


@login_required
@require_POST
@_not_found_is_404
def organization_supervision(request, organization_id: int):
    scope = request_scope(request)
    try:
        services.override_supervision_class(
            scope=scope, organization_id=organization_id,
            supervision_class=request.POST.get("supervision_class", ""), reason=request.POST.get("reason", ""),
            version=_int(request.POST.get("version")),
        )
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        return _render_detail(request, organization_id, status=exc.status,
                              errors={"override": _field_errors(exc)}, posted={"override": request.POST})
    messages.success(request, _("Supervision class saved."))
    return redirect("registry:organization_detail", organization_id)


@login_required
@require_POST
@_not_found_is_404
def organization_close(request, organization_id: int):
    scope = request_scope(request)
    try:
        closed_on = None
        if request.POST.get("closed_on", "").strip():
            try:
                closed_on = parse_date()(request.POST["closed_on"])
            except ValueError as exc:
                raise ValidationFailed(str(exc), errors=[{"field": "closed_on", "message": str(exc)}]) from exc
        services.close_organization(scope=scope, organization_id=organization_id,
                                    reason=request.POST.get("reason", ""), closed_on=closed_on,
                                    version=_int(request.POST.get("version")))
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        return _render_detail(request, organization_id, status=exc.status,
                              errors={"close": _field_errors(exc)}, posted={"close": request.POST})
    messages.success(request, _("The organization is closed."))
    return redirect("registry:organization_detail", organization_id)


# --- import and export ----------------------------------------------------------------------

class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=list(KINDS.items()))
    file = forms.FileField(label=gettext_lazy("File (.xlsx or .csv)"))


@login_required
@require_http_methods(["GET", "POST"])
def import_view(request):
    scope = request_scope(request)
    if not scope.is_regulator:
        raise DjangoPermissionDenied(_("Only regulators can import into the registry."))
    rejected = None
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            kind = form.cleaned_data["kind"]
            try:
                content = spreadsheets.read_upload(upload, spreadsheets.limits_for(scope))
                result = imports.import_or_queue(scope=scope, user=request.user, kind=kind, content=content,
                                                 filename=upload.name)
            except WufeiError as exc:
                rejected = exc
                status = exc.status
                messages.error(request, exc.message)
            else:
                if isinstance(result, Job):  # a large file: imported by a background job, followed on its page
                    return redirect("job", job_id=result.pk)
                summary = _("Imported %(kind)s from %(file)s: %(created)d created, %(updated)d updated.")
                messages.success(request, summary % {"kind": KINDS[kind], "file": upload.name,
                                                     "created": result.created, "updated": result.updated})
                return redirect("registry:import")
        else:
            status = 422
    else:
        form = ImportForm()
    return render(request, "registry/import.html", {
        "form": form, "rejected": rejected, "kinds": KINDS.items(),
    }, status=status)


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exports.XLSX_MIME)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def export(request, kind: str):
    try:
        content = exports.export_xlsx(request_scope(request), kind)
    except ValidationFailed as exc:
        raise Http404(exc.message) from exc
    return _xlsx_response(content, f"wufei-{kind}-{timezone.localdate():%Y%m%d}.xlsx")


@login_required
@require_GET
def import_template(request, kind: str):
    """An empty workbook with the import's headers: the export as seen by a scope that sees nothing."""
    if not request_scope(request).is_regulator:
        raise DjangoPermissionDenied(_("Only regulators can import into the registry."))
    try:
        content = exports.export_xlsx(ANONYMOUS, kind)
    except ValidationFailed as exc:
        raise Http404(exc.message) from exc
    return _xlsx_response(content, f"wufei-{kind}-template.xlsx")
