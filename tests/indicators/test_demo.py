"""The indicators demo: shipped plans, requested and approved quantities, the demo year evaluated; reset."""

import pytest

from wufei.core.audit import verify_chain
from wufei.demo import indicators as demo
from wufei.demo import registry as registry_demo
from wufei.demo.builders import reset_demo
from wufei.demo.tracking import demo_year
from wufei.indicators.models import DataRequest, Evaluation, Indicator, Plan

pytestmark = pytest.mark.django_db


def test_demo_builds_evaluates_and_resets():
    registry_demo.build(None)
    assert not demo.is_built()
    counts = demo.build(None)
    assert demo.is_built() and counts["plans"] == 4
    year = demo_year()
    straw = Evaluation.objects.get(row__plan__key="kaizhou-2025", row__number=11, year=year)
    assert str(straw.value.quantize(straw.value.__class__("0.01"))) == "87.93"
    assert straw.status == "not_achieved" if year >= 2025 else straw.status in ("on_track", "at_risk")
    rural = Evaluation.objects.get(row__plan__key="banan-2025", row__number=9, year=year)
    assert str(rural.value.quantize(rural.value.__class__("0.01"))) == "17.68"
    assert DataRequest.objects.filter(status="approved").count() == counts["requests"]
    reset_demo()
    assert not Plan.objects.exists() and not Evaluation.objects.exists()
    assert Indicator.objects.count() == 62  # the shipped catalog is the platform's (loaded at migrate), not the demo's
    assert verify_chain().ok
