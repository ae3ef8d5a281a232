"""The scan: run every enabled rule per region partition, open new alerts, keep the open ones, close or
mark the cleared ones. Incremental, idempotent, safe to run twice or twice at once.

* Partitions. A rule's parameters and level may differ per region (RuleOverride rows, and the
  platform parameters it shares, which have their own region overrides). The regions that have
  any override cut the country into partitions: each override region's subtree minus the deeper
  override subtrees inside it, and the rest. Each partition runs the rule's query once with its
  own values; with no overrides that is one query per rule.
* Incremental. Rules whose condition only changes when their row changes (`incremental`) look at
  rows changed since the previous run's watermark (minus a margin for transactions that were
  still open); time-driven rules (storage age, deadlines, expiry) are selective queries and run
  whole. The open alerts of a rule are always re-checked by id, so auto-close never depends on the
  watermark. A rule whose settings (Rule, RuleOverride, shared Parameter rows) changed since the
  watermark re-reads everything once. `--full` ignores the watermark.
* Idempotent. An entity with an open alert of the rule gets no second one (a partial unique
  constraint also says so, so a concurrent scan that loses the race skips the row).
* Judged facts hold. The facts of a hit are the evidence keys its rule names (`RuleSpec.facts`);
  an open alert's evidence follows them while it is open, so a closure judges the facts as they were
  when the regulator closed it. An entity whose alert of the rule was judged a false positive is not
  alerted again by the rule; one whose alert a regulator closed is alerted again only when its facts
  differ from the closed alert's, and the new alert links to the closed one as its recurrence. An
  alert that closed itself (its condition cleared) holds nothing back: a return of the condition is a
  recurrence.
* Crash-safe. New alerts open in chunks, each committed with its audit events and notifications or not at all;
  a closure or a change of facts commits with its own; the watermark moves only when the scan ends. A scan
  killed half-way leaves whole alerts, and the next one (from the previous watermark) does the rest.
* Clearing. When the condition clears, the alert closes itself if its rule says so (auto_close),
  else it stays open with `cleared_at` set, for the regulator to close.
"""

import datetime as dt
import logging
import time
from dataclasses import dataclass, field, replace

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from wufei.alerts import rules as table
from wufei.alerts import services
from wufei.alerts.models import ACTIVE, ENDED, Alert, Rule, RuleOverride, ScanRun, Status
from wufei.alerts.services import CLEARED
from wufei.catalog.models import Region
from wufei.core import audit, parameters
from wufei.core.models import Parameter
from wufei.core.scope import Scope
from wufei.ledgers import upkeep

log = logging.getLogger(__name__)
MARGIN = dt.timedelta(minutes=5)
CHUNK = 2000
OPEN_CHUNK = 200


def ensure_rules() -> list[Rule]:
    """Create the Rule row of every rule in rules.py that has none (existing rows are never reset)."""
    existing = set(Rule.objects.values_list("pk", flat=True))
    with audit.acting_as("alerts"):
        for spec in table.RULES:
            if spec.id not in existing:
                Rule(id=spec.id, description=spec.description, level=spec.level, parameters=dict(spec.defaults),
                     auto_close=spec.auto_close, source=spec.source).save()
    return list(Rule.objects.all())


@dataclass
class Context:
    now: dt.datetime
    today: dt.date
    since: dt.datetime | None
    admin: Scope = field(default_factory=lambda: Scope(is_platform_admin=True))
    cache: dict = field(default_factory=dict)


@dataclass
class Partition:
    region: Region | None
    params: dict
    level: str
    enabled: bool
    excluded: tuple[str, ...] = ()
    storage: object = None

    def q(self, lookup: str) -> Q:
        query = Q(**{f"{lookup}__startswith": self.region.path}) if self.region is not None else Q()
        for path in self.excluded:
            query &= ~Q(**{f"{lookup}__startswith": path})
        return query

    def covers(self, path: str) -> bool:
        inside = self.region is None or path.startswith(self.region.path)
        return inside and not any(path.startswith(p) for p in self.excluded)


