"""The general industrial solid waste monthly e-ledger (一般工业固体废物电子月台账).

Rules as implemented
- Who must keep it (`required_units`): units whose general industrial solid waste generation of
  the previous year, summed from their SolidWasteMonth rows, is at least the parameter
  `solid_waste.monthly_ledger_min_annual_tonnes` (default 100 t/a, 巴南区实施方案 L165 / task 76)
  for the unit's region → "required". Below the line with all 12 months recorded → "not required".
  No months, or fewer than 12 and below the line → "unknown" (the regulator decides; the plans'
  other criterion, 规模以上 enterprises, is not data the platform holds).
- A month (one unit, one code, one calendar month) is saved only if
  opening stock + generated = utilized in-house + entrusted for utilization + disposed in-house
  + entrusted for disposal + closing stock, exactly to the 0.000001 t (the quantities' precision).
  Every quantity is ≥ 0. The opening stock must equal the previous month's closing stock when
  that month is recorded (December of the year before for January). Entrusted quantities need a
  receiver organization (active, registered, another unit). A month that has not begun cannot be
  recorded.
- Codes: the SWnn codes of the catalog (GeneralSolidWasteCode; marked unverified there), or a
  code of the 2024 《固体废物分类与代码目录》 structure NNN-NNN-Sxx with xx in the industrial range
  S01–S59 except S08.
- Import (.xlsx / .csv): the whole file is checked first, including the opening-stock chain
  across the file's own rows; every error is reported by row and column; nothing is written
  unless every row passes, and then all rows are written in one transaction.
"""

import datetime as dt
import re
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wufei.catalog.models import GeneralSolidWasteCode
from wufei.core import audit, import_jobs, parameters, spreadsheets
from wufei.core.errors import NotFound, WufeiError
from wufei.core.locks import lock_rows
from wufei.core.parsing import FieldSpec, clean, text
from wufei.core.scope import Scope
from wufei.ledgers.models import SolidWasteMonth
from wufei.ledgers.plans import check_version, find_organization, plain, raise_errors, require_unit_writer
from wufei.registry import fields as registry_fields
from wufei.registry import imports
from wufei.registry import services as registry
from wufei.registry.models import Organization

ZERO = Decimal(0)
QUANTITIES = ("opening_stock", "generated", "self_utilized", "entrusted_utilization", "self_disposed",
              "entrusted_disposal", "closing_stock")
INTO = ("opening_stock", "generated")
OUT_OF = ("self_utilized", "entrusted_utilization", "self_disposed", "entrusted_disposal", "closing_stock")
LABELS = {
    "opening_stock": gettext_lazy("opening stock"),
    "generated": gettext_lazy("generated"),
    "self_utilized": gettext_lazy("utilized in-house"),
    "entrusted_utilization": gettext_lazy("entrusted for utilization"),
    "self_disposed": gettext_lazy("disposed in-house"),
    "entrusted_disposal": gettext_lazy("entrusted for disposal"),
    "closing_stock": gettext_lazy("closing stock"),
}
INDUSTRIAL_CODE = re.compile(r"^\d{3}-\d{3}-S(\d{2})$")
CATALOG_CODE = re.compile(r"^SW\d{2}$")


def integer(minimum: int, maximum: int):
    def parse(value):
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError as exc:
            raise ValueError(_("%(value)s is not a whole number") % {"value": value}) from exc
        if not number.is_finite() or number != number.to_integral():
            raise ValueError(_("%(value)s is not a whole number") % {"value": value})
        if not minimum <= number <= maximum:
            raise ValueError(_("must be between %(min)d and %(max)d") % {"min": minimum, "max": maximum})
        return int(number)

    return parse


MONTH = {
    "opening_stock": FieldSpec(registry_fields.tonnes, label="期初贮存量"),
    "generated": FieldSpec(registry_fields.tonnes, label="产生量"),
    "self_utilized": FieldSpec(registry_fields.tonnes, label="自行利用量"),
    "entrusted_utilization": FieldSpec(registry_fields.tonnes, label="委托利用量"),
    "self_disposed": FieldSpec(registry_fields.tonnes, label="自行处置量"),
    "entrusted_disposal": FieldSpec(registry_fields.tonnes, label="委托处置量"),
    "closing_stock": FieldSpec(registry_fields.tonnes, label="期末贮存量"),
    "name": FieldSpec(text(100), label="名称"),
    "receiver": FieldSpec(text(40), label="接收单位统一社会信用代码"),
}

