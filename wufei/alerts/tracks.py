"""Vehicle tracks: GPS points per manifest leg, sent by the carrier (API, one leg) or in batches (CSV).

The carrier records the transport track (危险废物转移管理办法 第11条). A point is (time, longitude,
latitude[, speed]) in WGS-84; a point of a leg at a time already stored is ignored, so a device
that resends its buffer adds nothing twice. Who may send: writers of the leg's transporter (and
platform administrators). Who may read: whoever sees the manifest.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from wufei.alerts.models import TrackPoint
from wufei.core import inputs, parsing, spreadsheets
from wufei.core.errors import NotFound, PermissionDenied, ValidationFailed, field_error
from wufei.core.scope import Scope
from wufei.manifests.models import TransportLeg

MAX_POINTS = 20_000
FUTURE = dt.timedelta(minutes=5)
LONGITUDE = parsing.decimal(minimum=Decimal(-180), maximum=Decimal(180), max_digits=9)
LATITUDE = parsing.decimal(minimum=Decimal(-90), maximum=Decimal(90), max_digits=9)
SPEED = parsing.decimal(minimum=Decimal(0), places=1, max_digits=6)  # km/h
CSV_COLUMNS = ("manifest", "leg", "recorded_at", "longitude", "latitude")


def _leg(scope: Scope, manifest_id: int, position: int, *, write: bool) -> TransportLeg:
    from wufei.manifests.services import get_manifest

    manifest = get_manifest(scope, manifest_id)
    leg = TransportLeg.objects.filter(manifest=manifest, position=position).select_related("transporter").first()
    if leg is None:
        raise NotFound(_("leg %(n)s of manifest %(id)s not found") % {"n": position, "id": manifest_id})
    if write and not (scope.is_platform_admin or leg.transporter_id in scope.writable_organization_ids):
        raise PermissionDenied(_("only the carrier of this leg can send its track"))
    return leg


def _point(raw: dict, index: int, now) -> tuple[dict | None, list[dict]]:
    errors = []
    at = raw.get("recorded_at")
    if isinstance(at, str):
        try:
            at = parse_datetime(at.strip())
        except ValueError:  # well-formed but not a real moment (month 13)
            at = None
    if isinstance(at, dt.datetime) and timezone.is_naive(at):
        at = timezone.make_aware(at)
    if not isinstance(at, dt.datetime):
        errors.append(field_error(f"points.{index}.recorded_at", _("is not a date and time")))
    elif at > now + FUTURE:
        errors.append(field_error(f"points.{index}.recorded_at", _("is in the future")))
    elif at.date() < inputs.EARLIEST_DATE:
        errors.append(field_error(f"points.{index}.recorded_at", _("must be on or after %(day)s")
                                  % {"day": inputs.EARLIEST_DATE.isoformat()}))
    values = {}
    for name, parse in (("longitude", LONGITUDE), ("latitude", LATITUDE)):
        try:
            values[name] = parse(raw.get(name))
        except ValueError:
            errors.append(field_error(f"points.{index}.{name}", _("is not a valid coordinate")))
    speed = raw.get("speed_kmh")
    if speed not in (None, ""):
        try:
            values["speed_kmh"] = SPEED(speed)
        except ValueError as exc:
            errors.append(field_error(f"points.{index}.speed_kmh", str(exc)))
    return ({"recorded_at": at, **values} if not errors else None), errors


@transaction.atomic
def record_points(*, scope: Scope, manifest_id: int, position: int, points: list[dict]) -> dict:
    """Store a leg's points; returns {"received", "stored"} (points already stored are skipped)."""
    leg = _leg(scope, manifest_id, position, write=True)
    if len(points) > MAX_POINTS:
        raise ValidationFailed(_("at most %(n)s points per request") % {"n": MAX_POINTS},
                               errors=[field_error("points", str(len(points)))])
    now = timezone.now()
    rows, errors = [], []
    for index, raw in enumerate(points):
        row, problems = _point(raw, index, now)
        errors += problems
        if row:
            rows.append(row)
    if errors:
        raise ValidationFailed(_("some points are not valid"), errors=errors[:100])
    return _store(leg.pk, rows)


def _store(leg_id: int, rows: list[dict]) -> dict:
    unique = {row["recorded_at"]: row for row in rows}
    existing = set(TrackPoint.objects.filter(leg_id=leg_id, recorded_at__in=list(unique)).values_list(
        "recorded_at", flat=True))
    new = [TrackPoint(leg_id=leg_id, **row) for at, row in unique.items() if at not in existing]
    TrackPoint.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    return {"received": len(rows), "stored": len(new)}


