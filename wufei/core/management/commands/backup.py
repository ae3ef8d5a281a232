"""`wufei backup FILE`: the database, the uploaded files and a manifest in one archive (wufei/core/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from wufei.core import backup


class Command(BaseCommand):
    help = ("Write one archive (.tar.gz) holding the database (SQLite: online backup, safe while Wufei runs; "
            "PostgreSQL: pg_dump), every uploaded file and a manifest with checksums. Restore it with "
            "`wufei restore FILE`.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the archive to write, e.g. wufei-2026-12-07.tar.gz")

    def handle(self, *args, file, **options):
        try:
            result = backup.create_backup(path=file)
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{result.path}: {result.engine} database ({backup.human_size(result.database_bytes)}, {result.migrations} "
            f"migrations applied), {result.files} uploaded files ({backup.human_size(result.file_bytes)})")
