"""Public verification of a manifest (road checks): the number alone gives the status; the number with the
access code printed on the manifest gives the facts (never anything private) and the digest; lookups per client
address are limited.

Manifests are built directly with the ORM (the services that create and sign them are tested on
their own); `build_manifest` is shared with test_pdf.py.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import Resolver404, include, path, resolve, reverse

import wufei.urls
from tests.conftest import KAIZHOU
from wufei.catalog.models import HazardousWaste
from wufei.manifests import public_urls, verify
from wufei.manifests.models import Manifest, ManifestContainer, ManifestLine, Signature, TransportLeg
from wufei.tracking.models import Container


def _wired() -> bool:
    try:
        resolve("/manifests/verify/")
    except Resolver404:
        return False
    return True


# The lead includes public_urls under /manifests/; until then these tests add it themselves.
urlpatterns = list(wufei.urls.urlpatterns)
if not _wired():
    urlpatterns.insert(0, path("manifests/", include(public_urls)))
pytestmark = pytest.mark.urls(__name__)

NUMBER = "20265001000123"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
SUBMITTED = dt.datetime(2026, 5, 6, 8, 30, tzinfo=SHANGHAI)

# what must never reach the public page
PRIVATE = {
    "generator phone": "023-66668888",
    "generator contact": "张三丰",
    "generator address": "界石镇工业园一路1号",
    "site address": "桂花路18号",
    "site name": "危废贮存库一号",
    "receiver address": "白鹤街道环保路8号",
    "receiver phone": "023-52220000",
    "transporter phone": "13800001111",
    "driver": "李司机",
    "driver phone": "13912345678",
    "note": "月结单价1800元每吨",
    "emergency measures": "配备吸附棉",
    "refusal": "包装破损",
    "start place": "巴南区界石镇装货点",
}


def build_manifest(make_org, make_vehicle, make_site, make_permit, *, number=NUMBER, kind="hazardous",
                   status="received", signed=True) -> Manifest:
    """A hazardous-waste manifest from Banan to Kaizhou, carried in two legs, received in full."""
    generator = make_org("重庆长江精细化工有限公司", address="巴南区界石镇工业园一路1号", contact_name="张三丰",
                         contact_phone="023-66668888")
    first = make_org("重庆安运危险品运输有限公司", roles=("transporter",), contact_phone="13800001111")
    second = make_org("开州联运物流有限公司", region=KAIZHOU, roles=("transporter",))
    receiver = make_org("重庆绿源环保处置有限公司", region=KAIZHOU, roles=("receiver",),
                        address="开州区白鹤街道环保路8号", contact_phone="023-52220000")
    site = make_site(generator, name="危废贮存库一号", address="巴南区界石镇桂花路18号")
    make_permit(receiver, lines=(("HW49", "1000", ("D10",)), ("HW08", "500", ("R9",))), number="渝危废0501号",
                valid_from=dt.date(2025, 1, 1))
    make_permit(receiver, lines=(("HW18", "100", ("D10",)),), number="渝危废0999号",  # covers none of the codes
                valid_from=dt.date(2025, 1, 1))
    received = SUBMITTED + dt.timedelta(hours=6)
    manifest = Manifest.objects.create(
        number=number, kind=kind, status=status, generator=generator, generator_site=site, receiver=receiver,
        emergency_measures="配备吸附棉和灭火器，泄漏时围堵并报告", note="月结单价1800元每吨",
        shipped_tonnes=Decimal("1.25"), received_tonnes=Decimal("1.24"), accepted_tonnes=Decimal("1.24"),
        reception="accepted" if status in ("received", "processed") else "", refusal_reason="包装破损（已更换）",
        submitted_at=SUBMITTED if signed else None, picked_up_at=SUBMITTED + dt.timedelta(hours=1) if signed else None,
        received_at=received if status in ("received", "processed") else None)
    carbon = ManifestLine.objects.create(
        manifest=manifest, position=1, waste=HazardousWaste.objects.get(pk="900-041-49"), waste_name="废活性炭",
        physical_form="solid", hazards="T,In", packaging="drum", container_count=3, shipped_tonnes=Decimal("0.75"),
        received_tonnes=Decimal("0.74"), planned_method_id="D10")
    ManifestLine.objects.create(
        manifest=manifest, position=2, waste=HazardousWaste.objects.get(pk="900-249-08"), waste_name="废矿物油",
        physical_form="liquid", hazards="T,I", packaging="ibc", container_count=2, shipped_tonnes=Decimal("0.5"),
        received_tonnes=Decimal("0.5"), planned_method_id="R9")
    container = Container.objects.create(
        code=f"{generator.uscc}90004149202605060001", organization=generator, holder=first,
        waste_id="900-041-49", waste_name="废活性炭", physical_form="solid", hazards="T,In", packaging="drum",
        net_weight_tonnes=Decimal("0.25"), produced_at=SUBMITTED - dt.timedelta(days=3))
    ManifestContainer.objects.create(manifest=manifest, line=carbon, container=container,
                                     shipped_tonnes=Decimal("0.25"))
    legs = [
        TransportLeg.objects.create(
            manifest=manifest, position=1, transporter=first, vehicle=make_vehicle(first, plate="渝A12345"),
            driver_name="李司机", driver_phone="13912345678", start_place="巴南区界石镇装货点", end_place="万州中转场",
            taken_at=SUBMITTED + dt.timedelta(hours=1), handed_at=SUBMITTED + dt.timedelta(hours=3)),
        TransportLeg.objects.create(
            manifest=manifest, position=2, transporter=second, vehicle=make_vehicle(second, plate="渝F67890"),
            driver_name="王师傅", start_place="万州中转场", end_place="开州区白鹤街道",
            taken_at=SUBMITTED + dt.timedelta(hours=3), handed_at=received),
    ]
    if signed:
        sign(manifest, "submit", generator, "张三丰", SUBMITTED)
        sign(manifest, "pickup", first, "李司机", SUBMITTED + dt.timedelta(hours=1), leg=legs[0])
        sign(manifest, "handover", second, "王师傅", SUBMITTED + dt.timedelta(hours=3), leg=legs[1])
        if status in ("received", "processed"):
            sign(manifest, "receive", receiver, "赵验收", received)
    return manifest


def sign(manifest, step, organization, name, at, leg=None, method="session") -> Signature:
    return Signature.objects.create(manifest=manifest, step=step, leg=leg, organization=organization,
                                    signer_name=name, method=method, signed_at=at)


@pytest.fixture
def manifest(make_org, make_vehicle, make_site, make_permit):
    return build_manifest(make_org, make_vehicle, make_site, make_permit)


# --- the service ---------------------------------------------------------------------------------

def test_public_view_gives_the_road_check_facts(manifest):
    view = verify.public_view(NUMBER, manifest.access_code)
    assert view["number"] == NUMBER and view["kind"] == "hazardous" and view["status"] == "received"
    assert view["generator"] == {"name": "重庆长江精细化工有限公司", "region": "重庆市巴南区"}
    assert view["receiver"] == {"name": "重庆绿源环保处置有限公司", "region": "重庆市开州区"}
    assert view["transporters"] == [{"position": 1, "name": "重庆安运危险品运输有限公司", "plate": "渝A12345"},
                                    {"position": 2, "name": "开州联运物流有限公司", "plate": "渝F67890"}]
    assert view["wastes"] == [{"code": "900-041-49", "name": "废活性炭", "packages": 3},
                              {"code": "900-249-08", "name": "废矿物油", "packages": 2}]
    assert view["total_packages"] == 5 and view["shipped_tonnes"] == "1.25"
    assert [s["step"] for s in view["signatures"]] == ["submit", "pickup", "handover", "receive"]
    assert view["signatures"][0]["signed_at"].strftime("%Y-%m-%d %H:%M") == "2026-05-06 08:30"  # Asia/Shanghai
    assert len(view["digest"]) == 12 and int(view["digest"], 16) >= 0


def test_public_view_holds_nothing_private(manifest):
    flat = repr(verify.public_view(NUMBER, manifest.access_code))
    for what, value in {**PRIVATE, "container code": manifest.carried.get().container.code,
                        "signer": "赵验收", "shipped per line": "0.75"}.items():
        assert value not in flat, what


def test_number_is_normalized_and_unknown_gives_none(manifest):
    assert verify.public_view("2026 5001-000123", manifest.access_code)["number"] == NUMBER
    full_width = "２０２６５００１０００１２３"
    assert verify.public_view(full_width, manifest.access_code)["number"] == NUMBER
    assert verify.public_view("20265001000124") is None
    assert verify.public_view("") is None


def test_digest_follows_status_and_signatures(manifest):
    first = verify.digest(manifest)
    assert first == verify.public_view(NUMBER, manifest.access_code)["digest"]
    manifest.status = "processed"
    manifest.save()
    second = verify.digest(manifest)
    assert second != first
    sign(manifest, "process", manifest.receiver, "赵验收", SUBMITTED + dt.timedelta(days=2))
    assert verify.digest(manifest) not in (first, second)


def test_digest_is_documented_sha256(manifest):
    import hashlib

    times = [s.signed_at.astimezone(dt.UTC).isoformat(timespec="seconds")
             for s in manifest.signatures.order_by("signed_at", "id")]
    expected = hashlib.sha256("|".join([NUMBER, "received", *times]).encode()).hexdigest()[:12]
    assert verify.digest(manifest) == expected


# --- the pages -------------------------------------------------------------------------------------

def test_public_page_shows_status_and_parties_without_login(client, manifest):
    response = client.get(f"/manifests/verify/{NUMBER}/", {"code": manifest.access_code})
    assert response.status_code == 200
    html = response.content.decode()
    view = verify.public_view(NUMBER, manifest.access_code)
    for fact in (NUMBER, view["status_label"], view["kind_label"], "重庆长江精细化工有限公司", "重庆市巴南区",
                 "重庆安运危险品运输有限公司", "渝A12345", "开州联运物流有限公司", "渝F67890",
                 "重庆绿源环保处置有限公司", "900-041-49", "废活性炭", "900-249-08", "废矿物油", view["digest"],
                 "2026-05-06 08:30"):
        assert fact in html, fact
    assert response["Cache-Control"] == "no-store"


def test_public_page_does_not_show_contacts_notes_addresses_or_containers(client, manifest):
    html = client.get(f"/manifests/verify/{NUMBER}/", {"code": manifest.access_code}).content.decode()
    for what, value in {**PRIVATE, "container code": manifest.carried.get().container.code, "signer": "赵验收"}.items():
        assert value not in html, what


def test_public_page_is_in_chinese_by_default(client, manifest):
    html = client.get(f"/manifests/verify/{NUMBER}/", {"code": manifest.access_code}).content.decode()
    assert '<html lang="zh-hans">' in html


def test_unknown_number_is_a_404_with_a_clear_message(client, manifest):
    for number in ("20265001000999", "not-a-number", "2026"):
        response = client.get(f"/manifests/verify/{number}/")
        assert response.status_code == 404, number
        assert 'data-testid="not-found"' in response.content.decode()


def test_unknown_number_message_in_english(client, manifest):
    response = client.get("/manifests/verify/20265001000999/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "No manifest with the number 20265001000999 is registered" in response.content.decode()


def test_verify_form_redirects_to_the_number(client, manifest):
    assert client.get("/manifests/verify/").status_code == 200
    response = client.get("/manifests/verify/", {"number": " 2026 5001 000123 "})
    assert response.status_code == 302 and response["Location"] == reverse("manifests:verify_number", args=[NUMBER])
    response = client.get("/manifests/verify/", {"number": NUMBER, "code": " abcd-efgh "})
    assert response["Location"] == reverse("manifests:verify_number", args=[NUMBER]) + "?code=ABCDEFGH"
    response = client.get("/manifests/verify/", {"number": "12345"})
    assert response.status_code == 200 and 'id="number-error"' in response.content.decode()


def test_draft_and_cancelled_manifests_say_they_are_not_valid(client, make_org, make_vehicle, make_site,
                                                              make_permit):
    manifest = build_manifest(make_org, make_vehicle, make_site, make_permit, status="cancelled")
    html = client.get(f"/manifests/verify/{manifest.number}/", {"code": manifest.access_code}).content.decode()
    assert 'class="verdict cancelled"' in html


# --- what the number alone tells, and how often ----------------------------------------------------------

PUBLIC_ONLY_WITH_CODE = ["重庆长江精细化工有限公司", "重庆绿源环保处置有限公司", "重庆安运危险品运输有限公司",
                         "渝A12345", "900-041-49", "废活性炭", "1.25"]


def test_the_number_alone_confirms_the_manifest_and_its_status_only(client, manifest):
    response = client.get(f"/manifests/verify/{NUMBER}/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200 and NUMBER in html and "<strong>received</strong>" in html
    assert 'data-testid="status-only"' in html and 'data-testid="wrong-code"' not in html
    assert [fact for fact in PUBLIC_ONLY_WITH_CODE if fact in html] == []


def test_a_wrong_access_code_shows_the_status_only(client, manifest):
    wrong = "0000-0000" if manifest.access_code != "00000000" else "1111-1111"
    html = client.get(f"/manifests/verify/{NUMBER}/", {"code": wrong}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="wrong-code"' in html and "<strong>received</strong>" in html
    assert [fact for fact in PUBLIC_ONLY_WITH_CODE if fact in html] == []


def test_the_access_code_as_printed_opens_the_details(client, manifest):
    printed = f"{manifest.access_code[:4]}-{manifest.access_code[4:]}".lower()
    html = client.get(f"/manifests/verify/{NUMBER}/", {"code": printed}).content.decode()
    assert [fact for fact in PUBLIC_ONLY_WITH_CODE if fact not in html] == []


def test_every_manifest_gets_its_own_access_code(make_org):
    generator, receiver = make_org(), make_org(roles=("receiver",))
    codes = {Manifest.objects.create(kind="hazardous", generator=generator, receiver=receiver).access_code
             for _ in range(20)}
    assert len(codes) == 20 and all(len(code) == 8 for code in codes)


def test_lookups_past_the_hourly_allowance_are_refused_per_client_address(client, manifest, settings):
    settings.VERIFY_LOOKUPS_PER_HOUR = 3
    answers = [client.get(f"/manifests/verify/{number}/", REMOTE_ADDR="198.51.100.7").status_code
               for number in (NUMBER, "20265001000999", NUMBER)]
    assert answers == [200, 404, 200]
    refused = client.get(f"/manifests/verify/{NUMBER}/", REMOTE_ADDR="198.51.100.7")
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    assert 'data-testid="rate-limited"' in refused.content.decode()
    with_code = client.get(f"/manifests/verify/{NUMBER}/", {"code": manifest.access_code}, REMOTE_ADDR="198.51.100.7")
    assert with_code.status_code == 429 and "重庆长江精细化工有限公司" not in with_code.content.decode()
    assert client.get(f"/manifests/verify/{NUMBER}/", REMOTE_ADDR="198.51.100.8").status_code == 200
    from django.core.cache.backends import db
    from django.utils import timezone

    later = timezone.now() + dt.timedelta(minutes=20)  # the count outlives the cache's default five minutes
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db, "tz_now", lambda: later)  # the cache's clock
        assert client.get(f"/manifests/verify/{NUMBER}/", REMOTE_ADDR="198.51.100.7").status_code == 429


def test_lookups_are_counted_in_the_shared_cache_not_in_process_memory(settings):
    from django.core.cache import caches

    assert "locmem" not in caches["default"].__class__.__module__
