"""Alert webhook deliveries join the manifests' delivery table (one table, a generic subject): the rows are
copied with their state, then the alerts' own table goes."""

from django.db import migrations


def copy(apps, schema_editor):
    AlertDelivery = apps.get_model("alerts", "AlertDelivery")
    WebhookDelivery = apps.get_model("manifests", "WebhookDelivery")
    Webhook = apps.get_model("manifests", "Webhook")
    known = set(Webhook.objects.values_list("pk", flat=True))
    rows = []
    for d in AlertDelivery.objects.select_related("alert").iterator():
        if d.webhook_id not in known:
            continue
        rows.append(WebhookDelivery(
            webhook_id=d.webhook_id, subject_type="alert", subject_id=d.alert_id, action=d.action,
            payload={"type": "alert", "alert": d.alert_id, "action": d.action, "rule": d.alert.rule_id,
                     "level": d.alert.level},
            status=d.status, attempts=d.attempts, next_attempt_at=d.next_attempt_at, last_error=d.last_error))
    WebhookDelivery.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_recurrence"),
        ("manifests", "0002_generic_webhook_deliveries"),
    ]

    operations = [
        migrations.RunPython(copy, migrations.RunPython.noop),
        migrations.DeleteModel(name="AlertDelivery"),
    ]
