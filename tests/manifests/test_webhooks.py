"""Webhooks of manifests: enqueue per party, delivery to a real local HTTP server, retries with back-off,
switch-off after repeated failures, re-enabling, no double send, and who may manage them.

The scope walk is driven by the router: every webhooks API operation must have a case in
CASES, so a new endpoint without a scope case fails `test_every_webhooks_endpoint_has_a_scope_case`.
"""

import datetime as dt
import io
import json
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.urls import Resolver404, path, resolve
from django.utils import timezone

from tests.conftest import BANAN, KAIZHOU, run_queued
from wufei.core import audit
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.manifests import webhooks
from wufei.manifests.management.commands import webhooks as command
from wufei.manifests.models import Manifest, TransportLeg, Webhook, WebhookDelivery
from wufei.manifests.webhooks_api import router

Status = WebhookDelivery.Status
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="needs a server database; SQLite serializes writers")


def _urlpatterns():
    """The project's URLs; until the router is mounted under /api/v1 there, a stand-in API mounts it."""
    from ninja import NinjaAPI

    from wufei import urls
    from wufei.core.api import Utf8JSONRenderer, api, session_or_token

    try:
        resolve("/api/v1/webhooks", urlconf=urls)
        return None
    except Resolver404:
        stand_in = NinjaAPI(auth=session_or_token, renderer=Utf8JSONRenderer(), urls_namespace="webhooks_test")
        for exception, handler in api._exception_handlers.items():
            stand_in.add_exception_handler(exception, handler)
        stand_in.add_router("", router)
        return [path("api/v1/", stand_in.urls), *urls.urlpatterns]


_stand_in = _urlpatterns()
if _stand_in is not None:
    urlpatterns = _stand_in
    pytestmark = pytest.mark.urls(__name__)


@pytest.fixture(autouse=True)
def _queue_held(queue_held):
    """Deliveries wait for the test's own deliver_due calls (the queue's send job is held)."""


