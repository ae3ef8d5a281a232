"""Evidence files for entered quantities: the requested department attaches, the region's regulators read,
nobody else does; a closed request takes no more files; a wrong type or an empty file is refused."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import BANAN, KAIZHOU
from wufei.indicators.models import QuantityEvidence

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4 straw survey 2020\n%%EOF"


@pytest.fixture
def request_with_value(shipped, client_for, regulator_of, department_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    regulator = client_for(regulator_of(KAIZHOU))
    user = department_user(KAIZHOU, name="区农业农村委")
    department = user.department_roles.get().department_id
    request_id = regulator.post("/api/v1/indicators/requests", {
        "region": KAIZHOU, "department_id": department, "year": 2020, "keys": ["straw_utilized"],
        "due_date": "2021-03-31"}, content_type="application/json").json()["id"]
    clerk = client_for(user)
    answer = clerk.post(f"/api/v1/indicators/requests/{request_id}/values",
                        {"key": "straw_utilized", "value": "31.97", "unit": "万t"}, content_type="application/json")
    assert answer.status_code == 200
    return {"id": request_id, "clerk": clerk, "regulator": regulator, "version": answer.json()["version"]}


def _upload(client, request_id, name="秸秆利用统计.pdf", content=PDF, key="straw_utilized"):
    return client.post(f"/api/v1/indicators/requests/{request_id}/values/{key}/evidence",
                       {"file": SimpleUploadedFile(name, content, content_type="application/pdf")})


def test_department_attaches_and_regulator_downloads(request_with_value, client_for, regulator_of, make_org,
                                                     member_of, department_user):
    r = request_with_value
    answer = _upload(r["clerk"], r["id"])
    assert answer.status_code == 201, answer.content
    evidence = QuantityEvidence.objects.get(pk=answer.json()["id"])
    assert evidence.size == len(PDF) and len(evidence.sha256) == 64
    download = r["regulator"].get(f"/api/v1/indicators/evidence/{evidence.pk}")
    assert download.status_code == 200 and download.content == PDF
    for outsider in (client_for(regulator_of(BANAN)), client_for(member_of(make_org(region=KAIZHOU))),
                     client_for(department_user(BANAN, name="区农业农村委"))):
        assert outsider.get(f"/api/v1/indicators/evidence/{evidence.pk}").status_code == 404
        assert _upload(outsider, r["id"]).status_code in (403, 404)
    assert QuantityEvidence.objects.count() == 1


def test_wrong_files_are_refused_with_the_field(request_with_value):
    r = request_with_value
    for name, content in (("script.exe", PDF), ("空文件.pdf", b"")):
        answer = _upload(r["clerk"], r["id"], name=name, content=content)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "file"
    assert _upload(r["clerk"], r["id"], key="not_requested").status_code == 422
    assert not QuantityEvidence.objects.exists()


def test_a_submitted_request_takes_no_more_files(request_with_value):
    r = request_with_value
    assert r["clerk"].post(f"/api/v1/indicators/requests/{r['id']}/submit", {"version": r["version"]},
                           content_type="application/json").status_code == 200
    answer = _upload(r["clerk"], r["id"])
    assert answer.status_code == 409 and answer.json()["code"] == "request_closed"


def test_the_request_page_attaches_a_file(request_with_value):
    r = request_with_value
    page = r["clerk"].post(f"/indicators/requests/{r['id']}/", {
        "action": "file", "key": "straw_utilized", "file": SimpleUploadedFile("调查报告.pdf", PDF)})
    assert page.status_code == 302
    detail = r["clerk"].get(f"/indicators/requests/{r['id']}/")
    assert "调查报告.pdf" in detail.content.decode()


def test_an_outsiders_file_is_refused_unread_and_a_large_one_before_it_is_read(request_with_value, client_for,
                                                                             department_user, monkeypatch):
    """The department's right to attach is checked before the upload is read; a file over the limit
    (`indicators.evidence_max_mb`) is refused by its size, unread."""
    from django.core.files.uploadedfile import InMemoryUploadedFile

    from wufei.core.models import Parameter

    r = request_with_value

    def never(*args, **kwargs):
        raise AssertionError("the upload was read")

    def post(client, content):
        upload = io.BytesIO(content)  # the test client reads this, the server an uploaded file it must not read
        upload.name = "秸秆利用统计.pdf"
        return client.post(f"/api/v1/indicators/requests/{r['id']}/values/straw_utilized/evidence", {"file": upload})

    monkeypatch.setattr(InMemoryUploadedFile, "read", never)
    outsider = client_for(department_user(BANAN, name="区农业农村委"))
    assert post(outsider, PDF).status_code in (403, 404)
    Parameter.objects.create(key="indicators.evidence_max_mb", region_code=KAIZHOU, value=1, reason="试点")
    answer = post(r["clerk"], PDF + b" " * 2**20)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "file"
    assert not QuantityEvidence.objects.exists()