def partitions(rule: Rule, spec: table.RuleSpec) -> list[Partition]:
    overrides = {o.region_id: o for o in RuleOverride.objects.filter(rule=rule)}
    codes = set(overrides)
    if spec.shared:
        codes |= set(Parameter.objects.filter(key__in=spec.shared).exclude(region_code="").values_list(
            "region_code", flat=True))
    regions = {r.code: r for r in Region.objects.filter(code__in=codes)}
    result = []
    for region in [None, *sorted(regions.values(), key=lambda r: r.path)]:
        chain = [] if region is None else [c for c in region.path.split("/") if c]
        params = {**spec.defaults, **rule.parameters}
        level, enabled = rule.level, rule.enabled
        for code in chain:
            override = overrides.get(code)
            if override is not None:
                params.update(override.parameters)
                level = override.level or level
                enabled = enabled if override.enabled is None else override.enabled
        for key in spec.shared:
            params[key] = parameters.get(key, region)
        inner = tuple(r.path for r in regions.values() if (region is None or (
            r.path.startswith(region.path) and r.path != region.path)))
        inner = tuple(p for p in inner if not any(p.startswith(o) and p != o for o in inner))
        part = Partition(region=region, params=params, level=level, enabled=enabled, excluded=inner)
        if spec.id.startswith(("storage.", "medical.")):
            from wufei.tracking.services import storage_limits

            part.storage = storage_limits(region)
        result.append(part)
    return result


def _settings_changed(rule: Rule, spec, since) -> bool:
    """Whether the rule's values changed since the watermark: then the rule re-reads everything once."""
    if since is None:
        return False
    return (rule.updated_at >= since or RuleOverride.objects.filter(rule=rule, updated_at__gte=since).exists()
            or bool(spec.shared) and Parameter.objects.filter(key__in=spec.shared, updated_at__gte=since).exists())


def _last_watermark():
    return ScanRun.objects.filter(finished_at__isnull=False).order_by("-started_at").values_list(
        "watermark", flat=True).first()


def scan(*, now: dt.datetime | None = None, full: bool = False, rule_ids=None, notify: bool = True) -> dict:
    """Run the rules; returns {rule: {"hits", "opened", "open", "closed", "cleared", "seconds"}}."""
    started = timezone.now()
    now = now or started
    upkeep.ensure_current()  # the ledger rules read the months the queue may not have caught up with yet
    rules = {r.pk: r for r in ensure_rules()}
    since = None if full else _last_watermark()
    ctx = Context(now=now, today=timezone.localtime(now).date(), since=since)
    run = ScanRun.objects.create(started_at=started, full=since is None)
    counts = {}
    for spec in table.RULES:
        if rule_ids and spec.id not in rule_ids:
            continue
        rule = rules[spec.id]
        clock = time.perf_counter()
        counts[spec.id] = result = {"hits": 0, "opened": 0, "open": 0, "closed": 0, "cleared": 0}
        parts = partitions(rule, spec)
        rule_ctx = replace(ctx, since=None) if _settings_changed(rule, spec, since) else ctx
        hits: dict[str, tuple] = {}
        for part in parts:
            if not part.enabled:
                continue
            for hit in spec.check(rule_ctx, part, None):
                hits[hit.entity_id] = (hit, part)
        open_rows = Alert.objects.filter(rule=rule, status__in=ACTIVE).values_list("entity_id", "pk", "evidence")
        active = {entity: pk for entity, pk, _evidence in open_rows}
        open_facts = {entity: spec.facts_of(evidence) for entity, _pk, evidence in open_rows}
        if active:  # re-check the entities of open alerts whatever the watermark
            missing = [entity for entity in active if entity not in hits]
            for part in parts:
                if not part.enabled:
                    continue
                for start in range(0, len(missing), CHUNK):
                    for hit in spec.check(ctx, part, missing[start:start + CHUNK]):
                        if part.covers(_region_path(hit.region_id)):
                            hits.setdefault(hit.entity_id, (hit, part))
        result["hits"] = len(hits)
        new = [entity for entity in hits if entity not in active]
        judged = _judged(rule, new)
        with audit.acting_as("alerts-scan"):
            to_open = []
            for entity in new:
                hit, part = hits[entity]
                earlier = judged.get(entity)
                if earlier is not None and _holds(spec, earlier, hit):
                    result["held"] = result.get("held", 0) + 1
                    continue
                to_open.append((hit, part, earlier))
            result["opened"] = _open_all(rule, spec, to_open, now, notify=notify)
            seen = [pk for entity, pk in active.items() if entity in hits]
            for start in range(0, len(seen), CHUNK):
                Alert.objects.filter(pk__in=seen[start:start + CHUNK]).update(last_seen_at=now, cleared_at=None)
            _follow_facts(spec, {active[e]: hits[e][0] for e in active if e in hits
                                 and spec.facts_of(hits[e][0].evidence) != open_facts[e]})
            gone = [pk for entity, pk in active.items() if entity not in hits] if any(p.enabled for p in parts) else []
            for alert in Alert.objects.filter(pk__in=gone, status__in=ACTIVE):
                if rule.auto_close:
                    with transaction.atomic():  # the closure and its notification, or neither
                        services.close_by_system(alert=alert, now=now, announce=notify)
                    result["closed"] += 1
                elif alert.cleared_at is None:
                    alert.cleared_at = now
                    alert.save(audit_action="cleared", audit_note=CLEARED)
                    result["cleared"] += 1
        result["open"] = len(seen) + result["opened"]
        result["seconds"] = round(time.perf_counter() - clock, 3)
    run.finished_at = timezone.now()
    run.watermark = since if rule_ids else started - MARGIN  # a partial run does not move the watermark
    run.counts = counts
    run.save()
    return counts


