"""`wufei programme_load banan kaizhou`: register the shipped Banan and Kaizhou plans with their task lists and key
projects (wufei/programme/data/), through the same import the .xlsx upload uses, and print what was loaded."""

from django.core.management.base import BaseCommand, CommandError

from wufei.core import audit
from wufei.core.errors import WufeiError
from wufei.core.scope import Scope
from wufei.programme import imports, services


class Command(BaseCommand):
    help = "Load the shipped plans (banan, kaizhou): task lists, key projects, zero-waste cell targets."

    def add_arguments(self, parser):
        parser.add_argument("plans", nargs="*", default=["banan", "kaizhou"], help="banan, kaizhou (default: both)")

    def handle(self, *args, **options):
        scope = Scope(is_platform_admin=True, username="programme_load")
        with audit.acting_as("programme_load"):
            for key in options["plans"]:
                try:
                    plan = imports.load_shipped(scope=scope, key=key)
                except WufeiError as exc:
                    raise CommandError(f"{key}: {exc.message}") from exc
                totals = services.investment_totals(plan)
                linked = services.units_for(scope, plan_id=plan.pk, linked=True).count()
                units = services.units_for(scope, plan_id=plan.pk).count()
                self.stdout.write(
                    f"{plan.code}: {plan.items.count()} task rows in {plan.tasks.count()} tasks, "
                    f"{plan.projects.count()} key projects; investment re-added {totals.summed} "
                    f"(printed {totals.printed}); units {units} ({linked} linked to the registry)")
                for group in totals.flagged_groups:
                    self.stdout.write(f"  rows {group.numbers} share a merged cell: the printed total counts "
                                      f"{group.double_counted} twice; counted once {totals.counted_once}")
