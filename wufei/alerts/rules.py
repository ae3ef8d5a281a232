"""The alert rules: a declarative table (id, level, parameters, region lookup, check) and their checks.

Each rule's row in the database (`Rule`) starts from its entry here; regulators change the level,
the parameters, whether it closes itself, or override them for a region (`RuleOverride`). Values
the platform already keeps as parameters (storage limits, the receipt deadline, the discrepancy
tolerance, the permit warning window, plan and declaration due dates) are not copied: a rule
names them in `shared` and reads them per region from `wufei.core.parameters`.

A check is set-based: one query per rule and region partition returns every entity that trips
it (`Hit`s), restricted to `ids` when the scan re-checks the entities of open alerts, and to rows
changed since the last scan (`ctx.since`) for the rules marked incremental (their condition only
changes when the row changes). Checks reuse the owning apps' selectors and definitions:
tracking's IN_STOCK and storage limits, manifests' overdue deadline, discrepancy flag and plan
warning, registry's permit coverage, ledgers' plans in force, required units and mass balance.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_noop

from wufei.alerts import geo
from wufei.alerts.models import Level, TrackPoint
from wufei.ledgers.models import AnnualDeclaration, DeclarationStatus, LedgerMonth, ManagementPlan, PlanStream
from wufei.manifests import services as manifest_services
from wufei.manifests.models import (
    Manifest,
    ManifestKind,
    ManifestLine,
    ManifestStatus,
    Purpose,
    Signature,
    TransportLeg,
)
from wufei.registry.models import OperatingPermit, Organization, PermitLine, Site, SupervisionClass, Vehicle
from wufei.tracking.models import Container, ScanEvent
from wufei.tracking.rules import IN_STOCK

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


@dataclass
class RuleSpec:
    id: str
    level: str
    description: str
    entity_type: str
    check: object
    defaults: dict = field(default_factory=dict)
    shared: tuple = ()
    auto_close: bool = False
    incremental: bool = False
    source: str = ""
    # The evidence keys that state the facts an alert judges (empty: all of them). Clock-driven figures
    # (ages, days left, percentages pro-rated to the day) and the rule's own thresholds are not facts: a
    # regulator's closure holds for the same facts, and a change in them opens a recurrence (scanner.py).
    facts: tuple = ()

    def facts_of(self, evidence: dict) -> dict:
        evidence = evidence or {}
        return {key: evidence.get(key) for key in self.facts} if self.facts else dict(evidence)


def _t(value) -> str:
    if value is None:
        return ""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _iso(value) -> str:
    return timezone.localtime(value).isoformat(timespec="minutes") if value else ""


def _ids(ids, numeric=True):
    return [int(i) for i in ids] if numeric else list(ids)


# --- storage (containers) -----------------------------------------------------------------------------

def _stock(ctx, part, ids, medical: bool):
    containers = Container.objects.filter(status__in=list(IN_STOCK)).filter(part.q("holder__region__path"))
    containers = containers.filter(waste__code__endswith="-01") if medical else containers.exclude(
        waste__code__endswith="-01")
    if ids is not None:
        containers = containers.filter(pk__in=_ids(ids))
    return containers.annotate(since=Coalesce("stored_at", "produced_at"))


def _container_hits(ctx, rows, limit, kind):
    hits = []
    for row in rows:
        age = ctx.now - row["since"]
        hits.append(Hit("container", str(row["pk"]), row["code"], row["holder_id"], row["holder__region_id"], {
            "container": row["code"], "waste": row["waste_id"], "tonnes": _t(row["net_weight_tonnes"]),
            "stored_since": _iso(row["since"]), "age_days": round(age.total_seconds() / 86400, 2),
            "limit_days": round(limit.total_seconds() / 86400, 2), "state": kind},
            row["storage_site__longitude"], row["storage_site__latitude"]))
    return hits


CONTAINER_VALUES = ("pk", "code", "holder_id", "holder__region_id", "waste_id", "since", "net_weight_tonnes",
                    "storage_site__longitude", "storage_site__latitude")


def check_storage_near(ctx, part, ids):
    """In stock longer than limit − warning window but not yet over the limit (medical: hours)."""
    hits = []
    for medical in (False, True):
        limit, warning = part.storage.for_waste("x-01" if medical else "x-00")
        rows = _stock(ctx, part, ids, medical).filter(since__lt=ctx.now - (limit - warning),
                                                      since__gte=ctx.now - limit)
        hits += _container_hits(ctx, rows.values(*CONTAINER_VALUES), limit, "near_limit")
    return hits


def check_storage_over(ctx, part, ids):
    limit, _warning = part.storage.for_waste("x-00")
    rows = _stock(ctx, part, ids, False).filter(since__lt=ctx.now - limit)
    return _container_hits(ctx, rows.values(*CONTAINER_VALUES), limit, "over_limit")


def check_medical_over(ctx, part, ids):
    limit, _warning = part.storage.for_waste("x-01")
    rows = _stock(ctx, part, ids, True).filter(since__lt=ctx.now - limit)
    return _container_hits(ctx, rows.values(*CONTAINER_VALUES), limit, "over_limit")


# --- manifests ------------------------------------------------------------------------------------------

MANIFEST_VALUES = ("pk", "number", "generator_id", "generator__region_id", "receiver_id", "receiver__region_id",
                   "shipped_tonnes", "status", "generator__longitude", "generator__latitude")


def _manifests(ctx, ids, lookup, incremental=False, part=None):
    """Manifests to check: the given ids; else (incremental rules) those changed since the last scan and
    submitted within the rule's lookback_days (older transfers are for inspections, not alerts)."""
    manifests = Manifest.objects.all()
    if ids is not None:
        return manifests.filter(pk__in=_ids(ids))
    if incremental and ctx.since is not None:
        manifests = manifests.filter(updated_at__gte=ctx.since)
    if part is not None and part.params.get("lookback_days"):
        manifests = manifests.filter(submitted_at__gte=ctx.now - dt.timedelta(days=int(part.params["lookback_days"])))
    return manifests


