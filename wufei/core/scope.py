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


# Who a user is (memberships of organizations, regulators' regions, departments) is the registry's data: the
# registry app gives its builder when Django starts (`RegistryConfig.ready` → `wufei.registry.scopes`), so this
# module, which every app's models import, imports none of them.
_builder = None


def set_scope_builder(builder) -> None:
    """Install the function that builds an authenticated, active user's Scope (called once by the registry app)."""
    global _builder
    _builder = builder


def scope_for(user) -> Scope:
    """The caller's Scope (ANONYMOUS for nobody, an anonymous or an inactive user)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    if _builder is None:
        raise RuntimeError("no scope builder: the registry app (wufei.registry) is not installed or not ready")
    return _builder(user)


def request_scope(request) -> Scope:
    cached = getattr(request, "_wufei_scope", None)
    if cached is None:
        cached = scope_for(getattr(request, "user", None))
        request._wufei_scope = cached
    return cached
