"""Recording batches of containers (五即: produce, pack, weigh, code, store), one call or in bulk."""

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from django.db import OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog.models import HazardousWaste
from wufei.core import audit, bulk
from wufei.core.errors import PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.parsing import FieldSpec, clean, text
from wufei.core.parsing import choice as parse_choice
from wufei.core.parsing import tonnes as parse_tonnes
from wufei.core.scope import Scope
from wufei.registry.models import Organization, Site
from wufei.registry.services import ensure_usable, get_organization, set_recorded_generation
from wufei.tracking import codes, life, signals, weights
from wufei.tracking.models import (
    Container,
    ContainerOrigin,
    ContainerStatus,
    Packaging,
    PhysicalForm,
    ScanEvent,
    ScanKind,
)
from wufei.tracking.services.common import (
    CLOCK_SKEW,
    FIVE_STEP_KINDS,
    LITRES,
    MAX_CONTAINERS_PER_CALL,
    STEP_TIMESTAMPS,
    STORAGE_SITE_KINDS,
    TONNE,
    _label,
    _parse_count,
    _parse_hazards,
    _parse_id,
    _parse_moment,
    _parse_steps,
    logger,
)
from wufei.tracking.services.writing import _actor_id, _values, event_audit_values

BATCH_SPEC = {
    "waste_code": FieldSpec(str, required=True),
    "waste_name": FieldSpec(text(200)),
    "physical_form": FieldSpec(parse_choice(dict(PhysicalForm.choices)), required=True),
    "packaging": FieldSpec(parse_choice(dict(Packaging.choices)), required=True),
    "net_weight_tonnes": FieldSpec(parse_tonnes(minimum=TONNE)),
    "volume_litres": FieldSpec(LITRES),
    "site_id": FieldSpec(_parse_id),
    "storage_site_id": FieldSpec(_parse_id),
    "storage_location": FieldSpec(text(100)),
    "main_components": FieldSpec(text(200)),
    "produced_at": FieldSpec(_parse_moment),
    "steps": FieldSpec(_parse_steps),
    "count": FieldSpec(_parse_count),
    "hazards": FieldSpec(_parse_hazards),
    "note": FieldSpec(text(300)),
}


@dataclass
class _Batch:
    waste: HazardousWaste
    values: dict
    steps: tuple[str, ...]
    count: int
    produced_at: dt.datetime
    site: Site | None
    storage_site: Site | None


class _Context:
    """What validating many batches of one unit needs once: its sites, the catalog, the time."""

    def __init__(self, organization: Organization, now: dt.datetime):
        self.organization = organization
        self.now = now
        self.sites = {site.pk: site for site in organization.sites.all()}
        self._wastes: dict[str, HazardousWaste] | None = None

    def waste(self, code: str) -> HazardousWaste | None:
        if self._wastes is None:
            self._wastes = {w.code: w for w in HazardousWaste.objects.all()}
        return self._wastes.get(code.strip())


