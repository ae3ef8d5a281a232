"""The HJ 1259 ledger is never read stale: scans mark their units' years dirty in the same transaction, the queue
rebuilds them after the commit, and readers rebuild whatever the queue has not reached yet."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import run_queued
from tests.manifests.conftest import draft, run
from wufei.ledgers import upkeep
from wufei.ledgers.models import LedgerDirty, LedgerMonth

pytestmark = pytest.mark.django_db


def _generated(org, year):
    return sum(LedgerMonth.objects.filter(organization=org, year=year).values_list("generated", flat=True),
               Decimal(0))


def test_a_batch_marks_its_year_and_the_queued_job_rebuilds_it(chain, queue_held,
                                                               django_capture_on_commit_callbacks):
    year = timezone.localdate().year
    with django_capture_on_commit_callbacks(execute=True):
        chain.record(count=2, tonnes="0.5")
    assert set(LedgerDirty.objects.values_list("organization_id", "year")) == {(chain.generator.pk, year)}
    assert _generated(chain.generator, year) == 0  # nobody has rebuilt it yet
    assert run_queued(queue_held) == 1  # one refresh job for the transaction
    assert _generated(chain.generator, year) == Decimal("1.0")
    assert not LedgerDirty.objects.exists()


def test_a_signature_with_many_scans_queues_one_refresh_for_all_its_units(chain, queue_held):
    """All the scans of one transaction (a pickup of three containers) share one on-commit refresh."""
    from django.db import connection, transaction

    containers = chain.record(count=3, tonnes="0.4")
    manifest = draft(chain, containers)
    run(chain, manifest, "submit", "generator_admin")
    with transaction.atomic():
        run(chain, manifest, "pickup", "driver")
        refreshes = [entry[1] for entry in connection.run_on_commit if isinstance(entry[1], upkeep._Refresh)]
    assert len(refreshes) == 1 and refreshes[0].organization_ids >= {chain.generator.pk}


def test_readers_rebuild_what_the_queue_has_not_reached(chain, queue_held, scope_of_user):
    from wufei.ledgers import declarations, selectors

    year = timezone.localdate().year
    chain.record(count=1, tonnes="0.7")  # the job stays queued: no worker ran
    assert LedgerDirty.objects.filter(organization=chain.generator, year=year).exists()
    months = list(selectors.ledger_months(scope_of_user(chain.generator_admin), chain.generator.pk, year))
    assert sum((m.generated for m in months), Decimal(0)) == Decimal("0.7")
    assert not LedgerDirty.objects.exists()
    chain.record(count=1, tonnes="0.3")
    assert declarations.ledger_figures(chain.generator.pk, year)["900-402-06"][
        "generated"] == Decimal("1.0")


def test_a_rolled_back_scan_leaves_no_mark(chain):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        chain.record(count=1, tonnes="0.2")
        raise RuntimeError("the batch failed")
    assert not LedgerDirty.objects.exists()
