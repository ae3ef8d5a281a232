"""A large import (from `imports.background_min_rows` data rows) answers 202 with a background job; the job
checks and writes the file all or nothing, reports rows checked then written, and ends with what it wrote or
with every error by row and column."""

import io

import pytest

from tests.conftest import BANAN
from wufei.core.models import Parameter
from wufei.ledgers.models import SolidWasteMonth

pytestmark = pytest.mark.django_db

HEADER = "organization,year,month,code,opening_stock,generated,closing_stock"


@pytest.fixture
def unit(make_org, member_of, client_for, english):
    org = make_org("甲钢铁有限公司", region=BANAN)
    Parameter.objects.create(key="imports.background_min_rows", region_code=BANAN, value=3, reason="试点")
    client = client_for(member_of(org, "member"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the page's words asserted are the English ones
    return {"org": org, "client": client}


def months_file(org, months=(1, 2, 3)) -> io.BytesIO:
    """5 t generated a month and kept: each month opens with the closing stock of the month before."""
    rows = [f"{org.uscc},2024,{month},SW03,{5 * index},5,{5 * index + 5}" for index, month in enumerate(months)]
    upload = io.BytesIO("\n".join([HEADER, *rows]).encode())
    upload.name = "months.csv"
    return upload


def start(unit, upload, capture):
    with capture(execute=True):  # the job is queued when the request commits; tests run the queue at once
        response = unit["client"].post("/api/v1/solid-waste/imports", {"file": upload})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["url"] == f"/api/v1/jobs/{body['job']}" and body["page"] == f"/jobs/{body['job']}/"
    return body


def test_a_large_import_runs_as_a_job_that_writes_every_row(unit, django_capture_on_commit_callbacks):
    body = start(unit, months_file(unit["org"]), django_capture_on_commit_callbacks)
    job = unit["client"].get(body["url"]).json()
    assert (job["status"], job["progress"], job["message"]) == ("done", 100, "written: 3 / 3")
    assert job["result"] == {"ok": True, "rows": 3, "created": 3, "updated": 0}
    assert SolidWasteMonth.objects.filter(organization=unit["org"]).count() == 3
    page = unit["client"].get(body["page"]).content.decode()
    assert 'data-testid="job-written">Imported 3 rows: 3 created, 0 updated.' in page


def test_a_bad_large_import_ends_with_its_errors_and_writes_nothing(unit, django_capture_on_commit_callbacks):
    body = start(unit, months_file(unit["org"], months=(1, 13, 3)), django_capture_on_commit_callbacks)
    job = unit["client"].get(body["url"]).json()
    assert job["status"] == "done" and job["result"]["ok"] is False
    assert job["result"]["code"] == "import_rejected"
    assert [(e["row"], e["column"], e["field"]) for e in job["result"]["errors"]] == [(3, "C", "month")]
    assert not SolidWasteMonth.objects.exists()
    page = unit["client"].get(body["page"]).content.decode()
    assert 'data-testid="job-errors"' in page and job["result"]["errors"][0]["message"] in page


def test_a_small_import_stays_in_the_request(unit):
    upload = io.BytesIO(f"{HEADER}\n{unit['org'].uscc},2024,1,SW03,0,5,5\n".encode())
    upload.name = "months.csv"
    response = unit["client"].post("/api/v1/solid-waste/imports", {"file": upload})
    assert response.status_code == 200 and response.json() == {"rows": 1, "created": 1, "updated": 0}
