"""Checks on transport tracks: gaps, long stops, leaving the corridor, signing far from the place."""

import datetime as dt

from django.db.models import Q

from wufei.alerts import geo
from wufei.alerts.checks.common import Hit, S, _ids, _iso, _t
from wufei.alerts.models import TrackPoint
from wufei.manifests.models import (
    Signature,
    TransportLeg,
)
from wufei.registry.models import Organization, Site


def _coords(site_lon, site_lat, org_lon, org_lat):
    if site_lon is not None and site_lat is not None:
        return site_lon, site_lat
    if org_lon is not None and org_lat is not None:
        return org_lon, org_lat
    return None


LEG_VALUES = ("pk", "position", "manifest_id", "manifest__number", "transporter_id", "transporter__region_id",
              "taken_at", "handed_at", "vehicle__plate", "manifest__status",
              "manifest__generator_site__longitude", "manifest__generator_site__latitude",
              "manifest__generator__longitude", "manifest__generator__latitude",
              "manifest__receiver_site__longitude", "manifest__receiver_site__latitude",
              "manifest__receiver__longitude", "manifest__receiver__latitude")


def _legs(ctx, part, ids):
    legs = TransportLeg.objects.filter(part.q("manifest__generator__region__path"), taken_at__isnull=False,
                                       vehicle__isnull=False)
    if ids is not None:
        return legs.filter(pk__in=_ids(ids))
    since = ctx.now - dt.timedelta(days=int(part.params["lookback_days"]))
    legs = legs.filter(taken_at__gte=since)
    if ctx.since is not None:
        legs = legs.filter(Q(pk__in=TrackPoint.objects.filter(received_at__gte=ctx.since).values("leg_id"))
                           | Q(manifest__updated_at__gte=ctx.since) | Q(manifest__status=S.IN_TRANSIT))
    return legs


def _points(leg_ids):
    points: dict[int, list] = {}
    for leg, at, lon, lat in TrackPoint.objects.filter(leg_id__in=leg_ids).order_by(
            "leg_id", "recorded_at").values_list("leg_id", "recorded_at", "longitude", "latitude"):
        points.setdefault(leg, []).append((at, lon, lat))
    return points


def _leg_hit(leg, evidence, point=None):
    lon, lat = (point[1], point[2]) if point else (leg["manifest__generator__longitude"],
                                                   leg["manifest__generator__latitude"])
    return Hit("transport_leg", str(leg["pk"]), f"{leg['manifest__number'] or leg['manifest_id']} / "
               f"{leg['vehicle__plate']}", leg["transporter_id"], leg["transporter__region_id"],
               {"manifest": leg["manifest__number"] or leg["manifest_id"], "leg": leg["position"],
                "vehicle": leg["vehicle__plate"], **evidence}, lon, lat)


def _track_legs(ctx, part, ids):
    legs = list(_legs(ctx, part, ids).values(*LEG_VALUES))
    return legs, _points([leg["pk"] for leg in legs])


def check_track_gap(ctx, part, ids):
    gap = dt.timedelta(minutes=float(part.params["max_gap_minutes"]))
    legs, points = _track_legs(ctx, part, ids)
    hits = []
    for leg in legs:
        track = points.get(leg["pk"], [])
        end = leg["handed_at"] or (ctx.now if leg["manifest__status"] == S.IN_TRANSIT else None)
        if not track:
            if end is not None and end - leg["taken_at"] > gap:
                minutes = round((end - leg["taken_at"]).total_seconds() / 60)
                hits.append(_leg_hit(leg, {"points": 0, "gap_minutes": minutes,
                                           "max_gap_minutes": round(gap.total_seconds() / 60)}))
            continue
        times = [leg["taken_at"], *[p[0] for p in track]] + ([end] if end else [])
        worst, where = max(((b - a, a) for a, b in zip(times, times[1:], strict=False)), key=lambda x: x[0])
        if worst > gap:
            hits.append(_leg_hit(leg, {"points": len(track), "gap_minutes": round(worst.total_seconds() / 60),
                                       "gap_from": _iso(where), "max_gap_minutes": round(gap.total_seconds() / 60)}))
    return hits


def known_places(ctx):
    if "places" not in ctx.cache:
        places = list(Site.objects.filter(longitude__isnull=False, latitude__isnull=False).values_list(
            "longitude", "latitude"))
        places += list(Organization.objects.filter(longitude__isnull=False, latitude__isnull=False).values_list(
            "longitude", "latitude"))
        ctx.cache["places"] = places
    return ctx.cache["places"]


