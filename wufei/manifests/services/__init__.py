"""Transfer manifests: create, sign, receive, process, cancel, revise — the business rules.

Every write takes the caller's Scope and the version the caller saw; a step that is not allowed
from the manifest's status (machine.STEPS) is a 409 and leaves the manifest as it was (each step
runs in one transaction). Containers follow the manifest: the tracking services record their
loading, handovers, receipt and utilization / disposal, so ledgers and traces stay exact.

The package, by job:

* `common`: What every manifest service shares: the status constants, the locked read of a manifest with the
  version the caller saw, the parties and their steps, field parsing.
* `selectors`: Reading manifests: lists narrowed to the caller's scope, filters, overdue, lineage, totals.
* `drafts`: Drafting a manifest: numbering, creation, lines, containers, legs, planned methods, edits of a
  draft.
* `submission`: What submission checks: parties, the receiver's permit and capacity, the management plan, cross-
  province approval.
* `signing`: Signing the steps of a manifest (machine.STEPS): submit, pickup, handover, receive, process,
  cancel; one or many at once.
* `revisions`: After the fact: revisions of a signed manifest, follow-up manifests for stranded containers.
"""

from wufei.manifests.services.common import (  # noqa: F401
    COLLECTION_PERMITS,
    LOADABLE,
    MAX_DISCREPANCY_PERCENT,
    NO_PROCESSING,
    RESERVING,
    TONNE,
    S,
    _check_required,
    _current_leg,
    _decimal,
    _locked,
    _method,
    _organization,
    _plain,
    _region_path,
    _require_writer,
    _signed_parties,
    _site,
    _text,
    available_steps,
    check_open,
    get_by_number,
    get_manifest,
    leg_for_step,
    legs_of,
    parties,
    party_for_step,
    roles_of,
    signed_steps,
)
from wufei.manifests.services.drafts import (  # noqa: F401
    _add_containers,
    _editable_draft,
    _in_general_ranges,
    _refresh_lines,
    _refresh_totals,
    _reserved_codes,
    _set_legs,
    _set_typed_lines,
    add_containers,
    create_manifest,
    next_number,
    remove_containers,
    set_planned_methods,
    update_draft,
    update_leg,
)
from wufei.manifests.services.revisions import (  # noqa: F401
    _apply_revision,
    _validate_changes,
    create_follow_up,
    decide_revision,
    request_revision,
    stranded_containers,
)
from wufei.manifests.services.selectors import (  # noqa: F401
    CATEGORY_PATTERN,
    LIST_SIDES,
    METHOD_KINDS,
    NO_METHOD,
    _purposes,
    awaiting,
    is_overdue,
    line_filter,
    lineage,
    manifests_for,
    overdue_since,
    tonnes_by_status,
)
from wufei.manifests.services.signing import (  # noqa: F401
    STEP_ACTIONS,
    _apportion,
    _cancel,
    _carried,
    _check_step,
    _close_collections,
    _fill_leg,
    _flag_discrepancy,
    _hand_over,
    _handover,
    _holder_scope,
    _notify,
    _pickup,
    _process,
    _receive,
    _repackaging_outcomes,
    _repackaging_sources,
    _signer,
    _submit,
    bulk_sign,
    cancel,
    sign,
)
from wufei.manifests.services.submission import (  # noqa: F401
    _check_cross_province,
    _check_parties,
    _check_receiver,
    _plan_warning,
    capacity_left,
    capacity_usage,
    submission_problems,
)
from wufei.manifests.signing_codes import set_signing_code as set_signing_code  # noqa: F401  re-exported: the service API
from wufei.manifests.signing_codes import signing_codes_to_renew as signing_codes_to_renew  # noqa: F401
