"""Tracking's background job (wufei.core.jobs): the recorded generation behind each unit's supervision class."""

from wufei.core.jobs import periodic
from wufei.tracking import services


@periodic("tracking.supervision_refresh")
def supervision_refresh() -> dict:
    """Every unit's recorded hazardous waste (last full year, running twelve months) and its class: the running
    twelve months move with the calendar, so daily."""
    return services.refresh_recorded_generation()
