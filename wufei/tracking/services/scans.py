"""Scanning a container: the checks the life table (tracking/life.py) asks for, one scan or advancing several
steps, re-weighing.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog.models import TreatmentMethod
from wufei.core import audit, parameters
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.locks import lock_rows
from wufei.core.parsing import FieldSpec, clean, text
from wufei.core.parsing import decimal as parse_decimal
from wufei.core.scope import Scope
from wufei.registry.models import Organization, Site
from wufei.registry.services import check_receiver_permit, ensure_usable
from wufei.tracking import life, signals
from wufei.tracking.models import (
    Container,
    ContainerOrigin,
    ScanEvent,
    ScanKind,
)
from wufei.tracking.services.common import (
    CUSTODY_ROLES,
    FIVE_STEP_KINDS,
    METHOD_KINDS,
    SELF_SITE_KINDS,
    STEP_TIMESTAMPS,
    STORAGE_SITE_KINDS,
    _label,
    _scan_labels,
    _status_label,
    _tonnes,
    _when,
)
from wufei.tracking.services.recording import _refresh_after_recording
from wufei.tracking.services.selectors import can_scan, get_container
from wufei.tracking.services.writing import _actor_id, _save, _values, event_audit_values


def _locked(scope: Scope, code: str, *, version: int | None = None) -> Container:
    container = get_container(scope, code)
    if not can_scan(scope, container):
        raise PermissionDenied(_("only the current holder (%(holder)s) can record scans of container %(code)s")
                               % {"holder": container.holder.name, "code": container.code})
    container = lock_rows(Container.objects).select_related("holder__region", "organization", "waste").get(
        pk=container.pk)
    if version is not None and version != container.version:
        raise Conflict(_("container %(code)s was changed by someone else (version %(now)s, you sent %(sent)s); "
                         "reload it") % {"code": container.code, "now": container.version, "sent": version},
                       code="stale_version")
    return container


def _check_transition(container: Container, kind: str) -> life.Transition:
    transition = life.TRANSITIONS.get(kind)
    if transition is None:
        raise ValidationFailed(_("%(kind)s is not a scan") % {"kind": kind},
                               errors=[{"field": "kind", "message": _("is not one of: %(options)s")
                                        % {"options": ", ".join(life.TRANSITIONS)}}])
    if container.status not in transition.allowed_from:
        raise RuleViolation(
            _("container %(code)s is %(status)s: '%(scan)s' is not allowed now; allowed scans: %(allowed)s")
            % {"code": container.code, "status": _status_label(container.status),
               "scan": ScanKind(kind).label, "allowed": _scan_labels(life.next_scans(container.status))},
            code="scan_not_allowed")
    return transition


def _check_requirements(container: Container, kind: str, transition: life.Transition) -> None:
    missing = [name for name in transition.requires if getattr(container, name) in (None, "")]
    if missing:
        raise RuleViolation(_("'%(scan)s' needs %(what)s first (container %(code)s)")
                            % {"scan": ScanKind(kind).label, "what": ", ".join(_label(Container, m) for m in missing),
                               "code": container.code}, code="scan_requirement_missing")


def _site_of(organization: Organization, site_id, *, kinds=None, field: str = "site_id") -> Site | None:
    if site_id is None:
        return None
    site = Site.objects.filter(pk=site_id, organization=organization).first()
    message = None
    if site is None:
        message = _("is not a site of %(unit)s") % {"unit": organization.name}
    elif kinds and site.kind not in kinds:
        message = _("%(site)s is not a %(kind)s") % {"site": site.name, "kind": Site.Kind(kinds[0]).label}
    elif not site.is_active:
        message = _("the site is not in use")
    if message:
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return site


def _last_event_time(container: Container):
    return container.events.aggregate(last=models.Max("occurred_at"))["last"]


def _check_order(container: Container, moment: dt.datetime) -> None:
    last = _last_event_time(container)
    if last is not None and moment < last:
        message = _("is before the container's last recorded event (%(last)s)") % {
            "last": timezone.localtime(last).strftime("%Y-%m-%d %H:%M")}
        raise ValidationFailed(message, errors=[{"field": "occurred_at", "message": message}])


def _tolerance_flag(container: Container, weight: Decimal, lookups=None) -> tuple[Decimal | None, bool]:
    """(recorded weight, discrepancy) for a new weight, against the holder region's tolerance."""
    expected = container.net_weight_tonnes
    if expected is None:
        return None, False
    region = container.holder.region
    lookups = lookups or _Lookups()
    tolerance = lookups.get(("tolerance", region.pk),
                            lambda: parameters.get_decimal("tracking.reweigh_tolerance_percent", region))
    if expected == 0:
        return expected, weight != 0
    return expected, abs(weight - expected) * 100 / expected > tolerance


