"""The enterprise workspace's to-do list: per unit the caller acts for, what waits for the unit, with a link.

Read-side only: every figure comes from the owning apps' selectors and rules, narrowed to the caller's
scope and to one unit —
- containers near / over the storage limit: `tracking.services.storage_limits` (the `storage.*`
  parameters in force for the unit's region) and the same boundaries as `tracking.services.storage_state`;
- manifests waiting for the unit's signature: for every signed step of `manifests.machine.STEPS`, the
  manifests in a status the step may follow whose signing party (`services.party_for_step`) is the unit;
  loads in transit past the receipt deadline (`manifest.receipt_working_days`) are overdue;
- the management plan of this year and the annual declaration of last year (due dates: the `plan.due` and
  `declaration.due` parameters through the ledgers app's own helpers);
- alerts about the unit that the regulator has put into verification or rectification;
- revisions of the unit's manifests waiting for the unit's approval;
- for the unit's administrators: a gate signing code to set again (set before codes had 6 digits).

Items carry what, how many, the deadline (when there is one), whether it is overdue, and where it is done.
"""

import dataclasses
import datetime as dt
from urllib.parse import urlencode

from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wufei.catalog import streams
from wufei.core import parameters
from wufei.core.scope import Scope
from wufei.registry.models import Organization

SAMPLE = 5  # manifests / revisions named under an item (the count covers them all)
LABEL_BATCH = 200  # tracking.labels.MAX_BATCH: the labels one print request takes

# what the unit does at each signed step, in the machine's order
STEP_TITLES = {
    "submit": gettext_lazy("Drafts to sign and submit (as generator)"),
    "pickup": gettext_lazy("Loads to pick up (as carrier)"),
    "handover": gettext_lazy("Loads to take over from the previous carrier"),
    "receive": gettext_lazy("Loads to check in (as receiver)"),
    "process": gettext_lazy("Utilization / disposal to record (as receiver)"),
}
# steps a carrier's drivers sign too (manifests.services._signer: any member signs pickup and handover)
ANY_MEMBER_STEPS = ("pickup", "handover")


@dataclasses.dataclass
class Entry:
    """One manifest or revision named under an item."""

    label: str
    url: str
    deadline: dt.date | None = None
    overdue: bool = False


@dataclasses.dataclass
class TodoItem:
    key: str
    title: str
    count: int
    url: str
    deadline: dt.date | None = None
    overdue: bool = False
    note: str = ""
    entries: list[Entry] = dataclasses.field(default_factory=list)


def unit_scope(scope: Scope, organization_id: int) -> Scope:
    """The caller's scope narrowed to one of its units (no region, no platform-wide view)."""
    only = frozenset({organization_id})
    return dataclasses.replace(scope, organization_ids=scope.organization_ids & only,
                               writable_organization_ids=scope.writable_organization_ids & only,
                               admin_organization_ids=scope.admin_organization_ids & only,
                               region_paths=(), region_codes=(), department_ids=frozenset(),
                               is_platform_admin=False)


def _url(name: str, *args, query: dict | None = None) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


# --- storage --------------------------------------------------------------------------------------

def storage_items(scope: Scope, organization: Organization, now: dt.datetime) -> list[TodoItem]:
    from wufei.tracking import services as tracking

    limits = tracking.storage_limits(organization.region)
    kinds = {stream.key: (stream.q("waste__code"), *limits.for_stream(stream.key))
             for stream in streams.all_streams() if stream.storage is not None}
    over = Q(pk__in=[])
    near = Q(pk__in=[])
    oldest = {}
    for key, (kind, limit, warning) in kinds.items():  # the boundaries of tracking.services.storage_state
        over |= kind & Q(since__lt=now - limit)
        near |= kind & Q(since__gte=now - limit, since__lt=now - (limit - warning))
        oldest[f"over_{key}"] = Min("since", filter=kind & Q(since__lt=now - limit))
        oldest[f"near_{key}"] = Min("since", filter=kind & Q(since__gte=now - limit,
                                                             since__lt=now - (limit - warning)))
    # one aggregate over the unit's stock: counts, and the oldest of each stream to tell the first deadline
    figures = (tracking.containers_for(scope, holder=organization.pk, in_stock=True).order_by()
               .annotate(since=Coalesce("stored_at", "produced_at"))
               .aggregate(over=Count("pk", filter=over), near=Count("pk", filter=near), **oldest))
    url = _url("tracking:inventory", query={"organization": organization.pk})
    items = []
    for key, state, title, note in (
        ("storage_over", "over", gettext_lazy("Containers over the storage limit"),
         gettext_lazy("Stored longer than the law allows: transfer them now.")),
        ("storage_near", "near", gettext_lazy("Containers close to the storage limit"),
         gettext_lazy("Transfer them on a manifest before the limit.")),
    ):
        if not figures[state]:
            continue
        reached = [figures[f"{state}_{key}"] + limit for key, (_kind, limit, _warning) in kinds.items()
                   if figures[f"{state}_{key}"] is not None]
        items.append(TodoItem(key=key, title=str(title), count=figures[state], url=url,
                              deadline=timezone.localtime(min(reached)).date() if reached else None,
                              overdue=state == "over", note=str(note)))
    return items


