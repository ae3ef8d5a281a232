"""Reading the ledger: the stored monthly figures, brought current before they are read."""



from wufei.core.scope import Scope
from wufei.ledgers import upkeep
from wufei.ledgers.compute import FIGURES, VALUE_FIELDS, ZERO, check_year, compute_ledger
from wufei.ledgers.models import LedgerMonth
from wufei.registry import services as registry_services
from wufei.registry.models import Organization

# --- selectors ---------------------------------------------------------------------------------

def organization_for(scope: Scope, organization_id: int) -> Organization:
    """The organization if the caller sees it, else NotFound (an id probe learns nothing)."""
    return registry_services.get_organization(scope, organization_id)



def ledger_months(scope: Scope, organization_id: int, year: int):
    """The LedgerMonth rows of one organization and year that the caller may see (brought up to date first)."""
    upkeep.ensure_current(years=check_year(year), organization_ids=[organization_id])
    return (LedgerMonth.objects.visible_to(scope).filter(organization_id=organization_id, year=check_year(year))
            .select_related("waste", "waste__category").order_by("waste_id", "month"))


def summarize_year(months) -> list[dict]:
    """Per waste code: opening of the first month, sums of the flows, closing of the last month."""
    by_code: dict[str, dict] = {}
    for row in sorted(months, key=lambda r: (r.waste_id, r.month)):
        summary = by_code.get(row.waste_id)
        if summary is None:
            summary = by_code[row.waste_id] = {
                "waste": row.waste_id, "category": row.waste.category_id, "description": row.waste.description,
                **{name: ZERO for name in FIGURES}, "containers": 0, "opening_stock": row.opening_stock,
                "first_month": row.month}
        for name in FIGURES[1:-1]:
            summary[name] += getattr(row, name)
        summary["containers"] += row.containers
        summary["closing_stock"] = row.closing_stock
        summary["last_month"] = row.month
    return list(by_code.values())


def ledger_year(scope: Scope, organization_id: int, year: int) -> list[dict]:
    """The yearly summary per waste code from the stored ledger (the caller's scope applies)."""
    return summarize_year(ledger_months(scope, organization_id, year))



def ledger_is_current(organization_id: int, year: int, computed: dict | None = None) -> bool:
    """Whether the stored rows equal what the events give now."""
    computed = compute_ledger(year=year, organization_ids=[organization_id]) if computed is None else computed
    stored = {(r.organization_id, r.waste_id, r.month): {name: getattr(r, name) for name in VALUE_FIELDS}
              for r in LedgerMonth.objects.filter(organization_id=organization_id, year=year)}
    return stored == computed