def _scan(*, scope: Scope, code: str, kind: str, occurred_at=None, weight_tonnes=None, site_id=None,
          storage_location: str | None = None, to_organization_id=None, method_code: str = "",
          reference: str = "", note: str = "", longitude=None, latitude=None, version=None
          ) -> tuple[Container, ScanEvent]:
    if kind in (ScanKind.MERGED, ScanKind.SPLIT):
        raise ValidationFailed(_("use merge or split for '%(scan)s'") % {"scan": kind},
                               errors=[{"field": "kind", "message": _("use merge or split")}])
    now = timezone.now()
    moment = _when(occurred_at, now=now)
    weight = _tonnes(weight_tonnes, "weight_tonnes", required=kind in (ScanKind.WEIGHED, ScanKind.REWEIGHED))
    text_values = _scan_texts(reference=reference, note=note, storage_location=storage_location,
                              longitude=longitude, latitude=latitude)
    container = _locked(scope, code, version=version)
    transition = _check_transition(container, kind)
    _check_order(container, moment)
    event = _apply(container, kind, transition, moment=moment, weight=weight, site_id=site_id,
                   to_organization_id=to_organization_id, method_code=method_code, text_values=text_values,
                   actor_id=_actor_id(scope), lookups=_Lookups())
    _save(container, [event], action=str(kind))
    return container, event


def _scan_texts(*, reference, note, storage_location, longitude, latitude) -> dict:
    text_values, errors = clean({"reference": FieldSpec(text(40)), "note": FieldSpec(text(300)),
                                 "storage_location": FieldSpec(text(100)),
                                 "longitude": FieldSpec(parse_decimal(minimum=Decimal(-180), maximum=Decimal(180))),
                                 "latitude": FieldSpec(parse_decimal(minimum=Decimal(-90), maximum=Decimal(90)))},
                                {"reference": reference, "note": note, "storage_location": storage_location,
                                 "longitude": longitude, "latitude": latitude})
    if errors:
        raise ValidationFailed(_("the scan is not valid"), errors=errors)
    return text_values


class _Lookups:
    """What the checks of several scans look up once: sites, method codes, permits, receivers, tolerances."""

    def __init__(self):
        self.memo = {}

    def get(self, key, compute):
        try:
            return self.memo[key]
        except KeyError:
            value = self.memo[key] = compute()
            return value


