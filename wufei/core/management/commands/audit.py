from django.core.management.base import BaseCommand, CommandError

from wufei.core import audit


class Command(BaseCommand):
    help = ("Audit chain tools. `wufei audit verify` recomputes the keyed hash chain, checks that it passes through "
            "every signed checkpoint (WUFEI_AUDIT_CHECKPOINTS) and names the first broken link; `wufei audit "
            "checkpoint` appends the chain's head, signed, to the checkpoints file and the log.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "checkpoint"])

    def handle(self, *args, **options):
        if options["action"] == "checkpoint":
            checkpoint = audit.write_checkpoint()
            where = audit.checkpoints_path() or "the log only (WUFEI_AUDIT_CHECKPOINTS is empty)"
            self.stdout.write(f"checkpoint: {checkpoint['sequence']} events, event #{checkpoint['event_id']}, "
                              f"hash {checkpoint['hash']} → {where}")
            return
        report = audit.verify_chain()
        if not report.ok:
            raise CommandError(
                f"audit chain broken at event #{report.broken_event_id}: {report.reason} "
                f"({report.checked} links verified)"
            )
        self.stdout.write(f"OK: {report.checked} events, chain intact, {report.checkpoints} checkpoints hold")
