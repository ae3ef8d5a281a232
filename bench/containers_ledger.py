"""Benchmark: record containers through the service path and build the year's ledger, against plain SQL.

    .venv/bin/python bench/containers_ledger.py [--containers 1000000] [--database-url URL]

(a) `tracking.services.bulk_record` (validation, code allocation, the five 五即 events per
container and one audit-chain link per container) vs plain executemany INSERTs of the same
container and event rows into scratch tables, in the same run;
(b) `ledgers.compute.build_ledger` for the year vs one plain SQL GROUP BY over the scratch rows.
The ledger's generated totals are checked against the plain SQL totals.
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

YEAR = 2025
WASTES = ["900-041-49", "772-002-18", "336-064-17", "900-300-34", "900-402-06", "900-249-08"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=1_000_000)
    parser.add_argument("--organizations", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="wufei-bench-")
    os.environ["WUFEI_DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wufei.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Sum

    from wufei.core.audit import acting_as
    from wufei.core.ids import make_uscc
    from wufei.core.scope import Scope
    from wufei.ledgers.compute import build_ledger
    from wufei.ledgers.models import LedgerMonth
    from wufei.registry.models import Organization, Site
    from wufei.tracking.services import bulk_record

    call_command("migrate", verbosity=0)
    admin = Scope(is_platform_admin=True)
    with acting_as("bench"):
        organizations = [Organization.objects.create(
            uscc=make_uscc("91", "500113", f"BC{i:07d}"), name=f"基准产废单位{i}", region_id="500113",
            is_generator=True) for i in range(args.organizations)]
        stores = {org.pk: Site.objects.create(organization=org, code=f"{org.uscc}001P", name="危废贮存库",
                                              kind="storage") for org in organizations}
    rng = random.Random(7)
    per_org = args.containers // args.organizations
    shanghai = dt.timezone(dt.timedelta(hours=8))

    def batches_for(org, count):
        return [{"waste_code": rng.choice(WASTES), "waste_name": "基准废物", "physical_form": "solid",
                 "packaging": "drum", "net_weight_tonnes": Decimal(rng.randint(50, 900)) / 1000,
                 "storage_site_id": stores[org.pk].pk,
                 "produced_at": dt.datetime(YEAR, rng.randint(1, 12), rng.randint(1, 28), 10, 0, tzinfo=shanghai)}
                for _ in range(count)]

    # (a) service path
    recorded = 0
    started = time.perf_counter()
    for org in organizations:
        remaining = per_org
        while remaining:
            count = min(args.batch, remaining)
            recorded += len(bulk_record(scope=admin, organization_id=org.pk, batches=batches_for(org, count)))
            remaining -= count
    service_seconds = time.perf_counter() - started

    # (a') plain SQL: the same number of container and event rows into scratch tables
    with connection.cursor() as cursor:
        for name, source in (("bench_container", "tracking_container"), ("bench_event", "tracking_scanevent")):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
            cursor.execute(f"CREATE TABLE {name} AS SELECT * FROM {source} WHERE 1 = 0")
    container_columns = [c for c in _columns(connection, "tracking_container")]
    event_columns = [c for c in _columns(connection, "tracking_scanevent")]
    sample_container = _row(connection, "tracking_container", container_columns)
    sample_event = _row(connection, "tracking_scanevent", event_columns)
    code_index = container_columns.index("code")
    id_index = container_columns.index("id")
    weight_index = container_columns.index("net_weight_tonnes")
    org_index = container_columns.index("organization_id")
    waste_index = container_columns.index("waste_id")
    produced_index = container_columns.index("produced_at")
    event_id = event_columns.index("id")
    event_container = event_columns.index("container_id")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        container_sql = (f"INSERT INTO bench_container ({', '.join(container_columns)}) "
                         f"VALUES ({', '.join(['%s'] * len(container_columns))})")
        event_sql = (f"INSERT INTO bench_event ({', '.join(event_columns)}) "
                     f"VALUES ({', '.join(['%s'] * len(event_columns))})")
        chunk, events, next_event = [], [], 1
        for n in range(recorded):
            row = list(sample_container)
            row[id_index], row[code_index] = n + 1, f"B{n:036d}"
            row[org_index] = organizations[n % len(organizations)].pk
            row[waste_index] = WASTES[n % len(WASTES)]
            row[weight_index] = str(Decimal(rng.randint(50, 900)) / 1000)
            row[produced_index] = dt.datetime(YEAR, 1 + n % 12, 15, 2, 0, tzinfo=dt.UTC).isoformat()
            chunk.append(row)
            for _ in range(5):
                event = list(sample_event)
                event[event_id], event[event_container] = next_event, n + 1
                next_event += 1
                events.append(event)
            if len(chunk) >= 5000:
                cursor.executemany(container_sql, chunk)
                cursor.executemany(event_sql, events)
                chunk, events = [], []
        if chunk:
            cursor.executemany(container_sql, chunk)
            cursor.executemany(event_sql, events)
    raw_seconds = time.perf_counter() - started

    # (b) ledger build vs plain GROUP BY
    started = time.perf_counter()
    rows = build_ledger(year=YEAR)
    ledger_seconds = time.perf_counter() - started
    month = "strftime('%m', produced_at)" if connection.vendor == "sqlite" else \
        "extract(month from produced_at AT TIME ZONE 'Asia/Shanghai')"
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT organization_id, waste_id, {month}, SUM(net_weight_tonnes) FROM tracking_container "
                       f"GROUP BY organization_id, waste_id, {month}")
        sql_rows = cursor.fetchall()
    group_by_seconds = time.perf_counter() - started
    sql_total = sum(Decimal(str(r[3])) for r in sql_rows)
    ledger_total = LedgerMonth.objects.filter(year=YEAR).aggregate(total=Sum("generated"))["total"]

    print(f"database: {connection.vendor}; containers: {recorded} (5 events each); organizations: {len(organizations)}")
    print(f"bulk_record (service path): {service_seconds:9.1f} s  {recorded / service_seconds:10.0f} containers/s")
    print(f"plain SQL INSERTs         : {raw_seconds:9.1f} s  {recorded / raw_seconds:10.0f} containers/s")
    print(f"ratio service / plain SQL : {service_seconds / raw_seconds:9.1f}x")
    print(f"build_ledger({YEAR})        : {ledger_seconds:9.2f} s  ({rows} ledger rows)")
    print(f"plain SQL GROUP BY        : {group_by_seconds:9.2f} s  ({len(sql_rows)} groups)")
    print(f"ratio ledger / GROUP BY   : {ledger_seconds / group_by_seconds:9.1f}x")
    micro = Decimal("0.000001")
    same = Decimal(ledger_total).quantize(micro) == sql_total.quantize(micro)
    print(f"generated total: ledger {ledger_total} t, plain SQL {sql_total} t -> {'equal' if same else 'DIFFERENT'}")


def _columns(connection, table):
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, table)]


def _row(connection, table, columns):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table} LIMIT 1")
        return cursor.fetchone()


if __name__ == "__main__":
    main()
