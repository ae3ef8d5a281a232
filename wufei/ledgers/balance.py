"""Mass balance (per organization, year and waste code), as of the year end or now if the year
is not over:
  expected closing = opening + generated + received − transferred − self-utilized − self-disposed
  actual stock = Σ net weight of containers held by O in a status of tracking.life.IN_STOCK
  (for the current year the containers' recorded status and holder; for a past year their
  status and weight at the year end, reconstructed from their events).
Every difference is broken down per container into records: weight adjustments (events with
a discrepancy flag or a weight change while O held the container), repackaging differences
(merged / split weights that do not add up), containers whose status or holder contradicts
their last event, the difference carried from before the year; plus records that do not
move the numbers: containers never weighed and handed-over containers never received. A
code is balanced when |actual − expected| <= 0.000001 t and no container is unweighed or
contradicts its events.
"""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Exists,
    OuterRef,
    Q,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog.models import HazardousWaste
from wufei.core.scope import Scope
from wufei.ledgers.compute import (
    FIGURES,
    FLOW_FIELD,
    INFLOWS,
    REPACKAGING,
    SIX,
    STOCK_STATES,
    TOLERANCE,
    ZERO,
    check_year,
    compute_ledger,
    is_transit_hop,
    month_starts,
)
from wufei.ledgers.containers import Event, History, container_ids, read_histories
from wufei.ledgers.selectors import ledger_is_current, organization_for
from wufei.tracking.life import IN_STOCK
from wufei.tracking.models import Container, ContainerOrigin, ScanEvent
from wufei.tracking.models import ScanKind as K

# --- mass balance ------------------------------------------------------------------------------

# record types that make a code unbalanced whatever the numbers say ("not_received" and
# "received_weight" are information; the others carry the amounts behind a difference)
BLOCKING = frozenset({"unweighed", "status_contradiction", "unexplained"})


def _record(kind: str, history: History | None, amount: Decimal | None, message: str, *, event: Event | None = None,
            **detail) -> dict:
    return {
        "type": kind,
        "container": history.container.code if history else "",
        "container_id": history.container.pk if history else None,
        "event_id": event.id if event else None,
        "event_kind": event.kind if event else "",
        "occurred_at": event.occurred_at if event else None,
        "amount": amount.quantize(SIX) if isinstance(amount, Decimal) else None,
        "message": message,
        **detail,
    }


def _t(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.quantize(SIX)}"


@dataclass
class _Balance:
    """One waste code's side of the mass balance while it is being put together."""

    figures: dict
    actual_stock: Decimal = ZERO
    stock_at_start: Decimal = ZERO
    records: list[dict] = field(default_factory=list)


def _lineage(histories: dict[int, History]) -> dict[int, list[str]]:
    """Codes of the containers each package was made from (merge: its sources; split: the source)."""
    packages = [h.container for h in histories.values() if h.repackaged]
    sources: dict[int, list[str]] = defaultdict(list)
    merged = [c.pk for c in packages if c.origin == ContainerOrigin.MERGED]
    for parent_id, code in Container.objects.filter(parent_id__in=merged).order_by("code").values_list(
            "parent_id", "code"):
        sources[parent_id].append(code)
    split_from = {c.split_from_id for c in packages if c.split_from_id}
    codes = dict(Container.objects.filter(pk__in=split_from).values_list("pk", "code"))
    for container in packages:
        if container.split_from_id:
            sources[container.pk].append(codes.get(container.split_from_id, ""))
    return sources


def _repackaging_message(history: History, sources: list[str]) -> str:
    if history.container.origin == ContainerOrigin.MERGED:
        return _("package made by merging %(sources)s") % {"sources": ", ".join(sources) or "—"}
    return _("package split from %(source)s") % {"source": ", ".join(sources) or "—"}


def _contradiction(history: History, organization_id: int) -> str:
    """Why the container's recorded status or holder contradicts its events ('' when it does not)."""
    container = history.container
    if container.origin == ContainerOrigin.PRODUCED and not any(e.kind == K.PRODUCED for e in history.events):
        return _("no 'produced' event is recorded for this container")
    expected = history.expected_status()
    if expected is not None and expected != container.status:
        return _("its status is %(status)s but its last event is %(event)s") % {
            "status": container.status, "event": history.last_status_event().kind}
    status, custodian = history.state_at(None)
    if (container.status in IN_STOCK and status in STOCK_STATES and custodian != container.holder_id
            and organization_id in (custodian, container.holder_id)):
        return _("its holder is not the organization its events name")
    return ""