# --- manifests ------------------------------------------------------------------------------------

def _receipt_deadline(picked_up_at: dt.datetime, region) -> dt.date:
    """The last day to confirm receipt: picked-up day + manifest.receipt_working_days working days."""
    days = int(parameters.get("manifest.receipt_working_days", region))
    day = timezone.localtime(picked_up_at).date()
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def _manifest_label(manifest) -> str:
    number = manifest.number or _("draft #%(id)s") % {"id": manifest.pk}
    return f"{number} · {manifest.generator.name} → {manifest.receiver.name}"


def manifest_items(scope: Scope, organization: Organization, now: dt.datetime) -> list[TodoItem]:
    from wufei.manifests import machine
    from wufei.manifests import services as manifests

    items = []
    own = unit_scope(scope, organization.pk)
    for step in machine.SIGNED_STEPS:
        rule = machine.STEPS[step]
        writers = own.organization_ids if step in ANY_MEMBER_STEPS else own.writable_organization_ids
        if organization.pk not in writers:
            continue
        candidates = manifests.manifests_for(own).filter(status__in=rule.allowed_from)
        if rule.party == "generator":
            candidates = candidates.filter(generator_id=organization.pk)
        elif rule.party == "receiver":
            candidates = candidates.filter(receiver_id=organization.pk)
        else:
            candidates = candidates.filter(legs__transporter_id=organization.pk).distinct()
        if step == "process":
            candidates = candidates.exclude(purpose__in=manifests.NO_PROCESSING)
        waiting = []
        for manifest in candidates.order_by("created_at", "pk")[:500]:
            party = manifests.party_for_step(manifest, step, quiet=True)
            if party is None or party.pk != organization.pk:
                continue
            deadline, overdue = None, False
            if manifest.status in machine.ON_THE_ROAD and manifest.picked_up_at is not None:
                deadline = _receipt_deadline(manifest.picked_up_at, manifest.receiver.region)
                overdue = manifests.is_overdue(manifest, now)
            waiting.append(Entry(label=_manifest_label(manifest),
                                 url=_url("manifests:sign", manifest.pk, step), deadline=deadline, overdue=overdue))
        if not waiting:
            continue
        waiting.sort(key=lambda e: (not e.overdue, e.deadline or dt.date.max))
        if step in ("pickup", "receive"):
            url = _url("manifests:bulk_sign", query={"step": step})
        elif len(waiting) == 1:
            url = waiting[0].url
        else:
            url = _url("manifests:list", query={"organization": organization.pk,
                                                "status": sorted(rule.allowed_from)[0]})
        deadlines = [e.deadline for e in waiting if e.deadline]
        items.append(TodoItem(key=f"manifest_{step}", title=str(STEP_TITLES[step]), count=len(waiting), url=url,
                              deadline=min(deadlines) if deadlines else None,
                              overdue=any(e.overdue for e in waiting), entries=waiting[:SAMPLE]))
    return items


def revision_items(scope: Scope, organization: Organization) -> list[TodoItem]:
    from wufei.manifests.models import Revision, RevisionStatus

    if organization.pk not in scope.writable_organization_ids:
        return []
    own = unit_scope(scope, organization.pk)
    pending = (Revision.objects.visible_to(own).filter(status=RevisionStatus.PENDING)
               .select_related("manifest__generator", "manifest__receiver", "requested_by").order_by("created_at"))
    waiting = [r for r in pending[:500] if organization.pk in r.approvers and organization.pk not in r.approvals]
    if not waiting:
        return []
    entries = [Entry(label=f"{_manifest_label(r.manifest)} · {r.requested_by.name}",
                     url=_url("manifests:detail", r.manifest_id) + "#revisions") for r in waiting]
    return [TodoItem(key="revisions", title=_("Manifest revisions awaiting your approval"), count=len(waiting),
                     url=entries[0].url if len(entries) == 1 else _url("manifests:list",
                                                                        query={"organization": organization.pk}),
                     entries=entries[:SAMPLE])]


def signing_code_items(scope: Scope, organization: Organization) -> list[TodoItem]:
    from wufei.manifests import services as manifests

    if organization.pk not in scope.admin_organization_ids or not manifests.signing_codes_to_renew([organization.pk]):
        return []
    return [TodoItem(key="signing_code", title=_("Set a new gate signing code: codes now have at least 6 digits"),
                     count=1, url=_url("manifests:signing_code"))]


# --- plans and declarations -----------------------------------------------------------------------

