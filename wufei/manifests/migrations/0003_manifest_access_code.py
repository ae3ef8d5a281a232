"""Each manifest gets its own random access code; existing manifests get one each (not one shared default)."""

import secrets

from django.db import migrations, models

import wufei.manifests.models

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def give_codes(apps, schema_editor):
    Manifest = apps.get_model("manifests", "Manifest")
    batch = []
    for manifest in Manifest.objects.filter(access_code="").only("pk").iterator(chunk_size=2000):
        manifest.access_code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        batch.append(manifest)
        if len(batch) >= 2000:
            Manifest.objects.bulk_update(batch, ["access_code"])
            batch = []
    Manifest.objects.bulk_update(batch, ["access_code"])


class Migration(migrations.Migration):

    dependencies = [
        ("manifests", "0002_generic_webhook_deliveries"),
    ]

    operations = [
        migrations.AddField(
            model_name="manifest",
            name="access_code",
            field=models.CharField(default="", editable=False, max_length=8, verbose_name="access code"),
            preserve_default=False,
        ),
        migrations.RunPython(give_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="manifest",
            name="access_code",
            field=models.CharField(default=wufei.manifests.models.new_access_code, editable=False, max_length=8,
                                   verbose_name="access code"),
        ),
    ]
