"""`wufei demo`: build a believable district from the plans, so a newcomer sees a living platform.

Each domain with demo data has a module `wufei/<domain>/demo.py` offering

    build(stdout) -> dict | None   register its rows through its services, inside
                                   `audit.acting_as(DEMO_ACTOR)` (wufei.registry.demo.DEMO_ACTOR,
                                   "demo"); write progress to stdout (may be None)
    is_built() -> bool             whether its rows are already there

listed in BUILDERS in the order they depend on each other (the registry first; tracking,
manifests, ledgers … later). A builder that is already built is skipped, so running the command
twice adds nothing, and a domain added later is built on top of an existing demo.

`--reset` first deletes what the demo created. The audit chain knows those rows: every row whose
"created" event carries the actor label "demo" and that no event has deleted since. They are
deleted newest first (children before parents), each deletion being an audit event itself, so
the chain stays whole; then the demo accounts (marked by their e-mail domain) go. Rows that
other users created are kept, except those that cascade with a demo row (a site someone added
to a demo unit); if one of them protects a demo row, the reset stops and nothing changes.
The shipped reference data (waste list, methods, regions) is never touched; the demo's zones,
being rows the demo created, go with the rest.
"""

import importlib
import time
import unicodedata

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from wufei.core import audit
from wufei.core.errors import WufeiError

BUILDERS = ["wufei.registry.demo", "wufei.tracking.demo", "wufei.manifests.demo", "wufei.ledgers.demo",
            "wufei.programme.demo", "wufei.indicators.demo", "wufei.alerts.demo",
            "wufei.cases.demo"]


class _Null:
    def write(self, *args, **kwargs):
        pass


def reset_demo() -> int:
    """Delete the rows the demo created (see the module docstring); return how many, accounts included.

    Rows go newest first, as `AuditedModel.delete()` would take them one by one (a "deleted" event,
    then the row), but each run of consecutive rows of one model is deleted in one statement.
    """
    from wufei.core.models import AuditEvent
    from wufei.registry.demo import DEMO_ACTOR, DEMO_EMAIL_DOMAIN

    created = list(AuditEvent.objects.filter(actor_label=DEMO_ACTOR, action="created")
                   .order_by("-id").values_list("entity_type", "entity_id"))
    types = {entity_type for entity_type, _ in created}
    gone = set(AuditEvent.objects.filter(action="deleted", entity_type__in=types)
               .values_list("entity_type", "entity_id"))
    alive = [(t, i) for t, i in created if (t, i) not in gone]
    demo_organizations = [int(i) for t, i in alive if t == "registry.organization"]
    with audit.acting_as(DEMO_ACTOR):
        for path in reversed(BUILDERS):  # later domains first: their rows hang on the registry's
            module = importlib.import_module(path)
            if hasattr(module, "reset"):
                module.reset(demo_organizations)
    alive = [(t, i) for t, i in alive if t.split(".")[0] not in ("tracking", "ledgers")]  # swept by the hooks
    rows = {}
    for entity_type in {t for t, _ in alive}:
        model = apps.get_model(entity_type)
        ids = [model._meta.pk.to_python(i) for t, i in alive if t == entity_type]
        for pk, row in model._default_manager.in_bulk(ids).items():
            rows[(entity_type, str(pk))] = row
    runs: list[list] = []  # consecutive rows of one model, newest first
    for key in alive:
        row = rows.get(key)
        if row is None:
            continue
        if runs and type(runs[-1][0]) is type(row):
            runs[-1].append(row)
        else:
            runs.append([row])
    with audit.acting_as(DEMO_ACTOR):
        for run in runs:
            for row in run:
                audit.record(entity=row, action="deleted", payload={"values": audit.snapshot(row)})
            type(run[0])._default_manager.filter(pk__in=[row.pk for row in run]).delete()
        users = list(get_user_model().objects.filter(email__endswith="@" + DEMO_EMAIL_DOMAIN))
        for user in users:  # accounts are audited by signals on save only: record their deletion here
            audit.record(entity=user, action="account_deleted", payload={"username": user.get_username()})
        get_user_model().objects.filter(pk__in=[user.pk for user in users]).delete()
    return sum(len(run) for run in runs) + len(users)


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
        from wufei.core import installation

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
                    name = builder.__name__.split(".")[1]
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
        from wufei.registry import demo as registry_demo

        counts = registry_demo.summary()
        self.stdout.write(
            f"  {counts['organizations']} organizations (Banan {counts['banan']}, Kaizhou {counts['kaizhou']}), "
            f"{counts['sites']} sites, {counts['permits']} permits with {counts['permit_lines']} lines, "
            f"{counts['vehicles']} vehicles, {counts['departments']} departments, {counts['zones']} zones")

    def _print_accounts(self):
        from wufei.registry.demo import DEMO_PASSWORD, account_rows

        base = settings.BASE_URL.rstrip("/")
        self.stdout.write("")
        self.stdout.write(f"Platform: {base}/   sign in at {base}/accounts/login/")
        self.stdout.write(f"Password of every demo account: {DEMO_PASSWORD}")
        self.stdout.write("")
        rows = [("username", "password", "role", "sees")] + [
            (username, DEMO_PASSWORD, role, sees) for username, role, sees in account_rows()]
        widths = [max(display_width(row[i]) for row in rows) + 2 for i in range(3)]
        for row in rows:
            cells = "".join(pad(cell, width) for cell, width in zip(row[:3], widths, strict=True))
            self.stdout.write(f"  {cells}{row[3]}")
