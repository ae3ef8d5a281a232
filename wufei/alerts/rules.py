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

from dataclasses import dataclass, field

from django.utils.translation import gettext_noop

from wufei.alerts.checks.capacity import check_capacity_exceeded, check_load_high, check_load_low
from wufei.alerts.checks.manifests import (
    check_manifest_discrepancy,
    check_manifest_overdue,
    check_not_in_plan,
    check_overweight,
    check_receiver_not_permitted,
    check_same_parties,
)
from wufei.alerts.checks.permits import (
    check_permit_expired,
    check_permit_expiring,
    check_vehicle_expired,
    check_vehicle_expiring,
)
from wufei.alerts.checks.plans import (
    check_declaration_overdue,
    check_generation_over_plan,
    check_mass_balance,
    check_monthly_ledger_missing,
    check_plan_overdue,
)
from wufei.alerts.checks.storage import check_medical_over, check_storage_near, check_storage_over
from wufei.alerts.checks.tracks import check_long_stop, check_off_corridor, check_signature_far, check_track_gap
from wufei.alerts.models import Level


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
