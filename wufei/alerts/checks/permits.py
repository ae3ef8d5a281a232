"""Checks on permits and vehicles: expiring and expired."""

import datetime as dt

from wufei.alerts.checks.common import Hit, _ids
from wufei.registry.models import OperatingPermit, Vehicle


def _validity(ctx, part, ids, queryset, field, expired: bool, entity, label, org_field):
    days = int(part.params["permit.expiry_warning_days"])
    rows = queryset.filter(part.q(f"{org_field}__region__path"))
    if ids is not None:
        rows = rows.filter(pk__in=_ids(ids))
    rows = rows.filter(**{f"{field}__lt": ctx.today}) if expired else rows.filter(
        **{f"{field}__gte": ctx.today, f"{field}__lte": ctx.today + dt.timedelta(days=days)})
    return [Hit(entity, str(row["pk"]), row[label], row[f"{org_field}_id"], row[f"{org_field}__region_id"], {
        entity: row[label], "valid_until": row[field].isoformat(), "warning_days": days,
        "days_left": (row[field] - ctx.today).days}, row[f"{org_field}__longitude"], row[f"{org_field}__latitude"])
        for row in rows.values("pk", label, field, f"{org_field}_id", f"{org_field}__region_id",
                               f"{org_field}__longitude", f"{org_field}__latitude")]


def _permits():
    return OperatingPermit.objects.filter(status=OperatingPermit.Status.VALID)


def check_permit_expiring(ctx, part, ids):
    return _validity(ctx, part, ids, _permits(), "valid_until", False, "permit", "number", "organization")


def check_permit_expired(ctx, part, ids):
    return _validity(ctx, part, ids, _permits(), "valid_until", True, "permit", "number", "organization")


def check_vehicle_expiring(ctx, part, ids):
    return _validity(ctx, part, ids, Vehicle.objects.filter(is_active=True), "transport_permit_valid_until", False,
                     "vehicle", "plate", "organization")


def check_vehicle_expired(ctx, part, ids):
    return _validity(ctx, part, ids, Vehicle.objects.filter(is_active=True), "transport_permit_valid_until", True,
                     "vehicle", "plate", "organization")
