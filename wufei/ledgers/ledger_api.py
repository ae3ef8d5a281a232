"""Hazardous waste ledger API (derived from scan events): months, years, container lines, mass balance, export.

Thin: parse, call the ledger modules (selectors, containers, balance, export, compute) with the caller's scope,
shape the answer. An organization the caller cannot see is 404 on every endpoint; rebuilding needs a regulator of
its region or one of its writers (403 for its readers).
"""

import datetime as dt
from decimal import Decimal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from wufei.core.api import scope_of
from wufei.core.errors import ValidationFailed
from wufei.core.inputs import Id, Month, Year
from wufei.ledgers import balance, compute, containers, export, selectors

router = Router(tags=["ledgers"])


class OrganizationRef(Schema):
    id: int
    uscc: str
    name: str


class LedgerMonthOut(Schema):
    waste: str
    month: int
    opening_stock: Decimal
    generated: Decimal
    received_in: Decimal
    stored_in: Decimal
    stored_out: Decimal
    self_utilized: Decimal
    self_disposed: Decimal
    utilized: Decimal
    disposed: Decimal
    transferred_out: Decimal
    closing_stock: Decimal
    containers: int


class YearSummaryOut(Schema):
    waste: str
    category: str
    description: str
    opening_stock: Decimal
    generated: Decimal
    received_in: Decimal
    stored_in: Decimal
    stored_out: Decimal
    self_utilized: Decimal
    self_disposed: Decimal
    utilized: Decimal
    disposed: Decimal
    transferred_out: Decimal
    closing_stock: Decimal
    containers: int


class LedgerOut(Schema):
    organization: OrganizationRef
    year: int
    built_at: dt.datetime | None
    months: list[LedgerMonthOut]
    year_summary: list[YearSummaryOut]


class LedgerLineOut(Schema):
    """One line of an HJ 1259 table; which fields a table fills is listed in export.SHEETS."""

    event_id: int
    batch_code: str
    time: dt.datetime
    waste_name: str
    category: str
    waste_code: str
    quantity: Decimal
    unit: str
    container_code: str
    packaging: str
    container_count: int
    handler: str
    facility_code: str | None = None
    destination: str | None = None
    destination_time: dt.datetime | None = None
    location: str | None = None
    source: str | None = None
    generator: str | None = None
    reference: str | None = None
    mode: str | None = None
    method: str | None = None
    manifest: str | None = None
    receiver: str | None = None
    received_at: dt.datetime | None = None
    received_quantity: Decimal | None = None


class ContainerLedgerOut(Schema):
    organization: OrganizationRef
    year: int
    month: int | None
    tables: dict[str, list[LedgerLineOut]]


class BalanceRecordOut(Schema):
    type: str
    container: str
    event_id: int | None
    event_kind: str
    occurred_at: dt.datetime | None
    amount: Decimal | None
    message: str


class BalanceCodeOut(Schema):
    waste: str
    category: str
    description: str
    opening_stock: Decimal
    generated: Decimal
    received_in: Decimal
    transferred_out: Decimal
    self_utilized: Decimal
    self_disposed: Decimal
    utilized: Decimal
    disposed: Decimal
    expected_closing: Decimal
    actual_stock: Decimal
    difference: Decimal
    balanced: bool
    records: list[BalanceRecordOut]


class MassBalanceOut(Schema):
    organization: OrganizationRef
    year: int
    as_of: dt.datetime
    ledger_current: bool
    balanced: bool
    codes: list[BalanceCodeOut]


class RebuildOut(Schema):
    organization: OrganizationRef
    year: int
    rows: int


def _ref(organization) -> dict:
    return {"id": organization.pk, "uscc": organization.uscc, "name": organization.name}


@router.get("/ledgers/{organization_id}/{year}", response=LedgerOut)
def get_ledger(request, organization_id: Id, year: Year):
    """The monthly ledger per waste code and the year's summary, as last built."""
    scope = scope_of(request)
    organization = selectors.organization_for(scope, organization_id)
    months = list(selectors.ledger_months(scope, organization.pk, year))
    return {
        "organization": _ref(organization), "year": year,
        "built_at": max((m.built_at for m in months), default=None),
        "months": [{"waste": m.waste_id, "month": m.month, **{name: getattr(m, name) for name in compute.VALUE_FIELDS}}
                   for m in months],
        "year_summary": selectors.summarize_year(months),
    }


@router.get("/ledgers/{organization_id}/{year}/containers", response=ContainerLedgerOut)
def get_container_ledger(request, organization_id: Id, year: Year, table: str | None = None,
                         month: Month | None = None):
    """The per-container lines (HJ 1259 tables), optionally one table and / or one month."""
    result = containers.container_ledger(scope_of(request), organization_id, year, month=month)
    tables = result["tables"]
    if table is not None:
        if table not in tables:
            raise ValidationFailed(_("unknown ledger table"), errors=[
                {"field": "table",
                 "message": _("is not one of: %(options)s") % {"options": ", ".join(containers.TABLES)}}])
        tables = {table: tables[table]}
    return {"organization": _ref(result["organization"]), "year": result["year"], "month": month, "tables": tables}


@router.get("/ledgers/{organization_id}/{year}/mass-balance", response=MassBalanceOut)
def get_mass_balance(request, organization_id: Id, year: Year):
    """Opening + generated + received − transferred − self-processed against the stock, with the gap records."""
    result = balance.mass_balance(scope_of(request), organization_id, year)
    return {**result, "organization": _ref(result["organization"])}


@router.get("/ledgers/{organization_id}/{year}/export.xlsx")
def export_ledger(request, organization_id: Id, year: Year):
    """The year's ledger as .xlsx in the HJ 1259 table layout."""
    content = export.export_ledger_xlsx(scope_of(request), organization_id, year)
    response = HttpResponse(content, content_type=export.XLSX_MIME)
    response["Content-Disposition"] = f'attachment; filename="ledger-{organization_id}-{year}.xlsx"'
    return response


@router.post("/ledgers/{organization_id}/{year}/rebuild", response=RebuildOut)
def rebuild(request, organization_id: Id, year: Year):
    """Rebuild the year's ledger from the scan events (regulators of the unit's region and its writers)."""
    scope = scope_of(request)
    rows = compute.rebuild_ledger(scope=scope, organization_id=organization_id, year=year)
    return {"organization": _ref(selectors.organization_for(scope, organization_id)), "year": year, "rows": rows}