def _manifest_hit(row, evidence, party="generator"):
    return Hit("manifest", str(row["pk"]), row["number"] or f"#{row['pk']}", row[f"{party}_id"],
               row[f"{party}__region_id"], {"manifest": row["number"] or row["pk"], "status": row["status"],
                                             "shipped_tonnes": _t(row["shipped_tonnes"]), **evidence},
               row["generator__longitude"], row["generator__latitude"])


def check_manifest_overdue(ctx, part, ids):
    from wufei.manifests.services import overdue_since

    deadline = overdue_since(ctx.now, part.region)
    rows = _manifests(ctx, ids, "receiver").filter(part.q("receiver__region__path"), status=S.IN_TRANSIT,
                                                   picked_up_at__lt=deadline)
    return [_manifest_hit(row, {"picked_up_at": _iso(row["picked_up_at"]),
                                "working_days": part.params["manifest.receipt_working_days"],
                                "days_in_transit": round((ctx.now - row["picked_up_at"]).total_seconds() / 86400, 1)},
                          "receiver")
            for row in rows.values(*MANIFEST_VALUES, "picked_up_at")]


def check_manifest_discrepancy(ctx, part, ids):
    rows = _manifests(ctx, ids, "receiver", incremental=True, part=part).filter(
        part.q("receiver__region__path"), discrepancy=True)
    return [_manifest_hit(row, {"received_tonnes": _t(row["received_tonnes"]),
                                "accepted_tonnes": _t(row["accepted_tonnes"]),
                                "difference_percent": _t(row["discrepancy_percent"]),
                                "tolerance_percent": _t(part.params["manifest.discrepancy_tolerance_percent"])},
                          "receiver")
            for row in rows.values(*MANIFEST_VALUES, "received_tonnes", "accepted_tonnes", "discrepancy_percent")]


def check_receiver_not_permitted(ctx, part, ids):
    """Lines with no valid permit line of the receiver covering code and method on the day of submission
    (registry.services.permit_lines_covering as one correlated NOT EXISTS)."""
    lines = ManifestLine.objects.filter(waste__isnull=False, manifest__status__in=LIVE).filter(
        part.q("manifest__receiver__region__path")).exclude(manifest__kind=ManifestKind.GENERAL).exclude(
        manifest__purpose=Purpose.RETURN)
    if ids is not None:
        lines = lines.filter(manifest_id__in=_ids(ids))
    else:
        if ctx.since is not None:
            lines = lines.filter(manifest__updated_at__gte=ctx.since)
        if part.params.get("lookback_days"):
            lines = lines.filter(manifest__submitted_at__gte=ctx.now - dt.timedelta(
                days=int(part.params["lookback_days"])))
    lines = lines.annotate(day=TruncDate("manifest__submitted_at", tzinfo=timezone.get_current_timezone()),
                           checked_method=Coalesce("method_id", "planned_method_id"))
    through = PermitLine.methods.through
    any_method = Exists(through.objects.filter(permitline_id=OuterRef("pk")))
    this_method = Exists(through.objects.filter(permitline_id=OuterRef("pk"),
                                                treatmentmethod_id=OuterRef(OuterRef("checked_method"))))
    covering = PermitLine.objects.filter(
        permit__organization_id=OuterRef("manifest__receiver_id"), permit__status=OperatingPermit.Status.VALID,
        permit__valid_from__lte=OuterRef("day"), permit__valid_until__gte=OuterRef("day"),
    ).filter(Q(waste_id=OuterRef("waste_id")) | Q(category_id=OuterRef("waste__category_id")))
    by_manifest: dict[int, list] = {}
    for uncovered in (lines.filter(checked_method__isnull=True).filter(~Exists(covering)),
                      lines.filter(checked_method__isnull=False).filter(
                          ~Exists(covering.filter(~any_method | this_method)))):
        for manifest_id, code, method in uncovered.values_list("manifest_id", "waste_id", "checked_method"):
            by_manifest.setdefault(manifest_id, []).append(code + (f" / {method}" if method else ""))
    rows = Manifest.objects.filter(pk__in=list(by_manifest)).values(*MANIFEST_VALUES)
    return [_manifest_hit(row, {"not_covered": sorted(set(by_manifest[row["pk"]]))}, "receiver") for row in rows]


def _year_bounds(year):
    tz = timezone.get_current_timezone()
    return dt.datetime(year, 1, 1, tzinfo=tz), dt.datetime(year + 1, 1, 1, tzinfo=tz)


