"""API, pages and reports, with the caller's scope."""

import io

import pytest
from openpyxl import load_workbook

from tests.conftest import BANAN, KAIZHOU

pytestmark = pytest.mark.django_db


def test_api_scope_and_evaluation(shipped, client_for, regulator_of, make_org, member_of, english):
    banan = client_for(regulator_of(BANAN))
    plans = banan.get("/api/v1/indicators/plans").json()
    assert [p["key"] for p in plans] == ["banan-2025"]
    kaizhou_plan = shipped["kaizhou-2025"].pk
    assert banan.get(f"/api/v1/indicators/plans/{kaizhou_plan}").status_code == 404
    assert banan.get(f"/api/v1/indicators/regions/{KAIZHOU}/evaluation?year=2020").status_code == 404
    plan = shipped["banan-2025"].pk
    detail = banan.get(f"/api/v1/indicators/plans/{plan}").json()
    assert len(detail["rows"]) == 39 and detail["rows"][0]["targets"][0]["expression"] == {"op": "no_growth"}
    body = banan.get(f"/api/v1/indicators/plans/{plan}/evaluation?year=2020").json()
    assert len(body["results"]) == 39 and sum(body["counts"].values()) == 39
    assert banan.get("/api/v1/indicators/catalog").status_code == 200
    enterprise = client_for(member_of(make_org(region=BANAN)))
    assert enterprise.get("/api/v1/indicators/plans").json() == []
    assert enterprise.get(f"/api/v1/indicators/plans/{plan}/evaluation?year=2020").status_code == 404
    assert enterprise.get(f"/api/v1/indicators/regions/{BANAN}/index?year=2020").status_code == 404


def test_api_data_request_flow(shipped, client_for, regulator_of, department_user, english):
    regulator = client_for(regulator_of(KAIZHOU))
    user = department_user(KAIZHOU, name="区农业农村委")
    department = user.department_roles.get().department_id
    created = regulator.post("/api/v1/indicators/requests", {
        "region": KAIZHOU, "department_id": department, "year": 2020,
        "keys": ["straw_utilized", "straw_collectable"], "due_date": "2021-03-31"}, content_type="application/json")
    assert created.status_code == 201, created.content
    request_id = created.json()["id"]
    clerk = client_for(user)
    for key, value in (("straw_utilized", "31.97"), ("straw_collectable", "36.36")):
        answer = clerk.post(f"/api/v1/indicators/requests/{request_id}/values",
                            {"key": key, "value": value, "unit": "万t", "evidence": "农业统计年报"},
                            content_type="application/json")
        assert answer.status_code == 200, answer.content
    version = answer.json()["version"]
    assert clerk.post(f"/api/v1/indicators/requests/{request_id}/submit", {"version": version},
                      content_type="application/json").status_code == 200
    stale = regulator.post(f"/api/v1/indicators/requests/{request_id}/review", {"approve": True, "version": version},
                           content_type="application/json")
    assert stale.status_code == 409
    review = regulator.post(f"/api/v1/indicators/requests/{request_id}/review",
                            {"approve": True, "version": version + 1}, content_type="application/json")
    assert review.status_code == 200 and review.json()["status"] == "approved"
    again = clerk.post(f"/api/v1/indicators/requests/{request_id}/submit", {"version": review.json()["version"]},
                       content_type="application/json")  # an approved request is sealed: its values stay approved
    assert again.status_code == 409 and again.json()["code"] == "request_closed"
    body = regulator.get(f"/api/v1/indicators/regions/{KAIZHOU}/evaluation?year=2020&codes=straw_utilization").json()
    assert body["results"][0]["value"] == "87.93"
    drill = regulator.get(f"/api/v1/indicators/regions/{KAIZHOU}/drilldown?year=2020&key=straw_utilized").json()
    assert drill["records"][0]["value"].startswith("319700")
    assert clerk.get(f"/api/v1/indicators/regions/{KAIZHOU}/evaluation?year=2020").status_code == 200


