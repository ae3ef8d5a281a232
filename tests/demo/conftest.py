"""The demo district, built once per test run (per database): every module of this package reads it.

`wufei demo` takes minutes, so it is built once for the package inside a transaction rolled back at the end;
each test runs in a savepoint of its own on top of it (pytest-django's `db`), so a test that resets or rebuilds
the demo leaves the next one the same data. The package's tests run together on one xdist worker (the group
"demo", bin/test passes --dist loadgroup) and are marked `slow` (`-m "not slow"` leaves them out while working).
"""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/demo/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("demo"))
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="package")
def demo_db(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER), transaction.atomic():
        call_command("demo", quiet=True)
        # PostgreSQL: check the deferred foreign keys of the build now, once; otherwise every test's teardown
        # (Django's TestCase checks constraints) checks the whole demo again (seconds per test)
        connection.check_constraints()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def built(demo_db, db):
    """The demo, in a savepoint of the test's own."""
