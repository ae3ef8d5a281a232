"""Alerts demo: GPS tracks for the recent transport legs, one full scan, and a few alerts taken through the loop.

`build(stdout)` runs after the registry, tracking, manifests and ledgers demos (BUILDERS in
wufei/demo/builders.py). Deterministic per leg (seeded by its id):
* every leg of the last 30 days with a vehicle and both ends located gets a track, a fix every
  5 minutes along the straight line between the ends with a little noise; every 7th leg has a
  45-minute hole (track.gap), every 11th a 90-minute stop half way (track.long_stop), every 13th
  a 25 km detour (track.off_corridor);
* one full scan (`scanner.scan(full=True)`): what the demo year leaves behind trips the rules —
  containers near or past the storage limit, the overdue load, the weighbridge discrepancies,
  plans and declarations not filed, expiring permits and vehicle permits, the tracks above;
* the Banan regulator (`regulator`) handles three Banan alerts: one closed after rectification
  (with an uploaded report), one marked a false positive, one waiting for rectification.
"""

import datetime as dt
import random
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from wufei.alerts import scanner, services
from wufei.alerts.models import Alert, Notification, TrackPoint
from wufei.core import audit
from wufei.core.scope import scope_for
from wufei.manifests.models import TransportLeg

DEMO_ACTOR = "demo"
STEP = dt.timedelta(minutes=5)


def _say(stdout, text):
    if stdout is not None:
        stdout.write(text)


def is_built() -> bool:
    return TrackPoint.objects.exists() or Alert.objects.filter(rule__id__startswith="track.").exists()


def _end(site, organization):
    for item in (site, organization):
        if item is not None and item.longitude is not None and item.latitude is not None:
            return float(item.longitude), float(item.latitude)
    return None


def _track(leg, start, end, now) -> list[TrackPoint]:
    rng = random.Random(leg.pk)
    begin = leg.taken_at
    finish = leg.handed_at or min(now, begin + dt.timedelta(hours=3))
    steps = max(int((finish - begin) / STEP), 2) + (18 if leg.pk % 11 == 0 else 0)
    points, stop_left, moved = [], 0, 0
    for i in range(steps + 1):
        at = begin + i * STEP
        if leg.pk % 7 == 0 and steps // 3 <= i < steps // 3 + 9:
            continue  # a 45-minute hole
        if leg.pk % 11 == 0 and i == steps // 2:
            stop_left = 18  # 90 minutes standing still
        if stop_left:
            stop_left -= 1
        else:
            moved += 1
        fraction = min(moved / max(steps - (18 if leg.pk % 11 == 0 else 0), 1), 1)
        lon = start[0] + (end[0] - start[0]) * fraction + rng.uniform(-0.001, 0.001)
        lat = start[1] + (end[1] - start[1]) * fraction + rng.uniform(-0.001, 0.001)
        if leg.pk % 13 == 0 and abs(fraction - 0.5) < 0.1:
            lon, lat = lon + 0.2, lat - 0.15  # about 25 km off the line
        points.append(TrackPoint(leg=leg, recorded_at=at, longitude=Decimal(f"{lon:.6f}"),
                                 latitude=Decimal(f"{lat:.6f}"), speed_kmh=Decimal("0" if stop_left else "45")))
    return points


def build_tracks(now) -> int:
    legs = (TransportLeg.objects.filter(taken_at__gte=now - dt.timedelta(days=30), vehicle__isnull=False)
            .select_related("manifest__generator_site", "manifest__generator", "manifest__receiver_site",
                            "manifest__receiver").order_by("pk"))
    rows = []
    for leg in legs:
        start = _end(leg.manifest.generator_site, leg.manifest.generator)
        end = _end(leg.manifest.receiver_site, leg.manifest.receiver)
        if start and end:
            rows += _track(leg, start, end, now)
    TrackPoint.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def _handle(now, stdout) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username="regulator").first()
    if user is None:
        return
    scope = scope_for(user)
    banan = list(Alert.objects.filter(region_path__startswith="/500000/500113/", status="open",
                                      organization__memberships__isnull=False).distinct().order_by("pk")[:3])
    if len(banan) < 3:
        banan = list(Alert.objects.filter(region_path__startswith="/500000/500113/", status="open").order_by(
            "pk")[:3])
    for index, alert in enumerate(banan):
        services.transition(scope=scope, alert_id=alert.pk, action="verify", version=alert.version,
                            comment="现场核查")
        alert.refresh_from_db()
        if index == 1:
            services.transition(scope=scope, alert_id=alert.pk, action="false_positive", version=alert.version,
                                comment="核实为数据录入延迟，非违规")
            continue
        services.transition(scope=scope, alert_id=alert.pk, action="rectify", version=alert.version,
                            comment="限期整改", deadline=timezone.localdate() + dt.timedelta(days=7))
        if index == 0:
            services.upload_rectification(scope=scope, alert_id=alert.pk, note="整改完成",
                                          file=SimpleUploadedFile("整改报告.txt", "已按要求整改。".encode()))
            alert.refresh_from_db()
            services.transition(scope=scope, alert_id=alert.pk, action="close", version=alert.version,
                                comment="整改到位，予以销号")
    _say(stdout, f"  alerts handled by the Banan regulator: {len(banan)}")


def build(stdout=None) -> dict:
    now = timezone.now()
    with audit.acting_as(DEMO_ACTOR), transaction.atomic():
        points = build_tracks(now)
        _say(stdout, f"  GPS points: {points}")
        counts = scanner.scan(now=now, full=True)
        opened = {rule: c["opened"] for rule, c in counts.items() if c["opened"]}
        _say(stdout, "  alerts opened: " + ", ".join(f"{rule} {n}" for rule, n in opened.items()))
        _handle(now, stdout)
    return {"points": points, "opened": sum(opened.values())}


def reset(organization_ids: list[int]) -> int:
    """Delete the alerts about the demo organizations (and their notices) before the registry rows go."""
    with transaction.atomic():
        alerts = Alert.objects.filter(organization_id__in=organization_ids)
        Notification.objects.filter(alert__in=alerts).delete()
        count = alerts.count()
        alerts.delete()
        audit.record_raw(entity_type="alerts.alert", entity_id="demo", action="demo_reset", payload={"alerts": count})
    return count
