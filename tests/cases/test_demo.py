"""The complaints demo builder on a minimal installation (the regulator accounts it needs)."""

import pytest

from tests.conftest import BANAN, KAIZHOU
from wufei.cases import services
from wufei.cases.models import Report, ReportPhoto
from wufei.core import audit
from wufei.demo import cases as demo


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_build_files_and_handles_reports(regulator_of):
    regulator_of(BANAN, username="regulator")
    regulator_of(KAIZHOU, username="kaizhou-regulator")
    assert not demo.is_built()
    counts = demo.build()
    assert demo.is_built()
    assert counts["reports"] == len(demo.REPORTS) == Report.objects.count()
    assert counts["steps"] == sum(len(row[-1]) for row in demo.REPORTS)
    assert ReportPhoto.objects.count() == 5
    statuses = sorted(Report.objects.values_list("status", flat=True))
    assert statuses.count("closed") == 2 and statuses.count("rejected") == 1 and statuses.count("submitted") == 3
    closed = Report.objects.filter(status="closed", region_id=BANAN).get()
    assert [h["action"] for h in services.history(closed)][-3:] == ["accept", "investigate", "close"]
    assert audit.verify_chain().ok
