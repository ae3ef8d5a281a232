"""The public portal (/portal/, namespace "portal"): the disclosures the plans require, without login.

Each list is public, paged, searchable, filtered by district and downloadable as CSV:
- key supervised units: registry organizations whose effective supervision class is "key"
  (name, USCC, district, industry; never contacts, addresses or people);
- licensed operators and their operating permits (number, kind, holder, codes, methods, capacity,
  validity, status);
- approval results: cross-province transfer applications that were decided (approved or refused);
- assessment results: the stored evaluations (the snapshots `evaluate_plan(store=True)` writes) of
  the regions' zero-waste-city indicator plans: indicator, target, value, status;
plus manifest verification (a form to `manifests:verify`, with a camera scan where the browser has
BarcodeDetector) and the way to the complaint form and its follow-up.

The selectors below read through the owning apps' selectors with a platform-wide scope (these are
disclosures of the whole installation) and hand the pages only the public columns: a `Disclosure`
names its columns, and rows are built from those columns alone, for the page and the CSV alike.
"""

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from wufei.cases.services import public_regions
from wufei.catalog.models import Region
from wufei.core import spreadsheets
from wufei.core.scope import Scope

PAGE_SIZE = 50
DISCLOSURE = Scope(is_platform_admin=True)  # the whole installation; only public columns leave this module


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _region_path(code: str) -> str | None:
    region = Region.objects.filter(pk=code).first() if code else None
    return region.path if region else None


# --- selectors: querysets and public rows ------------------------------------------------------------

def key_units(*, region_path: str | None, q: str, year: int | None = None):
    from wufei.registry.services import organizations_for

    units = organizations_for(DISCLOSURE, q=q or None, status="active", supervision_class="key")
    if region_path:
        units = units.filter(region__path__startswith=region_path)
    return units.order_by("region_id", "name", "pk")


def key_unit_row(unit) -> dict:
    return {"name": unit.name, "uscc": unit.uscc, "region": unit.region.name,
            "industry": unit.industry_name or unit.industry_code}


def permits(*, region_path: str | None, q: str, year: int | None = None):
    from wufei.registry.services import permits_for

    rows = permits_for(DISCLOSURE).select_related("organization__region").filter(organization__status="active")
    if region_path:
        rows = rows.filter(organization__region__path__startswith=region_path)
    if q:
        rows = rows.filter(Q(number__contains=q) | Q(organization__name__contains=q)
                           | Q(organization__uscc__startswith=q.upper()))
    return rows.order_by("organization__region_id", "organization__name", "number")


def permit_state(permit, today: dt.date) -> str:
    if permit.status != permit.Status.VALID:
        return str(permit.get_status_display())
    if permit.valid_until < today:
        return _("expired")
    if permit.valid_from > today:
        return _("not yet valid")
    return str(permit.get_status_display())


def permit_row(permit) -> dict:
    lines = list(permit.lines.all())
    methods = sorted({m.code for line in lines for m in line.methods.all()})
    return {"number": permit.number, "kind": str(permit.get_kind_display()), "holder": permit.organization.name,
            "uscc": permit.organization.uscc, "region": permit.organization.region.name,
            "codes": " ".join(line.scope_label for line in lines), "methods": " ".join(methods),
            "capacity": _plain(sum((line.annual_capacity_tonnes for line in lines), Decimal(0))),
            "valid_from": _plain(permit.valid_from), "valid_until": _plain(permit.valid_until),
            "status": permit_state(permit, timezone.localdate())}


def approvals(*, region_path: str | None, q: str, year: int | None = None):
    from wufei.manifests.crossprovince import applications_for

    rows = applications_for(DISCLOSURE, status="approved,refused", kind="approval")
    if region_path:
        rows = rows.filter(Q(generator__region__path__startswith=region_path)
                           | Q(receiver__region__path__startswith=region_path))
    if q:
        rows = rows.filter(Q(generator__name__contains=q) | Q(receiver__name__contains=q)
                           | Q(waste_id__startswith=q.strip()) | Q(waste_name__contains=q))
    return rows.order_by("-updated_at", "-pk")


