"""Benchmark: full manifest lifecycles through the HTTP API, against writing the same rows with plain SQL.

    .venv/bin/python bench/manifest_lifecycle.py [--lifecycles 500] [--containers-per-manifest 2]
                                                 [--database postgresql|sqlite] [--database-url URL]
                                                 [--auth token|session] [--fresh] [--prepared]
                                                 [--capture C] [--profile M] [--top T] [--bulk]

Database: PostgreSQL by default — WUFEI_DATABASE_URL, or postgres://postgres@127.0.0.1:5432/wufei_bench_manifests;
the database is created when missing (--fresh drops and recreates it first) and migrated. `--database sqlite`
runs on a scratch SQLite file in a temporary directory. The run only reads back its own rows, so a database
used before works too (its tables are just bigger).

Setup (not measured): a generator with a storage facility, a carrier with a vehicle, a licensed receiver
(comprehensive permit for HW06 with D10), a member of each (generator admin, carrier driver, receiver admin)
and their API tokens (or logged-in sessions with --auth session); the containers, recorded with
`tracking.services.bulk_record` (the five 五即 steps, stored at the generator).

Measured, service path: N lifecycles through /api/v1 with Django's test Client, each
  create   POST /manifests (K containers, planned method D10, an Idempotency-Key)   — generator admin
  submit   POST /manifests/{id}/sign                                                — generator admin
  pickup   POST /manifests/{id}/sign                                                — carrier's driver
  receive  POST /manifests/{id}/sign {received_tonnes}                              — receiver admin
  process  POST /manifests/{id}/sign {method: D10}                                  — receiver admin
every request committed on its own, as in production.

Measured, raw baseline in the same run: the rows those N lifecycles wrote, read back (not measured) and
written again with executemany into empty scratch copies of the tables (same columns and indexes), in one
transaction: INSERTs of the manifests, lines, manifest-container rows, legs, signatures, scan events and
audit-chain links, one UPDATE of the container (status, holder, version) per scan event and one UPDATE of the
manifest (status, version) per signature. The row counts of both paths are printed side by side.

Printed: lifecycles/s of both paths and their ratio (and the CPU time of the benchmark process, which runs
Django and, with SQLite, the database; on PostgreSQL the rest of the wall time is mostly waiting for the
server, or for a CPU when the machine is busy); the average ms of each step (and how the last tenth
compares with the first); then C more lifecycles (--capture, default 10) under CaptureQueriesContext:
queries, statement time and COMMIT time per step, and the statements that dominate, grouped by verb and
table and by normalized SQL. With --profile M, M more lifecycles under cProfile: the functions that take
the time.

With --bulk: the N drafts are created one by one (timed, not in the ratio), then each step (submit, pickup,
receive, process) of all N is signed in one call, POST /manifests/sign {step, items: [{id, version, data}]}; the
four calls' time is compared with plain SQL writing the rows of the N whole lifecycles (as above); printed per
call: ms, ms per manifest, statements and statements per manifest. --profile M profiles a bulk submit of M more.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
import uuid
import warnings
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/wufei_bench_manifests"
WASTES = [("900-402-06", "废有机溶剂"), ("900-404-06", "废清洗剂")]  # both HW06, covered by the permit
STEPS = ("create", "submit", "pickup", "receive", "process")
STATUS_AFTER = {"submit": "submitted", "pickup": "in_transit", "receive": "received", "process": "processed"}
BANAN, KAIZHOU = "500113", "500154"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lifecycles", type=int, default=500)
    parser.add_argument("--containers-per-manifest", type=int, default=2, help="K containers on each manifest")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--database-url", default=None, help="overrides --database and WUFEI_DATABASE_URL")
    parser.add_argument("--auth", choices=("token", "session"), default="token",
                        help="bearer API tokens (default) or force_login sessions")
    parser.add_argument("--prepared", action="store_true",
                        help="PostgreSQL: server-side binding with psycopg's prepared statements (prepare_threshold 5) "
                             "instead of Django's default client-side binding, to see what cached plans would save")
    parser.add_argument("--fresh", action="store_true", help="PostgreSQL: drop and recreate the database first")
    parser.add_argument("--capture", type=int, default=10, metavar="C",
                        help="lifecycles run after the measurement with their queries captured (default 10)")
    parser.add_argument("--top", type=int, default=12, help="statement groups (and functions) to list")
    parser.add_argument("--bulk", action="store_true",
                        help="bulk signing: create the N manifests one by one, then sign each step of all N in one "
                             "call (POST /manifests/sign); the calls are measured against plain SQL writing the rows "
                             "of the N lifecycles")
    parser.add_argument("--profile", type=int, default=0, metavar="M",
                        help="after the measurement, run M more lifecycles under cProfile and list the functions "
                             "where the time goes")
    args = parser.parse_args()
    if min(args.lifecycles, args.containers_per_manifest, args.capture) < 1 or args.profile < 0:
        parser.error("--lifecycles, --containers-per-manifest and --capture must be at least 1")
    if args.containers_per_manifest > 1000:
        parser.error("--containers-per-manifest: at most 1000 (one bulk_record batch per manifest)")
    if args.database_url:
        url = args.database_url
    elif args.database == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='wufei-bench-')}/bench.sqlite3"
    else:
        url = os.environ.get("WUFEI_DATABASE_URL") or DEFAULT_URL
    if url.startswith(("postgres://", "postgresql://")):
        _ensure_postgres_database(url, fresh=args.fresh)
    os.environ["WUFEI_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "wufei.settings"
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic in a benchmark
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    if args.prepared and connection.vendor == "postgresql":  # before the first connection is opened
        connection.settings_dict.setdefault("OPTIONS", {}).update({"server_side_binding": True,
                                                                   "prepare_threshold": 5})

    setup_test_environment()  # 'testserver' in ALLOWED_HOSTS, locmem mail; DEBUG stays off
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}); lifecycles: {args.lifecycles}; "
          f"containers per manifest: {args.containers_per_manifest}; auth: {args.auth}"
          f"{'; prepared statements' if args.prepared and connection.vendor == 'postgresql' else ''}", flush=True)

    world = _setup(args)
    bench = Lifecycles(world, args.containers_per_manifest)

    # --- warm-up (imports, URL resolution, first plans), not measured -----------------------------------------
    bench.run()

    if args.bulk:
        _bulk(args, bench, connection)
        return

    # --- the service path through the API ---------------------------------------------------------------------
    marks = _marks()
    manifest_ids, step_ms = [], defaultdict(list)
    started, cpu = time.perf_counter(), time.process_time()
    for _n in range(args.lifecycles):
        manifest_ids.append(bench.run(step_ms))
    api_seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    marks_after = _marks()
    api_rate = args.lifecycles / api_seconds
    print(f"API path   : {api_seconds:8.2f} s  {api_rate:8.1f} lifecycles/s  (CPU of this process "
          f"{1000 * cpu_seconds / args.lifecycles:.0f} ms per lifecycle, {100 * cpu_seconds / api_seconds:.0f}% of "
          f"the wall time)", flush=True)

    # --- more lifecycles with the queries captured -----------------------------------------------------------------
    captured = [bench.run_captured() for _n in range(args.capture)]

    # --- the same rows with plain SQL ---------------------------------------------------------------------------
    raw_seconds, counts = _plain_sql(connection, manifest_ids, marks, marks_after)
    raw_rate = args.lifecycles / raw_seconds
    print(f"plain SQL  : {raw_seconds:8.2f} s  {raw_rate:8.1f} lifecycles/s", flush=True)

    # --- report --------------------------------------------------------------------------------------------------
    print()
    print(f"lifecycles/s via API      : {api_rate:10.1f}")
    print(f"lifecycles/s plain SQL    : {raw_rate:10.1f}")
    print(f"ratio API / plain SQL     : {raw_rate / api_rate:10.1f}x the time")
    print()
    print("rows written by the N lifecycles        API path   plain SQL")
    same = True
    for label, (service, raw) in counts.items():
        same &= service == raw
        print(f"  {label:<36} {service:>9,} {raw:>11,}")
    print(f"  -> {'the same' if same else 'DIFFERENT'}")
    print()
    total_ms = sum(sum(v) for v in step_ms.values()) / args.lifecycles
    tenth = max(1, args.lifecycles // 10)
    print("per step (ms)   average   first 10%   last 10%   share")
    for step in STEPS:
        values = step_ms[step]
        average = sum(values) / len(values)
        print(f"  {step:<12} {average:9.2f} {sum(values[:tenth]) / tenth:11.2f} {sum(values[-tenth:]) / tenth:10.2f}"
              f" {100 * average / total_ms:6.1f}%")
    print(f"  {'lifecycle':<12} {total_ms:9.2f}")
    print()
    _report_queries(captured, args.top)
    if args.profile:
        _profile(bench, args.profile, args.top)
    if not same:
        sys.exit(1)


# --- database ----------------------------------------------------------------------------------------------------

def _ensure_postgres_database(url: str, *, fresh: bool) -> None:
    """Create the benchmark's database when missing (dropped and recreated with --fresh)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        sys.exit(f"no database name in {url}")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        if fresh:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _marks() -> dict:
    from wufei.core.models import AuditEvent
    from wufei.tracking.models import ScanEvent

    return {model: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            for model in (AuditEvent, ScanEvent)}


