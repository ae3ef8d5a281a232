"""Benchmark: the regulator cockpit (/cockpit/ and /api/v1/analytics/cockpit) on a province-sized dataset,
against the same aggregates as hand-written SQL, in one run.

    .venv/bin/python bench/cockpit.py [--manifests 200000] [--containers 2000000] [--organizations 20000]
                                      [--database sqlite|postgres] [--database-url URL] [--repeat 3]
    .venv/bin/python bench/cockpit.py --demo [--database-url URL]

Synthetic mode (default): a fresh database (SQLite: a temporary file; PostgreSQL: --database-url of an
empty database, e.g. `createdb -h 127.0.0.1 -U postgres wufei_bench_cockpit`, or --database postgres for
postgres://postgres@127.0.0.1:5432/wufei_bench_cockpit, created if missing). Rows are written straight
into the tables (executemany on SQLite, COPY on PostgreSQL; the services are not what is measured), in the
current year (Asia/Shanghai):
  organizations spread over the districts of Chongqing (500000), 90 % with coordinates; one in 50 a
  licensed receiver (a permit line of 5,000 t/a, a site with a design capacity), one in 50 a carrier;
  containers with one 'produced' scan event each (weight recorded), 5 % still in stock, 3 % HW01
  medical waste, 2 % with an in-house 'self_disposed' event; manifests with one line each (90 %
  hazardous, 8 % medical, 2 % general), 97 % processed by D10 / R9 / R2 / C1, 1 % received, 2 % in
  transit; twelve months of e-ledger (SolidWasteMonth) for 5 % of the organizations.
The rows are written around the services, so first the ledger of the year is built from the scan events
(`ledgers.compute.build_ledger`; timed and printed: a one-off, the scans keep it current afterwards through the
dirty marks). Measured, warm, best of --repeat: (a) the cockpit page through Django's test Client logged in as a
province regulator (every section: headline, sub-regions, Sankey, map, capacity, indicators, alerts,
in transit, overdue work); (b) the cockpit API; (c) the flows API; (d) the same aggregates as plain SQL
(one statement per section, GROUP BY, no ORM: the headline from the ledger tables, as the cockpit reads it).
Printed: the times and statements per request, the ratios (a)/(d) and (b)/(d), and whether the headline figures
equal the SQL's (they must).

--demo: no data is generated; times the page and the API on an existing database built by `wufei demo`
(default: ./wufei.sqlite3 of the working directory, or --database-url) as the demo accounts
`city-regulator` (Chongqing, 500000) and `regulator` (Banan, 500113). Build it first with
`.venv/bin/wufei migrate && .venv/bin/wufei demo` (about a minute).
"""

