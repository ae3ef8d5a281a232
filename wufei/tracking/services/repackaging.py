"""Merging and splitting containers (repackaging), keeping the oldest storage time."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core import audit
from wufei.core.errors import RuleViolation, ValidationFailed
from wufei.core.parsing import choice as parse_choice
from wufei.core.scope import Scope
from wufei.registry.models import Organization, Site
from wufei.tracking import codes
from wufei.tracking.models import (
    Container,
    ContainerOrigin,
    ContainerStatus,
    Packaging,
    ScanEvent,
    ScanKind,
)
from wufei.tracking.services.common import LITRES, STORAGE_SITE_KINDS, _tonnes, _when
from wufei.tracking.services.scans import _check_order, _check_transition, _locked, _site_of
from wufei.tracking.services.selectors import storage_since
from wufei.tracking.services.writing import _actor_id, _insert, _save


def _repackaged_status(inputs: list[Container], storage_site: Site | None) -> str:
    statuses = {c.status for c in inputs}
    if storage_site is not None or statuses == {ContainerStatus.STORED}:
        return ContainerStatus.STORED
    if statuses == {ContainerStatus.RECEIVED}:
        return ContainerStatus.RECEIVED
    return ContainerStatus.CODED


def _new_codes(organization: Organization, waste_code: str, day: dt.date, count: int) -> list[str]:
    digits = codes.sequence_digits(organization.region)
    first = codes.reserve_sequences(organization=organization, needs={(waste_code, day): count}, digits=digits)
    start = first[(waste_code, day)]
    return [codes.build_code(uscc=organization.uscc, waste_code=waste_code, day=day, sequence=n, digits=digits)
            for n in range(start, start + count)]


def _repackaging_events(container: Container, moment, *, actor_id, note: str) -> list[ScanEvent]:
    kinds = [ScanKind.PACKED, ScanKind.WEIGHED, ScanKind.CODED]
    if container.status == ContainerStatus.STORED:
        kinds.append(ScanKind.STORED)
    return [ScanEvent(kind=kind, occurred_at=moment, actor_id=actor_id, organization=container.holder,
                      site=container.storage_site if kind == ScanKind.STORED else None,
                      weight_tonnes=container.net_weight_tonnes, note=note if kind == ScanKind.PACKED else "")
            for kind in kinds]


def _storage_choice(holder: Organization, storage_site_id, inputs: list[Container]) -> Site | None:
    if storage_site_id is not None:
        return _site_of(holder, storage_site_id, kinds=STORAGE_SITE_KINDS, field="storage_site_id")
    sites = {c.storage_site_id for c in inputs}
    if len(sites) == 1 and None not in sites and all(c.status == ContainerStatus.STORED for c in inputs):
        return inputs[0].storage_site
    return None


def _oldest(values):
    values = [v for v in values if v is not None]
    return min(values) if values else None


@transaction.atomic
def merge(*, scope: Scope, codes: list[str], packaging: str, storage_site_id: int | None = None,
          storage_location: str = "", volume_litres=None, occurred_at=None, note: str = "") -> Container:
    """Put several containers of one waste into a new, larger package (origin 'merged').

    All inputs share one holder, waste code, hazards and form (GB 18597-2023 §4.3: 分类贮存,
    no mixing); the new container weighs their sum and keeps the oldest storage time. Each input
    becomes 'merged' with `parent` = the new container and a MERGED event pointing to it.
    """
    from wufei.tracking import codes as code_module

    distinct = sorted({code_module.normalize(c) for c in codes or []})  # one locking order: no deadlock
    if len(distinct) < 2:
        raise ValidationFailed(_("a merge needs at least two containers"),
                               errors=[{"field": "codes", "message": _("at least two different codes")}])
    now = timezone.now()
    moment = _when(occurred_at, now=now)
    try:
        packaging = parse_choice(dict(Packaging.choices))(packaging)
        volume = LITRES(volume_litres) if volume_litres not in (None, "") else None
    except ValueError as exc:
        field = "volume_litres" if volume_litres not in (None, "") and "packaging" not in str(exc) else "packaging"
        raise ValidationFailed(str(exc), errors=[{"field": field, "message": str(exc)}]) from exc
    inputs = [_locked(scope, code) for code in distinct]
    holder = inputs[0].holder
    for field, label in (("holder_id", _("holder")), ("waste_id", _("waste code")), ("hazards", _("hazards")),
                         ("physical_form", _("physical form"))):
        values = {getattr(c, field) for c in inputs}
        if len(values) > 1:
            raise RuleViolation(_("containers of different %(what)s cannot be merged (GB 18597-2023 §4.3: "
                                  "store by kind, never mix): %(values)s")
                                % {"what": label, "values": ", ".join(sorted(map(str, values)))},
                                code="merge_mixed")
    for container in inputs:
        _check_transition(container, ScanKind.MERGED)
        _check_order(container, moment)
        if container.net_weight_tonnes is None:
            raise RuleViolation(_("container %(code)s has no recorded weight") % {"code": container.code},
                                code="no_recorded_weight")
    storage_site = _storage_choice(holder, storage_site_id, inputs)
    generators = {c.organization_id for c in inputs}
    organization = inputs[0].organization if len(generators) == 1 else holder
    first = inputs[0]
    day = timezone.localtime(moment).date()
    merged = Container(
        code=_new_codes(organization, first.waste_id, day, 1)[0], organization=organization, holder=holder,
        site=first.site if len({c.site_id for c in inputs}) == 1 else None, storage_site=storage_site,
        storage_location=(storage_location or "").strip()[:100], waste_id=first.waste_id,
        waste_name=first.waste_name if len({c.waste_name for c in inputs}) == 1 else first.waste.description[:200],
        physical_form=first.physical_form, hazards=first.hazards,
        main_components=first.main_components if len({c.main_components for c in inputs}) == 1 else "",
        packaging=packaging, volume_litres=volume,
        net_weight_tonnes=sum((c.net_weight_tonnes for c in inputs), Decimal(0)),
        produced_at=min(c.produced_at for c in inputs), packed_at=moment, weighed_at=moment, coded_at=moment,
        stored_at=_oldest(storage_since(c) for c in inputs), status=_repackaged_status(inputs, storage_site),
        origin=ContainerOrigin.MERGED, note=(note or "").strip()[:300],
    )
    actor_id = _actor_id(scope)
    _insert([merged], [_repackaging_events(merged, moment, actor_id=actor_id,
                                           note=_("merged from %(n)d containers") % {"n": len(inputs)})],
            action="merged")
    for container in inputs:
        event = ScanEvent(kind=ScanKind.MERGED, occurred_at=moment, actor_id=actor_id, organization=holder,
                          weight_tonnes=container.net_weight_tonnes, related_container=merged)
        container.status = ContainerStatus.MERGED
        container.parent = merged
        _save(container, [event], action=str(ScanKind.MERGED))
    return merged


@transaction.atomic
def split(*, scope: Scope, code: str, weights: list, packaging: str | None = None, occurred_at=None,
          storage_site_id: int | None = None, note: str = "", version: int | None = None) -> list[Container]:
    """Divide a container into packages whose weights add up exactly to its net weight (origin 'split')."""
    if not weights or len(weights) < 2:
        raise ValidationFailed(_("a split needs at least two weights"),
                               errors=[{"field": "weights", "message": _("at least two weights")}])
    parsed = []
    for index, weight in enumerate(weights):
        parsed.append(_tonnes(weight, f"weights.{index}", required=True))
    if packaging is not None and packaging != "":
        try:
            packaging = parse_choice(dict(Packaging.choices))(packaging)
        except ValueError as exc:
            raise ValidationFailed(str(exc), errors=[{"field": "packaging", "message": str(exc)}]) from exc
    moment = _when(occurred_at, now=timezone.now())
    parent = _locked(scope, code, version=version)
    _check_transition(parent, ScanKind.SPLIT)
    _check_order(parent, moment)
    if parent.net_weight_tonnes is None:
        raise RuleViolation(_("container %(code)s has no recorded weight") % {"code": parent.code},
                            code="no_recorded_weight")
    total = sum(parsed, Decimal(0))
    if total != parent.net_weight_tonnes:
        message = _("the weights add up to %(total)s t, the container holds %(weight)s t") % {
            "total": audit.plain(total), "weight": audit.plain(parent.net_weight_tonnes)}
        raise RuleViolation(message, code="split_weights_mismatch", errors=[{"field": "weights", "message": message}])
    holder = parent.holder
    storage_site = _storage_choice(holder, storage_site_id, [parent])
    day = timezone.localtime(moment).date()
    new_codes = _new_codes(parent.organization, parent.waste_id, day, len(parsed))
    children = []
    status = _repackaged_status([parent], storage_site)
    for new_code, weight in zip(new_codes, parsed, strict=True):
        children.append(Container(
            code=new_code, organization=parent.organization, holder=holder, site=parent.site,
            storage_site=storage_site, storage_location=parent.storage_location if storage_site == parent.storage_site
            else "", waste_id=parent.waste_id, waste_name=parent.waste_name, physical_form=parent.physical_form,
            hazards=parent.hazards, main_components=parent.main_components, packaging=packaging or parent.packaging,
            net_weight_tonnes=weight, produced_at=parent.produced_at, packed_at=moment, weighed_at=moment,
            coded_at=moment, stored_at=storage_since(parent), status=status, origin=ContainerOrigin.SPLIT,
            split_from=parent, note=(note or "").strip()[:300],
        ))
    actor_id = _actor_id(scope)
    split_note = _("split from %(code)s") % {"code": parent.code}
    _insert(children, [_repackaging_events(child, moment, actor_id=actor_id, note=split_note) for child in children],
            action="split")
    event = ScanEvent(kind=ScanKind.SPLIT, occurred_at=moment, actor_id=actor_id, organization=holder,
                      weight_tonnes=parent.net_weight_tonnes, note=(note or "").strip()[:300])
    parent.status = ContainerStatus.SPLIT
    _save(parent, [event], action=str(ScanKind.SPLIT))
    return children
