"""Change request pages (变更申请): the unit files from its organization page; the regulator sees the requests
waiting in its region and approves or refuses them on the unit's page. Rules live in registry.changes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from wufei.core.errors import NotFound, WufeiError
from wufei.core.scope import Scope, request_scope
from wufei.registry import changes
from wufei.registry.models import ChangeRequest, Organization, Site

# The fields a unit can request on its page; permits are requested through the API (a permit and its lines).
PAGE_FIELDS = (ChangeRequest.Field.ANNUAL_HAZARDOUS_WASTE_TONNES, ChangeRequest.Field.ROLES,
               ChangeRequest.Field.REGION)


def describe(field: str, value) -> str:
    """A requested or base value in words: tonnes with 3 decimals, role names, region name, permit summary."""
    if value is None:
        return "—"
    if field == ChangeRequest.Field.ANNUAL_HAZARDOUS_WASTE_TONNES:
        return f"{float(value):,.3f} t"
    if field == ChangeRequest.Field.ROLES:
        labels = {role: str(Organization._meta.get_field(attr).verbose_name)
                  for role, attr in Organization.ROLE_FIELDS.items()}
        return pgettext("separator between list items", ", ").join(labels.get(role, role) for role in value)
    if field == ChangeRequest.Field.REGION:
        from wufei.catalog.services import get_region

        try:
            return f"{get_region(value).name} ({value})"
        except WufeiError:
            return str(value)
    if field == ChangeRequest.Field.SITE_KIND:
        return str(dict(Site.Kind.choices).get(value, value))
    lines = "; ".join(f"{line['waste']} {float(line['annual_capacity_tonnes']):,.3f} t/a" for line in value["lines"])
    return f"{value['number']} · {value['valid_from']} – {value['valid_until']} · {lines}"


def section(scope: Scope, organization: Organization) -> dict:
    """What the organization page shows about change requests (empty for callers who do not see them)."""
    rows = list(changes.requests_for(scope, organization_id=organization.pk)[:20])
    for row in rows:
        row.value_text, row.base_text = describe(row.field, row.value), describe(row.field, row.base_value)
    roles = [(role, Organization._meta.get_field(attr).verbose_name, role in organization.roles)
             for role, attr in Organization.ROLE_FIELDS.items()]
    return {"change_requests": rows, "can_request": changes.may_file(scope, organization),
            "can_decide": changes.may_decide(scope, organization), "role_choices": roles,
            "pending_fields": {row.field for row in rows if row.status == ChangeRequest.Status.PENDING},
            "request_fields": [(f.value, f.label) for f in PAGE_FIELDS]}


def _back(organization_id: int):
    return redirect(reverse("registry:organization_detail", args=[organization_id]) + "#change-requests")


@login_required
@require_POST
def file_request(request, organization_id: int):
    scope = request_scope(request)
    field = request.POST.get("field", "")
    value = request.POST.getlist("roles") if field == ChangeRequest.Field.ROLES else request.POST.get("value", "")
    try:
        with transaction.atomic():  # a refused file leaves no request behind
            row = changes.file_request(scope=scope, organization_id=organization_id, field=field, value=value,
                                       reason=request.POST.get("reason", ""))
            if request.FILES.get("file"):
                changes.add_attachment(scope=scope, request_id=row.pk, file=request.FILES["file"])
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except WufeiError as exc:
        details = "; ".join(e.get("message", "") for e in exc.errors)
        messages.error(request, f"{exc.message}{': ' + details if details else ''}")
        return _back(organization_id)
    messages.success(request, _("Change request filed: the regulator decides; the value in force stays until then."))
    return _back(organization_id)


@login_required
@require_POST
def decide(request, request_id: int):
    scope = request_scope(request)
    try:
        row = changes.get_request(scope, request_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    version = int(request.POST["version"]) if request.POST.get("version", "").isdigit() else 0
    reason = request.POST.get("reason", "")
    try:
        if request.POST.get("decision") == "approve":
            changes.approve(scope=scope, request_id=request_id, version=version, reason=reason)
            messages.success(request, _("Change request approved: the change is in force."))
        else:
            changes.refuse(scope=scope, request_id=request_id, version=version, reason=reason)
            messages.success(request, _("Change request refused."))
    except WufeiError as exc:
        messages.error(request, exc.message)
    return _back(row.organization_id)


def waiting_count(scope: Scope) -> int | None:
    """Requests waiting for a regulator's decision (None for callers who do not decide)."""
    if not scope.is_regulator:
        return None
    return changes.requests_for(scope, status=ChangeRequest.Status.PENDING).count()


@login_required
@require_GET
def waiting(request):
    """The requests waiting for the caller's decision (regulators: their region)."""
    scope = request_scope(request)
    if not scope.is_regulator:
        raise DjangoPermissionDenied(_("Change requests are decided by regulators."))
    rows = list(changes.requests_for(scope, status=ChangeRequest.Status.PENDING).order_by("created_at", "pk")[:200])
    for row in rows:
        row.value_text, row.base_text = describe(row.field, row.value), describe(row.field, row.base_value)
    return render(request, "registry/change_requests.html", {"rows": rows})
