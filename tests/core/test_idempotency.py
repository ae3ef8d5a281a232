"""Idempotent creates through the API: the create and its recorded answer commit together, so a retry learns what
happened — the stored answer when the create committed, a fresh run when it did not — and never creates twice.

Driven with `POST /api/v1/organizations` as the district regulator (any create behaves the same).
"""

import datetime as dt
import json

import pytest
from django.utils import timezone

from tests.conftest import BANAN, uscc_for
from wufei.core.models import IdempotencyRecord
from wufei.registry import services as registry_services
from wufei.registry.models import Organization

URL = "/api/v1/organizations"


def body(**overrides):
    return {"uscc": uscc_for(BANAN), "name": "重庆某电子科技有限公司", "region": BANAN, "roles": ["generator"],
            "address": "巴南区界石镇", "annual_hazardous_waste_tonnes": "42.5", **overrides}


def post(client, data, key, **headers):
    text = data if isinstance(data, str) else json.dumps(data)
    return client.post(URL, text, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key,
                       HTTP_ACCEPT_LANGUAGE="en", **headers)


@pytest.fixture
def regulator(regulator_of):
    return regulator_of(BANAN)


@pytest.fixture
def api(regulator, client_for):
    client = client_for(regulator)
    client.raise_request_exception = False  # a crash is a 500 answer, as a real client sees it
    return client


class LoseTheAnswer:
    """Outermost middleware: with `X-Lose-Answer`, the answer is lost after the request committed (a worker
    killed while sending, a dropped connection)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.headers.get("X-Lose-Answer"):
            raise ConnectionResetError("the connection dropped before the answer was sent")
        return response


def test_a_retry_gets_the_same_answer_and_nothing_is_created_twice(api):
    data = body()
    first = post(api, data, "org-1")
    # the same body, keys in another order and other spacing: the same request
    again = post(api, json.dumps(dict(reversed(list(data.items()))), indent=2), "org-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Organization.objects.filter(uscc=data["uscc"]).count() == 1


def test_the_same_key_with_a_different_body_is_refused(api):
    first = post(api, body(), "org-2")
    other = post(api, body(uscc=uscc_for(BANAN), name="另一家公司"), "org-2")
    assert first.status_code == 201
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert "different request" in other.json()["message"]
    assert not Organization.objects.filter(name="另一家公司").exists()


def test_a_retry_after_the_answer_was_lost_gets_the_committed_answer(api, regulator, client_for, settings):
    settings.MIDDLEWARE = [f"{__name__}.LoseTheAnswer", *settings.MIDDLEWARE]
    client = client_for(regulator)
    client.raise_request_exception = False
    data = body()
    lost = post(client, data, "org-3", HTTP_X_LOSE_ANSWER="1")
    assert lost.status_code == 500
    retry = post(client, data, "org-3")
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    [organization] = Organization.objects.filter(uscc=data["uscc"])
    assert retry.json()["id"] == organization.pk


def test_a_crash_after_the_create_before_the_answer_leaves_nothing_and_the_retry_runs(api, monkeypatch):
    """The view fails after the service committed its part: the whole request is rolled back with its key, so
    the retry creates the organization once (before: the organization stayed, the key was dropped, and the
    retry ran into the organization it had itself created)."""
    create = registry_services.create_organization

    def create_then_crash(**kwargs):
        create(**kwargs)
        raise RuntimeError("the worker died before answering")

    monkeypatch.setattr(registry_services, "create_organization", create_then_crash)
    data = body()
    assert post(api, data, "org-4").status_code == 500
    assert not Organization.objects.filter(uscc=data["uscc"]).exists()
    monkeypatch.setattr(registry_services, "create_organization", create)
    retry = post(api, data, "org-4")
    assert retry.status_code == 201, retry.content
    assert Organization.objects.filter(uscc=data["uscc"]).count() == 1


def test_keys_stuck_in_progress_are_expired_by_the_periodic_job(api, regulator, monkeypatch):
    from wufei.core import jobs
    from wufei.core.tasks import expire_idempotency

    monkeypatch.setattr(jobs, "close_old_connections", lambda: None)  # the test's connection stays open

    stuck = IdempotencyRecord.objects.create(user_id=regulator.pk, key="org-5", method="POST", path=URL,
                                             status_code=0, response={})
    IdempotencyRecord.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    data = body()
    waiting = post(api, data, "org-5")
    assert (waiting.status_code, waiting.json()["code"]) == (409, "idempotency_in_progress")
    fresh = post(api, body(), "org-6")
    expire_idempotency()
    assert post(api, data, "org-5").status_code == 201
    assert IdempotencyRecord.objects.filter(key="org-6", status_code=fresh.status_code).exists()  # kept 24 h
