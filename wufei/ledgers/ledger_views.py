"""Ledger pages (and the ledger section of the organization page).

Thin: the caller's Scope, the ledger modules, render. An organization the caller cannot
see is a 404; rebuilding is for regulators of its region and its writers (403 otherwise).
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from wufei.core.errors import NotFound, PermissionDenied, ValidationFailed
from wufei.core.scope import request_scope
from wufei.ledgers import compute, containers, export, selectors
from wufei.ledgers.balance import mass_balance
from wufei.registry.views import OrganizationSection, register_organization_section

RECORD_LABELS = {
    "reweigh": gettext_lazy("weight adjustment"),
    "repackaging": gettext_lazy("merge / split"),
    "status_contradiction": gettext_lazy("status contradicts events"),
    "unweighed": gettext_lazy("never weighed"),
    "not_received": gettext_lazy("handed over, not received"),
    "received_weight": gettext_lazy("weight at receipt differs"),
    "carried": gettext_lazy("carried from before the year"),
    "unexplained": gettext_lazy("unexplained"),
}
TABLE_LABELS = {
    "generation": gettext_lazy("Generation (产生环节)"),
    "storage_in": gettext_lazy("Into storage (入库环节)"),
    "storage_out": gettext_lazy("Out of storage (出库环节)"),
    "self_processing": gettext_lazy("Own utilization / disposal (自行利用/处置)"),
    "entrusted": gettext_lazy("Entrusted utilization / disposal (委外利用/处置)"),
    "received": gettext_lazy("Received (接收)"),
}


def current_year() -> int:
    return timezone.localdate().year


def _pages(view):
    """NotFound → 404, a refused write → 403, a bad year → 404."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (NotFound, ValidationFailed) as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper


@login_required
@require_GET
@_pages
def ledger_current(request, organization_id: int):
    return redirect("ledgers:ledger", organization_id, current_year())


@login_required
@require_GET
@_pages
def ledger_page(request, organization_id: int, year: int):
    scope = request_scope(request)
    organization = selectors.organization_for(scope, organization_id)
    months = list(selectors.ledger_months(scope, organization.pk, year))
    summary = selectors.summarize_year(months)
    by_code: dict[str, list] = {}
    for row in months:
        by_code.setdefault(row.waste_id, []).append(row)
    balance = mass_balance(scope, organization.pk, year)
    for code in balance["codes"]:
        for record in code["records"]:
            record["label"] = RECORD_LABELS.get(record["type"], record["type"])
    return render(request, "ledgers/ledger_detail.html", {
        "organization": organization,
        "year": year,
        "summary": summary,
        "monthly": [{"waste": code, "description": rows[0].waste.description, "rows": rows}
                    for code, rows in by_code.items()],
        "built_at": max((m.built_at for m in months), default=None),
        "balance": balance,
        "tables": [TABLE_LABELS[key] for key in containers.TABLES],
        "can_rebuild": compute.can_rebuild(scope, organization),
        "previous_year": year - 1,
        "next_year": year + 1 if year < current_year() else None,
    })


@login_required
@require_GET
@_pages
def ledger_export(request, organization_id: int, year: int):
    content = export.export_ledger_xlsx(request_scope(request), organization_id, year)
    response = HttpResponse(content, content_type=export.XLSX_MIME)
    response["Content-Disposition"] = f'attachment; filename="ledger-{organization_id}-{year}.xlsx"'
    return response


@login_required
@require_POST
@_pages
def ledger_rebuild(request, organization_id: int, year: int):
    rows = compute.rebuild_ledger(scope=request_scope(request), organization_id=organization_id, year=year)
    messages.success(request, _("Ledger rebuilt from the scan events: %(rows)d monthly rows.") % {"rows": rows})
    return redirect("ledgers:ledger", organization_id, year)


# --- the ledger section of the organization page (一企一档) -----------------------------------------

def organization_section(scope, organization) -> dict:
    year = current_year()
    summary = selectors.ledger_year(scope, organization.pk, year)
    for code in summary:
        code["processed"] = code["self_utilized"] + code["self_disposed"] + code["utilized"] + code["disposed"]
    return {"year": year, "summary": summary, "url": reverse("ledgers:ledger", args=[organization.pk, year])}


register_organization_section(OrganizationSection(
    key="ledger", title=gettext_lazy("Hazardous waste ledger"), template="ledgers/ledger_section.html",
    data=organization_section, order=40))

urlpatterns = [
    path("<int:organization_id>/", ledger_current, name="ledger_current"),
    path("<int:organization_id>/<int:year>/", ledger_page, name="ledger"),
    path("<int:organization_id>/<int:year>/export.xlsx", ledger_export, name="ledger_export"),
    path("<int:organization_id>/<int:year>/rebuild/", ledger_rebuild, name="ledger_rebuild"),
]