# --- setup -------------------------------------------------------------------------------------------------------

def _setup(args) -> dict:
    """The parties, their people and credentials, and the containers every lifecycle will ship."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.test import Client

    from wufei.core import audit
    from wufei.core.ids import make_uscc
    from wufei.core.scope import Scope
    from wufei.core.tokens import issue_token
    from wufei.registry.models import Membership, OperatingPermit, Organization, PermitLine, Site, Vehicle
    from wufei.tracking.services import bulk_record

    tag = uuid.uuid4().int % 10_000  # a run on a used database gets its own USCCs, plate and names
    today = dt.date.today()
    with audit.acting_as("bench"):
        generator = Organization.objects.create(uscc=make_uscc("91", BANAN, f"BL{tag:04d}001"),
                                                name=f"基准产废单位{tag:04d}", region_id=BANAN, is_generator=True)
        carrier = Organization.objects.create(uscc=make_uscc("91", BANAN, f"BL{tag:04d}002"),
                                              name=f"基准运输公司{tag:04d}", region_id=BANAN, is_transporter=True)
        receiver = Organization.objects.create(uscc=make_uscc("91", KAIZHOU, f"BL{tag:04d}003"),
                                               name=f"基准处置中心{tag:04d}", region_id=KAIZHOU, is_receiver=True)
        store = Site.objects.create(organization=generator, code=f"{generator.uscc}001P", name="危险废物贮存库",
                                    kind=Site.Kind.STORAGE, storage_capacity_tonnes=Decimal(100_000))
        vehicle = Vehicle.objects.create(organization=carrier, plate=f"渝B{tag:04d}D",
                                         transport_permit_number=f"渝交运基准{tag}",
                                         transport_permit_valid_until=today + dt.timedelta(days=365))
        permit = OperatingPermit.objects.create(organization=receiver, number=f"渝危废基准{tag:04d}号",
                                                kind=OperatingPermit.Kind.COMPREHENSIVE,
                                                valid_from=today - dt.timedelta(days=30),
                                                valid_until=today + dt.timedelta(days=365))
        line = PermitLine.objects.create(permit=permit, category_id="HW06", annual_capacity_tonnes=Decimal(10**9))
        line.methods.set(["D10"])
        people = {}
        for key, organization, role in (("generator", generator, Membership.Role.ADMIN),
                                        ("carrier", carrier, Membership.Role.DRIVER),
                                        ("receiver", receiver, Membership.Role.ADMIN)):
            user = get_user_model().objects.create_user(username=f"bench-{key}-{tag:04d}-{uuid.uuid4().hex[:6]}")
            Membership.objects.create(user=user, organization=organization, role=role)
            client = Client()
            if args.auth == "session":
                client.force_login(user)
            else:
                _token, plaintext = issue_token(user=user, name="benchmark")
                client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {plaintext}"
            people[key] = client
        # the containers: N lifecycles + the warm-up + the captured (+ the profiled) ones, K each, in storage
        k = args.containers_per_manifest
        needed = (args.lifecycles + 1 + args.capture + args.profile) * k
        scope = Scope(is_platform_admin=True, username="bench")
        codes: list[str] = []
        started = time.perf_counter()
        index = 0
        while len(codes) < needed:
            batches = []
            for _n in range(min(500, (needed - len(codes)) // k)):  # one batch (one waste) per manifest
                code, name = WASTES[index % len(WASTES)]
                index += 1
                batches.append({"waste_code": code, "waste_name": name, "physical_form": "liquid",
                                "packaging": "drum", "net_weight_tonnes": "0.180", "count": k,
                                "storage_site_id": store.pk})
            codes += [recorded.code for recorded in bulk_record(scope=scope, organization_id=generator.pk,
                                                                batches=batches)]
        print(f"setup      : {len(codes):,} containers recorded with bulk_record in "
              f"{time.perf_counter() - started:.1f} s (not measured)", flush=True)
    return {"generator": generator, "carrier": carrier, "receiver": receiver, "vehicle": vehicle,
            "clients": people, "codes": codes}


# --- the lifecycle -----------------------------------------------------------------------------------------------

class Lifecycles:
    """Runs one lifecycle after another over the recorded containers, K at a time."""

    def __init__(self, world: dict, per_manifest: int):
        self.world = world
        self.k = per_manifest
        self.next = 0

    def _post(self, who: str, url: str, body: dict, expected: int, **headers):
        response = self.world["clients"][who].post(url, json.dumps(body), content_type="application/json",
                                                   **headers)
        if response.status_code != expected:
            sys.exit(f"POST {url} as {who} answered {response.status_code}: {response.content[:2000]!r}")
        return response.json()

    def requests(self):
        """(step, caller, url, body, expected status, headers) of one lifecycle, the manifest's id and version
        filled in as the answers come back."""
        codes = self.world["codes"][self.next:self.next + self.k]
        self.next += self.k
        body = {"kind": "hazardous", "generator_id": self.world["generator"].pk,
                "receiver_id": self.world["receiver"].pk, "container_codes": codes, "planned_method": "D10",
                "legs": [{"transporter_id": self.world["carrier"].pk, "vehicle_id": self.world["vehicle"].pk,
                          "driver_name": "基准司机", "driver_phone": "13800000000"}]}
        answer = yield ("create", "generator", "/api/v1/manifests", body, 201,
                        {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex})
        for step, who, data in (("submit", "generator", {}), ("pickup", "carrier", {}),
                                ("receive", "receiver", {"received_tonnes": answer["shipped_tonnes"]}),
                                ("process", "receiver", {"method": "D10"})):
            answer = yield (step, who, f"/api/v1/manifests/{answer['id']}/sign",
                            {"step": step, "version": answer["version"], "data": data}, 200, {})
        if answer["status"] != "processed":
            sys.exit(f"manifest {answer['id']} ended {answer['status']}")
        yield answer

    def run(self, step_ms: dict | None = None) -> int:
        flow = self.requests()
        request = next(flow)
        while True:
            step, who, url, body, expected, headers = request
            started = time.perf_counter()
            answer = self._post(who, url, body, expected, **headers)
            if step_ms is not None:
                step_ms[step].append(1000 * (time.perf_counter() - started))
            request = flow.send(answer)
            if isinstance(request, dict):
                return request["id"]

    def run_captured(self) -> dict:
        """One lifecycle with every query captured: {step: (wall s, captured queries, timed statements, commits)}.

        CaptureQueriesContext gives the statements (parameters filled in); its times are rounded to the
        millisecond, so an execute wrapper times each statement (template, seconds) with perf_counter too,
        and the COMMITs are timed on their own.
        """
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        captured = {}
        flow = self.requests()
        request = next(flow)
        while not isinstance(request, dict):
            step, who, url, body, expected, headers = request
            timed: list[tuple[str, float]] = []

            def timer(execute, sql, params, many, context, timed=timed):
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    timed.append((sql, time.perf_counter() - started))

            commits: list[float] = []

            def commit(commits=commits, original=connection._commit):
                started = time.perf_counter()
                try:
                    return original()
                finally:
                    commits.append(time.perf_counter() - started)

            connection._commit = commit  # COMMITs do not pass the execute wrappers
            try:
                with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(timer):
                    started = time.perf_counter()
                    answer = self._post(who, url, body, expected, **headers)
                    wall = time.perf_counter() - started
            finally:
                del connection._commit
            captured[step] = (wall, list(queries.captured_queries), timed, commits)
            request = flow.send(answer)
        return captured


def _bulk(args, bench: "Lifecycles", connection) -> None:
    """N drafts created one by one (not counted), then one bulk call per step for all N, against plain SQL."""
    marks = _marks()
    drafts = []
    started = time.perf_counter()
    for _n in range(args.lifecycles):
        flow = bench.requests()
        step, who, url, body, expected, headers = next(flow)
        drafts.append(bench._post(who, url, body, expected, **headers))
    create_seconds = time.perf_counter() - started
    print(f"create     : {create_seconds:8.2f} s for {args.lifecycles} drafts one by one (not in the ratio)",
          flush=True)
    data = {"submit": lambda d: {}, "pickup": lambda d: {},
            "receive": lambda d: {"received_tonnes": d["shipped_tonnes"]}, "process": lambda d: {"method": "D10"}}
    who = {"submit": "generator", "pickup": "carrier", "receive": "receiver", "process": "receiver"}
    versions = {d["id"]: d["version"] for d in drafts}
    seconds, statements = {}, {}
    for step in STEPS[1:]:
        body = {"step": step, "items": [{"id": d["id"], "version": versions[d["id"]], "data": data[step](d)}
                                        for d in drafts]}
        executed = []  # every statement counted (CaptureQueriesContext keeps only the last 9000)

        def count(execute, sql, params, many, context, executed=executed):
            executed.append(1)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            started = time.perf_counter()
            results = bench._post(who[step], "/api/v1/manifests/sign", body, 200)
            seconds[step] = time.perf_counter() - started
        statements[step] = len(executed)
        failed = [r for r in results if not r["ok"]]
        if failed:
            sys.exit(f"bulk {step}: {len(failed)} of {len(results)} failed, e.g. {failed[0]}")
        versions.update({r["id"]: r["version"] for r in results})
        if any(r["status"] != STATUS_AFTER[step] for r in results):
            sys.exit(f"bulk {step}: a manifest did not end {STATUS_AFTER[step]}")
    marks_after = _marks()
    signing = sum(seconds.values())
    raw_seconds, counts = _plain_sql(connection, [d["id"] for d in drafts], marks, marks_after)
    print(f"bulk sign  : {signing:8.2f} s for 4 calls of {args.lifecycles} manifests")
    print(f"plain SQL  : {raw_seconds:8.2f} s for the rows of {args.lifecycles} whole lifecycles")
    print(f"ratio bulk signing / plain SQL lifecycles: {signing / raw_seconds:6.1f}x the time")
    print()
    print("step         call ms   ms per manifest   statements   per manifest")
    for step in STEPS[1:]:
        print(f"  {step:<10} {1000 * seconds[step]:9.1f} {1000 * seconds[step] / args.lifecycles:17.2f} "
              f"{statements[step]:12} {statements[step] / args.lifecycles:14.1f}")
    print()
    same = all(service == raw for service, raw in counts.values())
    print("rows written (API path / plain SQL): " + ", ".join(f"{label} {a}/{b}" for label, (a, b) in counts.items()))
    print(f"  -> {'the same' if same else 'DIFFERENT'}")
    if args.profile:
        import cProfile
        import io
        import pstats

        more = [bench._post("generator", "/api/v1/manifests", body, 201, HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
                for _n, body in zip(range(args.profile), _draft_bodies(bench, args.profile), strict=True)]
        profiler = cProfile.Profile()
        profiler.enable()
        bench._post("generator", "/api/v1/manifests/sign",
                    {"step": "submit", "items": [{"id": d["id"], "version": d["version"]} for d in more]}, 200)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"wufei/", args.top)
        print(out.getvalue())
    if not same:
        sys.exit(1)


def _draft_bodies(bench: "Lifecycles", count: int):
    for _n in range(count):
        flow = bench.requests()
        yield next(flow)[3]


# --- plain SQL ---------------------------------------------------------------------------------------------------

def _plain_sql(connection, manifest_ids: list[int], marks: dict, marks_after: dict):
    """Write the lifecycles' rows again into scratch copies; (seconds, {what: (service rows, plain rows)})."""
    from django.db import transaction

    from wufei.core.models import AuditEvent
    from wufei.manifests.models import Manifest, ManifestContainer, ManifestLine, Signature, TransportLeg
    from wufei.tracking.models import Container, ScanEvent

    quote = connection.ops.quote_name
    vendor = connection.vendor
    first, last = min(manifest_ids), max(manifest_ids)
    ranges = {  # the rows of the measured lifecycles (the run is the only writer of its scratch database)
        Manifest: ("id", first, last), ManifestLine: ("manifest_id", first, last),
        ManifestContainer: ("manifest_id", first, last), TransportLeg: ("manifest_id", first, last),
        Signature: ("manifest_id", first, last),
        ScanEvent: ("id", marks[ScanEvent] + 1, marks_after[ScanEvent]),
        AuditEvent: ("id", marks[AuditEvent] + 1, marks_after[AuditEvent]),
    }
    scratch = {model: f"bench_{model._meta.db_table}" for model in [*ranges, Container]}
    rows, columns = {}, {}
    with connection.cursor() as cursor:  # read back and prepare (not measured)
        for model, (column, low, high) in ranges.items():
            columns[model] = [f.column for f in model._meta.concrete_fields]
            rows[model] = _select(cursor, vendor, model, columns[model], f"{quote(column)} BETWEEN %s AND %s",
                                  [low, high], quote)
        container_ids = sorted({row[columns[ManifestContainer].index("container_id")]
                                for row in rows[ManifestContainer]})
        columns[Container] = [f.column for f in Container._meta.concrete_fields]
        rows[Container] = _select(cursor, vendor, Container, columns[Container],
                                  "id BETWEEN %s AND %s", [container_ids[0], container_ids[-1]], quote)
        rows[Container] = [row for row in rows[Container] if row[0] in set(container_ids)]
        for model, table in scratch.items():
            _copy_table(cursor, vendor, model._meta.db_table, table)
        # the containers as they were before the lifecycles (in storage at the generator); the UPDATEs are measured
        cursor.executemany(_insert(scratch[Container], columns[Container], quote), rows[Container])
        cursor.execute(f"UPDATE {quote(scratch[Container])} SET status = 'stored', holder_id = organization_id")
    event = {name: columns[ScanEvent].index(name) for name in ("kind", "container_id", "organization_id",
                                                                "to_organization_id", "occurred_at")}
    from wufei.tracking.life import TRANSITIONS

    container_updates = [(TRANSITIONS[row[event["kind"]]].to_status, row[event["to_organization_id"]]
                          or row[event["organization_id"]], row[event["occurred_at"]], row[event["container_id"]])
                         for row in rows[ScanEvent]]
    signature = {name: columns[Signature].index(name) for name in ("manifest_id", "step", "signed_at")}
    manifest_updates = [(STATUS_AFTER[row[signature["step"]]], row[signature["signed_at"]],
                         row[signature["manifest_id"]]) for row in rows[Signature]]

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for model in ranges:
            cursor.executemany(_insert(scratch[model], columns[model], quote), rows[model])
        cursor.executemany(f"UPDATE {quote(scratch[Container])} SET status = COALESCE(%s, status), "
                           f"holder_id = %s, version = version + 1, updated_at = %s WHERE id = %s",
                           container_updates)
        containers_updated = cursor.rowcount
        cursor.executemany(f"UPDATE {quote(scratch[Manifest])} SET status = %s, version = version + 1, "
                           f"updated_at = %s WHERE id = %s", manifest_updates)
        manifests_updated = cursor.rowcount
    seconds = time.perf_counter() - started

    labels = {Manifest: "manifests", ManifestLine: "manifest lines", ManifestContainer: "manifest containers",
              TransportLeg: "transport legs", Signature: "signatures", ScanEvent: "scan events",
              AuditEvent: "audit-chain links"}
    counts = {}
    with connection.cursor() as cursor:
        for model, label in labels.items():
            cursor.execute(f"SELECT COUNT(*) FROM {quote(scratch[model])}")
            counts[label] = (len(rows[model]), cursor.fetchone()[0])
        status_column = columns[Container].index("status")
        cursor.execute(f"SELECT status, COUNT(*) FROM {quote(scratch[Container])} GROUP BY status")
        final = dict(cursor.fetchall())
        counts["container UPDATEs (one per scan)"] = (len(rows[ScanEvent]), containers_updated)
        counts["containers ending 'disposed'"] = (sum(1 for row in rows[Container] if row[status_column] == "disposed"),
                                                  final.get("disposed", 0))
        counts["manifest UPDATEs (one per signature)"] = (len(rows[Signature]), manifests_updated)
        for table in scratch.values():
            cursor.execute(f"DROP TABLE {quote(table)}")
    return seconds, counts


