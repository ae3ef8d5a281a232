"""The public side in a real browser: a resident on a phone reads the disclosure lists, verifies a manifest by its
number, reports illegal dumping with a photo and their location; the district regulator handles the report in the
queue; the resident follows it up with the number and the secret."""

from io import BytesIO

import pytest
from PIL import Image

from tests.conftest import BANAN
from tests.e2e.conftest import PHONE, wait_until
from tests.manifests.conftest import draft, run
from wufei.cases.models import Report
from wufei.registry.models import SupervisionClass

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DUMP_SITE = {"latitude": 29.3921, "longitude": 106.5407}


def photo_png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_resident_reports_dumping_and_follows_it_up(people, chain, regulator_of):
    chain.generator.supervision_override = SupervisionClass.KEY  # the regulator's decision, with its reason
    chain.generator.supervision_override_reason = "重点排污单位名录"
    chain.generator.contact_phone = "13900001111"
    chain.generator.save()
    manifest = draft(chain, chain.record(count=1))
    run(chain, manifest, "submit", "generator_admin")
    manifest.refresh_from_db()
    regulator = regulator_of(BANAN)

    resident = people("resident", **PHONE, geolocation=DUMP_SITE, permissions=["geolocation"])
    page = resident.page
    resident.goto("/")
    with page.expect_navigation():
        page.locator("a[href='/portal/']:visible").first.click()
    resident.shot("portal")

    # Disclosure: the key unit is listed, its contact phone is not.
    with page.expect_navigation():
        page.click("main a[href^='/portal/key-units/']")
    assert chain.generator.name in resident.text() and chain.generator.uscc in resident.text()
    assert "13900001111" not in page.content()
    resident.shot("key-units")

    # Verification by number and access code: the public page shows the status and the parties, not the container
    # codes.
    resident.goto("/portal/verify/")
    page.fill("main input[name=number]", manifest.number)
    page.fill("main input[name=code]", manifest.access_code)  # printed next to the QR code
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert manifest.number in resident.text() and chain.receiver.name in resident.text()
    assert manifest.carried.first().container.code not in page.content()
    resident.shot("manifest-verified")

    # The report: kind, description, place, the phone's location, a photo, consent.
    resident.goto("/cases/report/")
    page.select_option("#r-kind", "illegal_dumping")
    page.fill("#r-description", "河边有人倾倒油桶，约十个，有刺鼻气味。")
    page.select_option("#r-region", BANAN)
    page.fill("#r-place", "巴南区花溪街道河滨路旁")
    page.click("#use-location")
    wait_until(page, "document.getElementById('r-latitude').value !== ''")
    page.set_input_files("#r-photos", files=[{"name": "dump.png", "mimeType": "image/png", "buffer": photo_png()}])
    page.check("#r-consent")
    assert not resident.unlabelled_fields()
    resident.shot("report-form")
    resident.submit("main form button[type=submit]")
    number = page.inner_text("[data-testid=tracking-number]").strip()
    secret = page.inner_text("[data-testid=secret]").strip()
    report = Report.objects.get(number=number)
    assert report.region_id == BANAN and report.kind == "illegal_dumping"
    assert float(report.latitude) == pytest.approx(DUMP_SITE["latitude"], abs=1e-4)
    assert report.photos.count() == 1
    resident.shot("report-sent")

    # The district regulator finds it in the queue, sees the photo, accepts, investigates and closes it.
    officer = people("regulator")
    officer.login(regulator.username)
    officer.goto("/cases/")
    assert number in officer.text()
    with officer.page.expect_navigation():
        officer.page.click(f"main a:has-text('{number}')")
    officer.page.locator(".case-photos img").first.scroll_into_view_if_needed()
    wait_until(officer.page, "[...document.querySelectorAll('.case-photos img')]"
                             ".every(i => i.complete && i.naturalWidth === 64)")
    officer.shot("case-detail")
    for action, fields in (("accept", {}), ("investigate", {}),
                           ("close", {"#a-result": "已查明倾倒者，责令清运并立案处罚。"})):
        form = officer.page.locator(f"form:has(input[name=action][value={action}])")
        form.locator("xpath=ancestor::details").locator("summary").click()
        for selector, value in fields.items():
            form.locator(selector).fill(value)
        with officer.page.expect_navigation():
            form.locator("button[type=submit]").click()
    report.refresh_from_db()
    assert report.status == "closed"
    officer.shot("case-closed")

    # The resident follows it up: the public result, no internal notes.
    resident.goto("/cases/follow/")
    page.fill("#f-number", number)
    page.fill("#f-secret", secret)
    resident.submit("main form button[type=submit]")
    assert "已查明倾倒者" in page.inner_text("[data-testid=follow-text]")
    resident.shot("follow-up")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not resident.console_errors and not officer.console_errors
