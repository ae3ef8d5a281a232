"""A unit's name is data, never markup: a receiver renames itself to an HTML snippet with an event handler, its
waste flows through the Sankey and its point is on the map, and the city regulator hovers over both charts in
the cockpit. The tooltips show the name as literal text and hold no <img> element; the handler never runs.
The page's Content Security Policy would block the inline handler anyway, so the test checks the tooltip's DOM:
it fails whenever a chart writes the name as HTML, CSP or not."""

import json

import pytest

from tests.analytics.conftest import process
from tests.conftest import CHONGQING
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NAME = "<img src=x onerror=window.__xss=1>重庆环保处置中心"

# Centre of a chart element in page coordinates, found through the chart's own scene graph: the series holding
# an item whose label (Sankey node) or name (map point) is the given text.
ITEM_CENTRE = """([boxId, text]) => {
  const box = document.getElementById(boxId), chart = echarts.getInstanceByDom(box);
  const found = [];
  chart.getModel().eachSeries((series) => {
    const data = series.getData();
    for (let i = 0; i < data.count(); i++) {
      const raw = data.getRawDataItem(i);
      if (raw && (raw.label === text || raw.name === text)) {
        const el = data.getItemGraphicEl(i), rect = el.getBoundingRect();
        const [x, y] = el.transformCoordToGlobal(rect.x + rect.width / 2, rect.y + rect.height / 2);
        const outer = box.getBoundingClientRect();
        found.push({x: outer.left + x, y: outer.top + y});
      }
    }
  });
  return found;
}"""

# The tooltip ECharts shows inside the chart box: what it reads and which elements it holds.
TOOLTIP = """(boxId) => {
  const tips = [...document.getElementById(boxId).querySelectorAll(':scope > div')]
    .filter((el) => el.style.display !== 'none' && el.style.position === 'absolute' && el.textContent.trim());
  return tips.map((el) => ({text: el.textContent, images: el.querySelectorAll('img').length,
                            html: el.innerHTML}));
}"""

# The middle of the Sankey link into the receiver: a band whose top edge is a cubic curve, `extent` thick.
LINK_CENTRE = """(text) => {
  const box = document.getElementById('sankey'), chart = echarts.getInstanceByDom(box);
  const series = chart.getModel().getSeriesByIndex(0), nodes = series.getData();
  const edge = series.getGraph().edges.find((e) => nodes.getRawDataItem(e.node2.dataIndex).label === text);
  const el = series.getEdgeData().getItemGraphicEl(edge.dataIndex), s = el.shape;
  const x = 0.125 * s.x1 + 0.375 * s.cpx1 + 0.375 * s.cpx2 + 0.125 * s.x2;
  const y = 0.125 * s.y1 + 0.375 * s.cpy1 + 0.375 * s.cpy2 + 0.125 * s.y2 + s.extent / 2;
  const [gx, gy] = el.transformCoordToGlobal(x, y), outer = box.getBoundingClientRect();
  return {x: outer.left + gx, y: outer.top + gy};
}"""


def hover_tooltip(page, box: str):
    page.locator(f"#{box}").scroll_into_view_if_needed()
    centres = page.evaluate(ITEM_CENTRE, [box, NAME])
    assert centres, f"{box}: no chart element for the receiver"
    page.mouse.move(centres[0]["x"], centres[0]["y"])
    wait_until(page, f"() => ({TOOLTIP})({json.dumps(box)}).some((t) => t.text.includes('重庆环保处置中心'))")
    return [t for t in page.evaluate(TOOLTIP, box) if "重庆环保处置中心" in t["text"]][0]


def test_a_unit_name_with_markup_shows_as_text_in_every_cockpit_tooltip(people, chain, regulator_of, client_for):
    renamed = client_for(chain.receiver_admin).patch(
        f"/api/v1/organizations/{chain.receiver.pk}",
        data=json.dumps({"name": NAME, "longitude": "108.41", "latitude": "31.16", "version": chain.receiver.version}),
        content_type="application/json")
    assert renamed.status_code == 200, renamed.content
    process(chain, chain.record(count=2, tonnes="0.5"))
    regulator = regulator_of(CHONGQING)

    city = people("regulator")
    city.login(regulator.username)
    city.goto(f"/cockpit/?region={CHONGQING}")
    page = city.page
    page.wait_for_selector("#sankey[data-rendered=true]")
    page.wait_for_selector("#map-chart[data-rendered=true]")

    node = hover_tooltip(page, "sankey")
    assert NAME in node["text"] and "1.000 t" in node["text"]
    assert node["images"] == 0 and "&lt;img" in node["html"]
    city.shot("sankey-node-tooltip")

    centre = page.evaluate(LINK_CENTRE, NAME)
    page.mouse.move(centre["x"], centre["y"])
    wait_until(page, "() => [...document.querySelectorAll('#sankey > div')].some("
                     "(el) => el.textContent.includes('→') && el.style.display !== 'none')")
    link = [t for t in page.evaluate(TOOLTIP, "sankey") if "→" in t["text"]][0]
    assert NAME in link["text"] and link["images"] == 0

    point = hover_tooltip(page, "map-chart")
    assert NAME in point["text"] and point["images"] == 0 and "&lt;img" in point["html"]
    city.shot("map-point-tooltip")

    assert page.evaluate("() => document.querySelectorAll('main img').length") == 0
    assert page.evaluate("() => window.__xss") is None
