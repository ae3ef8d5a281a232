"""Benchmark: a year of containers through the service path and the year's ledger, against plain SQL, in one run.

    .venv/bin/python bench/tracking_ledger.py [--containers 1000000] [--generators 300] [--per-call 5000]
                                              [--database-url URL]

On a fresh database (default: a temporary SQLite file; for PostgreSQL create an empty database
first, e.g. `createdb -h 127.0.0.1 -U postgres wufei_bench2`, and pass
--database-url postgres://postgres@127.0.0.1:5432/wufei_bench2):

Setup (not measured): a few hundred generators with a storage facility, bulk-inserted.

Measured, service path:
  (a) `tracking.services.bulk_record` of N containers with the five 五即 events each (produced, packed,
      weighed, coded, stored), in calls of a few thousand containers per generator (batches of 1–20
      containers of one weight and time): validation, HJ 1276 code sequences, container and event
      rows and one audit-chain link per container;
  (b) `ledgers.compute.build_ledger` for the year (LedgerMonth rows of every generator and code).

Measured, raw baseline in the same run:
  (a') plain SQL INSERTs of the same container and event rows (executemany, one transaction) into
      scratch copies of the two tables (same columns and indexes);
  (b') one plain SQL GROUP BY over the scratch copies giving the same monthly totals (generated,
      containers, stored in, per generator, waste code and Asia/Shanghai month).

On PostgreSQL also (a") the same rows by COPY, which is what the service path uses there.

Printed: containers/s of both paths and their ratio, the ledger build against the GROUP BY and
their ratio, and whether the ledger's totals equal the SQL totals (they must).
"""

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WASTES = [  # waste code, name, physical form, packaging, nominal net weight (t)
    ("900-041-49", "沾染危险废物的废包装物", "solid", "tonne_bag", 0.6),
    ("900-249-08", "废矿物油", "liquid", "drum", 0.17),
    ("336-064-17", "酸洗磷化污泥", "semi_solid", "tonne_bag", 1.0),
    ("900-404-06", "废有机溶剂", "liquid", "drum", 0.16),
    ("900-039-49", "废活性炭", "solid", "tonne_bag", 0.8),
    ("900-300-34", "清洗废酸液", "liquid", "ibc", 1.1),
]
SIX = Decimal("0.000001")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=1_000_000)
    parser.add_argument("--generators", type=int, default=300)
    parser.add_argument("--per-call", type=int, default=5000, help="containers per bulk_record call (at most)")
    parser.add_argument("--year", type=int, default=None, help="default: last year")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="wufei-bench-")
    os.environ["WUFEI_DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wufei.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from wufei.core import audit
    from wufei.core.ids import make_uscc
    from wufei.core.scope import Scope
    from wufei.ledgers.compute import build_ledger
    from wufei.ledgers.models import LedgerMonth
    from wufei.registry.models import Organization, Site
    from wufei.tracking import services as tracking
    from wufei.tracking.models import Container, ScanEvent

    call_command("migrate", verbosity=0)
    if Organization.objects.exists() or Container.objects.exists():
        sys.exit("the database is not empty: run the benchmark on a fresh one")
    year = args.year or timezone.localdate().year - 1
    vendor = connection.vendor
    print(f"database: {vendor} ({connection.settings_dict['NAME']}); containers: {args.containers:,}; "
          f"generators: {args.generators}; year: {year}", flush=True)

    # --- setup: generators with a storage facility (bulk, not measured) -----------------------------
    regions = ("500113", "500154")
    Organization.objects.bulk_create([
        Organization(uscc=make_uscc("91", regions[i % 2], f"BM{i:07d}"), name=f"基准产废单位{i:04d}",
                     region_id=regions[i % 2], is_generator=True, annual_hazardous_waste_tonnes=Decimal(100),
                     supervision_class="key") for i in range(args.generators)], batch_size=500)
    generators = list(Organization.objects.order_by("pk"))
    Site.objects.bulk_create([Site(organization=o, code=f"{o.uscc}001S", name="危险废物贮存库", kind="storage",
                                   storage_capacity_tonnes=Decimal(50)) for o in generators], batch_size=500)
    storage = dict(Site.objects.values_list("organization_id", "pk"))

    # --- (a) the service path ------------------------------------------------------------------------
    scope = Scope(is_platform_admin=True, username="bench")
    rng = random.Random(2026)
    tz = timezone.get_default_timezone()
    start = dt.datetime(year, 1, 1, tzinfo=tz)
    per_generator = [args.containers // len(generators) + (1 if i < args.containers % len(generators) else 0)
                     for i in range(len(generators))]
    recorded = 0
    service_seconds = 0.0
    with audit.acting_as("bench"):
        for organization, count in zip(generators, per_generator, strict=True):
            remaining = count
            while remaining:
                calls = []
                size = min(remaining, args.per_call)
                left = size
                while left:
                    code, name, form, packaging, nominal = WASTES[rng.randrange(len(WASTES))]
                    n = min(left, rng.randint(1, 20))
                    moment = start + dt.timedelta(seconds=rng.randrange(365 * 86400))
                    calls.append({"waste_code": code, "waste_name": name, "physical_form": form,
                                  "packaging": packaging, "count": n, "produced_at": moment,
                                  "net_weight_tonnes": Decimal(str(round(nominal * rng.uniform(0.85, 1.15), 3))),
                                  "storage_site_id": storage[organization.pk]})
                    left -= n
                started = time.perf_counter()
                recorded += len(tracking.bulk_record(scope=scope, organization_id=organization.pk, batches=calls))
                service_seconds += time.perf_counter() - started
                remaining -= size
            if organization.pk % 50 == 0:
                print(f"  … {recorded:,} containers recorded, {recorded / service_seconds:,.0f}/s", flush=True)
    assert recorded == args.containers
    events = ScanEvent.objects.count()
    print(f"(a)  bulk_record, service path : {service_seconds:9.2f} s  {recorded / service_seconds:10,.0f} containers/s"
          f"  ({events:,} events, {recorded:,} audit links)", flush=True)

    # --- (b) the ledger ------------------------------------------------------------------------------
    started = time.perf_counter()
    rows = build_ledger(year=year)
    ledger_seconds = time.perf_counter() - started
    print(f"(b)  build_ledger({year})       : {ledger_seconds:9.2f} s  ({rows:,} LedgerMonth rows)", flush=True)

    # --- (a') plain SQL INSERTs into scratch copies ----------------------------------------------------
    tables = {Container: "bench_container", ScanEvent: "bench_scanevent"}
    with connection.cursor() as cursor:
        for model, scratch in tables.items():
            _copy_table(cursor, vendor, model._meta.db_table, scratch)
    container_columns = [f.column for f in Container._meta.concrete_fields]
    event_columns = [f.column for f in ScanEvent._meta.concrete_fields]
    raw_seconds = 0.0
    chunk = 20000
    quote = connection.ops.quote_name
    with transaction.atomic():
        last = 0
        while True:
            with connection.cursor() as cursor:  # read the rows back (not measured)
                cursor.execute(f"SELECT {', '.join(quote(c) for c in container_columns)} FROM "
                               f"{quote(Container._meta.db_table)} WHERE id > %s ORDER BY id LIMIT {chunk}", [last])
                containers = cursor.fetchall()
                if not containers:
                    break
                last = containers[-1][0]
                cursor.execute(f"SELECT {', '.join(quote(c) for c in event_columns)} FROM "
                               f"{quote(ScanEvent._meta.db_table)} WHERE container_id > %s AND container_id <= %s",
                               [containers[0][0] - 1, last])
                rows_of_events = cursor.fetchall()
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.executemany(_insert(tables[Container], container_columns, quote), containers)
                cursor.executemany(_insert(tables[ScanEvent], event_columns, quote), rows_of_events)
            raw_seconds += time.perf_counter() - started
    print(f"(a') plain SQL executemany     : {raw_seconds:9.2f} s  {recorded / raw_seconds:10,.0f} containers/s"
          f"  (the same container and event rows)", flush=True)
    copy_seconds = None
    if vendor == "postgresql":  # what the service path itself uses there: COPY
        copy_seconds = _copy_rows(connection, tables, container_columns, event_columns, chunk)
        print(f"(a\") plain COPY (PostgreSQL)  : {copy_seconds:9.2f} s  {recorded / copy_seconds:10,.0f} containers/s"
              f"  (the same rows again, into emptied copies)", flush=True)

    # --- (b') plain SQL GROUP BY -----------------------------------------------------------------------
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(_group_by(vendor, year), [])
        sql_rows = cursor.fetchall()
    group_seconds = time.perf_counter() - started
    print(f"(b') plain SQL GROUP BY        : {group_seconds:9.2f} s  ({len(sql_rows):,} groups)", flush=True)

    # --- same totals? --------------------------------------------------------------------------------
    sql_totals = {(o, w, int(m)): (Decimal(str(g or 0)).quantize(SIX), int(n), Decimal(str(s or 0)).quantize(SIX))
                  for o, w, m, g, n, s in sql_rows}
    ledger_totals = {(r.organization_id, r.waste_id, r.month): (r.generated.quantize(SIX), r.containers,
                                                                r.stored_in.quantize(SIX))
                     for r in LedgerMonth.objects.filter(year=year)
                     if r.generated or r.containers or r.stored_in}  # rows that only carry stock are not movements
    generated = sum((v[0] for v in ledger_totals.values()), Decimal(0))
    same = sql_totals == ledger_totals
    print(f"ledger totals = SQL totals     : {'yes' if same else 'NO'} ({len(ledger_totals):,} organization × code × "
          f"month rows; generated {generated:,.6f} t)")
    if not same:
        diff = {k for k in set(sql_totals) | set(ledger_totals) if sql_totals.get(k) != ledger_totals.get(k)}
        for key in sorted(diff)[:10]:
            print(f"  {key}: SQL {sql_totals.get(key)} ledger {ledger_totals.get(key)}")
    print()
    print(f"recording: service {recorded / service_seconds:,.0f} containers/s vs plain SQL "
          f"{recorded / raw_seconds:,.0f} containers/s: {service_seconds / raw_seconds:.1f}x the time")
    if copy_seconds:
        print(f"           vs plain COPY {recorded / copy_seconds:,.0f} containers/s: "
              f"{service_seconds / copy_seconds:.1f}x the time")
    print(f"ledger   : build_ledger {ledger_seconds:.2f} s vs GROUP BY {group_seconds:.2f} s: "
          f"{ledger_seconds / group_seconds:.1f}x the time")
    with connection.cursor() as cursor:
        for scratch in tables.values():
            cursor.execute(f"DROP TABLE {quote(scratch)}")
    if not same:
        sys.exit(1)


def _copy_table(cursor, vendor: str, table: str, scratch: str) -> None:
    """An empty table with the same columns and indexes (on SQLite also the same foreign keys)."""
    import re

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


def _copy_rows(connection, tables: dict, container_columns: list[str], event_columns: list[str], chunk: int) -> float:
    """COPY the same rows into the emptied scratch tables (PostgreSQL), one transaction; the seconds spent copying."""
    from django.db import transaction

    from wufei.tracking.models import Container, ScanEvent

    quote = connection.ops.quote_name
    seconds = 0.0
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {quote(tables[ScanEvent])}, {quote(tables[Container])}")
        last = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {', '.join(quote(c) for c in container_columns)} FROM "
                               f"{quote(Container._meta.db_table)} WHERE id > %s ORDER BY id LIMIT {chunk}", [last])
                containers = cursor.fetchall()
                if not containers:
                    break
                last = containers[-1][0]
                cursor.execute(f"SELECT {', '.join(quote(c) for c in event_columns)} FROM "
                               f"{quote(ScanEvent._meta.db_table)} WHERE container_id > %s AND container_id <= %s",
                               [containers[0][0] - 1, last])
                events = cursor.fetchall()
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for table, columns, rows in ((tables[Container], container_columns, containers),
                                             (tables[ScanEvent], event_columns, events)):
                    with cursor.cursor.copy(f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) "
                                            f"FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            seconds += time.perf_counter() - started
    return seconds


