from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "wufei.cases"
    label = "cases"
    verbose_name = _("Complaints and reports (信访投诉举报)")