def _validate_batch(context: _Context, data: dict, prefix: str = "") -> tuple[_Batch | None, list[dict]]:
    unknown = sorted(set(data) - set(BATCH_SPEC))
    values, errors = clean(BATCH_SPEC, data)
    errors += [{"field": name, "message": _("unknown field")} for name in unknown]
    waste = None
    if values.get("waste_code"):
        waste = context.waste(values["waste_code"])
        if waste is None:
            errors.append({"field": "waste_code", "message": _("%(code)s is not a code of the national hazardous "
                                                               "waste list") % {"code": values["waste_code"]}})
    steps = values.get("steps") or FIVE_STEP_KINDS
    weight = values.get("net_weight_tonnes")
    step_errors = any(e["field"] in ("steps", "net_weight_tonnes") for e in errors)
    if step_errors:
        pass
    elif weight is not None and ScanKind.WEIGHED not in steps:
        errors.append({"field": "net_weight_tonnes",
                       "message": _("a weight is recorded by the weighing step: add 'weighed' to the steps")})
    if weight is None and ScanKind.WEIGHED in steps:
        errors.append({"field": "net_weight_tonnes", "message": _("is required for the weighing step")})
    known = {"net_weight_tonnes"} if weight is not None else set()
    for step in () if step_errors else steps:
        transition = life.TRANSITIONS.get(step)
        for requirement in transition.requires if transition else ():
            if requirement not in known:
                errors.append({"field": "steps", "message": _("'%(step)s' needs %(what)s first")
                               % {"step": step, "what": _label(Container, requirement)}})
        known.add(STEP_TIMESTAMPS[step])
        if step == ScanKind.WEIGHED:
            known.add("net_weight_tonnes")  # a missing weight is reported once, above
    site = storage_site = None
    if values.get("site_id") is not None:
        site = context.sites.get(values["site_id"])
        if site is None:
            errors.append({"field": "site_id", "message": _("is not a site of %(unit)s")
                           % {"unit": context.organization.name}})
        elif not site.is_active:
            errors.append({"field": "site_id", "message": _("the site is not in use")})
    if values.get("storage_site_id") is not None:
        storage_site = context.sites.get(values["storage_site_id"])
        if storage_site is None:
            errors.append({"field": "storage_site_id", "message": _("is not a site of %(unit)s")
                           % {"unit": context.organization.name}})
        elif storage_site.kind not in STORAGE_SITE_KINDS:
            errors.append({"field": "storage_site_id", "message": _("%(site)s is not a storage facility")
                           % {"site": storage_site.name}})
        elif not storage_site.is_active:
            errors.append({"field": "storage_site_id", "message": _("the site is not in use")})
    produced_at = values.get("produced_at") or context.now
    if produced_at > context.now + CLOCK_SKEW:
        errors.append({"field": "produced_at", "message": _("is in the future")})
    if errors:
        return None, [{**e, "field": f"{prefix}{e['field']}"} for e in errors]
    if not values.get("hazards"):
        values["hazards"] = waste.hazards
    if not values.get("waste_name"):
        values["waste_name"] = waste.description[:200]
    return _Batch(waste=waste, values=values, steps=tuple(steps), count=values.get("count") or 1,
                  produced_at=produced_at, site=site, storage_site=storage_site), []


def _recording_organization(scope: Scope, organization_id: int) -> Organization:
    """The unit a batch is recorded for: its own writers only (regulators read), active, generator or collector."""
    organization = get_organization(scope, organization_id)
    if not (scope.is_platform_admin or organization.pk in scope.writable_organization_ids):
        raise PermissionDenied(_("only %(unit)s's administrators and members can record its containers")
                               % {"unit": organization.name})
    ensure_usable(organization)
    if not (organization.is_generator or organization.is_collector):
        raise RuleViolation(_("%(name)s is registered neither as a generator nor as a collector")
                            % {"name": organization.name}, code="role_missing")
    return organization


class RecordedContainer(NamedTuple):
    """What bulk_record gives back per container (in the order of the batches)."""

    pk: int
    code: str