def check_import_caller(scope: Scope) -> None:
    """Tracks come from carriers (an enterprise's admins and members): others are refused before reading."""
    spreadsheets.require(scope.is_platform_admin or bool(scope.writable_organization_ids),
                         _("only carriers send track points"))


@transaction.atomic
def import_points(*, scope: Scope, content: bytes, filename: str = "points.csv") -> dict:
    """A CSV of points of many legs: manifest (number or id), leg (position), recorded_at, longitude,
    latitude[, speed_kmh]. All or nothing: any bad row rejects the file with row numbers."""
    from wufei.manifests.models import Manifest

    check_import_caller(scope)
    header, table = spreadsheets.read(content, filename, limit=spreadsheets.limits_for(scope))
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ValidationFailed(_("columns missing: %(c)s") % {"c": ", ".join(missing)},
                               errors=[field_error(c, _("is required")) for c in missing])
    now = timezone.now()
    legs: dict[tuple[str, str], TransportLeg] = {}
    grouped: dict[int, list[dict]] = {}
    errors = []
    for sheet_row in table:
        number = sheet_row.number
        raw = {name: "" if value is None else str(value) for name, value in zip(header, sheet_row.cells, strict=False)}
        raw = {name: raw.get(name, "") for name in header}
        key = (raw["manifest"].strip(), (raw["leg"] or "1").strip())
        if key not in legs:
            manifest = Manifest.objects.visible_to(scope).filter(number=key[0]).values_list("pk", flat=True).first()
            if manifest is None and key[0].isdigit() and len(key[0]) < 14:
                manifest = Manifest.objects.visible_to(scope).filter(pk=int(key[0])).values_list(
                    "pk", flat=True).first()
            try:
                legs[key] = _leg(scope, manifest, int(key[1]), write=True) if manifest else None
            except (NotFound, PermissionDenied, ValueError):
                legs[key] = None
        leg = legs[key]
        if leg is None:
            errors.append({"row": number, "field": "manifest", "message": _("no leg of yours with this manifest")})
            continue
        row, problems = _point(raw, number, now)
        errors += [{"row": number, "field": p["field"].rsplit(".", 1)[-1], "message": p["message"]}
                   for p in problems]
        if row:
            grouped.setdefault(leg.pk, []).append(row)
    if errors:
        raise ValidationFailed(_("the file has errors; nothing was stored"), errors=errors[:100])
    result = {"received": 0, "stored": 0, "legs": len(grouped)}
    for leg_id, rows in grouped.items():
        counts = _store(leg_id, rows)
        result["received"] += counts["received"]
        result["stored"] += counts["stored"]
    return result


def track_of(scope: Scope, manifest_id: int) -> dict:
    """The manifest's legs with their points, and the two ends' coordinates (for the map)."""
    from wufei.manifests.services import get_manifest, legs_of

    manifest = get_manifest(scope, manifest_id)
    legs = legs_of(manifest)
    points: dict[int, list] = {}
    for row in TrackPoint.objects.filter(leg__in=legs).order_by("leg_id", "recorded_at").values(
            "leg_id", "recorded_at", "longitude", "latitude", "speed_kmh"):
        points.setdefault(row.pop("leg_id"), []).append(row)

    def place(site, organization):
        for item in (site, organization):
            if item is not None and item.longitude is not None and item.latitude is not None:
                return {"name": item.name, "longitude": item.longitude, "latitude": item.latitude}
        return None

    return {"manifest": manifest,
            "origin": place(manifest.generator_site, manifest.generator),
            "destination": place(manifest.receiver_site, manifest.receiver),
            "legs": [{"position": leg.position, "vehicle": leg.vehicle.plate if leg.vehicle else "",
                      "transporter": leg.transporter.name, "points": points.get(leg.pk, [])} for leg in legs]}


def svg_projection(coordinates: list[tuple], width: int = 640, height: int = 400, pad: int = 20):
    """A function mapping (lon, lat) to SVG (x, y) fitting all coordinates (equirectangular, north up)."""
    import math

    if not coordinates:
        return lambda lon, lat: (width / 2, height / 2)
    lons = [float(c[0]) for c in coordinates]
    lats = [float(c[1]) for c in coordinates]
    k = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * k, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    x0, y0 = min(lons), max(lats)

    def project(lon, lat):
        return (round(pad + (float(lon) - x0) * k * scale, 1), round(pad + (y0 - float(lat)) * scale, 1))

    return project
