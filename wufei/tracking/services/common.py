"""What every container service shares: limits, the parsing of scan and batch fields, labels."""

import datetime as dt
import logging
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog.models import HAZARD_CHARACTERISTICS, TreatmentMethod
from wufei.core import inputs
from wufei.core.errors import ValidationFailed
from wufei.core.parsing import decimal as parse_decimal
from wufei.core.parsing import tonnes as parse_tonnes
from wufei.registry.models import Site
from wufei.tracking import life
from wufei.tracking.models import (
    ContainerStatus,
    ScanKind,
)

STORAGE_SITE_KINDS = (Site.Kind.STORAGE, Site.Kind.COLLECTION_POINT)


SELF_SITE_KINDS = {
    ScanKind.SELF_UTILIZED: (Site.Kind.SELF_UTILIZATION,),
    ScanKind.SELF_DISPOSED: (Site.Kind.SELF_DISPOSAL,),
}


# method codes a scan needs, by the catalog's kind (R*/C2/C3 utilization; D*/C1/Y* disposal)
METHOD_KINDS = {
    ScanKind.UTILIZED: TreatmentMethod.Kind.UTILIZATION,
    ScanKind.SELF_UTILIZED: TreatmentMethod.Kind.UTILIZATION,
    ScanKind.DISPOSED: TreatmentMethod.Kind.DISPOSAL,
    ScanKind.SELF_DISPOSED: TreatmentMethod.Kind.DISPOSAL,
}


CUSTODY_ROLES = ("transporter", "collector", "receiver")


FIVE_STEP_KINDS = tuple(kind for kind, _attname in life.FIVE_STEPS)


STEP_TIMESTAMPS = dict(life.FIVE_STEPS)


MAX_CONTAINERS_PER_BATCH = 1000


MAX_CONTAINERS_PER_CALL = 100_000


CLOCK_SKEW = dt.timedelta(minutes=10)


TONNE = Decimal("0.000001")


LITRES = parse_decimal(minimum=Decimal(0), places=1, max_digits=10)  # Container.volume_litres


logger = logging.getLogger(__name__)


def _aware(value, field: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(_("%(value)s is not a date and time (YYYY-MM-DDTHH:MM)") % {"value": value}) from exc
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12))
    if not isinstance(value, dt.datetime):
        raise ValueError(_("%(value)s is not a date and time (YYYY-MM-DDTHH:MM)") % {"value": value})
    if value.date() < inputs.EARLIEST_DATE:  # and a container code's date segment keeps its 8 digits
        raise ValueError(_("must be on or after %(day)s") % {"day": inputs.EARLIEST_DATE.isoformat()})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(dt.UTC)


def _when(value, *, now: dt.datetime, field: str = "occurred_at") -> dt.datetime:
    if value is None:
        return now
    try:
        moment = _aware(value, field)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": field, "message": str(exc)}]) from exc
    if moment > now + CLOCK_SKEW:
        message = _("is in the future")
        raise ValidationFailed(_("%(field)s is in the future") % {"field": field},
                               errors=[{"field": field, "message": message}])
    return moment


def _tonnes(value, field: str, *, required: bool = False) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(_("%(field)s is required") % {"field": field},
                                   errors=[{"field": field, "message": _("is required")}])
        return None
    try:
        return parse_tonnes(minimum=TONNE)(value)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": field, "message": str(exc)}]) from exc


def _label(model, attname: str) -> str:
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return str(field.verbose_name)
    return attname


def _status_label(status: str) -> str:
    return str(ContainerStatus(status).label)


def _scan_labels(kinds) -> str:
    return ", ".join(str(ScanKind(kind).label) for kind in kinds) or _("none")


def _parse_hazards(value) -> str:
    parts = value if isinstance(value, list | tuple) else str(value).replace("/", ",").split(",")
    by_lower = {key.lower(): key for key in HAZARD_CHARACTERISTICS}
    result = []
    for part in parts:
        part = str(part).strip()
        if not part:
            continue
        key = by_lower.get(part.lower())
        if key is None:
            raise ValueError(_("%(value)s is not a hazard characteristic (%(options)s)")
                             % {"value": part, "options": ", ".join(HAZARD_CHARACTERISTICS)})
        if key not in result:
            result.append(key)
    return ",".join(result)


def _parse_steps(value) -> tuple[str, ...]:
    parts = list(value) if isinstance(value, list | tuple) else str(value).replace(";", ",").split(",")
    steps = tuple(str(p).strip() for p in parts if str(p).strip())
    unknown = [s for s in steps if s not in FIVE_STEP_KINDS]
    if unknown:
        raise ValueError(_("%(value)s is not one of: %(options)s") % {"value": ", ".join(unknown),
                                                                       "options": ", ".join(FIVE_STEP_KINDS)})
    if not steps or steps[0] != ScanKind.PRODUCED:
        raise ValueError(_("the steps start with 'produced'"))
    status = ContainerStatus.PRODUCED
    for step in steps[1:]:
        transition = life.TRANSITIONS[step]
        if status not in transition.allowed_from:
            raise ValueError(_("'%(step)s' cannot follow '%(status)s'") % {"step": step, "status": status})
        status = transition.to_status
    return steps


def _parse_count(value) -> int:
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise ValueError(_("%(value)s is not a whole number") % {"value": value}) from exc
    if not 1 <= number <= MAX_CONTAINERS_PER_BATCH:
        raise ValueError(_("must be between 1 and %(n)d") % {"n": MAX_CONTAINERS_PER_BATCH})
    return number


def _parse_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(_("%(value)s is not an id") % {"value": value}) from exc


def _parse_moment(value):
    return _aware(value, "produced_at")