class Endpoint:
    """A real HTTP server on 127.0.0.1 that records what it is sent and answers `status` (per path if set)."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.statuses = {}
        self.delay = 0.0
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with endpoint.lock:
                    endpoint.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": json.loads(body)})
                if endpoint.delay:
                    time.sleep(endpoint.delay)
                status = endpoint.statuses.get(self.path, endpoint.status)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", endpoint.url("/elsewhere"))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, where="/hook"):
        return f"http://127.0.0.1:{self.server.server_port}{where}"

    def bodies(self, where=None):
        return [r["body"] for r in self.requests if where is None or r["path"] == where]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint(settings):
    """A local endpoint, reachable because the allow-list names the loopback address (as an intranet's would)."""
    settings.OUTBOUND_ALLOW = ["127.0.0.1"]
    server = Endpoint()
    yield server
    server.close()


def make_manifest(generator, receiver, *transporters):
    manifest = Manifest(kind="hazardous", generator=generator, receiver=receiver)
    manifest.save()
    for position, transporter in enumerate(transporters, 1):
        TransportLeg.objects.create(manifest=manifest, position=position, transporter=transporter)
    return manifest


@pytest.fixture
def parties(make_org):
    return {
        "generator": make_org("产废甲", roles=("generator",)),
        "receiver": make_org("处置乙", region=KAIZHOU, roles=("receiver",)),
        "first": make_org("运输丙", roles=("transporter",)),
        "second": make_org("运输丁", roles=("transporter",)),
        "outsider": make_org("无关戊", roles=("generator",)),
    }


def hook(organization, url, **fields):
    webhook = Webhook(organization=organization, url=url, **fields)
    webhook.save()
    return webhook


# --- enqueue ---------------------------------------------------------------------------------------

def test_enqueue_one_delivery_per_active_webhook_of_each_party(parties, endpoint):
    p = parties
    generator_hooks = [hook(p["generator"], endpoint.url("/g1")), hook(p["generator"], endpoint.url("/g2"))]
    hook(p["generator"], endpoint.url("/g-off"), is_active=False, disabled_reason=webhooks.SWITCHED_OFF)
    receiver_hook = hook(p["receiver"], endpoint.url("/r"))
    first_hook = hook(p["first"], endpoint.url("/t1"))
    second_hook = hook(p["second"], endpoint.url("/t2"))
    hook(p["outsider"], endpoint.url("/x"))
    manifest = make_manifest(p["generator"], p["receiver"], p["first"], p["second"])

    assert webhooks.enqueue(manifest, "submitted") == 5
    deliveries = WebhookDelivery.objects.order_by("webhook_id")
    assert [d.webhook_id for d in deliveries] == [h.pk for h in (*generator_hooks, receiver_hook, first_hook,
                                                                 second_hook)]
    assert {(d.subject_id, d.action, d.status, d.attempts) for d in deliveries} == {
        (manifest.pk, "submitted", Status.PENDING, 0)}
    assert all(d.next_attempt_at <= timezone.now() for d in deliveries)
    assert endpoint.requests == []  # enqueue never sends


def test_a_party_in_two_roles_gets_one_delivery_per_webhook(parties, endpoint):
    p = parties
    hook(p["generator"], endpoint.url("/g"))
    manifest = make_manifest(p["generator"], p["receiver"], p["generator"])  # self-transport
    assert webhooks.enqueue(manifest, "signed") == 1


def test_enqueue_costs_one_query_when_no_webhook_applies(parties, django_assert_num_queries, endpoint):
    p = parties
    hook(p["outsider"], endpoint.url("/x"))
    manifest = make_manifest(p["generator"], p["receiver"], p["first"])
    with django_assert_num_queries(1):
        assert webhooks.enqueue(manifest, "submitted") == 0
    assert not WebhookDelivery.objects.exists()


# --- delivering ------------------------------------------------------------------------------------

def test_a_delivery_posts_ids_only_and_resets_the_failure_count(parties, endpoint):
    p = parties
    webhook = hook(p["receiver"], endpoint.url("/r"))
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=7)
    manifest = make_manifest(p["generator"], p["receiver"])
    webhooks.enqueue(manifest, "received")

    assert webhooks.deliver_due() == {"sent": 1, "delivered": 1, "retrying": 0, "failed": 0, "switched_off": 0}
    delivery = WebhookDelivery.objects.get()
    [request] = endpoint.requests
    assert request["path"] == "/r"
    assert request["body"] == {"id": manifest.pk, "action": "received", "delivery": delivery.pk}
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["User-Agent"] == "wufei-webhooks/1"
    assert (delivery.status, delivery.attempts, delivery.last_error) == (Status.DELIVERED, 1, "")
    assert Webhook.objects.get(pk=webhook.pk).consecutive_failures == 0
    assert webhooks.deliver_due() == {"sent": 0, "delivered": 0, "retrying": 0, "failed": 0, "switched_off": 0}
    assert len(endpoint.requests) == 1


def test_failures_are_retried_on_the_back_off_schedule_then_fail(parties, endpoint):
    p = parties
    hook(p["generator"], endpoint.url("/g"))
    manifest = make_manifest(p["generator"], p["receiver"])
    webhooks.enqueue(manifest, "submitted")
    endpoint.status = 500
    now = timezone.now()
    expected = [dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=2)]
    for attempt, wait in enumerate(expected, 1):
        assert webhooks.deliver_due(now=now)["retrying"] == 1
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_error) == (Status.PENDING, attempt, "HTTP 500")
        assert delivery.next_attempt_at == now + wait
        assert webhooks.deliver_due(now=now + wait - dt.timedelta(seconds=1))["sent"] == 0  # not due yet
        now += wait
    assert webhooks.deliver_due(now=now)["failed"] == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, webhooks.MAX_ATTEMPTS)
    assert webhooks.deliver_due(now=now + dt.timedelta(days=1))["sent"] == 0
    assert len(endpoint.requests) == webhooks.MAX_ATTEMPTS
    assert len({r["body"]["delivery"] for r in endpoint.requests}) == 1  # the same delivery id each time