def _receiver_usage(ctx, part, receivers=None):
    """Tonnes per (receiver, waste code) this year as manifests.services.capacity_left counts them."""
    start, end = _year_bounds(ctx.today.year)
    narrowed = part.q("manifest__receiver__region__path")
    if receivers is not None:
        narrowed &= Q(manifest__receiver_id__in=receivers)
    return manifest_services.capacity_usage(start=start, end=end, receivers=narrowed)


def _valid_lines(ctx, part, ids=None):
    lines = PermitLine.objects.filter(permit__status=OperatingPermit.Status.VALID,
                                      permit__valid_from__lte=ctx.today, permit__valid_until__gte=ctx.today
                                      ).filter(part.q("permit__organization__region__path"))
    return lines.values("pk", "waste_id", "category_id", "annual_capacity_tonnes", "permit__organization_id",
                        "permit__organization__region_id", "permit__organization__name", "permit__number",
                        "permit__organization__longitude", "permit__organization__latitude")


def _used(usage, receiver, line):
    return sum((t for (r, code), t in usage.items() if r == receiver and (
        code == line["waste_id"] or (line["category_id"] and f"HW{code[-2:]}" == line["category_id"]))), ZERO)


def check_capacity_exceeded(ctx, part, ids):
    lines = _valid_lines(ctx, part)
    if ids is not None:
        lines = lines.filter(pk__in=_ids(ids))
    lines = list(lines)
    usage = _receiver_usage(ctx, part, {line["permit__organization_id"] for line in lines})
    share = Decimal(str(part.params["tolerance_percent"]))
    hits = []
    for line in lines:
        receiver = line["permit__organization_id"]
        used = _used(usage, receiver, line)
        capacity = line["annual_capacity_tonnes"]
        if capacity and used > capacity * (1 + share / 100):
            code = line["waste_id"] or line["category_id"]
            hits.append(Hit("permit_line", str(line["pk"]), f"{line['permit__number']} {code}", receiver,
                            line["permit__organization__region_id"], {
                                "permit": line["permit__number"], "code": code,
                                "year": ctx.today.year, "used_tonnes": _t(used), "capacity_tonnes": _t(capacity),
                                "percent": _t((used * 100 / capacity).quantize(Decimal("0.1")))},
                            line["permit__organization__longitude"], line["permit__organization__latitude"]))
    return hits


def _load(ctx, part, ids, high: bool):
    year = ctx.today.year
    start, _end = _year_bounds(year)
    elapsed = (ctx.now - start).total_seconds() / 86400
    if elapsed < float(part.params["min_elapsed_days"]):
        return []
    capacities: dict[int, dict] = {}
    lines = _valid_lines(ctx, part)
    if ids is not None:
        lines = lines.filter(permit__organization_id__in=[int(i.split(":")[0]) for i in ids])
    for line in lines:
        entry = capacities.setdefault(line["permit__organization_id"], {"capacity": ZERO, "line": line})
        entry["capacity"] += line["annual_capacity_tonnes"]
    usage = _receiver_usage(ctx, part, set(capacities))
    hits = []
    fraction = Decimal(str(min(elapsed, 365) / 365))
    for receiver, entry in capacities.items():
        expected = entry["capacity"] * fraction
        if not expected:
            continue
        used = sum((t for (r, _code), t in usage.items() if r == receiver), ZERO)
        rate = (used * 100 / expected).quantize(Decimal("0.1"))
        bound = Decimal(str(part.params["high_percent" if high else "low_percent"]))
        if (rate > bound) if high else (rate < bound):
            line = entry["line"]
            hits.append(Hit("organization", f"{receiver}:{year}", line["permit__organization__name"], receiver,
                            line["permit__organization__region_id"], {
                                "year": year, "received_tonnes": _t(used), "permitted_tonnes": _t(entry["capacity"]),
                                "elapsed_days": int(elapsed), "load_percent": _t(rate), "bound_percent": _t(bound)},
                            line["permit__organization__longitude"], line["permit__organization__latitude"]))
    return hits


def check_load_high(ctx, part, ids):
    return _load(ctx, part, ids, True)


def check_load_low(ctx, part, ids):
    return _load(ctx, part, ids, False)


def check_same_parties(ctx, part, ids):
    rows = _manifests(ctx, ids, "generator", incremental=True, part=part).filter(
        part.q("generator__region__path"), status__in=LIVE, generator_id=F("receiver_id")).exclude(
        purpose=Purpose.RETURN)
    return [_manifest_hit(row, {"generator": row["generator_id"], "receiver": row["receiver_id"]})
            for row in rows.values(*MANIFEST_VALUES)]


def check_overweight(ctx, part, ids):
    first_leg = TransportLeg.objects.filter(manifest_id=OuterRef("pk")).order_by("position")
    limit = Decimal(str(part.params["max_tonnes"]))
    rows = _manifests(ctx, ids, "generator", incremental=True, part=part).filter(
        part.q("generator__region__path"), status__in=LIVE, shipped_tonnes__gt=limit,
        legs__vehicle__isnull=False).annotate(
        carrier=Subquery(first_leg.values("transporter_id")[:1]),
        carrier_region=Subquery(first_leg.values("transporter__region_id")[:1]),
        plate=Subquery(first_leg.values("vehicle__plate")[:1])).distinct()
    hits = []
    for row in rows.values(*MANIFEST_VALUES, "carrier", "carrier_region", "plate"):
        hit = _manifest_hit(row, {"vehicle": row["plate"], "max_tonnes": _t(limit)})
        hit.organization_id, hit.region_id = row["carrier"] or row["generator_id"], row["carrier_region"] or \
            row["generator__region_id"]
        hits.append(hit)
    return hits


