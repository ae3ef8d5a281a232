"""The checks of the alert rules, by topic; the table that names them, their levels and parameters is
`wufei/alerts/rules.py`.

The package, by job:

* `common`: What the checks share: the Hit a check returns and small helpers. A check is set-based: one query
  per rule and region partition returns every entity that trips it, restricted to `ids` when the scan re-checks
  the entities of open alerts, and to rows changed since the last scan (`ctx.since`) for the rules marked
  incremental.
* `storage`: Checks on containers in storage: close to or over the storage limit, medical waste over its hours.
* `manifests`: Checks on transfer manifests: overdue receipt, weight discrepancy, receiver not permitted, a
  manifest between the same parties, overweight loads, transfers outside the management plan.
* `capacity`: Checks on licensed operators' capacity: permitted capacity exceeded, load too high or too low for
  the time of year.
* `permits`: Checks on permits and vehicles: expiring and expired.
* `plans`: Checks on plans, declarations and ledgers: generation over plan, plan or declaration overdue, monthly
  ledger missing, mass balance.
* `tracks`: Checks on transport tracks: gaps, long stops, leaving the corridor, signing far from the place.
"""

from wufei.alerts.checks.capacity import (  # noqa: F401
    _load,
    _receiver_usage,
    _used,
    _valid_lines,
    check_capacity_exceeded,
    check_load_high,
    check_load_low,
)
from wufei.alerts.checks.common import (  # noqa: F401
    LIVE,
    ZERO,
    Hit,
    S,
    _ids,
    _iso,
    _org_hit,
    _org_period_ids,
    _t,
    _year_bounds,
    models_nullif,
)
from wufei.alerts.checks.manifests import (  # noqa: F401
    MANIFEST_VALUES,
    _manifest_hit,
    _manifests,
    check_manifest_discrepancy,
    check_manifest_overdue,
    check_not_in_plan,
    check_overweight,
    check_receiver_not_permitted,
    check_same_parties,
)
from wufei.alerts.checks.permits import (  # noqa: F401
    _permits,
    _validity,
    check_permit_expired,
    check_permit_expiring,
    check_vehicle_expired,
    check_vehicle_expiring,
)
from wufei.alerts.checks.plans import (  # noqa: F401
    check_declaration_overdue,
    check_generation_over_plan,
    check_mass_balance,
    check_monthly_ledger_missing,
    check_plan_overdue,
)
from wufei.alerts.checks.storage import (  # noqa: F401
    CONTAINER_VALUES,
    _container_hits,
    _stock,
    check_medical_over,
    check_storage_near,
    check_storage_over,
)
from wufei.alerts.checks.tracks import (  # noqa: F401
    LEG_VALUES,
    _coords,
    _leg_hit,
    _legs,
    _points,
    _track_legs,
    check_long_stop,
    check_off_corridor,
    check_signature_far,
    check_track_gap,
    known_places,
)
