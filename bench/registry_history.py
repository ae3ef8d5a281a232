"""Benchmark: the registry counts of past years (registry.selectors.count_units) against plain SQL.

    .venv/bin/python bench/registry_history.py [--units 200000] [--database-url URL] [--repeat 5]

On a fresh database (default: a temporary SQLite file; for PostgreSQL create an empty database and pass its URL).
Setup, not measured: N units spread over Chongqing's districts (a third generators, one in ten medical
institutions, one in twenty receivers) with their history: every tenth unit closed in the middle year, every
twentieth moved district, every eighth registered in the last year. Measured, for the city and for one district,
the three years' counts of the three roles the indicators read:

  (a) `count_units(path, years, REGISTRY)` — the selector, statements per call;
  (b) plain SQL — the same counts written by hand (one SELECT of SUM(CASE …));
  (c) the count of today's registry the indicators read before (one query over organizations), for reference.

Prints each median in ms, the ratio (a)/(b), and checks (a) and (b) agree.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FLAGS = {"generators": "is_generator", "hw_operators": "is_receiver", "medical_institutions": "is_medical_institution"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="wufei-bench-")
    os.environ["WUFEI_DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wufei.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count, Q
    from django.test.utils import CaptureQueriesContext

    from wufei.catalog.models import Region
    from wufei.core.ids import make_uscc
    from wufei.registry.models import Organization, OrganizationState
    from wufei.registry.selectors import count_units

    call_command("migrate", verbosity=0)
    if Organization.objects.exists():
        sys.exit("the database is not empty: run the benchmark on a fresh one")
    year = args.year
    years = [year - 2, year - 1, year]
    districts = list(Region.objects.filter(parent_id="500000").order_by("pk").values_list("code", flat=True))
    start, middle, last = dt.date(year - 10, 1, 1), dt.date(year - 1, 7, 1), dt.date(year, 3, 1)
    print(f"database: {connection.vendor}; units: {args.units:,} over {len(districts)} districts; years: {years}",
          flush=True)

    started = time.perf_counter()
    flags = [{"is_generator": i % 3 == 0, "is_receiver": i % 20 == 1, "is_medical_institution": i % 10 == 2}
             for i in range(args.units)]
    Organization.objects.bulk_create([
        Organization(uscc=make_uscc("91", districts[i % len(districts)], f"RH{i:07d}"), name=f"历史单位{i:06d}",
                     region_id=districts[i % len(districts)], registered_on=last if i % 8 == 3 else start,
                     status="closed" if i % 10 == 4 else "active", **flags[i])
        for i in range(args.units)], batch_size=2000)
    ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    states = []
    for i, pk in enumerate(ids):
        region = districts[i % len(districts)]
        base = {"organization_id": pk, "region_id": region, **flags[i]}
        if i % 8 == 3:
            states.append(OrganizationState(valid_from=last, status="active", **base))
        elif i % 10 == 4:
            states += [OrganizationState(valid_from=start, valid_to=middle, status="active", **base),
                       OrganizationState(valid_from=middle, status="closed", **base)]
        elif i % 20 == 5:
            moved = {**base, "region_id": districts[(i + 1) % len(districts)]}
            states += [OrganizationState(valid_from=start, valid_to=middle, status="active", **base),
                       OrganizationState(valid_from=middle, status="active", **moved)]
        else:
            states.append(OrganizationState(valid_from=start, status="active", **base))
    OrganizationState.objects.bulk_create(states, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"setup: {len(states):,} history rows in {time.perf_counter() - started:.1f} s", flush=True)

    def plain(path: str) -> dict:
        columns, params = [], []
        for y in years:
            end = dt.date(y, 12, 31)
            for flag in FLAGS.values():
                columns.append(f"SUM(CASE WHEN s.{flag} AND s.valid_from <= %s AND (s.valid_to IS NULL OR "
                               f"s.valid_to > %s) THEN 1 ELSE 0 END)")
                params += [end, end]
        sql = (f"SELECT {', '.join(columns)} FROM registry_organizationstate s JOIN catalog_region r "
               f"ON r.code = s.region_id WHERE s.status = 'active' AND r.path LIKE %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, f"{path}%"])
            row = cursor.fetchone()
        values = iter(row)
        return {y: {key: int(next(values) or 0) for key in FLAGS} for y in years}

    def today(path: str):
        return Organization.objects.filter(region__path__startswith=path, status="active").aggregate(
            **{key: Count("pk", filter=Q(**{flag: True})) for key, flag in FLAGS.items()})

    def median_ms(run) -> float:
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1000)
        return statistics.median(times)

    for code in ("500000", districts[0]):
        path = Region.objects.get(pk=code).path
        with CaptureQueriesContext(connection) as queries:
            counted = count_units(path, years, FLAGS)
        assert counted == plain(path), (counted, plain(path))
        selector = median_ms(lambda p=path: count_units(p, years, FLAGS))
        by_hand = median_ms(lambda p=path: plain(p))
        now = median_ms(lambda p=path: today(p))
        print(f"{code}: (a) count_units {selector:.1f} ms, {len(queries)} statement(s); (b) plain SQL "
              f"{by_hand:.1f} ms; ratio {selector / by_hand:.2f}; (c) today's registry {now:.1f} ms; "
              f"{years[-1]}: {counted[years[-1]]}", flush=True)


if __name__ == "__main__":
    main()
