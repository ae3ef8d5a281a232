"""Gate signing codes: wrong entries counted per person and manifest (no more lock of the whole organization);
codes have at least 6 digits, so every code set before is marked for renewal (it may be shorter: a shorter code
no longer signs, and its organization's administrators are asked to set a new one)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('manifests', '0003_manifest_access_code'),
        ('registry', '0002_organization_recorded_generation'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveField(
            model_name='signingcode',
            name='failed_attempts',
        ),
        migrations.RemoveField(
            model_name='signingcode',
            name='locked_until',
        ),
        migrations.AddField(  # existing codes: True
            model_name='signingcode',
            name='needs_renewal',
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(  # codes set from now on: False
            model_name='signingcode',
            name='needs_renewal',
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name='SigningCodeFailure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField()),
                ('manifest', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='manifests.manifest')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='registry.organization')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['organization', 'user', 'at'], name='signing_failure_guesser')],
            },
        ),
    ]
