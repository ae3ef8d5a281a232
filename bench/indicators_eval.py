"""Benchmark: evaluate every catalog indicator of a province-year over N ledger rows, against one
hand-written SQL aggregation of the same numbers, in one run.

    .venv/bin/python bench/indicators_eval.py [--rows 10000000] [--database-url URL] [--repeat 3]

On a fresh database (default: a temporary SQLite file; for PostgreSQL create an empty database
first, e.g. `createdb -h 127.0.0.1 -U postgres wufei_bench_ind`, and pass
--database-url postgres://postgres@127.0.0.1:5432/wufei_bench_ind).

Setup (not measured): generators spread over the 38 districts of Chongqing (500000); N hazardous
waste LedgerMonth rows for the year (organizations × 80 waste codes × 12 months), plus N/20
monthly e-ledger rows (SolidWasteMonth); the approved industrial value added of the province.
Rows are written with plain executemany (SQLite) or COPY (PostgreSQL).

Measured, in the same run:
  (a) `services.evaluate_region(scope, "500000", year)`: every catalog indicator (formula, direct,
      state) of the province-year through the engine: region-subtree aggregates of the ledger and
      the e-ledger (one GROUP BY year query per table for the year, the baseline year and the year
      before), manifests and registry counts, entered values and the child regions' entered values;
  (b) one hand-written SQL statement aggregating the same ledger and e-ledger numbers for the year
      (joins organization → region, LIKE on the region path).
Printed: both times (best of --repeat), their ratio, and whether the engine's quantities equal the
SQL numbers (they must).
"""

