"""`wufei supervision refresh [--date YYYY-MM-DD]`: count every unit's recorded hazardous waste and recompute
its supervision class (HJ 1259-2022).

The class uses the larger of the declared annual tonnes and what the unit's containers recorded in the last
full calendar year and in the running twelve months. Recording a batch refreshes its unit at once; the running
twelve months move with the calendar, so this runs daily (from the task queue, or cron) for all units: one
grouped query and bulk writes per 1,000 units. Run it once after upgrading too: units registered before the
recorded figures existed show "not counted yet" (and their old basis wording) until then.

The command lives with the containers because the registry does not read them
(tracking.services.refresh_recorded_generation hands the figures to the registry).
"""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from wufei.tracking import services


class Command(BaseCommand):
    help = ("Supervision class. `refresh` counts every unit's hazardous waste recorded in containers (the last "
            "full year and the running twelve months) and recomputes its class; run it daily.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["refresh"])
        parser.add_argument("--date", help="count as of this day (YYYY-MM-DD); default today (Asia/Shanghai)")

    def handle(self, *args, **options):
        today = None
        if options["date"]:
            try:
                today = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"not a date: {options['date']}") from exc
        started = time.perf_counter()
        counts = services.refresh_recorded_generation(today=today)  # audit links name the actor "system"
        self.stdout.write("{organizations} organizations counted, {changed} with new figures, {reclassified} "
                          "reclassified".format(**counts) + f" in {time.perf_counter() - started:.1f} s")