IMPORT_FIELDS = {
    "organization": FieldSpec(registry_fields.uscc, required=True, label="单位统一社会信用代码"),
    "year": FieldSpec(integer(2000, 2100), required=True, label="年份"),
    "month": FieldSpec(integer(1, 12), required=True, label="月份"),
    "code": FieldSpec(text(20), required=True, label="固体废物代码"),
    **MONTH,
}
IMPORT_SPEC = imports.ImportSpec(IMPORT_FIELDS, ("organization", "code", "year", "month"))


# --- codes ---------------------------------------------------------------------------------

def catalog_codes() -> dict[str, str]:
    return {code: name for code, name in GeneralSolidWasteCode.objects.values_list("code", "name")
            if CATALOG_CODE.match(code)}


def check_code(value, codes: dict[str, str] | None = None) -> tuple[str, str]:
    """(code, catalog name) of a general industrial solid waste code; ValueError naming the rule otherwise."""
    raw = str(value or "").strip().upper()
    match = INDUSTRIAL_CODE.match(raw)
    if match:
        number = int(match.group(1))
        if 1 <= number <= 59 and number != 8:
            return raw, ""
        raise ValueError(_("%(code)s: S%(n)02d is not a general industrial solid waste category "
                           "(S01–S59 except S08)") % {"code": raw, "n": number})
    codes = catalog_codes() if codes is None else codes
    if raw in codes:
        return raw, codes[raw]
    raise ValueError(_("%(code)s is not a general industrial solid waste code (SWnn of the catalog, or "
                       "NNN-NNN-Sxx with xx in S01–S59 except S08)") % {"code": raw or "—"})


# --- selectors -----------------------------------------------------------------------------

def months_for(scope: Scope, *, organization_id: int | None = None, year: int | None = None,
               code: str | None = None):
    months = SolidWasteMonth.objects.visible_to(scope).select_related("organization", "receiver")
    if organization_id:
        months = months.filter(organization_id=organization_id)
    if year:
        months = months.filter(year=year)
    if code:
        months = months.filter(code=code.strip().upper())
    return months


