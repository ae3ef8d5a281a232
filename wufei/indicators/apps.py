from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndicatorsConfig(AppConfig):
    name = "wufei.indicators"
    label = "indicators"
    verbose_name = _("Zero-waste city indicators")
