"""Checks on transfer manifests: overdue receipt, weight discrepancy, receiver not permitted, a manifest between
the same parties, overweight loads, transfers outside the management plan.
"""

import datetime as dt
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from wufei.alerts.checks.common import LIVE, Hit, S, _ids, _iso, _t
from wufei.manifests import kinds
from wufei.manifests.models import (
    Manifest,
    ManifestLine,
    Purpose,
    TransportLeg,
)
from wufei.registry.models import OperatingPermit, PermitLine

MANIFEST_VALUES = ("pk", "number", "generator_id", "generator__region_id", "receiver_id", "receiver__region_id",
                   "shipped_tonnes", "status", "generator__longitude", "generator__latitude")


def _manifests(ctx, ids, lookup, incremental=False, part=None):
    """Manifests to check: the given ids; else (incremental rules) those changed since the last scan and
    submitted within the rule's lookback_days (older transfers are for inspections, not alerts)."""
    manifests = Manifest.objects.all()
    if ids is not None:
        return manifests.filter(pk__in=_ids(ids))
    if incremental and ctx.since is not None:
        manifests = manifests.filter(updated_at__gte=ctx.since)
    if part is not None and part.params.get("lookback_days"):
        manifests = manifests.filter(submitted_at__gte=ctx.now - dt.timedelta(days=int(part.params["lookback_days"])))
    return manifests


def _manifest_hit(row, evidence, party="generator"):
    return Hit("manifest", str(row["pk"]), row["number"] or f"#{row['pk']}", row[f"{party}_id"],
               row[f"{party}__region_id"], {"manifest": row["number"] or row["pk"], "status": row["status"],
                                             "shipped_tonnes": _t(row["shipped_tonnes"]), **evidence},
               row["generator__longitude"], row["generator__latitude"])


def check_manifest_overdue(ctx, part, ids):
    from wufei.manifests.services import overdue_since

    deadline = overdue_since(ctx.now, part.region)
    rows = _manifests(ctx, ids, "receiver").filter(part.q("receiver__region__path"), status=S.IN_TRANSIT,
                                                   picked_up_at__lt=deadline)
    return [_manifest_hit(row, {"picked_up_at": _iso(row["picked_up_at"]),
                                "working_days": part.params["manifest.receipt_working_days"],
                                "days_in_transit": round((ctx.now - row["picked_up_at"]).total_seconds() / 86400, 1)},
                          "receiver")
            for row in rows.values(*MANIFEST_VALUES, "picked_up_at")]


def check_manifest_discrepancy(ctx, part, ids):
    rows = _manifests(ctx, ids, "receiver", incremental=True, part=part).filter(
        part.q("receiver__region__path"), discrepancy=True)
    return [_manifest_hit(row, {"received_tonnes": _t(row["received_tonnes"]),
                                "accepted_tonnes": _t(row["accepted_tonnes"]),
                                "difference_percent": _t(row["discrepancy_percent"]),
                                "tolerance_percent": _t(part.params["manifest.discrepancy_tolerance_percent"])},
                          "receiver")
            for row in rows.values(*MANIFEST_VALUES, "received_tonnes", "accepted_tonnes", "discrepancy_percent")]


def check_receiver_not_permitted(ctx, part, ids):
    """Lines with no valid permit line of the receiver covering code and method on the day of submission
    (registry.services.permit_lines_covering as one correlated NOT EXISTS)."""
    lines = ManifestLine.objects.filter(waste__isnull=False, manifest__status__in=LIVE).filter(
        part.q("manifest__receiver__region__path")).filter(manifest__kind__in=kinds.needing_permit()).exclude(
        manifest__purpose=Purpose.RETURN)
    if ids is not None:
        lines = lines.filter(manifest_id__in=_ids(ids))
    else:
        if ctx.since is not None:
            lines = lines.filter(manifest__updated_at__gte=ctx.since)
        if part.params.get("lookback_days"):
            lines = lines.filter(manifest__submitted_at__gte=ctx.now - dt.timedelta(
                days=int(part.params["lookback_days"])))
    lines = lines.annotate(day=TruncDate("manifest__submitted_at", tzinfo=timezone.get_current_timezone()),
                           checked_method=Coalesce("method_id", "planned_method_id"))
    through = PermitLine.methods.through
    any_method = Exists(through.objects.filter(permitline_id=OuterRef("pk")))
    this_method = Exists(through.objects.filter(permitline_id=OuterRef("pk"),
                                                treatmentmethod_id=OuterRef(OuterRef("checked_method"))))
    covering = PermitLine.objects.filter(
        permit__organization_id=OuterRef("manifest__receiver_id"), permit__status=OperatingPermit.Status.VALID,
        permit__valid_from__lte=OuterRef("day"), permit__valid_until__gte=OuterRef("day"),
    ).filter(Q(waste_id=OuterRef("waste_id")) | Q(category_id=OuterRef("waste__category_id")))
    by_manifest: dict[int, list] = {}
    for uncovered in (lines.filter(checked_method__isnull=True).filter(~Exists(covering)),
                      lines.filter(checked_method__isnull=False).filter(
                          ~Exists(covering.filter(~any_method | this_method)))):
        for manifest_id, code, method in uncovered.values_list("manifest_id", "waste_id", "checked_method"):
            by_manifest.setdefault(manifest_id, []).append(code + (f" / {method}" if method else ""))
    rows = Manifest.objects.filter(pk__in=list(by_manifest)).values(*MANIFEST_VALUES)
    return [_manifest_hit(row, {"not_covered": sorted(set(by_manifest[row["pk"]]))}, "receiver") for row in rows]


def check_same_parties(ctx, part, ids):
    rows = _manifests(ctx, ids, "generator", incremental=True, part=part).filter(
        part.q("generator__region__path"), status__in=LIVE, generator_id=F("receiver_id")).exclude(
        purpose=Purpose.RETURN)
    return [_manifest_hit(row, {"generator": row["generator_id"], "receiver": row["receiver_id"]})
            for row in rows.values(*MANIFEST_VALUES)]


def check_overweight(ctx, part, ids):
    first_leg = TransportLeg.objects.filter(manifest_id=OuterRef("pk")).order_by("position")
    limit = Decimal(str(part.params["max_tonnes"]))
    rows = _manifests(ctx, ids, "generator", incremental=True, part=part).filter(
        part.q("generator__region__path"), status__in=LIVE, shipped_tonnes__gt=limit,
        legs__vehicle__isnull=False).annotate(
        carrier=Subquery(first_leg.values("transporter_id")[:1]),
        carrier_region=Subquery(first_leg.values("transporter__region_id")[:1]),
        plate=Subquery(first_leg.values("vehicle__plate")[:1])).distinct()
    hits = []
    for row in rows.values(*MANIFEST_VALUES, "carrier", "carrier_region", "plate"):
        hit = _manifest_hit(row, {"vehicle": row["plate"], "max_tonnes": _t(limit)})
        hit.organization_id, hit.region_id = row["carrier"] or row["generator_id"], row["carrier_region"] or \
            row["generator__region_id"]
        hits.append(hit)
    return hits


def check_not_in_plan(ctx, part, ids):
    rows = _manifests(ctx, ids, "generator", incremental=True, part=part).filter(
        part.q("generator__region__path"), status__in=LIVE).exclude(plan_warning="")
    return [_manifest_hit(row, {"warning": row["plan_warning"]}) for row in rows.values(*MANIFEST_VALUES,
                                                                                         "plan_warning")]
