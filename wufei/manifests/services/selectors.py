"""Reading manifests: lists narrowed to the caller's scope, filters, overdue, lineage, totals."""

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog import streams
from wufei.catalog.models import TreatmentMethod
from wufei.core import parameters
from wufei.core.errors import ValidationFailed
from wufei.core.scope import Scope
from wufei.manifests import kinds, machine
from wufei.manifests.models import (
    RECEIVED_PURPOSES,
    TRANSFERRED_PURPOSES,
    Manifest,
    ManifestLine,
    Purpose,
    TransportLeg,
)
from wufei.manifests.services.common import S, _region_path, party_for_step
from wufei.manifests.signing_codes import set_signing_code as set_signing_code  # re-exported: the service API
from wufei.manifests.signing_codes import signing_codes_to_renew as signing_codes_to_renew  # re-exported


def awaiting(scope: Scope, step: str):
    """Manifests waiting for the caller's signature of a step (pickup, handover, receive, process)."""
    manifests = manifests_for(scope).filter(status__in=machine.STEPS[step].allowed_from)
    if step in ("receive", "process"):
        return manifests.filter(receiver_id__in=scope.organization_ids)
    ids = [m.pk for m in manifests.filter(legs__transporter_id__in=scope.organization_ids).distinct()
           if (party := party_for_step(m, step, quiet=True)) is not None and party.pk in scope.organization_ids]
    return manifests.filter(pk__in=ids)


LIST_SIDES = ("generator", "receiver", "inflow")


METHOD_KINDS = ("utilization", "disposal")


NO_METHOD = "none"


CATEGORY_PATTERN = re.compile(r"^(medical|HW\d{2}|SW(\d{2})?|[A-Z]{1,3}\d{1,3})$")


def line_filter(*, category: str | None = None, method: str | None = None, method_kind: str | None = None) -> Q:
    """The manifest lines of a waste category and / or treatment method, as the cockpit's Sankey groups them
    (wufei/analytics/services.py `_category_of`, the line's final method else its planned one).

    category: 'medical' (lines of medical manifests or of an HW01 code NNN-NNN-01), 'HWxx' (other lines of a
    code ending in -xx), 'SWxx' (typed general solid waste lines of a code starting so), 'SW' (no code), or the
    last part of another general code; method: a treatment method code, or 'none' (neither stated);
    method_kind: 'utilization' / 'disposal' (as indicators.quantities `_utilization` / `_disposal`).
    Raises ValidationFailed naming the field for a value it cannot read.
    """
    query = Q()
    if category:
        category = category.strip()
        category = category if category == "medical" else category.upper()
        if not CATEGORY_PATTERN.match(category):
            raise ValidationFailed(_("unknown waste category"), errors=[{"field": "category", "message": category}])
        medical_kinds = kinds.carrying(streams.MEDICAL)
        medical = Q(manifest__kind__in=medical_kinds) | streams.medical_q("waste__code")
        if category in ("medical", "HW01"):
            query &= medical
        elif category.startswith("HW"):
            query &= Q(waste__code__endswith=f"-{category[2:]}") & ~medical
        elif category == "SW":
            query &= Q(waste__isnull=True, general_code="") & ~Q(manifest__kind__in=medical_kinds)
        elif category.startswith("SW"):
            query &= (Q(waste__isnull=True, general_code__startswith=category)
                      & ~Q(manifest__kind__in=medical_kinds))
        else:
            query &= (Q(waste__isnull=True) & ~Q(general_code__startswith="SW")
                      & (Q(general_code=category) | Q(general_code__endswith=f"-{category}"))
                      & ~Q(manifest__kind__in=medical_kinds))
    if method:
        method = method.strip()
        if method.lower() == NO_METHOD:
            query &= Q(method__isnull=True, planned_method__isnull=True)
        else:
            method = method.upper()
            if not TreatmentMethod.objects.filter(code=method).exists():
                raise ValidationFailed(_("unknown treatment method"), errors=[{"field": "method", "message": method}])
            query &= Q(method_id=method) | Q(method__isnull=True, planned_method_id=method)
    if method_kind:
        if method_kind not in METHOD_KINDS:
            raise ValidationFailed(_("unknown method kind"),
                                   errors=[{"field": "method_kind", "message": method_kind}])
        query &= Q(method__kind=method_kind) | Q(method__isnull=True, planned_method__kind=method_kind)
    return query