import argparse
import datetime as dt
import io
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WASTE_CODES = 80
MONTHS = 12


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000, help="LedgerMonth rows (default 10,000,000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", action="store_true", help="print the engine's slowest queries")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="wufei-bench-")
    os.environ["WUFEI_DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wufei.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from wufei.catalog.models import HazardousWaste, Region
    from wufei.core.ids import make_uscc
    from wufei.core.scope import Scope
    from wufei.indicators import services
    from wufei.indicators.models import Indicator, QuantityValue
    from wufei.ledgers.models import LedgerMonth
    from wufei.registry.models import Organization, OrganizationState

    call_command("migrate", verbosity=0)
    if Organization.objects.exists() or LedgerMonth.objects.exists():
        sys.exit("the database is not empty: run the benchmark on a fresh one")
    year, vendor = args.year, connection.vendor
    services.load_catalog()
    districts = list(Region.objects.filter(parent_id="500000").values_list("code", flat=True))
    wastes = list(HazardousWaste.objects.order_by("pk").values_list("pk", flat=True)[:WASTE_CODES])
    organizations = max(1, -(-args.rows // (len(wastes) * MONTHS)))
    print(f"database: {vendor} ({connection.settings_dict['NAME']}); ledger rows: {args.rows:,} "
          f"({organizations:,} generators × {len(wastes)} codes × 12 months, {len(districts)} districts); "
          f"year: {year}", flush=True)

    # --- setup (not measured) -------------------------------------------------------------------------
    started = time.perf_counter()
    Organization.objects.bulk_create([
        Organization(uscc=make_uscc("91", districts[i % len(districts)], f"BM{i:07d}"), name=f"基准单位{i:06d}",
                     region_id=districts[i % len(districts)], is_generator=True,
                     registered_on=dt.date(year - 5, 1, 1)) for i in range(organizations)],
        batch_size=2000)
    ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    # bulk_create skips Organization.save: each unit's history (registry.history) is one open period, as the
    # registry's migration gives a unit of before the history existed
    OrganizationState.objects.bulk_create([
        OrganizationState(organization_id=pk, valid_from=dt.date(year - 5, 1, 1), status="active",
                          region_id=districts[i % len(districts)], is_generator=True) for i, pk in enumerate(ids)],
        batch_size=2000)
    now = timezone.now()
    rng = random.Random(2026)

    def ledger_rows():
        written = 0
        for org in ids:
            for waste in wastes:
                opening = Decimal(0)
                for month in range(1, MONTHS + 1):
                    if written == args.rows:
                        return
                    generated = Decimal(rng.randint(0, 5000)) / 1000
                    utilized = (generated * Decimal("0.1")).quantize(Decimal("0.001"))
                    transferred = (generated * Decimal("0.8")).quantize(Decimal("0.001"))
                    closing = opening + generated - utilized - transferred
                    yield (org, waste, year, month, opening, generated, 0, generated, transferred, utilized, 0,
                           transferred, closing, 1, now)
                    opening = closing
                    written += 1

    def solid_rows():
        count = args.rows // 20
        written = 0
        for org in ids:
            for code in range(1, 6):
                opening = Decimal(0)
                for month in range(1, MONTHS + 1):
                    if written == count:
                        return
                    generated = Decimal(rng.randint(0, 90000)) / 1000
                    utilized = (generated * Decimal("0.7")).quantize(Decimal("0.001"))
                    disposed = (generated * Decimal("0.25")).quantize(Decimal("0.001"))
                    closing = opening + generated - utilized - disposed
                    yield (now, now, 1, org, f"SW0{code}", "", year, month, opening, generated, utilized, 0,
                           disposed, 0, closing)
                    opening = closing
                    written += 1

    ledger_columns = ("organization_id", "waste_id", "year", "month", "opening_stock", "generated", "received_in",
                      "stored_in", "stored_out", "self_utilized", "self_disposed", "transferred_out",
                      "closing_stock", "containers", "built_at")
    solid_columns = ("created_at", "updated_at", "version", "organization_id", "code", "name", "year", "month",
                     "opening_stock", "generated", "self_utilized", "entrusted_utilization", "self_disposed",
                     "entrusted_disposal", "closing_stock")
    load(connection, transaction, "ledgers_ledgermonth", ledger_columns, ledger_rows())
    load(connection, transaction, "ledgers_solidwastemonth", solid_columns, solid_rows())
    QuantityValue.objects.create(region_id="500000", year=year, key="industrial_value_added",
                                 value=Decimal("79000000"), entered_value="7900", entered_unit="亿元",
                                 status="approved")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if vendor == "postgresql" else "ANALYZE")
    print(f"setup: {time.perf_counter() - started:.1f} s ({LedgerMonth.objects.count():,} ledger rows)", flush=True)

    # --- (a) the engine -----------------------------------------------------------------------------------
    scope = Scope(is_platform_admin=True, username="bench")
    engine_times, results = [], None
    for _ in range(args.repeat):
        started = time.perf_counter()
        results = services.evaluate_region(scope=scope, region_code="500000", year=year, baseline_year=year - 1)
        engine_times.append(time.perf_counter() - started)
    if args.profile:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            services.evaluate_region(scope=scope, region_code="500000", year=year, baseline_year=year - 1)
        slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:4]
        print(f"    {len(captured.captured_queries)} queries; slowest:", flush=True)
        for query in slowest:
            print(f"    {float(query['time']):.3f} s  {query['sql'][:300]}", flush=True)
    computed = sum(1 for r in results if r.value is not None)
    print(f"(a) engine, {len(results)} indicators ({computed} with a value): "
          f"best {min(engine_times):.3f} s  runs {', '.join(f'{t:.3f}' for t in engine_times)}", flush=True)

    # --- (b) one hand-written SQL aggregation --------------------------------------------------------------
    like = "/500000/%"
    def total(expression: str) -> str:
        # SQLite adds decimals as binary floats: sum whole micro-tonnes there, as the engine does
        if vendor == "sqlite":
            return f"SUM(CAST(ROUND(({expression}) * 1000000) AS INTEGER))"
        return f"SUM({expression})"

    sql = f"""
        SELECT l.generated, l.transferred, l.opening, l.utilized, l.disposed,
               s.generated, s.utilized, s.disposed, s.stored
        FROM (SELECT {total("m.generated")} AS generated, {total("m.transferred_out")} AS transferred,
                     {total("CASE WHEN m.month = 1 THEN m.opening_stock ELSE 0 END")} AS opening,
                     {total("m.self_utilized")} AS utilized, {total("m.self_disposed")} AS disposed
              FROM ledgers_ledgermonth m
              JOIN registry_organization o ON o.id = m.organization_id
              JOIN catalog_region r ON r.code = o.region_id
              WHERE m.year = %s AND r.path LIKE %s) l,
             (SELECT {total("w.generated")} AS generated,
                     {total("w.self_utilized + w.entrusted_utilization")} AS utilized,
                     {total("w.self_disposed + w.entrusted_disposal")} AS disposed,
                     {total("CASE WHEN w.month = 12 THEN w.closing_stock ELSE 0 END")} AS stored
              FROM ledgers_solidwastemonth w
              JOIN registry_organization o ON o.id = w.organization_id
              JOIN catalog_region r ON r.code = o.region_id
              WHERE w.year = %s AND r.path LIKE %s) s
    """
    raw_times, raw = [], None
    for _ in range(args.repeat):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, [year, like, year, like])
            raw = cursor.fetchone()
        raw_times.append(time.perf_counter() - started)
    print(f"(b) one SQL aggregation:           best {min(raw_times):.3f} s  runs "
          f"{', '.join(f'{t:.3f}' for t in raw_times)}", flush=True)
    print(f"ratio engine / SQL: {min(engine_times) / min(raw_times):.2f}", flush=True)

    values = services.Values(region=Region.objects.get(pk="500000"))
    keys = ["hw_generated", "hw_transferred", "hw_opening_stock", "hw_utilized", "hw_disposed", "gisw_generated",
            "gisw_utilized", "gisw_disposed", "gisw_stored"]
    values.prefetch(set(keys), {year})
    engine = [values.get(key, year)[0] for key in keys]
    six = Decimal("0.000001")
    raw = [Decimal(b or 0).scaleb(-6) if vendor == "sqlite" else Decimal(str(b or 0)) for b in raw]
    same = all(Decimal(str(a)).quantize(six) == b.quantize(six) for a, b in zip(engine, raw, strict=True))
    print(f"same numbers: {same}  (hw_generated {engine[0]} t, gisw_generated {engine[5]} t)", flush=True)
    intensity = next(r for r in results if r.indicator.code == "hw_intensity")
    print(f"hw_intensity {services.formulas.rounded(intensity.value, 4)} t/万元 "
          f"({Indicator.objects.count()} catalog indicators)")
    if not same:
        sys.exit(1)


def load(connection, transaction, table, columns, rows, batch=20000):
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            buffer = io.StringIO()
            copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            for count, row in enumerate(rows, 1):
                buffer.write("\t".join(_text(v) for v in row) + "\n")
                if count % 200000 == 0:
                    _copy(cursor, copy_sql, buffer)
                    buffer = io.StringIO()
            _copy(cursor, copy_sql, buffer)
        return
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    with transaction.atomic(), connection.cursor() as cursor:
        chunk = []
        for row in rows:
            chunk.append(tuple(str(v) if isinstance(v, Decimal) else v for v in row))
            if len(chunk) == batch:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


def _text(value) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _copy(cursor, sql, buffer):
    buffer.seek(0)
    raw = cursor.cursor
    with raw.copy(sql) as copy:
        copy.write(buffer.getvalue())


if __name__ == "__main__":
    main()
