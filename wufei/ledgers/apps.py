from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgersConfig(AppConfig):
    name = "wufei.ledgers"
    label = "ledgers"
    verbose_name = _("Ledgers, plans and declarations")

    def ready(self):
        # the view modules register their sections of the organization page when imported
        from wufei.ledgers import ledger_views, plans_views, upkeep  # noqa: F401
        from wufei.tracking.signals import events_written

        events_written.connect(upkeep.on_events_written, dispatch_uid="wufei.ledgers.upkeep")