def _select(cursor, vendor: str, model, columns: list[str], where: str, params: list, quote) -> list[tuple]:
    """Rows as plain values; JSON columns as text on PostgreSQL (written back as they were)."""
    json_columns = {f.column for f in model._meta.concrete_fields if f.get_internal_type() == "JSONField"}
    selected = [f"{quote(c)}::text" if vendor == "postgresql" and c in json_columns else quote(c) for c in columns]
    cursor.execute(f"SELECT {', '.join(selected)} FROM {quote(model._meta.db_table)} WHERE {where} ORDER BY id",
                   params)
    return cursor.fetchall()


def _copy_table(cursor, vendor: str, table: str, scratch: str) -> None:
    """An empty table with the same columns and indexes (on SQLite also the same foreign keys)."""
    cursor.execute(f'DROP TABLE IF EXISTS "{scratch}"')
    if vendor == "postgresql":
        cursor.execute(f'CREATE TABLE "{scratch}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING INDEXES)')
        return
    cursor.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL "
                   "ORDER BY type = 'index'", [table])
    for kind, name, sql in cursor.fetchall():
        sql = re.sub(rf'"{table}"', f'"{scratch}"', sql, count=1 if kind == "table" else 2)
        if kind == "index":
            sql = sql.replace(f'"{name}"', f'"{scratch}_{name}"', 1)
        cursor.execute(sql)


