"""`wufei webhooks deliver [--loop SECONDS] [--limit N]`: send the webhook deliveries that are due.

The safety net behind the queue job that sends each delivery right after its change commits (the
periodic `webhooks.deliver` job does the same). Several deliverers may run at once; each delivery
is claimed before it is sent, so none is sent twice.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from wufei.manifests import webhooks


class Command(BaseCommand):
    help = "Webhooks of manifests. `deliver` sends the due deliveries once, or every SECONDS with --loop."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["deliver"])
        parser.add_argument("--loop", type=float, metavar="SECONDS",
                            help="keep running, looking for due deliveries every SECONDS")
        parser.add_argument("--limit", type=int, default=100, help="deliveries per batch (default 100)")

    def handle(self, *args, **options):
        seconds, limit = options["loop"], options["limit"]
        if seconds is not None and seconds <= 0:
            raise CommandError("--loop needs a positive number of seconds")
        if limit < 1:
            raise CommandError("--limit needs a positive number")
        if seconds is None:
            self._report(webhooks.deliver_due(limit=limit))
            return
        try:
            while True:
                close_old_connections()
                result = webhooks.deliver_due(limit=limit)
                if result["sent"]:
                    self._report(result)
                if result["sent"] < limit:  # a full batch means more may be due: go on at once
                    time.sleep(seconds)
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def _report(self, result: dict):
        self.stdout.write("{sent} sent: {delivered} delivered, {retrying} to retry, {failed} failed, "
                          "{switched_off} webhooks switched off".format(**result))