def _insert(table: str, columns: list[str], quote) -> str:
    return (f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})")


def _group_by(vendor: str, year: int) -> str:
    """Per generator, waste code and local month: generated t, containers, into storage t (the ledger's columns)."""
    if vendor == "postgresql":
        month = "EXTRACT(MONTH FROM e.occurred_at AT TIME ZONE 'Asia/Shanghai')::int"
        year_of = "EXTRACT(YEAR FROM e.occurred_at AT TIME ZONE 'Asia/Shanghai')::int"
    else:
        month = "CAST(strftime('%%m', e.occurred_at, '+8 hours') AS INTEGER)"
        year_of = "CAST(strftime('%%Y', e.occurred_at, '+8 hours') AS INTEGER)"
    return f"""
        SELECT c.organization_id, c.waste_id, {month} AS month,
               SUM(CASE WHEN e.kind = 'produced' THEN e.weight_tonnes END),
               SUM(CASE WHEN e.kind = 'produced' THEN 1 ELSE 0 END),
               SUM(CASE WHEN e.kind = 'stored' THEN e.weight_tonnes END)
        FROM bench_scanevent e JOIN bench_container c ON c.id = e.container_id
        WHERE e.kind IN ('produced', 'stored') AND c.origin = 'produced' AND {year_of} = {year}
        GROUP BY c.organization_id, c.waste_id, {month}
    """


if __name__ == "__main__":
    main()
