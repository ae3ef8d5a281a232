"""Demo data for the indicators: the shipped plans (Banan, Kaizhou, Wansheng, Zhejiang), the entered
quantities of the demo year requested from the departments the plans name and approved by the
regulator, and the stored evaluation of the demo year.

The platform quantities (hazardous waste ledger, monthly e-ledger, manifests, registry) come from the
other demo builders; the entered ones are the plans' published 2020 statistics (seeds_001_004.md §4),
used for the demo year so that the board shows the plans' own numbers (e.g. Kaizhou straw
31.97 / 36.36 万t = 87.93 %). Kaizhou's industrial value added is not published: it is left out and its
intensity indicators show "no data", as they should.
"""

import datetime as dt

from django.db import transaction

from wufei.core import audit
from wufei.demo.registry import ADMIN_SCOPE, DEMO_ACTOR
from wufei.demo.tracking import demo_year
from wufei.demo.writer import Writer
from wufei.indicators import services
from wufei.indicators.models import (
    DataRequest,
    Evaluation,
    Indicator,
    Judgement,
    Plan,
    PlanIndicator,
    QuantityValue,
    Target,
)
from wufei.registry.models import Department

BANAN, KAIZHOU = "500113", "500154"

# region → department (as named in the registry demo) → {quantity: (value, unit) or state}
ENTERED = {
    BANAN: {
        "区经济信息委": {"industrial_value_added": ("213.9", "亿元")},
        "区城市管理局": {"villages_sorting_demo": ("35", "个"), "villages_admin": ("198", "个"),
                   "domestic_waste_collected": ("30.27", "万t")},
        "区住房城乡建委": {"construction_utilized": ("65", "万m³"), "construction_generated": ("692", "万m³")},
        "区供销合作社": {"film_recovered": ("245.284", "t")},
        "区生态环境局": {"policy_documents": "有", "coordination_mechanism": "有", "appraisal_inclusion": "纳入"},
    },
    KAIZHOU: {
        "区农业农村委": {"straw_utilized": ("31.97", "万t"), "straw_collectable": ("36.36", "万t"),
                   "manure_utilized": ("95.91", "万t"), "manure_generated": ("100.63", "万t"),
                   "dead_livestock_central": ("1.05", "万头"), "dead_livestock_total": ("1.92", "万头")},
        "区供销联社": {"film_recovered": ("378.9", "t"), "film_used": ("480", "t")},
        "区城管局": {"domestic_waste_collected": ("21.13", "万t"), "domestic_waste_landfilled": ("0", "t")},
    },
}


def is_built() -> bool:
    return Plan.objects.filter(key="banan-2025").exists()


def build(stdout=None) -> dict:
    say = Writer(stdout)
    year = demo_year()
    counts = {"requests": 0, "values": 0}
    with audit.acting_as(DEMO_ACTOR), transaction.atomic():
        plans = services.load_shipped(scope=ADMIN_SCOPE)
        for region, departments in ENTERED.items():
            for name, values in departments.items():
                department = (Department.objects.filter(region_id=region, name=name).first()
                              or Department.objects.create(name=name, region_id=region))
                request = services.create_request(
                    scope=ADMIN_SCOPE, region_code=region, department_id=department.pk, year=year,
                    keys=list(values), due_date=dt.date(year + 1, 3, 31), note="demo")
                for key, entry in values.items():
                    if isinstance(entry, tuple):
                        services.enter_value(scope=ADMIN_SCOPE, request_id=request.pk, key=key, value=entry[0],
                                             unit=entry[1], evidence="实施方案 2020 年数据（演示）")
                    else:
                        services.enter_value(scope=ADMIN_SCOPE, request_id=request.pk, key=key, state=entry,
                                             evidence="实施方案（演示）")
                    counts["values"] += 1
                services.submit_request(scope=ADMIN_SCOPE, request_id=request.pk)
                services.review_request(scope=ADMIN_SCOPE, request_id=request.pk, approve=True)
                counts["requests"] += 1
        for plan in plans:
            if plan.region_id in (BANAN, KAIZHOU):
                results = services.evaluate_plan(scope=ADMIN_SCOPE, plan_id=plan.pk, year=year, store=True)
                tally = ", ".join(f"{k} {v}" for k, v in services.status_counts(results).items() if v)
                say(f"  {plan.name} {year}: {tally}")
    say(f"  plans: {len(plans)}; data requests {year}: {counts['requests']} with {counts['values']} values")
    counts["plans"] = len(plans)
    return counts


def reset(organization_ids: list[int]) -> int:
    """Delete what the indicators demo created (rows whose "created" event carries the demo actor), children
    first, with one audit event for the sweep; catalog indicators still used by someone else's plan stay."""
    from wufei.core.models import AuditEvent

    models = (QuantityValue, DataRequest, Judgement, Target, PlanIndicator, Plan, Indicator)
    created = {}
    for entity_type, entity_id in AuditEvent.objects.filter(
            actor_label=DEMO_ACTOR, action="created", entity_type__startswith="indicators.").values_list(
            "entity_type", "entity_id"):
        created.setdefault(entity_type, set()).add(int(entity_id))
    counts = {}
    with transaction.atomic():
        Evaluation.objects.filter(row_id__in=created.get("indicators.planindicator", ())).delete()
        for model in models:
            rows = model.objects.filter(pk__in=created.get(f"indicators.{model._meta.model_name}", ()))
            if model is Indicator:
                rows = rows.exclude(plan_rows__isnull=False)
            counts[model._meta.model_name] = rows.delete()[0]
        audit.record_raw(entity_type="indicators.plan", entity_id="demo", action="demo_reset", payload=counts)
    return sum(counts.values())