def test_redirects_and_unreachable_addresses_count_as_failures(parties, endpoint):
    p = parties
    hook(p["generator"], endpoint.url("/moved"))
    endpoint.statuses["/moved"] = 302
    closed = Endpoint()
    dead_url = closed.url("/gone")
    closed.close()
    hook(p["receiver"], dead_url)
    webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "submitted")

    assert webhooks.deliver_due()["retrying"] == 2
    errors = dict(WebhookDelivery.objects.values_list("webhook__url", "last_error"))
    assert errors[endpoint.url("/moved")] == "HTTP 302"
    assert errors[dead_url] == "could not connect to the address"  # not which port is closed
    assert endpoint.bodies("/elsewhere") == []  # the redirect was not followed


def test_a_webhook_deleted_while_its_delivery_is_in_flight(parties, endpoint, monkeypatch):
    p = parties
    webhook = hook(p["generator"], endpoint.url("/g"))
    webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "submitted")

    def send_then_delete(url, payload, **kwargs):
        Webhook.objects.filter(pk=webhook.pk).delete()
        return "HTTP 500"

    monkeypatch.setattr(webhooks, "send", send_then_delete)
    assert webhooks.deliver_due()["sent"] == 1
    assert not WebhookDelivery.objects.exists()


def test_ten_consecutive_failures_switch_the_webhook_off(parties, endpoint):
    p = parties
    webhook = hook(p["generator"], endpoint.url("/g"))
    endpoint.status = 500
    manifests = [make_manifest(p["generator"], p["receiver"]) for _ in range(12)]
    for manifest in manifests:
        webhooks.enqueue(manifest, "submitted")

    result = webhooks.deliver_due()
    assert result == {"sent": 10, "delivered": 0, "retrying": 9, "failed": 1, "switched_off": 1}
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.consecutive_failures) == (False, 10)
    assert webhook.disabled_reason == webhooks.SWITCHED_OFF
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.FAILED}
    assert AuditEvent.objects.filter(action="switched_off", entity_id=str(webhook.pk)).count() == 1
    assert audit.verify_chain().ok
    # switched off: nothing is queued or sent any more
    assert webhooks.enqueue(manifests[0], "received") == 0
    assert webhooks.deliver_due(now=timezone.now() + dt.timedelta(days=1))["sent"] == 0
    assert len(endpoint.requests) == 10


def test_a_success_restarts_the_failure_count(parties, endpoint):
    p = parties
    webhook = hook(p["generator"], endpoint.url("/g"))
    endpoint.status = 500
    for _ in range(9):
        webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "submitted")
    webhooks.deliver_due()
    assert Webhook.objects.get(pk=webhook.pk).consecutive_failures == 9
    endpoint.status = 200
    webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "submitted")
    assert webhooks.deliver_due()["delivered"] == 1  # the nine others wait for their back-off
    assert Webhook.objects.get(pk=webhook.pk).consecutive_failures == 0
    endpoint.status = 500
    for _ in range(9):
        webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "submitted")
    webhooks.deliver_due()
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.consecutive_failures) == (True, 9)


def test_re_enabling_resets_the_count_and_delivers_again(parties, endpoint, member_of, client_for):
    p = parties
    webhook = hook(p["generator"], endpoint.url("/g"))
    endpoint.status = 500
    for _ in range(10):
        webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "submitted")
    webhooks.deliver_due()
    assert not Webhook.objects.get(pk=webhook.pk).is_active

    member = client_for(member_of(p["generator"], "member"))
    assert member.post(f"/api/v1/webhooks/{webhook.pk}/enable").status_code == 403
    admin = client_for(member_of(p["generator"], "admin"))
    response = admin.post(f"/api/v1/webhooks/{webhook.pk}/enable")
    assert response.status_code == 200
    body = response.json()
    assert (body["is_active"], body["consecutive_failures"], body["disabled_reason"]) == (True, 0, "")
    assert AuditEvent.objects.filter(action="enabled", entity_id=str(webhook.pk)).exists()

    endpoint.status = 200
    manifest = make_manifest(p["generator"], p["receiver"])
    assert webhooks.enqueue(manifest, "submitted") == 1
    assert webhooks.deliver_due()["delivered"] == 1
    assert endpoint.bodies()[-1]["id"] == manifest.pk
    deliveries = admin.get(f"/api/v1/webhooks/{webhook.pk}/deliveries").json()
    assert deliveries[0]["status"] == "delivered" and deliveries[0]["manifest_id"] == manifest.pk
    assert {d["status"] for d in deliveries[1:]} == {"failed"}