def _container_balance(history: History, org: int, start: dt.datetime, end: dt.datetime, current: bool,
                       sources: dict[int, list[str]]) -> tuple[Decimal, Decimal, list[dict], bool]:
    """(stock at start, stock at end, records, relevant) of one container for organization `org`.

    The records' amounts add up to this container's part of the difference:
    (stock at end − stock at start) − (its flows in the year).
    """
    container = history.container
    stock_start = (history.weight_before(start) or ZERO) if history.in_stock_of(org, start) else ZERO
    if current:
        in_stock_end = container.holder_id == org and container.status in IN_STOCK and container.produced_at < end
        stock_end = (container.net_weight_tonnes or ZERO) if in_stock_end else ZERO
    else:
        in_stock_end = history.in_stock_of(org, end)
        stock_end = (history.weight_before(end) or ZERO) if in_stock_end else ZERO
    flows = ZERO
    explained = ZERO
    generated_here = False
    records: list[dict] = []
    for index, event in enumerate(history.events):
        if not start <= event.occurred_at < end:
            continue
        weight = event.weight_at or ZERO
        if event.kind == K.PRODUCED and container.organization_id == org and not history.repackaged:
            flows += weight
            generated_here = True
        if event.organization_id == org and event.kind in FLOW_FIELD and not is_transit_hop(event):
            flows += weight if FLOW_FIELD[event.kind] in INFLOWS else -weight
        held = event.custodian_before == org
        changed = (event.weight is not None and event.previous_weight is not None
                   and event.weight != event.previous_weight)
        if event.kind == K.RECEIVED:
            if (changed or event.discrepancy) and (event.organization_id == org or any(
                    e.kind == K.HANDED_OVER and e.organization_id == org for e in history.events[:index])):
                records.append(_record(
                    "received_weight", history, None, _("received as %(after)s t, recorded before as %(before)s t") % {
                        "before": _t(event.previous_weight), "after": _t(event.weight_at)}, event=event,
                    weight_before=event.previous_weight, weight_after=event.weight_at))
        elif held and (changed or event.discrepancy) and not history.is_creation(event):
            delta = event.weight - event.previous_weight if changed else ZERO
            explained += delta
            records.append(_record(
                "reweigh", history, delta, _("weight changed from %(before)s t to %(after)s t") % {
                    "before": _t(event.previous_weight), "after": _t(event.weight if changed else event.weight_at)},
                event=event, weight_before=event.previous_weight, weight_after=event.weight_at,
                expected_weight=event.expected_weight, discrepancy=event.discrepancy))
        if history.is_creation(event):
            if event.organization_id == org:
                explained += weight
                records.append(_record("repackaging", history, weight,
                                       _repackaging_message(history, sources.get(container.pk, [])), event=event,
                                       sources=sources.get(container.pk, [])))
        elif event.kind in REPACKAGING and held:
            explained -= weight
            records.append(_record("repackaging", history, -weight, _("repackaged (source container)"), event=event,
                                   sources=[]))
    if history.repackaged and not history.created_by_event and start <= history.created_at < end and (
            history._initial()[1] == org):
        weight = history.first_weight or ZERO
        explained += weight
        record = _record("repackaging", history, weight, _repackaging_message(history, sources.get(container.pk, [])),
                         event=history.events[0] if history.events else None, sources=sources.get(container.pk, []))
        record["occurred_at"] = history.created_at
        records.append(record)
    remainder = (stock_end - stock_start) - flows - explained
    contradiction = _contradiction(history, org) if current and (
        in_stock_end or stock_start or flows or container.holder_id == org) else ""
    if abs(remainder) > TOLERANCE or contradiction:
        last = history.last_status_event()
        records.append(_record(
            "status_contradiction", history, remainder,
            contradiction or _("its stock record disagrees with its events"), event=last,
            status=container.status, holder_id=container.holder_id))
    if history.never_weighed and (generated_here or in_stock_end or stock_start):
        records.append(_record("unweighed", history, None, _("produced but never weighed")))
    for index, event in enumerate(history.events):
        if (event.kind == K.HANDED_OVER and event.organization_id == org and start <= event.occurred_at < end
                and not is_transit_hop(event) and not any(e.kind == K.RECEIVED for e in history.events[index + 1:])):
            records.append(_record("not_received", history, None, _("handed over but never received"), event=event,
                                   weight=event.weight_at))
    relevant = bool(records or stock_end or stock_start or flows)
    return stock_start, stock_end, records, relevant


