"""The cockpit's one table of its own: monthly tonnes of weighed scan events, summed once.

Scan events are only ever added, never edited, and the facts summed here (the event's organization, kind,
time and weight, the container's waste code and origin) never change after the event is written; so a sum
over the events up to a given id stays exact until a row is deleted, which `rollup.refresh` detects.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from wufei.registry.models import Organization


class EventTonnes(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))  # first day, Asia/Shanghai
    kind = models.CharField(_("event"), max_length=14)  # produced / self_utilized / self_disposed
    stream = models.CharField(_("stream"), max_length=10)  # hazardous / medical
    tonnes = models.DecimalField(_("tonnes"), max_digits=18, decimal_places=6)
    events = models.PositiveIntegerField(_("events"))

    class Meta:
        verbose_name = _("monthly tonnes of scan events")
        constraints = [models.UniqueConstraint(fields=["organization", "month", "kind", "stream"],
                                               name="analytics_event_tonnes_unique")]
        indexes = [models.Index(fields=["month", "kind"])]

    def __str__(self):
        return f"{self.organization_id} {self.month:%Y-%m} {self.kind} {self.stream}: {self.tonnes} t"


class RollupMark(models.Model):
    """How far EventTonnes reaches: every weighed event with id ≤ last_event_id is summed, event_count of them
    (all kinds, weighed or not) existed then."""

    name = models.CharField(max_length=30, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    event_count = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True)

    def __str__(self):
        return f"{self.name} ≤ {self.last_event_id}"
