"""What submission checks: parties, the receiver's permit and capacity, the management plan, cross-province
approval.
"""

import datetime as dt
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core.errors import RuleViolation
from wufei.ledgers.plans import planned_transfer_for
from wufei.manifests import kinds
from wufei.manifests.models import (
    CrossProvinceBasis,
    Manifest,
    ManifestLine,
    Purpose,
    TransportLeg,
)
from wufei.manifests.services.common import COLLECTION_PERMITS, S, _plain, legs_of
from wufei.manifests.signing_codes import set_signing_code as set_signing_code  # re-exported: the service API
from wufei.manifests.signing_codes import signing_codes_to_renew as signing_codes_to_renew  # re-exported
from wufei.registry.models import Organization
from wufei.registry.services import ensure_usable, permit_lines_covering, vehicle_permit_valid


def capacity_left(receiver: Organization, code: str, *, on: dt.date, exclude_manifest_id: int | None = None,
                  covering=None) -> Decimal | None:
    """Annual permitted capacity for the code left this year (None: no permit line covers it); `covering`: the
    permit lines covering the code on that day, when the caller has them already."""
    lines = permit_lines_covering(receiver, code, on=on) if covering is None else covering
    if not lines:
        return None
    best = max(lines, key=lambda line: line.annual_capacity_tonnes)
    start = timezone.make_aware(dt.datetime(on.year, 1, 1))
    end = timezone.make_aware(dt.datetime(on.year + 1, 1, 1))
    taken = ManifestLine.objects.filter(manifest__receiver=receiver, manifest__submitted_at__gte=start,
                                        manifest__submitted_at__lt=end).exclude(manifest_id=exclude_manifest_id)
    taken = taken.filter(waste_id=best.waste_id) if best.waste_id else taken.filter(waste__category_id=best.category_id)
    totals = taken.aggregate(
        in_flight=Sum("shipped_tonnes", filter=Q(manifest__status__in=(S.SUBMITTED, S.IN_TRANSIT))),
        done=Sum("accepted_tonnes", filter=Q(manifest__status__in=(S.RECEIVED, S.PROCESSED))))
    return best.annual_capacity_tonnes - (totals["in_flight"] or 0) - (totals["done"] or 0)


def capacity_usage(*, start: dt.datetime, end: dt.datetime, receivers: Q | None = None
                   ) -> dict[tuple[int, str], Decimal]:
    """Tonnes counted against receivers' annual capacity, per (receiver, waste code), for the manifests submitted
    in [start, end), as `capacity_left` counts them: shipped while submitted or in transit, accepted once received
    or processed. `receivers` narrows the lines (a Q on ManifestLine, e.g. on manifest__receiver)."""
    lines = ManifestLine.objects.filter(manifest__submitted_at__gte=start, manifest__submitted_at__lt=end,
                                        manifest__status__in=(S.SUBMITTED, S.IN_TRANSIT, S.RECEIVED, S.PROCESSED),
                                        waste__isnull=False).exclude(manifest__purpose=Purpose.RETURN)
    if receivers is not None:
        lines = lines.filter(receivers)
    usage: dict[tuple[int, str], Decimal] = {}
    for receiver, code, status, shipped, accepted in (
            lines.values("manifest__receiver_id", "waste_id", "manifest__status")
            .annotate(shipped=Sum("shipped_tonnes"), accepted=Sum("accepted_tonnes")).order_by()
            .values_list("manifest__receiver_id", "waste_id", "manifest__status", "shipped", "accepted")):
        taken = shipped if status in (S.SUBMITTED, S.IN_TRANSIT) else accepted
        usage[(receiver, code)] = usage.get((receiver, code), Decimal(0)) + (taken or Decimal(0))
    return usage


def _check_parties(manifest: Manifest, legs: list[TransportLeg], day: dt.date, problems: list) -> None:
    for organization, role, field in [(manifest.generator, None, "generator_id"),
                                      (manifest.receiver, None, "receiver_id")]:
        try:
            ensure_usable(organization, role=role)
        except RuleViolation as exc:
            problems.append((field, exc.code, exc.message))
    if manifest.generator_id == manifest.receiver_id and manifest.purpose != Purpose.RETURN:
        problems.append(("receiver_id", "same_generator_and_receiver",
                         _("the generator cannot be its own receiver: a transfer goes to another unit")))
    if not legs:
        problems.append(("legs", "transporter_missing", _("name the carrier (承运人) before submitting "
                                                          "(危险废物转移管理办法 第11条)")))
    for leg in legs:
        field = f"legs.{leg.position - 1}"
        if not leg.transporter.is_transporter:
            problems.append((field + ".transporter_id", "not_a_transporter",
                             _("%(name)s is not registered as a transporter") % {"name": leg.transporter.name}))
        elif not leg.transporter.is_active:
            problems.append((field + ".transporter_id", "organization_closed",
                             _("%(name)s is closed and cannot be used") % {"name": leg.transporter.name}))
        if leg.vehicle is not None and not vehicle_permit_valid(leg.vehicle, day):
            problems.append((field + ".vehicle_id", "vehicle_permit_invalid",
                             _("the road transport permit of %(plate)s is not valid on %(day)s")
                             % {"plate": leg.vehicle.plate, "day": day}))


