"""Login lockout (django-axes) with a limit per lockout parameter group.

Axes records one row per failed username + address and compares its failure count with one limit. Wufei
counts the same rows twice: per username and address (`AXES_FAILURE_LIMIT`, stops guessing from one place
soon) and per username alone across every address (`LOGIN_ACCOUNT_FAILURE_LIMIT`, higher: stops
password guessing spread over many addresses). Either one reaching its limit locks the login; the cool-off
is `AXES_COOLOFF_TIME` for both, and `wufei axes_reset_username NAME` unlocks an account at once.
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum


def _limit_for(group, default: int) -> int:
    names = (group,) if isinstance(group, str) else tuple(group)
    return settings.LOGIN_ACCOUNT_FAILURE_LIMIT if names == ("username",) else default


class AccountAndAddressHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        """The failures axes compares with `AXES_FAILURE_LIMIT`: at least that limit when any group reached its own
        limit, else the most failures of a group whose limit is that one."""
        limit = get_failure_limit(request, credentials)
        groups = get_lockout_parameters(request, credentials)
        attempts = self.get_user_attempts(request, credentials)
        below = 0
        for group, rows in zip(groups, attempts, strict=True):
            count = rows.aggregate(total=Sum("failures_since_start"))["total"] or 0
            group_limit = _limit_for(group, limit)
            if count >= group_limit:
                return max(count, limit)
            if group_limit == limit:
                below = max(below, count)
        return below