def check_not_in_plan(ctx, part, ids):
    rows = _manifests(ctx, ids, "generator", incremental=True, part=part).filter(
        part.q("generator__region__path"), status__in=LIVE).exclude(plan_warning="")
    return [_manifest_hit(row, {"warning": row["plan_warning"]}) for row in rows.values(*MANIFEST_VALUES,
                                                                                         "plan_warning")]


# --- permits and vehicles ------------------------------------------------------------------------------

def _validity(ctx, part, ids, queryset, field, expired: bool, entity, label, org_field):
    days = int(part.params["permit.expiry_warning_days"])
    rows = queryset.filter(part.q(f"{org_field}__region__path"))
    if ids is not None:
        rows = rows.filter(pk__in=_ids(ids))
    rows = rows.filter(**{f"{field}__lt": ctx.today}) if expired else rows.filter(
        **{f"{field}__gte": ctx.today, f"{field}__lte": ctx.today + dt.timedelta(days=days)})
    return [Hit(entity, str(row["pk"]), row[label], row[f"{org_field}_id"], row[f"{org_field}__region_id"], {
        entity: row[label], "valid_until": row[field].isoformat(), "warning_days": days,
        "days_left": (row[field] - ctx.today).days}, row[f"{org_field}__longitude"], row[f"{org_field}__latitude"])
        for row in rows.values("pk", label, field, f"{org_field}_id", f"{org_field}__region_id",
                               f"{org_field}__longitude", f"{org_field}__latitude")]


def _permits():
    return OperatingPermit.objects.filter(status=OperatingPermit.Status.VALID)


def check_permit_expiring(ctx, part, ids):
    return _validity(ctx, part, ids, _permits(), "valid_until", False, "permit", "number", "organization")


def check_permit_expired(ctx, part, ids):
    return _validity(ctx, part, ids, _permits(), "valid_until", True, "permit", "number", "organization")


def check_vehicle_expiring(ctx, part, ids):
    return _validity(ctx, part, ids, Vehicle.objects.filter(is_active=True), "transport_permit_valid_until", False,
                     "vehicle", "plate", "organization")


def check_vehicle_expired(ctx, part, ids):
    return _validity(ctx, part, ids, Vehicle.objects.filter(is_active=True), "transport_permit_valid_until", True,
                     "vehicle", "plate", "organization")


# --- plans, ledgers, declarations ------------------------------------------------------------------------

def _org_period_ids(ids):
    return [int(i.split(":")[0]) for i in ids] if ids is not None else None


def _org_hit(org, entity_id, evidence):
    return Hit("organization", entity_id, org.name, org.pk, org.region_id, evidence, org.longitude, org.latitude)


def check_generation_over_plan(ctx, part, ids):
    year = ctx.today.year
    in_force = ManagementPlan.objects.filter(year=year, status="approved").exclude(superseded_by__status="approved")
    planned = {(r["plan__organization_id"], r["waste_id"]): r["t"] for r in PlanStream.objects.filter(
        plan__in=in_force.filter(part.q("organization__region__path"))).values(
        "plan__organization_id", "waste_id").annotate(t=Sum("planned_generation"))}
    generated = LedgerMonth.objects.filter(year=year, organization_id__in={o for o, _ in planned}).values(
        "organization_id", "waste_id").annotate(t=Sum("generated"))
    share = Decimal(str(part.params["over_percent"]))
    wanted = _org_period_ids(ids)
    over = []
    for row in generated:
        plan = planned.get((row["organization_id"], row["waste_id"]))
        if plan is not None and row["t"] > plan * (1 + share / 100) and (
                wanted is None or row["organization_id"] in wanted):
            over.append((row["organization_id"], row["waste_id"], row["t"], plan))
    orgs = Organization.objects.in_bulk({o for o, *_ in over})
    return [_org_hit(orgs[o], f"{o}:{year}:{code}", {"year": year, "waste": code, "generated_tonnes": _t(t),
                                                      "planned_tonnes": _t(plan), "over_percent": _t(share)})
            for o, code, t, plan in over]


def check_plan_overdue(ctx, part, ids):
    from wufei.ledgers.plans import EDITABLE, FILED, due_date_from

    year = ctx.today.year
    due = due_date_from(part.params["plan.due"], year)
    if ctx.today <= due:
        return []
    effective = Coalesce(models_nullif("supervision_override"), "supervision_class")
    required = Organization.objects.filter(part.q("region__path"), status="active", is_generator=True).annotate(
        effective=effective).filter(effective__in=[SupervisionClass.KEY, SupervisionClass.SIMPLIFIED])
    drafted = Organization.objects.filter(part.q("region__path"), management_plans__year=year,
                                          management_plans__status__in=EDITABLE)
    filed = ManagementPlan.objects.filter(organization=OuterRef("pk"), year=year, status__in=FILED)
    orgs = Organization.objects.filter(Q(pk__in=required.values("pk")) | Q(pk__in=drafted.values("pk"))).exclude(
        Exists(filed))
    wanted = _org_period_ids(ids)
    if wanted is not None:
        orgs = orgs.filter(pk__in=wanted)
    return [_org_hit(org, f"{org.pk}:{year}", {"year": year, "due": due.isoformat(),
                                               "supervision_class": org.effective_supervision_class})
            for org in orgs]