def _apply(container: Container, kind: str, transition: life.Transition, *, moment, weight, site_id,
           to_organization_id, method_code: str, text_values: dict, actor_id, lookups: _Lookups) -> ScanEvent:
    """Check one scan of a locked container against the rules and apply it in memory; the unsaved event."""
    holder = container.holder
    event = ScanEvent(kind=kind, occurred_at=moment, actor_id=actor_id, organization=holder,
                      reference=text_values["reference"], note=text_values["note"],
                      longitude=text_values["longitude"], latitude=text_values["latitude"])
    # weights: the weighing step sets the net weight; any other scan with a weight is a re-weigh
    if kind == ScanKind.WEIGHED:
        container.net_weight_tonnes = weight
    elif weight is not None:
        event.expected_weight_tonnes, event.discrepancy = _tolerance_flag(container, weight, lookups)
        if event.expected_weight_tonnes is None:
            raise RuleViolation(_("container %(code)s has no recorded weight to compare with: record the weighing "
                                  "step") % {"code": container.code}, code="no_recorded_weight")
        container.net_weight_tonnes = weight
    # where
    site_kinds = None
    if kind in (ScanKind.STORED, ScanKind.MOVED):
        site_kinds = STORAGE_SITE_KINDS
    elif kind in SELF_SITE_KINDS:
        site_kinds = SELF_SITE_KINDS[kind]
    site = lookups.get(("site", holder.pk, site_id, site_kinds),
                       lambda: _site_of(holder, site_id, kinds=site_kinds)) if site_id is not None else None
    event.site = site
    # what the scan needs
    if transition.needs_method:
        event.method = lookups.get(("method", kind, method_code), lambda: checked_method(kind, method_code))
        if kind in (ScanKind.UTILIZED, ScanKind.DISPOSED):
            day = timezone.localdate(moment)
            lookups.get(("permit", holder.pk, container.waste_id, event.method, day),
                        lambda: check_receiver_permit(holder, container.waste_id, method_code=event.method, on=day))
        elif container.holder_id != container.organization_id:
            raise RuleViolation(_("only the generator itself can self-utilize or self-dispose of its waste; "
                                  "%(holder)s holds container %(code)s") % {"holder": holder.name,
                                                                            "code": container.code},
                                code="not_the_generator")
    elif method_code:
        raise ValidationFailed(_("a method code is only recorded for utilization or disposal"),
                               errors=[{"field": "method_code", "message": _("not used by this scan")}])
    if transition.holder_change:
        receiver = lookups.get(("receiver", to_organization_id), lambda: _receiving(to_organization_id))
        _check_custody(container, receiver)
    elif to_organization_id is not None:
        raise ValidationFailed(_("only a handover names the organization taking the container"),
                               errors=[{"field": "to_organization_id", "message": _("not used by this scan")}])
    _check_requirements(container, kind, transition)
    # apply
    if kind in STEP_TIMESTAMPS and kind != ScanKind.STORED:
        setattr(container, STEP_TIMESTAMPS[kind], moment)
    if kind in (ScanKind.STORED, ScanKind.RECEIVED):
        container.stored_at = container.stored_at or moment
    if kind in (ScanKind.STORED, ScanKind.MOVED, ScanKind.RECEIVED) and site is not None and \
            site.kind in STORAGE_SITE_KINDS:
        container.storage_site = site
    if kind in (ScanKind.STORED, ScanKind.MOVED, ScanKind.RECEIVED) and text_values["storage_location"]:
        container.storage_location = text_values["storage_location"]
    if transition.holder_change:
        event.to_organization = receiver
        container.holder = receiver
        container.storage_site = None
        container.storage_location = ""
        container.stored_at = None
    if transition.to_status:
        container.status = transition.to_status
    event.weight_tonnes = container.net_weight_tonnes
    return event


@dataclass(frozen=True)
class Scan:
    """One scan of a batch (`scan_for_holders`): which container, what, when and the scan's own fields."""

    container_id: int
    kind: str
    occurred_at: dt.datetime
    to_organization_id: int | None = None
    weight_tonnes: Decimal | None = None
    site_id: int | None = None
    method_code: str = ""
    reference: str = ""


