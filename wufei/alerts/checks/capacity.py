"""Checks on licensed operators' capacity: permitted capacity exceeded, load too high or too low for the time of
year.
"""

from decimal import Decimal

from django.db.models import Q

from wufei.alerts.checks.common import ZERO, Hit, _ids, _t, _year_bounds
from wufei.manifests import services as manifest_services
from wufei.registry.models import OperatingPermit, PermitLine


def _receiver_usage(ctx, part, receivers=None):
    """Tonnes per (receiver, waste code) this year as manifests.services.capacity_left counts them."""
    start, end = _year_bounds(ctx.today.year)
    narrowed = part.q("manifest__receiver__region__path")
    if receivers is not None:
        narrowed &= Q(manifest__receiver_id__in=receivers)
    return manifest_services.capacity_usage(start=start, end=end, receivers=narrowed)


def _valid_lines(ctx, part, ids=None):
    lines = PermitLine.objects.filter(permit__status=OperatingPermit.Status.VALID,
                                      permit__valid_from__lte=ctx.today, permit__valid_until__gte=ctx.today
                                      ).filter(part.q("permit__organization__region__path"))
    return lines.values("pk", "waste_id", "category_id", "annual_capacity_tonnes", "permit__organization_id",
                        "permit__organization__region_id", "permit__organization__name", "permit__number",
                        "permit__organization__longitude", "permit__organization__latitude")


def _used(usage, receiver, line):
    return sum((t for (r, code), t in usage.items() if r == receiver and (
        code == line["waste_id"] or (line["category_id"] and f"HW{code[-2:]}" == line["category_id"]))), ZERO)


def check_capacity_exceeded(ctx, part, ids):
    lines = _valid_lines(ctx, part)
    if ids is not None:
        lines = lines.filter(pk__in=_ids(ids))
    lines = list(lines)
    usage = _receiver_usage(ctx, part, {line["permit__organization_id"] for line in lines})
    share = Decimal(str(part.params["tolerance_percent"]))
    hits = []
    for line in lines:
        receiver = line["permit__organization_id"]
        used = _used(usage, receiver, line)
        capacity = line["annual_capacity_tonnes"]
        if capacity and used > capacity * (1 + share / 100):
            code = line["waste_id"] or line["category_id"]
            hits.append(Hit("permit_line", str(line["pk"]), f"{line['permit__number']} {code}", receiver,
                            line["permit__organization__region_id"], {
                                "permit": line["permit__number"], "code": code,
                                "year": ctx.today.year, "used_tonnes": _t(used), "capacity_tonnes": _t(capacity),
                                "percent": _t((used * 100 / capacity).quantize(Decimal("0.1")))},
                            line["permit__organization__longitude"], line["permit__organization__latitude"]))
    return hits


def _load(ctx, part, ids, high: bool):
    year = ctx.today.year
    start, _end = _year_bounds(year)
    elapsed = (ctx.now - start).total_seconds() / 86400
    if elapsed < float(part.params["min_elapsed_days"]):
        return []
    capacities: dict[int, dict] = {}
    lines = _valid_lines(ctx, part)
    if ids is not None:
        lines = lines.filter(permit__organization_id__in=[int(i.split(":")[0]) for i in ids])
    for line in lines:
        entry = capacities.setdefault(line["permit__organization_id"], {"capacity": ZERO, "line": line})
        entry["capacity"] += line["annual_capacity_tonnes"]
    usage = _receiver_usage(ctx, part, set(capacities))
    hits = []
    fraction = Decimal(str(min(elapsed, 365) / 365))
    for receiver, entry in capacities.items():
        expected = entry["capacity"] * fraction
        if not expected:
            continue
        used = sum((t for (r, _code), t in usage.items() if r == receiver), ZERO)
        rate = (used * 100 / expected).quantize(Decimal("0.1"))
        bound = Decimal(str(part.params["high_percent" if high else "low_percent"]))
        if (rate > bound) if high else (rate < bound):
            line = entry["line"]
            hits.append(Hit("organization", f"{receiver}:{year}", line["permit__organization__name"], receiver,
                            line["permit__organization__region_id"], {
                                "year": year, "received_tonnes": _t(used), "permitted_tonnes": _t(entry["capacity"]),
                                "elapsed_days": int(elapsed), "load_percent": _t(rate), "bound_percent": _t(bound)},
                            line["permit__organization__longitude"], line["permit__organization__latitude"]))
    return hits


def check_load_high(ctx, part, ids):
    return _load(ctx, part, ids, True)


def check_load_low(ctx, part, ids):
    return _load(ctx, part, ids, False)
