"""`wufei indicators_load [KEY …]`: load the shipped indicator catalog (data/catalog.csv) and the shipped plans
(data/plans.json: banan-2025, kaizhou-2025, wansheng-2025, zhejiang-2030) with their targets, and print what
was loaded. Safe to repeat: the catalog is updated in place, an existing plan of the same key is kept.
(`migrate` creates the catalog's missing indicators itself; the plans come only from here or `wufei demo`.)"""

from django.core.management.base import BaseCommand, CommandError

from wufei.core import audit
from wufei.core.errors import WufeiError
from wufei.core.scope import Scope
from wufei.indicators import services


class Command(BaseCommand):
    help = "Load the shipped indicator catalog and plans (all, or the plan keys given)."

    def add_arguments(self, parser):
        parser.add_argument("plans", nargs="*", help="plan keys of data/plans.json (default: all)")

    def handle(self, *args, **options):
        specs = services.shipped_plans()
        known = {spec["key"] for spec in specs}
        unknown = [key for key in options["plans"] if key not in known]
        if unknown:
            raise CommandError(f"unknown plan {', '.join(unknown)}; shipped: {', '.join(sorted(known))}")
        wanted = [spec for spec in specs if not options["plans"] or spec["key"] in options["plans"]]
        scope = Scope(is_platform_admin=True, username="indicators_load")
        with audit.acting_as("indicators_load"):
            try:
                count = services.load_catalog()
                plans = [services.import_plan(scope=scope, spec=spec) for spec in wanted]
            except WufeiError as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(f"catalog: {count} indicators")
        for plan in plans:
            self.stdout.write(f"{plan.key} (id {plan.pk}, region {plan.region_id}): {plan.rows.count()} rows, "
                              f"target years {', '.join(map(str, plan.target_years))}")
