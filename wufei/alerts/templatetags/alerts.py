"""`{% load alerts %}{% track_map manifest %}`: the manifest's vehicle track as plain SVG (no map tiles).

For the manifest page: the lead adds `{% load alerts %}{% track_map manifest %}` where the map belongs.
"""

from django import template

from wufei.alerts.tracks import svg_projection, track_of
from wufei.core.errors import WufeiError
from wufei.core.scope import request_scope

register = template.Library()
COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")


@register.inclusion_tag("alerts/_track_map.html", takes_context=True)
def track_map(context, manifest):
    request = context.get("request")
    try:
        track = track_of(request_scope(request), manifest.pk)
    except WufeiError:
        return {"track": None}
    coordinates = [(p["longitude"], p["latitude"]) for leg in track["legs"] for p in leg["points"]]
    ends = [e for e in (track["origin"], track["destination"]) if e]
    coordinates += [(e["longitude"], e["latitude"]) for e in ends]
    project = svg_projection(coordinates)
    legs = []
    for index, leg in enumerate(track["legs"]):
        points = [project(p["longitude"], p["latitude"]) for p in leg["points"]]
        legs.append({**leg, "colour": COLOURS[index % len(COLOURS)], "count": len(points),
                     "polyline": " ".join(f"{x},{y}" for x, y in points),
                     "first": leg["points"][0]["recorded_at"] if leg["points"] else None,
                     "last": leg["points"][-1]["recorded_at"] if leg["points"] else None})
    places = [{"name": e["name"], "xy": project(e["longitude"], e["latitude"])} for e in ends]
    return {"track": track, "legs": legs, "places": places, "width": 640, "height": 400,
            "has_points": any(leg["count"] for leg in legs)}
