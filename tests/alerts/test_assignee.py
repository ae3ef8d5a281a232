"""An alert is handed only to an active regulator of its region: an unknown account or an enterprise user is refused
naming the field (an unknown id was written as it came and broke the database's reference at commit)."""

import json

import pytest

from tests.alerts.conftest import manifest, scan
from wufei.alerts.models import Alert

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_only_a_regulator_of_the_region_can_be_assigned(chain, client_for, regulator_of):
    manifest(chain, tonnes="45")  # overweight: an alert about the carrier (Banan)
    scan()
    alert = Alert.objects.get(rule_id="manifest.overweight")
    regulator = client_for(regulator_of(chain.transporter.region_id))
    for stranger in (987654, chain.generator_admin.pk):
        answer = regulator.post(f"/api/v1/alerts/{alert.pk}/assign", json.dumps(
            {"version": alert.version, "assignee_id": stranger}), content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="en")
        assert answer.status_code == 422, answer.content
        assert [e["field"] for e in answer.json()["errors"]] == ["assignee_id"]
    assert Alert.objects.get(pk=alert.pk).assignee_id is None