def models_nullif(field_name):
    from django.db.models import Value
    from django.db.models.functions import NullIf

    return NullIf(field_name, Value(""))


def check_declaration_overdue(ctx, part, ids):
    from wufei.ledgers.plans import due_date_from

    year = ctx.today.year - 1
    due = due_date_from(part.params["declaration.due"], year + 1)
    if ctx.today <= due:
        return []
    generated = LedgerMonth.objects.filter(year=year, generated__gt=0).values("organization_id")
    drafted = AnnualDeclaration.objects.filter(year=year).values("organization_id")
    submitted = AnnualDeclaration.objects.filter(organization=OuterRef("pk"), year=year,
                                                 status=DeclarationStatus.SUBMITTED)
    orgs = Organization.objects.filter(part.q("region__path"), status="active").filter(
        Q(pk__in=generated) | Q(pk__in=drafted)).exclude(Exists(submitted))
    wanted = _org_period_ids(ids)
    if wanted is not None:
        orgs = orgs.filter(pk__in=wanted)
    return [_org_hit(org, f"{org.pk}:{year}", {"year": year, "due": due.isoformat()}) for org in orgs]


def check_monthly_ledger_missing(ctx, part, ids):
    from wufei.ledgers import solid_waste

    day = ctx.today - dt.timedelta(days=int(part.params["grace_days"]))
    year = day.year
    due = solid_waste.due_months(year, day)
    if not due:
        return []
    wanted = _org_period_ids(ids)
    units = [u for u in solid_waste.required_units(ctx.admin, year=year) if u["status"] == "required"
             and part.covers(u["organization"].region.path) and (wanted is None or u["organization"].pk in wanted)]
    from wufei.ledgers.models import SolidWasteMonth

    filled = set(SolidWasteMonth.objects.filter(organization_id__in=[u["organization"].pk for u in units],
                                                year=year).values_list("organization_id", "month").distinct())
    hits = []
    for unit in units:
        org = unit["organization"]
        missing = [month for month in due if (org.pk, month) not in filled]
        if missing:
            hits.append(_org_hit(org, f"{org.pk}:{year}", {
                "year": year, "months_missing": missing, "previous_year_tonnes": _t(unit["previous_year_tonnes"]),
                "threshold_tonnes": _t(unit["threshold"])}))
    return hits


def check_mass_balance(ctx, part, ids):
    from wufei.ledgers.ledger import mass_balance

    year = ctx.today.year
    if ids is not None:
        orgs = set(_org_period_ids(ids))
    else:
        candidates = LedgerMonth.objects.filter(year=year).filter(part.q("organization__region__path"))
        if ctx.since is not None:
            changed = ScanEvent.objects.filter(recorded_at__gte=ctx.since).values("organization_id")
            candidates = candidates.filter(organization_id__in=changed)
        orgs = set(candidates.values_list("organization_id", flat=True).distinct()[
            :int(part.params["max_organizations"])])
    tolerance = Decimal(str(part.params["tolerance_tonnes"]))
    hits = []
    for org_id in sorted(orgs):
        result = mass_balance(ctx.admin, org_id, year, now=ctx.now)
        org = result["organization"]
        for code in result["codes"]:
            if abs(code["difference"]) > tolerance or not code["balanced"]:
                hits.append(_org_hit(org, f"{org.pk}:{year}:{code['waste']}", {
                    "year": year, "waste": code["waste"], "expected_closing": _t(code["expected_closing"]),
                    "actual_stock": _t(code["actual_stock"]), "difference": _t(code["difference"]),
                    "unexplained": [r["message"] for r in code["records"] if r["type"] == "unexplained"][:3]}))
    return hits


# --- tracks and signatures --------------------------------------------------------------------------------

def _coords(site_lon, site_lat, org_lon, org_lat):
    if site_lon is not None and site_lat is not None:
        return site_lon, site_lat
    if org_lon is not None and org_lat is not None:
        return org_lon, org_lat
    return None


LEG_VALUES = ("pk", "position", "manifest_id", "manifest__number", "transporter_id", "transporter__region_id",
              "taken_at", "handed_at", "vehicle__plate", "manifest__status",
              "manifest__generator_site__longitude", "manifest__generator_site__latitude",
              "manifest__generator__longitude", "manifest__generator__latitude",
              "manifest__receiver_site__longitude", "manifest__receiver_site__latitude",
              "manifest__receiver__longitude", "manifest__receiver__latitude")


def _legs(ctx, part, ids):
    legs = TransportLeg.objects.filter(part.q("manifest__generator__region__path"), taken_at__isnull=False,
                                       vehicle__isnull=False)
    if ids is not None:
        return legs.filter(pk__in=_ids(ids))
    since = ctx.now - dt.timedelta(days=int(part.params["lookback_days"]))
    legs = legs.filter(taken_at__gte=since)
    if ctx.since is not None:
        legs = legs.filter(Q(pk__in=TrackPoint.objects.filter(received_at__gte=ctx.since).values("leg_id"))
                           | Q(manifest__updated_at__gte=ctx.since) | Q(manifest__status=S.IN_TRANSIT))
    return legs