def test_the_disabled_reason_is_shown_in_the_callers_language(parties, endpoint, member_of, client_for):
    p = parties
    webhook = hook(p["generator"], endpoint.url("/g"), is_active=False, disabled_reason=webhooks.SWITCHED_OFF)
    client = client_for(member_of(p["generator"], "admin"))
    [shown] = client.get("/api/v1/webhooks", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (shown["id"], shown["disabled_reason"]) == (webhook.pk, "switched off after repeated failed deliveries")


# --- after commit, never inside the transaction: the queue sends ---------------------------------------------

def test_the_queue_sends_after_commit_only(parties, endpoint, queue_held, django_capture_on_commit_callbacks):
    p = parties
    hook(p["generator"], endpoint.url("/g"))
    hook(p["receiver"], endpoint.url("/r"))
    manifest = make_manifest(p["generator"], p["receiver"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        assert webhooks.enqueue(manifest, "signed") == 2
        assert endpoint.requests == []  # nothing is sent inside the transaction
    assert len(callbacks) == 1 and endpoint.requests == []  # one job queued for the transaction's deliveries
    assert run_queued(queue_held) == 1  # what a worker does
    assert sorted(b["action"] for b in endpoint.bodies()) == ["signed", "signed"]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.DELIVERED}


def test_a_rolled_back_change_announces_nothing(parties, endpoint, django_capture_on_commit_callbacks):
    p = parties
    hook(p["generator"], endpoint.url("/g"))
    manifest = make_manifest(p["generator"], p["receiver"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError), \
            transaction.atomic():
        webhooks.enqueue(manifest, "signed")
        raise RuntimeError("the signature failed")
    assert callbacks == []
    assert not WebhookDelivery.objects.exists()
    assert endpoint.requests == []


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_deliverers_never_send_the_same_delivery_twice(parties, endpoint):
    p = parties
    for where in ("/a", "/b", "/c"):
        hook(p["generator"], endpoint.url(where))
    for _ in range(10):
        webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "submitted")
    endpoint.delay = 0.01
    start = threading.Barrier(2)
    results, errors = [], []

    def deliver():
        try:
            start.wait()
            results.append(webhooks.deliver_due())
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    sent = [body["delivery"] for body in endpoint.bodies()]
    assert len(sent) == len(set(sent)) == 30
    assert sum(r["sent"] for r in results) == 30
    assert all(r["sent"] for r in results), results  # both took part
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.DELIVERED}


# --- the command -----------------------------------------------------------------------------------

def test_the_command_delivers_what_is_due(parties, endpoint):
    p = parties
    hook(p["generator"], endpoint.url("/g"))
    webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "submitted")
    out = io.StringIO()
    call_command("webhooks", "deliver", stdout=out)
    assert out.getvalue().strip() == "1 sent: 1 delivered, 0 to retry, 0 failed, 0 webhooks switched off"
    assert len(endpoint.requests) == 1


def test_the_command_loops_until_interrupted(parties, endpoint, monkeypatch):
    p = parties
    hook(p["generator"], endpoint.url("/g"))
    webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "submitted")
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 1:
            webhooks.enqueue(make_manifest(p["generator"], p["receiver"]), "received")
            return
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "time", types.SimpleNamespace(sleep=sleep))
    monkeypatch.setattr(command, "close_old_connections", lambda: None)  # the test's connection stays open
    out = io.StringIO()
    call_command("webhooks", "deliver", "--loop", "30", stdout=out)
    assert naps == [30, 30]
    assert [b["action"] for b in endpoint.bodies()] == ["submitted", "received"]
    assert out.getvalue().strip().endswith("stopped")