def _previous(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def due_months(year: int, today: dt.date | None = None) -> list[int]:
    """Months of `year` that are over (all 12 for a past year, none for a future one)."""
    today = today or timezone.localdate()
    if year < today.year:
        return list(range(1, 13))
    if year > today.year:
        return []
    return list(range(1, today.month))


def yearly_summary(scope: Scope, *, organization_id: int, year: int, today: dt.date | None = None) -> dict:
    """Per code: months recorded and missing, opening / closing stock, the year's sums, breaks in the stock chain."""
    organization = registry.get_organization(scope, organization_id)
    rows = list(months_for(scope, organization_id=organization.pk, year=year).order_by("code", "month"))
    previous_december = {m.code: m for m in SolidWasteMonth.objects.filter(
        organization=organization, year=year - 1, month=12)}
    due = due_months(year, today)
    codes: dict[str, dict] = {}
    for row in rows:
        entry = codes.get(row.code)
        if entry is None:
            entry = codes[row.code] = {"code": row.code, "name": row.name, "months": [], "breaks": [],
                                       "opening_stock": row.opening_stock, "closing_stock": ZERO,
                                       **{field: ZERO for field in OUT_OF[:-1]}, "generated": ZERO, "_last": None}
        last = entry["_last"] or previous_december.get(row.code)
        if last is not None and (last.year, last.month) == _previous(year, row.month) \
                and last.closing_stock != row.opening_stock:
            entry["breaks"].append({"month": row.month, "previous_closing": last.closing_stock,
                                    "opening": row.opening_stock})
        entry["months"].append(row.month)
        entry["generated"] += row.generated
        for field in OUT_OF[:-1]:
            entry[field] += getattr(row, field)
        entry["closing_stock"] = row.closing_stock
        entry["name"] = entry["name"] or row.name
        entry["_last"] = row
    result = []
    for entry in codes.values():
        entry.pop("_last")
        entry["missing"] = [m for m in due if m not in entry["months"]]
        utilized = entry["self_utilized"] + entry["entrusted_utilization"]
        entry["utilization_rate"] = (utilized / entry["generated"] * 100).quantize(Decimal("0.01")) \
            if entry["generated"] else None
        result.append(entry)
    filled = sorted({row.month for row in rows})
    return {"organization": organization, "year": year, "codes": result, "months_filled": filled,
            "months_missing": [m for m in due if m not in filled],
            "totals": {field: sum((e[field] for e in result), ZERO) for field in ("generated", *OUT_OF[:-1])}}


def required_units(scope: Scope, *, year: int, include_not_required: bool = False) -> list[dict]:
    """Units that must keep the monthly e-ledger in `year`, judged on the previous year's generation.

    Each entry: organization, previous_year_tonnes (None when nothing is recorded), months_recorded,
    threshold and status ('required', 'unknown' or 'not_required'; see the module's rules).
    """
    units = registry.organizations_for(scope, role="generator", status="active")
    organizations = {o.pk: o for o in units}
    totals = {row["organization_id"]: row for row in SolidWasteMonth.objects.filter(
        organization__in=units.values("pk"), year=year - 1).values("organization_id").annotate(
        total=Sum("generated"), months=Count("month", distinct=True))}
    thresholds: dict[str, Decimal] = {}
    result = []
    for organization in organizations.values():
        region = organization.region_id
        if region not in thresholds:
            thresholds[region] = parameters.get_decimal("solid_waste.monthly_ledger_min_annual_tonnes", region)
        row = totals.get(organization.pk)
        entry = _duty(organization, row["total"] if row else None, row["months"] if row else 0, thresholds[region])
        if entry["status"] != "not_required" or include_not_required:
            result.append(entry)
    order = {"required": 0, "unknown": 1, "not_required": 2}
    return sorted(result, key=lambda e: (order[e["status"]], e["organization"].name, e["organization"].pk))


def ledger_duty(organization: Organization, *, year: int) -> dict:
    """`required_units`' judgement for one unit."""
    row = SolidWasteMonth.objects.filter(organization=organization, year=year - 1).aggregate(
        total=Sum("generated"), months=Count("month", distinct=True))
    threshold = parameters.get_decimal("solid_waste.monthly_ledger_min_annual_tonnes", organization.region_id)
    return _duty(organization, row["total"], row["months"] or 0, threshold)


def _duty(organization, tonnes, months: int, threshold: Decimal) -> dict:
    if tonnes is not None and tonnes >= threshold:
        status = "required"
    elif tonnes is not None and months >= 12:
        status = "not_required"
    else:
        status = "unknown"
    return {"organization": organization, "previous_year_tonnes": tonnes, "months_recorded": months,
            "threshold": threshold, "status": status}


# --- checking one month --------------------------------------------------------------------

def _sum_text(fields, values) -> str:
    return " + ".join(f"{LABELS[f]} {plain(values[f])} t" for f in fields)


def check_month(organization: Organization, *, year, month, code, values: dict, today: dt.date | None = None,
                codes: dict[str, str] | None = None) -> tuple[dict, list[dict]]:
    """Parse and check one month (not the opening-stock chain); return (values, errors naming fields)."""
    errors = []
    try:
        year = integer(2000, 2100)(year)
        month = integer(1, 12)(month)
    except ValueError as exc:
        return {}, [{"field": "month", "message": str(exc)}]
    today = today or timezone.localdate()
    if (year, month) > (today.year, today.month):
        errors.append({"field": "month", "message": _("%(y)d-%(m)02d has not begun") % {"y": year, "m": month}})
    try:
        code, catalog_name = check_code(code, codes)
    except ValueError as exc:
        errors.append({"field": "code", "message": str(exc)})
        code, catalog_name = str(code or "").strip().upper(), ""
    cleaned, field_errors = clean(MONTH, values)
    errors += field_errors
    for field in QUANTITIES:
        if cleaned.get(field) is None:
            cleaned[field] = ZERO
    cleaned.update(year=year, month=month, code=code, name=cleaned.get("name") or catalog_name)
    if not field_errors:
        into = sum((cleaned[f] for f in INTO), ZERO)
        out_of = sum((cleaned[f] for f in OUT_OF), ZERO)
        if into != out_of:
            errors.append({
                "field": "balance", "code": "month_unbalanced", "left": plain(into), "right": plain(out_of),
                "message": _("%(code)s %(y)d-%(m)02d does not balance: %(left_terms)s = %(left)s t, but "
                             "%(right_terms)s = %(right)s t (difference %(diff)s t)")
                % {"code": code, "y": year, "m": month, "left_terms": _sum_text(INTO, cleaned), "left": plain(into),
                   "right_terms": _sum_text(OUT_OF, cleaned), "right": plain(out_of), "diff": plain(into - out_of)}})
    receiver = None
    if cleaned.get("receiver"):
        receiver = find_organization(cleaned["receiver"])
        if receiver is None:
            errors.append({"field": "receiver", "message": _("no organization %(value)s is registered")
                           % {"value": cleaned["receiver"]}})
        elif receiver.pk == organization.pk:
            errors.append({"field": "receiver", "message": _("the receiver must be another organization")})
        else:
            try:
                registry.ensure_usable(receiver)
            except WufeiError as exc:
                errors.append({"field": "receiver", "message": exc.message})
    elif not field_errors and (cleaned["entrusted_utilization"] or cleaned["entrusted_disposal"]):
        errors.append({"field": "receiver", "code": "receiver_required",
                       "message": _("entrusted utilization or disposal needs the receiving organization")})
    cleaned["receiver"] = receiver
    return cleaned, errors


def opening_error(opening: Decimal, previous: SolidWasteMonth | dict | None) -> dict | None:
    """An error when the opening stock differs from the recorded closing stock of the month before."""
    if previous is None:
        return None
    closing = previous["closing_stock"] if isinstance(previous, dict) else previous.closing_stock
    y, m = (previous["year"], previous["month"]) if isinstance(previous, dict) else (previous.year, previous.month)
    if closing == opening:
        return None
    return {"field": "opening_stock", "code": "opening_stock_mismatch", "previous_closing": plain(closing),
            "message": _("the opening stock %(opening)s t differs from the closing stock of %(y)d-%(m)02d "
                         "(%(closing)s t)") % {"opening": plain(opening), "y": y, "m": m, "closing": plain(closing)}}


def _writable_organization(scope: Scope, organization_id: int) -> Organization:
    organization = registry.get_organization(scope, organization_id)
    require_unit_writer(scope, organization, _("keep the solid waste e-ledger"))
    return organization


@transaction.atomic
def save_month(*, scope: Scope, organization_id: int, year: int, month: int, code: str, values: dict,
               version: int | None = None) -> SolidWasteMonth:
    """Create or replace one month of one code; refused (nothing saved) unless it balances and chains on."""
    organization = _writable_organization(scope, organization_id)
    lock_rows(Organization.objects).filter(pk=organization.pk).first()  # serializes the unit's months
    cleaned, errors = check_month(organization, year=year, month=month, code=code, values=values)
    if not any(e["field"] in ("month", "code") for e in errors):
        previous_year, previous_month = _previous(cleaned["year"], cleaned["month"])
        previous = SolidWasteMonth.objects.filter(organization=organization, code=cleaned["code"],
                                                  year=previous_year, month=previous_month).first()
        error = opening_error(cleaned["opening_stock"], previous)
        if error:
            errors.append(error)
    if errors:
        raise_errors(_("the month was not saved"), errors)
    row = lock_rows(SolidWasteMonth.objects).filter(
        organization=organization, code=cleaned["code"], year=cleaned["year"], month=cleaned["month"]).first()
    if row is None:
        row = SolidWasteMonth(organization=organization, code=cleaned["code"], year=cleaned["year"],
                              month=cleaned["month"])
    elif version is not None:
        check_version(row, version)
    for field in (*QUANTITIES, "name", "receiver"):
        setattr(row, field, cleaned[field])
    row.save()
    return row


def get_month(scope: Scope, *, organization_id: int, year: int, month: int, code: str) -> SolidWasteMonth:
    row = months_for(scope, organization_id=organization_id, year=year, code=code).filter(month=month).first()
    if row is None:
        raise NotFound(_("no e-ledger month recorded"))
    return row


# --- import ------------------------------------------------------------------------------

def _column(row: imports.Row, field: str) -> str:
    return row.columns.get("closing_stock" if field == "balance" else field, "")


def check_import_caller(scope: Scope) -> None:
    """Only those who keep an e-ledger (an enterprise's admins and members) import months: refused before reading."""
    spreadsheets.require(scope.is_platform_admin or bool(scope.writable_organization_ids),
                         _("only the members who keep an enterprise's e-ledger import its months"))


def import_or_queue(*, scope: Scope, user, content: bytes, filename: str):
    """A file of `imports.background_min_rows` rows or more is stored and imported by a job (returns the Job);
    a smaller one is imported now (returns the counts)."""
    check_import_caller(scope)
    limit = spreadsheets.limits_for(scope)
    if import_jobs.is_large(content, filename, limit=limit, region=spreadsheets.region_of(scope)):
        return import_jobs.queue("ledgers.import_months", user=user, content=content, filename=filename,
                                 label=f"{filename} → e-ledger")
    return import_months(scope=scope, content=content, filename=filename)


def import_months(*, scope: Scope, content: bytes, filename: str, progress=None) -> dict:
    """Check a whole .xlsx / .csv of months, then write every row or none; ImportRejected lists errors by row/column.
    `progress(stage, done, total)` hears of the rows checked, then written (a background job's page)."""
    check_import_caller(scope)
    header, table = imports.read_table(content, filename, limit=spreadsheets.limits_for(scope))
    rows, errors = imports.parse_rows(IMPORT_SPEC, header, table)
    if errors:
        _reject(errors)
    codes = catalog_codes()
    organizations: dict[str, Organization | None] = {}
    checked: dict[tuple, dict] = {}
    ordered = sorted(rows, key=lambda r: (r.values["organization"], str(r.values["code"]).strip().upper(),
                                          r.values["year"], r.values["month"]))
    for row in import_jobs.reporting(ordered, progress, "checked"):
        uscc = row.values["organization"]
        if uscc not in organizations:
            organization = Organization.objects.visible_to(scope).select_related("region").filter(uscc=uscc).first()
            if organization is not None and not (scope.is_platform_admin
                                                 or organization.pk in scope.writable_organization_ids):
                organization = None
            organizations[uscc] = organization
        organization = organizations[uscc]
        if organization is None:
            errors.append({"row": row.number, "column": _column(row, "organization"), "field": "organization",
                           "message": _("no organization with this USCC whose e-ledger you keep")})
            continue
        values = {k: v for k, v in row.values.items() if k in MONTH}
        cleaned, row_errors = check_month(organization, year=row.values["year"], month=row.values["month"],
                                          code=row.values["code"], values=values, codes=codes)
        if not any(e["field"] in ("month", "code") for e in row_errors):
            previous_key = (organization.pk, cleaned["code"], *_previous(cleaned["year"], cleaned["month"]))
            previous = checked.get(previous_key) or SolidWasteMonth.objects.filter(
                organization=organization, code=cleaned["code"], year=previous_key[2], month=previous_key[3]).first()
            error = opening_error(cleaned["opening_stock"], previous)
            if error:
                row_errors.append(error)
        errors += [{"row": row.number, "column": _column(row, e["field"]), **e} for e in row_errors]
        checked[(organization.pk, cleaned.get("code"), cleaned.get("year"), cleaned.get("month"))] = cleaned
    if errors:
        _reject(errors)
    result = {"rows": len(rows), "created": 0, "updated": 0}
    with transaction.atomic(), audit.acting_as(audit.current_actor() or "import:solid_waste_months"):
        for row in import_jobs.reporting(ordered, progress, "written"):
            organization = organizations[row.values["organization"]]
            exists = SolidWasteMonth.objects.filter(organization=organization,
                                                    code=str(row.values["code"]).strip().upper(),
                                                    year=row.values["year"], month=row.values["month"]).exists()
            try:
                save_month(scope=scope, organization_id=organization.pk, year=row.values["year"],
                           month=row.values["month"], code=row.values["code"],
                           values={k: v for k, v in row.values.items() if k in MONTH})
            except WufeiError as exc:  # checked above; a concurrent change can still refuse a row
                errors += [{"row": row.number, "column": _column(row, e.get("field", "")), **e}
                           for e in (exc.errors or [{"field": "", "message": exc.message}])]
                continue
            result["updated" if exists else "created"] += 1
        if errors:
            transaction.set_rollback(True)
    if errors:
        _reject(errors)
    return result


def _reject(errors: list[dict]):
    errors = sorted(errors, key=lambda e: (e.get("row", 0), e.get("column", "")))
    raise imports.ImportRejected(_("the file was not imported: %(n)d error(s); nothing was written")
                                 % {"n": len(errors)}, errors=errors)


def template_header() -> list[str]:
    """The import's columns with their Chinese labels (an empty template's first row)."""
    units = {name: "(吨)" for name in QUANTITIES}
    return [f"{spec.label}{units.get(name, '')}" for name, spec in IMPORT_FIELDS.items()]

