"""The registry's dated history (registry.history): a registration day for every unit and its periods.

Backfill: a unit's registration day is the day it was entered (created_at, Asia/Shanghai); its history is one
open-ended period of its current facts from that day — two for a closed unit closed after it: active until its
closing day, closed from it.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.utils import timezone

FIELDS = ("status", "region_id", "industry_code", "is_generator", "is_transporter", "is_collector", "is_receiver",
          "is_medical_institution")


def backfill(apps, schema_editor):
    Organization = apps.get_model("registry", "Organization")
    OrganizationState = apps.get_model("registry", "OrganizationState")
    rows = []
    for organization in Organization.objects.order_by("pk").iterator(chunk_size=2000):
        start = timezone.localdate(organization.created_at)
        Organization.objects.filter(pk=organization.pk).update(registered_on=start)
        facts = {name: getattr(organization, name) for name in FIELDS}
        closing = organization.closed_on
        if organization.status == "closed" and closing is not None and closing > start:
            rows.append(OrganizationState(organization_id=organization.pk, valid_from=start, valid_to=closing,
                                          **{**facts, "status": "active"}))
            rows.append(OrganizationState(organization_id=organization.pk, valid_from=closing, **facts))
        else:
            rows.append(OrganizationState(organization_id=organization.pk, valid_from=start, **facts))
        if len(rows) >= 2000:
            OrganizationState.objects.bulk_create(rows)
            rows = []
    OrganizationState.objects.bulk_create(rows)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_load_reference_data'),
        ('registry', '0003_change_requests'),
    ]

    operations = [
        migrations.AddField(
            model_name='organization',
            name='registered_on',
            field=models.DateField(default=django.utils.timezone.localdate, help_text='The day the unit was registered; its registry history (what the indicators of past years count) starts on this day.', verbose_name='registered on'),
        ),
        migrations.CreateModel(
            name='OrganizationState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('valid_from', models.DateField(verbose_name='valid from')),
                ('valid_to', models.DateField(blank=True, null=True, verbose_name='valid until (exclusive)')),
                ('status', models.CharField(choices=[('active', 'active'), ('closed', 'closed')], max_length=10, verbose_name='status')),
                ('industry_code', models.CharField(blank=True, max_length=5, verbose_name='industry code (GB/T 4754)')),
                ('is_generator', models.BooleanField(default=False, verbose_name='generator')),
                ('is_transporter', models.BooleanField(default=False, verbose_name='transporter')),
                ('is_collector', models.BooleanField(default=False, verbose_name='collector')),
                ('is_receiver', models.BooleanField(default=False, verbose_name='receiver / licensed operator')),
                ('is_medical_institution', models.BooleanField(default=False, verbose_name='medical institution')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='states', to='registry.organization')),
                ('region', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.region', verbose_name='region')),
            ],
            options={
                'verbose_name': 'registry state',
                'verbose_name_plural': 'registry history',
                'ordering': ['organization_id', 'valid_from'],
                'indexes': [models.Index(fields=['region', 'valid_from'], name='registry_or_region__bc1412_idx')],
                'constraints': [models.UniqueConstraint(fields=('organization', 'valid_from'), name='organization_state_unique_start'), models.CheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gt', models.F('valid_from')), _connector='OR'), name='organization_state_not_empty')],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