def _insert(table: str, columns: list[str], quote) -> str:
    return (f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})")


# --- where the queries go ----------------------------------------------------------------------------------------

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w\"])-?\d+(?:\.\d+)?(?![\w\"])")
_LIST = re.compile(r"\((?:%s|\?)(?:, (?:%s|\?))+\)")
_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?([\w]+)"?', re.IGNORECASE)


def _shape(sql: str) -> str:
    """The statement with its literals and placeholders as ?, IN lists as (?…)."""
    text = _NUMBER.sub("?", _STRING.sub("?", sql)).replace("%s", "?")
    return re.sub(r"\s+", " ", _LIST.sub("(?…)", text)).strip()


def _group(sql: str) -> str:
    verb = sql.split(None, 1)[0].upper() if sql.strip() else "?"
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"):
        return "SAVEPOINT / RELEASE" if verb in ("SAVEPOINT", "RELEASE") else verb
    table = _TABLE.search(sql)
    lock = " FOR UPDATE" if verb == "SELECT" and "FOR UPDATE" in sql.upper() else ""
    return f"{verb}{lock} {table.group(1) if table else ''}".strip()


def _count(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _report_queries(captured: list[dict], top: int) -> None:
    """Queries per lifecycle (CaptureQueriesContext) and where their time goes, averaged over the captured ones."""
    n = len(captured)
    counts = {tuple(len(lifecycle[step][1]) for step in STEPS) for lifecycle in captured}
    print(f"{n} more lifecycle{'s' if n > 1 else ''}, queries captured (CaptureQueriesContext; statements and COMMITs "
          f"timed with perf_counter; per lifecycle{', averaged' if n > 1 else ''})")
    print("  step        queries    SQL ms   commits  commit ms   wall ms")
    totals = [0.0] * 5
    for step in STEPS:
        row = [sum(len(lc[step][1]) for lc in captured) / n,
               sum(seconds for lc in captured for _sql, seconds in lc[step][2]) / n,
               sum(len(lc[step][3]) for lc in captured) / n, sum(sum(lc[step][3]) for lc in captured) / n,
               sum(lc[step][0] for lc in captured) / n]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        print(f"  {step:<10} {_count(row[0]):>8} {1000 * row[1]:9.2f} {_count(row[2]):>9} {1000 * row[3]:10.2f} "
              f"{1000 * row[4]:9.2f}")
    print(f"  {'lifecycle':<10} {_count(totals[0]):>8} {1000 * totals[1]:9.2f} {_count(totals[2]):>9} "
          f"{1000 * totals[3]:10.2f} {1000 * totals[4]:9.2f}")
    if len(counts) > 1:
        print(f"  (query counts differ between the captured lifecycles: {sorted(sum(c) for c in counts)})")
    print(f"  statements {100 * totals[1] / totals[4]:.0f}% and COMMITs {100 * totals[3] / totals[4]:.0f}% of the "
          f"wall time; the rest is Python (ORM, audit snapshots, serialization, the test Client)")
    print()
    for title, key in (("by verb and table", _group), ("by normalized statement", _shape)):
        groups: dict[str, list] = defaultdict(lambda: [0, 0.0, defaultdict(int)])
        for lifecycle in captured:
            for step in STEPS:
                for sql, seconds in lifecycle[step][2]:
                    entry = groups[key(sql)]
                    entry[0] += 1
                    entry[1] += seconds
                    entry[2][step] += 1
        for order, rank in (("count", lambda item: (-item[1][0], -item[1][1])),
                            ("time", lambda item: (-item[1][1], -item[1][0]))):
            print(f"statements {title}, per lifecycle, top {top} by {order}")
            print("  count      ms  steps                                       statement")
            for text, (count, seconds, steps) in sorted(groups.items(), key=rank)[:top]:
                where = " ".join(f"{s[:3]}:{_count(c / n)}" for s, c in steps.items())
                shown = text if len(text) <= 160 else text[:157] + "..."
                print(f"  {_count(count / n):>5} {1000 * seconds / n:7.2f}  {where:<43} {shown}")
            print()


def _profile(bench, lifecycles: int, top: int) -> None:
    """Run more lifecycles under cProfile; the functions with the most cumulative and own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _n in range(lifecycles):
        bench.run()
    profiler.disable()
    wall = time.perf_counter() - started
    print(f"cProfile over {lifecycles} more lifecycles ({1000 * wall / lifecycles:.1f} ms each under the profiler)")
    for order, restriction in (("cumulative", r"wufei/"), ("tottime", "")):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(*([restriction] if restriction else []), top)
        lines = [line for line in out.getvalue().splitlines() if re.match(r"\s*[\d/]+\s+\d", line)]
        print(f"  by {order} time{' (project functions)' if restriction else ''}: ncalls, tottime s, cumtime s")
        for line in lines:
            ncalls, tottime, _per, cumtime, _per2, where = line.split(None, 5)
            for pattern, short in ((r"^.*/site-packages/", ""), (r"^.*/lib/python3\.\d+/", ""),
                                   (r"^/\S*?/wufei/", "wufei/")):
                where = re.sub(pattern, short, where)
            print(f"    {ncalls:>12} {float(tottime):8.3f} {float(cumtime):8.3f}  {where}")
        print()


if __name__ == "__main__":
    main()
