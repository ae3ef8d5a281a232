"""Benchmark: importing organizations through the service path vs bare SQL inserts, in one run.

    .venv/bin/python bench/registry_import.py [--rows 2000] [--database-url URL]

The service path parses every cell, checks USCCs, regions and duplicates, computes the
supervision class and appends one audit-chain event per row. The baseline inserts the
same rows with one executemany. Both run on a fresh database; the ratio is printed.
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
    from django.utils import timezone

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

    started = time.perf_counter()
    result = imports.import_file(scope=Scope(is_platform_admin=True), kind="organizations", content=content,
                                 filename="bench.csv")
    service_seconds = time.perf_counter() - started
    assert result.created == args.rows

    Organization.objects.all().delete()
    now = timezone.now()
    columns = ("uscc", "name", "region_id", "is_generator", "annual_hazardous_waste_tonnes", "longitude",
               "latitude", "created_at", "updated_at", "version", "address", "industry_code", "industry_name",
               "legal_representative", "contact_name", "contact_phone", "is_transporter", "is_collector",
               "is_receiver", "is_medical_institution", "status", "closed_reason", "supervision_class",
               "supervision_basis", "supervision_override", "supervision_override_reason")
    values = [(r[0], r[1], r[2], True, r[4], r[5], r[6], now, now, 1, "", "", "", "", "", "", False, False, False,
               False, "active", "", "registered", "{}", "", "") for r in rows]
    sql = (f"INSERT INTO registry_organization ({', '.join(columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, values)
    raw_seconds = time.perf_counter() - started

    print(f"database: {connection.vendor}; rows: {args.rows}")
    print(f"import service path : {service_seconds:8.3f} s  ({args.rows / service_seconds:8.0f} rows/s)")
    print(f"bare SQL executemany: {raw_seconds:8.3f} s  ({args.rows / raw_seconds:8.0f} rows/s)")
    print(f"ratio service / raw : {service_seconds / raw_seconds:8.1f}x")


if __name__ == "__main__":
    main()
