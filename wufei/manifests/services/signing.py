"""Signing the steps of a manifest (machine.STEPS): submit, pickup, handover, receive, process, cancel; one or many
at once.
"""

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog.models import TreatmentMethod
from wufei.core import parameters
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope
from wufei.manifests import kinds, machine
from wufei.manifests.models import (
    Manifest,
    ManifestContainer,
    ManifestLine,
    Purpose,
    Reception,
    Signature,
    SignatureMethod,
    TransportLeg,
)
from wufei.manifests.services.common import (
    LOADABLE,
    MAX_DISCREPANCY_PERCENT,
    TONNE,
    S,
    _check_required,
    _current_leg,
    _decimal,
    _locked,
    _method,
    _text,
    get_manifest,
    keep_legs,
    leg_for_step,
    parties,
    party_for_step,
)
from wufei.manifests.services.drafts import _refresh_totals, next_number
from wufei.manifests.services.measures import received_in_unit
from wufei.manifests.services.submission import _plan_warning, submission_lines, submission_problems
from wufei.manifests.signing_codes import set_signing_code as set_signing_code  # re-exported: the service API
from wufei.manifests.signing_codes import signing_codes_to_renew as signing_codes_to_renew  # re-exported
from wufei.manifests.signing_codes import verify_signing_code
from wufei.registry.models import Organization, Vehicle
from wufei.registry.services import permit_lines_covering, vehicle_permit_valid
from wufei.tracking import services as tracking
from wufei.tracking.models import Container, ContainerOrigin, ContainerStatus, ScanEvent, ScanKind


def _signer(scope: Scope, manifest: Manifest, step: str, *, by_code: bool) -> Organization:
    organization = party_for_step(manifest, step)
    if by_code:
        ids = set().union(*parties(manifest).values())
        if not ids & scope.organization_ids:
            raise PermissionDenied(_("only a party of the manifest can collect a signing code"))
        return organization
    if organization.pk not in machine.signer_ids(step, scope):
        raise PermissionDenied(_("this step is signed by %(unit)s") % {"unit": organization.name},
                               code="not_the_signing_party")
    return organization


def _check_step(manifest: Manifest, step: str) -> machine.Step:
    why = machine.refusal(step, manifest.status, manifest.purpose)
    if why == "not_a_step":
        raise ValidationFailed(_("%(step)s is not a step") % {"step": step},
                               errors=[{"field": "step", "message": ", ".join(machine.STEPS)}])
    if why == "status":
        allowed = ", ".join(machine.next_steps(manifest.status)) or "-"
        raise Conflict(_("manifest %(number)s is %(status)s: '%(step)s' is not allowed now (allowed: %(allowed)s)")
                       % {"number": manifest, "status": S(manifest.status).label, "step": step,
                          "allowed": allowed}, code="step_not_allowed")
    if why == "purpose":
        raise Conflict(_("a %(purpose)s manifest ends at receipt") % {"purpose": Purpose(manifest.purpose).label},
                       code="step_not_allowed")
    return machine.STEPS[step]


def sign(*, scope: Scope, manifest_id: int, step: str, version: int | None, data: dict | None = None,
         signing_code: str | None = None, signer_name: str = "", now: dt.datetime | None = None,
         longitude=None, latitude=None) -> Manifest:
    """Sign a step: by a logged-in member of the party, or at the gate with the party's signing code. `data` is
    checked against the step's model (machine.STEPS[step].payload) before anything else."""
    if step in machine.STEPS:
        data = machine.payload(step, data)
    if signing_code is not None:
        manifest = get_manifest(scope, manifest_id)
        _check_step(manifest, step)
        organization = _signer(scope, manifest, step, by_code=True)  # only a party collects a code
        verify_signing_code(organization=organization, code=signing_code, manifest=manifest, user_id=scope.user_id)
    with transaction.atomic():
        manifest = _locked(scope, manifest_id, version)
        keep_legs(manifest)
        _check_step(manifest, step)
        organization = _signer(scope, manifest, step, by_code=signing_code is not None)
        moment = now or timezone.now()
        manifest._audit_links = []  # the containers' links, appended with the manifest's own
        leg = STEP_ACTIONS[step](scope, manifest, data or {}, moment)
        _check_required(manifest, step, leg)
        method = SignatureMethod.SIGNING_CODE if signing_code is not None else SignatureMethod.SESSION
        Signature.objects.create(manifest=manifest, step=step, leg=leg, organization=organization,
                                 user_id=scope.user_id, signer_name=(signer_name or scope.username)[:150],
                                 method=method, signed_at=moment, longitude=longitude, latitude=latitude)
        manifest.save(audit_action=f"signed_{step}", audit_note=f"{organization.name} ({method})",
                      audit_before=manifest._audit_links)
        _notify(manifest, step)
    return manifest