def check_long_stop(ctx, part, ids):
    radius = float(part.params["stop_radius_m"])
    longest = dt.timedelta(minutes=float(part.params["max_stop_minutes"]))
    site_radius = float(part.params["site_radius_m"])
    legs, points = _track_legs(ctx, part, ids)
    hits = []
    for leg in legs:
        track = points.get(leg["pk"], [])
        i, worst = 0, None
        while i < len(track):
            j = i
            while j + 1 < len(track) and geo.distance_m(track[i][1], track[i][2], track[j + 1][1],
                                                        track[j + 1][2]) <= radius:
                j += 1
            duration = track[j][0] - track[i][0]
            if duration > longest and (worst is None or duration > worst[0]) and not any(
                    geo.distance_m(track[i][1], track[i][2], lon, lat) <= site_radius
                    for lon, lat in known_places(ctx)):
                worst = (duration, track[i])
            i = j + 1
        if worst:
            hits.append(_leg_hit(leg, {"stop_minutes": round(worst[0].total_seconds() / 60),
                                       "from": _iso(worst[1][0]), "longitude": _t(worst[1][1]),
                                       "latitude": _t(worst[1][2]), "max_stop_minutes": _t(part.params[
                                           "max_stop_minutes"])}, worst[1]))
    return hits


def check_off_corridor(ctx, part, ids):
    corridor = float(part.params["corridor_km"]) * 1000
    legs, points = _track_legs(ctx, part, ids)
    hits = []
    for leg in legs:
        start = _coords(leg["manifest__generator_site__longitude"], leg["manifest__generator_site__latitude"],
                        leg["manifest__generator__longitude"], leg["manifest__generator__latitude"])
        end = _coords(leg["manifest__receiver_site__longitude"], leg["manifest__receiver_site__latitude"],
                      leg["manifest__receiver__longitude"], leg["manifest__receiver__latitude"])
        track = points.get(leg["pk"], [])
        if not (start and end and track):
            continue
        far = max(((geo.distance_to_segment_m(p[1], p[2], *start, *end), p) for p in track), key=lambda x: x[0])
        if far[0] > corridor:
            hits.append(_leg_hit(leg, {"distance_km": round(far[0] / 1000, 2), "corridor_km": _t(
                part.params["corridor_km"]), "at": _iso(far[1][0])}, far[1]))
    return hits


def check_signature_far(ctx, part, ids):
    fence = float(part.params["geofence_m"])
    signatures = Signature.objects.filter(step__in=("pickup", "receive"), longitude__isnull=False,
                                          latitude__isnull=False).filter(part.q("manifest__generator__region__path"))
    if ids is not None:
        signatures = signatures.filter(pk__in=_ids(ids))
    elif ctx.since is not None:
        signatures = signatures.filter(signed_at__gte=ctx.since - dt.timedelta(days=1))
    hits = []
    for s in signatures.values("pk", "step", "longitude", "latitude", "signed_at", "organization_id",
                               "organization__region_id", "manifest_id", "manifest__number",
                               "manifest__generator_site__longitude", "manifest__generator_site__latitude",
                               "manifest__generator__longitude", "manifest__generator__latitude",
                               "manifest__receiver_site__longitude", "manifest__receiver_site__latitude",
                               "manifest__receiver__longitude", "manifest__receiver__latitude"):
        party = "generator" if s["step"] == "pickup" else "receiver"
        site = _coords(s[f"manifest__{party}_site__longitude"], s[f"manifest__{party}_site__latitude"],
                       s[f"manifest__{party}__longitude"], s[f"manifest__{party}__latitude"])
        if site is None:
            continue
        distance = geo.distance_m(s["longitude"], s["latitude"], *site)
        if distance > fence:
            hits.append(Hit("signature", str(s["pk"]), f"{s['manifest__number'] or s['manifest_id']} {s['step']}",
                            s["organization_id"], s["organization__region_id"], {
                                "manifest": s["manifest__number"] or s["manifest_id"], "step": s["step"],
                                "signed_at": _iso(s["signed_at"]), "distance_m": round(distance),
                                "geofence_m": _t(part.params["geofence_m"])}, s["longitude"], s["latitude"]))
    return hits
