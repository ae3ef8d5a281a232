"""Annual declarations (申报登记) drafted from the hazardous waste ledger, and regulators' spot checks (抽查核查).

Rules as implemented
- `draft_declaration` builds one line per waste code and figure from the year's ledger, read through
  `selectors.monthly_figures` (brought current first): opening stock = January's opening stock, closing
  stock = December's closing stock, and the sums of generated, received, self-utilized, self-disposed,
  utilized / disposed (as licensed operator) and transferred out. (The ledger holds a row for every month
  from the code's first movement — or January, when stock is carried into the year — through December.)
  Drafting again refreshes the ledger figures; a line the unit adjusted keeps its declared figure
  and reason, an unadjusted line follows the ledger.
- The unit confirms or adjusts figures; a declared figure that differs from the ledger's needs a
  reason (one per changed figure). A declaration with an unexplained difference, or whose ledger
  changed since the draft, cannot be submitted; after submission nothing changes.
- Due date: the parameter `declaration.due` (MM-DD, default 03-31) of the year after the declared
  year, for the unit's region. Submitting later is allowed and marks the declaration
  `submitted_late`. Only a finished year can be submitted.
- Spot checks of submitted declarations: `wufei.ledgers.spot_checks`.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wufei.catalog import services as catalog
from wufei.core import parameters
from wufei.core.errors import NotFound, RuleViolation, ValidationFailed, WufeiError
from wufei.core.locks import lock_rows
from wufei.core.parsing import text
from wufei.core.parsing import tonnes as parse_tonnes
from wufei.core.scope import Scope
from wufei.ledgers import selectors
from wufei.ledgers.models import AnnualDeclaration, DeclarationLine, DeclarationStatus
from wufei.ledgers.plans import check_version, due_date_from, plain, raise_errors, require_unit_writer
from wufei.registry import services as registry
from wufei.registry.models import Organization

FIELDS = DeclarationLine.FIELDS
FIELD_LABELS = {
    "opening_stock": gettext_lazy("opening stock"),
    "generated": gettext_lazy("generated"),
    "received_in": gettext_lazy("received"),
    "self_utilized": gettext_lazy("self-utilized"),
    "self_disposed": gettext_lazy("self-disposed"),
    "utilized": gettext_lazy("received waste utilized"),
    "disposed": gettext_lazy("received waste disposed of"),
    "transferred_out": gettext_lazy("transferred out"),
    "closing_stock": gettext_lazy("closing stock"),
}
SYSTEM = Scope(is_platform_admin=True, username="declarations")  # the callers check the unit first
SUMMED = ("generated", "received_in", "self_utilized", "self_disposed", "utilized", "disposed", "transferred_out")
ZERO = Decimal(0)
tonnes = parse_tonnes()


# --- the ledger's figures ------------------------------------------------------------------

def ledger_figures(organization_id: int, year: int) -> dict[str, dict[str, Decimal]]:
    """{waste code: {field: tonnes}} of a unit's year, read through the ledger's selector (brought current first):
    opening of January, the flows summed, closing of December."""
    return {code: {field: values[field] for field in FIELDS}
            for code, values in selectors.unit_year(SYSTEM, organization_id, year).items()}


def _adjusted(line: DeclarationLine) -> bool:
    return line.declared_value != line.ledger_value or bool(line.adjustment_reason)


# --- selectors -----------------------------------------------------------------------------

def declarations_for(scope: Scope, *, year: int | None = None, organization_id: int | None = None,
                     status: str | None = None):
    declarations = AnnualDeclaration.objects.visible_to(scope).select_related("organization",
                                                                              "organization__region")
    if year:
        declarations = declarations.filter(year=year)
    if organization_id:
        declarations = declarations.filter(organization_id=organization_id)
    if status:
        if status not in DeclarationStatus.values:
            raise ValidationFailed(_("unknown status"), errors=[{"field": "status", "message": status}])
        declarations = declarations.filter(status=status)
    return declarations


def get_declaration(scope: Scope, declaration_id: int) -> AnnualDeclaration:
    declaration = declarations_for(scope).filter(pk=declaration_id).first()
    if declaration is None:
        raise NotFound(_("declaration not found"))
    return declaration


def declaration_rows(declaration: AnnualDeclaration) -> list[dict]:
    """Ledger and declared figures side by side, one row per waste code, with the declared balance gap.

    declared opening + generated + received − self-utilized − self-disposed − transferred − closing
    should be 0; a gap is shown (not enforced: the ledger itself may hold a gap the unit explains).
    """
    by_waste: dict[str, dict] = {}
    for line in declaration.lines.select_related("waste"):
        row = by_waste.setdefault(line.waste_id, {"waste": line.waste, "cells": {}})
        row["cells"][line.field] = {
            "field": line.field, "label": FIELD_LABELS[line.field], "ledger": line.ledger_value,
            "declared": line.declared_value, "reason": line.adjustment_reason,
            "differs": line.declared_value != line.ledger_value,
            "unexplained": line.declared_value != line.ledger_value and not line.adjustment_reason}
    rows = []
    for code in sorted(by_waste):
        row = by_waste[code]
        cells = row["cells"]
        declared = {f: cells[f]["declared"] if f in cells else ZERO for f in FIELDS}
        gap = (declared["opening_stock"] + declared["generated"] + declared["received_in"]
               - declared["self_utilized"] - declared["self_disposed"] - declared["utilized"] - declared["disposed"]
               - declared["transferred_out"]
               - declared["closing_stock"])
        rows.append({"waste": row["waste"], "code": code, "cells": [cells[f] for f in FIELDS if f in cells],
                     "balance_gap": gap, "unexplained": sum(1 for c in cells.values() if c["unexplained"])})
    return rows


def declaration_detail(scope: Scope, declaration_id: int) -> AnnualDeclaration:
    declaration = get_declaration(scope, declaration_id)
    declaration.rows = declaration_rows(declaration)
    declaration.unexplained = sum(row["unexplained"] for row in declaration.rows)
    declaration.spot_check_list = list(declaration.spot_checks.all())
    return declaration


# --- drafting and adjusting ----------------------------------------------------------------

def declaration_due_date(organization, year: int) -> dt.date:
    return due_date_from(parameters.get("declaration.due", organization.region), year + 1)


def _locked(scope: Scope, declaration_id: int, version, what: str) -> AnnualDeclaration:
    declaration = get_declaration(scope, declaration_id)
    require_unit_writer(scope, declaration.organization, what)
    declaration = lock_rows(AnnualDeclaration.objects).select_related(
        "organization", "organization__region").get(pk=declaration.pk)
    if version is not None:
        check_version(declaration, version)
    if declaration.status == DeclarationStatus.SUBMITTED:
        raise RuleViolation(_("the declaration was submitted and can no longer be changed"),
                            code="declaration_submitted")
    return declaration


@transaction.atomic
def draft_declaration(*, scope: Scope, organization_id: int, year: int,
                      version: int | None = None) -> AnnualDeclaration:
    """Create or refresh the year's declaration from the ledger (adjusted lines keep their figures)."""
    organization = registry.get_organization(scope, organization_id)
    require_unit_writer(scope, organization, _("draft declarations"))
    if not 2000 <= int(year) <= timezone.localdate().year:
        raise ValidationFailed(_("declaration is not valid"),
                               errors=[{"field": "year", "message": _("a declaration is for a past or the current "
                                                                      "year")}])
    lock_rows(Organization.objects).filter(pk=organization.pk).first()  # one first draft at a time
    declaration = AnnualDeclaration.objects.filter(organization=organization, year=year).first()
    created = declaration is None
    if created:
        declaration = AnnualDeclaration(organization=organization, year=year,
                                        due_date=declaration_due_date(organization, year))
        declaration.save(audit_action="drafted")
    else:
        declaration = _locked(scope, declaration.pk, version, _("draft declarations"))
    figures = ledger_figures(organization.pk, year)
    existing = {(line.waste_id, line.field): line for line in declaration.lines.all()}
    new_lines, changed = [], []
    for code, values in figures.items():
        for field in FIELDS:
            line = existing.pop((code, field), None)
            if line is None:
                new_lines.append(DeclarationLine(declaration=declaration, waste_id=code, field=field,
                                                 ledger_value=values[field], declared_value=values[field]))
                continue
            if line.ledger_value != values[field] or (not _adjusted(line) and line.declared_value != values[field]):
                if not _adjusted(line):
                    line.declared_value = values[field]
                line.ledger_value = values[field]
                changed.append(line)
    gone_codes = defaultdict(list)
    for line in existing.values():  # codes no longer in the ledger
        gone_codes[line.waste_id].append(line)
    stale = []
    for lines in gone_codes.values():
        if any(_adjusted(line) for line in lines):  # the unit declared it: keep, with a ledger figure of 0
            for line in lines:
                if line.ledger_value:
                    line.ledger_value = ZERO
                    changed.append(line)
        else:
            stale += [line.pk for line in lines]
    DeclarationLine.objects.bulk_create(new_lines)
    DeclarationLine.objects.bulk_update(changed, ["ledger_value", "declared_value"])
    DeclarationLine.objects.filter(pk__in=stale).delete()
    if not created:
        declaration.save(audit_action="redrafted", audit_note=f"{len(figures)} waste codes; {len(new_lines)} new, "
                                                              f"{len(changed)} refreshed, {len(stale)} removed lines")
    return declaration