def _points(leg_ids):
    points: dict[int, list] = {}
    for leg, at, lon, lat in TrackPoint.objects.filter(leg_id__in=leg_ids).order_by(
            "leg_id", "recorded_at").values_list("leg_id", "recorded_at", "longitude", "latitude"):
        points.setdefault(leg, []).append((at, lon, lat))
    return points


def _leg_hit(leg, evidence, point=None):
    lon, lat = (point[1], point[2]) if point else (leg["manifest__generator__longitude"],
                                                   leg["manifest__generator__latitude"])
    return Hit("transport_leg", str(leg["pk"]), f"{leg['manifest__number'] or leg['manifest_id']} / "
               f"{leg['vehicle__plate']}", leg["transporter_id"], leg["transporter__region_id"],
               {"manifest": leg["manifest__number"] or leg["manifest_id"], "leg": leg["position"],
                "vehicle": leg["vehicle__plate"], **evidence}, lon, lat)


def _track_legs(ctx, part, ids):
    legs = list(_legs(ctx, part, ids).values(*LEG_VALUES))
    return legs, _points([leg["pk"] for leg in legs])


def check_track_gap(ctx, part, ids):
    gap = dt.timedelta(minutes=float(part.params["max_gap_minutes"]))
    legs, points = _track_legs(ctx, part, ids)
    hits = []
    for leg in legs:
        track = points.get(leg["pk"], [])
        end = leg["handed_at"] or (ctx.now if leg["manifest__status"] == S.IN_TRANSIT else None)
        if not track:
            if end is not None and end - leg["taken_at"] > gap:
                minutes = round((end - leg["taken_at"]).total_seconds() / 60)
                hits.append(_leg_hit(leg, {"points": 0, "gap_minutes": minutes,
                                           "max_gap_minutes": round(gap.total_seconds() / 60)}))
            continue
        times = [leg["taken_at"], *[p[0] for p in track]] + ([end] if end else [])
        worst, where = max(((b - a, a) for a, b in zip(times, times[1:], strict=False)), key=lambda x: x[0])
        if worst > gap:
            hits.append(_leg_hit(leg, {"points": len(track), "gap_minutes": round(worst.total_seconds() / 60),
                                       "gap_from": _iso(where), "max_gap_minutes": round(gap.total_seconds() / 60)}))
    return hits


def known_places(ctx):
    if "places" not in ctx.cache:
        places = list(Site.objects.filter(longitude__isnull=False, latitude__isnull=False).values_list(
            "longitude", "latitude"))
        places += list(Organization.objects.filter(longitude__isnull=False, latitude__isnull=False).values_list(
            "longitude", "latitude"))
        ctx.cache["places"] = places
    return ctx.cache["places"]


def check_long_stop(ctx, part, ids):
    radius = float(part.params["stop_radius_m"])
    longest = dt.timedelta(minutes=float(part.params["max_stop_minutes"]))
    site_radius = float(part.params["site_radius_m"])
    legs, points = _track_legs(ctx, part, ids)
    hits = []
    for leg in legs:
        track = points.get(leg["pk"], [])
        i, worst = 0, None
        while i < len(track):
            j = i
            while j + 1 < len(track) and geo.distance_m(track[i][1], track[i][2], track[j + 1][1],
                                                        track[j + 1][2]) <= radius:
                j += 1
            duration = track[j][0] - track[i][0]
            if duration > longest and (worst is None or duration > worst[0]) and not any(
                    geo.distance_m(track[i][1], track[i][2], lon, lat) <= site_radius
                    for lon, lat in known_places(ctx)):
                worst = (duration, track[i])
            i = j + 1
        if worst:
            hits.append(_leg_hit(leg, {"stop_minutes": round(worst[0].total_seconds() / 60),
                                       "from": _iso(worst[1][0]), "longitude": _t(worst[1][1]),
                                       "latitude": _t(worst[1][2]), "max_stop_minutes": _t(part.params[
                                           "max_stop_minutes"])}, worst[1]))
    return hits


def check_off_corridor(ctx, part, ids):
    corridor = float(part.params["corridor_km"]) * 1000
    legs, points = _track_legs(ctx, part, ids)
    hits = []
    for leg in legs:
        start = _coords(leg["manifest__generator_site__longitude"], leg["manifest__generator_site__latitude"],
                        leg["manifest__generator__longitude"], leg["manifest__generator__latitude"])
        end = _coords(leg["manifest__receiver_site__longitude"], leg["manifest__receiver_site__latitude"],
                      leg["manifest__receiver__longitude"], leg["manifest__receiver__latitude"])
        track = points.get(leg["pk"], [])
        if not (start and end and track):
            continue
        far = max(((geo.distance_to_segment_m(p[1], p[2], *start, *end), p) for p in track), key=lambda x: x[0])
        if far[0] > corridor:
            hits.append(_leg_hit(leg, {"distance_km": round(far[0] / 1000, 2), "corridor_km": _t(
                part.params["corridor_km"]), "at": _iso(far[1][0])}, far[1]))
    return hits