def test_reports(shipped, client_for, regulator_of, english):
    banan = client_for(regulator_of(BANAN))
    plan = shipped["banan-2025"].pk
    response = banan.get(f"/api/v1/indicators/plans/{plan}/report.xlsx?year=2023")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[1:] == ["固体废物源头减量", "固体废物资源化利用", "固体废物最终处置", "保障能力",
                                   "群众获得感"]
    sheet = book[book.sheetnames[1]]
    assert sheet["B2"].value == "一般工业固体废物产生强度" and "gisw_generated" in sheet["N2"].value
    html = banan.get(f"/indicators/plans/{plan}/report.html?year=2023").content.decode()
    assert "<svg" in html and "一般工业固体废物产生强度" in html
    pdf = banan.get(f"/indicators/plans/{plan}/report.pdf?year=2023")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_pages(shipped, client_for, regulator_of, make_org, member_of, english):
    banan = client_for(regulator_of(BANAN))
    plan = shipped["banan-2025"].pk
    assert "巴南区" in banan.get("/indicators/").content.decode()
    board = banan.get(f"/indicators/plans/{plan}/?year=2023", HTTP_ACCEPT_LANGUAGE="en")
    assert board.status_code == 200 and "to be judged" in board.content.decode()
    assert "web/echarts.min.js" in board.content.decode()
    assert banan.get(f"/indicators/plans/{shipped['kaizhou-2025'].pk}/").status_code == 404
    assert banan.get(f"/indicators/regions/{BANAN}/drilldown/?year=2023&key=hw_generated").status_code == 200
    assert banan.get(f"/indicators/regions/{BANAN}/rollup/?year=2023").status_code == 200
    assert banan.get(f"/indicators/regions/{KAIZHOU}/rollup/?year=2023").status_code == 404
    assert banan.get(f"/indicators/compare/?year=2023&regions={BANAN}").status_code == 200
    assert banan.get(f"/indicators/compare/?year=2023&regions={BANAN},{KAIZHOU}").status_code == 404
    row = shipped["banan-2025"].rows.get(number=3)
    response = banan.post(f"/indicators/plans/{plan}/judge/", {"row_id": row.pk, "year": 2023, "status": "achieved"})
    assert response.status_code == 302
    assert row.judgements.get(year=2023).status == "achieved"
    outsider = client_for(member_of(make_org(region=BANAN)))
    assert outsider.get(f"/indicators/plans/{plan}/").status_code == 404


def test_request_pages_and_report_figures(shipped, client_for, regulator_of, department_user, english):
    regulator = client_for(regulator_of(KAIZHOU))
    user = department_user(KAIZHOU, name="区农业农村委")
    department = user.department_roles.get().department_id
    page = regulator.get("/indicators/requests/")
    assert "区农业农村委" in page.content.decode()
    sent = regulator.post("/indicators/requests/", {"region": KAIZHOU, "department_id": department, "year": 2020,
                                                    "keys": ["straw_utilized", "straw_collectable"],
                                                    "due_date": "2021-03-31"})
    assert sent.status_code == 302
    request_id = int(sent["Location"].rstrip("/").rsplit("/", 1)[1])
    clerk = client_for(user)
    assert clerk.get("/indicators/requests/").status_code == 200
    for key, value in (("straw_utilized", "31.97"), ("straw_collectable", "36.36")):
        clerk.post(f"/indicators/requests/{request_id}/", {"action": "value", "key": key, "value": value,
                                                            "unit": "万t", "evidence": "年报"})
    from wufei.indicators.models import DataRequest

    version = DataRequest.objects.get(pk=request_id).version
    clerk.post(f"/indicators/requests/{request_id}/", {"action": "submit", "version": version})
    detail = regulator.get(f"/indicators/requests/{request_id}/").content.decode()
    assert "319700" in detail
    version = DataRequest.objects.get(pk=request_id).version
    regulator.post(f"/indicators/requests/{request_id}/", {"action": "approve", "version": version})
    assert DataRequest.objects.get(pk=request_id).status == "approved"
    plan = shipped["kaizhou-2025"].pk
    report = regulator.get(f"/indicators/plans/{plan}/report.xlsx?year=2020", HTTP_ACCEPT_LANGUAGE="en")
    book = load_workbook(io.BytesIO(report.content))
    sheet = book["固体废物资源化利用"]
    straw = next(row for row in sheet.iter_rows(values_only=True) if row[1] == "秸秆综合利用率")
    assert (straw[9], straw[10], straw[11]) == (87.93, 319700, 363600)
    assert straw[14] == "at risk"  # 87.93 % in the baseline year, target 90 % in 2025


def test_the_pdf_report_is_prepared_in_the_background_for_who_asked(shipped, client_for, regulator_of, make_user,
                                                                     django_capture_on_commit_callbacks):
    """The page queues a job and shows its progress; the file is for the person who asked (and administrators)."""
    regulator = regulator_of(BANAN)
    banan = client_for(regulator)
    plan = shipped["banan-2025"].pk
    with django_capture_on_commit_callbacks(execute=True):  # the queue runs the job once the request commits
        answer = banan.post(f"/indicators/plans/{plan}/report-pdf/", {"year": 2023})
    assert answer.status_code == 302 and answer["Location"].startswith("/jobs/")
    page = banan.get(answer["Location"]).content.decode()
    assert 'data-testid="job-file"' in page and "indicators-" in page
    job_id = int(answer["Location"].strip("/").split("/")[-1])
    pdf = banan.get(f"/jobs/{job_id}/file")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    other = client_for(regulator_of(BANAN))
    assert other.get(f"/jobs/{job_id}/").status_code == 404 and other.get(f"/jobs/{job_id}/file").status_code == 404
    assert other.get(f"/api/v1/jobs/{job_id}").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        queued = banan.post(f"/api/v1/indicators/plans/{plan}/report.pdf/jobs?year=2023")
    assert queued.status_code == 202
    status = banan.get(queued.json()["url"]).json()
    assert status["status"] == "done" and status["file_url"].endswith("/file")
    outsider = client_for(make_user())
    assert outsider.post(f"/api/v1/indicators/plans/{plan}/report.pdf/jobs?year=2023").status_code == 404
