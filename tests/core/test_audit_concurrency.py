"""Writers in parallel threads never fork the chain (PostgreSQL: row lock on the chain head)."""

import threading

import pytest
from django.db import connection, connections

from wufei.core import audit


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs a server database; SQLite serializes writers with IMMEDIATE transactions")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # restore the catalogs the flush removes
def test_parallel_writers_keep_one_unbroken_chain():
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