def _rows(organization: Organization, batch: _Batch, codes_: list[str], ids: list[int], event_ids, *, actor_id,
          now: dt.datetime) -> tuple[list[dict], list[list[dict]], list[dict]]:
    values = batch.values
    status = life.TRANSITIONS[batch.steps[-1]].to_status if len(batch.steps) > 1 else ContainerStatus.PRODUCED
    weight = values.get("net_weight_tonnes")
    base = {
        **bulk.table(Container).defaults,
        "organization_id": organization.pk, "holder_id": organization.pk,
        "site_id": batch.site.pk if batch.site else None,
        "storage_site_id": batch.storage_site.pk if batch.storage_site else None,
        "storage_location": values.get("storage_location") or "", "waste_id": batch.waste.code,
        "waste_name": values["waste_name"], "physical_form": values["physical_form"], "hazards": values["hazards"],
        "main_components": values.get("main_components") or "", "packaging": values["packaging"],
        "volume_litres": values.get("volume_litres"), "net_weight_tonnes": weight, "status": str(status),
        "origin": str(ContainerOrigin.PRODUCED), "note": values.get("note") or "", "version": 1,
        "created_at": now, "updated_at": now,
        **{STEP_TIMESTAMPS[step]: batch.produced_at for step in batch.steps},
    }
    event_base = {**bulk.table(ScanEvent).defaults, "occurred_at": batch.produced_at, "recorded_at": now,
                  "actor_id": actor_id, "organization_id": organization.pk, "weight_tonnes": weight}
    steps = [{**event_base, "kind": str(step),
              "site_id": base["storage_site_id"] if step == ScanKind.STORED else base["site_id"]}
             for step in batch.steps]
    # the audit payloads of a batch differ only in ids and codes: work them out once
    values = _values({**base, "id": 0, "code": ""})
    step_values = [event_audit_values({**step, "id": 0}) for step in steps]
    containers, events, links = [], [], []
    for pk, code in zip(ids, codes_, strict=True):
        containers.append({**base, "id": pk, "code": code})
        own = [{**step, "id": next(event_ids), "container_id": pk} for step in steps]
        events.append(own)
        links.append({"values": {**values, "id": pk, "code": code},
                      "events": [{**template, "id": event["id"]} for template, event in zip(step_values, own,
                                                                                              strict=True)]})
    return containers, events, links


def _record(organization: Organization, batches: list[_Batch], *, scope: Scope) -> list[RecordedContainer]:
    """Reserve the codes and ids, insert the rows, write one audit link per container; all or nothing."""
    total = sum(b.count for b in batches)
    if total > MAX_CONTAINERS_PER_CALL:
        raise ValidationFailed(_("at most %(n)d containers per call") % {"n": MAX_CONTAINERS_PER_CALL},
                               errors=[{"field": "batches", "message": _("too many containers")}])
    digits = codes.sequence_digits(organization.region)
    needs: dict[tuple[str, dt.date], int] = {}
    days = []
    for batch in batches:
        day = timezone.localtime(batch.produced_at).date()
        days.append(day)
        key = (batch.waste.code, day)
        needs[key] = needs.get(key, 0) + batch.count
    now = timezone.now()
    actor_id = _actor_id(scope)
    with transaction.atomic():
        first = codes.reserve_sequences(organization=organization, needs=needs, digits=digits)
        container_ids = iter(bulk.table(Container).reserve_ids(total))
        event_ids = iter(bulk.table(ScanEvent).reserve_ids(sum(b.count * len(b.steps) for b in batches)))
        containers, events, links = [], [], []
        for batch, day in zip(batches, days, strict=True):
            key = (batch.waste.code, day)
            start = first[key]
            first[key] = start + batch.count
            batch_codes = [codes.build_code(uscc=organization.uscc, waste_code=batch.waste.code, day=day,
                                            sequence=n, digits=digits) for n in range(start, start + batch.count)]
            ids = [next(container_ids) for _n in range(batch.count)]
            rows, row_events, row_links = _rows(organization, batch, batch_codes, ids, event_ids,
                                                actor_id=actor_id, now=now)
            containers += rows
            events += row_events
            links += row_links
        bulk.table(Container).insert(containers)
        written = [event for own in events for event in own]
        bulk.table(ScanEvent).insert(written)
        signals.announce(written)
        entity_type = audit.entity_type_of(Container)
        audit.append_many([(entity_type, str(row["id"]), "recorded", link)
                          for row, link in zip(containers, links, strict=True)])
    return [RecordedContainer(row["id"], row["code"]) for row in containers]


