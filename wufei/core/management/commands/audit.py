from django.core.management.base import BaseCommand, CommandError

from wufei.core import audit


class Command(BaseCommand):
    help = "Audit chain tools. `wufei audit verify` recomputes the SHA-256 chain and names the first broken link."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, **options):
        report = audit.verify_chain()
        if not report.ok:
            raise CommandError(
                f"audit chain broken at event #{report.broken_event_id}: {report.reason} "
                f"({report.checked} events verified before it)"
            )
        self.stdout.write(f"OK: {report.checked} events, chain intact")