def scan_for_holders(*, scope: Scope, scans: list[Scan], links: list | None = None) -> list[ScanEvent]:
    """Record scans a signature authorizes, each for the container's current holder, in one go.

    The rules are those of `scan` (life table, order of events, requirements, sites, methods and permits,
    custody), checked for every scan in order (a container may be scanned several times: loaded, then handed
    over); the first broken rule raises and nothing is written. The caller has checked that it may act for
    the holders (a manifest's signing party); `scope` is the acting user. Written together: one locked read
    of the containers, one read of their last event times, one insert of the events, one update of the
    containers, one ledger notice and one audit append (a link per container and scan, as `scan` writes):
    with `links` (a list) the links are added to it instead, for the caller to append with its own in the same
    transaction. Inside the caller's transaction; weighing, merging and splitting are not batch scans.
    """
    if not scans:
        return []
    if any(s.kind in (ScanKind.MERGED, ScanKind.SPLIT, ScanKind.WEIGHED) for s in scans):
        raise ValueError("merge, split and weighing are not batch scans")
    ids = sorted({s.container_id for s in scans})
    with transaction.atomic(savepoint=False):
        containers = {c.pk: c for c in lock_rows(Container.objects).select_related(
            "holder__region", "organization", "waste").filter(pk__in=ids).order_by("pk")}
        missing = [pk for pk in ids if pk not in containers]
        if missing:
            raise NotFound(_("container not found"), code="container_not_found")
        last = dict(ScanEvent.objects.filter(container_id__in=ids).values("container_id").order_by()
                    .annotate(last=models.Max("occurred_at")).values_list("container_id", "last"))
        now = timezone.now()
        lookups, actor_id = _Lookups(), _actor_id(scope)
        before = {pk: getattr(c, "_audit_snapshot", None) or audit.snapshot(c) for pk, c in containers.items()}
        written, changed = [], []
        for item in scans:
            container = containers[item.container_id]
            moment = _when(item.occurred_at, now=now)
            transition = _check_transition(container, item.kind)
            previous = last.get(container.pk)
            if previous is not None and moment < previous:
                message = _("is before the container's last recorded event (%(last)s)") % {
                    "last": timezone.localtime(previous).strftime("%Y-%m-%d %H:%M")}
                raise ValidationFailed(message, errors=[{"field": "occurred_at", "message": message}])
            texts = lookups.get(("texts", item.reference), lambda item=item: _scan_texts(
                reference=item.reference, note="", storage_location="", longitude=None, latitude=None))
            event = _apply(container, item.kind, transition, moment=moment,
                           weight=_tonnes(item.weight_tonnes, "weight_tonnes", required=False),
                           site_id=item.site_id, to_organization_id=item.to_organization_id,
                           method_code=item.method_code, text_values=texts, actor_id=actor_id, lookups=lookups)
            event.container = container
            container.version += 1
            after = _values(container)
            written.append(event)
            changed.append((container, str(item.kind), audit.diff(before[container.pk], after), event))
            before[container.pk] = after
            last[container.pk] = moment
        ScanEvent.objects.bulk_create(written)
        for container in containers.values():
            container.updated_at = now
            container._audit_snapshot = before[container.pk]
        Container.objects.bulk_update(containers.values(), _CHANGING)
        signals.announce(written)
        entity_type = audit.entity_type_of(Container)
        made = [(entity_type, container.pk, action, {"changes": changes, "events": [event_audit_values(event)]})
                for container, action, changes, event in changed]
        if links is None:
            audit.append_many(made)
        else:
            links += made
    return written


# what a batch scan may change on a container
_CHANGING = ["updated_at", "version", "holder", "status", "net_weight_tonnes", "storage_site", "storage_location",
             "stored_at", *sorted(set(STEP_TIMESTAMPS.values()) - {"stored_at"})]


def checked_method(kind: str, method_code: str) -> str:
    """The method code a `kind` scan (utilized, disposed …) may carry, upper-cased; ValidationFailed otherwise."""
    code = (method_code or "").strip().upper()
    expected = METHOD_KINDS[kind]
    if not code:
        message = _("a %(kind)s method code is required") % {"kind": TreatmentMethod.Kind(expected).label}
        raise ValidationFailed(message, errors=[{"field": "method_code", "message": message}])
    method = TreatmentMethod.objects.filter(code=code).first()
    if method is None or method.kind != expected:
        message = _("%(code)s is not a %(kind)s method code") % {"code": code,
                                                                 "kind": TreatmentMethod.Kind(expected).label}
        raise ValidationFailed(message, errors=[{"field": "method_code", "message": message}])
    return method.code


def custody_receiver(container: Container, to_organization_id) -> Organization:
    """The unit a handover gives the container to (anything with the container's holder_id will do), checked:
    it exists, is usable, is not the holder, and may take hazardous waste (or is its own generator)."""
    receiver = _receiving(to_organization_id)
    _check_custody(container, receiver)
    return receiver


def _receiving(to_organization_id) -> Organization:
    if to_organization_id is None:
        message = _("a handover names the organization taking the container")
        raise ValidationFailed(message, errors=[{"field": "to_organization_id", "message": _("is required")}])
    receiver = Organization.objects.select_related("region").filter(pk=to_organization_id).first()
    if receiver is None:
        raise ValidationFailed(_("organization not found"),
                               errors=[{"field": "to_organization_id", "message": _("organization not found")}])
    return receiver


