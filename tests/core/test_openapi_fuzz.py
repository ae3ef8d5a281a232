"""Every operation of /api/v1/openapi.json under Schemathesis, as a regulator, a generator and a driver.

Each operation gets a few generated requests that fit its schema and a few that break it (deterministic: the same
requests on every run). No answer may be a server error, every status must be one the operation documents, and
every body must match the documented schema. The requests go to the WSGI application in this process, so they see
the test's database (SQLite, or PostgreSQL with WUFEI_DATABASE_URL).

WUFEI_FUZZ_EXAMPLES raises the number of requests per operation and mode for a longer local run.
"""

import os

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from wufei.registry.models import Site
from wufei.wsgi import application

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: int(os.environ.get("WUFEI_FUZZ_EXAMPLES", "2")),
            GenerationMode.NEGATIVE: int(os.environ.get("WUFEI_FUZZ_EXAMPLES", "2"))}
# Requests that break the schema are refused before any permission is checked: one party is enough for them.
MODES = {"regulator": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE), "generator": (GenerationMode.POSITIVE,),
         "driver": (GenerationMode.POSITIVE,)}
CSRF = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"  # a well-formed CSRF secret, sent as cookie and header (double submit)

pytestmark = pytest.mark.django_db


def _settings(mode):
    return hypothesis.settings(
        max_examples=EXAMPLES[mode], derandomize=True, database=None, deadline=None,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
    )


@pytest.fixture
def test_transaction_kept():
    """The WSGI application closes the database connection after each request (as a server should); the test's
    transaction lives on that connection, so for the run the signal is unhooked, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def parties(make_org, member_of, regulator_of, make_site, make_vehicle):
    """Three callers logged in with a session (a token could be revoked by the run's own DELETE /tokens/{id})."""
    generator = make_org(roles=("generator",))
    make_site(generator, kind=Site.Kind.STORAGE)
    carrier = make_org(roles=("transporter",))
    make_vehicle(carrier)
    users = {"regulator": regulator_of(), "generator": member_of(generator, role="admin"),
             "driver": member_of(carrier, role="driver")}
    sessions = {}
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[name] = {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}
    return sessions


def _negatable(operation) -> bool:
    """Whether Schemathesis can make a request that breaks the schema (an operation taking only free text
    in its path has none)."""
    if list(operation.body) or len(operation.query):
        return True
    return any(p.definition.get("schema", {}).get("type") not in (None, "string") for p in operation.path_parameters)


def _exercise(operation, mode, cookies, statuses: list[int]) -> None:
    headers = {"X-CSRFToken": CSRF, "Accept-Language": "en"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @_settings(mode)
    def run(case):
        statuses.append(case.call_and_validate(headers=headers, cookies=cookies, checks=CHECKS).status_code)

    run()


@pytest.mark.parametrize("party", list(MODES))
def test_every_operation_answers_within_its_schema(test_transaction_kept, parties, party):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    failures, exercised, statuses = [], 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES[party]:
            if mode is GenerationMode.NEGATIVE and not _negatable(operation):
                continue
            try:
                _exercise(operation, mode, parties[party], statuses)
            except Unsatisfiable:
                continue
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation's failure is reported
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
            exercised += 1
    assert exercised >= 188
    assert statuses.count(401) < len(statuses) / 10  # the session holds: the requests reach the operations
    assert not failures, f"{len(failures)} failing operations:\n\n" + "\n\n".join(failures)