def check_signature_far(ctx, part, ids):
    fence = float(part.params["geofence_m"])
    signatures = Signature.objects.filter(step__in=("pickup", "receive"), longitude__isnull=False,
                                          latitude__isnull=False).filter(part.q("manifest__generator__region__path"))
    if ids is not None:
        signatures = signatures.filter(pk__in=_ids(ids))
    elif ctx.since is not None:
        signatures = signatures.filter(signed_at__gte=ctx.since - dt.timedelta(days=1))
    hits = []
    for s in signatures.values("pk", "step", "longitude", "latitude", "signed_at", "organization_id",
                               "organization__region_id", "manifest_id", "manifest__number",
                               "manifest__generator_site__longitude", "manifest__generator_site__latitude",
                               "manifest__generator__longitude", "manifest__generator__latitude",
                               "manifest__receiver_site__longitude", "manifest__receiver_site__latitude",
                               "manifest__receiver__longitude", "manifest__receiver__latitude"):
        party = "generator" if s["step"] == "pickup" else "receiver"
        site = _coords(s[f"manifest__{party}_site__longitude"], s[f"manifest__{party}_site__latitude"],
                       s[f"manifest__{party}__longitude"], s[f"manifest__{party}__latitude"])
        if site is None:
            continue
        distance = geo.distance_m(s["longitude"], s["latitude"], *site)
        if distance > fence:
            hits.append(Hit("signature", str(s["pk"]), f"{s['manifest__number'] or s['manifest_id']} {s['step']}",
                            s["organization_id"], s["organization__region_id"], {
                                "manifest": s["manifest__number"] or s["manifest_id"], "step": s["step"],
                                "signed_at": _iso(s["signed_at"]), "distance_m": round(distance),
                                "geofence_m": _t(part.params["geofence_m"])}, s["longitude"], s["latitude"]))
    return hits


# --- the table --------------------------------------------------------------------------------------------

