import pytest
from django.db import transaction

from tests.conftest import BANAN, KAIZHOU
from wufei.core.scope import Scope
from wufei.programme import imports
from wufei.programme.models import Plan

ADMIN = Scope(is_platform_admin=True, username="test-admin")


@pytest.fixture
def load_plan(db):
    """Load a shipped plan ("banan" or "kaizhou") through the import path, in the test's own transaction."""

    def load(key: str) -> Plan:
        return imports.load_shipped(scope=ADMIN, key=key)

    return load


@pytest.fixture(scope="module")
def shipped_db(django_db_setup, django_db_blocker):
    """Both shipped plans, loaded once for the module inside a transaction rolled back at its end; each test runs
    in a savepoint of its own on top (pytest-django's `db`). A module using this must not load them again."""
    with django_db_blocker.unblock(), transaction.atomic():
        for key in ("banan", "kaizhou"):
            imports.load_shipped(scope=ADMIN, key=key)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def banan(shipped_db, db):
    return Plan.objects.get(code="banan-2022")


@pytest.fixture
def kaizhou(shipped_db, db):
    return Plan.objects.get(code="kaizhou-2023")


__all__ = ["BANAN", "KAIZHOU", "ADMIN"]
