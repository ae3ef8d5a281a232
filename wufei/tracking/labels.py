"""Printable container labels (危险废物标签) as PDF, after HJ 1276-2022.

One label per container (two for containers above 450 L, for opposite sides), rendered by
WeasyPrint from `templates/tracking/labels/labels.html`. What the standard says, as far as
RULES.md §4 could confirm it:

- minimum label size and minimum text height by container volume: ≤50 L → 100×100 mm, 3 mm;
  >50–≤450 L → 150×150 mm, 5 mm; >450 L → 200×200 mm, 6 mm, on two opposite sides;
- a black border ≥1 mm with ≥3 mm blank margin outside it;
- content: 废物名称, 废物代码, 主要成分, 危险特性 (pictograms), 产生日期, 产生单位和联系方式,
  数字识别码 (37 characters) and a QR code. The other captions (废物类别, 废物形态, 废物重量, 备注)
  follow the usual template; the template's full field list is UNCONFIRMED;
- background colour: parameter `label.background_rgb` (UNCONFIRMED default 255,150,0).

Medical waste (HW01) is labelled under HJ 421, not HJ 1276 (HJ 1276 §1). Wufei does not
reproduce HJ 421's own warning-sign artwork: a medical-waste container gets the same layout
headed 医疗废物 instead of 危险废物.

The hazard pictograms are drawn as diamonds carrying the characteristic's letter code and
Chinese name; they stand in for the standard's artwork, which is not reproduced here.

The text height is measured on the Chinese characters: Noto Sans CJK ideographs are about
0.92 em tall, so the font size is the minimum height divided by GLYPH_HEIGHT_EM (0.9).
"""

import datetime as dt
import logging
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import islice

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog.models import HAZARD_CHARACTERISTICS
from wufei.core import parameters
from wufei.core.errors import NotFound, ValidationFailed, field_error
from wufei.tracking import services
from wufei.tracking.codes import normalize
from wufei.tracking.models import Container, PhysicalForm

logger = logging.getLogger(__name__)

LAYOUTS = ("sheet", "single")
MAX_BATCH = 200  # containers per request (with HarfBuzz-Subset a label takes about 0.07 s to render)
GLYPH_HEIGHT_EM = 0.9  # height of a CJK ideograph in Noto Sans CJK, as a share of the font size
MARGIN_MM = 3  # blank margin outside the border (≥3 mm)
SHEET_MARGIN_MM = (10, 5)  # A4 page margin (top/bottom, left/right) around a sheet of labels
A4_MM = (210, 297)
SHEET_PER_PAGE = 4  # 100×100 mm labels on an A4 sheet (2×2)
TEMPLATE = "tracking/labels/labels.html"


@dataclass(frozen=True)
class LabelSize:
    size_mm: int  # square label, edge length
    min_text_mm: float  # minimum text height
    copies: int  # labels per container (2: on opposite sides)
    qr_mm: int  # edge of the QR code (about 0.65–1 mm a module for a version-4 code)

    @property
    def font_mm(self) -> float:
        return math.ceil(self.min_text_mm / GLYPH_HEIGHT_EM * 100) / 100  # rounded up to 0.01 mm

    @property
    def border_mm(self) -> float:
        return max(1.0, self.size_mm / 100)  # ≥1 mm; thicker on the larger labels

    @property
    def beside_qr_mm(self) -> float:
        """Room the fields beside the QR code leave for it (the code and a gap)."""
        return round(self.qr_mm + 0.3 * self.font_mm, 2)


# HJ 1276-2022 label size table: (largest container volume in litres, or None for "above").
# The table gives ">50–≤450" for 150 mm and "≥450" for 200 mm; 450 L exactly is taken as 150 mm,
# and two labels are required only "above 450 L".
SIZE_TABLE: tuple[tuple[Decimal | None, LabelSize], ...] = (
    (Decimal("50"), LabelSize(100, 3.0, 1, qr_mm=24)),
    (Decimal("450"), LabelSize(150, 5.0, 1, qr_mm=30)),
    (None, LabelSize(200, 6.0, 2, qr_mm=36)),
)
SIZES = {spec.size_mm: spec for _, spec in SIZE_TABLE}

