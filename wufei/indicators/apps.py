from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _shipped_catalog(sender, **kwargs):
    """After `migrate`, the shipped indicator catalog is there (what is missing is created; nothing is changed)."""
    from wufei.indicators.services import load_catalog

    load_catalog(update=False)


class IndicatorsConfig(AppConfig):
    name = "wufei.indicators"
    label = "indicators"
    verbose_name = _("Zero-waste city indicators")

    def ready(self):
        post_migrate.connect(_shipped_catalog, sender=self, dispatch_uid="wufei.indicators.catalog")