def _check_custody(container: Container, receiver: Organization) -> None:
    if receiver.pk == container.holder_id:
        raise ValidationFailed(_("the container is already held by %(unit)s") % {"unit": receiver.name},
                               errors=[{"field": "to_organization_id", "message": _("is the current holder")}])
    ensure_usable(receiver)
    returning = receiver.pk == getattr(container, "organization_id", None)  # a refused load back to its generator
    if not returning and not any(getattr(receiver, Organization.ROLE_FIELDS[role]) for role in CUSTODY_ROLES):
        raise RuleViolation(_("%(name)s is not registered as a transporter, collector or receiver and cannot take "
                              "hazardous waste (固废法 第80条)") % {"name": receiver.name}, code="role_missing")


def advance(*, scope: Scope, code: str, step: str, occurred_at=None, net_weight_tonnes=None,
            storage_site_id: int | None = None, storage_location: str = "", site_id: int | None = None,
            note: str = "", version: int | None = None) -> Container:
    """Record one of the remaining 五即 steps (packed, weighed, coded, stored) of a container.

    Weighing a container recorded without a weight gives its generation a weight: the generator's
    recorded quantities are counted again once the step is saved.
    """
    with transaction.atomic():
        container = _advance(scope=scope, code=code, step=step, occurred_at=occurred_at,
                             net_weight_tonnes=net_weight_tonnes, storage_site_id=storage_site_id,
                             storage_location=storage_location, site_id=site_id, note=note, version=version)
    _after_weighing(container, step)
    return container


def _after_weighing(container: Container, kind: str) -> None:
    """Count the generator's recorded quantities again when a container it produced gets its weight.

    After the scan's transaction (see refresh_recorded_generation); other scans change no generation.
    """
    if kind == ScanKind.WEIGHED and container.origin == ContainerOrigin.PRODUCED:
        _refresh_after_recording(container.organization_id)


def _advance(*, scope: Scope, code: str, step: str, occurred_at, net_weight_tonnes, storage_site_id, storage_location,
             site_id, note, version) -> Container:
    if step not in FIVE_STEP_KINDS[1:]:
        raise ValidationFailed(_("%(step)s is not one of the remaining steps") % {"step": step},
                               errors=[{"field": "step", "message": _("is not one of: %(options)s")
                                        % {"options": ", ".join(FIVE_STEP_KINDS[1:])}}])
    if step != ScanKind.WEIGHED and net_weight_tonnes is not None:
        raise ValidationFailed(_("a weight is recorded by the weighing step"),
                               errors=[{"field": "net_weight_tonnes", "message": _("not used by this step")}])
    container, _event = _scan(scope=scope, code=code, kind=step, occurred_at=occurred_at,
                              weight_tonnes=net_weight_tonnes,
                              site_id=storage_site_id if step == ScanKind.STORED else site_id,
                              storage_location=storage_location, note=note, version=version)
    return container


def scan(*, scope: Scope, code: str, kind: str, occurred_at=None, weight_tonnes=None, site_id: int | None = None,
         to_organization_id: int | None = None, method_code: str = "", reference: str = "", note: str = "",
         longitude=None, latitude=None, storage_location: str = "", version: int | None = None) -> ScanEvent:
    """Record a later touch (stored, moved, loaded, handed over, received, utilized / disposed …).

    The scan must be allowed from the container's status by life.TRANSITIONS; a weight on any
    scan is compared with the recorded one as a re-weigh.
    """
    with transaction.atomic():
        container, event = _scan(scope=scope, code=code, kind=kind, occurred_at=occurred_at,
                                 weight_tonnes=weight_tonnes, site_id=site_id, to_organization_id=to_organization_id,
                                 method_code=method_code, reference=reference, note=note, longitude=longitude,
                                 latitude=latitude, storage_location=storage_location, version=version)
    _after_weighing(container, kind)
    return event


@transaction.atomic
def reweigh(*, scope: Scope, code: str, weight_tonnes, occurred_at=None, site_id: int | None = None,
            reference: str = "", note: str = "", longitude=None, latitude=None, version: int | None = None
            ) -> ScanEvent:
    """Weigh again: the event keeps the recorded weight; beyond the region's tolerance it is flagged.

    The container's net weight becomes the new weight.
    """
    _container, event = _scan(scope=scope, code=code, kind=ScanKind.REWEIGHED, occurred_at=occurred_at,
                              weight_tonnes=weight_tonnes, site_id=site_id, reference=reference, note=note,
                              longitude=longitude, latitude=latitude, version=version)
    return event
