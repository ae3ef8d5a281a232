"""The manifest PDF (national 联单 layout): its text, its QR code, the titles by kind, and the page's access."""

import io

import pytest
import zxingcpp
from pypdf import PdfReader

from tests.conftest import KAIZHOU
from tests.manifests.test_verify import NUMBER, build_manifest, sign, urlpatterns  # noqa: F401 (urlconf)
from tests.tracking.test_labels import drawn_images
from wufei.core.errors import NotFound
from wufei.core.scope import scope_for
from wufei.manifests import pdf, verify
from wufei.manifests.models import Manifest

pytestmark = pytest.mark.urls(__name__)


def text_of(reader: PdfReader) -> str:
    """All pages' text with line breaks removed (values wrap in the table cells)."""
    return "".join(page.extract_text() for page in reader.pages).replace("\n", "").replace(" ", "")


def qr_texts(reader: PdfReader) -> list[str]:
    """What the QR codes drawn on the pages say (WeasyPrint shares one resource dictionary among pages)."""
    return [barcode.text for page in reader.pages for image in drawn_images(page)
            for barcode in zxingcpp.read_barcodes(image.convert("L"))]


@pytest.fixture
def manifest(make_org, make_vehicle, make_site, make_permit):
    return build_manifest(make_org, make_vehicle, make_site, make_permit)


@pytest.fixture
def rendered(manifest):
    return PdfReader(io.BytesIO(pdf.render_pdf(manifest)))


def test_pdf_has_the_three_parts_and_the_parties(manifest, rendered):
    text = text_of(rendered)
    assert text.startswith("危险废物转移联单") or "危险废物转移联单" in text
    for caption in ("一、移出信息", "二、运输信息", "三、接受信息", "突发环境事件防范措施", "道路运输证号",
                    "经营许可证编号", "接受意见", "拒收原因"):
        assert caption in text, caption
    for fact in (NUMBER, "重庆长江精细化工有限公司", manifest.generator.uscc, "巴南区界石镇桂花路18号",
                 "张三丰023-66668888", "危废贮存库一号", "配备吸附棉和灭火器", "重庆安运危险品运输有限公司",
                 "开州联运物流有限公司", "渝A12345", "渝F67890", "李司机13912345678", "万州中转场",
                 "重庆绿源环保处置有限公司", manifest.receiver.uscc,
                 "渝危废0501号", "2026-05-0608:30", "2026-05-0614:30"):
        assert fact.replace(" ", "") in text, fact
    assert "渝危废0999号" not in text  # that permit covers none of the manifest's codes
    for leg in manifest.legs.select_related("vehicle"):
        assert leg.vehicle.transport_permit_number in text


def test_pdf_lists_the_wastes_in_chinese(rendered):
    text = text_of(rendered)
    for fact in ("900-041-49", "废活性炭", "900-249-08", "废矿物油", "固态", "液态", "毒性、感染性", "毒性、易燃性",
                 "桶", "IBC吨桶", "D10", "R9", "1.25", "1.24", "接受"):
        assert fact in text, fact


def test_pdf_prints_the_digest_the_public_page_shows(manifest, rendered):
    assert verify.public_view(NUMBER, manifest.access_code)["digest"] in text_of(rendered)


def test_qr_code_decodes_to_the_verification_url(manifest, rendered, settings):
    url = f"{settings.BASE_URL.rstrip('/')}/manifests/verify/{NUMBER}/?code={manifest.access_code}"
    assert pdf.verification_url(NUMBER, manifest.access_code) == url
    assert [b.text for b in zxingcpp.read_barcodes(_image(pdf.qr_png(manifest)))] == [url]
    assert qr_texts(rendered) == [url]  # the only image in the document is the QR code


def test_qr_follows_the_base_url_setting(manifest, settings):
    settings.BASE_URL = "https://wufei.example.gov.cn/"
    assert [b.text for b in zxingcpp.read_barcodes(_image(pdf.qr_png(manifest)))] == [
        f"https://wufei.example.gov.cn/manifests/verify/{NUMBER}/?code={manifest.access_code}"]


def _image(png: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("L")


@pytest.mark.parametrize(("kind", "title"), [("hazardous", "危险废物转移联单"), ("medical", "医疗废物转移联单"),
                                             ("general", "一般工业固体废物转移联单")])
def test_title_follows_the_kind(make_org, make_vehicle, make_site, make_permit, kind, title):
    manifest = build_manifest(make_org, make_vehicle, make_site, make_permit, kind=kind)
    html = pdf.render_html(manifest)
    assert f"<h1>{title}</h1>" in html
    assert ("随危险货物运单一并随车携带" in html) is (kind != "general")


def test_medical_manifest_pdf_is_titled_as_such(make_org, make_vehicle, make_site, make_permit):
    manifest = build_manifest(make_org, make_vehicle, make_site, make_permit, kind="medical")
    text = text_of(PdfReader(io.BytesIO(pdf.render_pdf(manifest))))
    assert "医疗废物转移联单" in text and "危险废物转移联单" not in text


def test_draft_without_number_renders_without_qr(make_org, make_vehicle, make_site, make_permit):
    manifest = build_manifest(make_org, make_vehicle, make_site, make_permit, number=None, status="draft",
                              signed=False)
    html = pdf.render_html(manifest)
    assert "草稿，尚未编号" in html and "data:image/png" not in html and "未签发" in html
    with pytest.raises(ValueError):
        pdf.qr_png(manifest)


def test_signature_by_gate_code_is_marked(make_org, make_vehicle, make_site, make_permit):
    manifest = build_manifest(make_org, make_vehicle, make_site, make_permit, status="in_transit", signed=False)
    leg = manifest.legs.get(position=1)
    sign(manifest, "pickup", leg.transporter, "李司机", manifest.legs.get(position=1).taken_at, leg=leg,
         method="signing_code")
    context = pdf.manifest_context(manifest)
    assert context["legs"][0]["signature"]["by_code"] and context["legs"][1]["signature"] is None
    assert context["receiver"]["signature"] is None


# --- visibility and the page --------------------------------------------------------------------------

def test_pdf_selector_follows_the_scope(manifest, member_of, regulator_of, make_org):
    for user in (member_of(manifest.generator), member_of(manifest.legs.get(position=2).transporter),
                 member_of(manifest.receiver), regulator_of(KAIZHOU)):
        assert pdf.manifest_for_pdf(scope_for(user), manifest.pk) == manifest
    with pytest.raises(NotFound):
        pdf.manifest_for_pdf(scope_for(member_of(make_org("无关单位"))), manifest.pk)
    with pytest.raises(NotFound):
        pdf.manifest_for_pdf(scope_for(member_of(manifest.generator)), manifest.pk + 1000)


def test_pdf_page_for_a_party(client_for, member_of, manifest):
    response = client_for(member_of(manifest.generator)).get(f"/manifests/{manifest.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{NUMBER}.pdf"'
    assert "重庆长江精细化工有限公司" in text_of(PdfReader(io.BytesIO(response.content)))


def test_pdf_page_is_404_for_a_manifest_the_user_may_not_see(client_for, member_of, make_org, manifest):
    client = client_for(member_of(make_org("无关单位")))
    assert client.get(f"/manifests/{manifest.pk}/pdf/").status_code == 404
    assert client.get(f"/manifests/{manifest.pk + 1000}/pdf/").status_code == 404


def test_pdf_page_needs_login(client, manifest):
    response = client.get(f"/manifests/{manifest.pk}/pdf/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Manifest.objects.filter(pk=manifest.pk).exists()
