"""Benchmark: tracing one container (`GET /api/v1/trace/{code}`) among millions of scan events, on PostgreSQL.

    .venv/bin/python bench/trace.py --database-url postgres://postgres@127.0.0.1:5432/wufei_trace
                                    [--events 10000000] [--per-container 5] [--traces 500]

Build (once, not measured; reused when the database already holds the same number of events): on an
empty database (`createdb -h 127.0.0.1 -U postgres wufei_trace`) the schema is migrated, a few hundred
generators in two districts with a storage facility and one receiver are bulk-inserted, then set-based SQL
(generate_series) writes events ÷ per-container containers and their events (produced, packed, weighed,
coded, stored, and for containers beyond five events handovers and a receipt), one container in fifty is
merged into a package made of it and its neighbour (lineage to follow); then ANALYZE.

Measured, N traces of random containers:
  (a) the API: `GET /api/v1/trace/{code}` as a district regulator (django test client, so the whole
      middleware stack and the JSON rendering), p50/p95/p99 ms and SQL statements per trace;
  (b) the selector alone: `tracking.services.trace(scope, code)`;
  (c) plain SQL: one hand-written query reading the same container, its events and the names they
      show (joins on organization, site, user), through the same connection.

Printed: the percentiles of each, their ratio to plain SQL, the CPU time this process spent per trace (on a busy
machine the wall-clock times depend on the load; the CPU time much less), and whether the goal (p99 < 20 ms) is met.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REGIONS = ("500113", "500154")  # Banan, Kaizhou
WASTES = ("900-041-49", "900-249-08", "336-064-17", "900-404-06", "900-039-49", "900-300-34")
GOAL_P99_MS = 20.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database (empty, or built by this "
                                                                "benchmark before)")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--per-container", type=int, default=5, help="events per container (5 or more)")
    parser.add_argument("--generators", type=int, default=300)
    parser.add_argument("--traces", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.per_container < 5:
        sys.exit("--per-container must be at least 5 (the five 五即 events)")
    os.environ["WUFEI_DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wufei.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("this benchmark runs on PostgreSQL")
    call_command("migrate", verbosity=0)
    events = _count(connection, "tracking_scanevent")
    if events == 0:
        _build(connection, args)
    elif events != _target_events(args):
        sys.exit(f"the database holds {events:,} scan events, not the {_target_events(args):,} asked for: "
                 "use an empty database")
    else:
        print(f"reusing the {events:,} scan events already built", flush=True)
    _measure(connection, args)


def _target_events(args) -> int:
    containers = args.events // args.per_container
    packages = containers // 50
    return containers * args.per_container + packages * 2 * 2  # each package: 2 merged + 2 on the package


def _count(connection, table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def _build(connection, args):
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from wufei.core.ids import make_uscc
    from wufei.registry.models import Organization, RegulatorMembership, Site

    containers = args.events // args.per_container
    print(f"building {containers:,} containers with {args.per_container} events each "
          f"({containers * args.per_container:,} events) …", flush=True)
    started = time.perf_counter()
    Organization.objects.bulk_create([
        Organization(uscc=make_uscc("91", REGIONS[i % 2], f"TR{i:07d}"), name=f"追溯基准产废单位{i:04d}",
                     region_id=REGIONS[i % 2], is_generator=True, annual_hazardous_waste_tonnes=Decimal(100),
                     supervision_class="key") for i in range(args.generators)], batch_size=500)
    receiver, = Organization.objects.bulk_create([Organization(uscc=make_uscc("91", REGIONS[0], "TRRECE001"),
                                                               name="追溯基准处置单位", region_id=REGIONS[0],
                                                               is_receiver=True)])
    generators = list(Organization.objects.filter(is_generator=True).order_by("pk").values_list("pk", "uscc"))
    Site.objects.bulk_create([Site(organization_id=pk, code=f"{uscc}001S", name="危险废物贮存库", kind="storage",
                                   storage_capacity_tonnes=Decimal(50)) for pk, uscc in generators], batch_size=500)
    user = get_user_model().objects.create_user("trace-regulator", password="x")
    RegulatorMembership.objects.bulk_create([RegulatorMembership(user=user, region_id=REGIONS[0],
                                                                 authority="巴南区生态环境局")])
    first_org, last_org = generators[0][0], generators[-1][0]
    extra = args.per_container - 5
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        # containers: generator, storage site and waste code by number; produced over the last year
        orgs = last_org - first_org + 1
        status, holder = ("received", str(receiver.pk)) if extra else ("stored", "s.org")
        cursor.execute(f"""
            INSERT INTO tracking_container (id, created_at, updated_at, version, code, storage_location, waste_name,
                physical_form, hazards, main_components, packaging, net_weight_tonnes, produced_at, packed_at,
                weighed_at, coded_at, stored_at, status, origin, note, holder_id, organization_id, storage_site_id,
                waste_id)
            SELECT s.n, s.t, s.t, 1, 'TRACE' || lpad(s.n::text, 12, '0'), '', '危险废物', 'solid', 'T', '', 'drum',
                   0.2 + (s.n % 97) / 100.0, s.t, s.t, s.t, s.t, s.t + interval '1 hour', '{status}', 'produced', '',
                   {holder}, s.org, site.id, s.waste
            FROM (SELECT n, now() - (n % 525600) * interval '1 minute' AS t, {first_org} + n % {orgs} AS org,
                         (ARRAY{list(WASTES)!r})[1 + n % {len(WASTES)}] AS waste
                  FROM generate_series(1, {containers}) AS n) AS s
            JOIN registry_site site ON site.organization_id = s.org
        """)
        print(f"  containers written in {time.perf_counter() - started:.0f} s", flush=True)
        kinds = ["produced", "packed", "weighed", "coded", "stored"] + [
            "handed_over" if i < extra - 1 else "received" for i in range(extra)]
        cursor.execute(f"""
            INSERT INTO tracking_scanevent (kind, occurred_at, recorded_at, weight_tonnes, discrepancy, method,
                reference, note, container_id, organization_id, site_id, to_organization_id)
            SELECT k.kind, c.produced_at + (k.i - 1) * interval '10 minutes', c.produced_at + (k.i - 1) * interval
                   '10 minutes', CASE WHEN k.kind = 'weighed' THEN c.net_weight_tonnes END, false, '', '', '',
                   c.id, CASE WHEN k.kind = 'received' THEN {receiver.pk} ELSE c.organization_id END,
                   CASE WHEN k.kind = 'stored' THEN c.storage_site_id END,
                   CASE WHEN k.kind = 'handed_over' THEN {receiver.pk} END
            FROM tracking_container c
            CROSS JOIN unnest(ARRAY{kinds!r}) WITH ORDINALITY AS k(kind, i)
            ORDER BY c.id, k.i
        """)
        print(f"  events written in {time.perf_counter() - started:.0f} s", flush=True)
        # one container in fifty is merged, with its neighbour, into a package: lineage both ways
        packages = containers // 50
        cursor.execute(f"""
            WITH p AS (SELECT {containers} + g AS id, 50 * g AS a, 50 * g - 1 AS b FROM generate_series(1, {packages})
                       AS g)
            INSERT INTO tracking_container (id, created_at, updated_at, version, code, storage_location, waste_name,
                physical_form, hazards, main_components, packaging, net_weight_tonnes, produced_at, status, origin,
                note, holder_id, organization_id, storage_site_id, waste_id)
            SELECT p.id, c.produced_at + interval '2 hours', c.produced_at + interval '2 hours', 1,
                   'TRACEPKG' || lpad(p.id::text, 12, '0'), '', c.waste_name, c.physical_form, c.hazards, '',
                   c.packaging, c.net_weight_tonnes * 2, c.produced_at + interval '2 hours', c.status, 'merged', '',
                   c.holder_id, c.organization_id, c.storage_site_id, c.waste_id
            FROM p JOIN tracking_container c ON c.id = p.a
        """)
        cursor.execute(f"""
            UPDATE tracking_container c SET parent_id = {containers} + c.id / 50, status = 'merged'
            WHERE c.id <= {packages * 50} AND (c.id % 50 = 0 OR c.id % 50 = 49)
        """)
        cursor.execute("""
            INSERT INTO tracking_scanevent (kind, occurred_at, recorded_at, discrepancy, method, reference, note,
                container_id, organization_id, related_container_id)
            SELECT 'merged', p.produced_at, p.produced_at, false, '', '', '', m.id, m.organization_id, p.id
            FROM tracking_container m JOIN tracking_container p ON p.id = m.parent_id
            UNION ALL
            SELECT 'merged', p.produced_at, p.produced_at, false, '', '', '', p.id, p.organization_id, m.id
            FROM tracking_container m JOIN tracking_container p ON p.id = m.parent_id
        """)
        cursor.execute("SELECT setval(pg_get_serial_sequence('tracking_container', 'id'), "
                       "(SELECT max(id) FROM tracking_container))")
        print(f"  lineage written in {time.perf_counter() - started:.0f} s; ANALYZE …", flush=True)
        cursor.execute("ANALYZE")
    print(f"built in {time.perf_counter() - started:.0f} s: {_count(connection, 'tracking_container'):,} containers, "
          f"{_count(connection, 'tracking_scanevent'):,} scan events", flush=True)


PLAIN_SQL = """
    SELECT c.id, c.code, c.status, c.origin, c.waste_id, c.net_weight_tonnes, c.produced_at, h.name, o.name,
           e.id, e.kind, e.occurred_at, e.weight_tonnes, eo.name, s.name, u.username, t.name, e.related_container_id
    FROM tracking_container c
    JOIN registry_organization h ON h.id = c.holder_id
    JOIN registry_organization o ON o.id = c.organization_id
    LEFT JOIN tracking_scanevent e ON e.container_id = c.id
    LEFT JOIN registry_organization eo ON eo.id = e.organization_id
    LEFT JOIN registry_site s ON s.id = e.site_id
    LEFT JOIN auth_user u ON u.id = e.actor_id
    LEFT JOIN registry_organization t ON t.id = e.to_organization_id
    WHERE c.code = %s
    ORDER BY e.occurred_at, e.id
