"""Load benchmark: mixed traffic against `wufei serve` + `wufei worker` as real processes, on loopback only.

    .venv/bin/pip install -e .[bench]          # locust
    .venv/bin/python bench/load.py [--database postgresql|sqlite] [--minutes 10] [--users 24] [--spawn-rate 4]
                                   [--web-workers 4] [--queue-workers 2] [--generators 8]

Database: PostgreSQL (a scratch database `wufei_bench_load`, dropped and created; the queue on Redis db 9) or
SQLite (a scratch file; the embedded queue next to it). Setup, not measured: a Banan district with `--generators`
generators (a store each), a carrier with a vehicle per generator, a licensed receiver, a regulator, and an API
token for each person; `wufei migrate`, then `wufei serve` and `wufei worker` started as the README's deployment
section starts them.

Traffic (locust, in this process — on a 2-core machine it competes with the server for the CPU, which the figures
include), every request as the person who makes it, with their token:
  regulators   the cockpit API, the manifest list, the alert list, a unit's file                       (weight 3)
  generators   record a batch of 2 drums, draft a manifest of them, submit it                         (weight 3)
  drivers      pick up a submitted manifest (a shared queue of the generators' manifests)            (weight 2)
  receivers    receive an in-transit manifest at the weighbridge, then process it by D10             (weight 2)
Bounded: `--minutes` of traffic (10 by default) with `--users` simulated people, each pausing 0.5–2 s between
requests.

Printed: per operation the requests, failures, p50 / p95 / p99 (ms) and requests per second, then the totals and
how many manifests went all the way to processed; the worker's queue is left to drain and the jobs that failed
(core.Job rows) are counted. A run with any failed request or failed job exits 1.
"""

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("WUFEI_BENCH_PG", "postgres://postgres@127.0.0.1:5432/wufei_bench_load")
REDIS_URL = "redis://127.0.0.1:6379/9"
SETUP = r'''
import json, sys, datetime as dt
from decimal import Decimal
import django
django.setup()
from django.contrib.auth import get_user_model
from wufei.core.ids import make_uscc
from wufei.core.scope import Scope
from wufei.core.tokens import issue_token
from wufei.registry import services
from wufei.registry.models import RegulatorMembership, Site
n = int(sys.argv[1])
admin = Scope(is_platform_admin=True)
User = get_user_model()
today = dt.date.today()
serial = iter(range(1, 10000))
def org(name, roles):
    return services.create_organization(scope=admin, data={"uscc": make_uscc("91", "500113", f"MA{next(serial):07d}"),
        "name": name, "region": "500113", "roles": roles, "longitude": "106.52", "latitude": "29.38"})
def person(label, unit=None, role="admin"):
    user = User.objects.create_user(username=label, password="load-pw-2026!")
    if unit is not None:
        services.add_member(scope=admin, organization_id=unit.pk, username=label, role=role)
    return issue_token(user=user, name="load benchmark")[1]
carrier = org("压测运输公司", ["transporter"])
receiver = org("压测处置中心", ["receiver"])
services.add_permit(scope=admin, data={"organization": receiver.uscc, "number": "渝危废压测1号",
    "kind": "comprehensive", "valid_from": today - dt.timedelta(days=10),
    "valid_until": today + dt.timedelta(days=300)},
    lines=[{"waste": "HW06", "annual_capacity_tonnes": Decimal("100000"), "methods": ["D10"]}])
world = {"generators": [], "drivers": [], "receivers": [], "regulators": [], "receiver": receiver.pk,
         "carrier": carrier.pk}
for i in range(n):
    unit = org(f"压测产废单位{i:02d}", ["generator"])
    store = services.add_site(scope=admin, data={"organization": unit.uscc, "name": "贮存库", "kind": "storage"})
    vehicle = services.add_vehicle(scope=admin, data={"organization": carrier.uscc, "plate": f"渝A{20000 + i}",
        "transport_permit_number": f"渝交运{i}", "transport_permit_valid_until": today + dt.timedelta(days=300)})
    world["generators"].append({"token": person(f"load-g{i}", unit), "org": unit.pk, "store": store.pk,
                                "vehicle": vehicle.pk})
    world["drivers"].append(person(f"load-d{i}", carrier, "driver"))
for i in range(max(2, n // 2)):
    world["receivers"].append(person(f"load-r{i}", receiver))
for i in range(max(2, n // 2)):
    token = person(f"load-regulator{i}")
    RegulatorMembership.objects.create(user=User.objects.get(username=f"load-regulator{i}"), region_id="500113",
                                       authority="巴南区生态环境局")
    world["regulators"].append(token)
print(json.dumps(world))
'''


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(database_url: str, queue_url: str, work: Path, args) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WUFEI_", "DJANGO_"))}
    env.update({"WUFEI_DATABASE_URL": database_url, "WUFEI_QUEUE_URL": queue_url, "WUFEI_WORK_DIR": str(work),
                "WUFEI_SECRET_KEY": "bench-load-" + "s" * 50, "DJANGO_SETTINGS_MODULE": "wufei.settings",
                "WUFEI_WEB_WORKERS": str(args.web_workers), "WUFEI_QUEUE_WORKERS": str(args.queue_workers),
                "WUFEI_LOG_LEVEL": "WARNING"})
    return env


