"""Helpers for the alert tests: a scan at a fixed moment, the open alerts of a rule, manifests made directly."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.manifests.conftest import MEDICAL, OIL, SOLVENT, chain  # noqa: F401  (the fixture)
from wufei.alerts import scanner
from wufei.alerts.models import ACTIVE, Alert
from wufei.manifests.models import Manifest, ManifestLine, ManifestStatus, TransportLeg

_numbers = itertools.count(1)
NOW = timezone.now().replace(microsecond=0)
__all__ = ["MEDICAL", "OIL", "SOLVENT", "NOW"]


def scan(now=None, **kwargs):
    return scanner.scan(now=now or NOW, **kwargs)


def active(rule, **filters):
    return list(Alert.objects.filter(rule_id=rule, status__in=ACTIVE, **filters))


def manifest(chain, *, status=ManifestStatus.PROCESSED, code=SOLVENT, tonnes="2", generator=None,  # noqa: F811
             receiver=None, method="D10", submitted_at=None, vehicle=True, **fields):
    """A manifest written directly (the scan must also find what the services would have refused)."""
    submitted_at = submitted_at or NOW - dt.timedelta(days=3)
    m = Manifest.objects.create(
        number=f"2026500100{next(_numbers):04d}", kind=fields.pop("kind", "hazardous"), status=status,
        generator=generator or chain.generator, receiver=receiver or chain.receiver, submitted_at=submitted_at,
        picked_up_at=fields.pop("picked_up_at", submitted_at), shipped_tonnes=Decimal(tonnes),
        accepted_tonnes=Decimal(tonnes) if status in (ManifestStatus.RECEIVED, ManifestStatus.PROCESSED) else 0,
        **fields)
    ManifestLine.objects.create(manifest=m, position=1, waste_id=code, waste_name="废物",
                                shipped_tonnes=Decimal(tonnes), accepted_tonnes=m.accepted_tonnes,
                                planned_method_id=method)
    TransportLeg.objects.create(manifest=m, position=1, transporter=chain.transporter,
                                vehicle=chain.vehicle if vehicle else None, taken_at=m.picked_up_at)
    return m


@pytest.fixture
def at_now(monkeypatch):
    """Freeze timezone.now() (and localdate) at NOW for services that read the clock."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