def decision_date(application) -> str:
    for entry in reversed(application.history or []):
        if entry.get("step") == "decision" and entry.get("at"):
            return str(entry["at"])[:10]
    return _plain(application.valid_from)


def approval_row(application) -> dict:
    return {"applicant": application.generator.name, "receiver": application.receiver.name,
            "origin": application.origin_province.name, "destination": application.destination_province.name,
            "code": application.code, "waste": application.waste_name,
            "decision": str(application.get_status_display()), "tonnes": _plain(application.approved_tonnes),
            "valid_from": _plain(application.valid_from), "valid_until": _plain(application.valid_until),
            "decided_on": decision_date(application)}


def evaluations(*, region_path: str | None, q: str, year: int | None = None):
    from wufei.indicators.models import Evaluation

    rows = Evaluation.objects.select_related("row__plan__region", "row__indicator")
    if region_path:
        rows = rows.filter(row__plan__region__path__startswith=region_path)
    if year:
        rows = rows.filter(year=year)
    if q:
        rows = rows.filter(Q(row__name__contains=q) | Q(row__indicator__code__startswith=q))
    return rows.order_by("row__plan__region_id", "-year", "row__plan_id", "row__number")


def evaluation_rows(items) -> list[dict]:
    from wufei.indicators.models import Target
    from wufei.indicators.reports import status_labels

    items = list(items)
    targets = {(t.row_id, t.year): t.text for t in Target.objects.filter(row_id__in={e.row_id for e in items})}
    labels = status_labels()
    rows = []
    for item in items:
        row = item.row
        target = targets.get((row.pk, item.year)) or next(
            (targets[(row.pk, y)] for y in sorted(row.plan.target_years or []) if y >= item.year
             and (row.pk, y) in targets), "")
        value = "" if item.value is None else _plain(round(item.value, row.indicator.decimals))
        rows.append({"region": row.plan.region.name, "year": str(item.year), "indicator": row.name,
                     "unit": row.unit or row.indicator.unit, "target": target, "value": value,
                     "status": labels.get(item.status, item.status)})
    return rows


@dataclass(frozen=True)
class Disclosure:
    slug: str
    title: object
    intro: object
    columns: tuple  # (key, header)
    select: object  # (region_path, q, year) -> queryset
    row: object = None  # item -> dict of public columns
    rows: object = None  # items -> list of dicts (batch)
    with_year: bool = False

    def public_rows(self, items) -> list[dict]:
        built = self.rows(items) if self.rows else [self.row(item) for item in items]
        keys = [key for key, _header in self.columns]
        return [{key: row.get(key, "") for key in keys} for row in built]  # only the declared columns