def _check_receiver(manifest: Manifest, lines: list[ManifestLine], day: dt.date, problems: list) -> None:
    receiver = manifest.receiver
    rules = kinds.get(manifest.kind)
    if manifest.purpose == Purpose.RETURN:
        return
    if manifest.purpose == Purpose.COLLECTION and not receiver.is_collector:
        problems.append(("receiver_id", "not_a_collector",
                         _("%(name)s is not registered as a collector") % {"name": receiver.name}))
        return
    for line in lines:
        field = f"lines.{line.position - 1}"
        method = line.planned_method_id
        for_code = permit_lines_covering(receiver, line.waste_id, on=day)
        covering = [p for p in for_code  # as permit_lines_covering with the method, of the kinds the waste needs
                    if (method is None or not p.methods.all() or method in {m.code for m in p.methods.all()})
                    and p.permit.kind in rules.receiver_permits]
        if manifest.purpose == Purpose.COLLECTION:
            covering = [p for p in covering if p.permit.kind in COLLECTION_PERMITS]
        if not covering:
            detail = line.waste_id + (f" / {method}" if method else "")
            problems.append((field, "receiver_not_permitted",
                             _("%(name)s holds no valid operating permit for %(what)s (固废法 第80条)")
                             % {"name": receiver.name, "what": detail}))
            continue
        left = capacity_left(receiver, line.waste_id, on=day, exclude_manifest_id=manifest.pk, covering=for_code)
        if left is not None and line.shipped_tonnes > left:
            problems.append((field, "receiver_capacity_exceeded",
                             _("%(name)s has %(left)s t of its annual permitted capacity for %(code)s left; this "
                               "manifest ships %(tonnes)s t") % {"name": receiver.name, "left": _plain(left),
                                                                 "code": line.waste_id,
                                                                 "tonnes": _plain(line.shipped_tonnes)}))


def _plan_warning(manifest: Manifest, lines: list[ManifestLine], day: dt.date) -> str:
    if not kinds.get(manifest.kind).plan_checked or manifest.purpose in (Purpose.RETURN, Purpose.FORWARD):
        return ""
    missing = [line.waste_id for line in lines
               if planned_transfer_for(manifest.generator, line.waste_id, manifest.receiver, day.year) is None]
    if not missing:
        return ""
    return _("not in the approved management plan of %(year)s: %(codes)s to %(receiver)s (固废法 第78条)") % {
        "year": day.year, "codes": ", ".join(sorted(set(missing))), "receiver": manifest.receiver.name}


def _check_cross_province(manifest: Manifest, lines: list[ManifestLine], day: dt.date, problems: list) -> None:
    from wufei.manifests import crossprovince

    manifest.cross_province_basis, manifest.application = CrossProvinceBasis.NONE, None
    if manifest.purpose == Purpose.RETURN:
        return
    try:
        basis, application = crossprovince.authorize(
            generator=manifest.generator, receiver=manifest.receiver, kind=manifest.kind,
            lines=[(line.code, line.shipped_tonnes, line.planned_method_id) for line in lines], on=day,
            exclude_manifest_id=manifest.pk)
    except RuleViolation as exc:
        problems.append(("receiver_id", exc.code, exc.message))
        return
    manifest.cross_province_basis, manifest.application = basis, application


def submission_lines(manifest: Manifest) -> list[ManifestLine]:
    return list(manifest.lines.select_related("waste").order_by("position"))


def submission_problems(manifest: Manifest, *, day: dt.date, lines: list[ManifestLine] | None = None
                        ) -> list[tuple[str, str, str]]:
    """Every rule the manifest breaks at submission: (field, code, message); `lines` as `submission_lines` reads
    them, when the caller has them."""
    problems: list[tuple[str, str, str]] = []
    lines = submission_lines(manifest) if lines is None else lines
    legs = legs_of(manifest)
    if not lines or not any(line.shipped.value > 0 for line in lines):
        problems.append(("lines", "lines_missing", _("the manifest carries nothing: add containers or lines")))
    for name in kinds.get(manifest.kind).checks:
        check, needs_lines = CHECKS[name]
        if lines or not needs_lines:
            check(manifest, lines, legs, day, problems)
    return problems


def _check_receiver_permit(manifest, lines, legs, day, problems) -> None:
    if kinds.get(manifest.kind).needs_permit:
        _check_receiver(manifest, lines, day, problems)


# the named submission checks a manifest kind lists (manifests/kinds.py): check, whether it needs lines
CHECKS = {
    "parties": (lambda manifest, lines, legs, day, problems: _check_parties(manifest, legs, day, problems), False),
    "receiver_permit": (_check_receiver_permit, True),
    "cross_province": (lambda manifest, lines, legs, day, problems: _check_cross_province(manifest, lines, day,
                                                                                           problems), True),
}
