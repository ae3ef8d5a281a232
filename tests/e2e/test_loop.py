"""The whole loop in a real browser, as four people: the generator records a batch, prints its label and starts a
manifest; the driver signs the pickup on a phone; the receiver checks the load in and records its disposal; the
city regulator sees the tonnes move in the cockpit and its Sankey."""

from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader

from tests.conftest import BANAN, CHONGQING
from tests.e2e.conftest import PHONE
from wufei.manifests.models import Manifest
from wufei.tracking.models import Container

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SOLVENT = "900-402-06"


def figure(user, key: str) -> Decimal:
    text = user.page.inner_text(f"[data-figure='{key}']")
    return Decimal(text.replace(",", "").replace("t", "").strip() or "0")


def cockpit_figures(user, region: str) -> dict[str, Decimal]:
    user.goto(f"/cockpit/?region={region}")
    return {key: figure(user, key) for key in
            ("hazardous.generated", "hazardous.stored", "hazardous.transferred", "hazardous.disposed")}


def flow_rows(user) -> list[str]:
    return [row.inner_text() for row in user.page.query_selector_all("#flows tbody tr")]


def test_the_whole_loop_as_four_users(people, chain, regulator_of, make_user):
    regulator = regulator_of(CHONGQING)
    chain.driver.username = "driver-zhang"
    chain.driver.save()

    # The city regulator looks at the cockpit before anything happens.
    city = people("regulator")
    city.login(regulator.username)
    before = cockpit_figures(city, CHONGQING)
    city.shot("cockpit-before")

    # 1. The generator records a batch of two drums and prints their labels.
    generator = people("generator")
    generator.login(chain.generator_admin.username)
    generator.goto("/workspace/")
    generator.shot("workspace")
    with generator.page.expect_navigation():
        generator.page.click("[data-testid=quick-record]")
    page = generator.page
    page.fill("#f-waste", SOLVENT)
    page.fill("#f-name", "废有机溶剂（清洗）")
    page.select_option("#f-form", "liquid")
    page.select_option("#f-packaging", "drum")
    page.fill("#f-count", "2")
    page.fill("#f-weight", "0.65")
    assert not generator.unlabelled_fields()
    generator.shot("record-batch")
    generator.submit("form.form button[type=submit]")
    containers = list(Container.objects.filter(organization=chain.generator).order_by("pk"))
    assert len(containers) == 2 and all(c.net_weight_tonnes == Decimal("0.65") for c in containers)
    assert containers[0].code in generator.text() or containers[1].code in generator.text()
    generator.shot("batch-recorded")

    generator.goto("/workspace/")
    labels_url = page.get_attribute("[data-testid=quick-labels]", "href")
    label = generator.context.request.get(generator.base_url + labels_url)
    assert label.ok and label.headers["content-type"] == "application/pdf" and label.body().startswith(b"%PDF")
    printed = "".join(p.extract_text() for p in PdfReader(BytesIO(label.body())).pages)
    assert all(c.code in printed.replace("\n", "").replace(" ", "") for c in containers), printed[:300]

    # 2. The generator starts a manifest for both drums and submits it.
    generator.goto("/workspace/")
    with page.expect_navigation():
        page.click("[data-testid=quick-manifest]")
    page.select_option("#f-receiver", str(chain.receiver.pk))
    page.select_option("#f-method", "D10")
    page.select_option("#f-leg0-transporter", str(chain.transporter.pk))
    page.select_option("#f-leg0-vehicle", str(chain.vehicle.pk))
    page.fill("#f-leg0-driver", "张师傅")
    for container in containers:
        page.check(f"#c-{container.pk}")
    assert not generator.unlabelled_fields()
    generator.shot("manifest-draft")
    generator.submit("form.form button[type=submit]")
    manifest = Manifest.objects.get(generator=chain.generator)
    assert manifest.status == "draft" and manifest.shipped_tonnes == Decimal("1.3")
    with page.expect_navigation():
        page.click("[data-testid=step-submit]")
    generator.submit()
    manifest.refresh_from_db()
    assert manifest.status == "submitted" and len(manifest.number) == 14
    assert manifest.number in generator.text()
    generator.shot("manifest-submitted")

    # 3. The driver, on a phone, finds today's pickup and signs it.
    driver = people("driver", **PHONE)
    driver.login(chain.driver.username)
    driver.goto("/manifests/today/")
    assert manifest.number in driver.text() and chain.generator.name in driver.text()
    assert driver.page.evaluate("document.documentElement.scrollWidth") <= 390, "the phone page scrolls sideways"
    driver.shot("todays-pickups")
    with driver.page.expect_navigation():
        driver.page.click(f"[data-testid=pickup-{manifest.pk}]")
    driver.page.select_option("#f-vehicle", str(chain.vehicle.pk))
    assert not driver.unlabelled_fields()
    driver.shot("sign-pickup")
    driver.submit()
    manifest.refresh_from_db()
    assert manifest.status == "in_transit"
    driver.shot("in-transit")

    # 4. The receiver checks the load in (weighbridge 1.29 t) and records its disposal by incineration (D10).
    receiver = people("receiver")
    receiver.login(chain.receiver_admin.username)
    receiver.goto(f"/manifests/{manifest.pk}/")
    with receiver.page.expect_navigation():
        receiver.page.click("[data-testid=step-receive]")
    receiver.page.fill("#f-total", "1.29")
    assert not receiver.unlabelled_fields()
    receiver.shot("check-in")
    receiver.submit()
    manifest.refresh_from_db()
    assert manifest.status == "received" and manifest.received_tonnes == Decimal("1.29")
    with receiver.page.expect_navigation():
        receiver.page.click("[data-testid=step-process]")
    receiver.page.select_option("#f-method-1", "D10")
    receiver.submit()
    manifest.refresh_from_db()
    assert manifest.status == "processed"
    assert "D10" in receiver.text()
    receiver.shot("processed")

    # 5. The regulator sees the tonnes move (the units' ledgers): generated by 1.3 t, transferred out by the 1.3 t
    # that left the plant, disposed of by the 1.29 t the receiver weighed (what it received); stock back.
    after = cockpit_figures(city, CHONGQING)
    assert after["hazardous.generated"] - before["hazardous.generated"] == Decimal("1.300")
    assert after["hazardous.transferred"] - before["hazardous.transferred"] == Decimal("1.300")
    assert after["hazardous.disposed"] - before["hazardous.disposed"] == Decimal("1.290")
    assert after["hazardous.stored"] == before["hazardous.stored"]
    flows = flow_rows(city)
    assert any(chain.receiver.name in row and "1.29" in row for row in flows), flows
    assert any("D10" in row for row in flows), flows
    city.page.wait_for_selector("#sankey[data-rendered=true] canvas")
    city.shot("cockpit-after")

    # Drill down to the generator's district: the same tonnes, generated there.
    banan = cockpit_figures(city, BANAN)
    assert banan["hazardous.generated"] >= Decimal("1.300")
    city.page.wait_for_selector("#sankey[data-rendered=true] canvas")
    city.shot("cockpit-banan")
    for user in (generator, driver, receiver, city):
        assert not user.console_errors, (user.name, user.console_errors)
