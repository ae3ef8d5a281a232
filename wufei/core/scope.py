"""Who may see and change what. Every queryset a caller touches goes through one Scope.

A Scope is built once per request from the caller's memberships:
- enterprise users see the organizations they belong to (writers: admin/member roles);
- regulators see everything under their region subtrees (region paths such as '/500000/500113/');
- department users see what their department owns (indicator data, tasks in later issues);
- platform admins see everything.
Models turn a Scope into a Q in `visibility_q` / `editability_q`; views and routers
never filter by hand.
"""

from dataclasses import dataclass, field

from django.db.models import Q


@dataclass(frozen=True)
class Scope:
    user_id: int | None = None
    username: str = ""
    organization_ids: frozenset[int] = field(default_factory=frozenset)
    writable_organization_ids: frozenset[int] = field(default_factory=frozenset)
    admin_organization_ids: frozenset[int] = field(default_factory=frozenset)
    region_paths: tuple[str, ...] = ()
    region_codes: tuple[str, ...] = ()
    department_ids: frozenset[int] = field(default_factory=frozenset)
    is_platform_admin: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_regulator(self) -> bool:
        return bool(self.region_paths) or self.is_platform_admin

    def region_q(self, lookup: str) -> Q:
        """Q matching rows whose region path (reached by `lookup`) lies in one of the caller's subtrees."""
        if self.is_platform_admin:
            return Q()
        query = Q(pk__in=[])
        for path in self.region_paths:
            query |= Q(**{f"{lookup}__startswith": path})
        return query

    def covers_region_path(self, path: str) -> bool:
        return self.is_platform_admin or any(path.startswith(p) for p in self.region_paths)


ANONYMOUS = Scope()


def nothing() -> Q:
    return Q(pk__in=[])


def scope_for(user) -> Scope:
    """Build the caller's Scope from memberships (one query: the three kinds of membership in a UNION)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    from django.db.models import CharField, IntegerField, Value

    from wufei.registry.models import DepartmentMembership, Membership, RegulatorMembership

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


def request_scope(request) -> Scope:
    cached = getattr(request, "_wufei_scope", None)
    if cached is None:
        cached = scope_for(getattr(request, "user", None))
        request._wufei_scope = cached
    return cached
