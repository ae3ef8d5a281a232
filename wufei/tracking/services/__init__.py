"""Containers (一物一码): record batches (五即), scans, re-weighs, merge / split, storage, trace.

Writes take the caller's Scope and check it: a unit's administrators and members record its
containers and scan the containers it holds; regulators read what lies in their regions;
platform administrators (and system jobs acting as them) may do everything. Reads
("selectors") return querysets already narrowed to the scope. Whether a scan may follow a
status is decided by the table in `tracking/life.py`, nowhere else.

The audit chain gets one link per container and operation: the container's values (when it
is created) or changed fields, and the scan events the operation wrote, so a scan event
altered later breaks the chain like any other row. `bulk_record` writes its rows with
`wufei.core.bulk` and their links with `wufei.core.audit.append_many`.

`Container.stored_at` means "in the current holder's stock since": set by the 五即 storing
step, cleared when the container is handed over and set again when the new holder receives
it; merging and splitting keep the oldest time, so repackaging never restarts the clock.

The package, by job:

* `common`: What every container service shares: limits, the parsing of scan and batch fields, labels.
* `selectors`: Reading containers: lists narrowed to the caller's scope, storage age and limits, inventory,
  trace, custody.
* `writing`: Writing many rows at once: containers and scan events in bulk with reserved ids, and their links in
  the audit chain.
* `recording`: Recording batches of containers (五即: produce, pack, weigh, code, store), one call or in bulk.
* `scans`: Scanning a container: the checks the life table (tracking/life.py) asks for, one scan or advancing
  several steps, re-weighing.
* `repackaging`: Merging and splitting containers (repackaging), keeping the oldest storage time.
"""

from wufei.tracking.services.common import (  # noqa: F401
    CLOCK_SKEW,
    CUSTODY_ROLES,
    FIVE_STEP_KINDS,
    LITRES,
    MAX_CONTAINERS_PER_BATCH,
    MAX_CONTAINERS_PER_CALL,
    METHOD_KINDS,
    SELF_SITE_KINDS,
    STEP_TIMESTAMPS,
    STORAGE_SITE_KINDS,
    TONNE,
    _aware,
    _label,
    _parse_count,
    _parse_hazards,
    _parse_id,
    _parse_moment,
    _parse_steps,
    _scan_labels,
    _status_label,
    _tonnes,
    _when,
    logger,
)
from wufei.tracking.services.recording import (  # noqa: F401
    BATCH_SPEC,
    RecordedContainer,
    _Batch,
    _Context,
    _record,
    _recording_organization,
    _refresh_after_recording,
    _rows,
    _validate_batch,
    bulk_record,
    record_batch,
    refresh_recorded_generation,
)
from wufei.tracking.services.repackaging import (  # noqa: F401
    _new_codes,
    _oldest,
    _repackaged_status,
    _repackaging_events,
    _storage_choice,
    merge,
    split,
)
from wufei.tracking.services.scans import (  # noqa: F401
    Scan,
    _advance,
    _after_weighing,
    _check_order,
    _check_requirements,
    _check_transition,
    _last_event_time,
    _locked,
    _scan,
    _site_of,
    _tolerance_flag,
    advance,
    checked_method,
    custody_receiver,
    reweigh,
    scan,
    scan_for_holders,
)
from wufei.tracking.services.selectors import (  # noqa: F401
    StorageLimits,
    _days,
    _LimitsCache,
    _state,
    allowed_scans,
    annotate_storage,
    can_scan,
    containers_for,
    custody_of,
    custody_receiver_id,
    events_of,
    get_container,
    inventory,
    organization_summary,
    recording_organizations,
    storage_age,
    storage_limits,
    storage_since,
    storage_state,
    trace,
    verify_code,
)
from wufei.tracking.services.writing import (  # noqa: F401
    _CONTAINER_FIELDS,
    _EVENT_FIELDS,
    _JSON,
    _actor_id,
    _datetime_text,
    _decimal_text,
    _insert,
    _save,
    _values,
    event_audit_values,
    json_value,
)
