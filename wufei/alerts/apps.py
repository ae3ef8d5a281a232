import os
import sys

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "wufei.alerts"
    label = "alerts"
    verbose_name = _("Alerts (预警)")

    def ready(self):
        # The scheduled scan while the development server runs: one daemon thread in the serving
        # process (not in the autoreloader's parent). Production runs `wufei alerts scan --loop`.
        minutes = float(getattr(settings, "WUFEI_ALERTS_SCAN_MINUTES", None)
                        or os.environ.get("WUFEI_ALERTS_SCAN_MINUTES", "15"))
        if minutes > 0 and len(sys.argv) > 1 and sys.argv[1] == "runserver" and (
                os.environ.get("RUN_MAIN") == "true" or "--noreload" in sys.argv):
            from wufei.alerts import scanner

            scanner.start_background(minutes * 60)
