"""`wufei indicators_load [banan-2022 …]`: bring the shipped indicator catalog up to date (data/catalog.csv) and
register the shipped district plans with their targets (data/plans.json: Banan, Kaizhou, Wansheng, Zhejiang), as
`wufei programme_load` does for the task lists; a plan already registered is kept as it is."""

from django.core.management.base import BaseCommand, CommandError

from wufei.core import audit
from wufei.core.errors import WufeiError
from wufei.core.scope import Scope
from wufei.indicators import services


class Command(BaseCommand):
    help = "Load the shipped indicator catalog and plans (default: every plan in indicators/data/plans.json)."

    def add_arguments(self, parser):
        keys = ", ".join(spec["key"] for spec in services.shipped_plans())
        parser.add_argument("plans", nargs="*", help=f"plan keys ({keys}); default: all")

    def handle(self, *args, **options):
        scope = Scope(is_platform_admin=True, username="indicators_load")
        specs = {spec["key"]: spec for spec in services.shipped_plans()}
        unknown = sorted(set(options["plans"]) - set(specs))
        if unknown:
            raise CommandError(f"unknown plan: {', '.join(unknown)} (shipped: {', '.join(specs)})")
        with audit.acting_as("indicators_load"):
            self.stdout.write(f"catalog: {services.load_catalog()} indicators")
            for key in options["plans"] or list(specs):
                try:
                    plan = services.import_plan(scope=scope, spec=specs[key])
                except WufeiError as exc:
                    raise CommandError(f"{key}: {exc.message}") from exc
                self.stdout.write(f"{key}: {plan.name} ({plan.region_id}), {plan.rows.count()} rows")
