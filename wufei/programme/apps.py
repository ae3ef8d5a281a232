from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammeConfig(AppConfig):
    name = "wufei.programme"
    label = "programme"
    verbose_name = _("Plan implementation")

    def ready(self):
        # registers the programme's parameter defaults (reporting period, evidence size) with wufei.core.parameters
        from wufei.programme import plan_text  # noqa: F401
