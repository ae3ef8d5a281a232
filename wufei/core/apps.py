from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "wufei.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from wufei.core import signals  # noqa: F401  (connects the account audit receivers)