# --- the API and who may use it ----------------------------------------------------------------------

def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_administrators_register_webhooks_and_others_may_not(parties, member_of, client_for, english):
    org = parties["generator"]
    admin = client_for(member_of(org, "admin"))
    response = post(admin, "/api/v1/webhooks", {"organization_id": org.pk, "url": " https://example.org/hook "})
    assert response.status_code == 201
    body = response.json()
    assert (body["organization_id"], body["url"], body["is_active"]) == (org.pk, "https://example.org/hook", True)
    assert AuditEvent.objects.filter(action="created", entity_id=str(body["id"])).exists()
    again = post(admin, "/api/v1/webhooks", {"organization_id": org.pk, "url": "https://example.org/hook"})
    assert (again.status_code, again.json()["code"]) == (409, "webhook_exists")

    for role in ("member", "reader", "driver"):
        client = client_for(member_of(org, role))
        response = client.post("/api/v1/webhooks", json.dumps({"organization_id": org.pk,
                                                                "url": f"https://example.org/{role}"}),
                               content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 403, role
        assert response.json()["message"] == "only an administrator of the organization may manage its webhooks"
    assert Webhook.objects.filter(organization=org).count() == 1


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "javascript:alert(1)", "http://", "example.org/hook",
                                 "file:///etc/passwd", "https://exa mple.org/", "", "https://example.org/" + "x" * 500])
def test_only_http_addresses_are_accepted(parties, member_of, client_for, english, url):
    org = parties["generator"]
    response = post(client_for(member_of(org, "admin")), "/api/v1/webhooks", {"organization_id": org.pk, "url": url})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "url"
    assert not Webhook.objects.exists()


@pytest.fixture
def world(make_org, member_of, regulator_of, department_user):
    a = make_org("甲公司", region=BANAN, roles=("generator",))
    b = make_org("乙公司", region=KAIZHOU, roles=("receiver",))
    a_admin = member_of(a, "admin")
    b_admin = member_of(b, "admin")
    b_hook = hook(b, "http://127.0.0.1:9/b-secret-hook", is_active=False, consecutive_failures=10,
                  disabled_reason=webhooks.SWITCHED_OFF)
    WebhookDelivery.objects.create(webhook=b_hook, subject_id=987654321, action="b-secret-action",
                                   status=Status.FAILED, attempts=5, next_attempt_at=timezone.now(),
                                   last_error="HTTP 500")
    a_hook = hook(a, "http://127.0.0.1:9/a-own-hook")
    return {
        "a": a, "b": b, "b_hook": b_hook, "a_hook": a_hook, "b_admin": b_admin,
        "outsiders": {
            "enterprise A admin": a_admin,
            "Kaizhou regulator": regulator_of(KAIZHOU),
            "Kaizhou department": department_user(KAIZHOU),
        },
        "b_member": member_of(b, "member"),
        "b_markers": ["b-secret-hook", "b-secret-action", "987654321"],
    }


# (method, path) -> how to call it against B: url and body
CASES = {
    ("POST", "/webhooks"): lambda w: ("/api/v1/webhooks", {"organization_id": w["b"].pk,
                                                           "url": "http://127.0.0.1:9/intruder"}),
    ("GET", "/webhooks"): lambda w: (f"/api/v1/webhooks?organization={w['b'].pk}", None),
    ("DELETE", "/webhooks/{webhook_id}"): lambda w: (f"/api/v1/webhooks/{w['b_hook'].pk}", None),
    ("POST", "/webhooks/{webhook_id}/enable"): lambda w: (f"/api/v1/webhooks/{w['b_hook'].pk}/enable", None),
    ("GET", "/webhooks/{webhook_id}/deliveries"): lambda w: (f"/api/v1/webhooks/{w['b_hook'].pk}/deliveries",
                                                             None),
}


def operations(api_router):
    return {(method, route) for route, view in api_router.path_operations.items()
            for op in view.operations for method in op.methods}


def test_every_webhooks_endpoint_has_a_scope_case():
    assert operations(router) == set(CASES)


