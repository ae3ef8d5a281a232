"""The public report form: validation at each field, photos, rate limit, honeypot, tracking number and
the follow-up with the secret."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.cases.conftest import JPEG, PNG
from tests.conftest import BANAN, KAIZHOU
from wufei.cases import services
from wufei.cases.models import Report, ReportPhoto
from wufei.core.errors import ValidationFailed

pytestmark = pytest.mark.usefixtures("english")


def _errors(exc) -> dict:
    return {e["field"]: e["message"] for e in exc.value.errors}


def test_form_lists_the_installation_districts(districts):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/cases/report/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{BANAN}"' in html and f'value="{KAIZHOU}"' in html
    assert 'value="110101"' not in html  # Beijing is nobody's here
    assert 'name="website"' in html and 'id="use-location"' in html
    # the location button's script is a static file (no inline script under the CSP)
    assert '/static/cases/report.js' in html and "<script>" not in html
    assert "navigator.geolocation" in Path(finders.find("cases/report.js")).read_text(encoding="utf-8")
    assert {r.code for r in services.public_regions()} == {BANAN, KAIZHOU}


def test_submission_gives_number_and_secret_once_and_stores_only_the_hash(submit):
    response = submit(files=[SimpleUploadedFile("现场.jpg", JPEG), SimpleUploadedFile("b.png", PNG)])
    assert response.status_code == 201
    html = response.content.decode()
    number = re.search(r"TS\d{8}\d{4}", html).group(0)
    report = Report.objects.get(number=number)
    secret = re.search(r"<code>([^<]+)</code>", html).group(1)
    assert report.secret_hash == services.hash_secret(number, secret) and secret not in report.secret_hash
    assert report.region_id == BANAN and report.region_path == "/500000/500113/"
    assert str(report.longitude) == "106.540000" and report.contact_phone == "13800138000"
    assert ReportPhoto.objects.filter(report=report).count() == 2
    assert report.status == "submitted" and report.version == 1
    assert "no-store" in response["Cache-Control"]
    second = submit()
    assert second.status_code == 201
    serial = int(number[-4:])
    assert Report.objects.order_by("-pk").first().number == f"{number[:-4]}{serial + 1:04d}"


def test_each_error_is_at_its_field(submit):
    response = submit(kind="x", region="110101", place="", longitude="abc", latitude="29.4", description="短",
                      contact_phone="call me", consent=None)
    assert response.status_code == 422
    html = response.content.decode()
    for field in ("kind", "region", "place", "longitude", "description", "contact_phone", "consent"):
        assert f'id="{field}-error"' in html, field
    assert 'aria-describedby="place-error"' in html
    assert "choose one of the districts listed" in html and "tick the box to agree" in html
    assert Report.objects.count() == 0
    assert "巴南区某路口桥下" not in html  # the place was sent empty; the other values come back
    assert "call me" in html


def test_service_errors_name_the_fields(districts):
    with pytest.raises(ValidationFailed) as exc:
        services.submit_report(kind="complaint", region=BANAN, place="x", description="一二三四五六七八九十",
                               longitude="106.5", latitude="", consent=True)
    assert _errors(exc) == {"latitude": "give both longitude and latitude, or neither"}
    with pytest.raises(ValidationFailed) as exc:
        services.submit_report(kind="complaint", region=BANAN, place="x", description="一二三四五六七八九十",
                               longitude="200", latitude="29", consent=True)
    assert set(_errors(exc)) == {"longitude"}


def test_photos_refused_by_type_size_count_and_content(submit, settings):
    response = submit(files=[SimpleUploadedFile("a.pdf", b"%PDF-1.4")])
    assert response.status_code == 422 and 'id="photos-error"' in response.content.decode()
    assert "allowed files" in response.content.decode()
    big = JPEG + b"\x00" * services.MAX_PHOTO_BYTES
    response = submit(files=[SimpleUploadedFile("big.jpg", big)])
    assert response.status_code == 422 and "larger than 5 MB" in response.content.decode()
    response = submit(files=[SimpleUploadedFile(f"{i}.jpg", JPEG) for i in range(4)])
    assert response.status_code == 422 and "at most 3 photos" in response.content.decode()
    response = submit(files=[SimpleUploadedFile("fake.jpg", b"<html>not an image</html>")])
    assert response.status_code == 422 and "not a JPEG or PNG image" in response.content.decode()
    assert Report.objects.count() == 0 and ReportPhoto.objects.count() == 0


def test_rate_limit_per_client_address(submit):
    client = Client(REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT_LANGUAGE="en")
    bad = submit(client, description="")  # refused forms do not use up the allowance
    assert bad.status_code == 422
    for _ in range(services.REPORTS_PER_HOUR):
        assert submit(client).status_code == 201
    refused = submit(client)
    assert refused.status_code == 429
    assert "Too many reports" in refused.content.decode()
    assert Report.objects.count() == services.REPORTS_PER_HOUR
    other = Client(REMOTE_ADDR="203.0.113.8", HTTP_ACCEPT_LANGUAGE="en")
    assert submit(other).status_code == 201  # another address is not limited


def test_the_allowance_lasts_the_hour_in_the_shared_cache(submit, monkeypatch):
    """The cache every process shares (a database table here) keeps the count for the hour, not the cache's
    default five minutes."""
    import datetime as dt

    from django.core.cache.backends import db
    from django.utils import timezone

    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(services.REPORTS_PER_HOUR):
        assert submit(client).status_code == 201
    later = timezone.now() + dt.timedelta(minutes=20)
    monkeypatch.setattr(db, "tz_now", lambda: later)  # the cache's clock
    assert submit(client).status_code == 429


def test_honeypot_creates_nothing(submit):
    response = submit(website="http://spam.example")
    assert response.status_code == 400
    assert Report.objects.count() == 0
    assert 'data-testid="tracking-number"' not in response.content.decode()


def test_follow_up_shows_status_and_public_text_only_with_the_secret(filed, banan_regulator):
    report, secret = filed()
    scope = services.scope_for(banan_regulator)
    report = services.transition(scope=scope, report_id=report.pk, action="accept", version=1,
                                 note="内部：转执法支队")
    report = services.transition(scope=scope, report_id=report.pk, action="investigate", version=report.version)
    services.transition(scope=scope, report_id=report.pk, action="close", version=report.version,
                        result="已责令清理，立案处罚。", note="内部：罚款五万元")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/cases/follow/", {"number": report.number, "secret": secret})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="follow-status">closed<' in html and "已责令清理，立案处罚。" in html
    assert "内部" not in html and "罚款" not in html and "13800138000" not in html
    wrong = client.post("/cases/follow/", {"number": report.number, "secret": secret + "x"})
    assert wrong.status_code == 404
    text = wrong.content.decode()
    assert "No report matches" in text and "已责令清理" not in text and 'data-testid="follow-result"' not in text
    assert client.post("/cases/follow/", {"number": "TS20000101" + "0001", "secret": secret}).status_code == 404


def test_follow_up_of_a_rejected_report_shows_the_reason(filed, banan_regulator):
    report, secret = filed()
    services.transition(scope=services.scope_for(banan_regulator), report_id=report.pk, action="reject",
                        version=1, reason="不属于固体废物监管范围，已转交城管部门。", note="内部备注")
    view = services.follow_up(number=report.number.lower(), secret=secret)
    assert view["status"] == "rejected" and view["rejection_reason"].startswith("不属于") and view["result"] == ""
    assert "internal_note" not in view and "contact_phone" not in view


def test_follow_up_attempts_are_limited(filed):
    report, secret = filed()
    client = Client(REMOTE_ADDR="198.51.100.1", HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(services.FOLLOW_UPS_PER_HOUR):
        client.post("/cases/follow/", {"number": report.number, "secret": "guess"})
    response = client.post("/cases/follow/", {"number": report.number, "secret": secret})
    assert response.status_code == 429 and 'data-testid="follow-result"' not in response.content.decode()


def test_api_create_anonymous_multipart_with_photo_and_rate_limit(districts):
    client = Client(REMOTE_ADDR="192.0.2.9", HTTP_ACCEPT_LANGUAGE="en")
    data = {"kind": "complaint", "region": KAIZHOU, "place": "开州区某河滩", "description": "河滩上堆放大量建筑垃圾。",
            "consent": "true", "photos": [SimpleUploadedFile("x.jpg", JPEG)]}
    response = client.post("/api/v1/cases/reports", data)
    assert response.status_code == 201, response.content
    body = response.json()
    report = Report.objects.get(number=body["number"])
    assert report.region_id == KAIZHOU and report.photos.count() == 1
    assert services.follow_up(number=body["number"], secret=body["secret"])["status"] == "submitted"
    response = client.post("/api/v1/cases/reports", {**data, "photos": [], "consent": "false", "region": "1"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"consent", "region"}
    for _ in range(services.REPORTS_PER_HOUR - 1):
        assert client.post("/api/v1/cases/reports", {**data, "photos": []}).status_code == 201
    limited = client.post("/api/v1/cases/reports", {**data, "photos": []})
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    bot = Client(REMOTE_ADDR="192.0.2.10", HTTP_ACCEPT_LANGUAGE="en")
    honeypot = bot.post("/api/v1/cases/reports", {**data, "photos": [], "website": "x"})
    assert honeypot.status_code == 400 and honeypot.json()["code"] == "rejected"
    assert Report.objects.count() == services.REPORTS_PER_HOUR
