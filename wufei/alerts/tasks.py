"""The alerts' background jobs (wufei.core.jobs): the periodic scan."""

from wufei.alerts import scanner
from wufei.core.jobs import periodic


@periodic("alerts.scan")
def scan() -> dict:
    """Run every rule (incremental, safe to repeat; scanner.py)."""
    return {rule: counts.get("opened", 0) for rule, counts in scanner.scan().items()}
