"""`wufei analytics_refresh [--rebuild] [--loop SECONDS]`: bring the cockpit's monthly event sums up to date."""

import time

from django.core.management.base import BaseCommand

from wufei.analytics import rollup


class Command(BaseCommand):
    help = "Bring the cockpit's stored monthly sums of scan events up to date (rollup.py)."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="sum every event again from scratch")
        parser.add_argument("--loop", type=float, metavar="SECONDS", help="repeat every SECONDS until stopped")

    def handle(self, *args, rebuild=False, loop=None, **options):
        while True:
            added = rollup.refresh(rebuild=rebuild)
            self.stdout.write(f"{added} new scan events summed")
            if not loop:
                return
            rebuild = False
            time.sleep(loop)
