"""Audit events for Django's own account table: who got an account, rights or a new password.

last_login is left out on purpose: every login would otherwise be a chain event.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from wufei.core import audit

WATCHED = ("username", "email", "is_active", "is_staff", "is_superuser", "password")


@receiver(pre_save, sender=get_user_model())
def _remember_account(sender, instance, **kwargs):
    previous = sender.objects.filter(pk=instance.pk).values(*WATCHED).first() if instance.pk else None
    instance._audit_previous = previous


@receiver(post_save, sender=get_user_model())
def _audit_account(sender, instance, created, **kwargs):
    current = {field: getattr(instance, field) for field in WATCHED}
    if created:
        values = {k: v for k, v in current.items() if k != "password"}
        audit.record(entity=instance, action="account_created", payload={"values": values})
        return
    previous = getattr(instance, "_audit_previous", None) or {}
    changes = {k: [previous.get(k), v] for k, v in current.items() if k != "password" and previous.get(k) != v}
    if previous.get("password") not in (None, current["password"]):
        changes["password"] = "changed"
    if changes:
        audit.record(entity=instance, action="account_updated", payload={"changes": changes})