def mass_balance(scope: Scope, organization_id: int, year: int, *, now: dt.datetime | None = None) -> dict:
    """Opening + generated + received − transferred − self-processed against the stock, per waste code.

    Returns {"organization", "year", "as_of", "ledger_current", "balanced", "codes": [...]}; each
    code has the ledger's figures, expected_closing, actual_stock, difference (actual − expected),
    balanced, and the records behind the difference: their amounts (where a record has one)
    add up to the difference (see the module docstring). `now` (default: the clock) decides
    whether the year is over.
    """
    organization = organization_for(scope, organization_id)
    year = check_year(year)
    org = organization.pk
    starts = month_starts(year)
    start, end = starts[0], starts[12]
    now = now or timezone.now()
    current = end > now
    as_of = now if current else end

    computed = compute_ledger(year=year, organization_ids=[org])
    balances: dict[str, _Balance] = {}

    def balance_of(waste_id: str) -> _Balance:
        if waste_id not in balances:
            balances[waste_id] = _Balance({name: ZERO for name in FIGURES})
        return balances[waste_id]

    for (_org, waste_id, _month), values in sorted(computed.items()):
        new = waste_id not in balances
        figures = balance_of(waste_id).figures
        if new:
            figures["opening_stock"] = values["opening_stock"]
        for name in FIGURES[1:-1]:
            figures[name] += values[name]
        figures["closing_stock"] = values["closing_stock"]

    in_year = {"occurred_at__gte": start, "occurred_at__lt": end}
    ids = container_ids(ScanEvent.objects.filter(organization_id=org, **in_year))
    ids |= container_ids(ScanEvent.objects.filter(kind=K.PRODUCED, container__organization_id=org, **in_year))
    later = ScanEvent.objects.filter(container_id=OuterRef("container_id"), occurred_at__gte=start)
    ids |= container_ids(ScanEvent.objects.filter(organization_id=org, occurred_at__lt=start).filter(
        Q(container__status__in=list(IN_STOCK)) | Q(Exists(later))))
    ids |= set(Container.objects.filter(holder_id=org, status__in=list(IN_STOCK), produced_at__lt=end)
               .values_list("pk", flat=True))
    histories = read_histories(ids)
    sources = _lineage(histories)

    for history in histories.values():
        stock_start, stock_end, records, relevant = _container_balance(history, org, start, end, current, sources)
        if relevant:
            balance = balance_of(history.container.waste_id)
            balance.stock_at_start += stock_start
            balance.actual_stock += stock_end
            balance.records.extend(records)

    wastes = {w.code: w for w in HazardousWaste.objects.filter(code__in=list(balances))}
    codes = []
    for waste_id, balance in sorted(balances.items()):
        figures = balance.figures
        expected = figures["closing_stock"]
        actual = balance.actual_stock.quantize(SIX)
        difference = (actual - expected).quantize(SIX)
        records = sorted(balance.records, key=lambda r: (r["occurred_at"] or as_of, r["container"], r["type"]))
        carried = (balance.stock_at_start - figures["opening_stock"]).quantize(SIX)
        if abs(carried) > TOLERANCE:
            records.insert(0, _record("carried", None, carried,
                                      _("difference between the stock and the ledger at the start of the year")))
        unexplained = difference - sum((r["amount"] for r in records if r["amount"] is not None), ZERO)
        if abs(unexplained) > TOLERANCE:
            records.append(_record("unexplained", None, unexplained, _("difference that no record explains")))
        waste = wastes.get(waste_id)
        codes.append({
            "waste": waste_id,
            "category": waste.category_id if waste else "",
            "description": waste.description if waste else "",
            **{name: figures[name] for name in ("opening_stock", "generated", "received_in", "transferred_out",
                                                "self_utilized", "self_disposed", "utilized", "disposed")},
            "expected_closing": expected,
            "actual_stock": actual,
            "difference": difference,
            "balanced": abs(difference) <= TOLERANCE and not any(r["type"] in BLOCKING for r in records),
            "records": records,
        })
    return {
        "organization": organization,
        "year": year,
        "as_of": as_of,
        "ledger_current": ledger_is_current(org, year, computed),
        "balanced": all(c["balanced"] for c in codes),
        "codes": codes,
    }


