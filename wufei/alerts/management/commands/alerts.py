"""`wufei alerts scan [--full] [--rule ID ...] [--loop SECONDS]`, `wufei alerts deliver`,
`wufei alerts tracks FILE.csv`.

`scan` runs the rules once (incremental after the first run; --full re-reads everything); with
--loop it keeps scanning every SECONDS (what bin/up or a service manager runs in production) and
also sends due webhook deliveries. The development server scans by itself every
WUFEI_ALERTS_SCAN_MINUTES (default 15; 0 switches it off).
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from wufei.alerts import scanner, services, tracks
from wufei.core.scope import Scope


class Command(BaseCommand):
    help = "Alerts: scan the rules, deliver webhook notices, import GPS tracks."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["scan", "deliver", "tracks"])
        parser.add_argument("file", nargs="?", help="tracks: a CSV file (manifest, leg, recorded_at, longitude, "
                                                    "latitude[, speed_kmh])")
        parser.add_argument("--full", action="store_true", help="ignore the watermark of the previous scan")
        parser.add_argument("--rule", action="append", dest="rules", help="only this rule (repeatable)")
        parser.add_argument("--loop", type=float, metavar="SECONDS", help="keep scanning every SECONDS")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "deliver":
            self.stdout.write(str(services.deliver_due()))
            return
        if action == "tracks":
            if not options["file"]:
                raise CommandError("give the CSV file")
            with open(options["file"], "rb") as handle:
                result = tracks.import_points(scope=Scope(is_platform_admin=True), content=handle.read())
            self.stdout.write("{stored} of {received} points stored on {legs} legs".format(**result))
            return
        unknown = set(options["rules"] or ()) - set(scanner.table.BY_ID)
        if unknown:
            raise CommandError(f"unknown rules: {', '.join(sorted(unknown))}")
        seconds = options["loop"]
        if seconds is not None and seconds <= 0:
            raise CommandError("--loop needs a positive number of seconds")
        full = options["full"]
        while True:
            if seconds is not None:
                close_old_connections()  # a long-running loop: drop connections past their age
            started = time.perf_counter()
            counts = scanner.scan(full=full, rule_ids=options["rules"])
            self._report(counts, time.perf_counter() - started)
            if seconds is None:
                return
            services.deliver_due()
            full = False
            try:
                time.sleep(seconds)
            except KeyboardInterrupt:
                self.stdout.write("stopped")
                return

    def _report(self, counts, seconds):
        for rule, c in counts.items():
            if c["hits"] or c["opened"] or c["closed"] or c["cleared"]:
                self.stdout.write(f"{rule}: {c['hits']} tripping, {c['opened']} opened, {c['open']} open, "
                                  f"{c['closed']} closed, {c['cleared']} cleared")
        total = sum(c["opened"] for c in counts.values())
        self.stdout.write(f"scan done in {seconds:.1f} s: {total} alerts opened")
