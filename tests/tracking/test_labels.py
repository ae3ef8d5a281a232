"""Container labels (HJ 1276-2022): PDF content, QR code, sizes by volume, sheets, pages and API.

WeasyPrint takes a while per document, so the documents inspected field by field are rendered
once per module (from unsaved containers: rendering reads only the catalog and parameters).
"""

import datetime as dt
import io
from decimal import Decimal

import pytest
import zxingcpp
from django.conf import settings
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ContentStream

from tests.conftest import BANAN, KAIZHOU, ensure_catalogs, uscc_for
from wufei.catalog.models import HazardousWaste, Region
from wufei.core.errors import NotFound, ValidationFailed
from wufei.core.models import Parameter
from wufei.core.scope import scope_for
from wufei.registry.models import Organization
from wufei.tracking import labels
from wufei.tracking.models import Container

MM_PER_PT = 25.4 / 72
CAPTIONS = ("废物名称", "废物类别", "废物代码", "废物形态", "危险特性", "主要成分", "产生/收集单位",
            "联系人及联系方式", "产生日期", "废物重量", "备注", "数字识别码")
PRODUCED = dt.datetime(2026, 1, 4, 17, 30, tzinfo=dt.UTC)  # 2026-01-05 01:30 in Shanghai: the label's date


def code_for(uscc: str, waste: str = "900-041-49", seq: int = 1) -> str:
    code = f"{uscc}{waste.replace('-', '')}20260105{seq:03d}"
    assert len(code) == 37
    return code


def container(organization, *, volume, seq=1, waste="900-041-49", save=False, **fields) -> Container:
    values = {
        "code": code_for(organization.uscc, waste, seq), "organization": organization, "holder": organization,
        "waste": HazardousWaste.objects.get(pk=waste), "waste_name": "废活性炭", "physical_form": "solid",
        "hazards": "T,In", "main_components": "活性炭、甲苯", "packaging": "drum",
        "volume_litres": None if volume is None else Decimal(volume), "net_weight_tonnes": Decimal("0.0255"),
        "produced_at": PRODUCED, "note": "密封存放",
    }
    values.update(fields)
    return Container.objects.create(**values) if save else Container(**values)


def unsaved_org(region=BANAN) -> Organization:
    return Organization(uscc=uscc_for(region), name="重庆长江精细化工有限公司", region=Region.objects.get(pk=region),
                        is_generator=True, contact_name="张三", contact_phone="023-66668888")


def text_of(page) -> str:
    """The page's text with line breaks removed (values wrap on the smaller labels)."""
    return page.extract_text().replace("\n", "")


def page_mm(page) -> tuple[int, int]:
    return round(float(page.mediabox.width) * MM_PER_PT), round(float(page.mediabox.height) * MM_PER_PT)


def drawn_images(page) -> list[Image.Image]:
    """The images the page's content stream draws (WeasyPrint shares one resource dictionary among pages)."""
    names: set[str] = set()

    def collect(content, resources):
        xobjects = resources.get("/XObject", {}) if resources else {}
        for operands, operator in ContentStream(content, page.pdf).operations:
            if operator == b"Do":
                xobject = xobjects[operands[0]].get_object()
                if xobject["/Subtype"] == "/Image":
                    names.add(operands[0][1:])
                else:
                    collect(xobject, xobject.get("/Resources", resources))

    collect(page.get_contents(), page["/Resources"])
    return [image.image for image in page.images if image.name.rsplit(".", 1)[0] in names]


def qr_texts(page) -> list[str]:
    return [barcode.text for image in drawn_images(page) for barcode in zxingcpp.read_barcodes(image.convert("L"))]


@pytest.fixture(scope="module")
def single(django_db_setup, django_db_blocker):
    """One single-layout PDF: 30 L, 200 L, 1000 L (two labels) and a medical 5 L container."""
    with django_db_blocker.unblock():
        ensure_catalogs()
        org = unsaved_org()
        containers = [
            container(org, volume="30", seq=1),
            container(org, volume="200", seq=2, waste="900-249-08", waste_name="废矿物油", physical_form="liquid",
                      hazards="T,I", net_weight_tonnes=Decimal("0.16")),
            container(org, volume="1000", seq=3, net_weight_tonnes=Decimal("1.25")),
            container(org, volume="5", seq=4, waste="841-001-01", waste_name="感染性废物", hazards="In"),
        ]
        pdf = labels.render_labels(containers, layout="single")
    return containers, PdfReader(io.BytesIO(pdf))


