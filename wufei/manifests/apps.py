from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ManifestsConfig(AppConfig):
    name = "wufei.manifests"
    label = "manifests"
    verbose_name = _("Transfer manifests (转移联单)")

    def ready(self):
        # the view module registers the manifests section of the organization page when imported
        from wufei.manifests import views  # noqa: F401