# The label is a Chinese regulatory document: its words do not follow the UI language.
HAZARD_NAMES = {"T": "毒性", "C": "腐蚀性", "I": "易燃性", "R": "反应性", "In": "感染性"}
assert set(HAZARD_NAMES) == set(HAZARD_CHARACTERISTICS)
FORM_NAMES = {
    PhysicalForm.SOLID: "固态",
    PhysicalForm.SEMI_SOLID: "半固态",
    PhysicalForm.LIQUID: "液态",
    PhysicalForm.GAS: "气态",
}


def label_size_for(volume_litres) -> LabelSize:
    """The standard's minimum label for a container volume (unknown volume: the smallest label)."""
    if volume_litres is None:
        return SIZE_TABLE[0][1]
    volume = Decimal(str(volume_litres))
    for limit, spec in SIZE_TABLE:
        if limit is None or volume <= limit:
            return spec
    raise AssertionError("unreachable")


def verification_url(code: str) -> str:
    """The address a scanned label opens; it carries the container code."""
    return f"{settings.BASE_URL.rstrip('/')}/t/{code}/"


def qr_data_uri(code: str) -> str:
    """A QR code of the verification URL as a PNG data URI (an image XObject in the PDF)."""
    qr = segno.make_qr(verification_url(code), error="m")
    return qr.png_data_uri(scale=8, border=2, dark="#000000", light="#ffffff")


# --- selectors -----------------------------------------------------------------------------

def _with_label_relations(queryset):
    return queryset.select_related("waste__category", "organization__region")


def containers_for_labels(scope, codes) -> list[Container]:
    """The containers the caller may see, in the order asked (duplicates dropped).

    A code that is unknown or belongs to a container the caller may not see gives NotFound,
    with the same answer in both cases (another unit's containers are never revealed).
    """
    wanted = list(dict.fromkeys(normalize(c) for c in codes if normalize(c)))
    if not wanted:
        raise ValidationFailed(_("Give at least one container code"),
                               errors=[field_error("codes", _("required"))])
    if len(wanted) > MAX_BATCH:
        raise ValidationFailed(_("At most %(n)d labels per request") % {"n": MAX_BATCH},
                               errors=[field_error("codes", _("too many"))])
    found = {c.code: c for c in _with_label_relations(Container.objects.visible_to(scope).filter(code__in=wanted))}
    missing = [code for code in wanted if code not in found]
    if missing:
        raise NotFound(_("container not found: %(codes)s") % {"codes": ", ".join(missing)})
    return [found[code] for code in wanted]


def container_for_label(scope, code: str) -> Container:
    """One container the caller may see, else NotFound (services.get_container decides)."""
    container = services.get_container(scope, code)
    return _with_label_relations(Container.objects.filter(pk=container.pk)).get()


# --- rendering -----------------------------------------------------------------------------

def _background(region, cache: dict) -> str:
    key = getattr(region, "pk", None)
    if key not in cache:
        raw = str(parameters.get("label.background_rgb", region))
        try:
            rgb = [int(part) for part in raw.split(",")]
            if len(rgb) != 3 or not all(0 <= part <= 255 for part in rgb):
                raise ValueError(raw)
        except ValueError:
            logger.warning("label.background_rgb %r is not R,G,B; using the default", raw)
            rgb = [int(part) for part in str(parameters.default("label.background_rgb")).split(",")]
        cache[key] = "rgb({}, {}, {})".format(*rgb)
    return cache[key]


def _weight(tonnes) -> str:
    if tonnes is None:
        return ""
    tonnes = Decimal(tonnes)
    if tonnes < 1:
        return f"{_plain(tonnes * 1000, 3)} kg"
    return f"{_plain(tonnes, 3)} t"


def _plain(value: Decimal, places: int) -> str:
    text = f"{value.quantize(Decimal(1).scaleb(-places)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value, timezone.get_default_timezone()).date()  # Asia/Shanghai
    return value.isoformat()


