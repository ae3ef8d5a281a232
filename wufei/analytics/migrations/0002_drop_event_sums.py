"""The cockpit's stored monthly sums of scan events are gone: its figures are read from the ledger
(wufei.ledgers.selectors.monthly_figures), the one home of monthly figures."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="EventTonnes"),
        migrations.DeleteModel(name="RollupMark"),
    ]