@pytest.fixture(scope="module")
def sheet(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_catalogs()
        org = unsaved_org()
        containers = [container(org, volume="25", seq=n) for n in range(1, 6)]
        pdf = labels.render_labels(containers, layout="sheet")
    return containers, PdfReader(io.BytesIO(pdf))


# --- the size rule -----------------------------------------------------------------------------

@pytest.mark.parametrize(("volume", "size", "text", "copies"), [
    (None, 100, 3, 1), ("0.5", 100, 3, 1), ("50", 100, 3, 1), ("50.1", 150, 5, 1), ("200", 150, 5, 1),
    ("450", 150, 5, 1), ("450.1", 200, 6, 2), ("1000", 200, 6, 2),
])
def test_label_size_by_container_volume(volume, size, text, copies):
    spec = labels.label_size_for(None if volume is None else Decimal(volume))
    assert (spec.size_mm, spec.min_text_mm, spec.copies) == (size, text, copies)
    assert spec.font_mm * labels.GLYPH_HEIGHT_EM >= text  # the characters themselves reach the minimum height
    assert spec.border_mm >= 1


def test_single_layout_pages_are_sized_by_volume_and_large_containers_get_two(single):
    containers, pdf = single
    assert [page_mm(page) for page in pdf.pages] == [(100, 100), (150, 150), (200, 200), (200, 200), (100, 100)]
    codes = [next(c.code for c in containers if c.code in text_of(page)) for page in pdf.pages]
    assert codes == [containers[0].code, containers[1].code, containers[2].code, containers[2].code,
                     containers[3].code]


# --- content ---------------------------------------------------------------------------------------

def test_label_shows_the_required_fields(single):
    containers, pdf = single
    for page, c in zip(pdf.pages, [containers[0], containers[1], containers[2], containers[2], containers[3]],
                       strict=True):
        text = text_of(page)
        for caption in CAPTIONS:
            assert caption in text, caption
        assert c.code in text  # the digital identification code, in full
        assert c.waste_id in text
        assert f"HW{c.waste_id[-2:]}" in text
        assert c.waste_name in text
        assert "重庆长江精细化工有限公司" in text and "023-66668888" in text
        assert "2026-01-05" in text
    first, oil = text_of(pdf.pages[0]), text_of(pdf.pages[1])
    assert "危险废物" in first and "其他废物" in first and "固态" in first and "25.5 kg" in first
    assert "毒性" in first and "感染性" in first and "易燃性" not in first
    assert "液态" in oil and "160 kg" in oil and "易燃性" in oil
    assert "1.25 t" in text_of(pdf.pages[2])


def test_medical_waste_is_headed_as_such(single):
    _, pdf = single
    text = text_of(pdf.pages[4])
    assert "医疗废物" in text and "危险废物" not in text.replace("危险特性", "")


def test_qr_code_decodes_to_the_verification_url(single):
    containers, pdf = single
    for page, c in zip(pdf.pages, [containers[0], containers[1], containers[2], containers[2], containers[3]],
                       strict=True):
        assert len(drawn_images(page)) == 1  # the QR is the only image; pictograms are vector
        assert qr_texts(page) == [f"{settings.BASE_URL.rstrip('/')}/t/{c.code}/"]


def test_sheet_puts_four_small_labels_on_an_a4_page(sheet):
    containers, pdf = sheet
    assert len(pdf.pages) == 2
    assert all(page_mm(page) == (210, 297) for page in pdf.pages)
    assert [len(drawn_images(page)) for page in pdf.pages] == [4, 1]
    first, second = (text_of(page) for page in pdf.pages)
    assert all(c.code in first for c in containers[:4]) and containers[4].code in second
    assert sorted(qr_texts(pdf.pages[0])) == sorted(labels.verification_url(c.code) for c in containers[:4])


def test_sheet_gives_larger_labels_a_page_each(db):
    org = unsaved_org()
    pages = labels.plan_pages([container(org, volume="30", seq=1), container(org, volume="1000", seq=2),
                               container(org, volume="20", seq=3), container(org, volume="100", seq=4)])
    assert [(p["size"], len(p["labels"])) for p in pages] == [(100, 2), (200, 1), (200, 1), (150, 1)]


def test_size_override_may_not_go_below_the_standard(db):
    org = unsaved_org()
    with pytest.raises(ValidationFailed):
        labels.plan_pages([container(org, volume="200")], layout="single", size=100)
    pages = labels.plan_pages([container(org, volume="30")], layout="single", size=200)
    assert [p["size"] for p in pages] == [200]
    with pytest.raises(ValidationFailed):
        labels.plan_pages([container(org, volume="30")], layout="poster")


def test_background_colour_is_a_parameter(db):
    org = unsaved_org()
    assert "rgb(255, 150, 0)" in labels.render_html([container(org, volume="30")])
    Parameter.objects.create(key="label.background_rgb", region_code=BANAN, value="255,200,0")
    assert "rgb(255, 200, 0)" in labels.render_html([container(org, volume="30")])
    kaizhou = unsaved_org(KAIZHOU)
    assert "rgb(255, 150, 0)" in labels.render_html([container(kaizhou, volume="30")])


def _box(box, css_class):
    """The first box (depth first) of an element with this class."""
    element = getattr(box, "element", None)
    if element is not None and css_class in (element.get("class") or "").split():
        return box
    for child in getattr(box, "children", None) or ():
        if (found := _box(child, css_class)) is not None:
            return found
    return None


def test_longest_values_stay_clear_of_the_qr_block(db):
    """Fields at their longest are clamped and never run into the bottom block (QR, unit, code)."""
    from weasyprint import HTML

    org = unsaved_org()
    org.name, org.contact_name, org.contact_phone = "单" * 200, "联" * 50, "1" * 30
    containers = [container(org, volume=volume, seq=n, waste_name="名" * 200, main_components="分" * 200,
                            note="注" * 300, hazards="T,C,I,R,In") for n, volume in enumerate(("30", "200", "1000"))]
    document = HTML(string=labels.render_html(containers, layout="single")).render()
    assert len(document.pages) == 4
    for page in document.pages:
        frame = _box(page._page_box, "frame")
        foot = _box(frame, "foot")
        top = [child for child in frame.children if child is not foot]
        assert max(box.position_y + box.margin_height() for box in top) <= foot.position_y
        assert foot.position_y + foot.margin_height() <= frame.content_box_y() + frame.height + 0.01
        assert _box(foot, "code-value") is not None


# --- who may print -------------------------------------------------------------------------------

@pytest.fixture
def two_units(make_org, member_of, client_for):
    mine, theirs = make_org(contact_name="李四", contact_phone="13800000000"), make_org()
    user = member_of(mine)
    return {
        "client": client_for(user), "user": user,
        "mine": container(mine, volume="30", seq=1, save=True),
        "mine2": container(mine, volume="30", seq=2, save=True),
        "theirs": container(theirs, volume="30", seq=1, save=True),
    }


def test_selectors_hide_other_units_containers(two_units):
    scope = scope_for(two_units["user"])
    assert labels.container_for_label(scope, two_units["mine"].code.lower()) == two_units["mine"]
    for codes in ([two_units["theirs"].code], [two_units["mine"].code, two_units["theirs"].code], ["NOPE"]):
        with pytest.raises(NotFound):
            labels.containers_for_labels(scope, codes)
    found = labels.containers_for_labels(scope, [two_units["mine2"].code, two_units["mine"].code,
                                                 two_units["mine2"].code])
    assert [c.code for c in found] == [two_units["mine2"].code, two_units["mine"].code]


def test_pages_and_api_refuse_another_units_container(two_units):
    client, theirs, mine = two_units["client"], two_units["theirs"].code, two_units["mine"].code
    assert client.get(f"/tracking/labels/{theirs}.pdf").status_code == 404
    assert client.get(f"/tracking/labels/{'9' * 37}.pdf").status_code == 404
    assert client.get("/tracking/labels.pdf", {"codes": f"{mine},{theirs}"}).status_code == 404
    assert client.get(f"/api/v1/containers/{theirs}/label.pdf").status_code == 404
    response = client.post("/api/v1/labels", {"codes": [mine, theirs]}, content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_logged_out_callers_get_nothing(client, two_units):
    mine = two_units["mine"].code
    response = client.get(f"/tracking/labels/{mine}.pdf")
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.get("/tracking/labels.pdf", {"codes": mine}).status_code == 302
    assert client.get(f"/api/v1/containers/{mine}/label.pdf").status_code == 401
    assert client.post("/api/v1/labels", {"codes": [mine]}, content_type="application/json").status_code == 401


def test_bad_requests_are_refused_before_rendering(two_units):
    client, mine = two_units["client"], two_units["mine"].code
    assert client.get(f"/tracking/labels/{mine}.pdf", {"layout": "poster"}).status_code == 400
    assert client.get(f"/tracking/labels/{mine}.pdf", {"size": "huge"}).status_code == 400
    assert client.get("/tracking/labels.pdf").status_code == 400
    assert client.post("/api/v1/labels", {"codes": []}, content_type="application/json").status_code == 422
    response = client.post("/api/v1/labels", {"codes": [mine], "layout": "poster"}, content_type="application/json")
    assert response.status_code == 422


@pytest.fixture
def quick_render(monkeypatch):
    """The views without WeasyPrint: the same page plan and template, blank pages of the planned sizes.

    The views only route, check access and call the renderer, whose output the module-level
    documents above check in detail; one API test below renders for real.
    """
    calls = []

    def render(containers, *, layout="sheet", size=None):
        containers = list(containers)
        labels.render_html(containers, layout=layout, size=size)
        writer = PdfWriter()
        for page in labels.plan_pages(containers, layout=layout, size=size):
            width, height = (page["size"], page["size"]) if page["kind"] == "single" else labels.A4_MM
            writer.add_blank_page(width / MM_PER_PT, height / MM_PER_PT)
        calls.append([c.code for c in containers])
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    monkeypatch.setattr(labels, "render_labels", render)
    return calls


def test_page_prints_one_container(two_units, quick_render):
    response = two_units["client"].get(f"/tracking/labels/{two_units['mine'].code.lower()}.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert [page_mm(page) for page in PdfReader(io.BytesIO(response.content)).pages] == [(100, 100)]
    assert quick_render == [[two_units["mine"].code]]
    response = two_units["client"].get(f"/tracking/labels/{two_units['mine'].code}.pdf", {"size": "150"})
    assert [page_mm(page) for page in PdfReader(io.BytesIO(response.content)).pages] == [(150, 150)]


def test_batch_page_prints_a_sheet(two_units, quick_render):
    codes = f"{two_units['mine2'].code}, {two_units['mine'].code}"
    response = two_units["client"].get("/tracking/labels.pdf", {"codes": codes, "layout": "sheet"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert [page_mm(page) for page in PdfReader(io.BytesIO(response.content)).pages] == [(210, 297)]
    assert quick_render == [[two_units["mine2"].code, two_units["mine"].code]]


def test_regulators_print_labels_of_their_region_only(two_units, regulator_of, client_for, quick_render):
    code = two_units["mine"].code
    assert client_for(regulator_of(BANAN)).get(f"/tracking/labels/{code}.pdf").status_code == 200
    assert client_for(regulator_of(KAIZHOU)).get(f"/tracking/labels/{code}.pdf").status_code == 404


def test_api_prints_many_containers(two_units, quick_render):
    codes = [two_units["mine"].code, two_units["mine2"].code]
    response = two_units["client"].post("/api/v1/labels", {"codes": codes, "layout": "single"},
                                        content_type="application/json")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(response.content)).pages) == 2
    assert quick_render == [codes]


def test_api_label_is_a_real_pdf(two_units):
    mine = two_units["mine"]
    response = two_units["client"].get(f"/api/v1/containers/{mine.code}/label.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(response.content))
    assert [page_mm(page) for page in pdf.pages] == [(100, 100)]
    assert "李四 13800000000" in text_of(pdf.pages[0]) and mine.code in text_of(pdf.pages[0])
    assert qr_texts(pdf.pages[0]) == [labels.verification_url(mine.code)]
