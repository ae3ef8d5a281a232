"""What the scenario stories share: people with accounts, and a client per party that speaks only the public API.

A scenario (tests/scenarios/test_*.py) is a story told in its module docstring (Markdown, with the expected
figures and their arithmetic) and driven only as its users would: accounts and regulator memberships are made
here (signing up is not what the stories are about); everything else — registering units, recording batches,
signing manifests, rebuilding ledgers, handling alerts, answering data requests — goes through `/api/v1` as the
party who does it in real life, or through a `wufei` command as the operator would run it. `render.py` turns
the docstrings into docs/scenarios/*.md; tests/scenarios/test_docs.py keeps those pages current.
"""

import io
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings

from wufei.registry.models import DepartmentMembership, RegulatorMembership

PASSWORD = "scenario-pw-2026"


class Party:
    """One person at work: a logged-in browser session that calls the API and checks each answer's status."""

    def __init__(self, user, label: str):
        self.user, self.label = user, label
        self.client = Client()
        self.client.force_login(user)

    def call(self, method: str, url: str, body=None, *, expect: int | tuple = 200, files=None, **headers):
        url = url if url.startswith("/") else f"/api/v1/{url}"
        if files is not None:
            answer = self.client.post(url, {**(body or {}), **files}, **headers)
        elif body is None:
            answer = self.client.generic(method, url, **headers)
        else:
            answer = self.client.generic(method, url, json.dumps(body, default=str), content_type="application/json",
                                         **headers)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert answer.status_code in expected, f"{self.label} {method} {url}: {answer.status_code} {answer.content!r}"
        if answer.get("Content-Type", "").startswith("application/json"):
            return answer.json()
        return answer

    def get(self, url, **kwargs):
        return self.call("GET", url, **kwargs)

    def post(self, url, body=None, **kwargs):
        return self.call("POST", url, {} if body is None and "files" not in kwargs else body, **kwargs)

    def patch(self, url, body, **kwargs):
        return self.call("PATCH", url, body, **kwargs)

    def put(self, url, body, **kwargs):
        return self.call("PUT", url, body, **kwargs)

    def sign(self, manifest_id: int, step: str, expect=200, **data):
        """Sign a manifest step with the version the party sees now (as the app does after loading the page)."""
        version = self.get(f"manifests/{manifest_id}")["version"]
        return self.post(f"manifests/{manifest_id}/sign", {"step": step, "version": version, "data": data},
                         expect=expect)


FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """A story module runs on one xdist worker (bin/test passes --dist loadgroup), so its story is told once."""
    for item in items:
        if "/tests/scenarios/test_" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group(f"scenario-{item.path.stem}"))


@pytest.fixture(scope="module")
def story_db(django_db_setup, django_db_blocker):
    """One transaction for a module's story, rolled back after its last test: the story's setup (a module-scoped
    fixture built on `module_people`) runs once, and each test runs in a savepoint of its own on top of it
    (pytest-django's `db`), so what one test changes the next one does not see."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER), transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def module_people(story_db):
    """`people` for a story told once per module (see story_db)."""
    return _make_person


@pytest.fixture
def people(db, settings):
    """make(label, regulator_of=None, department=None) -> Party: an account, optionally a regulator or a
    department officer (the memberships an administrator grants); enterprise roles are given through the API."""
    settings.PASSWORD_HASHERS = FAST_HASHER
    return _make_person


def _make_person(label: str, *, regulator_of: str | None = None, department=None) -> Party:
    user = get_user_model().objects.create_user(username=label, password=PASSWORD)
    if regulator_of:
        RegulatorMembership.objects.create(user=user, region_id=regulator_of, authority=f"{label}")
    if department is not None:
        DepartmentMembership.objects.create(user=user, department=department)
    return Party(user, label)


def command(*args) -> str:
    """Run a `wufei` command as the operator would; return what it printed."""
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def tonnes(value) -> Decimal:
    return Decimal(str(value))
