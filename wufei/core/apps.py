from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "wufei.core"
    label = "core"
    verbose_name = "Core"