def _prepare(args, work: Path) -> tuple[str, str]:
    if args.database == "sqlite":
        return f"sqlite:///{work}/load.sqlite3", f"sqlite:///{work}/load.queue.sqlite3"
    import psycopg
    import redis

    admin_url = PG_URL.rsplit("/", 1)[0] + "/postgres"
    name = PG_URL.rsplit("/", 1)[1]
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS_URL).flushdb()
    return PG_URL, REDIS_URL


def _run(env, *argv) -> str:
    result = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stdout + result.stderr)
    return result.stdout


def _traffic(base: str, world: dict, args) -> tuple:
    import gevent
    from locust import HttpUser, between, task
    from locust.env import Environment

    submitted: collections.deque = collections.deque()
    in_transit: collections.deque = collections.deque()
    done = {"processed": 0}
    generators, drivers = iter(world["generators"] * 1000), iter(world["drivers"] * 1000)
    receivers, regulators = iter(world["receivers"] * 1000), iter(world["regulators"] * 1000)

    class Person(HttpUser):
        abstract = True
        host = base
        wait_time = between(0.5, 2)
        token = ""

        def call(self, method, path, body=None, name=None, expect=(200,)):
            with self.client.request(method, f"/api/v1/{path}", json=body, name=name or path, catch_response=True,
                                     headers={"Authorization": f"Bearer {self.token}"}) as response:
                if response.status_code not in expect:
                    response.failure(f"{response.status_code} {response.text[:200]}")
                    return None
                return response.json() if response.text else None

        def sign(self, manifest_id, step, **data):
            current = self.call("GET", f"manifests/{manifest_id}", name="GET manifest")
            if current is None:
                return None
            return self.call("POST", f"manifests/{manifest_id}/sign", {"step": step, "version": current["version"],
                                                                       "data": data}, name=f"sign {step}")

    class Regulator(Person):
        weight = 3

        def on_start(self):
            self.token = next(regulators)

        @task(3)
        def cockpit(self):
            self.call("GET", "analytics/cockpit", name="GET cockpit")

        @task(2)
        def manifests(self):
            self.call("GET", "manifests?limit=50", name="GET manifests")

        @task(1)
        def alerts(self):
            self.call("GET", "alerts?limit=50", name="GET alerts")

        @task(1)
        def unit(self):
            self.call("GET", f"organizations/{world['receiver']}", name="GET organization")

    class Generator(Person):
        weight = 3

        def on_start(self):
            self.me = next(generators)
            self.token = self.me["token"]

        @task
        def record_and_send(self):
            made = self.call("POST", "containers", {
                "organization_id": self.me["org"], "waste_code": "900-402-06", "waste_name": "废有机溶剂",
                "physical_form": "liquid", "packaging": "drum", "count": 2, "net_weight_tonnes": "0.4",
                "storage_site_id": self.me["store"]}, name="POST containers", expect=(201,))
            if not made:
                return
            manifest = self.call("POST", "manifests", {
                "kind": "hazardous", "generator_id": self.me["org"], "receiver_id": world["receiver"],
                "container_codes": [c["code"] for c in made], "planned_method": "D10",
                "legs": [{"transporter_id": world["carrier"], "vehicle_id": self.me["vehicle"],
                          "driver_name": "压测司机"}]}, name="POST manifest", expect=(201,))
            if manifest and self.sign(manifest["id"], "submit"):
                submitted.append((manifest["id"], self.me["vehicle"]))

    class Driver(Person):
        weight = 2

        def on_start(self):
            self.token = next(drivers)

        @task
        def pickup(self):
            if not submitted:
                return
            manifest_id, vehicle = submitted.popleft()
            if self.sign(manifest_id, "pickup", vehicle_id=vehicle, driver_name="压测司机"):
                in_transit.append(manifest_id)

    class Receiver(Person):
        weight = 2

        def on_start(self):
            self.token = next(receivers)

        @task
        def receive_and_process(self):
            if not in_transit:
                return
            manifest_id = in_transit.popleft()
            if self.sign(manifest_id, "receive", received_tonnes="0.79") and self.sign(
                    manifest_id, "process", method="D10"):
                done["processed"] += 1

    environment = Environment(user_classes=[Regulator, Generator, Driver, Receiver])
    runner = environment.create_local_runner()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    started = time.monotonic()
    gevent.spawn_later(args.minutes * 60, runner.quit)
    runner.greenlet.join()
    return environment.stats, time.monotonic() - started, done["processed"]


