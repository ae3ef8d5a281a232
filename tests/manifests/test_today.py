"""The carrier's day on a phone (/manifests/today/): only the carrier's loads, big cards with the load's facts, and
sign links that work — followed and signed through the page here (pickup by a driver, handover and check-in by
the next party on the driver's phone with its gate code)."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import BANAN
from tests.manifests.conftest import draft, run
from wufei.manifests import services
from wufei.manifests.models import Manifest, ManifestStatus, Signature

pytestmark = pytest.mark.django_db
S = ManifestStatus
TODAY = reverse("manifests:today")


def text(response) -> str:
    return response.content.decode()


def section(page: str, testid: str) -> str:
    """The HTML of one <section data-testid=…> of the page (empty when it is not there)."""
    start = page.find(f'data-testid="{testid}"')
    if start < 0:
        return ""
    return page[start:page.find("</section>", start)]


def sign_links(html: str) -> list[str]:
    return re.findall(r'href="(/manifests/\d+/sign/[a-z]+/)"', html)


@pytest.fixture
def phone(client_for):
    def make(user):
        client = client_for(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


@pytest.fixture
def other_carrier(make_org, member_of, make_vehicle):
    carrier = make_org("别家运输有限公司", region=BANAN, roles=("transporter",))
    return {"org": carrier, "admin": member_of(carrier, "admin"), "vehicle": make_vehicle(carrier, plate="渝B99999")}


def submitted(chain, *, legs=None, count=1):
    manifest = draft(chain, chain.record(count=count), legs=legs)
    run(chain, manifest, "submit", "generator_admin")
    manifest.refresh_from_db()
    return manifest


def test_pickups_list_only_the_carriers_submitted_manifests(chain, phone, other_carrier):
    ours = submitted(chain, count=3)
    theirs = submitted(chain, legs=[{"transporter_id": other_carrier["org"].pk,
                                     "vehicle_id": other_carrier["vehicle"].pk}])
    still_draft = draft(chain, chain.record())

    page = text(phone(chain.driver).get(TODAY))
    pickups = section(page, "pickups")
    assert f'data-testid="card-{ours.pk}"' in pickups
    assert f'data-testid="card-{theirs.pk}"' not in page and theirs.number not in page
    assert f'data-testid="card-{still_draft.pk}"' not in page
    assert sign_links(pickups) == [reverse("manifests:sign", args=[ours.pk, "pickup"])]
    assert reverse("manifests:manifest_pdf", args=[ours.pk]) in pickups
    # the card: generator, receiver, waste line, 3 packages of 0.5 t
    assert chain.generator.name in pickups and chain.receiver.name in pickups and "900-402-06" in pickups
    assert 'data-testid="packages">3<' in pickups, pickups
    assert 'data-testid="tonnes">1.5 t<' in pickups, pickups

    # the other carrier sees its own load and not ours
    other = text(phone(other_carrier["admin"]).get(TODAY))
    assert f'data-testid="card-{theirs.pk}"' in other and f'data-testid="card-{ours.pk}"' not in other


def test_not_a_carrier_sees_nothing(chain, phone, regulator_of, department_user):
    manifest = submitted(chain)
    for user in (chain.generator_admin, chain.receiver_admin, regulator_of(BANAN), department_user(BANAN)):
        page = text(phone(user).get(TODAY))
        assert 'data-testid="no-carrier"' in page and manifest.number not in page


def test_today_needs_login(client):
    assert client.get(TODAY).status_code == 302


def test_driver_follows_the_pickup_link_and_signs_then_the_receiver_signs_at_the_gate(chain, phone):
    manifest = submitted(chain, count=2)
    driver = phone(chain.driver)
    [link] = sign_links(section(text(driver.get(TODAY)), "pickups"))
    form = driver.get(link)
    assert form.status_code == 200 and 'name="version"' in text(form) and 'data-testid="gate"' not in text(form)
    version = re.search(r'name="version" value="(\d+)"', text(form)).group(1)
    done = driver.post(link, {"version": version, "vehicle_id": chain.vehicle.pk, "driver_name": "李师傅"})
    assert done.status_code == 302
    manifest.refresh_from_db()
    assert manifest.status == S.IN_TRANSIT
    signature = Signature.objects.get(manifest=manifest, step="pickup")
    assert (signature.organization_id, signature.user_id, signature.method) == (chain.transporter.pk,
                                                                                chain.driver.pk, "session")

    # now on the road: no longer a pickup; the card offers the receiver's check-in, signed with its gate code
    page = text(driver.get(TODAY))
    assert sign_links(section(page, "pickups")) == []
    road = section(page, "on-the-road")
    [receive] = sign_links(road)
    assert receive == reverse("manifests:sign", args=[manifest.pk, "receive"])
    assert chain.receiver.name in road
    services.set_signing_code(scope=chain.scopes["receiver_admin"], organization_id=chain.receiver.pk, code="864217")
    gate = driver.get(receive)
    assert gate.status_code == 200 and 'data-testid="gate"' in text(gate)
    version = re.search(r'name="version" value="(\d+)"', text(gate)).group(1)
    wrong = driver.post(receive, {"version": version, "signing_code": "000000"})
    assert wrong.status_code == 403 and Manifest.objects.get(pk=manifest.pk).status == S.IN_TRANSIT
    signed = driver.post(receive, {"version": version, "signing_code": "864217", "signer_name": "库管王"})
    assert signed.status_code == 302
    manifest.refresh_from_db()
    assert manifest.status == S.RECEIVED
    assert Signature.objects.get(manifest=manifest, step="receive").method == "signing_code"
    assert f'data-testid="card-{manifest.pk}"' not in text(driver.get(TODAY))


def test_handover_between_two_carriers(chain, phone):
    manifest = submitted(chain, legs=[{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk},
                                      {"transporter_id": chain.second_carrier.pk}])
    run(chain, manifest, "pickup", "driver")
    # the first carrier hands over: the card links the handover, signed by the next carrier with its code
    first = section(text(phone(chain.driver).get(TODAY)), "on-the-road")
    assert sign_links(first) == [reverse("manifests:sign", args=[manifest.pk, "handover"])]
    assert chain.second_carrier.name in first
    # the second carrier sees the load to take over, and signs it itself
    second = phone(chain.second_admin)
    page = text(second.get(TODAY))
    [link] = sign_links(section(page, "take-over"))
    assert link == reverse("manifests:sign", args=[manifest.pk, "handover"])
    assert f'data-testid="card-{manifest.pk}"' not in section(page, "on-the-road")
    form = text(second.get(link))
    assert 'data-testid="gate"' not in form
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    assert second.post(link, {"version": version, "vehicle_id": chain.second_vehicle.pk}).status_code == 302
    assert [leg.taken_at is not None for leg in services.legs_of(manifest)] == [True, True]
    # now the second carrier holds it (receiver next) and the first carrier's list is empty
    assert sign_links(section(text(second.get(TODAY)), "on-the-road")) == [
        reverse("manifests:sign", args=[manifest.pk, "receive"])]
    assert f'data-testid="card-{manifest.pk}"' not in text(phone(chain.driver).get(TODAY))


def test_overdue_load_is_marked(chain, phone):
    manifest = submitted(chain)
    run(chain, manifest, "pickup", "driver")
    Manifest.objects.filter(pk=manifest.pk).update(picked_up_at=timezone.now() - timezone.timedelta(days=30))
    road = section(text(phone(chain.driver).get(TODAY)), "on-the-road")
    assert "today-card overdue" in road


def test_phone_layout_markers(chain, phone):
    submitted(chain)
    page = text(phone(chain.driver).get(TODAY))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert 'class="today"' in page and 'class="button big"' in page
