"""A user's Scope, built from the registry's memberships (one query for the three kinds).

Installed as core's scope builder when the registry app is ready: `wufei.core.scope.scope_for(user)` (the name
everyone imports) calls `build_scope` for authenticated, active users.
"""

from django.db.models import CharField, IntegerField, Value

from wufei.core.scope import Scope
from wufei.registry.models import DepartmentMembership, Membership, RegulatorMembership


def build_scope(user) -> Scope:
    """One query: the three kinds of membership in a UNION."""
    def text(value):
        return Value(value, output_field=CharField())

    organizations = Membership.objects.filter(user=user, organization__isnull=False).order_by().values_list(
        text("m"), "organization_id", "role", text(""))
    regions = RegulatorMembership.objects.filter(user=user).order_by().values_list(
        text("r"), Value(None, output_field=IntegerField()), "region__code", "region__path")
    departments = DepartmentMembership.objects.filter(user=user).order_by().values_list(
        text("d"), "department_id", text(""), text(""))
    rows = list(organizations.union(regions, departments, all=True))
    memberships = [(org, role) for kind, org, role, _path in rows if kind == "m"]
    regulators = [(code, path) for kind, _id, code, path in rows if kind == "r"]
    return Scope(
        user_id=user.pk,
        username=user.get_username(),
        organization_ids=frozenset(org for org, _ in memberships),
        writable_organization_ids=frozenset(org for org, role in memberships if role in ("admin", "member")),
        admin_organization_ids=frozenset(org for org, role in memberships if role == "admin"),
        region_paths=tuple(path for _code, path in regulators),
        region_codes=tuple(code for code, _path in regulators),
        department_ids=frozenset(department for kind, department, _r, _p in rows if kind == "d"),
        is_platform_admin=user.is_superuser,
    )
