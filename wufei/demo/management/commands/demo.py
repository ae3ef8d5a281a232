"""`wufei demo`: build the demo district (wufei/demo/builders.py says how), print the address and accounts."""

import importlib
import time
import unicodedata

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from wufei.core import installation
from wufei.core.errors import WufeiError
from wufei.demo import registry as registry_demo
from wufei.demo.builders import BUILDERS, reset_demo


class _Null:
    def write(self, *args, **kwargs):
        pass


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


class Command(BaseCommand):
    help = ("Build the demo district (Banan 巴南区 and Kaizhou 开州区 from the plans) with demo accounts into an "
            "empty database (or one the demo built), then print the platform address and the accounts. Safe to "
            "run again: a demo already present is left as it is, accounts and passwords included. Refuses a "
            "database that holds data of its own. The demo accounts' shared password is wufei-demo-2026.")

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="delete the rows the demo created (found through the audit chain) and build "
                                 "it again")
        parser.add_argument("--quiet", action="store_true", help="print nothing (errors still go to stderr)")
        parser.add_argument("--skip-if-not-demo", action="store_true",
                            help="on a database that holds data of its own, say so and exit 0 (bin/up)")

    def handle(self, *args, **options):
        quiet = options["quiet"]
        out = _Null() if quiet else self.stdout
        if installation.holds_real_data():
            message = ("this database holds data of its own (organizations or accounts) and is not a demo "
                       "database: the demo is built only into a new database (set WUFEI_DATABASE_URL to one)")
            if options["skip_if_not_demo"]:
                out.write(f"Demo not loaded: {message}.")
                return
            raise CommandError(message)
        builders = [importlib.import_module(path) for path in BUILDERS]
        started = time.perf_counter()
        built = []
        try:
            with transaction.atomic():
                installation.mark_demo()
                if options["reset"]:
                    removed = reset_demo()
                    out.write(f"Removed {removed} demo rows and accounts.")
                for builder in builders:
                    name = builder.__name__.rsplit(".", 1)[1]
                    if builder.is_built():
                        continue
                    out.write(f"Building the {name} demo …")
                    builder.build(out)
                    built.append(name)
        except (ProtectedError, RestrictedError) as exc:
            raise CommandError(f"cannot reset: rows created outside the demo still use demo rows ({exc}); "
                               "nothing was changed") from exc
        except IntegrityError as exc:
            raise CommandError(f"demo could not be built: {exc} — if part of an earlier demo is still there, "
                               "run `wufei demo --reset`") from exc
        except WufeiError as exc:
            details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in exc.errors)
            raise CommandError(f"demo could not be built: {exc.message} {details} — if part of an earlier demo "
                               "is still there, run `wufei demo --reset`") from exc
        if quiet:
            return
        elapsed = time.perf_counter() - started
        if built:
            self.stdout.write(f"Demo built in {elapsed:.1f} s ({', '.join(built)}).")
        else:
            self.stdout.write("The demo is already present: nothing added (use --reset to build it again).")
        self._print_summary()
        self._print_accounts()

    def _print_summary(self):
        counts = registry_demo.summary()
        self.stdout.write(
            f"  {counts['organizations']} organizations (Banan {counts['banan']}, Kaizhou {counts['kaizhou']}), "
            f"{counts['sites']} sites, {counts['permits']} permits with {counts['permit_lines']} lines, "
            f"{counts['vehicles']} vehicles, {counts['departments']} departments, {counts['zones']} zones")

    def _print_accounts(self):
        base = settings.BASE_URL.rstrip("/")
        self.stdout.write("")
        self.stdout.write(f"Platform: {base}/   sign in at {base}/accounts/login/")
        self.stdout.write(f"Password of every demo account: {registry_demo.DEMO_PASSWORD}")
        self.stdout.write("")
        password = registry_demo.DEMO_PASSWORD
        rows = [("username", "password", "role", "sees")] + [
            (username, password, role, sees) for username, role, sees in registry_demo.account_rows()]
        widths = [max(display_width(row[i]) for row in rows) + 2 for i in range(3)]
        for row in rows:
            cells = "".join(pad(cell, width) for cell, width in zip(row[:3], widths, strict=True))
            self.stdout.write(f"  {cells}{row[3]}")
