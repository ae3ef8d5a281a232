"""Manifest pages: create by scanning, the signing pages (submit → pickup → check-in with a refusal → processing),
stale and wrong-party posts, the list's filters and scope, bulk signing, the signing code, the 一企一档 section,
and a scope walk over every page of wufei/manifests/urls.py."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import Resolver404, include, path, resolve, reverse
from django.utils import timezone

import wufei.urls
from tests.conftest import BANAN, KAIZHOU
from tests.manifests.conftest import draft, run
from wufei.core import audit
from wufei.core.scope import scope_for
from wufei.manifests import services
from wufei.manifests.models import Manifest, ManifestStatus, Revision, Signature, SigningCode
from wufei.registry.models import Site
from wufei.tracking.models import Container


def _wired() -> bool:
    try:
        resolve("/manifests/new/")
    except Resolver404:
        return False
    return True


# The lead adds path("manifests/", include("wufei.manifests.urls")) to wufei/urls.py; until then this module does.
urlpatterns = list(wufei.urls.urlpatterns)
if not _wired():
    urlpatterns.insert(0, path("manifests/", include("wufei.manifests.urls")))
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
S = ManifestStatus
YUZHONG = "500103"  # a Chongqing district that is neither Banan nor Kaizhou


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def browser(client_for):
    """A logged-in client whose browser asks for English."""
    def make(user):
        client = client_for(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


def version_of(manifest) -> int:
    return Manifest.objects.get(pk=manifest.pk).version


def sign_url(manifest, step) -> str:
    return reverse("manifests:sign", args=[manifest.pk, step])


# --- create by scanning ------------------------------------------------------------------------------

def test_pages_require_login(client, chain):
    manifest = draft(chain, chain.record())
    for url in (reverse("manifests:list"), reverse("manifests:create"), reverse("manifests:bulk_sign"),
                reverse("manifests:signing_code"), reverse("manifests:detail", args=[manifest.pk]),
                sign_url(manifest, "submit")):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_create_by_scanning_codes_makes_a_draft_with_lines(chain, browser):
    containers = chain.record(count=3, tonnes="0.4")
    client = browser(chain.generator_admin)
    page = client.get(reverse("manifests:create"))
    assert page.status_code == 200
    body = text(page)
    assert chain.receiver.name in body and chain.vehicle.plate in body and containers[0].code in body
    typed = "\n".join(c.code.lower() for c in containers[:2]) + "\n"  # a scanner types code + Enter
    response = client.post(reverse("manifests:create"), {
        "generator": chain.generator.pk, "kind": "hazardous", "purpose": "transfer",
        "receiver": chain.receiver.pk, "leg0_transporter": chain.transporter.pk, "leg0_vehicle": chain.vehicle.pk,
        "leg0_driver_name": "张师傅", "planned_method": "D10", "codes": typed, "container": [containers[2].code]})
    assert response.status_code == 302
    manifest = Manifest.objects.get()
    assert response["Location"] == reverse("manifests:detail", args=[manifest.pk])
    assert (manifest.status, manifest.generator_id, manifest.receiver_id) == (S.DRAFT, chain.generator.pk,
                                                                             chain.receiver.pk)
    [line] = manifest.lines.all()
    assert (line.container_count, line.shipped_tonnes, line.planned_method_id) == (3, Decimal("1.2"), "D10")
    assert set(manifest.carried.values_list("container__code", flat=True)) == {c.code for c in containers}
    [leg] = services.legs_of(manifest)
    assert (leg.transporter_id, leg.vehicle_id, leg.driver_name) == (chain.transporter.pk, chain.vehicle.pk, "张师傅")
    detail = text(client.get(response["Location"]))
    assert containers[0].code in detail and 'data-testid="step-submit"' in detail
    assert audit.verify_chain().ok


def test_create_errors_keep_the_form(chain, browser):
    [container] = chain.record()
    client = browser(chain.generator_admin)
    response = client.post(reverse("manifests:create"), {
        "generator": chain.generator.pk, "kind": "hazardous", "receiver": chain.receiver.pk,
        "leg0_transporter": chain.transporter.pk, "note": "上午装车",
        "codes": f"{container.code}\nNOT-A-CODE-123"})
    assert response.status_code == 422
    body = text(response)
    assert "NOT-A-CODE-123" in body and 'id="f-codes-error"' in body  # the code's problem, next to the box
    assert f"{container.code}\nNOT-A-CODE-123" in body  # nothing lost
    assert f'value="{chain.receiver.pk}" selected' in body and 'value="上午装车"' in body
    assert not Manifest.objects.exists()
    unknown = client.post(reverse("manifests:create"), {"generator": chain.generator.pk, "kind": "hazardous",
                                                        "receiver_uscc": "91500000MA0000000X",
                                                        "codes": container.code})
    assert unknown.status_code == 422 and 'id="f-receiver-uscc-error"' in text(unknown)


def test_create_is_for_the_callers_generators(chain, client_for, make_org, member_of, regulator_of):
    other = make_org("别家化工", roles=("generator",))
    member_of(other, "admin")
    client = client_for(chain.generator_admin)
    assert client.get(reverse("manifests:create") + f"?generator={other.pk}").status_code == 404
    regulator = client_for(regulator_of(BANAN))
    assert regulator.get(reverse("manifests:create")).status_code == 302  # not an enterprise: back to the list


def test_general_waste_is_entered_as_lines(chain, browser):
    client = browser(chain.generator_admin)
    bad = client.post(reverse("manifests:create"), {
        "generator": chain.generator.pk, "kind": "general", "receiver": chain.receiver.pk,
        "leg0_transporter": chain.transporter.pk, "line_code": ["", "SW03", ""], "line_name": ["", "炉渣", ""],
        "line_tonnes": ["", "-1", ""]})
    assert bad.status_code == 422 and 'id="line-2-tonnes-error"' in text(bad) and 'value="炉渣"' in text(bad)
    response = client.post(reverse("manifests:create"), {
        "generator": chain.generator.pk, "kind": "general", "receiver": chain.receiver.pk,
        "leg0_transporter": chain.transporter.pk, "line_code": ["SW03", "", ""],
        "line_name": ["炉渣", "", ""], "line_tonnes": ["12.5", "", ""], "line_form": ["solid", "", ""]})
    assert response.status_code == 302, text(response)
    [line] = Manifest.objects.get().lines.all()
    assert (line.general_code, line.shipped_tonnes) == ("SW03", Decimal("12.5"))


# --- one manifest through its signing pages ------------------------------------------------------------

def test_every_step_through_its_page(chain, browser):
    containers = chain.record(count=3, tonnes="0.5")
    manifest = draft(chain, containers, legs=[{"transporter_id": chain.transporter.pk}])
    generator, driver, receiver = (browser(chain.generator_admin), browser(chain.driver),
                                   browser(chain.receiver_admin))

    page = generator.get(sign_url(manifest, "submit"))
    assert page.status_code == 200 and 'data-testid="sign"' in text(page) and 'name="version"' in text(page)
    response = generator.post(sign_url(manifest, "submit"), {"version": version_of(manifest)})
    assert response.status_code == 302
    manifest.refresh_from_db()
    assert manifest.status == S.SUBMITTED and manifest.number

    detail = text(driver.get(reverse("manifests:detail", args=[manifest.pk])))
    assert 'data-testid="step-pickup"' in detail
    page = driver.get(sign_url(manifest, "pickup"))
    assert page.status_code == 200 and chain.vehicle.plate in text(page)
    response = driver.post(sign_url(manifest, "pickup"), {"version": version_of(manifest),
                                                           "vehicle_id": chain.vehicle.pk, "driver_name": "李师傅"})
    assert response.status_code == 302
    manifest.refresh_from_db()
    assert manifest.status == S.IN_TRANSIT
    assert services.legs_of(manifest)[0].vehicle_id == chain.vehicle.pk

    page = receiver.get(sign_url(manifest, "receive"))
    body = text(page)
    assert page.status_code == 200 and all(f'data-testid="entry-{c.code}"' in body for c in containers)
    refused = containers[0].code
    without_reason = receiver.post(sign_url(manifest, "receive"), {"version": version_of(manifest),
                                                                    "refused": [refused]})
    assert without_reason.status_code == 422 and 'id="f-reason-error"' in text(without_reason)
    assert f'value="{refused}" checked' in text(without_reason)  # the ticked box stays ticked
    response = receiver.post(sign_url(manifest, "receive"), {
        "version": version_of(manifest), "refused": [refused], "refusal_reason": "包装破损",
        f"weight_{containers[1].code}": "0.49", "received_tonnes": "0.99"})
    assert response.status_code == 302
    manifest.refresh_from_db()
    assert (manifest.status, manifest.reception, manifest.refused_tonnes) == (S.RECEIVED, "partial",
                                                                             Decimal("0.5"))
    assert manifest.refusal_reason == "包装破损"
    assert manifest.carried.get(container__code=refused).refused

    page = receiver.get(sign_url(manifest, "process"))
    assert page.status_code == 200 and 'name="method_1"' in text(page)
    response = receiver.post(sign_url(manifest, "process"), {
        "version": version_of(manifest), "method_1": "D10", "processed_on": timezone.localdate().isoformat()})
    assert response.status_code == 302
    manifest.refresh_from_db()
    assert manifest.status == S.PROCESSED and manifest.lines.get().method_id == "D10"
    assert list(Signature.objects.filter(manifest=manifest).values_list("step", flat=True)) == [
        "submit", "pickup", "receive", "process"]
    detail = text(generator.get(reverse("manifests:detail", args=[manifest.pk])))
    assert 'data-testid="signature-process"' in detail and "包装破损" in detail
    assert 'data-testid="stranded"' in detail  # the refused container waits for a follow-up


def test_stale_version_shows_the_conflict_and_changes_nothing(chain, browser):
    manifest = draft(chain, chain.record())
    stale = version_of(manifest)
    client = browser(chain.generator_admin)
    unversioned = client.post(sign_url(manifest, "submit"), {})
    assert unversioned.status_code == 409 and Manifest.objects.get(pk=manifest.pk).status == S.DRAFT
    first = client.post(sign_url(manifest, "submit"), {"version": stale})
    assert first.status_code == 302
    before = Manifest.objects.get(pk=manifest.pk)
    again = client.post(sign_url(manifest, "submit"), {"version": stale})  # the same form, posted twice
    assert again.status_code == 409
    assert 'data-testid="conflict"' in text(again) and 'data-testid="reload"' in text(again)
    pickup = browser(chain.driver).post(sign_url(manifest, "pickup"), {"version": stale,
                                                                       "vehicle_id": chain.vehicle.pk})
    assert pickup.status_code == 409 and "reload" in text(pickup).lower()
    after = Manifest.objects.get(pk=manifest.pk)
    assert (after.status, after.version) == (before.status, before.version)
    assert Signature.objects.filter(manifest=manifest).count() == 1  # nothing signed twice


def test_a_step_that_is_not_due_is_a_conflict_page(chain, browser):
    manifest = draft(chain, chain.record())
    response = browser(chain.receiver_admin).get(sign_url(manifest, "receive"))
    assert response.status_code == 409 and 'data-testid="conflict"' in text(response)
    assert browser(chain.receiver_admin).get(sign_url(manifest, "nonsense")).status_code == 404


def test_wrong_parties_are_refused(chain, client_for, make_org, member_of, regulator_of):
    manifest = draft(chain, chain.record())
    stranger = member_of(make_org("无关单位", roles=("generator",)), "admin")
    for user, status in ((stranger, 404), (regulator_of(YUZHONG), 404), (regulator_of(BANAN), 403)):
        client = client_for(user)
        assert client.get(sign_url(manifest, "submit")).status_code == status
        assert client.post(sign_url(manifest, "submit"), {"version": version_of(manifest)}).status_code == status
    # another party of the manifest gets the gate form: without the generator's code nothing is signed
    receiver = client_for(chain.receiver_admin)
    page = receiver.get(sign_url(manifest, "submit"))
    assert page.status_code == 200 and 'data-testid="signing-code"' in text(page)
    assert receiver.post(sign_url(manifest, "submit"), {"version": version_of(manifest)}).status_code == 422
    services.set_signing_code(scope=chain.scopes["generator_admin"], organization_id=chain.generator.pk,
                              code="246813")
    wrong = receiver.post(sign_url(manifest, "submit"), {"version": version_of(manifest), "signing_code": "135792"})
    assert wrong.status_code == 403 and 'id="f-code-error"' in text(wrong)
    assert Manifest.objects.get(pk=manifest.pk).status == S.DRAFT
    # cancelling is the generator's alone, and processing is no gate step
    assert receiver.get(sign_url(manifest, "cancel")).status_code == 403
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    run(chain, manifest, "receive", "receiver_admin")
    generator = client_for(chain.generator_admin)
    assert generator.get(sign_url(manifest, "process")).status_code == 403
    assert generator.post(sign_url(manifest, "process"), {"version": version_of(manifest), "method_1": "D10",
                                                          "signing_code": "246813"}).status_code == 403
    assert Manifest.objects.get(pk=manifest.pk).status == S.RECEIVED


def test_gate_signing_with_the_other_partys_code(chain, client_for):
    manifest = draft(chain, chain.record())
    run(chain, manifest, "submit", "generator_admin")
    services.set_signing_code(scope=chain.scopes["transporter_admin"], organization_id=chain.transporter.pk,
                              code="432175")
    generator = client_for(chain.generator_admin)  # the driver has no account: he types his company's code
    detail = text(generator.get(reverse("manifests:detail", args=[manifest.pk])))
    assert 'data-testid="gate-pickup"' in detail
    response = generator.post(sign_url(manifest, "pickup"), {
        "version": version_of(manifest), "vehicle_id": chain.vehicle.pk, "signing_code": "432175",
        "signer_name": "王师傅"})
    assert response.status_code == 302
    signature = Signature.objects.get(manifest=manifest, step="pickup")
    assert (signature.method, signature.signer_name, signature.organization_id) == ("signing_code", "王师傅",
                                                                                     chain.transporter.pk)


def test_handover_to_the_second_carrier(chain, client_for):
    manifest = draft(chain, chain.record(), legs=[{"transporter_id": chain.transporter.pk,
                                                   "vehicle_id": chain.vehicle.pk},
                                                  {"transporter_id": chain.second_carrier.pk}])
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    second = client_for(chain.second_admin)
    assert 'data-testid="step-handover"' in text(second.get(reverse("manifests:detail", args=[manifest.pk])))
    page = second.get(sign_url(manifest, "handover"))
    assert page.status_code == 200 and chain.second_vehicle.plate in text(page)
    assert chain.vehicle.plate not in text(page).split('id="f-vehicle"')[1].split("</select>")[0]
    missing = second.post(sign_url(manifest, "handover"), {"version": version_of(manifest)})
    assert missing.status_code == 422 and 'id="f-vehicle-error"' in text(missing)
    response = second.post(sign_url(manifest, "handover"), {"version": version_of(manifest),
                                                            "vehicle_id": chain.second_vehicle.pk})
    assert response.status_code == 302
    assert [leg.taken_at is not None for leg in services.legs_of(manifest)] == [True, True]
    assert second.get(sign_url(manifest, "handover")).status_code == 409  # no third carrier waits


def test_cancel_through_its_page(chain, client_for):
    manifest = draft(chain, chain.record())
    client = client_for(chain.generator_admin)
    assert 'data-testid="step-cancel"' in text(client.get(reverse("manifests:detail", args=[manifest.pk])))
    response = client.post(sign_url(manifest, "cancel"), {"version": version_of(manifest), "reason": "改期"})
    assert response.status_code == 302 and Manifest.objects.get(pk=manifest.pk).status == S.CANCELLED


# --- the manifest's page: draft editing, revisions, follow-ups ----------------------------------------

def test_draft_editing_by_scanning(chain, client_for):
    first, second = chain.record(count=2)
    manifest = draft(chain, [first])
    client = client_for(chain.generator_admin)
    url = reverse("manifests:containers", args=[manifest.pk])
    assert client.post(url, {"version": version_of(manifest), "action": "add",
                             "codes": second.code + "\n"}).status_code == 302
    assert manifest.carried.count() == 2
    bad = client.post(url, {"version": version_of(manifest), "action": "add", "codes": "NOPE-1"})
    assert bad.status_code == 422 and "NOPE-1" in text(bad)
    assert client.post(url, {"version": version_of(manifest), "action": "remove",
                             "remove": [first.code]}).status_code == 302
    assert list(manifest.carried.values_list("container__code", flat=True)) == [second.code]
    methods = client.post(reverse("manifests:methods", args=[manifest.pk]), {"version": version_of(manifest),
                                                                             "method_1": "R2"})
    assert methods.status_code == 302 and manifest.lines.get().planned_method_id == "R2"
    stale = client.post(url, {"version": 1, "action": "add", "codes": first.code})
    assert stale.status_code == 409


def test_revision_requested_and_approved_from_the_page(chain, client_for):
    manifest = draft(chain, chain.record())
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    generator = client_for(chain.generator_admin)
    assert 'data-testid="revise"' in text(generator.get(reverse("manifests:detail", args=[manifest.pk])))
    no_reason = generator.post(reverse("manifests:revision_request", args=[manifest.pk]), {
        "version": version_of(manifest), "note": "改走南线"})
    assert no_reason.status_code == 422 and 'id="f-reason-error"' in text(no_reason)
    response = generator.post(reverse("manifests:revision_request", args=[manifest.pk]), {
        "version": version_of(manifest), "reason": "绕行", "note": "改走南线",
        "emergency_measures": manifest.emergency_measures})
    assert response.status_code == 302
    revision = Revision.objects.get()
    assert revision.changes == {"note": "改走南线"} and revision.approvers == [chain.transporter.pk]
    carrier = client_for(chain.transporter_admin)
    page = text(carrier.get(reverse("manifests:detail", args=[manifest.pk])))
    assert f'data-testid="approve-{revision.pk}"' in page
    assert f'data-testid="approve-{revision.pk}"' not in text(generator.get(
        reverse("manifests:detail", args=[manifest.pk])))
    decided = carrier.post(reverse("manifests:revision_decision", args=[manifest.pk, revision.pk]),
                           {"decision": "approve"})
    assert decided.status_code == 302
    assert Manifest.objects.get(pk=manifest.pk).note == "改走南线"


def test_follow_up_for_a_refused_container(chain, client_for):
    containers = chain.record(count=2)
    manifest = draft(chain, containers)
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    run(chain, manifest, "receive", "receiver_admin", refused_containers=[containers[0].code],
        refusal_reason="标签不清")
    client = client_for(chain.generator_admin)
    assert 'data-testid="follow-up"' in text(client.get(reverse("manifests:detail", args=[manifest.pk])))
    assert 'data-testid="follow-up"' not in text(client_for(chain.receiver_admin).get(
        reverse("manifests:detail", args=[manifest.pk])))
    response = client.post(reverse("manifests:follow_up", args=[manifest.pk]), {"purpose": "return"})
    assert response.status_code == 302
    follow = Manifest.objects.get(follows=manifest)
    assert response["Location"] == reverse("manifests:detail", args=[follow.pk])
    assert list(follow.carried.values_list("container__code", flat=True)) == [containers[0].code]
    lineage = text(client.get(reverse("manifests:detail", args=[manifest.pk])))
    assert 'data-testid="lineage"' in lineage and reverse("manifests:detail", args=[follow.pk]) in lineage


# --- bulk signing and the signing code -----------------------------------------------------------------

def test_bulk_pickup_and_receipt(chain, client_for):
    manifests = [draft(chain, chain.record()) for _ in range(3)]
    for manifest in manifests:
        run(chain, manifest, "submit", "generator_admin")
    driver = client_for(chain.driver)
    page = text(driver.get(reverse("manifests:bulk_sign") + "?step=pickup"))
    assert all(Manifest.objects.get(pk=m.pk).number in page for m in manifests)
    chosen = [f"{m.pk}:{version_of(m)}" for m in manifests[:2]] + [f"{manifests[2].pk}:1"]  # the last is stale
    response = driver.post(reverse("manifests:bulk_sign"), {"step": "pickup", "manifest": chosen,
                                                            "driver_name": "赵师傅"})
    assert response.status_code == 200
    body = text(response)
    assert f'data-testid="result-{manifests[2].pk}"' in body
    assert [Manifest.objects.get(pk=m.pk).status for m in manifests] == [S.IN_TRANSIT, S.IN_TRANSIT, S.SUBMITTED]
    receiver = client_for(chain.receiver_admin)
    page = text(receiver.get(reverse("manifests:bulk_sign") + "?step=receive"))
    assert 'data-testid="awaiting"' in page
    response = receiver.post(reverse("manifests:bulk_sign"), {
        "step": "receive", "manifest": [f"{m.pk}:{version_of(m)}" for m in manifests[:2]]})
    assert response.status_code == 200
    assert [Manifest.objects.get(pk=m.pk).status for m in manifests[:2]] == [S.RECEIVED, S.RECEIVED]


def test_signing_code_page(chain, client_for):
    client = client_for(chain.generator_admin)
    page = text(client.get(reverse("manifests:signing_code")))
    assert chain.generator.name in page
    mismatch = client.post(reverse("manifests:signing_code"), {"organization": chain.generator.pk,
                                                               "code": "482913", "confirm": "482931"})
    assert mismatch.status_code == 422 and not SigningCode.objects.exists()
    short = client.post(reverse("manifests:signing_code"), {"organization": chain.generator.pk,
                                                            "code": "12", "confirm": "12"})
    assert short.status_code == 422 and 'id="f-code-error"' in text(short)
    done = client.post(reverse("manifests:signing_code"), {"organization": chain.generator.pk,
                                                           "code": "482913", "confirm": "482913"})
    assert done.status_code == 302 and SigningCode.objects.filter(organization=chain.generator).exists()
    driver = client_for(chain.driver)  # not an administrator
    assert 'data-testid="not-admin"' in text(driver.get(reverse("manifests:signing_code")))
    assert driver.post(reverse("manifests:signing_code"), {"organization": chain.transporter.pk, "code": "482913",
                                                           "confirm": "482913"}).status_code == 403


# --- the list ------------------------------------------------------------------------------------------

@pytest.fixture
def listing(chain):
    """A draft, an overdue load on the road, a received load with a discrepancy, a cross-province one."""
    plain = draft(chain, chain.record())
    late = draft(chain, chain.record())
    run(chain, late, "submit", "generator_admin")
    run(chain, late, "pickup", "driver")
    Manifest.objects.filter(pk=late.pk).update(picked_up_at=timezone.now() - dt.timedelta(days=30))
    off = draft(chain, chain.record(tonnes="1"))
    run(chain, off, "submit", "generator_admin")
    run(chain, off, "pickup", "driver")
    run(chain, off, "receive", "receiver_admin", received_tonnes="0.8")
    crossing = draft(chain, chain.record())
    run(chain, crossing, "submit", "generator_admin")
    Manifest.objects.filter(pk=crossing.pk).update(cross_province_basis="whitelist")
    return {name: Manifest.objects.get(pk=m.pk) for name, m in
            (("plain", plain), ("late", late), ("off", off), ("crossing", crossing))}


def _listed(client, query="") -> set[int]:
    body = text(client.get(reverse("manifests:list") + query))
    return {pk for pk in Manifest.objects.values_list("pk", flat=True) if f'data-testid="manifest-{pk}"' in body}


def test_list_filters(chain, listing, client_for):
    client = client_for(chain.generator_admin)
    ids = {name: m.pk for name, m in listing.items()}
    assert _listed(client) == set(ids.values())
    assert _listed(client, "?status=draft") == {ids["plain"]}
    assert _listed(client, "?discrepancy=yes") == {ids["off"]}
    assert _listed(client, "?overdue=yes") == {ids["late"]}
    assert _listed(client, "?cross_province=yes") == {ids["crossing"]}
    assert _listed(client, "?cross_province=no&status=submitted") == set()
    assert _listed(client, "?q=" + listing["off"].number) == {ids["off"]}
    body = text(client.get(reverse("manifests:list")))
    assert 'data-testid="flag-overdue"' in body and 'data-testid="flag-discrepancy"' in body
    assert 'data-testid="flag-cross-province"' in body and 'data-testid="flag-plan"' in body
    assert 'data-testid="count-draft"' in body


def test_regulators_see_their_region_only(chain, listing, client_for, regulator_of):
    everything = {m.pk for m in listing.values()}
    assert _listed(client_for(regulator_of(BANAN))) == everything  # the generator's district
    assert _listed(client_for(regulator_of(KAIZHOU))) == everything  # the receiver's district
    kaizhou = client_for(regulator_of(KAIZHOU))
    assert _listed(kaizhou, f"?region={KAIZHOU}&overdue=yes") == {listing["late"].pk}
    yuzhong = client_for(regulator_of(YUZHONG))
    assert _listed(yuzhong) == set()
    assert yuzhong.get(reverse("manifests:detail", args=[listing["late"].pk])).status_code == 404


def test_chinese_by_default_and_english_on_request(chain, client_for, browser):
    draft(chain, chain.record())
    chinese = text(client_for(chain.generator_admin).get(reverse("manifests:list")))
    assert "转移联单" in chinese and "草稿" in chinese
    english = text(browser(chain.generator_admin).get(reverse("manifests:list")))
    assert "Transfer manifests" in english and "转移联单" not in english


def test_the_organization_page_has_a_manifests_section(chain, listing, client_for):
    body = text(client_for(chain.generator_admin).get(
        reverse("registry:organization_detail", args=[chain.generator.pk])))
    assert 'data-testid="manifests-summary"' in body and listing["off"].number in body


# --- scope: enterprise B's manifests through every page -------------------------------------------------

B_NAME = "乙方化工有限公司"
B_NOTE = "乙方内部备注九九"


@pytest.fixture
def world(chain, make_org, member_of, make_site, regulator_of, department_user):
    b = make_org(B_NAME, region=BANAN, roles=("generator",))
    b_admin = member_of(b, "admin")
    b_store = make_site(b, kind=Site.Kind.STORAGE, name="乙贮存库")
    containers = chain.record(count=2, organization=b, store=b_store, admin=b_admin)
    scope = scope_for(b_admin)
    manifest = services.create_manifest(
        scope=scope, kind="hazardous", generator_id=b.pk, receiver_id=chain.receiver.pk, note=B_NOTE,
        legs=[{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk}],
        container_codes=[containers[0].code], planned_method="D10")
    services.sign(scope=scope, manifest_id=manifest.pk, step="submit", version=manifest.version)
    manifest.refresh_from_db()
    services.request_revision(scope=scope, manifest_id=manifest.pk, version=manifest.version, reason="补充",
                              changes={"emergency_measures": "吸附棉"})
    manifest.refresh_from_db()
    a_container = chain.record()[0]
    a_manifest = draft(chain, [a_container])
    return {
        "b": b, "b_admin": b_admin, "manifest": manifest, "revision": Revision.objects.get(manifest=manifest),
        "b_spare": containers[1], "a_manifest": a_manifest,
        "markers": [B_NAME, B_NOTE, manifest.number, containers[0].code, containers[1].code, "乙贮存库"],
        "outsiders": {
            "enterprise A admin": chain.generator_admin,
            "Yuzhong regulator": regulator_of(YUZHONG),
            "Banan department": department_user(BANAN),
        },
    }


def b_state(world) -> tuple:
    manifest = Manifest.objects.get(pk=world["manifest"].pk)
    return (manifest.status, manifest.version, Manifest.objects.count(), Signature.objects.count(),
            Revision.objects.count(), SigningCode.objects.count(),
            Container.objects.get(pk=world["b_spare"].pk).version)


PAGE_CASES = {
    "list": lambda w: [("GET", reverse("manifests:list") + f"?organization={w['b'].pk}", None),
                       ("GET", reverse("manifests:list") + "?q=" + w["manifest"].number[:12], None),
                       ("GET", reverse("manifests:list") + "?q=乙方化工", None)],
    "create": lambda w: [("GET", reverse("manifests:create") + f"?generator={w['b'].pk}", None),
                         ("POST", reverse("manifests:create"), {
                             "generator": w["b"].pk, "kind": "hazardous", "receiver": w["manifest"].receiver_id,
                             "codes": w["b_spare"].code})],
    "bulk_sign": lambda w: [("GET", reverse("manifests:bulk_sign") + "?step=pickup", None),
                            ("GET", reverse("manifests:bulk_sign") + "?step=receive", None),
                            ("POST", reverse("manifests:bulk_sign"), {
                                "step": "pickup", "manifest": f"{w['manifest'].pk}:{w['manifest'].version}"})],
    "signing_code": lambda w: [("GET", reverse("manifests:signing_code"), None),
                               ("POST", reverse("manifests:signing_code"), {
                                   "organization": w["b"].pk, "code": "482913", "confirm": "482913"})],
    "detail": lambda w: [("GET", reverse("manifests:detail", args=[w["manifest"].pk]), None)],
    "sign": lambda w: [(method, sign_url(w["manifest"], step), body) for step in ("pickup", "cancel", "submit")
                       for method, body in (("GET", None), ("POST", {"version": w["manifest"].version,
                                                                      "signing_code": "000000"}))],
    "containers": lambda w: [("POST", reverse("manifests:containers", args=[w["manifest"].pk]), {
        "version": w["manifest"].version, "action": "add", "codes": w["b_spare"].code})],
    "methods": lambda w: [("POST", reverse("manifests:methods", args=[w["manifest"].pk]), {
        "version": w["manifest"].version, "method_1": "R2"})],
    "revision_request": lambda w: [("POST", reverse("manifests:revision_request", args=[w["manifest"].pk]), {
        "version": w["manifest"].version, "reason": "x", "note": "y"})],
    "revision_decision": lambda w: [
        ("POST", reverse("manifests:revision_decision", args=[w["manifest"].pk, w["revision"].pk]),
         {"decision": "approve"}),
        # B's revision reached through a manifest the caller does see
        ("POST", reverse("manifests:revision_decision", args=[w["a_manifest"].pk, w["revision"].pk]),
         {"decision": "reject"})],
    "follow_up": lambda w: [("POST", reverse("manifests:follow_up", args=[w["manifest"].pk]), {
        "purpose": "return"})],
    "today": lambda w: [("GET", reverse("manifests:today"), None)],
}


def test_every_manifest_page_has_a_scope_case():
    from wufei.manifests import public_urls
    from wufei.manifests.urls import urlpatterns as pages

    public = {pattern.name for pattern in public_urls.urlpatterns}  # the public helper's pages, tested there
    assert {pattern.name for pattern in pages} - public == set(PAGE_CASES)


@pytest.mark.parametrize("who", ["enterprise A admin", "Yuzhong regulator", "Banan department"])
def test_outsiders_cannot_read_or_change_b_through_any_page(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = b_state(world)
    for name, case in PAGE_CASES.items():
        for method, url, body in case(world):
            response = client.post(url, body) if method == "POST" else client.get(url)
            page = text(response).replace(url, "")
            for marker in world["markers"]:
                assert marker not in page, f"{who} saw {marker} on {method} {url}"
            if method == "POST":
                assert response.status_code in (302, 403, 404, 422), f"{who}: {name} {url} -> {response.status_code}"
            if name in ("detail", "sign"):
                assert response.status_code == 404, f"{who}: {method} {url} -> {response.status_code}"
    assert b_state(world) == before


def test_insiders_do_see_b(world, client_for, regulator_of):
    """The positive control: B's admin and Banan's regulator see B's manifest; the regulator cannot sign it."""
    url = reverse("manifests:detail", args=[world["manifest"].pk])
    for user in (world["b_admin"], regulator_of(BANAN)):
        page = client_for(user).get(url)
        assert page.status_code == 200 and B_NOTE in text(page) and world["manifest"].number in text(page)
    regulator = client_for(regulator_of(BANAN))
    assert world["manifest"].pk in _listed(regulator)
    assert regulator.get(sign_url(world["manifest"], "pickup")).status_code == 403
