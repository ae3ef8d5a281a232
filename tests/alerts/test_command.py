import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from tests.alerts.conftest import NOW, manifest
from wufei.alerts import geo
from wufei.alerts.models import Alert, TrackPoint

pytestmark = pytest.mark.django_db


def test_scan_command_twice_opens_once(chain):
    manifest(chain, tonnes="45")
    out = io.StringIO()
    call_command("alerts", "scan", stdout=out)
    assert "manifest.overweight: 1 tripping, 1 opened" in out.getvalue()
    out = io.StringIO()
    call_command("alerts", "scan", "--full", stdout=out)
    assert "0 alerts opened" in out.getvalue()
    assert Alert.objects.count() == 1
    with pytest.raises(CommandError):
        call_command("alerts", "scan", "--rule", "nonsense")


def test_tracks_command_imports_a_csv(chain, tmp_path):
    m = manifest(chain, status="in_transit")
    path = tmp_path / "t.csv"
    path.write_text("manifest,leg,recorded_at,longitude,latitude,speed_kmh\n"
                    f"{m.number},1,{(NOW - dt.timedelta(minutes=1)).isoformat()},106.5,29.5,30\n")
    out = io.StringIO()
    call_command("alerts", "tracks", str(path), stdout=out)
    assert "1 of 1 points stored on 1 legs" in out.getvalue()
    assert TrackPoint.objects.count() == 1


def test_geometry():
    assert 111_000 < geo.distance_m(106, 29, 106, 30) < 111_400
    assert geo.distance_to_segment_m(106.5, 29.5, 106, 29.5, 107, 29.5) < 1
    assert 110_000 < geo.distance_to_segment_m(106.5, 30.5, 106, 29.5, 107, 29.5) < 112_000
    assert geo.distance_to_segment_m(108, 29.5, 106, 29.5, 107, 29.5) > 90_000  # beyond the end