import argparse
import datetime as dt
import io
import os
import random
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HAZARDOUS_CODES = ["900-041-49", "900-249-08", "900-214-08", "336-064-17", "772-002-18", "900-402-06"]
MEDICAL_CODE = "841-001-01"
METHODS = ["D10", "R9", "R2", "C1", "D1"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifests", type=int, default=200_000)
    parser.add_argument("--containers", type=int, default=2_000_000)
    parser.add_argument("--organizations", type=int, default=20_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true",
                        help="with --database-url: keep the data a previous run generated there (no new rows)")
    parser.add_argument("--demo", action="store_true", help="time the page on a database built by `wufei demo`")
    parser.add_argument("--year", type=int, default=None, help="--demo: the year shown (default: this year)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="wufei-bench-cockpit-")
    url = args.database_url
    if args.demo:
        url = url or f"sqlite:///{Path.cwd() / 'wufei.sqlite3'}"
    elif url is None and args.database == "postgres":
        url = "postgres://postgres@127.0.0.1:5432/wufei_bench_cockpit"
        _create_postgres_database(url)
    os.environ["WUFEI_DATABASE_URL"] = url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wufei.settings")
    os.environ["WUFEI_WORK_DIR"] = workdir
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    try:
        if args.demo:
            demo(args)
        else:
            synthetic(args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _create_postgres_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'DROP DATABASE "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- timing ---------------------------------------------------------------------------------------------

def best_of(repeat: int, call) -> tuple[float, object]:
    best, result = None, None
    for _ in range(repeat):
        clock = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - clock
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def client_for(username: str):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def time_pages(client, repeat: int, year: int | None = None) -> dict[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    query = f"?year={year}" if year else ""
    out = {}
    for label, url in (("page", f"/cockpit/{query}"), ("api", f"/api/v1/analytics/cockpit{query}"),
                       ("flows", f"/api/v1/analytics/flows{query}")):
        answer = client.get(url)  # warm-up
        assert answer.status_code == 200, (url, answer.status_code, answer.content[:300])
        out[label], _answer = best_of(repeat, lambda url=url: client.get(url))
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        out[f"{label}_statements"] = len(captured)
    return out


def demo(args):
    from django.db import connection

    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), demo data")
    for username, region in (("city-regulator", "500000"), ("regulator", "500113")):
        times = time_pages(client_for(username), args.repeat, args.year)
        print(f"{username} ({region}, {args.year or 'this year'}): page {times['page']:.3f} s, "
              f"cockpit API {times['api']:.3f} s, flows API {times['flows']:.3f} s")


# --- synthetic data ---------------------------------------------------------------------------------------

def _copy_text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def load(connection, model, rows, batch: int = 20_000) -> int:
    """Write dict rows (attname -> value, the model's defaults filling the rest): COPY on PostgreSQL,
    executemany on SQLite. The same shape of loader as bench/indicators_eval.py's `load`, with NULLs."""
    from django.db import models as m
    from django.db import transaction
    from django.utils import timezone

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    stamp = timezone.now()
    defaults = {}
    for f in fields:
        default = f.get_default()
        defaults[f.attname] = None if default == "" and f.null else default
    defaults.update({name: stamp for name in ("created_at", "updated_at", "recorded_at", "built_at")
                     if name in defaults})
    if "version" in defaults:
        defaults["version"] = 1
    ops = connection.ops
    adapt = []
    for f in fields:
        if isinstance(f, m.DateTimeField):
            adapt.append(ops.adapt_datetimefield_value if connection.vendor == "sqlite" else None)
        elif isinstance(f, m.DecimalField):
            adapt.append(str)
        elif isinstance(f, m.JSONField):
            adapt.append(lambda v: "{}" if v in (None, {}) else v)
        else:
            adapt.append(None)
    names = [f.attname for f in fields]
    count = 0

    def tuples():
        nonlocal count
        for row in rows:
            values = {**defaults, **row}
            count += 1
            yield [values[n] if a is None or values[n] is None else a(values[n])
                   for n, a in zip(names, adapt, strict=True)]

    table = connection.ops.quote_name(model._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {table} ({', '.join(connection.ops.quote_name(c) for c in columns)}) FROM STDIN"
            buffer = io.StringIO()
            for number, values in enumerate(tuples(), 1):
                buffer.write("\t".join(_copy_text(v) for v in values) + "\n")
                if number % 200_000 == 0:
                    with cursor.cursor.copy(sql) as copy:
                        copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            with cursor.cursor.copy(sql) as copy:
                copy.write(buffer.getvalue())
        else:
            sql = (f"INSERT INTO {table} ({', '.join(connection.ops.quote_name(c) for c in columns)}) "
                   f"VALUES ({', '.join(['%s'] * len(columns))})")
            chunk = []
            for values in tuples():
                chunk.append(values)
                if len(chunk) == batch:
                    cursor.executemany(sql, chunk)
                    chunk = []
            if chunk:
                cursor.executemany(sql, chunk)
    return count


def synthetic(args):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from wufei.catalog.models import Region
    from wufei.core.ids import make_uscc
    from wufei.ledgers.models import SolidWasteMonth
    from wufei.manifests.models import Manifest, ManifestLine
    from wufei.registry.models import OperatingPermit, Organization, PermitLine, RegulatorMembership, Site
    from wufei.tracking.models import Container, ScanEvent

    call_command("migrate", verbosity=0)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -1000000")
    if args.reuse and Organization.objects.filter(name="基准单位0").exists():
        print(f"database: {connection.vendor}, reusing {Organization.objects.count():,} organizations, "
              f"{Container.objects.count():,} containers, {Manifest.objects.count():,} manifests")
        return measure(args, connection)
    print(f"database: {connection.vendor}  organizations {args.organizations:,}  containers {args.containers:,}  "
          f"manifests {args.manifests:,}")
    rng = random.Random(8)
    now = timezone.now().replace(microsecond=0)
    year = timezone.localtime(now).year
    start = dt.datetime(year, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    span = max(60, int((now - start).total_seconds()) - 60)
    today = timezone.localdate()

    def moment():
        return start + dt.timedelta(seconds=rng.randint(1, span))

    clock = time.perf_counter()
    districts = list(Region.objects.filter(parent_id="500000", status="current").values_list("code", flat=True))
    n = args.organizations
    load(connection, Organization, ({
        "uscc": make_uscc("91", districts[i % len(districts)], f"CK{i:07d}"), "name": f"基准单位{i}",
        "region_id": districts[i % len(districts)], "status": "active",
        "is_generator": i % 50 not in (0, 1), "is_receiver": i % 50 == 0, "is_transporter": i % 50 == 1,
        "is_medical_institution": i % 33 == 5, "supervision_class": "key",
        "longitude": None if i % 10 == 9 else Decimal("106") + Decimal(rng.randint(0, 250000)) / 100000,
        "latitude": None if i % 10 == 9 else Decimal("28.5") + Decimal(rng.randint(0, 250000)) / 100000}
        for i in range(n)))
    orgs = list(Organization.objects.order_by("pk").values_list("pk", "is_receiver", "is_transporter"))
    receivers = [pk for pk, receiver, _carrier in orgs if receiver]
    generators = [pk for pk, receiver, carrier in orgs if not (receiver or carrier)]
    load(connection, OperatingPermit, ({
        "organization_id": pk, "number": f"基准许可{pk}", "kind": "comprehensive", "status": "valid",
        "valid_from": today - dt.timedelta(days=400), "valid_until": today + dt.timedelta(days=900)}
        for pk in receivers))
    permits = list(OperatingPermit.objects.values_list("pk", flat=True))
    load(connection, PermitLine, ({"permit_id": pk, "category_id": "HW08", "annual_capacity_tonnes": Decimal(5000)}
                                  for pk in permits))
    load(connection, Site, ({"organization_id": pk, "code": f"S{pk:017d}", "name": f"处置设施{pk}",
                             "kind": "disposal", "is_active": True,
                             "design_capacity_tonnes_per_year": Decimal(6000),
                             "longitude": Decimal("106.5"), "latitude": Decimal("29.5")} for pk in receivers))
    print(f"registry: {time.perf_counter() - clock:.1f} s")

    clock = time.perf_counter()
    first = None
    produced_rows = []

    def containers():
        for i in range(args.containers):
            org = generators[i % len(generators)]
            stock = rng.random() < 0.05
            code = MEDICAL_CODE if i % 33 == 0 else HAZARDOUS_CODES[i % len(HAZARDOUS_CODES)]
            at = moment()
            weight = Decimal(rng.randint(10, 2000)) / 1000
            produced_rows.append((org, at, weight))
            yield {"code": f"C{i:012d}", "organization_id": org, "holder_id": org, "waste_id": code,
                   "waste_name": "基准废物", "physical_form": "solid", "hazards": "T", "packaging": "drum",
                   "net_weight_tonnes": weight, "produced_at": at, "stored_at": at,
                   "status": "stored" if stock else "disposed", "origin": "produced"}

    load(connection, Container, containers())
    first = Container.objects.order_by("pk").values_list("pk", flat=True).first()

    def events():
        for offset, (org, at, weight) in enumerate(produced_rows):
            yield {"container_id": first + offset, "kind": "produced", "occurred_at": at, "organization_id": org,
                   "weight_tonnes": weight, "recorded_at": at}
            if offset % 50 == 7:
                yield {"container_id": first + offset, "kind": "self_disposed", "occurred_at": at, "method": "D10",
                       "organization_id": org, "weight_tonnes": weight, "recorded_at": at}

    load(connection, ScanEvent, events())
    produced_rows.clear()
    print(f"containers and scan events: {time.perf_counter() - clock:.1f} s")

    clock = time.perf_counter()
    manifest_rows = []

    def manifests():
        for i in range(args.manifests):
            roll = rng.random()
            kind = "hazardous" if roll < 0.90 else "medical" if roll < 0.98 else "general"
            state = rng.random()
            status = "processed" if state < 0.97 else "received" if state < 0.98 else "in_transit"
            at = moment()
            tonnes = Decimal(rng.randint(1, 200)) / 10
            done = status != "in_transit"
            manifest_rows.append((kind, tonnes, status))
            yield {"number": f"{i:014d}", "kind": kind, "status": status,
                   "generator_id": generators[i % len(generators)], "receiver_id": receivers[i % len(receivers)],
                   "submitted_at": at, "picked_up_at": at, "received_at": at if done else None,
                   "processed_at": at if status == "processed" else None, "shipped_tonnes": tonnes,
                   "received_tonnes": tonnes if done else None, "accepted_tonnes": tonnes if done else Decimal(0),
                   "purpose": "transfer", "reception": "accepted" if done else ""}

    load(connection, Manifest, manifests())
    first_manifest = Manifest.objects.order_by("pk").values_list("pk", flat=True).first()

    def lines():
        for offset, (kind, tonnes, status) in enumerate(manifest_rows):
            done = status != "in_transit"
            method = METHODS[offset % len(METHODS)]
            yield {"manifest_id": first_manifest + offset, "position": 1,
                   "waste_id": None if kind == "general" else MEDICAL_CODE if kind == "medical"
                   else HAZARDOUS_CODES[offset % len(HAZARDOUS_CODES)],
                   "general_code": "SW01" if kind == "general" else "", "waste_name": "基准废物",
                   "shipped_tonnes": tonnes, "received_tonnes": tonnes if done else None,
                   "accepted_tonnes": tonnes if done else Decimal(0), "planned_method_id": method,
                   "method_id": method if status == "processed" else None, "container_count": 1}

    load(connection, ManifestLine, lines())
    manifest_rows.clear()
    solid_units = generators[::20]
    month_now = timezone.localtime(now).month

    def solid():
        for org in solid_units:
            stock = Decimal(0)
            for month in range(1, month_now + 1):
                generated = Decimal(rng.randint(100, 5000)) / 10
                used = (generated * Decimal("0.8")).quantize(Decimal("0.1"))
                disposed = (generated - used) / 2
                closing = stock + generated - used - disposed
                yield {"organization_id": org, "code": "SW01", "name": "冶炼废渣", "year": year, "month": month,
                       "opening_stock": stock, "generated": generated, "self_utilized": used,
                       "self_disposed": disposed, "closing_stock": closing}
                stock = closing

    load(connection, SolidWasteMonth, solid())
    print(f"manifests, lines, e-ledger: {time.perf_counter() - clock:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user = get_user_model().objects.create_user(username="bench-province", password="bench-pw-2026")
    RegulatorMembership.objects.create(user=user, region_id="500000", authority="重庆市生态环境局")
    district = get_user_model().objects.create_user(username="bench-district", password="bench-pw-2026")
    RegulatorMembership.objects.create(user=district, region_id="500113", authority="巴南区生态环境局")
    measure(args, connection)


def measure(args, connection):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    now = timezone.now().replace(microsecond=0)
    year = timezone.localtime(now).year
    user = get_user_model().objects.get(username="bench-province")
    from wufei.ledgers.compute import build_ledger

    started = time.perf_counter()
    rows = build_ledger(year=year)
    print(f"ledger of {year} built from the scan events (once; then the scans keep it current): {rows:,} rows, "
          f"{time.perf_counter() - started:.1f} s")
    times = time_pages(client_for("bench-province"), args.repeat)
    raw_time, raw = best_of(args.repeat, lambda: plain_sql(connection, year, now))
    from wufei.analytics import services
    from wufei.core.scope import scope_for

    data = services.cockpit(scope_for(user), now=now)
    same = all(data["headline"][stream][figure] == raw["headline"].get((stream, figure), Decimal(0)).quantize(
        Decimal("0.001")) for stream in services.STREAMS for figure in services.FIGURES)
    print(f"(a) cockpit page:        {times['page']:.3f} s ({times['page_statements']} statements)")
    print(f"(b) cockpit API:         {times['api']:.3f} s ({times['api_statements']} statements)")
    print(f"(c) flows API:           {times['flows']:.3f} s ({times['flows_statements']} statements)")
    print(f"(d) plain SQL baseline:  {raw_time:.3f} s ({raw['statements']} statements)")
    print(f"ratio page / SQL: {times['page'] / raw_time:.1f}x;  API / SQL: {times['api'] / raw_time:.1f}x")
    if get_user_model().objects.filter(username="bench-district").exists():
        district = time_pages(client_for("bench-district"), args.repeat)
        print(f"district regulator (500113, 1/40 of the data): page {district['page']:.3f} s, "
              f"cockpit API {district['api']:.3f} s, flows API {district['flows']:.3f} s")
    print(f"headline figures equal the SQL's: {same}")
    if not same:
        for stream in services.STREAMS:
            print(stream, data["headline"][stream], {f: raw["headline"].get((stream, f)) for f in services.FIGURES})
        sys.exit(1)


# --- the raw baseline -----------------------------------------------------------------------------------

def plain_sql(connection, year: int, now: dt.datetime) -> dict:
    """The cockpit's aggregates for the province (region path '/500000/%') as plain SQL, one statement a section."""
    from wufei.analytics.services import year_bounds

    start, end = year_bounds(year)
    s, e = connection.ops.adapt_datetimefield_value(start), connection.ops.adapt_datetimefield_value(end)
    like = "/500000/%"
    statements = {
        "ledger": (
            "SELECT CASE WHEN lm.waste_id LIKE '%%-01' THEN 'medical' ELSE 'hazardous' END, SUM(lm.generated), "
            "SUM(lm.received_in), SUM(lm.transferred_out), SUM(lm.self_utilized + lm.utilized), "
            "SUM(lm.self_disposed + lm.disposed), SUM(CASE WHEN lm.month = 12 THEN lm.closing_stock ELSE 0 END) "
            "FROM ledgers_ledgermonth lm JOIN registry_organization o ON o.id = lm.organization_id "
            "JOIN catalog_region r ON r.code = o.region_id WHERE r.path LIKE %s AND lm.year = %s GROUP BY 1",
            [like, year]),
        "inflow": (
            "SELECT m.kind, SUM(l.accepted_tonnes) FROM manifests_manifestline l "
            "JOIN manifests_manifest m ON m.id = l.manifest_id "
            "JOIN registry_organization o ON o.id = m.receiver_id JOIN catalog_region r ON r.code = o.region_id "
            "JOIN registry_organization g ON g.id = m.generator_id JOIN catalog_region gr ON gr.code = g.region_id "
            "WHERE m.status IN ('received', 'processed') AND r.path LIKE %s AND gr.path NOT LIKE %s "
            "AND m.purpose IN ('transfer', 'forward', 'onward') AND m.received_at >= %s AND m.received_at < %s "
            "GROUP BY 1", [like, like, s, e]),
        "solid": (
            "SELECT SUM(generated), SUM(entrusted_utilization + entrusted_disposal), "
            "SUM(self_utilized + entrusted_utilization), SUM(self_disposed + entrusted_disposal) "
            "FROM ledgers_solidwastemonth s "
            "JOIN registry_organization o ON o.id = s.organization_id JOIN catalog_region r ON r.code = o.region_id "
            "WHERE r.path LIKE %s AND s.year = %s", [like, year]),
        "solid_received": (
            "SELECT SUM(entrusted_utilization + entrusted_disposal) FROM ledgers_solidwastemonth s "
            "JOIN registry_organization o ON o.id = s.receiver_id JOIN catalog_region r ON r.code = o.region_id "
            "WHERE r.path LIKE %s AND s.year = %s", [like, year]),
        "solid_stock": (
            "SELECT SUM(s.closing_stock) FROM ledgers_solidwastemonth s "
            "JOIN registry_organization o ON o.id = s.organization_id JOIN catalog_region r ON r.code = o.region_id "
            "WHERE r.path LIKE %s AND s.year = %s AND s.month = (SELECT MAX(t.month) FROM ledgers_solidwastemonth t "
            "WHERE t.organization_id = s.organization_id AND t.code = s.code AND t.year = s.year)", [like, year]),
        "sankey": (
            "SELECT r.path, m.kind, w.category_id, l.general_code, m.receiver_id, "
            "COALESCE(l.method_id, l.planned_method_id), SUM(l.accepted_tonnes) FROM manifests_manifestline l "
            "JOIN manifests_manifest m ON m.id = l.manifest_id "
            "LEFT JOIN catalog_hazardouswaste w ON w.code = l.waste_id "
            "JOIN registry_organization o ON o.id = m.generator_id JOIN catalog_region r ON r.code = o.region_id "
            "WHERE m.status IN ('received', 'processed') AND r.path LIKE %s AND m.received_at >= %s "
            "AND m.received_at < %s GROUP BY 1, 2, 3, 4, 5, 6", [like, s, e]),
        "map": (
            "SELECT o.id, o.longitude, o.latitude FROM registry_organization o JOIN catalog_region r "
            "ON r.code = o.region_id WHERE r.path LIKE %s AND o.longitude IS NOT NULL LIMIT 5000", [like]),
        "map_tonnes": (
            "SELECT m.generator_id, SUM(l.accepted_tonnes) FROM manifests_manifestline l "
            "JOIN manifests_manifest m ON m.id = l.manifest_id JOIN registry_organization o ON o.id = m.generator_id "
            "JOIN catalog_region r ON r.code = o.region_id WHERE m.status IN ('received', 'processed') "
            "AND r.path LIKE %s AND m.received_at >= %s AND m.received_at < %s GROUP BY 1", [like, s, e]),
        "load": (
            "SELECT m.receiver_id, SUM(CASE WHEN m.status IN ('submitted', 'in_transit') THEN l.shipped_tonnes "
            "ELSE l.accepted_tonnes END) FROM manifests_manifestline l JOIN manifests_manifest m "
            "ON m.id = l.manifest_id JOIN registry_organization o ON o.id = m.receiver_id "
            "JOIN catalog_region r ON r.code = o.region_id WHERE r.path LIKE %s AND m.submitted_at >= %s "
            "AND m.submitted_at < %s AND l.waste_id IS NOT NULL "
            "AND m.status IN ('submitted', 'in_transit', 'received', 'processed') GROUP BY 1", [like, s, e]),
        "transit": (
            "SELECT COUNT(*), MIN(m.picked_up_at) FROM manifests_manifest m JOIN registry_organization o "
            "ON o.id = m.generator_id JOIN catalog_region r ON r.code = o.region_id "
            "WHERE r.path LIKE %s AND m.status = 'in_transit'", [like]),
    }
    results = {}
    with connection.cursor() as cursor:
        for name, (sql, params) in statements.items():
            cursor.execute(sql, params)
            results[name] = cursor.fetchall()
    d = lambda v: Decimal(str(v or 0)).quantize(Decimal("0.000001"))  # noqa: E731
    headline: dict[tuple[str, str], Decimal] = {}

    def add(stream, figure, value):
        headline[(stream, figure)] = headline.get((stream, figure), Decimal(0)) + d(value)

    for stream, generated, received, transferred, utilized, disposed, stored in results["ledger"]:
        for figure, value in (("generated", generated), ("received", received), ("transferred", transferred),
                              ("utilized", utilized), ("disposed", disposed), ("stored", stored)):
            add(stream, figure, value)
    streams = {"hazardous": "hazardous", "medical": "medical", "general": "gisw"}
    for kind, total in results["inflow"]:
        add(streams[kind], "inflow", total)
    [(generated, transferred, utilized, disposed)] = results["solid"]
    add("gisw", "generated", generated)
    add("gisw", "transferred", transferred)
    add("gisw", "utilized", utilized)
    add("gisw", "disposed", disposed)
    add("gisw", "received", results["solid_received"][0][0])
    add("gisw", "stored", results["solid_stock"][0][0])
    return {"headline": headline, "statements": len(statements)}


if __name__ == "__main__":
    main()