def _parse_change(index: int, change: dict) -> tuple[dict, list[dict]]:
    errors, values = [], {}
    prefix = f"changes.{index}"
    try:
        values["waste"] = catalog.get_hazardous_waste(str(change.get("waste") or ""))
    except WufeiError as exc:
        errors.append({"field": f"{prefix}.waste", "message": exc.message})
    field = change.get("field")
    if field not in FIELDS:
        errors.append({"field": f"{prefix}.field", "message": _("must be one of %(options)s")
                       % {"options": ", ".join(FIELDS)}})
    values["field"] = field
    try:
        raw = change.get("declared_value")
        if raw is None or str(raw).strip() == "":
            raise ValueError(_("is required"))
        values["declared_value"] = tonnes(raw)
    except ValueError as exc:
        errors.append({"field": f"{prefix}.declared_value", "message": str(exc)})
    try:
        values["reason"] = text(500)(change.get("reason"))
    except ValueError as exc:
        errors.append({"field": f"{prefix}.reason", "message": str(exc)})
    return values, errors


@transaction.atomic
def adjust_lines(*, scope: Scope, declaration_id: int, version: int, changes: list[dict]) -> AnnualDeclaration:
    """Set declared figures; each one that differs from the ledger's needs its own reason.

    A change names a waste code, a field, the declared value and the reason. A code that the ledger
    does not hold gets lines with a ledger figure of 0 (waste the ledger missed).
    """
    declaration = _locked(scope, declaration_id, version, _("adjust declarations"))
    if not changes:
        raise ValidationFailed(_("no change was sent"), errors=[{"field": "changes", "message": _("is required")}])
    lines = {(line.waste_id, line.field): line for line in declaration.lines.all()}
    errors, to_save, notes = [], {}, []
    for index, change in enumerate(changes):
        values, change_errors = _parse_change(index, change)
        if change_errors:
            errors += change_errors
            continue
        key = (values["waste"].code, values["field"])
        line = to_save.get(key) or lines.get(key)
        if line is None:
            for field in FIELDS:
                lines[(key[0], field)] = DeclarationLine(declaration=declaration, waste=values["waste"], field=field,
                                                         ledger_value=ZERO, declared_value=ZERO)
            line = lines[key]
        declared, reason = values["declared_value"], values["reason"]
        if declared != line.ledger_value and not reason:
            errors.append({"field": f"changes.{index}.reason", "code": "adjustment_reason_required",
                           "message": _("%(code)s %(field)s: the declared %(declared)s t differs from the ledger's "
                                        "%(ledger)s t; give a reason for the change")
                           % {"code": key[0], "field": FIELD_LABELS[key[1]], "declared": plain(declared),
                              "ledger": plain(line.ledger_value)}})
            continue
        notes.append(f"{key[0]} {key[1]}: {plain(line.declared_value)} → {plain(declared)}"
                     + (f" ({reason})" if reason else ""))
        line.declared_value = declared
        line.adjustment_reason = reason if declared != line.ledger_value else ""
        to_save[key] = line
    if errors:
        raise_errors(_("the adjustment was not saved"), errors)
    touched = {code for code, _field in to_save}
    for (code, _field), line in lines.items():
        if line.pk is None and code in touched:
            line.save()  # every figure of a code the ledger did not hold
    for line in to_save.values():
        line.save()
    declaration.save(audit_action="lines_adjusted", audit_note="; ".join(notes))
    return declaration