def ledger_items(scope: Scope, organization: Organization, today: dt.date) -> list[TodoItem]:
    """This year's management plan and last year's declaration, for generators, until filed."""
    from wufei.ledgers import declarations, plans
    from wufei.ledgers.models import DeclarationStatus

    if not organization.is_generator or organization.status != Organization.Status.ACTIVE:
        return []
    items = []
    year = today.year
    plan_due = plans.due_date_from(parameters.get("plan.due", organization.region), year)
    unit_plans = plans.plans_for(scope, organization_id=organization.pk, year=year)
    if not unit_plans.filter(status__in=plans.FILED).exists():
        draft = unit_plans.order_by("-revision", "-pk").first()
        url = (_url("ledgers:plan_detail", draft.pk) if draft is not None
               else _url("ledgers:plan_list", query={"year": year}))
        items.append(TodoItem(
            key="plan", title=_("Management plan %(year)s to file") % {"year": year}, count=1, url=url,
            deadline=plan_due, overdue=today > plan_due,
            note=_("A draft is waiting to be submitted.") if draft is not None else _("No plan has been started.")))
    declared = year - 1
    declaration_due = declarations.declaration_due_date(organization, declared)
    unit_declarations = declarations.declarations_for(scope, organization_id=organization.pk, year=declared)
    if not unit_declarations.filter(status=DeclarationStatus.SUBMITTED).exists():
        draft = unit_declarations.first()
        url = (_url("ledgers:declaration_detail", draft.pk) if draft is not None
               else _url("ledgers:declaration_list", query={"year": declared}))
        items.append(TodoItem(
            key="declaration", title=_("Annual declaration %(year)s to submit") % {"year": declared}, count=1,
            url=url, deadline=declaration_due, overdue=today > declaration_due,
            note=_("A draft is waiting to be submitted.") if draft is not None
            else _("Draft it from the ledger.")))
    return items


# --- alerts ---------------------------------------------------------------------------------------

def alert_items(scope: Scope, organization: Organization, today: dt.date) -> list[TodoItem]:
    from wufei.alerts import services as alerts
    from wufei.alerts.models import Status

    own = unit_scope(scope, organization.pk)
    found = list(alerts.alerts_for(own, organization=organization.pk)
                 .filter(status__in=(Status.RECTIFYING, Status.VERIFYING)).order_by("deadline", "opened_at")[:500])
    if not found:
        return []
    entries = [Entry(label=f"{a.get_level_display()} · {a.message or a.entity_label or a.rule_id}",
                     url=_url("alerts:detail", a.pk), deadline=a.deadline,
                     overdue=a.deadline is not None and a.deadline < today) for a in found]
    entries.sort(key=lambda e: (not e.overdue, e.deadline or dt.date.max))
    deadlines = [e.deadline for e in entries if e.deadline]
    return [TodoItem(key="alerts", title=_("Alerts to rectify or answer"), count=len(entries),
                     url=entries[0].url if len(entries) == 1 else _url("alerts:board"),
                     deadline=min(deadlines) if deadlines else None, overdue=any(e.overdue for e in entries),
                     entries=entries[:SAMPLE])]


# --- the list and the quick actions ---------------------------------------------------------------

def todo_for(scope: Scope, organization: Organization, *, now: dt.datetime | None = None) -> list[TodoItem]:
    """Everything waiting for one of the caller's units: overdue first, then by deadline."""
    if organization.pk not in scope.organization_ids:
        return []
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    items = (storage_items(scope, organization, now) + manifest_items(scope, organization, now)
             + ledger_items(scope, organization, today) + alert_items(scope, organization, today)
             + revision_items(scope, organization) + signing_code_items(scope, organization))
    return sorted(items, key=lambda item: (not item.overdue, item.deadline or dt.date.max))


def quick_actions(scope: Scope, organization: Organization, *, recording_ids: set[int],
                  now: dt.datetime | None = None) -> list[dict]:
    """Buttons for a unit: record a batch, print today's labels, start a manifest, the carrier's and receiver's days."""
    from wufei.tracking import services as tracking

    actions = []
    if organization.pk in recording_ids:
        actions.append({"key": "record", "label": _("Record a batch"),
                        "url": _url("tracking:record", query={"organization": organization.pk})})
        now = now or timezone.now()
        start = timezone.make_aware(dt.datetime.combine(timezone.localtime(now).date(), dt.time.min))
        codes = list(tracking.containers_for(scope, organization=organization.pk, in_stock=True)
                     .filter(produced_at__gte=start).order_by("produced_at", "id")
                     .values_list("code", flat=True)[:LABEL_BATCH])
        if codes:
            actions.append({"key": "labels", "label": _("Print today's labels (%(n)d)") % {"n": len(codes)},
                            "url": _url("tracking:labels", query={"codes": ",".join(codes), "layout": "sheet"})})
        else:
            actions.append({"key": "labels", "label": _("Print labels"),
                            "url": _url("tracking:container_list", query={"organization": organization.pk})})
        actions.append({"key": "manifest", "label": _("Start a manifest"),
                        "url": _url("manifests:create", query={"generator": organization.pk})})
    if organization.is_transporter:
        actions.append({"key": "today", "label": _("Today's pickups"), "url": _url("manifests:today")})
    if organization.is_receiver and organization.pk in scope.writable_organization_ids:
        actions.append({"key": "check_in", "label": _("Loads to check in"),
                        "url": _url("manifests:bulk_sign", query={"step": "receive"})})
    return actions
