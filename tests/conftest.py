import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from wufei.core.ids import make_uscc
from wufei.core.scope import scope_for
from wufei.registry.models import (
    Department,
    DepartmentMembership,
    Membership,
    OperatingPermit,
    Organization,
    PermitLine,
    RegulatorMembership,
    Site,
    Vehicle,
)

BANAN = "500113"
REGISTERED_ON = dt.date(2010, 1, 1)  # the units made by `make_org`, unless a test says otherwise
KAIZHOU = "500154"
CHONGQING = "500000"

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def ensure_catalogs():
    """Reload the shipped catalogs if a transactional test's flush emptied them (PostgreSQL-only thread tests)."""
    from wufei.catalog import reference
    from wufei.catalog.models import Region

    if not Region.objects.exists():
        reference.load()


def _restart_audit_chain():
    """A serialized rollback restores the rows written at migrate time through JSON, which keeps times to the
    millisecond: their audit links, hashed with microseconds, no longer verify. Those links are the test
    database's own, not the test's: the chain starts empty instead."""
    from wufei.core.chain import AuditChainHead, AuditEvent

    AuditEvent.objects.all().delete()
    AuditChainHead.objects.all().delete()


@pytest.fixture(autouse=True)
def _catalogs_present(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is None and "db" not in request.fixturenames:
        return
    if marker is not None and marker.kwargs.get("transaction"):
        # a transactional test before this one (on this worker) flushed the database, catalogs included
        request.getfixturevalue("transactional_db")
        if marker.kwargs.get("serialized_rollback"):
            _restart_audit_chain()
    else:
        request.getfixturevalue("db")
    ensure_catalogs()


@pytest.fixture
def english():
    """Messages asserted in English (the platform's default language is zh-hans)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def uscc_for(region: str = BANAN, kind: str = "91") -> str:
    number = next(_serial)
    return make_uscc(kind, region, f"MA{number:07d}")


@pytest.fixture
def make_user(db):
    def make(username=None, password="wufei-test-pw", **extra):
        username = username or f"user{next(_serial)}"
        return get_user_model().objects.create_user(username=username, password=password, **extra)

    return make


@pytest.fixture
def make_org(db):
    def make(name=None, region=BANAN, roles=("generator",), **fields):
        # registered long before the years the tests evaluate: the registry's history starts on this day
        values = {"registered_on": REGISTERED_ON, **{f"is_{r}": True for r in roles}}
        values.update(fields)
        return Organization.objects.create(
            uscc=values.pop("uscc", None) or uscc_for(region), name=name or f"测试单位{next(_serial)}",
            region_id=region, **values,
        )

    return make


@pytest.fixture
def member_of(make_user):
    def make(organization, role="admin", username=None):
        user = make_user(username)
        Membership.objects.create(user=user, organization=organization, role=role)
        return user

    return make


@pytest.fixture
def regulator_of(make_user):
    def make(region=BANAN, username=None):
        user = make_user(username)
        RegulatorMembership.objects.create(user=user, region_id=region, authority=f"{region}生态环境局")
        return user

    return make


@pytest.fixture
def department_user(make_user):
    def make(region=BANAN, name="区城市管理局"):
        user = make_user()
        department = Department.objects.create(name=name, region_id=region)
        DepartmentMembership.objects.create(user=user, department=department)
        return user

    return make


@pytest.fixture
def platform_admin(make_user):
    return make_user("platform-admin", is_superuser=True, is_staff=True)


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def scope_of_user():
    return scope_for


@pytest.fixture
def make_site():
    def make(organization, kind=Site.Kind.STORAGE, **fields):
        number = next(_serial)
        return Site.objects.create(organization=organization, code=f"{organization.uscc}{number % 1000:03d}P",
                                   name=fields.pop("name", f"场所{number}"), kind=kind, **fields)

    return make


@pytest.fixture
def make_vehicle():
    def make(organization, plate=None, valid_until=None, **fields):
        number = next(_serial)
        return Vehicle.objects.create(
            organization=organization, plate=plate or f"渝A{number:05d}", transport_permit_number=f"渝交运{number}",
            transport_permit_valid_until=valid_until or dt.date.today() + dt.timedelta(days=365), **fields)

    return make


@pytest.fixture
def make_permit():
    def make(organization, lines=(("HW49", "1000", ("D10",)),), valid_until=None, kind="comprehensive", **fields):
        number = next(_serial)
        permit = OperatingPermit.objects.create(
            organization=organization, number=fields.pop("number", f"渝危废{number:04d}号"), kind=kind,
            valid_from=fields.pop("valid_from", dt.date.today() - dt.timedelta(days=30)),
            valid_until=valid_until or dt.date.today() + dt.timedelta(days=365), **fields)
        for target, capacity, methods in lines:
            line = PermitLine.objects.create(
                permit=permit, annual_capacity_tonnes=Decimal(capacity),
                **({"category_id": target} if target.startswith("HW") else {"waste_id": target}))
            line.methods.set(methods)
        return permit

    return make


@pytest.fixture
def queue_held():
    """Background jobs are queued and wait (tests/settings.py otherwise runs them at once, in the caller); the
    fixture yields the queue, whose pending jobs a test may run with `run_queued(queue)`."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = False
    HUEY.flush()
    try:
        yield HUEY
    finally:
        HUEY.flush()
        HUEY.immediate = True


def run_queued(queue) -> int:
    """Run the jobs waiting in a held queue, in this process; returns how many ran."""
    ran = 0
    while True:
        task = queue.dequeue()
        if task is None:
            return ran
        queue.execute(task)
        ran += 1
