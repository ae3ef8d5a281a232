"""Checks on plans, declarations and ledgers: generation over plan, plan or declaration overdue, monthly ledger
missing, mass balance. The ledger's figures are read through `wufei.ledgers.selectors.monthly_figures` (brought
current first), as the cockpit, the indicators and the declarations read them.
"""

import datetime as dt
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from wufei.alerts.checks.common import _org_hit, _org_period_ids, _t, models_nullif
from wufei.ledgers import selectors as ledger
from wufei.ledgers.balance import mass_balance
from wufei.ledgers.models import AnnualDeclaration, DeclarationStatus, ManagementPlan, PlanStream
from wufei.registry.models import Organization, SupervisionClass
from wufei.tracking.models import ScanEvent


def check_generation_over_plan(ctx, part, ids):
    year = ctx.today.year
    in_force = ManagementPlan.objects.filter(year=year, status="approved").exclude(superseded_by__status="approved")
    planned = {(r["plan__organization_id"], r["waste_id"]): r["t"] for r in PlanStream.objects.filter(
        plan__in=in_force.filter(part.q("organization__region__path"))).values(
        "plan__organization_id", "waste_id").annotate(t=Sum("planned_generation"))}
    generated = ledger.monthly_figures(ctx.admin, None, year, by=("organization", "waste"),
                                       streams=ledger.WASTE_STREAMS, organization_ids={o for o, _ in planned})
    share = Decimal(str(part.params["over_percent"]))
    wanted = _org_period_ids(ids)
    over = []
    for row in generated:
        plan = planned.get((row["organization"], row["waste"]))
        if plan is not None and row["generated"] > plan * (1 + share / 100) and (
                wanted is None or row["organization"] in wanted):
            over.append((row["organization"], row["waste"], row["generated"], plan))
    orgs = Organization.objects.in_bulk({o for o, *_ in over})
    return [_org_hit(orgs[o], f"{o}:{year}:{code}", {"year": year, "waste": code, "generated_tonnes": _t(t),
                                                      "planned_tonnes": _t(plan), "over_percent": _t(share)})
            for o, code, t, plan in over]


def check_plan_overdue(ctx, part, ids):
    from wufei.ledgers.plans import EDITABLE, FILED, due_date_from

    year = ctx.today.year
    due = due_date_from(part.params["plan.due"], year)
    if ctx.today <= due:
        return []
    effective = Coalesce(models_nullif("supervision_override"), "supervision_class")
    required = Organization.objects.filter(part.q("region__path"), status="active", is_generator=True).annotate(
        effective=effective).filter(effective__in=[SupervisionClass.KEY, SupervisionClass.SIMPLIFIED])
    drafted = Organization.objects.filter(part.q("region__path"), management_plans__year=year,
                                          management_plans__status__in=EDITABLE)
    filed = ManagementPlan.objects.filter(organization=OuterRef("pk"), year=year, status__in=FILED)
    orgs = Organization.objects.filter(Q(pk__in=required.values("pk")) | Q(pk__in=drafted.values("pk"))).exclude(
        Exists(filed))
    wanted = _org_period_ids(ids)
    if wanted is not None:
        orgs = orgs.filter(pk__in=wanted)
    return [_org_hit(org, f"{org.pk}:{year}", {"year": year, "due": due.isoformat(),
                                               "supervision_class": org.effective_supervision_class})
            for org in orgs]


def check_declaration_overdue(ctx, part, ids):
    from wufei.ledgers.plans import due_date_from

    year = ctx.today.year - 1
    due = due_date_from(part.params["declaration.due"], year + 1)
    if ctx.today <= due:
        return []
    units = Organization.objects.filter(part.q("region__path"), status="active")
    generated = [row["organization"] for row in ledger.monthly_figures(
        ctx.admin, None, year, by=("organization",), streams=ledger.WASTE_STREAMS, organization_ids=units)
        if row["generated"] > 0]
    drafted = AnnualDeclaration.objects.filter(year=year).values("organization_id")
    submitted = AnnualDeclaration.objects.filter(organization=OuterRef("pk"), year=year,
                                                 status=DeclarationStatus.SUBMITTED)
    orgs = Organization.objects.filter(part.q("region__path"), status="active").filter(
        Q(pk__in=generated) | Q(pk__in=drafted)).exclude(Exists(submitted))
    wanted = _org_period_ids(ids)
    if wanted is not None:
        orgs = orgs.filter(pk__in=wanted)
    return [_org_hit(org, f"{org.pk}:{year}", {"year": year, "due": due.isoformat()}) for org in orgs]


def check_monthly_ledger_missing(ctx, part, ids):
    from wufei.ledgers import solid_waste

    day = ctx.today - dt.timedelta(days=int(part.params["grace_days"]))
    year = day.year
    due = solid_waste.due_months(year, day)
    if not due:
        return []
    wanted = _org_period_ids(ids)
    units = [u for u in solid_waste.required_units(ctx.admin, year=year) if u["status"] == "required"
             and part.covers(u["organization"].region.path) and (wanted is None or u["organization"].pk in wanted)]
    from wufei.ledgers.models import SolidWasteMonth

    filled = set(SolidWasteMonth.objects.filter(organization_id__in=[u["organization"].pk for u in units],
                                                year=year).values_list("organization_id", "month").distinct())
    hits = []
    for unit in units:
        org = unit["organization"]
        missing = [month for month in due if (org.pk, month) not in filled]
        if missing:
            hits.append(_org_hit(org, f"{org.pk}:{year}", {
                "year": year, "months_missing": missing, "previous_year_tonnes": _t(unit["previous_year_tonnes"]),
                "threshold_tonnes": _t(unit["threshold"])}))
    return hits


def check_mass_balance(ctx, part, ids):
    year = ctx.today.year
    if ids is not None:
        orgs = set(_org_period_ids(ids))
    else:
        units = Organization.objects.filter(part.q("region__path"))
        if ctx.since is not None:
            changed = ScanEvent.objects.filter(recorded_at__gte=ctx.since).values("organization_id")
            units = units.filter(pk__in=changed)
        # the units with a ledger this year
        with_ledger = [row["organization"] for row in ledger.monthly_figures(
            ctx.admin, None, year, by=("organization",), streams=ledger.WASTE_STREAMS, organization_ids=units)]
        orgs = set(with_ledger[:int(part.params["max_organizations"])])
    tolerance = Decimal(str(part.params["tolerance_tonnes"]))
    hits = []
    for org_id in sorted(orgs):
        result = mass_balance(ctx.admin, org_id, year, now=ctx.now)
        org = result["organization"]
        for code in result["codes"]:
            if abs(code["difference"]) > tolerance or not code["balanced"]:
                hits.append(_org_hit(org, f"{org.pk}:{year}:{code['waste']}", {
                    "year": year, "waste": code["waste"], "expected_closing": _t(code["expected_closing"]),
                    "actual_stock": _t(code["actual_stock"]), "difference": _t(code["difference"]),
                    "unexplained": [r["message"] for r in code["records"] if r["type"] == "unexplained"][:3]}))
    return hits
