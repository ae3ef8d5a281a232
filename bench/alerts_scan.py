"""Benchmark: the alert scan over many manifests and containers, against the rules' plain SQL run directly.

    .venv/bin/python bench/alerts_scan.py [--manifests 1000000] [--containers 10000000] [--database-url URL]

Synthetic rows are written straight into the tables (bulk INSERTs; the services are not what is
measured here): receivers with permits, carriers with vehicles, generators; containers of which
`--stock-share` are still in stock with storage ages spread over 0-400 days (so some are near or
past the one-year and 48-hour limits); manifests, one line and one leg each, mostly processed, a
few in transit past the receipt deadline, with a weighbridge discrepancy, with a plan warning,
over 40 t, to the same unit, or to a receiver whose permit does not cover the code.

Measured in the same run, on the same database:
  (1) `scanner.scan(full=True)`, the first scan: every rule, alerts opened (one audited save each);
  (2) the same scan again: a rerun that opens nothing;
  (3) an incremental scan (the watermark of run 2);
  (4) the rules' conditions as plain SQL SELECTs of the tripping ids, run directly (no partitions,
      no alert bookkeeping): the floor a scan of these rules cannot beat.
Like the rules, the manifest event queries look back 90 days (lookback_days). The ratio printed
is (2) / (4): the scan's overhead over the bare queries when nothing changes.
The mass-balance rule (one organization at a time through the ledgers' mass_balance) is left
out (--with-mass-balance to include it): it is bounded per scan by its max_organizations parameter.
"""

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CODES = ["900-041-49", "900-249-08", "900-214-08", "336-064-17", "772-002-18", "841-001-01"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifests", type=int, default=1_000_000)
    parser.add_argument("--containers", type=int, default=10_000_000)
    parser.add_argument("--organizations", type=int, default=2000)
    parser.add_argument("--stock-share", type=float, default=0.05, help="share of containers still in stock")
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--with-mass-balance", action="store_true")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="wufei-bench-")
    os.environ["WUFEI_DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wufei.settings")
    os.environ["WUFEI_WORK_DIR"] = workdir
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB page cache: index inserts stay in memory
    try:
        run(args, connection, now=timezone.now().replace(microsecond=0))
    finally:
        if not args.database_url:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, connection, now):
    from django.db import transaction
    from django.utils import timezone

    from wufei.alerts import rules as table
    from wufei.alerts import scanner
    from wufei.alerts.models import Alert
    from wufei.core.audit import acting_as
    from wufei.core.ids import make_uscc
    from wufei.manifests.models import Manifest, ManifestLine, TransportLeg
    from wufei.registry.models import OperatingPermit, Organization, PermitLine, Vehicle
    from wufei.tracking.models import Container

    print(f"database: {connection.vendor}  manifests {args.manifests:,}  containers {args.containers:,}")
    rng = random.Random(6)
    today = timezone.localdate()
    started = time.perf_counter()
    with acting_as("bench"):
        regions = ["500113", "500154", "500112", "500110"]
        orgs = Organization.objects.bulk_create([Organization(
            uscc=make_uscc("91", regions[i % 4], f"AL{i:07d}"), name=f"基准单位{i}", region_id=regions[i % 4],
            is_generator=True, is_receiver=i % 40 == 0, is_transporter=i % 40 == 1,
            longitude=Decimal("106.5") + Decimal(i % 100) / 100, latitude=Decimal("29.5") + Decimal(i % 50) / 100)
            for i in range(args.organizations)])
        orgs = list(Organization.objects.order_by("pk"))
        receivers = [o for o in orgs if o.is_receiver]
        carriers = [o for o in orgs if o.is_transporter]
        generators = [o for o in orgs if not (o.is_receiver or o.is_transporter)]
        for index, receiver in enumerate(receivers):
            permit = OperatingPermit.objects.create(
                organization=receiver, number=f"基准许可{index}", kind="comprehensive",
                valid_from=today - dt.timedelta(days=400),
                valid_until=today + dt.timedelta(days=30 if index % 10 == 0 else 900))
            for category in ("HW49", "HW08", "HW17", "HW18", "HW01"):
                PermitLine.objects.create(permit=permit, category_id=category,
                                          annual_capacity_tonnes=Decimal(args.manifests // len(receivers) * 2))
        vehicles = Vehicle.objects.bulk_create([Vehicle(
            organization=carrier, plate=f"渝B{i:05d}", transport_permit_number=f"V{i}",
            transport_permit_valid_until=today + dt.timedelta(days=(i % 30) * 10 - 20))
            for i, carrier in enumerate(carriers * 5)])
        vehicles = list(Vehicle.objects.order_by("pk"))
    print(f"registry rows: {time.perf_counter() - started:.1f} s")

    def fill(model, count, make):
        """Plain executemany INSERTs of the model's columns; `make(i)` gives a dict of attname -> value
        (model instances and get_db_prep_save cost more than the INSERT itself)."""
        from django.db import models as m

        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        sql = (f"INSERT INTO {model._meta.db_table} ({', '.join(f.column for f in fields)}) "
               f"VALUES ({', '.join(['%s'] * len(fields))})")
        stamp = timezone.now()
        defaults = {f.attname: f.get_default() for f in fields}
        defaults.update({"created_at": stamp, "updated_at": stamp, "version": 1})
        ops = connection.ops
        adapters = []
        for f in fields:
            if isinstance(f, m.DateTimeField):
                adapters.append(ops.adapt_datetimefield_value)
            elif isinstance(f, m.DecimalField):
                adapters.append(lambda v, f=f: ops.adapt_decimalfield_value(v, f.max_digits, f.decimal_places))
            else:
                adapters.append(None)
        names = [f.attname for f in fields]
        done, clock = 0, time.perf_counter()
        while done < count:
            n = min(args.batch, count - done)
            rows = []
            for i in range(n):
                values = {**defaults, **make(done + i)}
                rows.append([values[name] if adapt is None or values[name] is None else adapt(values[name])
                             for name, adapt in zip(names, adapters, strict=True)])
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, rows)
            done += n
        return time.perf_counter() - clock

    in_stock = ("stored", "coded", "received")

    def container(i):
        org = generators[i % len(generators)]
        stock = rng.random() < args.stock_share
        code = CODES[i % len(CODES)]
        age = dt.timedelta(hours=rng.randint(0, 60), seconds=rng.randint(1, 3599)) if code.endswith("-01") \
            else dt.timedelta(days=rng.randint(0, 400), seconds=rng.randint(1, 86399))
        at = now - age if stock else now - dt.timedelta(days=rng.randint(1, 500))
        return {"code": f"B{i:012d}", "organization_id": org.pk, "holder_id": org.pk, "waste_id": code,
                "waste_name": "基准废物", "physical_form": "solid", "hazards": "T", "packaging": "drum",
                "net_weight_tonnes": Decimal("0.5"), "produced_at": at, "stored_at": at,
                "status": rng.choice(in_stock) if stock else "disposed", "storage_location": "", "note": "",
                "main_components": "", "origin": "produced"}

    seconds = fill(Container, args.containers, container)
    print(f"containers written: {seconds:.1f} s")

    def manifest(i):
        roll = rng.random()
        generator = generators[i % len(generators)]
        receiver = generator if roll < 0.0005 else receivers[i % len(receivers)]
        status = "in_transit" if roll < 0.003 else "processed"
        submitted = now - dt.timedelta(days=rng.randint(0, 300), hours=rng.randint(0, 23))
        if submitted.year != now.year:
            submitted = now - dt.timedelta(days=rng.randint(0, 20))
        tonnes = Decimal("42") if 0.003 <= roll < 0.004 else Decimal(rng.randint(1, 80)) / 10
        return {"number": f"{i:014d}", "kind": "hazardous", "status": status, "generator_id": generator.pk,
                "receiver_id": receiver.pk, "submitted_at": submitted, "picked_up_at": submitted,
                "shipped_tonnes": tonnes, "accepted_tonnes": tonnes if status == "processed" else Decimal(0),
                "discrepancy": 0.004 <= roll < 0.009, "discrepancy_percent": Decimal("7") if 0.004 <= roll < 0.009
                else None, "plan_warning": "not planned" if 0.009 <= roll < 0.012 else "", "purpose": "transfer",
                "emergency_measures": "", "note": "", "cross_province_basis": "", "refusal_reason": "",
                "reception": "", "cancel_reason": "", "refused_tonnes": Decimal(0)}

    seconds = fill(Manifest, args.manifests, manifest)
    first_id = Manifest.objects.order_by("pk").values_list("pk", flat=True).first()
    manifests = list(Manifest.objects.order_by("pk").values_list("pk", "shipped_tonnes", "submitted_at"))

    def line(i):
        pk, tonnes, _at = manifests[i]
        code = "900-300-34" if i % 2000 == 7 else CODES[i % 5]
        return {"manifest_id": pk, "position": 1, "waste_id": code, "waste_name": "基准废物", "shipped_tonnes": tonnes,
                "accepted_tonnes": tonnes, "planned_method_id": "D10" if i % 3 else None, "general_code": "",
                "physical_form": "", "hazards": "", "packaging": "", "refused_tonnes": Decimal(0)}

    seconds += fill(ManifestLine, len(manifests), line)

    def leg(i):
        pk, _tonnes, at = manifests[i]
        return {"manifest_id": pk, "position": 1, "transporter_id": carriers[i % len(carriers)].pk,
                "vehicle_id": vehicles[i % len(vehicles)].pk, "taken_at": at, "driver_name": "", "driver_phone": "",
                "start_place": "", "end_place": ""}

    seconds += fill(TransportLeg, len(manifests), leg)
    print(f"manifests, lines, legs written: {seconds:.1f} s (first id {first_id})")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    rule_ids = [s.id for s in table.RULES if args.with_mass_balance or s.id != "ledger.mass_balance_gap"]

    def timed_scan(label, **kwargs):
        clock = time.perf_counter()
        counts = scanner.scan(now=now, rule_ids=rule_ids, **kwargs)
        elapsed = time.perf_counter() - clock
        opened = sum(c["opened"] for c in counts.values())
        hits = sum(c["hits"] for c in counts.values())
        print(f"{label}: {elapsed:.2f} s, {hits:,} entities tripping, {opened:,} alerts opened")
        return elapsed, counts

    first, counts = timed_scan("(1) first scan", full=True)
    slowest = sorted(counts.items(), key=lambda kv: -kv[1]["seconds"])[:6]
    print("    slowest rules: " + ", ".join(f"{k} {v['seconds']:.2f}s/{v['hits']}" for k, v in slowest))
    alerts = Alert.objects.count()
    rerun, counts = timed_scan("(2) rerun (full)", full=True)
    assert Alert.objects.count() == alerts, "a rerun opened alerts"
    slowest = sorted(counts.items(), key=lambda kv: -kv[1]["seconds"])[:6]
    print("    slowest rules: " + ", ".join(f"{k} {v['seconds']:.2f}s" for k, v in slowest))
    incremental, _counts = timed_scan("(3) incremental scan", full=False)

    raw, raw_rows = plain_sql(connection, now, today)
    print(f"(4) plain SQL of the rules: {raw:.2f} s, {raw_rows:,} rows")
    print(f"ratio rerun / plain SQL: {rerun / raw:.1f}x; first scan / plain SQL: {first / raw:.1f}x; "
          f"incremental / plain SQL: {incremental / raw:.1f}x")


def plain_sql(connection, now, today):
    """The tripping ids of each set-based rule, as bare SELECTs (default parameters, no region partitions)."""
    from wufei.manifests.services import overdue_since

    stock = "('produced','packed','weighed','coded','stored','received')"
    year_start = now.replace(month=1, day=1, hour=0, minute=0, second=0)
    live = "('submitted','in_transit','received','processed')"
    recent = f"submitted_at >= '{(now - dt.timedelta(days=90)).astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}'"
    is_pg = connection.vendor == "postgresql"
    category = "'HW' || right(l.waste_id, 2)" if is_pg else "'HW' || substr(l.waste_id, -2)"
    day = "(m.submitted_at AT TIME ZONE 'Asia/Shanghai')::date" if is_pg else "date(m.submitted_at, '+8 hours')"
    queries = [
        ("storage.near_limit", f"SELECT id FROM tracking_container WHERE status IN {stock} AND waste_id NOT LIKE "
         "'%%-01' AND COALESCE(stored_at, produced_at) < %s AND COALESCE(stored_at, produced_at) >= %s",
         [now - dt.timedelta(days=335), now - dt.timedelta(days=365)]),
        ("storage.near_limit (medical)", f"SELECT id FROM tracking_container WHERE status IN {stock} AND waste_id "
         "LIKE '%%-01' AND COALESCE(stored_at, produced_at) < %s AND COALESCE(stored_at, produced_at) >= %s",
         [now - dt.timedelta(hours=36), now - dt.timedelta(hours=48)]),
        ("storage.over_limit", f"SELECT id FROM tracking_container WHERE status IN {stock} AND waste_id NOT LIKE "
         "'%%-01' AND COALESCE(stored_at, produced_at) < %s", [now - dt.timedelta(days=365)]),
        ("medical.over_limit", f"SELECT id FROM tracking_container WHERE status IN {stock} AND waste_id LIKE "
         "'%%-01' AND COALESCE(stored_at, produced_at) < %s", [now - dt.timedelta(hours=48)]),
        ("manifest.overdue", "SELECT id FROM manifests_manifest WHERE status = 'in_transit' AND picked_up_at < %s",
         [overdue_since(now)]),
        ("manifest.discrepancy", f"SELECT id FROM manifests_manifest WHERE discrepancy AND {recent}", []),
        ("manifest.same_parties", f"SELECT id FROM manifests_manifest WHERE generator_id = receiver_id AND status IN "
         f"{live} AND purpose <> 'return' AND {recent}", []),
        ("manifest.overweight", f"SELECT m.id FROM manifests_manifest m WHERE m.status IN {live} AND "
         f"m.shipped_tonnes > 40 AND m.{recent} AND EXISTS (SELECT 1 FROM manifests_transportleg g "
         "WHERE g.manifest_id = m.id AND g.vehicle_id IS NOT NULL)", []),
        ("plan.transfer_not_planned", f"SELECT id FROM manifests_manifest WHERE status IN {live} AND "
         f"plan_warning <> '' AND {recent}", []),
        ("manifest.receiver_not_permitted", f"SELECT l.manifest_id FROM manifests_manifestline l JOIN "
         f"manifests_manifest m ON m.id = l.manifest_id WHERE m.status IN {live} AND m.{recent} AND "
         "m.kind <> 'general' AND "
         "m.purpose <> 'return' AND l.waste_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM registry_permitline p "
         "JOIN registry_operatingpermit o ON o.id = p.permit_id WHERE o.organization_id = m.receiver_id AND "
         f"o.status = 'valid' AND o.valid_from <= {day} AND o.valid_until >= {day} AND (p.waste_id = l.waste_id OR "
         f"p.category_id = {category}) AND (COALESCE(l.method_id, l.planned_method_id) IS NULL OR NOT EXISTS "
         "(SELECT 1 FROM registry_permitline_methods t WHERE t.permitline_id = p.id) OR EXISTS (SELECT 1 FROM "
         "registry_permitline_methods t WHERE t.permitline_id = p.id AND t.treatmentmethod_id = "
         "COALESCE(l.method_id, l.planned_method_id))))", []),
        ("receiver usage (capacity, load)", f"SELECT m.receiver_id, l.waste_id, m.status, SUM(l.shipped_tonnes), "
         f"SUM(l.accepted_tonnes) FROM manifests_manifestline l JOIN manifests_manifest m ON m.id = l.manifest_id "
         f"WHERE m.submitted_at >= %s AND m.status IN {live} GROUP BY m.receiver_id, l.waste_id, m.status",
         [year_start]),
        ("permit.expiring", "SELECT id FROM registry_operatingpermit WHERE status = 'valid' AND valid_until >= %s "
         "AND valid_until <= %s", [today, today + dt.timedelta(days=60)]),
        ("permit.expired", "SELECT id FROM registry_operatingpermit WHERE status = 'valid' AND valid_until < %s",
         [today]),
        ("vehicle.permit_expiring", "SELECT id FROM registry_vehicle WHERE is_active AND "
         "transport_permit_valid_until >= %s AND transport_permit_valid_until <= %s",
         [today, today + dt.timedelta(days=60)]),
        ("vehicle.permit_expired", "SELECT id FROM registry_vehicle WHERE is_active AND "
         "transport_permit_valid_until < %s", [today]),
    ]
    total, rows = 0.0, 0
    with connection.cursor() as cursor:
        for name, sql, params in queries:
            clock = time.perf_counter()
            cursor.execute(sql, params)
            found = cursor.fetchall()
            elapsed = time.perf_counter() - clock
            total += elapsed
            rows += len(found)
            print(f"    {name}: {elapsed:.3f} s, {len(found):,} rows")
    return total, rows


if __name__ == "__main__":
    main()
