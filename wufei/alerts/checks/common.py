"""What the checks share: the Hit a check returns and small helpers. A check is set-based: one query per rule and
region partition returns every entity that trips it, restricted to `ids` when the scan re-checks the entities of
open alerts, and to rows changed since the last scan (`ctx.since`) for the rules marked incremental.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from wufei.manifests.models import (
    ManifestStatus,
)

S = ManifestStatus


LIVE = (S.SUBMITTED, S.IN_TRANSIT, S.RECEIVED, S.PROCESSED)


ZERO = Decimal(0)


@dataclass
class Hit:
    entity_type: str
    entity_id: str
    label: str
    organization_id: int | None
    region_id: str
    evidence: dict
    longitude: Decimal | None = None
    latitude: Decimal | None = None


def _t(value) -> str:
    if value is None:
        return ""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _iso(value) -> str:
    return timezone.localtime(value).isoformat(timespec="minutes") if value else ""


def _ids(ids, numeric=True):
    return [int(i) for i in ids] if numeric else list(ids)


def _year_bounds(year):
    tz = timezone.get_current_timezone()
    return dt.datetime(year, 1, 1, tzinfo=tz), dt.datetime(year + 1, 1, 1, tzinfo=tz)


def _org_period_ids(ids):
    return [int(i.split(":")[0]) for i in ids] if ids is not None else None


def _org_hit(org, entity_id, evidence):
    return Hit("organization", entity_id, org.name, org.pk, org.region_id, evidence, org.longitude, org.latitude)


def models_nullif(field_name):
    from django.db.models import Value
    from django.db.models.functions import NullIf

    return NullIf(field_name, Value(""))
