"""`wufei import organizations FILE` (or sites, vehicles, permits): all rows or none."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from wufei.core import spreadsheets
from wufei.core.scope import Scope
from wufei.registry import imports


class Command(BaseCommand):
    help = "Import organizations, sites, vehicles or permits from .xlsx or .csv. A bad file is rejected whole."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(imports.SPECS))
        parser.add_argument("file", type=Path)

    def handle(self, *args, kind, file, **options):
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        try:
            scope = Scope(is_platform_admin=True)
            spreadsheets.check_size(file.stat().st_size, spreadsheets.limits_for(scope))
            result = imports.import_file(scope=scope, kind=kind, content=file.read_bytes(), filename=file.name)
        except imports.ImportRejected as rejected:
            for error in rejected.errors:
                where = f"row {error['row']}" + (f", column {error['column']}" if error.get("column") else "")
                field = f" [{error['field']}]" if error.get("field") else ""
                self.stderr.write(f"{file.name}: {where}{field}: {error['message']}")
            raise CommandError(rejected.message) from None
        self.stdout.write(f"{file.name}: {result.rows} rows, {result.created} created, {result.updated} updated")
