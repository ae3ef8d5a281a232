"""Plain geometry on WGS-84 degrees: enough for geo-fences, stops and route corridors of a few hundred km."""

import math

EARTH_M = 6_371_000.0


def distance_m(lon1, lat1, lon2, lat2) -> float:
    """Great-circle distance in metres (haversine)."""
    lon1, lat1, lon2, lat2 = (math.radians(float(v)) for v in (lon1, lat1, lon2, lat2))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def distance_to_segment_m(lon, lat, lon1, lat1, lon2, lat2) -> float:
    """Distance in metres from a point to the segment between two points (local equirectangular plane)."""
    k = math.cos(math.radians(float(lat)))

    def xy(x, y):
        return math.radians(float(x)) * k * EARTH_M, math.radians(float(y)) * EARTH_M

    px, py = xy(lon, lat)
    ax, ay = xy(lon1, lat1)
    bx, by = xy(lon2, lat2)
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))
