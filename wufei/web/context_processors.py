from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy, pgettext_lazy

from wufei.core import installation
from wufei.core.scope import Scope, request_scope

LIST_SEPARATOR = pgettext_lazy("separator between list items", ", ")

# (key, label, url name) per role, in menu order; a name that does not resolve (a page another issue has not
# built yet, e.g. the cockpit or the complaints queue) is left out until it exists
ENTERPRISE = (
    ("workspace", gettext_lazy("Workspace"), "workspace"),
    ("today", gettext_lazy("Today's pickups"), "manifests:today"),  # carriers only (see navigation_items)
    ("manifests", gettext_lazy("Transfer manifests"), "manifests:list"),
    ("containers", gettext_lazy("Containers"), "tracking:container_list"),
    ("plans", gettext_lazy("Plans and declarations"), "ledgers:plan_list"),
)
REGULATOR = (
    ("cockpit", gettext_lazy("Cockpit"), "analytics:cockpit"),
    ("organizations", gettext_lazy("Organizations"), "registry:organization_list"),
    ("manifests", gettext_lazy("Transfer manifests"), "manifests:list"),
    ("indicators", gettext_lazy("Indicators"), "indicators:index"),
    ("alerts", gettext_lazy("Alerts"), "alerts:board"),
    ("complaints", gettext_lazy("Complaints"), "cases:list"),
    ("programme", gettext_lazy("Plan implementation"), "programme:plan_list"),
    ("plans", gettext_lazy("Plans and declarations"), "ledgers:plan_list"),
    ("import", gettext_lazy("Import"), "registry:import"),
)
DEPARTMENT = (
    ("data_requests", gettext_lazy("Indicator data requests"), "indicators:requests"),
    ("programme", gettext_lazy("Plan implementation"), "programme:plan_list"),
)
PUBLIC = (
    ("portal", gettext_lazy("Portal"), "portal:index"),
    ("verify", gettext_lazy("Verify a manifest"), "manifests:verify"),
    ("report", gettext_lazy("Report dumping"), "cases:report"),
    ("catalogs", gettext_lazy("Catalogs"), "catalog:index"),
)
# after every role's own entries
COMMON = (
    ("scan", gettext_lazy("Scan a code"), "tracking:scan_lookup"),
    ("catalogs", gettext_lazy("Catalogs"), "catalog:index"),
)


def _resolve(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def is_carrier(scope: Scope) -> bool:
    """Whether the caller acts for a transporter (its drivers included: they sign pickups and handovers)."""
    if not scope.organization_ids:
        return False
    from wufei.registry.models import Organization

    return Organization.objects.filter(pk__in=scope.organization_ids, is_transporter=True).exists()


def navigation_items(scope: Scope, path: str = "") -> list[dict]:
    """The menu for the caller's roles (an account with several roles gets each role's entries once), the entry
    whose address is the longest prefix of `path` marked current."""
    groups = []
    if scope.organization_ids:
        carrier = is_carrier(scope)
        groups.append([entry for entry in ENTERPRISE if entry[0] != "today" or carrier])
    if scope.is_regulator:
        groups.append(REGULATOR)
    if scope.department_ids:
        groups.append(DEPARTMENT)
    if not scope.is_authenticated:
        groups.append(PUBLIC)
    items, seen = [], set()
    for key, label, name in [entry for group in groups for entry in group] + list(COMMON):
        url = _resolve(name)
        if url is None or url in seen:
            continue
        seen.add(url)
        items.append({"key": key, "label": label, "url": url, "current": False})
    matches = [item for item in items if path == item["url"] or (item["url"] != "/" and path.startswith(item["url"]))]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["current"] = True
    return items


def navigation(request):
    """The caller's scope (menus show what the caller can reach), its menu and the list separator (、 in Chinese)."""
    scope = request_scope(request)
    # built when a template first reads it (a partial or a PDF rendered with the request pays nothing)
    items = SimpleLazyObject(lambda: navigation_items(scope, getattr(request, "path", "")))
    return {"scope": scope, "list_separator": LIST_SEPARATOR, "nav_items": items,
            "demo_database": SimpleLazyObject(installation.is_demo)}