def record_batch(*, scope: Scope, organization_id: int, waste_code: str, waste_name: str, physical_form: str,
                 packaging: str, net_weight_tonnes=None, volume_litres=None, site_id: int | None = None,
                 storage_site_id: int | None = None, storage_location: str = "", main_components: str = "",
                 produced_at=None, steps=FIVE_STEP_KINDS, count: int = 1, hazards=None, note: str = ""
                 ) -> list[Container]:
    """Record `count` containers of one waste as produced: 五即 in one go, or only the first steps.

    Each container gets its own code; hazards default to the catalog's; each step is a scan
    event carrying the container's net weight. Storing needs the weight and the code
    (life.TRANSITIONS); a weight needs the weighing step.
    """
    organization = _recording_organization(scope, organization_id)
    data = {"waste_code": waste_code, "waste_name": waste_name, "physical_form": physical_form,
            "packaging": packaging, "net_weight_tonnes": net_weight_tonnes, "volume_litres": volume_litres,
            "site_id": site_id, "storage_site_id": storage_site_id, "storage_location": storage_location,
            "main_components": main_components, "produced_at": produced_at, "steps": steps, "count": count,
            "hazards": hazards, "note": note}
    batch, errors = _validate_batch(_Context(organization, timezone.now()), data)
    if errors:
        raise ValidationFailed(_("the batch is not valid"), errors=errors)
    recorded = _record(organization, [batch], scope=scope)
    _refresh_after_recording(organization.pk)
    by_id = Container.objects.select_related("organization", "holder__region", "site", "storage_site", "waste") \
        .in_bulk([r.pk for r in recorded])
    return [by_id[r.pk] for r in recorded]


def bulk_record(*, scope: Scope, organization_id: int, batches: list[dict]) -> list[RecordedContainer]:
    """Record many batches of one unit at once (weighing stations, integrations): all or none.

    Each batch is a dict with record_batch's fields; errors name the batch ('batches.3.waste_code').
    Sequence numbers and ids are reserved in one go, rows are inserted in bulk, and the audit
    chain gets one link per container. Returns (pk, code) per container, in batch order.
    """
    organization = _recording_organization(scope, organization_id)
    if not batches:
        raise ValidationFailed(_("no batches"), errors=[{"field": "batches", "message": _("is required")}])
    context = _Context(organization, timezone.now())
    parsed, errors = [], []
    for index, data in enumerate(batches):
        batch, batch_errors = _validate_batch(context, data, prefix=f"batches.{index}.")
        parsed.append(batch)
        errors += batch_errors
    if errors:
        raise ValidationFailed(_("%(n)d of %(total)d batches are not valid")
                               % {"n": len({e["field"].split(".")[1] for e in errors}), "total": len(batches)},
                               errors=errors)
    recorded = _record(organization, parsed, scope=scope)
    _refresh_after_recording(organization.pk)
    return recorded


def refresh_recorded_generation(organization_ids=None, *, today: dt.date | None = None) -> dict[str, int]:
    """Count what the units generated (weights.recorded_generation) and hand it to the registry's class.

    Called for the recording unit after each batch (one grouped query for it) and for every unit
    by `wufei supervision refresh`, daily (the running twelve months move with the calendar).
    Call it outside the transaction that wrote the events where there is one, as here: it locks
    the units' rows before counting, and a class change appends to the audit chain.
    """
    today = today or timezone.localdate()
    return set_recorded_generation(measure=lambda ids: weights.recorded_generation(ids, today=today), as_of=today,
                                   organization_ids=organization_ids)


def _refresh_after_recording(organization_id: int) -> None:
    """Refresh one unit's recorded quantities once its containers are saved; a lock conflict does not undo them.

    The containers are committed by then (or, inside a caller's transaction, kept by the savepoint
    set_recorded_generation rolls back to): a deadlock or lock timeout with a concurrent change of the
    unit is logged, and the next batch or the daily `wufei supervision refresh` counts them.
    """
    try:
        refresh_recorded_generation([organization_id])
    except OperationalError:
        logger.warning("recorded generation of organization %s not refreshed", organization_id, exc_info=True)
