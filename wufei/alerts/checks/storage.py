"""Checks on containers in storage: close to or over the storage limit, medical waste over its hours."""


from django.db.models.functions import Coalesce

from wufei.alerts.checks.common import Hit, _ids, _iso, _t
from wufei.catalog import streams
from wufei.tracking.life import IN_STOCK
from wufei.tracking.models import Container


def _stock(ctx, part, ids, stream: str):
    containers = Container.objects.filter(status__in=list(IN_STOCK)).filter(part.q("holder__region__path"))
    containers = containers.filter(streams.get(stream).q("waste__code"))
    if ids is not None:
        containers = containers.filter(pk__in=_ids(ids))
    return containers.annotate(since=Coalesce("stored_at", "produced_at"))


def _container_hits(ctx, rows, limit, kind):
    hits = []
    for row in rows:
        age = ctx.now - row["since"]
        hits.append(Hit("container", str(row["pk"]), row["code"], row["holder_id"], row["holder__region_id"], {
            "container": row["code"], "waste": row["waste_id"], "tonnes": _t(row["net_weight_tonnes"]),
            "stored_since": _iso(row["since"]), "age_days": round(age.total_seconds() / 86400, 2),
            "limit_days": round(limit.total_seconds() / 86400, 2), "state": kind},
            row["storage_site__longitude"], row["storage_site__latitude"]))
    return hits


CONTAINER_VALUES = ("pk", "code", "holder_id", "holder__region_id", "waste_id", "since", "net_weight_tonnes",
                    "storage_site__longitude", "storage_site__latitude")


def check_storage_near(ctx, part, ids):
    """In stock longer than limit − warning window but not yet over the limit (medical: hours)."""
    hits = []
    for stream in (streams.HAZARDOUS, streams.MEDICAL):
        limit, warning = part.storage.for_stream(stream)
        rows = _stock(ctx, part, ids, stream).filter(since__lt=ctx.now - (limit - warning),
                                                      since__gte=ctx.now - limit)
        hits += _container_hits(ctx, rows.values(*CONTAINER_VALUES), limit, "near_limit")
    return hits


def check_storage_over(ctx, part, ids):
    limit, _warning = part.storage.for_stream(streams.HAZARDOUS)
    rows = _stock(ctx, part, ids, streams.HAZARDOUS).filter(since__lt=ctx.now - limit)
    return _container_hits(ctx, rows.values(*CONTAINER_VALUES), limit, "over_limit")


def check_medical_over(ctx, part, ids):
    limit, _warning = part.storage.for_stream(streams.MEDICAL)
    rows = _stock(ctx, part, ids, streams.MEDICAL).filter(since__lt=ctx.now - limit)
    return _container_hits(ctx, rows.values(*CONTAINER_VALUES), limit, "over_limit")
