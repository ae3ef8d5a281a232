"""`wufei alerts scan [--full] [--rule ID ...]`, `wufei alerts tracks FILE.csv`.

`scan` runs the rules once (incremental after the first run; --full re-reads everything). The task queue runs
it on its schedule (settings.SCHEDULE["alerts.scan"], `wufei worker`); the command is for an operator who wants
a scan now. Webhook notices of alerts go out with the manifests' (`wufei webhooks deliver`).
"""

import time

from django.core.management.base import BaseCommand, CommandError

from wufei.alerts import scanner, tracks
from wufei.core.scope import Scope


class Command(BaseCommand):
    help = "Alerts: scan the rules, import GPS tracks."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["scan", "tracks"])
        parser.add_argument("file", nargs="?", help="tracks: a CSV file (manifest, leg, recorded_at, longitude, "
                                                    "latitude[, speed_kmh])")
        parser.add_argument("--full", action="store_true", help="ignore the watermark of the previous scan")
        parser.add_argument("--rule", action="append", dest="rules", help="only this rule (repeatable)")

    def handle(self, *args, **options):
        if options["action"] == "tracks":
            if not options["file"]:
                raise CommandError("give the CSV file")
            with open(options["file"], "rb") as handle:
                result = tracks.import_points(scope=Scope(is_platform_admin=True), content=handle.read())
            self.stdout.write("{stored} of {received} points stored on {legs} legs".format(**result))
            return
        unknown = set(options["rules"] or ()) - set(scanner.table.BY_ID)
        if unknown:
            raise CommandError(f"unknown rules: {', '.join(sorted(unknown))}")
        started = time.perf_counter()
        counts = scanner.scan(full=options["full"], rule_ids=options["rules"])
        self._report(counts, time.perf_counter() - started)

    def _report(self, counts, seconds):
        for rule, c in counts.items():
            if c["hits"] or c["opened"] or c["closed"] or c["cleared"]:
                self.stdout.write(f"{rule}: {c['hits']} tripping, {c['opened']} opened, {c['open']} open, "
                                  f"{c['closed']} closed, {c['cleared']} cleared")
        total = sum(c["opened"] for c in counts.values())
        self.stdout.write(f"scan done in {seconds:.1f} s: {total} alerts opened")
