"""`wufei restore FILE [--force]`: bring back a database and its uploaded files from `wufei backup`'s archive."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wufei.core import backup


class Command(BaseCommand):
    help = ("Restore the database and the uploaded files from an archive written by `wufei backup`. The archive is "
            "checked first (checksums, format, migrations no newer than this code); nothing is written if a check "
            "fails.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the archive written by `wufei backup`")
        parser.add_argument("--force", action="store_true",
                            help="replace a database that already holds data (organizations, accounts or audit "
                                 "events): everything in it is lost and the archive's content takes its place. "
                                 "Without it, restore only fills an empty or new database.")

    def handle(self, *args, file, force, **options):
        try:
            result = backup.restore_backup(path=file, force=force)
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        database = settings.DATABASES["default"]["NAME"]
        replaced = " (its previous data replaced)" if result.replaced_data else ""
        size = backup.human_size(result.database_bytes)
        self.stdout.write(f"restored the {result.engine} database {database}{replaced} from {file.name}, made "
                          f"{result.created_at} by Wufei {result.wufei_version} ({size})")
        self.stdout.write(f"uploaded files into {settings.MEDIA_ROOT}: {result.files_written} written, "
                          f"{result.files_unchanged} already there ({backup.human_size(result.file_bytes)})")
        if result.pending_migrations:
            self.stdout.write(f"this code has {len(result.pending_migrations)} migration(s) the archive's database "
                              "has not: run `wufei migrate` before starting Wufei")
        self.stdout.write("check it with `wufei audit verify`")