_REGION_PATHS: dict[str, str] = {}


def _region_path(code: str) -> str:
    if code not in _REGION_PATHS:
        _REGION_PATHS[code] = Region.objects.filter(pk=code).values_list("path", flat=True).first() or ""
    return _REGION_PATHS[code]


def _judged(rule: Rule, entities: list[str]) -> dict[str, Alert]:
    """The latest ended alert of the rule for each entity (one query per CHUNK entities)."""
    latest: dict[str, Alert] = {}
    for start in range(0, len(entities), CHUNK):
        for alert in Alert.objects.filter(rule=rule, status__in=ENDED, entity_id__in=entities[start:start + CHUNK]
                                          ).order_by("closed_at", "pk").only(
                "pk", "entity_id", "status", "evidence", "closed_by_system", "closed_at"):
            latest[alert.entity_id] = alert
    return latest


def _holds(spec, earlier: Alert, hit) -> bool:
    """Whether an ended alert still answers for this hit: see the module docstring."""
    if earlier.status == Status.FALSE_POSITIVE:
        return True
    if earlier.closed_by_system:
        return False
    return spec.facts_of(earlier.evidence) == spec.facts_of(hit.evidence)


def _follow_facts(spec, changed: dict[int, object]) -> None:
    """Open alerts whose facts changed take the new evidence (audited: the closure will judge these facts)."""
    for alert in Alert.objects.filter(pk__in=list(changed)):
        hit = changed[alert.pk]
        before = spec.facts_of(alert.evidence)
        with transaction.atomic():  # the new evidence and its audit event, or neither
            Alert.objects.filter(pk=alert.pk).update(evidence=hit.evidence, entity_label=hit.label[:200])
            audit.record(entity=alert, action="facts_changed", payload={
                "before": before, "after": spec.facts_of(hit.evidence)})


def _open_all(rule: Rule, spec, to_open: list[tuple], now, *, notify: bool) -> int:
    """Open the new alerts, OPEN_CHUNK at a time: each chunk commits with its audit events and its notifications
    or not at all, so a scan stopped half-way (a crash, a kill) leaves no alert that nobody was told of, and the
    next scan opens the rest (the watermark moves only when a scan ends). The chain's head is locked first: a
    concurrent scan waits for the whole chunk instead of deadlocking on an alert both are opening."""
    opened_count = 0
    for start in range(0, len(to_open), OPEN_CHUNK):
        with transaction.atomic():
            audit.lock_chain()
            opened = []
            for hit, part, earlier in to_open[start:start + OPEN_CHUNK]:
                alert = _open(rule, spec, hit, part, now, recurrence_of=earlier)
                if alert is not None:
                    opened.append(alert)
            if notify and opened:
                            services.notify_opened(opened)
        opened_count += len(opened)
    return opened_count


def _open(rule: Rule, spec, hit, part: Partition, now, recurrence_of: Alert | None = None) -> Alert | None:
    deadline_days = int(part.params.get("deadline_days", DEADLINE_DAYS.get(part.level, 15)))
    alert = Alert(rule=rule, level=part.level, entity_type=hit.entity_type, entity_id=hit.entity_id,
                  entity_label=hit.label[:200], organization_id=hit.organization_id, region_id=hit.region_id,
                  region_path=_region_path(hit.region_id), evidence=hit.evidence, opened_at=now, last_seen_at=now,
                  deadline=timezone.localtime(now).date() + dt.timedelta(days=deadline_days),
                  longitude=hit.longitude, latitude=hit.latitude, recurrence_of=recurrence_of)
    try:
        with transaction.atomic():
            alert.save(audit_action="opened")
    except IntegrityError:  # a concurrent scan opened it first
        return None
    return alert


DEADLINE_DAYS = {"red": 3, "orange": 7, "yellow": 15, "blue": 30}
