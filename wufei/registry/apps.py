from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "wufei.registry"
    label = "registry"
    verbose_name = _("Organization registry")

    def ready(self):
        # models are loaded now: the builder (which reads the memberships) can be imported and installed
        from wufei.core.scope import set_scope_builder
        from wufei.registry.scopes import build_scope

        set_scope_builder(build_scope)