def _failed_jobs(env) -> str:
    return _run(env, "-c", "import django; django.setup(); from wufei.core.models import Job; "
                           "print(Job.objects.filter(status='failed').count())").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--spawn-rate", type=float, default=4)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--queue-workers", type=int, default=2)
    parser.add_argument("--generators", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wufei-load-"))
    database_url, queue_url = _prepare(args, work)
    env = _env(database_url, queue_url, work, args)
    _run(env, "-m", "wufei", "migrate", "-v", "0")
    world = json.loads(_run(env, "-c", SETUP, str(args.generators)).strip().splitlines()[-1])
    port = _free_port()
    with open(work / "serve.log", "w") as serve_log, open(work / "worker.log", "w") as worker_log:
        server = subprocess.Popen([sys.executable, "-m", "wufei", "serve", "--bind", f"127.0.0.1:{port}"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=serve_log)
        worker = subprocess.Popen([sys.executable, "-m", "wufei", "worker"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=worker_log)
        _measure(args, env, world, port, server, worker)


def _measure(args, env, world, port, server, worker) -> None:
    work = Path(env["WUFEI_WORK_DIR"])
    try:
        import urllib.request

        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        stats, seconds, processed = _traffic(f"http://127.0.0.1:{port}", world, args)
        time.sleep(10)  # let the worker drain what the last requests queued
        failed_jobs = _failed_jobs(env)
    finally:
        for process in (worker, server):
            process.terminate()
            process.wait(timeout=30)
    print(f"\n{args.database}: {args.users} people for {seconds / 60:.1f} min against {args.web_workers} web "
          f"workers and a worker of {args.queue_workers} (logs in {work})")
    print(f"{'operation':<20}{'requests':>9}{'failed':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>8}")
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        print(f"{entry.name:<20}{entry.num_requests:>9}{entry.num_failures:>8}"
              f"{entry.get_response_time_percentile(0.5):>9.0f}{entry.get_response_time_percentile(0.95):>9.0f}"
              f"{entry.get_response_time_percentile(0.99):>9.0f}{entry.num_requests / seconds:>8.2f}")
    total = stats.total
    print(f"{'all':<20}{total.num_requests:>9}{total.num_failures:>8}{total.get_response_time_percentile(0.5):>9.0f}"
          f"{total.get_response_time_percentile(0.95):>9.0f}{total.get_response_time_percentile(0.99):>9.0f}"
          f"{total.num_requests / seconds:>8.2f}")
    print(f"manifests processed end to end: {processed}; failed background jobs: {failed_jobs}")
    for name, error in list(stats.errors.items())[:10]:
        print("error:", name, error.error, error.occurrences)
    sys.exit(1 if total.num_failures or failed_jobs not in ("0", "") else 0)


if __name__ == "__main__":
    main()