TRACK = {"lookback_days": 30}
RECENT = {"lookback_days": 90}
RULES: list[RuleSpec] = [
    RuleSpec("storage.near_limit", Level.YELLOW,
             gettext_noop("Hazardous or medical waste in storage close to its limit"),
             "container", check_storage_near, shared=("storage.max_days", "storage.warning_days",
                                                      "storage.medical_max_hours", "storage.medical_warning_hours"),
             auto_close=True, source="固废法 第81条第3款; 医疗废物管理条例 第17条",
             facts=("container", "waste", "tonnes", "stored_since", "state")),
    RuleSpec("storage.over_limit", Level.ORANGE,
             gettext_noop("Hazardous waste stored longer than the limit (one year)"),
             "container", check_storage_over, shared=("storage.max_days", "storage.warning_days"),
             auto_close=True, source="固废法 第81条第3款",
             facts=("container", "waste", "tonnes", "stored_since", "state")),
    RuleSpec("medical.over_limit", Level.RED, gettext_noop("Medical waste stored longer than its limit (48 hours)"),
             "container", check_medical_over, shared=("storage.medical_max_hours", "storage.medical_warning_hours"),
             auto_close=True, source="医疗废物管理条例 第17条",
             facts=("container", "waste", "tonnes", "stored_since", "state")),
    RuleSpec("manifest.overdue", Level.ORANGE, gettext_noop("Manifest not received within the time limit"), "manifest",
             check_manifest_overdue, shared=("manifest.receipt_working_days",), auto_close=True,
             source="危险废物转移管理办法 第18条",
             facts=("manifest", "shipped_tonnes", "picked_up_at")),
    RuleSpec("manifest.discrepancy", Level.YELLOW,
             gettext_noop("Received quantity differs from the manifest beyond tolerance"),
             "manifest", check_manifest_discrepancy, shared=("manifest.discrepancy_tolerance_percent",),
             defaults=RECENT, incremental=True, source="危险废物转移管理办法 第18条第2款",
             facts=("manifest", "shipped_tonnes", "received_tonnes", "accepted_tonnes")),
    RuleSpec("manifest.receiver_not_permitted", Level.RED,
             gettext_noop("Receiver holds no valid permit for the waste code or method"), "manifest",
             check_receiver_not_permitted, defaults=RECENT, incremental=True, source="固废法 第80条",
             facts=("manifest", "shipped_tonnes", "not_covered")),
    RuleSpec("permit.capacity_exceeded", Level.ORANGE, gettext_noop("Receiver beyond its annual permitted capacity"),
             "permit_line", check_capacity_exceeded, defaults={"tolerance_percent": "0"}, auto_close=True,
             source="危险废物经营许可证管理办法 第10条、第12条",
             facts=("permit", "code", "year", "used_tonnes", "capacity_tonnes")),
    RuleSpec("facility.load_high", Level.YELLOW, gettext_noop("Facility load rate too high"), "organization",
             check_load_high, defaults={"high_percent": "90", "min_elapsed_days": 60}, auto_close=True,
             source="platform default (UNCONFIRMED)",
             facts=("year", "received_tonnes", "permitted_tonnes")),
    RuleSpec("facility.load_low", Level.BLUE, gettext_noop("Facility load rate too low"), "organization",
             check_load_low, defaults={"low_percent": "20", "min_elapsed_days": 60}, auto_close=True,
             source="platform default (UNCONFIRMED)",
             facts=("year", "received_tonnes", "permitted_tonnes")),
    RuleSpec("permit.expiring", Level.YELLOW, gettext_noop("Operating permit about to expire"), "permit",
             check_permit_expiring, shared=("permit.expiry_warning_days",), auto_close=True,
             source="危险废物经营许可证管理办法 第13条",
             facts=("permit", "valid_until")),
    RuleSpec("permit.expired", Level.RED, gettext_noop("Operating permit expired"), "permit", check_permit_expired,
             shared=("permit.expiry_warning_days",), auto_close=True, source="危险废物经营许可证管理办法 第13条",
             facts=("permit", "valid_until")),
    RuleSpec("vehicle.permit_expiring", Level.BLUE,
             gettext_noop("Vehicle road transport permit about to expire"), "vehicle",
             check_vehicle_expiring, shared=("permit.expiry_warning_days",), auto_close=True,
             source="危险废物转移管理办法 第11条",
             facts=("vehicle", "valid_until")),
    RuleSpec("vehicle.permit_expired", Level.ORANGE, gettext_noop("Vehicle road transport permit expired"), "vehicle",
             check_vehicle_expired, shared=("permit.expiry_warning_days",), auto_close=True,
             source="危险废物转移管理办法 第11条",
             facts=("vehicle", "valid_until")),
    RuleSpec("manifest.same_parties", Level.ORANGE,
             gettext_noop("Generator and receiver are the same unit"), "manifest",
             check_same_parties, defaults=RECENT, incremental=True, source="危险废物转移管理办法 第31条",
             facts=("manifest", "shipped_tonnes", "generator", "receiver")),
    RuleSpec("manifest.overweight", Level.ORANGE,
             gettext_noop("More than the allowed tonnes on one road vehicle"), "manifest",
             check_overweight, defaults={"max_tonnes": "40", **RECENT}, incremental=True,
             source="issue #6 (40 t); GB 1589 limits UNCONFIRMED",
             facts=("manifest", "shipped_tonnes", "vehicle")),
    RuleSpec("plan.generation_over", Level.YELLOW, gettext_noop("Generation above the management plan"), "organization",
             check_generation_over_plan, defaults={"over_percent": "20"}, auto_close=True,
             source="固废法 第78条; share UNCONFIRMED (platform default)",
             facts=("year", "waste", "generated_tonnes", "planned_tonnes")),
    RuleSpec("plan.transfer_not_planned", Level.YELLOW, gettext_noop("Transfer not in the management plan"), "manifest",
             check_not_in_plan, defaults=RECENT, incremental=True, source="危险废物转移管理办法 第14条",
             facts=("manifest", "shipped_tonnes", "warning")),
    RuleSpec("ledger.monthly_missing", Level.YELLOW, gettext_noop("Monthly e-ledger missing"), "organization",
             check_monthly_ledger_missing, defaults={"grace_days": 15},
             shared=("solid_waste.monthly_ledger_min_annual_tonnes",), auto_close=True,
             source="固废法 第36条; 巴南区实施方案 L165",
             facts=("year", "months_missing")),
    RuleSpec("plan.overdue", Level.ORANGE, gettext_noop("Management plan overdue"), "organization", check_plan_overdue,
             shared=("plan.due",), auto_close=True, source="固废法 第78条; HJ 1259-2022",
             facts=("year",)),
    RuleSpec("declaration.overdue", Level.ORANGE, gettext_noop("Annual declaration overdue"), "organization",
             check_declaration_overdue, shared=("declaration.due",), auto_close=True,
             source="固废法 第78条; MEE 2021 notice",
             facts=("year",)),
    RuleSpec("ledger.mass_balance_gap", Level.YELLOW, gettext_noop("Mass-balance gap in the hazardous waste ledger"),
             "organization", check_mass_balance, defaults={"tolerance_tonnes": "0.001", "max_organizations": 200},
             auto_close=True, source="固废法 第78条 (如实记录)",
             facts=("year", "waste", "expected_closing", "actual_stock")),
    RuleSpec("track.gap", Level.YELLOW, gettext_noop("Gap in the vehicle track"), "transport_leg", check_track_gap,
             defaults={"max_gap_minutes": 30, **TRACK}, source="危险废物转移管理办法 第11条 (记录运输轨迹)",
             facts=("manifest", "leg", "vehicle", "points", "gap_from")),
    RuleSpec("track.long_stop", Level.ORANGE, gettext_noop("Long stop away from known sites"), "transport_leg",
             check_long_stop, defaults={"max_stop_minutes": 60, "stop_radius_m": 300, "site_radius_m": 1000,
                                        **TRACK}, source="platform default (UNCONFIRMED)",
             facts=("manifest", "leg", "vehicle", "from", "longitude", "latitude")),
    RuleSpec("track.off_corridor", Level.ORANGE, gettext_noop("Vehicle off the route corridor"), "transport_leg",
             check_off_corridor, defaults={"corridor_km": 15, **TRACK}, source="platform default (UNCONFIRMED)",
             facts=("manifest", "leg", "vehicle", "distance_km", "at")),
    RuleSpec("signature.far_from_site", Level.ORANGE,
             gettext_noop("Pickup or handover signed far from the site"), "signature",
             check_signature_far, defaults={"geofence_m": 1000}, incremental=True,
             source="platform default (UNCONFIRMED)",
             facts=("manifest", "step", "signed_at", "distance_m")),
]
BY_ID = {spec.id: spec for spec in RULES}
