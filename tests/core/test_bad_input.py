"""Input a careless or hostile client sends: absurd figures, NUL characters and dates of year 1 are refused with a
message naming the field, never stored and never a server error (on SQLite and on PostgreSQL alike)."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from tests.conftest import BANAN, uscc_for
from tests.manifests.conftest import chain, draft, run  # noqa: F401 (the manifest chain fixture)
from tests.registry.test_imports import ORG_HEADER, as_csv
from tests.tracking import SOLVENT, make_plant
from wufei.manifests.models import Manifest
from wufei.registry.models import Organization
from wufei.tracking.models import Container

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def plant(make_org, make_site, member_of):
    return make_plant(make_org, make_site, member_of)


@pytest.fixture
def api(plant, client_for):
    return client_for(plant["admin"])


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def batch(plant, **overrides):
    return {"organization_id": plant["org"].pk, "waste_code": SOLVENT, "physical_form": "liquid",
            "packaging": "drum", "net_weight_tonnes": "0.2", "storage_site_id": plant["store"].pk, **overrides}


def fields_of(response) -> set[str]:
    return {error["field"] for error in response.json().get("errors", [])}


# --- quantities ---------------------------------------------------------------------------------------------------

def test_tonnes_beyond_what_one_record_can_hold_are_refused_naming_the_field(api, plant):
    for figure in (1e30, "1e30", "12345678901"):
        answer = post(api, "/api/v1/containers", batch(plant, net_weight_tonnes=figure))
        assert answer.status_code == 422, answer.content
        assert fields_of(answer) == {"net_weight_tonnes"}
    assert not Container.objects.exists()


def test_an_imported_file_with_an_absurd_figure_names_its_row_and_column(client_for, platform_admin):
    rows = [ORG_HEADER, [uscc_for(BANAN), "导入单位", "500113", "产废单位", "1e30", 106.5, 29.4]]
    answer = client_for(platform_admin).post(
        "/api/v1/imports/organizations", {"file": _upload(as_csv(rows), "orgs.csv")}, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 422, answer.content
    assert [(e["row"], e["field"]) for e in answer.json()["errors"]] == [(2, "annual_hazardous_waste_tonnes")]
    assert not Organization.objects.filter(name="导入单位").exists()


def test_a_weighbridge_figure_far_off_what_was_shipped_is_flagged_not_a_server_error(chain, client_for):  # noqa: F811
    """0.5 t shipped, 999,999,999 t weighed: |999999999 − 0.5| / 0.5 = 2e11 %, more than the record's 6 integer
    digits: it is kept as 999999.999 % and flagged."""
    drum = chain.record(tonnes="0.5")[0]
    manifest = draft(chain, [drum])
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    manifest.refresh_from_db()
    answer = post(client_for(chain.receiver_admin), f"/api/v1/manifests/{manifest.pk}/sign",
                  {"step": "receive", "version": manifest.version, "data": {"received_tonnes": "999999999"}})
    assert answer.status_code == 200, answer.content
    assert answer.json()["discrepancy"] is True and answer.json()["discrepancy_percent"] == "999999.999"
    too_much = Manifest.objects.get(pk=manifest.pk)
    assert str(too_much.received_tonnes) == "999999999.000000"


# --- NUL characters -----------------------------------------------------------------------------------------------

def test_a_nul_character_in_a_json_body_is_refused_naming_the_field(api, plant):
    answer = post(api, "/api/v1/containers/bulk", {"organization_id": plant["org"].pk,
                                                   "batches": [batch(plant, note="drum\x00 7")]})
    assert answer.status_code == 422, answer.content
    assert fields_of(answer) == {"batches.0.note"}
    assert "NUL" in answer.json()["errors"][0]["message"]
    assert not Container.objects.exists()


def test_a_nul_character_in_a_query_string_is_refused(api):
    answer = api.get("/api/v1/containers?q=drum%00", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 422, answer.content
    assert fields_of(answer) == {"q"}


def test_a_nul_character_in_a_form_post_is_refused(client, make_user):
    make_user("clerk")
    answer = client.post("/accounts/login/", {"username": "clerk\x00", "password": "wufei-test-pw"},
                         HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 400
    assert "username" in answer.content.decode() and "NUL" in answer.content.decode()


# --- dates --------------------------------------------------------------------------------------------------------

def test_a_container_produced_before_2000_is_refused_and_no_malformed_code_is_made(api, plant):
    answer = post(api, "/api/v1/containers", batch(plant, produced_at="0001-01-01T08:00:00+08:00"))
    assert answer.status_code == 422, answer.content
    assert fields_of(answer) == {"produced_at"}
    assert not Container.objects.exists()


def test_an_event_date_more_than_a_year_ahead_is_refused(make_org, regulator_of, client_for):
    unit = make_org()
    later = timezone.localdate() + dt.timedelta(days=400)
    answer = post(client_for(regulator_of()), f"/api/v1/organizations/{unit.pk}/close",
                  {"version": unit.version, "reason": "停产", "closed_on": later.isoformat()})
    assert answer.status_code == 422, answer.content
    assert fields_of(answer) == {"closed_on"}
    assert Organization.objects.get(pk=unit.pk).closed_on is None


def _upload(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")
