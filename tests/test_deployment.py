"""Wufei as the README's deployment section runs it: `wufei serve` (gunicorn) and `wufei worker` (Huey) as real
processes. One manifest goes from the generator's batch to the receiver's processing through HTTP with API tokens,
and the worker — not the web server — keeps the ledger current: the dirty marks the scans leave are gone once the
worker has run, and the receiver's ledger shows what it weighed.

On SQLite with the embedded queue (an SQLite file) always; on PostgreSQL with Redis in the PostgreSQL run
(WUFEI_DATABASE_URL set), in a scratch database of its own.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = r'''
import json, datetime as dt
from decimal import Decimal
import django
django.setup()
from django.contrib.auth import get_user_model
from wufei.core.ids import make_uscc
from wufei.core.scope import Scope
from wufei.core.tokens import issue_token
from wufei.registry import services
admin = Scope(is_platform_admin=True)
User = get_user_model()
def org(name, serial, roles):
    return services.create_organization(scope=admin, data={"uscc": make_uscc("91", "500113", f"MA{serial:07d}"),
        "name": name, "region": "500113", "roles": roles})
generator, carrier, receiver = org("部署测试化工", 1, ["generator"]), org("部署测试运输", 2, ["transporter"]), \
    org("部署测试处置中心", 3, ["receiver"])
today = dt.date.today()
services.add_site(scope=admin, data={"organization": generator.uscc, "name": "贮存库", "kind": "storage"})
vehicle = services.add_vehicle(scope=admin, data={"organization": carrier.uscc, "plate": "渝A10001",
    "transport_permit_number": "渝交运1", "transport_permit_valid_until": today + dt.timedelta(days=300)})
services.add_permit(scope=admin, data={"organization": receiver.uscc, "number": "渝危废9001号", "kind": "comprehensive",
    "valid_from": today - dt.timedelta(days=10), "valid_until": today + dt.timedelta(days=300)},
    lines=[{"waste": "HW06", "annual_capacity_tonnes": Decimal("100"), "methods": ["D10"]}])
tokens = {}
for name, unit, role in (("g", generator, "admin"), ("d", carrier, "driver"), ("r", receiver, "admin")):
    user = User.objects.create_user(username=f"deploy-{name}", password="deploy-pw-2026!")
    services.add_member(scope=admin, organization_id=unit.pk, username=user.username, role=role)
    tokens[name] = issue_token(user=user, name="deployment test")[1]
from wufei.registry.models import Site
store = Site.objects.get(organization=generator)
print(json.dumps({"tokens": tokens, "generator": generator.pk, "carrier": carrier.pk, "receiver": receiver.pk,
                  "vehicle": vehicle.pk, "store": store.pk}))
'''


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(database_url: str, queue_url: str, work: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WUFEI_", "DJANGO_"))}
    env.update({"WUFEI_DATABASE_URL": database_url, "WUFEI_QUEUE_URL": queue_url, "WUFEI_WORK_DIR": str(work),
                "WUFEI_SECRET_KEY": "deployment-test-" + "k" * 50, "WUFEI_SCHEDULE_ALERTS_SCAN": "off",
                "DJANGO_SETTINGS_MODULE": "wufei.settings"})
    return env


def _run(env, *args) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None, expect=200):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}/api/v1/{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, content = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, content = error.code, error.read()
        assert status == expect, f"{method} {path}: {status} {content[:500]!r}"
        return json.loads(content) if content else None

    def sign(self, manifest_id: int, step: str, **data):
        version = self.call("GET", f"manifests/{manifest_id}")["version"]
        return self.call("POST", f"manifests/{manifest_id}/sign", {"step": step, "version": version, "data": data})


def _wait_for(url: str, process, seconds=60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def _dirty_marks(database_url: str) -> int:
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return connection.execute("SELECT COUNT(*) FROM ledgers_ledgerdirty").fetchone()[0]
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as connection:
        return connection.execute("SELECT COUNT(*) FROM ledgers_ledgerdirty").fetchone()[0]


def _story(database_url: str, queue_url: str, work: Path) -> None:
    env = _environment(database_url, queue_url, work)
    _run(env, "-m", "wufei", "migrate", "-v", "0")
    world = json.loads(_run(env, "-c", SETUP).strip().splitlines()[-1])
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "wufei", "serve", "--bind", f"127.0.0.1:{port}", "--workers",
                               "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    worker = None
    try:
        _wait_for(f"{base}/healthz", server)
        generator, driver, receiver = (Api(base, world["tokens"][k]) for k in ("g", "d", "r"))
        made = generator.call("POST", "containers", {
            "organization_id": world["generator"], "waste_code": "900-402-06", "waste_name": "废有机溶剂",
            "physical_form": "liquid", "packaging": "drum", "count": 2, "net_weight_tonnes": "0.5",
            "storage_site_id": world["store"]}, expect=201)
        manifest = generator.call("POST", "manifests", {
            "kind": "hazardous", "generator_id": world["generator"], "receiver_id": world["receiver"],
            "container_codes": [c["code"] for c in made], "planned_method": "D10",
            "legs": [{"transporter_id": world["carrier"], "vehicle_id": world["vehicle"], "driver_name": "李师傅"}]},
            expect=201)
        generator.sign(manifest["id"], "submit")
        driver.sign(manifest["id"], "pickup", vehicle_id=world["vehicle"], driver_name="李师傅")
        receiver.sign(manifest["id"], "receive", received_tonnes="0.98")
        done = receiver.sign(manifest["id"], "process", method="D10")
        assert done["status"] == "processed" and Decimal(done["accepted_tonnes"]) == Decimal("0.98")
        assert _dirty_marks(database_url) > 0  # the web server rebuilt nothing: the jobs wait for a worker

        worker = subprocess.Popen([sys.executable, "-m", "wufei", "worker", "--workers", "1"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while _dirty_marks(database_url) and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stdout.read().decode()
            time.sleep(0.5)
        assert _dirty_marks(database_url) == 0, "the worker did not keep the ledger current"
        year = time.localtime().tm_year
        summary = receiver.call("GET", f"ledgers/{world['receiver']}/{year}")["year_summary"]
        assert [(row["waste"], Decimal(row["received_in"]), Decimal(row["disposed"])) for row in summary] == [
            ("900-402-06", Decimal("0.98"), Decimal("0.98"))]
    finally:
        for process in (worker, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def test_serve_and_worker_on_sqlite_with_the_embedded_queue(tmp_path):
    _story(f"sqlite:///{tmp_path}/wufei.sqlite3", f"sqlite:///{tmp_path}/queue.sqlite3", tmp_path)


@pytest.mark.skipif(not os.environ.get("WUFEI_DATABASE_URL", "").startswith("postgres"),
                    reason="the PostgreSQL run of bin/test (WUFEI_DATABASE_URL) runs this one")
def test_serve_and_worker_on_postgresql_with_redis(tmp_path):
    import psycopg
    import redis

    url = os.environ["WUFEI_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    scratch = f"wufei_deploy_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        connection.execute(f'CREATE DATABASE "{scratch}"')
    queue = f"redis://127.0.0.1:6379/{10 + os.getpid() % 5}"
    redis.Redis.from_url(queue).flushdb()
    try:
        base = os.environ["WUFEI_DATABASE_URL"].rsplit("/", 1)[0]
        _story(f"{base}/{scratch}", queue, tmp_path)
    finally:
        redis.Redis.from_url(queue).flushdb()
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
