"""The public catalog pages under /catalog/: they render, show the right rows, and are labelled."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from wufei.catalog import services
from wufei.core.scope import scope_for

pytestmark = pytest.mark.django_db

PAGES = [
    "catalog:index",
    "catalog:hazardous_wastes",
    "catalog:categories",
    "catalog:treatment_methods",
    "catalog:general_solid_wastes",
    "catalog:exemptions",
    "catalog:regions",
    "catalog:zones",
]


class _Structure(HTMLParser):
    """Collects what the accessibility checks need: headings, form controls, labels, table headers, rows."""

    def __init__(self):
        super().__init__()
        self.h1 = 0
        self.controls: list[str | None] = []
        self.labels: set[str] = set()
        self.tables = 0
        self.headers = 0
        self.rows: list[str] = []  # class attribute of each body row
        self._in_tbody = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h1":
            self.h1 += 1
        elif tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append(attrs.get("id"))
        elif tag == "label" and attrs.get("for"):
            self.labels.add(attrs["for"])
        elif tag == "table":
            self.tables += 1
        elif tag == "th":
            self.headers += 1
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.rows.append(attrs.get("class") or "")

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_tbody = False


def _structure(response) -> _Structure:
    parser = _Structure()
    parser.feed(response.content.decode())
    return parser


def _page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response["Content-Type"].startswith("text/html")
    return response


def _text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_with_one_heading_labels_and_table_headers(client, name):
    response = _page(client, reverse(name))
    structure = _structure(response)
    assert structure.h1 == 1
    for control in structure.controls:
        assert control and control in structure.labels, (name, control)
    if structure.tables:
        assert structure.headers >= 2
    # Every page sits in the shared layout and links back to the catalog overview.
    assert 'id="main"' in _text(response)
    assert reverse("catalog:index") in _text(response)


def test_pages_are_public(client):
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200


def test_pages_render_for_logged_in_users(client_for, make_user, regulator_of):
    # The layout shows more links to signed-in users (and regulators): the pages must still render.
    for user in (make_user(), regulator_of("500113")):
        client = client_for(user)
        for name in PAGES:
            assert client.get(reverse(name)).status_code == 200, name
        assert client.get(reverse("catalog:hazardous_waste_detail", args=["900-041-49"])).status_code == 200
        assert client.get(reverse("catalog:region_detail", args=["500113"])).status_code == 200


def test_index_shows_counts_and_links(client):
    text = _text(_page(client, reverse("catalog:index")))
    for count in ("467", "46", "57", "27", "12", "33", "3213"):
        assert count in text, count
    for name in PAGES[1:]:
        assert f'href="{reverse(name)}"' in text, name
    english = _text(client.get(reverse("catalog:index"), headers={"Accept-Language": "en"}))
    assert "467 codes" in english and "12 rows, 7 unverified" in english


# --- hazardous wastes ---------------------------------------------------------------------

def test_list_without_filters_shows_all_467_codes(client):
    response = _page(client, reverse("catalog:hazardous_wastes"))
    assert len(_structure(response).rows) == 467
    assert len(re.findall(r'href="/catalog/hazardous-wastes/\d{3}-\d{3}-\d{2}/"', _text(response))) == 467


def test_filter_by_category_and_text(client):
    response = _page(client, "/catalog/hazardous-wastes/?category=HW49&q=活性炭")
    text = _text(response)
    assert "900-039-49" in text
    assert "900-041-49" not in text
    assert len(_structure(response).rows) == 1
    assert '<option value="HW49" selected>' in text
    assert 'value="活性炭"' in text


def test_filter_by_hazard(client):
    response = _page(client, "/catalog/hazardous-wastes/?hazard=In")
    text = _text(response)
    for code in ("841-001-01", "841-002-01", "841-003-01", "900-041-49"):
        assert code in text
    assert len(_structure(response).rows) == services.search_hazardous_wastes(hazard="In").count() == 6
    assert '<option value="In" selected>' in text


def test_unknown_hazard_shows_an_error_instead_of_failing(client):
    response = _page(client, "/catalog/hazardous-wastes/?hazard=X")
    assert 'role="alert"' in _text(response)
    assert "-49</code>" not in _text(response)


def test_detail_page_shows_the_code_its_category_hazards_and_exemptions(client):
    waste = services.get_hazardous_waste("900-041-49")
    response = _page(client, reverse("catalog:hazardous_waste_detail", args=["900-041-49"]))
    text = _text(response)
    assert waste.description in text
    assert "含有或沾染毒性、感染性危险废物的废弃包装物、容器、过滤吸附介质" in text
    assert "非特定行业" in text
    assert "HW49" in text and "其他废物" in text
    assert "T/In" in text
    assert "<strong>T</strong>" in text and "<strong>In</strong>" in text
    assert "废弃的含油抹布、劳保用品" in text  # exemption item 24 names this code


def test_detail_page_includes_exemptions_of_the_whole_category(client):
    text = _text(_page(client, reverse("catalog:hazardous_waste_detail", args=["841-001-01"])))
    assert "床位总数在19张以下" in text  # item 2 names HW01
    assert "感染性废物" in text


def test_detail_page_without_exemptions(client):
    response = _page(client, reverse("catalog:hazardous_waste_detail", args=["900-039-49"]))
    assert "<table" not in _text(response)


def test_unknown_code_is_a_404_page(client):
    response = _page(client, reverse("catalog:hazardous_waste_detail", args=["999-999-99"]), status=404)
    text = _text(response)
    assert "999-999-99" in text
    assert 'id="main"' in text and _structure(response).h1 == 1


def test_categories_page_lists_the_46_categories_with_counts(client):
    response = _page(client, reverse("catalog:categories"))
    text = _text(response)
    assert len(_structure(response).rows) == 46
    assert "?category=HW49" in text and "?category=HW41" not in text
    assert '<td class="num">85</td>' in text  # HW11


# --- other lists --------------------------------------------------------------------------

def test_treatment_methods_page_and_kind_filter(client):
    response = _page(client, reverse("catalog:treatment_methods"))
    assert len(_structure(response).rows) == 27
    assert "G21" in _text(response)
    response = _page(client, reverse("catalog:treatment_methods") + "?kind=disposal")
    text = _text(response)
    assert len(_structure(response).rows) == 10
    assert "<code>D10</code>" in text and "<code>R1</code>" not in text


def test_general_solid_waste_page_marks_unverified_rows(client):
    response = _page(client, reverse("catalog:general_solid_wastes"))
    rows = _structure(response).rows
    assert len(rows) == 12
    assert rows.count("unverified") == 7
    text = _text(response)
    assert "粉煤灰" in text and "S01-S59" in text
    assert 'role="note"' in text


def test_exemptions_page_and_filter(client):
    response = _page(client, reverse("catalog:exemptions"))
    assert len(_structure(response).rows) == 57
    response = _page(client, reverse("catalog:exemptions") + "?code=HW01")
    assert len(_structure(response).rows) == 10  # items 2–5: 4 + 2 + 2 + 2 rows


# --- regions and zones --------------------------------------------------------------------

def test_regions_page_lists_provinces_and_searches(client):
    response = _page(client, reverse("catalog:regions"))
    assert len(_structure(response).rows) == 33
    assert "重庆市" in _text(response)
    assert 'href="/catalog/regions/500000/"' in _text(response)
    response = _page(client, reverse("catalog:regions") + "?q=巴南")
    assert "巴南区" in _text(response) and len(_structure(response).rows) == 1


def test_province_page_lists_its_districts(client):
    response = _page(client, reverse("catalog:region_detail", args=["500000"]))
    text = _text(response)
    assert "巴南区" in text and "两江新区" in text
    assert 'href="/catalog/regions/500113/"' in text
    # The abolished districts are shown, and marked.
    assert "江北区" in text and "渝北区" in text
    assert text.count('class="badge closed"') == 2
    assert len(_structure(response).rows) == 39 + 1  # 37 current + 2 abolished, plus the empty zones row


def test_district_page_shows_breadcrumb_and_zones(client, platform_admin):
    services.create_zone(scope=scope_for(platform_admin), code="BNJG", name="巴南经开区", kind="park",
                         region_code="500113")
    text = _text(_page(client, reverse("catalog:region_detail", args=["500113"])))
    assert "巴南区" in text
    start = text.index('class="breadcrumb"')
    breadcrumb = text[start:text.index('aria-current="page"', start)]
    assert 'href="/catalog/regions/500000/"' in breadcrumb and "重庆市" in breadcrumb
    assert "巴南经开区" in text


def test_abolished_region_page_says_so(client):
    response = _page(client, reverse("catalog:region_detail", args=["500105"]))
    assert "江北区" in _text(response)
    assert 'role="note"' in _text(response)


def test_unknown_region_is_a_404_page(client):
    response = _page(client, reverse("catalog:region_detail", args=["999999"]), status=404)
    assert "999999" in _text(response)


def test_zones_page_lists_and_filters_zones(client, platform_admin):
    scope = scope_for(platform_admin)
    services.create_zone(scope=scope, code="WSJK", name="万盛经开区", kind="special_zone", region_code="500110")
    services.create_zone(scope=scope, code="KZGY", name="开州工业园区", kind="park", region_code="500154")
    text = _text(_page(client, reverse("catalog:zones")))
    assert "万盛经开区" in text and "开州工业园区" in text
    text = _text(_page(client, reverse("catalog:zones") + "?region=500110"))
    assert "万盛经开区" in text and "开州工业园区" not in text
    text = _text(_page(client, reverse("catalog:zones") + "?kind=park"))
    assert "万盛经开区" not in text and "开州工业园区" in text
    response = _page(client, reverse("catalog:zones") + "?region=999999")
    assert 'role="alert"' in _text(response) and "万盛经开区" not in _text(response)
    text = _text(_page(client, reverse("catalog:region_detail", args=["500000"])))
    assert "万盛经开区" in text and "开州工业园区" in text
