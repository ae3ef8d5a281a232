"""On PostgreSQL a request that may write takes the audit chain's head before anything else and runs in one
transaction: writers queue at the head instead of deadlocking over rows they locked first (measured under load with
bench/load.py), and a write that ends in a server error leaves nothing behind."""

import pytest
from django.db import connection

from wufei.core import audit
from wufei.core.models import ApiToken
from wufei.registry import api as registry_api

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="SQLite has no row locks: its one writer is the database's own")]


def test_a_write_takes_the_chain_head_first_and_a_read_does_not(client_for, make_user, monkeypatch):
    order = []
    monkeypatch.setattr(audit, "lock_chain", lambda: order.append("head"))
    real = registry_api.issue_token
    monkeypatch.setattr(registry_api, "issue_token", lambda **kw: order.append("write") or real(**kw))
    client = client_for(make_user())
    client.get("/api/v1/tokens")
    assert order == []
    assert client.post("/api/v1/tokens", {"name": "laptop"}, content_type="application/json").status_code == 201
    assert order == ["head", "write"]


def test_a_write_that_ends_in_a_server_error_leaves_nothing(client_for, make_user, monkeypatch):
    real = registry_api.issue_token

    def issue_then_break(**kwargs):
        real(**kwargs)
        raise ZeroDivisionError("broke after writing")

    monkeypatch.setattr(registry_api, "issue_token", issue_then_break)
    user = make_user()
    client = client_for(user)
    client.raise_request_exception = False
    assert client.post("/api/v1/tokens", {"name": "laptop"}, content_type="application/json").status_code == 500
    assert not ApiToken.objects.filter(user=user).exists()
