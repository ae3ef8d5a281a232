"""Twenty people sign the same step of the same manifest at the same moment: exactly one signature wins.

PostgreSQL only: SQLite serializes writers with IMMEDIATE transactions, so there is no race to lose there.
"""

import threading

import pytest
from django.db import connection, connections

from tests.conftest import ensure_catalogs
from tests.manifests.conftest import draft
from wufei.core import audit
from wufei.core.errors import Conflict
from wufei.core.scope import scope_for
from wufei.manifests import services
from wufei.manifests.models import Manifest, Signature
from wufei.tracking.models import ScanEvent

SIGNERS = 20


@pytest.fixture
def catalogs(transactional_db):
    ensure_catalogs()


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs a server database; SQLite serializes writers with IMMEDIATE transactions")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_simultaneous_signers_one_wins(catalogs, chain, member_of):
    containers = chain.record(count=3)
    manifest = draft(chain, containers)
    services.sign(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk, step="submit",
                  version=manifest.version)
    version = Manifest.objects.get(pk=manifest.pk).version
    drivers = [scope_for(member_of(chain.transporter, "driver")) for _ in range(SIGNERS)]
    barrier = threading.Barrier(SIGNERS)
    outcomes, errors = [], []

    def sign(scope):
        try:
            barrier.wait(timeout=30)
            services.sign(scope=scope, manifest_id=manifest.pk, step="pickup", version=version)
            outcomes.append("signed")
        except Conflict as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign, args=(scope,)) for scope in drivers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert outcomes.count("signed") == 1
    assert sorted(set(outcomes) - {"signed"}) in (["stale_version"], ["stale_version", "step_not_allowed"],
                                                  ["step_not_allowed"])
    assert Signature.objects.filter(manifest_id=manifest.pk, step="pickup").count() == 1
    assert Manifest.objects.get(pk=manifest.pk).status == "in_transit"
    for container in containers:  # loaded and handed over once each
        kinds = list(ScanEvent.objects.filter(container=container).values_list("kind", flat=True))
        assert kinds.count("handed_over") == 1 and kinds.count("loaded") == 1
    assert audit.verify_chain().ok
