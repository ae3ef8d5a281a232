"""Spot-check draws get a record of their own (one per year, region and number; the seed from the server, the pool
and the sample kept so that anyone can redo the draw). Draws made before are rebuilt from their audit events
(`ledgers.spotcheckdraw`, which held the same facts), so they count as the region's draws of their year."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

EARLIER = "drawn before a further draw needed a reason"


def rebuild_earlier_draws(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    Region = apps.get_model("catalog", "Region")
    SpotCheck = apps.get_model("ledgers", "SpotCheck")
    SpotCheckDraw = apps.get_model("ledgers", "SpotCheckDraw")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    events = AuditEvent.objects.filter(entity_type="ledgers.spotcheckdraw", action="drawn").order_by("id")
    for event in events.iterator():
        payload = event.payload or {}
        user_id = event.actor_id if User.objects.filter(pk=event.actor_id).exists() else None
        for code in payload.get("regions") or []:
            if not Region.objects.filter(pk=code).exists():
                continue
            sequence = SpotCheckDraw.objects.filter(year=payload["year"], region_id=code).count() + 1
            draw = SpotCheckDraw.objects.create(
                year=payload["year"], region_id=code, sequence=sequence, share_percent=payload["share_percent"],
                seed=event.entity_id, pool=payload.get("pool") or [], drawn=payload.get("drawn") or [],
                drawn_by_id=user_id, reason="" if sequence == 1 else EARLIER)
            SpotCheckDraw.objects.filter(pk=draw.pk).update(created_at=event.created_at)
            SpotCheck.objects.filter(draw__isnull=True, draw_seed=event.entity_id,
                                     declaration_id__in=payload.get("drawn") or []).update(draw=draw)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_load_reference_data'),
        ('core', '0003_installation'),
        ('ledgers', '0003_background_jobs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SpotCheckDraw',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, db_index=True, verbose_name='updated at')),
                ('version', models.PositiveIntegerField(default=1, verbose_name='version')),
                ('year', models.PositiveSmallIntegerField(verbose_name='declared year')),
                ('sequence', models.PositiveSmallIntegerField(default=1, verbose_name='draw number')),
                ('share_percent', models.DecimalField(decimal_places=2, max_digits=5, verbose_name='share (%)')),
                ('seed', models.CharField(max_length=64, verbose_name='seed')),
                ('pool', models.JSONField(default=list, verbose_name='declarations drawn from')),
                ('drawn', models.JSONField(default=list, verbose_name='declarations drawn')),
                ('reason', models.CharField(blank=True, max_length=500, verbose_name='reason for a further draw')),
                ('drawn_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('region', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.region', verbose_name='region')),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.AddField(
            model_name='spotcheck',
            name='draw',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='checks', to='ledgers.spotcheckdraw'),
        ),
        migrations.AddConstraint(
            model_name='spotcheckdraw',
            constraint=models.UniqueConstraint(fields=('year', 'region', 'sequence'), name='spot_check_draw_once_per_number'),
        ),
        migrations.RunPython(rebuild_earlier_draws, migrations.RunPython.noop),
    ]
