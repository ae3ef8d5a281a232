"""`wufei ledger build --year 2026 [--organization USCC]` and `wufei ledger balance --year … --organization …`."""

import time

from django.core.management.base import BaseCommand, CommandError

from wufei.core.scope import Scope
from wufei.ledgers import balance, compute
from wufei.registry.models import Organization

SYSTEM = Scope(is_platform_admin=True, username="system")


class Command(BaseCommand):
    help = ("Hazardous waste ledger. `build` rebuilds the monthly ledger of a year from the scan events (all "
            "organizations, or one); `balance` prints one organization's mass balance.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["build", "balance"])
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--organization", help="USCC of one organization (required for balance)")

    def handle(self, *args, **options):
        organization = None
        if options["organization"]:
            organization = Organization.objects.filter(uscc=options["organization"].strip().upper()).first()
            if organization is None:
                raise CommandError(f"no organization with USCC {options['organization']}")
        if options["action"] == "build":
            started = time.perf_counter()
            rows = compute.build_ledger(year=options["year"],
                                       organization_ids=None if organization is None else [organization.pk])
            who = organization.uscc if organization else "all organizations"
            self.stdout.write(f"{rows} ledger rows for {options['year']} ({who}) "
                              f"in {time.perf_counter() - started:.1f} s")
            return
        if organization is None:
            raise CommandError("balance needs --organization USCC")
        result = balance.mass_balance(SYSTEM, organization.pk, options["year"])
        for code in result["codes"]:
            state = "balanced" if code["balanced"] else "NOT balanced"
            self.stdout.write(f"{code['waste']}: expected {code['expected_closing']} t, "
                              f"stock {code['actual_stock']} t, difference {code['difference']} t — {state}")
            for record in code["records"]:
                amount = "" if record["amount"] is None else f"{record['amount']} t "
                self.stdout.write(f"    {record['type']}: {record['container']} {amount}{record['message']}")
        if not result["codes"]:
            self.stdout.write("no hazardous waste recorded")
