from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "wufei.tracking"
    label = "tracking"
    verbose_name = _("Containers (一物一码)")

    def ready(self):
        # the view module registers the containers section of the organization page when imported
        from wufei.tracking import views  # noqa: F401