def manifests_for(scope: Scope, *, status: str | None = None, kind: str | None = None, region: str | None = None,
                  organization: int | None = None, overdue: bool | None = None, discrepancy: bool | None = None,
                  cross_province: bool | None = None, q: str | None = None, now: dt.datetime | None = None,
                  year: int | None = None, side: str | None = None, receiver: int | None = None,
                  category: str | None = None, method: str | None = None, method_kind: str | None = None,
                  to_region: str | None = None, purpose: str | None = None):
    """The manifests the caller may see, narrowed by the filters.

    region: the generator's or the receiver's region lies in the subtree (side='generator' / 'receiver': that
    party's only; side='inflow': the receiver's lies in it and the generator's outside); to_region: the
    receiver's region lies in that subtree (with region and side='generator': from one region to another);
    purpose: one purpose or several ('transfer,collection,onward'), or 'transferred' / 'received' for the purposes
    those figures count (models.TRANSFERRED_PURPOSES / RECEIVED_PURPOSES);
    status: one status or several ('received,processed'); organization: any party (generator, receiver or a
    transporter); receiver: the receiver only;
    year: received in that calendar year (Asia/Shanghai); category / method / method_kind: the manifest has a
    line matching all of them (`line_filter`). Raises ValidationFailed for a value it cannot read.
    """
    if side and side not in LIST_SIDES:
        raise ValidationFailed(_("unknown side"), errors=[{"field": "side", "message": side}])
    lines = line_filter(category=category, method=method, method_kind=method_kind)
    manifests = Manifest.objects.visible_to(scope).select_related("generator__region", "receiver__region")
    if status:
        statuses = status.split(",") if isinstance(status, str) else list(status)
        manifests = manifests.filter(status__in=statuses) if len(statuses) > 1 else manifests.filter(status=statuses[0])
    if kind:
        manifests = manifests.filter(kind=kind)
    if purpose:
        manifests = manifests.filter(purpose__in=_purposes(purpose))
    if region:
        path = _region_path(region)
        by_side = {"generator": Q(generator__region__path__startswith=path),
                   "receiver": Q(receiver__region__path__startswith=path)}
        by_side["inflow"] = by_side["receiver"] & ~by_side["generator"]
        manifests = manifests.filter(by_side[side] if side else by_side["generator"] | by_side["receiver"])
    if to_region:
        manifests = manifests.filter(receiver__region__path__startswith=_region_path(to_region))
    if organization:
        manifests = manifests.filter(Q(generator_id=organization) | Q(receiver_id=organization)
                                     | Q(pk__in=TransportLeg.objects.filter(transporter_id=organization)
                                         .values("manifest_id")))
    if receiver:
        manifests = manifests.filter(receiver_id=receiver)
    if year is not None:
        if not 2000 <= year <= 2100:
            raise ValidationFailed(_("year out of range"), errors=[{"field": "year", "message": str(year)}])
        tz = timezone.get_default_timezone()
        manifests = manifests.filter(received_at__gte=dt.datetime(year, 1, 1, tzinfo=tz),
                                     received_at__lt=dt.datetime(year + 1, 1, 1, tzinfo=tz))
    if lines:
        manifests = manifests.filter(pk__in=ManifestLine.objects.filter(lines).values("manifest_id"))
    if discrepancy is not None:
        manifests = manifests.filter(discrepancy=discrepancy)
    if cross_province is not None:
        crossing = ~Q(cross_province_basis="")
        manifests = manifests.filter(crossing if cross_province else ~crossing)
    if overdue is not None:
        late = Q(status=S.IN_TRANSIT, picked_up_at__lt=overdue_since(now))
        manifests = manifests.filter(late if overdue else ~late)
    if q:
        manifests = manifests.filter(Q(number__startswith=q.strip()) | Q(generator__name__contains=q.strip())
                                     | Q(receiver__name__contains=q.strip()))
    return manifests


def _purposes(value: str) -> tuple:
    named = {"transferred": TRANSFERRED_PURPOSES, "received": RECEIVED_PURPOSES}
    if value in named:
        return named[value]
    purposes = tuple(value.split(","))
    unknown = [p for p in purposes if p not in Purpose.values]
    if unknown:
        raise ValidationFailed(_("unknown purpose"), errors=[{"field": "purpose", "message": ", ".join(unknown)}])
    return purposes


def overdue_since(now: dt.datetime | None = None, region=None) -> dt.datetime:
    """Loads picked up before this moment should have been received (5 working days, 转移管理办法 第18条)."""
    now = now or timezone.now()
    days = int(parameters.get("manifest.receipt_working_days", region))
    day = timezone.localtime(now)
    while days > 0:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def is_overdue(manifest: Manifest, now: dt.datetime | None = None) -> bool:
    return (manifest.status == S.IN_TRANSIT and manifest.picked_up_at is not None
            and manifest.picked_up_at < overdue_since(now, manifest.receiver.region))


def lineage(scope: Scope, manifest: Manifest) -> dict:
    """The manifests before and after this one: follow-ups, and collection → forwarding through containers."""
    containers = manifest.carried.values("container_id")
    related = (Manifest.objects.visible_to(scope).filter(carried__container_id__in=containers)
               .exclude(pk=manifest.pk).distinct().order_by("submitted_at", "pk"))
    visible = Manifest.objects.visible_to(scope)
    return {
        "follows": visible.filter(pk=manifest.follows_id).first() if manifest.follows_id else None,
        "followed_by": list(visible.filter(follows=manifest).order_by("pk")),
        "related": list(related),
    }


def tonnes_by_status(scope: Scope) -> dict[str, Decimal]:
    rows = Manifest.objects.visible_to(scope).values("status").annotate(t=Sum("shipped_tonnes"))
    totals = defaultdict(Decimal)
    for row in rows:
        totals[row["status"]] += row["t"] or 0
    return dict(totals)
