import datetime as dt

import pytest

from wufei.core.scope import Scope, scope_for
from wufei.indicators import services

ADMIN = Scope(is_platform_admin=True)


@pytest.fixture
def shipped(db):
    return {plan.key: plan for plan in services.load_shipped(scope=ADMIN)}


@pytest.fixture
def approve(regulator_of, department_user):
    """Enter quantities through a data request to a department and the regulator's approval."""

    def run(region, year, values: dict, *, department="区统计局"):
        regulator = scope_for(regulator_of(region))
        user = department_user(region, name=f"{department}{year}{len(values)}{sorted(values)[0]}")
        department_id = user.department_roles.get().department_id
        request = services.create_request(scope=regulator, region_code=region, department_id=department_id,
                                          year=year, keys=list(values), due_date=dt.date(year + 1, 3, 31))
        clerk = scope_for(user)
        for key, entry in values.items():
            if isinstance(entry, tuple):
                services.enter_value(scope=clerk, request_id=request.pk, key=key, value=entry[0], unit=entry[1],
                                     evidence="统计年鉴")
            else:
                services.enter_value(scope=clerk, request_id=request.pk, key=key, state=entry, evidence="文件")
        services.submit_request(scope=clerk, request_id=request.pk)
        return services.review_request(scope=regulator, request_id=request.pk, approve=True)

    return run
