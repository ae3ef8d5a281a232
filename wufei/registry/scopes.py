"""A user's Scope, built from the registry's memberships (one query per membership kind).

Installed as core's scope builder when the registry app is ready: `wufei.core.scope.scope_for(user)` (the name
everyone imports) calls `build_scope` for authenticated, active users.
"""

from wufei.core.scope import Scope
from wufei.registry.models import DepartmentMembership, Membership, RegulatorMembership


def build_scope(user) -> Scope:
    memberships = list(Membership.objects.filter(user=user, organization__isnull=False).values_list(
        "organization_id", "role"))
    regulators = list(RegulatorMembership.objects.filter(user=user).select_related("region"))
    departments = DepartmentMembership.objects.filter(user=user).values_list("department_id", flat=True)
    return Scope(
        user_id=user.pk,
        username=user.get_username(),
        organization_ids=frozenset(org for org, _ in memberships),
        writable_organization_ids=frozenset(org for org, role in memberships if role in ("admin", "member")),
        admin_organization_ids=frozenset(org for org, role in memberships if role == "admin"),
        region_paths=tuple(r.region.path for r in regulators),
        region_codes=tuple(r.region.code for r in regulators),
        department_ids=frozenset(departments),
        is_platform_admin=user.is_superuser,
    )