def label_context(container: Container, *, background: str) -> dict:
    """Everything the template prints for one container."""
    organization = container.organization
    category = container.waste.category
    hazards = [h for h in (container.hazards or container.waste.hazards).split(",") if h.strip()]
    contact = " ".join(part for part in (organization.contact_name, organization.contact_phone) if part)
    return {
        "code": container.code,
        # HW01 follows HJ 421, not HJ 1276: same layout, its own heading (see the module docstring)
        "heading": "医疗废物" if container.is_medical else "危险废物",
        "medical": container.is_medical,
        "waste_name": container.waste_name,
        "category": f"{category.code} {category.name}",
        "waste_code": container.waste_id,
        "physical_form": FORM_NAMES.get(container.physical_form, container.physical_form),
        "hazards": [{"key": h.strip(), "letter": h.strip(), "name": HAZARD_NAMES.get(h.strip(), h.strip())}
                    for h in hazards],
        "main_components": container.main_components,
        "unit": organization.name,
        "contact": contact,
        "produced_on": _date(container.produced_at),
        "weight": _weight(container.net_weight_tonnes),
        "note": container.note,
        "qr": qr_data_uri(container.code),
        "url": verification_url(container.code),
        "background": background,
    }


def _chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def plan_pages(containers, *, layout: str = "sheet", size: int | None = None) -> list[dict]:
    """The pages to print: [{'kind': 'single'|'sheet', 'size': mm, 'labels': [(container, LabelSize)]}].

    "single": one label per page, the page the size of the label. "sheet": A4 pages, four
    100×100 mm labels each (2×2), a larger label alone on its page; the small labels come
    first, then the larger ones, each group in the order given.
    """
    if layout not in LAYOUTS:
        raise ValidationFailed(_("layout must be one of: %(choices)s") % {"choices": ", ".join(LAYOUTS)},
                               errors=[field_error("layout", _("invalid choice"))])
    if size is not None and size not in SIZES:
        raise ValidationFailed(_("label size must be one of: %(choices)s mm") % {
            "choices": ", ".join(str(s) for s in SIZES)}, errors=[field_error("size", _("invalid choice"))])
    items = []
    for container in containers:
        spec = label_size_for(container.volume_litres)
        if size is not None:
            if size < spec.size_mm:
                raise ValidationFailed(
                    _("A %(volume)s L container needs a label of at least %(min)d mm") % {
                        "volume": container.volume_litres, "min": spec.size_mm},
                    errors=[field_error("size", _("smaller than the standard allows"))])
            spec = replace(SIZES[size], copies=spec.copies)
        items.extend([(container, spec)] * spec.copies)
    if layout == "single":
        return [{"kind": "single", "size": spec.size_mm, "labels": [(c, spec)]} for c, spec in items]
    small, large = [], []
    for item in items:
        (small if item[1].size_mm * 2 <= A4_MM[0] - 2 * SHEET_MARGIN_MM[1] else large).append(item)
    pages = [{"kind": "sheet", "size": chunk[0][1].size_mm, "labels": chunk}
             for chunk in _chunks(small, SHEET_PER_PAGE)]
    pages += [{"kind": "sheet", "size": spec.size_mm, "labels": [(c, spec)]} for c, spec in large]
    return pages


def render_html(containers, *, layout: str = "sheet", size: int | None = None) -> str:
    pages = plan_pages(containers, layout=layout, size=size)
    backgrounds: dict = {}
    contexts: dict[str, dict] = {}  # by code: a container with two labels is laid out once
    for page in pages:
        page_labels = []
        for container, spec in page["labels"]:
            if container.code not in contexts:
                background = _background(container.organization.region, backgrounds)
                contexts[container.code] = label_context(container, background=background)
            page_labels.append({**contexts[container.code], "size": spec.size_mm})
        page["labels"] = page_labels
    return render_to_string(TEMPLATE, {
        "pages": pages,
        "sizes": sorted(SIZES.values(), key=lambda s: s.size_mm),
        "margin_mm": MARGIN_MM,
        "sheet_margin": SHEET_MARGIN_MM,
    })


def render_labels(containers, *, layout: str = "sheet", size: int | None = None) -> bytes:
    """A PDF of the containers' labels.

    `layout`: "single" (each label on a page its own size) or "sheet" (A4, 2×2 small labels).
    `size`: None (by container volume, per HJ 1276) or 100 / 150 / 200 mm for every label;
    a size below the standard's minimum for a container is refused.
    """
    from weasyprint import HTML  # imported late: loading WeasyPrint and its fonts takes a moment
    from weasyprint.urls import URLFetcher

    containers = list(containers)
    if not containers:
        raise ValidationFailed(_("Give at least one container code"), errors=[field_error("codes", _("required"))])
    html = render_html(containers, layout=layout, size=size)
    # everything a label shows is inline (QR as a data: URI, pictograms as SVG): fetch nothing else
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()