def call(client, method, url, body):
    if body is None:
        return client.generic(method, url)
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def b_state(w):
    return {"webhooks": list(Webhook.objects.filter(organization=w["b"]).order_by("pk").values()),
            "deliveries": list(WebhookDelivery.objects.filter(webhook__organization=w["b"]).order_by("pk").values())}


@pytest.mark.parametrize("who", ["enterprise A admin", "Kaizhou regulator", "Kaizhou department"])
def test_outsiders_cannot_read_or_change_b_webhooks_through_any_endpoint(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = b_state(world)
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    for (method, route), case in sorted(CASES.items()):
        url, body = case(world)
        response = call(client, method, url, body)
        text = response.content.decode("utf-8", "replace")
        for marker in world["b_markers"]:
            assert marker not in text, f"{who} saw {marker} through {method} {url}: {response.status_code}"
        if "{webhook_id}" in route:
            assert response.status_code == 404, f"{who}: {method} {url} -> {response.status_code}"
        elif method == "POST":
            assert response.status_code in (403, 404), f"{who}: {method} {url} -> {response.status_code}"
        else:
            assert response.status_code == 200 and response.json() == [], f"{who}: {method} {url}"
    assert b_state(world) == before
    assert not AuditEvent.objects.filter(pk__gt=last_event).exists()


def test_enterprise_a_sees_its_own_webhooks_only(world, client_for):
    listing = client_for(world["outsiders"]["enterprise A admin"]).get("/api/v1/webhooks").json()
    assert [w["id"] for w in listing] == [world["a_hook"].pk]


def test_b_members_read_and_b_admins_manage(world, client_for):
    b_hook = world["b_hook"]
    member = client_for(world["b_member"])
    assert [w["url"] for w in member.get("/api/v1/webhooks").json()] == [b_hook.url]
    deliveries = member.get(f"/api/v1/webhooks/{b_hook.pk}/deliveries").json()
    assert [(d["manifest_id"], d["action"], d["status"]) for d in deliveries] == [
        (987654321, "b-secret-action", "failed")]
    assert member.post(f"/api/v1/webhooks/{b_hook.pk}/enable").status_code == 403
    assert member.delete(f"/api/v1/webhooks/{b_hook.pk}").status_code == 403
    assert Webhook.objects.filter(pk=b_hook.pk).exists()

    admin = client_for(world["b_admin"])
    assert admin.post(f"/api/v1/webhooks/{b_hook.pk}/enable").json()["is_active"] is True
    assert admin.delete(f"/api/v1/webhooks/{b_hook.pk}").status_code == 204
    assert not Webhook.objects.filter(pk=b_hook.pk).exists()
    assert not WebhookDelivery.objects.filter(webhook_id=b_hook.pk).exists()
    assert AuditEvent.objects.filter(action="deleted", entity_id=str(b_hook.pk)).exists()
    assert admin.get(f"/api/v1/webhooks/{b_hook.pk}/deliveries").status_code == 404


def test_deliveries_list_the_latest_hundred_newest_first(world, client_for):
    b_hook = world["b_hook"]
    now = timezone.now()
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(webhook=b_hook, subject_id=n, action="submitted", next_attempt_at=now) for n in range(120)])
    deliveries = client_for(world["b_admin"]).get(f"/api/v1/webhooks/{b_hook.pk}/deliveries").json()
    assert len(deliveries) == 100
    assert [d["manifest_id"] for d in deliveries[:2]] == [119, 118]
    assert [d["id"] for d in deliveries] == sorted((d["id"] for d in deliveries), reverse=True)


def test_scope_helpers_agree_with_the_api(world):
    """The service layer enforces the same rules when called directly (system jobs, other apps)."""
    from wufei.core.errors import NotFound, PermissionDenied

    outsider = scope_for(world["outsiders"]["enterprise A admin"])
    with pytest.raises(NotFound):
        webhooks.deliveries_of(outsider, world["b_hook"].pk)
    with pytest.raises(PermissionDenied):
        webhooks.enable_webhook(scope=scope_for(world["b_member"]), webhook_id=world["b_hook"].pk)


