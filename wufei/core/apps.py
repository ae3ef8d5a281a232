from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender, using="default", **kwargs):
    """The database cache's table (settings.CACHES) exists after every `wufei migrate`; nothing for Redis."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "wufei.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        from wufei.core import signals  # noqa: F401  (connects the account audit receivers)

        # every app's jobs are known by name in every process (services start jobs by name: core.jobs.task_named)
        autodiscover_modules("tasks")

        post_migrate.connect(_create_cache_table, sender=self)