DISCLOSURES = {
    "key_units": Disclosure(
        "key_units", gettext_lazy("Key supervised units"),
        gettext_lazy("Units under key supervision for solid and hazardous waste, as the registry classes them."),
        (("name", gettext_lazy("Name")), ("uscc", gettext_lazy("USCC")), ("region", gettext_lazy("District")),
         ("industry", gettext_lazy("Industry"))),
        key_units, row=key_unit_row),
    "operators": Disclosure(
        "operators", gettext_lazy("Licensed operators and permits"),
        gettext_lazy("Hazardous waste operating permits: what each holder may collect, utilize or dispose of."),
        (("number", gettext_lazy("Permit number")), ("kind", gettext_lazy("Kind")),
         ("holder", gettext_lazy("Holder")), ("uscc", gettext_lazy("USCC")), ("region", gettext_lazy("District")),
         ("codes", gettext_lazy("Codes / categories")), ("methods", gettext_lazy("Methods")),
         ("capacity", gettext_lazy("Annual capacity (t/a)")), ("valid_from", gettext_lazy("Valid from")),
         ("valid_until", gettext_lazy("Valid until")), ("status", gettext_lazy("Status"))),
        permits, row=permit_row),
    "approvals": Disclosure(
        "approvals", gettext_lazy("Cross-province transfer approvals"),
        gettext_lazy("Decided applications to transfer hazardous waste across provinces."),
        (("applicant", gettext_lazy("Applicant")), ("receiver", gettext_lazy("Receiver")),
         ("origin", gettext_lazy("Province of origin")), ("destination", gettext_lazy("Destination province")),
         ("code", gettext_lazy("Waste code")), ("waste", gettext_lazy("Waste")),
         ("decision", gettext_lazy("Decision")), ("tonnes", gettext_lazy("Approved (t)")),
         ("valid_from", gettext_lazy("Valid from")), ("valid_until", gettext_lazy("Valid until")),
         ("decided_on", gettext_lazy("Decided on"))),
        approvals, row=approval_row),
    "assessments": Disclosure(
        "assessments", gettext_lazy("Zero-waste city assessment results"),
        gettext_lazy("The evaluated zero-waste city indicators of each district plan, per year."),
        (("region", gettext_lazy("Region")), ("year", gettext_lazy("Year")),
         ("indicator", gettext_lazy("Indicator")), ("unit", gettext_lazy("Unit")),
         ("target", gettext_lazy("Target")), ("value", gettext_lazy("Value")),
         ("status", gettext_lazy("Status"))),
        evaluations, rows=evaluation_rows, with_year=True),
}


# --- pages ---------------------------------------------------------------------------------------------

def _public(response):
    response["X-Robots-Tag"] = "noarchive"
    return response


@require_GET
def index(request):
    return _public(render(request, "web/portal/index.html", {"disclosures": DISCLOSURES.values()}))


def _year(raw: str) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and 1990 <= int(raw) <= 2100 else None


def disclosure(request, slug: str):
    spec = DISCLOSURES.get(slug)
    if spec is None:
        raise Http404
    filters = {"q": (request.GET.get("q") or "").strip()[:100], "region": (request.GET.get("region") or "").strip(),
               "year": (request.GET.get("year") or "").strip()}
    regions = public_regions()
    path = _region_path(filters["region"]) if filters["region"] else None
    if filters["region"] and path is None:
        path = "/-/"  # an unknown region matches nothing
    items = spec.select(region_path=path, q=filters["q"], year=_year(filters["year"]) if spec.with_year else None)
    if request.GET.get("format") == "csv":
        return _csv(spec, items)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = spec.public_rows(page.object_list)
    return _public(render(request, "web/portal/list.html", {
        "spec": spec, "filters": filters, "regions": regions, "page": page, "count": page.paginator.count,
        "rows": [[row[key] for key, _header in spec.columns] for row in rows],
        "headers": [header for _key, header in spec.columns]}))


def _csv(spec: Disclosure, items) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="wufei-{spec.slug}-{timezone.localdate():%Y%m%d}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 with a BOM
    writer = csv.writer(response)
    writer.writerow(spreadsheets.csv_row([str(header) for _key, header in spec.columns]))
    chunk = 2000  # rows are built a chunk at a time (prefetches and targets per chunk)
    total = items.count()
    for start in range(0, total, chunk):
        for row in spec.public_rows(items[start:start + chunk]):
            writer.writerow(spreadsheets.csv_row([row[key] for key, _header in spec.columns]))
    return _public(response)


@require_GET
def key_units_page(request):
    return disclosure(request, "key_units")


@require_GET
def operators_page(request):
    return disclosure(request, "operators")


@require_GET
def approvals_page(request):
    return disclosure(request, "approvals")


@require_GET
def assessments_page(request):
    return disclosure(request, "assessments")


@require_GET
def verify(request):
    """Manifest verification: the number form of `manifests:verify`, and a camera scan where possible."""
    return _public(render(request, "web/portal/verify.html", {}))