# --- which addresses may be called ---------------------------------------------------------------

@pytest.fixture
def dns(monkeypatch):
    """Host names resolved as the test says (others as the machine does): {name: address}."""
    import socket

    names = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return real(names[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


BAD_ADDRESSES = [
    "http://127.0.0.1/hook", "http://localhost:8000/hook", "http://0x7f000001/hook", "http://2130706433/hook",
    "http://017700000001/hook", "http://127.1/hook", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook",
    "http://10.1.2.3/hook", "http://172.16.0.1/hook", "https://192.168.1.1/hook", "http://169.254.169.254/latest",
    "http://100.100.100.200/latest/meta-data", "http://100.64.0.1/hook", "http://224.0.0.1/hook",
    "http://0.0.0.0/hook", "http://[::]/hook", "http://[fd00:ec2::254]/hook", "http://[fe80::1]/hook",
    "http://[2002:7f00:1::]/hook", "http://intranet.example/hook",
]


def test_webhooks_to_addresses_off_the_public_internet_are_refused(parties, member_of, client_for, english, dns):
    dns["intranet.example"] = "10.20.30.40"
    org = parties["generator"]
    admin = client_for(member_of(org, "admin"))
    answers = {url: admin.post("/api/v1/webhooks", json.dumps({"organization_id": org.pk, "url": url}),
                               content_type="application/json", HTTP_ACCEPT_LANGUAGE="en") for url in BAD_ADDRESSES}
    refused = {url: (r.status_code, r.json()["code"], r.json()["errors"][0]["field"]) for url, r in answers.items()}
    assert refused == {url: (422, "webhook_address_not_allowed", "url") for url in BAD_ADDRESSES}
    assert "public internet" in answers[BAD_ADDRESSES[0]].json()["message"]
    assert not Webhook.objects.exists()
    dns["hooks.example"] = "93.184.215.14"
    assert post(admin, "/api/v1/webhooks", {"organization_id": org.pk,
                                            "url": "https://hooks.example/wufei"}).status_code == 201


def test_a_name_that_resolves_to_a_private_address_at_delivery_time_is_not_called(parties, member_of, client_for,
                                                                                  dns):
    """Registered while its name resolved to a public address; by the time of sending it resolves to the loopback
    interface, where a server listens: nothing reaches that server, the attempt fails without naming a port."""
    org = parties["generator"]
    admin = client_for(member_of(org, "admin"))
    local = Endpoint()
    try:
        dns["rebind.example"] = "93.184.215.14"
        response = post(admin, "/api/v1/webhooks", {"organization_id": org.pk,
                                                    "url": f"http://rebind.example:{local.server.server_port}/h"})
        assert response.status_code == 201
        dns["rebind.example"] = "127.0.0.1"
        webhooks.enqueue(make_manifest(org, parties["receiver"]), "submitted")
        call_command("webhooks", "deliver", stdout=io.StringIO())
        [delivery] = admin.get(f"/api/v1/webhooks/{response.json()['id']}/deliveries").json()
        assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
        assert delivery["last_error"] == "the address is not on the public internet"
        assert local.requests == []
    finally:
        local.close()


def test_the_allow_list_lets_an_intranet_server_receive_deliveries(parties, member_of, client_for, settings):
    settings.OUTBOUND_ALLOW = ["127.0.0.0/8"]
    org = parties["generator"]
    admin = client_for(member_of(org, "admin"))
    local = Endpoint()
    try:
        response = post(admin, "/api/v1/webhooks", {"organization_id": org.pk, "url": local.url("/in")})
        assert response.status_code == 201
        manifest = make_manifest(org, parties["receiver"])
        webhooks.enqueue(manifest, "submitted")
        call_command("webhooks", "deliver", stdout=io.StringIO())
        assert [b["id"] for b in local.bodies("/in")] == [manifest.pk]
        [delivery] = admin.get(f"/api/v1/webhooks/{response.json()['id']}/deliveries").json()
        assert delivery["status"] == "delivered"
    finally:
        local.close()