def adjust_line(*, scope: Scope, declaration_id: int, version: int, waste_code: str, field: str,
                declared_value, reason: str = "") -> AnnualDeclaration:
    return adjust_lines(scope=scope, declaration_id=declaration_id, version=version, changes=[
        {"waste": waste_code, "field": field, "declared_value": declared_value, "reason": reason}])


@transaction.atomic
def submit_declaration(*, scope: Scope, declaration_id: int, version: int) -> AnnualDeclaration:
    declaration = _locked(scope, declaration_id, version, _("submit declarations"))
    now = timezone.now()
    if declaration.year >= timezone.localtime(now).year:
        raise RuleViolation(_("the declaration of %(year)s can be submitted once the year is over")
                            % {"year": declaration.year}, code="year_not_over")
    lines = list(declaration.lines.all())
    figures = ledger_figures(declaration.organization_id, declaration.year)
    stale = []
    for line in lines:
        current = figures.get(line.waste_id, {}).get(line.field, ZERO)
        if current != line.ledger_value:
            stale.append({"field": f"lines.{line.waste_id}.{line.field}", "code": "ledger_changed",
                          "message": _("%(code)s %(field)s: the ledger now says %(now)s t, the draft %(then)s t")
                          % {"code": line.waste_id, "field": FIELD_LABELS[line.field], "now": plain(current),
                             "then": plain(line.ledger_value)}})
    drafted = {line.waste_id for line in lines}
    for code in sorted(set(figures) - drafted):
        stale.append({"field": f"lines.{code}", "code": "ledger_changed",
                      "message": _("%(code)s is in the ledger but not in the draft") % {"code": code}})
    if stale:
        raise RuleViolation(_("the ledger changed since the declaration was drafted; draft it again"),
                            code="ledger_changed", errors=stale)
    unexplained = [{"field": f"lines.{line.waste_id}.{line.field}", "code": "adjustment_reason_required",
                    "message": _("%(code)s %(field)s: declared %(declared)s t, ledger %(ledger)s t, no reason given")
                    % {"code": line.waste_id, "field": FIELD_LABELS[line.field],
                       "declared": plain(line.declared_value), "ledger": plain(line.ledger_value)}}
                   for line in lines if line.declared_value != line.ledger_value and not line.adjustment_reason]
    if unexplained:
        raise RuleViolation(_("figures differ from the ledger without a reason; give one for each change"),
                            code="adjustment_reason_required", errors=unexplained)
    declaration.status = DeclarationStatus.SUBMITTED
    declaration.submitted_at = now
    declaration.submitted_late = timezone.localtime(now).date() > declaration.due_date
    declaration.save(audit_action="submitted_late" if declaration.submitted_late else "submitted")
    return declaration
