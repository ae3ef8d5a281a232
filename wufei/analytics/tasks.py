"""The cockpit's background job (wufei.core.jobs): its stored monthly sums of scan events kept current."""

from wufei.analytics import rollup
from wufei.core.jobs import periodic


@periodic("analytics.refresh")
def refresh() -> int:
    """Sum the scan events recorded since the last run (rollup.py); a cockpit request also reads the tail live."""
    return rollup.refresh()
