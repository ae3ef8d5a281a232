"""Benchmark: importing organizations through the service path vs bare SQL inserts, in one run.

    .venv/bin/python bench/registry_import.py [--rows 100000] [--database-url URL]

The service path (`registry.imports.import_file`, what a request or an import job runs) reads the CSV,
checks every cell (USCC check characters, regions, duplicates), computes the supervision class, writes
the units and appends one audit-chain event per row, reporting its progress as a job would. The
baseline inserts the very rows the service path wrote (read back, deleted, inserted again) with one
executemany in one transaction. Both run on the same fresh database; printed: rows/s of each, their
ratio, the SQL statements per row of the service path, and its CPU time in this process (on a busy
machine the wall-clock rate depends on the load; rows per CPU second much less).
"""


import argparse
import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="wufei-bench-")
    os.environ["WUFEI_DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wufei.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from wufei.core.ids import make_uscc
    from wufei.core.scope import Scope
    from wufei.registry import imports
    from wufei.registry.models import Organization

    call_command("migrate", verbosity=0)
    Organization.objects.all().delete()

    rows = [[make_uscc("91", "500113", f"BN{i:07d}"), f"基准单位{i}", "500113", "产废单位", f"{i % 150}.5",
             "106.5", "29.4"] for i in range(args.rows)]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["uscc", "name", "region", "roles", "annual_hazardous_waste_tonnes",
                                   "longitude", "latitude"], *rows])
    content = buffer.getvalue().encode()

    statements = []
    reports = []

    def count(execute, sql, params, many, context):
        statements.append(1)
        return execute(sql, params, many, context)

    started, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        result = imports.import_file(scope=Scope(is_platform_admin=True), kind="organizations", content=content,
                                     filename="bench.csv", progress=lambda *report: reports.append(report))
    service_seconds, service_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.created == args.rows

    fields = Organization._meta.concrete_fields
    columns = [f.column for f in fields]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:  # the rows the service path wrote, as stored
        cursor.execute(f"SELECT {', '.join(quote(c) for c in columns)} FROM registry_organization ORDER BY id")
        values = cursor.fetchall()
    Organization.objects.all().delete()
    sql = (f"INSERT INTO registry_organization ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, values)
    raw_seconds = time.perf_counter() - started
    assert Organization.objects.count() == args.rows

    print(f"database: {connection.vendor}; rows: {args.rows:,}")
    print(f"import service path : {service_seconds:8.3f} s  ({args.rows / service_seconds:8.0f} rows/s)  "
          f"{len(statements):,} statements ({len(statements) / args.rows:.3f} per row), "
          f"{len(reports)} progress reports; {service_cpu:.3f} s of this process's CPU "
          f"({args.rows / service_cpu:.0f} rows per CPU second)")
    print(f"bare SQL executemany: {raw_seconds:8.3f} s  ({args.rows / raw_seconds:8.0f} rows/s)")
    print(f"ratio service / raw : {service_seconds / raw_seconds:8.1f}x")


if __name__ == "__main__":
    main()
