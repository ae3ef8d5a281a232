"""`wufei export organizations FILE.xlsx` (or sites, vehicles, permits), in the import layout."""

from pathlib import Path

from django.core.management.base import BaseCommand

from wufei.core.scope import Scope
from wufei.registry import exports, imports


class Command(BaseCommand):
    help = "Export organizations, sites, vehicles or permits to .xlsx (the layout `wufei import` reads)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(imports.SPECS))
        parser.add_argument("file", type=Path)

    def handle(self, *args, kind, file, **options):
        file.write_bytes(exports.export_xlsx(Scope(is_platform_admin=True), kind))
        self.stdout.write(f"wrote {file}")
