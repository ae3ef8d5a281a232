"""Writers in parallel threads never fork the chain (PostgreSQL: row lock on the chain head)."""

import threading

import pytest
from django.db import connection, connections

from wufei.core import audit
from wufei.core.models import AuditChainHead, AuditEvent


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs a server database; SQLite serializes writers with IMMEDIATE transactions")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # restore the catalogs the flush removes
def test_parallel_writers_keep_one_unbroken_chain():
    # the serialized restore (JSON) keeps times to the millisecond only, so events restored from it no longer
    # match their links: the test starts a chain of its own (the flush after it removes it again)
    AuditEvent.objects.all().delete()
    AuditChainHead.objects.all().delete()
    errors = []

    def write(worker: int):
        try:
            for n in range(20):
                audit.record_raw(entity_type="test.thing", entity_id=f"{worker}-{n}", action="created")
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = audit.verify_chain()
    assert report.ok and report.checked == 120