def _notify(manifest: Manifest, action: str) -> None:
    from wufei.manifests import webhooks

    webhooks.enqueue(manifest, action)


def _submit(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> None:
    day = timezone.localtime(moment).date()
    lines = submission_lines(manifest)
    problems = submission_problems(manifest, day=day, lines=lines)
    if problems:
        field, code, message = problems[0]
        raise RuleViolation(message, code=code, errors=[{"field": f, "code": c, "message": m}
                                                        for f, c, m in problems])
    manifest.plan_warning = _plan_warning(manifest, lines, day)[:300]
    manifest.number = next_number(manifest.generator.region_id, day.year)
    manifest.status = S.SUBMITTED
    manifest.submitted_at = moment


def _holder_scope(scope: Scope, holder_id: int) -> Scope:
    """The custody scans a signature authorizes are recorded for the container's holder."""
    return Scope(user_id=scope.user_id, username=scope.username, organization_ids=frozenset({holder_id}),
                 writable_organization_ids=frozenset({holder_id}))


def _carried(manifest: Manifest, *, refused: bool | None = None) -> list[ManifestContainer]:
    entries = manifest.carried.select_related("container", "line").order_by("pk")
    if refused is not None:
        entries = entries.filter(refused=refused)
    return list(entries)


def _scan(scope: Scope, manifest: Manifest, scans: list[tracking.Scan]) -> None:
    """The containers' scans of a step; their audit links go with the manifest's (sign) when it collects them."""
    tracking.scan_for_holders(scope=scope, scans=scans, links=getattr(manifest, "_audit_links", None))


def _hand_over(manifest: Manifest, entries, to_organization_id: int, moment) -> list[tracking.Scan]:
    """The custody scans of a handover: loaded (when still in storage), then handed over to the next party."""
    scans = []
    for entry in entries:  # loaded at the start of the step: no scan of this step has touched them yet
        container = entry.container
        if container.holder_id == to_organization_id:
            continue
        if container.status in LOADABLE:
            scans.append(tracking.Scan(container.pk, ScanKind.LOADED, moment, reference=manifest.number or ""))
        scans.append(tracking.Scan(container.pk, ScanKind.HANDED_OVER, moment,
                                   to_organization_id=to_organization_id, reference=manifest.number or ""))
    return scans


def _pickup(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> TransportLeg:
    leg = leg_for_step(manifest, "pickup")
    _fill_leg(leg, data)
    if leg.vehicle is None:
        raise RuleViolation(_("the vehicle is required to take the load over (危险废物转移管理办法 第11条)"),
                            code="vehicle_missing", errors=[{"field": "vehicle_id", "message": _("is required")}])
    if not vehicle_permit_valid(leg.vehicle, timezone.localtime(moment).date()):
        raise RuleViolation(_("the road transport permit of %(plate)s is not valid") % {"plate": leg.vehicle.plate},
                            code="vehicle_permit_invalid")
    _scan(scope, manifest, _hand_over(manifest, _carried(manifest), leg.transporter_id, moment))
    leg.taken_at = moment
    leg.save()
    manifest.status = S.IN_TRANSIT
    manifest.picked_up_at = moment
    return leg


def _fill_leg(leg: TransportLeg, data: dict) -> None:
    if data.get("vehicle_id"):
        vehicle = Vehicle.objects.filter(pk=data["vehicle_id"], organization_id=leg.transporter_id).first()
        if vehicle is None:
            message = _("is not a vehicle of %(unit)s") % {"unit": leg.transporter.name}
            raise ValidationFailed(message, errors=[{"field": "vehicle_id", "message": message}])
        leg.vehicle = vehicle
    for field, limit in (("driver_name", 50), ("driver_phone", 30)):
        if data.get(field):
            setattr(leg, field, _text(data, field, limit))


def _handover(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> TransportLeg:
    current, leg = _current_leg(manifest), leg_for_step(manifest, "handover")
    _fill_leg(leg, data)
    if leg.vehicle is None:
        raise RuleViolation(_("the vehicle is required to take the load over (危险废物转移管理办法 第11条)"),
                            code="vehicle_missing", errors=[{"field": "vehicle_id", "message": _("is required")}])
    _scan(scope, manifest, _hand_over(manifest, _carried(manifest), leg.transporter_id, moment))
    current.handed_at = moment
    current.save()
    leg.taken_at = moment
    leg.save()
    return leg


def _receive(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> None:
    """Check in: refused containers (or lines), the weighbridge quantity, the reason; containers follow.

    What the receiver weighed and signed is what it received: the weighbridge total is apportioned to the
    accepted containers by their shipped weight (unless per-container weights are given), each container's
    'received' scan carries its weighed share (so the receiver's ledger receives it), and the lines' and
    the manifest's accepted tonnes are the weighed tonnes. The generator's ledger keeps what it shipped; the
    difference is the manifest's recorded discrepancy (and the containers' re-weigh records).
    """
    refuse_all = bool(data.get("refuse_all"))
    refused_codes = set(data.get("refused_containers") or [])
    refused_lines = {int(p) for p in (data.get("refused_lines") or [])}
    entries = _carried(manifest)
    known = {entry.container.code for entry in entries}
    unknown = refused_codes - known
    if unknown:
        raise ValidationFailed(_("these containers are not on the manifest"),
                               errors=[{"field": "refused_containers", "message": ", ".join(sorted(unknown))}])
    reason = _text(data, "refusal_reason", 500)
    lines = list(manifest.lines.order_by("position"))
    for entry in entries:
        entry.refused = refuse_all or entry.container.code in refused_codes or entry.line.position in refused_lines
    refused_positions = {line.position for line in lines if refuse_all or line.position in refused_lines}
    anything_refused = any(e.refused for e in entries) or bool(refused_positions)
    if anything_refused and not reason:
        raise ValidationFailed(_("give the reason for refusing (危险废物转移管理办法 第18条)"),
                               errors=[{"field": "refusal_reason", "message": _("is required")}])
    weights = {code: _decimal(w, f"container_weights.{code}") for code, w in (data.get("container_weights") or {})
               .items()}
    measured = received_in_unit(manifest, lines, refused_positions, data)  # manifests not in tonnes
    received = data.get("received_tonnes")
    total = _decimal(received, "received_tonnes") if received not in (None, "") else None
    if measured is not None:
        total = measured[0]
    accepted_entries = [e for e in entries if not e.refused]
    if entries:
        weighed = _apportion(total, {e.container.code: e.shipped_tonnes for e in accepted_entries}, weights)
    else:  # a manifest of lines without containers
        weighed = _apportion(total, {line.position: line.shipped_tonnes for line in lines
                                     if line.position not in refused_positions}, {})
    last = _current_leg(manifest)
    scans = _hand_over(manifest, accepted_entries, manifest.receiver_id, moment)
    site_id = manifest.receiver_site_id if manifest.receiver_site and \
        manifest.receiver_site.kind in tracking.STORAGE_SITE_KINDS else None
    for entry in accepted_entries:
        weight = weighed.get(entry.container.code)
        scans.append(tracking.Scan(entry.container_id, ScanKind.RECEIVED, moment, weight_tonnes=weight,
                                   site_id=site_id, reference=manifest.number or ""))
        entry.received_tonnes = weight if weight is not None else entry.shipped_tonnes
    _scan(scope, manifest, scans)
    ManifestContainer.objects.bulk_update(entries, ["refused", "received_tonnes"])
    for line in lines:
        carried = [e for e in entries if e.line_id == line.pk]
        if carried:
            line.refused_tonnes = sum((e.shipped_tonnes for e in carried if e.refused), Decimal(0))
            line.received_tonnes = sum((e.received_tonnes for e in carried if not e.refused), Decimal(0))
        else:
            refused = line.position in refused_positions
            line.refused_tonnes = line.shipped_tonnes if refused else Decimal(0)
            line.received_tonnes = Decimal(0) if refused else weighed.get(line.position, line.shipped_tonnes)
        line.accepted_tonnes = line.received_tonnes
        if measured is not None:
            line.received_quantity = measured[1].get(line.position, Decimal(0))
    ManifestLine.objects.bulk_update(lines, ["refused_tonnes", "received_tonnes", "accepted_tonnes",
                                             "received_quantity"])
    _refresh_totals(manifest)
    manifest.received_tonnes = total if total is not None else sum((line.received_tonnes for line in lines),
                                                                   Decimal(0))
    _flag_discrepancy(manifest)
    manifest.refusal_reason = reason
    with_containers = {e.line_id for e in entries}
    open_lines = [line for line in lines if line.pk not in with_containers and line.position not in refused_positions]
    if not accepted_entries and not open_lines:
        manifest.reception, manifest.status = Reception.REFUSED, S.REFUSED
        manifest.received_tonnes = Decimal(0) if total is None else manifest.received_tonnes
    else:
        manifest.reception = Reception.PARTIAL if anything_refused else Reception.ACCEPTED
        manifest.status = S.RECEIVED
    manifest.received_at = moment
    if last is not None and manifest.status == S.RECEIVED:  # a wholly refused load stays with its carrier
        last.handed_at = moment
        last.save()


def _apportion(total: Decimal | None, shipped: dict, given: dict) -> dict:
    """The weighed tonnes of each accepted item (container code or line position): the given weights, and the
    rest of the weighbridge total shared by shipped weight (to 0.000001 t; the remainder goes to the heaviest)."""
    weighed = {key: given[key] for key in shipped if key in given}
    if total is None:
        return weighed
    rest = [key for key in shipped if key not in given]
    remaining = total - sum(weighed.values(), Decimal(0))
    if remaining < 0 or (not rest and remaining != 0):
        message = _("the weighbridge total (%(total)s t) does not match the containers' weights (%(sum)s t)") % {
            "total": f"{total.normalize():f}", "sum": f"{sum(weighed.values(), Decimal(0)).normalize():f}"}
        raise ValidationFailed(message, errors=[{"field": "received_tonnes", "message": message}])
    if not rest:
        return weighed
    base = sum((shipped[key] for key in rest), Decimal(0))
    for key in rest:
        share = remaining * shipped[key] / base if base else remaining / len(rest)
        weighed[key] = share.quantize(TONNE, rounding=ROUND_DOWN)
    heaviest = max(rest, key=lambda key: (shipped[key], str(key)))
    weighed[heaviest] += remaining - sum((weighed[key] for key in rest), Decimal(0))
    return weighed


def _flag_discrepancy(manifest: Manifest) -> None:
    """The weighbridge against what was shipped and not refused, beyond the region's tolerance."""
    expected = manifest.shipped_tonnes - manifest.refused_tonnes
    if expected == 0:
        manifest.discrepancy, manifest.discrepancy_percent = False, None
        return
    percent = min((abs(manifest.received_tonnes - expected) * 100 / expected).quantize(Decimal("0.001")),
                  MAX_DISCREPANCY_PERCENT)
    tolerance = parameters.get_decimal("manifest.discrepancy_tolerance_percent", manifest.receiver.region)
    manifest.discrepancy_percent = percent
    manifest.discrepancy = percent > tolerance


def _process(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> None:
    """The receiver records the method (per line, or one for all) and the date; containers are closed."""
    default = data.get("method")
    per_line = {int(k): v for k, v in (data.get("methods") or {}).items()}
    day = data.get("processed_on") or timezone.localtime(moment).date()
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day)
        except ValueError:
            raise ValidationFailed(_("not a date"), errors=[{"field": "processed_on", "message": day}]) from None
    if day > timezone.localtime(moment).date() or day < timezone.localtime(manifest.received_at).date():
        raise ValidationFailed(_("the processing date lies between receipt and today"),
                               errors=[{"field": "processed_on", "message": str(day)}])
    lines = [line for line in manifest.lines.order_by("position") if line.accepted_tonnes > 0]
    errors = []
    for line in lines:
        method = _method(per_line.get(line.position) or default or line.planned_method_id,
                         f"methods.{line.position}")
        if method is None or method.kind not in (TreatmentMethod.Kind.UTILIZATION, TreatmentMethod.Kind.DISPOSAL):
            errors.append({"field": f"methods.{line.position}",
                           "message": _("a utilization (R…) or disposal (D…) method code is required")})
            continue
        if kinds.get(manifest.kind).needs_permit and not permit_lines_covering(
                manifest.receiver, line.waste_id, on=day, method_code=method.code):
            errors.append({"field": f"methods.{line.position}", "code": "receiver_not_permitted",
                           "message": _("%(name)s holds no valid operating permit for %(what)s (固废法 第80条)")
                           % {"name": manifest.receiver.name, "what": f"{line.waste_id} / {method.code}"}})
            continue
        line.method, line.processed_on = method, day
    if errors:
        raise RuleViolation(errors[0]["message"], code=errors[0].get("code", "method_missing"), errors=errors)
    when = max(moment if day == timezone.localtime(moment).date()
               else timezone.make_aware(dt.datetime.combine(day, dt.time(12))), manifest.received_at)
    ManifestLine.objects.bulk_update(lines, ["method", "processed_on"])
    by_line = {line.pk: line for line in lines}
    scans = []
    accepted = list(manifest.carried.filter(refused=False).order_by("pk").values_list("line_id", "container_id",
                                                                                       "container__origin"))
    for line_id, container_id, _origin in accepted:
        line = by_line.get(line_id)
        if line is None:
            continue
        kind = ScanKind.UTILIZED if line.method.kind == TreatmentMethod.Kind.UTILIZATION else ScanKind.DISPOSED
        scans.append(tracking.Scan(container_id, kind, when, method_code=line.method_id,
                                   reference=manifest.number or ""))
    _scan(scope, manifest, scans)
    manifest.status = S.PROCESSED
    manifest.processed_at = moment
    forwarded = {container_id for _line, container_id, _origin in accepted}
    produced = all(origin == ContainerOrigin.PRODUCED for _line, _container, origin in accepted)
    _close_collections(manifest, moment, forwarded=forwarded, repackaged=not produced)


def _close_collections(manifest: Manifest, moment: dt.datetime, *, forwarded: set[int] | None = None,
                       repackaged: bool = True) -> None:
    """A collection manifest is processed once every container it brought in is utilized or disposed downstream.

    The collector may repackage what it collected before forwarding it (merge several drums into one tote,
    split a load): a collected container then ends in the packages made from it, and it is utilized or disposed
    when all of them are; its line takes the method of those packages' final scans.
    """
    if forwarded is None:
        forwarded = set(manifest.carried.filter(refused=False).values_list("container_id", flat=True))
    # produced containers were made from nothing: they are their own sources
    sources = _repackaging_sources(forwarded) if repackaged else forwarded
    upstream = Manifest.objects.filter(purpose=Purpose.COLLECTION, status=S.RECEIVED,
                                       carried__container_id__in=sources).values("pk")
    final = (ContainerStatus.UTILIZED, ContainerStatus.DISPOSED)
    for collection in lock_rows(Manifest.objects).filter(pk__in=upstream).order_by("pk"):
        accepted = set(collection.carried.filter(refused=False).values_list("container_id", flat=True))
        if Container.objects.filter(pk__in=_repackaging_outcomes(accepted)).exclude(status__in=final).exists():
            continue
        for line in collection.lines.all():
            outcomes = _repackaging_outcomes(set(line.carried.filter(refused=False).values_list("container_id",
                                                                                                 flat=True)))
            final_scans = ScanEvent.objects.filter(container_id__in=outcomes, kind__in=(
                ScanKind.UTILIZED, ScanKind.DISPOSED)).values_list("method", "occurred_at")
            methods = Counter(method for method, _at in final_scans)
            if methods:
                line.method_id = methods.most_common(1)[0][0]
                line.processed_on = timezone.localtime(max(at for _m, at in final_scans)).date()
                line.save(update_fields=["method", "processed_on"])
        collection.status = S.PROCESSED
        collection.processed_at = moment
        collection.save(audit_action="processed_downstream", audit_note=str(manifest))
        _notify(collection, "processed")


def _repackaging_sources(container_ids: set[int]) -> set[int]:
    """The containers and those they were made from by merging or splitting, recursively."""
    found, frontier = set(container_ids), set(container_ids)
    while frontier:
        merged_from = Container.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
        split_from = Container.objects.filter(pk__in=frontier, split_from__isnull=False).values_list(
            "split_from_id", flat=True)
        frontier = (set(merged_from) | set(split_from)) - found
        found |= frontier
    return found


def _repackaging_outcomes(container_ids: set[int]) -> set[int]:
    """What the containers became: themselves, or the packages they were merged or split into, recursively."""
    outcomes, seen, frontier = set(), set(container_ids), set(container_ids)
    while frontier:
        pieces = defaultdict(list)
        for source, piece in Container.objects.filter(split_from_id__in=frontier).values_list("split_from_id", "pk"):
            pieces[source].append(piece)
        following = set()
        for pk, status, parent in Container.objects.filter(pk__in=frontier).values_list("pk", "status", "parent_id"):
            if status == ContainerStatus.MERGED and parent is not None:
                following.add(parent)
            elif status == ContainerStatus.SPLIT and pieces[pk]:
                following.update(pieces[pk])
            else:
                outcomes.add(pk)
        frontier = following - seen
        seen |= frontier
    return outcomes


def _cancel(scope: Scope, manifest: Manifest, data: dict, moment: dt.datetime) -> None:
    reason = _text(data, "reason", 500)
    if manifest.status == S.SUBMITTED and not reason:
        raise ValidationFailed(_("give the reason for cancelling a submitted manifest"),
                               errors=[{"field": "reason", "message": _("is required")}])
    manifest.status, manifest.cancelled_at, manifest.cancel_reason = S.CANCELLED, moment, reason


STEP_ACTIONS = {"submit": _submit, "pickup": _pickup, "handover": _handover, "receive": _receive,
                "process": _process, "cancel": _cancel}


def bulk_sign(*, scope: Scope, step: str, items: list[dict], data: dict | None = None,
              signing_code: str | None = None, now: dt.datetime | None = None) -> list[dict]:
    """Sign one step of many manifests; each succeeds or fails on its own (a failure changes nothing).

    One transaction for the call, each signature in a savepoint of its own (rolled back alone when refused):
    one commit instead of one per manifest."""
    with transaction.atomic():
        return _bulk_sign(scope=scope, step=step, items=items, data=data, signing_code=signing_code, now=now)


def _bulk_sign(*, scope: Scope, step: str, items: list[dict], data: dict | None, signing_code: str | None,
               now: dt.datetime | None) -> list[dict]:
    results = []
    code_checked = False
    for item in items:
        manifest_id, version = item.get("id"), item.get("version")
        try:
            code = None
            if signing_code is not None and not code_checked:
                code = signing_code
            manifest = sign(scope=scope, manifest_id=manifest_id, step=step, version=version,
                            data={**(data or {}), **(item.get("data") or {})}, signing_code=code, now=now)
            if code is not None:
                code_checked = True
            results.append({"id": manifest.pk, "ok": True, "number": manifest.number, "status": manifest.status,
                            "version": manifest.version})
        except (Conflict, RuleViolation, ValidationFailed, PermissionDenied, NotFound) as exc:
            results.append({"id": manifest_id, "ok": False, "error": exc.as_dict()})
            if exc.code in ("signing_code_wrong", "signing_code_locked", "signing_code_too_short"):
                break
    return results


def cancel(*, scope: Scope, manifest_id: int, version: int | None, reason: str = "") -> Manifest:
    return sign(scope=scope, manifest_id=manifest_id, step="cancel", version=version, data={"reason": reason})