"""


def _measure(connection, args):
    from django.contrib.auth import get_user_model
    from django.db import reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from wufei.core.scope import scope_for
    from wufei.tracking import services

    user = get_user_model().objects.get(username="trace-regulator")
    scope = scope_for(user)
    with connection.cursor() as cursor:  # random visible containers (the regulator sees Banan's)
        cursor.execute("SELECT max(id) FROM tracking_container")
        top = cursor.fetchone()[0]
        rng = random.Random(args.seed)
        codes = []
        while len(codes) < args.traces:
            ids = [rng.randint(1, top) for _ in range(args.traces * 3)]
            cursor.execute("SELECT c.code FROM tracking_container c JOIN registry_organization o "
                           "ON o.id = c.holder_id WHERE c.id = ANY(%s) AND o.region_id = %s", [ids, REGIONS[0]])
            codes += [row[0] for row in cursor.fetchall()]
        codes = codes[:args.traces]
    client = Client()
    client.force_login(user)
    client.get(f"/api/v1/trace/{codes[0]}")  # warm up: imports, the session, the first plan

    def api(code):
        response = client.get(f"/api/v1/trace/{code}")
        assert response.status_code == 200, (response.status_code, response.content[:200])

    def selector(code):
        services.trace(scope, code)

    def plain(code):
        with connection.cursor() as cursor:
            cursor.execute(PLAIN_SQL, [code])
            assert cursor.fetchall()

    results = {}
    for name, call in (("(c) plain SQL, one query       ", plain), ("(b) tracking.services.trace()   ", selector),
                       ("(a) GET /api/v1/trace/{code}   ", api)):
        times, statements, cpu = [], [], 0.0
        for code in codes:
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                started, cpu_started = time.perf_counter(), time.process_time()
                call(code)
                times.append((time.perf_counter() - started) * 1000)
                cpu += time.process_time() - cpu_started
            statements.append(len(queries))
        results[name] = (_percentiles(times), statistics.mean(statements), cpu * 1000 / len(codes))
    events = _count(connection, "tracking_scanevent")
    print(f"{args.traces} traces of random Banan containers among {events:,} scan events "
          f"({_count(connection, 'tracking_container'):,} containers):")
    base = results["(c) plain SQL, one query       "][0]
    for name, ((p50, p95, p99), per_trace, cpu_ms) in results.items():
        ratio = f"  ×{p50 / base[0]:5.1f} plain SQL at p50" if base[0] else ""
        print(f"  {name}: p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  p99 {p99:7.2f} ms  "
              f"{per_trace:5.1f} statements/trace  {cpu_ms:6.2f} ms CPU/trace in this process{ratio}")
    p99 = results["(a) GET /api/v1/trace/{code}   "][0][2]
    print(f"goal p99 < {GOAL_P99_MS:.0f} ms through the API: {'met' if p99 < GOAL_P99_MS else 'MISSED'} "
          f"({p99:.2f} ms)")


def _percentiles(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)

    def at(q):
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return at(0.50), at(0.95), at(0.99)


if __name__ == "__main__":
    main()
