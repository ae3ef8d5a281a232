"""Whether this database is the demo's (core.models.Installation): asked by every page's header and by `wufei demo`,
which builds only into an empty database or one it built itself."""

from django.contrib.auth import get_user_model

from wufei.core.models import Installation

_cached: dict[str, bool] = {}


def is_demo(*, fresh: bool = False) -> bool:
    """Whether the database is a demo database (cached per process: it only changes when the demo is built)."""
    from django.db import connection

    key = connection.settings_dict.get("NAME") or "default"
    if fresh or key not in _cached:
        _cached[key] = Installation.objects.filter(is_demo=True).exists()
    return _cached[key]


def mark_demo() -> None:
    Installation.objects.update_or_create(pk=1, defaults={"is_demo": True})
    _cached.clear()


def holds_real_data() -> bool:
    """Whether a database that is not marked as a demo holds anything beyond the shipped reference data: an
    organization or an account (a platform administrator created with `createsuperuser` included)."""
    from wufei.registry.models import Organization

    if is_demo(fresh=True):
        return False
    return Organization.objects.exists() or get_user_model().objects.exists()
