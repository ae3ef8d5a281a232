"""Tracking demo: a year of containers (一物一码) for every hazardous waste generator of Banan and Kaizhou.

`build(stdout)` is called by `wufei demo` after the registry demo. The year is the last complete
calendar year (`demo_year()`: 2025 when built in 2026). Everything is deterministic (seeded per unit
and waste code); only what depends on the day of the build moves with it: which receiver's permit
is valid on a pickup day (the registry demo dates permits relative to today), and the few
containers that are meant to be near or over a storage limit *now*.

What it reproduces (B = Banan plan, K = Kaizhou plan; shared/research/seeds_001_004.md §4.3):

* Banan industrial hazardous waste 2025: 31,000 t generated (3.10万t) by its registered
  industrial generators (`catalog.services.is_industrial_source`, the rule of the indicators'
  ihw_* quantities: GB/T 4754 sections B–D, never a medical institution), each generating exactly
  its registered annual_hazardous_waste_tonnes. Codes: the top five categories HW18, HW49, HW17,
  HW34, HW06 make 95.38 % (29,567.8 t) of it, in that order, and every other category is smaller
  than HW06 (BANAN_CATEGORIES). The prior-year stock, the transfers and the year-end stock below
  are the industrial units' too.
  Prior-year stock: 3,040 t (0.30万t) recorded as containers produced in Oct–Dec of the year
  before and still in storage on 1 January; all of it leaves in the year. Transferred in the year:
  30,060 t (3.01万t, the prior-year stock included). Year-end stock: 3,980 t (0.40万t), mainly
  HW18 fly ash at 丰盛三峰 (the rest spread over the industrial units that have a storage facility, 75 % of
  their capacity at most). The registered storage capacities cannot hold 0.40万t otherwise: the
  fly ash (about 2,400 t) exceeds the 1,500 t the registry demo assumed for 丰盛's fly-ash store.
* Kaizhou: declared 7,193.58 t of industrial hazardous waste (K "（1）工业危险废物", the same rule)
  *including* the prior-year stock of 612.71 t. The registered annual tonnes of each industrial
  unit are its declared figure, so 612.71 t are containers produced in Oct–Dec of the year before
  and in storage on 1 January, and 6,580.87 t are generated in the year. Harmless disposal 100 %:
  everything leaves by the end of the year (year-end stock 0).
  Top three HW08, HW18, HW49 = 95.66 % of the industrial units' 7,193.58 t (the rest, 312.20 t, is
  HW17, HW06, HW12, HW02).
  Not reproduced: "industrial HW landfilled 6,904.28 t" (K indicator 22) contradicts the top
  three: waste oil cannot be landfilled, so 289.30 t left for everything not landfilled would
  make HW17 (the only other landfillable category) larger than HW08.
* Social-source hazardous waste (社会源: auto-repair shops, school, testing and agricultural labs, not
  industrial by that rule) comes on top of the plans' figures: each such unit generates its
  registered tonnes in the demo year with the codes of its industry's profile (PROFILES, not fitted
  to the plans' category totals), carries no stock into or out of the year (it all leaves in the
  year) and ships to the same receivers (Banan ≈240 t, Kaizhou ≈151 t).
* Medical waste: the registry demo registers 18 of Banan's 440 medical institutions (212.7 t)
  and 14 of Kaizhou's 56 (343.6 t). The demo records containers for the hospitals among them
  (≥ MEDICAL_MIN_TONNES t/a: 4 in each district), each generating its registered tonnes, picked
  up every two days (48 h limit) by 重庆同兴医疗废物处理有限公司 (Banan, Y10) and
  重庆开州固体废物治理有限公司 (Kaizhou, Y10). That is less than the plans' 439 t and 664.68 t:
  the demo says so when it is built.

Containers: drums, bags, IBC totes, tonne bags, tank-truck loads (waste acid) and sealed bulk
tanker loads (fly ash), with a weight spread of ±15 % around each packaging's nominal weight;
recorded with `tracking.services.bulk_record` (the 五即 steps; units without a storage facility
record produced → coded only), a few containers of one time and weight per batch (`count`).
After the load the demo runs ANALYZE on the container and event tables: without statistics
SQLite lists an enterprise user's containers by walking all of its events for every container
(three minutes for the `generator` account instead of 0.1 s).

Pickups: every unit on its own rhythm (by its storage capacity), every two days for hospitals;
each pickup is loaded → handed over to the licensed receiver → received → utilized / disposed
with a method the receiver's permit allows on that day (the receivers of CATEGORY_RECEIVERS: the
first whose permit covers the code and method that day and whose line has capacity left; for fly
ash and HW49 the order turns from pickup to pickup). Not modelled: lead-acid batteries (HW31) and
the other categories for which the registry demo has no licensed receiver with a method (a
collection point would keep them past the one-year limit): Banan's 15 categories of the plan are 9 here.

Scans: `tracking.services.scan` costs about 10 ms a call on SQLite (two container reads with six
joins each, the audit link, the permit check), so the ~100,000 transfer scans of the year would
take a quarter of an hour. `transfer()` below writes the same four scans for a whole pickup at
once: the same rule table (`tracking.life.TRANSITIONS`), the same checks (custody receiver,
method code, receiver permit on the day, event order, no future), the same ScanEvent rows and
the same audit links (`{"changes": …, "events": […]}` per container and scan, through the
tracking services' own chain writer). tests/demo/test_demo_year.py checks that a container moved by
`transfer()` ends with the same events, values and audit payloads as one moved by `scan()`.

Current year: the prior year's closing stock leaves in the first weeks of the year (up to today),
except two tonne bags that wait for a transfer approval (one close to, one over the one-year
limit, when the day of the build allows it); a few recent containers are in storage at 惠科金渝,
丰盛三峰 and 绿能; hospitals hold medical waste produced 20, 46 and 60 hours ago (ok, close to
and over the 48-hour limit); one container is re-weighed 6 % heavier (a discrepancy).
"""

import datetime as dt
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from wufei.catalog.models import TreatmentMethod
from wufei.catalog.services import is_industrial_source
from wufei.core import audit, bulk
from wufei.core.errors import RuleViolation, ValidationFailed
from wufei.core.scope import Scope
from wufei.demo.registry import ADMIN_SCOPE, BANAN, DEMO_ACTOR, HW_TOTAL, KAIZHOU, uscc_for
from wufei.demo.writer import Writer
from wufei.registry import services as registry
from wufei.registry.models import Organization, PermitLine, Site
from wufei.tracking import life
from wufei.tracking import services as tracking
from wufei.tracking.models import Container, ScanEvent, ScanKind

SEED = 2026
LOCAL = ZoneInfo("Asia/Shanghai")
KG = Decimal("0.001")
ZERO = Decimal(0)

PRIOR_STOCK = {BANAN: Decimal("3040"), KAIZHOU: Decimal("612.71")}  # B 0.30万t; K 612.71 t
YEAR_END_STOCK = {BANAN: Decimal("3980"), KAIZHOU: Decimal("0")}  # B 0.40万t; K: 100 % disposed
# district totals per category (t). Banan: the top five in the plan's order, 95.38 % of 31,000 t; the
# other categories 1,432.2 t, each smaller than HW06. Kaizhou: HW08 + HW18 + HW49 = 95.66 % of 7,193.58 t.
BANAN_CATEGORIES = {
    "HW18": Decimal("18662.13"), "HW49": Decimal("6735.67"), "HW17": Decimal("3300"), "HW34": Decimal("450"),
    "HW06": Decimal("420"),
    "HW08": Decimal("415"), "HW12": Decimal("380"), "HW13": Decimal("337.2"), "HW02": Decimal("300"),
}
KAIZHOU_CATEGORIES = {
    "HW18": Decimal("4780"), "HW49": Decimal("1601.38"), "HW08": Decimal("500"),
    "HW17": Decimal("180"), "HW06": Decimal("60"), "HW12": Decimal("52.2"), "HW02": Decimal("20"),
}
TOP = {BANAN: ("HW18", "HW49", "HW17", "HW34", "HW06"), KAIZHOU: ("HW08", "HW18", "HW49")}
# the district incinerators: their fly ash is the district's whole HW18 (fixed rows, the rest is fitted)
INCINERATORS = {BANAN: ("重庆丰盛三峰环保发电有限公司", {"HW18": Decimal("18662.13"), "HW08": Decimal("75")}),
                KAIZHOU: ("重庆绿能新能源有限公司", {"HW18": Decimal("4780"), "HW08": Decimal("20")})}
MEDICAL_MIN_TONNES = Decimal("10")

# waste code: (physical form, name, [(from annual t, packaging, nominal t, volume L)])
CODES = {
    "772-002-18": ("solid", "生活垃圾焚烧飞灰", [(0, "bulk", "30", None)]),
    "900-249-08": ("liquid", "废矿物油及含油废物", [(10, "ibc", "0.85", 1000), (0, "drum", "0.17", 200)]),
    "900-214-08": ("liquid", "废润滑油（废机油）", [(10, "ibc", "0.85", 1000), (0, "drum", "0.17", 200)]),
    "900-217-08": ("liquid", "废润滑油（齿轮油）", [(0, "drum", "0.17", 200)]),
    "900-220-08": ("liquid", "废变压器油", [(0, "drum", "0.17", 200)]),
    "900-200-08": ("semi_solid", "含油金属屑及油泥", [(0, "tonne_bag", "0.8", 1000)]),
    "900-041-49": ("solid", "沾染危险废物的废包装物、废抹布手套", [(10, "tonne_bag", "0.8", 1000),
                                                               (0, "bag", "0.1", 120)]),
    "900-039-49": ("solid", "废活性炭", [(5, "tonne_bag", "0.8", 1000), (0, "bag", "0.1", 100)]),
    "900-047-49": ("liquid", "实验室废液及废试剂瓶", [(0, "drum", "0.05", 60)]),
    "336-064-17": ("semi_solid", "酸洗磷化污泥及废槽液", [(5, "tonne_bag", "1.0", 1000), (0, "drum", "0.2", 200)]),
    "336-063-17": ("semi_solid", "电镀污泥", [(5, "tonne_bag", "1.0", 1000), (0, "drum", "0.2", 200)]),
    "398-007-34": ("liquid", "面板酸蚀刻废液", [(100, "tank", "18", 15000), (0, "ibc", "1.1", 1000)]),
    "900-300-34": ("liquid", "清洗废酸液", [(60, "tank", "15", 12000), (0, "ibc", "1.1", 1000)]),
    "398-005-34": ("liquid", "电子元件酸洗废液", [(0, "ibc", "1.1", 1000)]),
    "900-404-06": ("liquid", "废有机溶剂", [(10, "ibc", "0.85", 1000), (0, "drum", "0.16", 200)]),
    "900-252-12": ("semi_solid", "废漆渣", [(20, "tonne_bag", "0.8", 1000), (0, "drum", "0.18", 200)]),
    "900-253-12": ("semi_solid", "废油墨及洗网废物", [(0, "drum", "0.18", 200)]),
    "272-001-02": ("semi_solid", "制剂精制蒸馏及反应残余物", [(20, "ibc", "0.9", 1000), (0, "drum", "0.18", 200)]),
    "276-001-02": ("semi_solid", "生物药品蒸馏及反应残余物", [(20, "ibc", "0.9", 1000), (0, "drum", "0.18", 200)]),
    "900-015-13": ("solid", "废离子交换树脂", [(20, "tonne_bag", "0.8", 1000), (0, "bag", "0.4", 500)]),
    "900-016-13": ("semi_solid", "清洗设备剥离的树脂状杂物", [(20, "ibc", "0.9", 1000), (0, "drum", "0.18", 200)]),
    "841-001-01": ("solid", "感染性废物", [(0, "box", "0.15", 660)]),
}

# GB/T 4754 industry code → {waste code: weight}: the seed of the fit (categories are fitted to the
# district totals above, codes within a category keep these proportions)
PROFILES = {
    "3974": {"900-041-49": 30, "900-039-49": 25, "336-064-17": 30, "398-007-34": 6, "900-404-06": 4,
             "900-015-13": 4, "900-249-08": 1},
    "2662": {"900-039-49": 30, "900-041-49": 25, "900-404-06": 10, "900-016-13": 15, "900-300-34": 5,
             "900-249-08": 5, "336-064-17": 10},
    "2644": {"900-300-34": 10, "900-041-49": 50, "900-039-49": 20, "900-249-08": 10, "336-064-17": 10},
    "2720": {"272-001-02": 15, "900-041-49": 45, "900-039-49": 20, "900-404-06": 10, "900-047-49": 3},
    "2710": {"272-001-02": 20, "900-041-49": 40, "900-039-49": 20, "900-404-06": 10, "900-047-49": 3},
    "2761": {"276-001-02": 15, "900-041-49": 45, "900-039-49": 20, "900-404-06": 10, "900-047-49": 3},
    "2730": {"900-041-49": 70, "900-039-49": 20, "272-001-02": 10},
    "3441": {"336-064-17": 35, "900-041-49": 30, "900-249-08": 10, "900-252-12": 15, "900-404-06": 5,
             "900-300-34": 5},
    "3484": {"336-064-17": 35, "900-041-49": 30, "900-249-08": 15, "900-252-12": 15, "900-404-06": 5},
    "3311": {"336-064-17": 30, "900-041-49": 30, "900-249-08": 10, "900-252-12": 25, "900-404-06": 5},
    "3389": {"336-064-17": 40, "900-249-08": 20, "900-041-49": 30, "900-252-12": 10},
    "3610": {"336-064-17": 35, "900-252-12": 12, "900-041-49": 35, "900-249-08": 8, "900-404-06": 5,
             "900-300-34": 5},
    "3752": {"336-064-17": 40, "900-041-49": 30, "900-252-12": 10, "900-249-08": 10, "900-300-34": 5,
             "900-404-06": 5},
    "3670": {"336-064-17": 40, "900-041-49": 30, "900-252-12": 10, "900-249-08": 10, "900-300-34": 5,
             "900-404-06": 5},
    "3360": {"336-063-17": 55, "336-064-17": 20, "900-300-34": 10, "900-041-49": 15},
    "3971": {"336-063-17": 30, "900-041-49": 35, "900-039-49": 10, "398-005-34": 5, "900-404-06": 10,
             "900-253-12": 5, "900-015-13": 5, "900-249-08": 5},
    "3976": {"336-063-17": 30, "900-041-49": 35, "900-039-49": 10, "398-005-34": 5, "900-404-06": 10,
             "900-253-12": 5, "900-015-13": 5, "900-249-08": 5},
    "3982": {"336-063-17": 30, "900-041-49": 35, "900-039-49": 10, "398-005-34": 5, "900-404-06": 10,
             "900-253-12": 5, "900-015-13": 5, "900-249-08": 5},
    "2929": {"900-041-49": 45, "900-039-49": 20, "900-404-06": 10, "900-249-08": 15, "900-252-12": 10},
    "2921": {"900-041-49": 45, "900-039-49": 20, "900-404-06": 10, "900-249-08": 15, "900-252-12": 10},
    "3216": {"900-200-08": 50, "900-041-49": 50},
    "8111": {"900-214-08": 65, "900-041-49": 30, "900-252-12": 5},
    "8334": {"900-047-49": 100}, "7452": {"900-047-49": 100}, "7511": {"900-047-49": 100},
    "4411": {"900-217-08": 30, "900-220-08": 20, "900-041-49": 30, "900-039-49": 20},
    "2039": {"900-252-12": 40, "900-041-49": 40, "900-404-06": 20},
    "2110": {"900-252-12": 40, "900-041-49": 40, "900-404-06": 20},
    "2319": {"900-253-12": 40, "900-041-49": 40, "900-404-06": 20},
    "4417": {"772-002-18": 99, "900-249-08": 1, "900-041-49": 1},
}
DEFAULT_PROFILE = {"900-249-08": 50, "900-041-49": 50}  # food, mining, building materials, paper, cement

# receivers by category, in order of preference (unit names of the registry demo; method); the first whose
# permit covers the code and method on the pickup day takes the load (ROTATE: the start turns per pickup)
CATEGORY_RECEIVERS = {
    BANAN: {
        "HW18": [("重庆忠州协同处置环保有限公司", "C1"), ("重庆长寿危险废物填埋处置有限公司", "D1")],
        "HW49": [("重庆璧山危险废物焚烧处置有限公司", "D10"), ("重庆忠州协同处置环保有限公司", "C1"),
                 ("重庆长寿危险废物填埋处置有限公司", "D1")],
        "HW17": [("重庆永川有色金属再生利用有限公司", "R4"), ("重庆利特聚欣资源循环科技有限责任公司", "R4"),
                 ("重庆长寿危险废物填埋处置有限公司", "D1"), ("重庆忠州协同处置环保有限公司", "C1")],
        "HW34": [("重庆盛清水处理科技有限公司", "R6")],
        "HW06": [("重庆璧山危险废物焚烧处置有限公司", "D10"), ("重庆市禾润中天环保科技有限公司", "D10")],
        "HW08": [("重庆永川有色金属再生利用有限公司", "R9"), ("重庆利特聚欣资源循环科技有限责任公司", "R9"),
                 ("重庆璧山危险废物焚烧处置有限公司", "D10"), ("重庆忠州协同处置环保有限公司", "C1")],
        "HW12": [("重庆璧山危险废物焚烧处置有限公司", "D10"), ("重庆忠州协同处置环保有限公司", "C1")],
        "HW02": [("重庆璧山危险废物焚烧处置有限公司", "D10")],
        "HW13": [("重庆璧山危险废物焚烧处置有限公司", "D10")],
        "HW01": [("重庆同兴医疗废物处理有限公司", "Y10")],
    },
    KAIZHOU: {
        "HW18": [("重庆开州固体废物治理有限公司", "D1"), ("重庆市禾润中天环保科技有限公司", "D1")],
        "HW49": [("重庆开州固体废物治理有限公司", "D1"), ("重庆市禾润中天环保科技有限公司", "D10"),
                 ("重庆利特聚欣资源循环科技有限责任公司", "D10")],
        "HW08": [("重庆利特聚欣资源循环科技有限责任公司", "R9"), ("重庆市禾润中天环保科技有限公司", "D10")],
        "HW17": [("重庆利特聚欣资源循环科技有限责任公司", "R4"), ("重庆市禾润中天环保科技有限公司", "D1")],
        "HW06": [("重庆市禾润中天环保科技有限公司", "D10")],
        "HW12": [("重庆市禾润中天环保科技有限公司", "D10")],
        "HW02": [("重庆璧山危险废物焚烧处置有限公司", "D10")],
        "HW01": [("重庆开州固体废物治理有限公司", "Y10")],
    },
}
ROTATE = {"HW18", "HW49", "HW08"}
TRANSIT_HOURS = {BANAN: 1.5, KAIZHOU: 1.0, "500109": 2.0, "other": 4.0}  # by the receiver's region

HELD_INDUSTRY = (BANAN, "3360")  # the largest surface-treatment unit: two tonne bags wait for an approval
RECENT_UNITS = ("重庆惠科金渝光电科技有限公司", "重庆丰盛三峰环保发电有限公司", "重庆绿能新能源有限公司")
REWEIGH_UNIT = "重庆惠科金渝光电科技有限公司"
MAX_BULK_LOADS_PER_PICKUP = 12  # tanker loads a day


def demo_year() -> int:
    return timezone.localdate().year - 1


def at(day: dt.date, hours: float = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL) + dt.timedelta(hours=hours)


def category(code: str) -> str:
    return f"HW{code[-2:]}"


def kg(value) -> Decimal:
    return Decimal(value).quantize(KG, rounding=ROUND_FLOOR)


# --- the plan: who generates which code, how much, in which containers, when -----------------------

@dataclass
class Unit:
    organization: Organization
    region: str
    annual: Decimal
    storage: Site | None
    production: Site | None
    medical: bool = False
    industrial: bool = True  # an industrial source (catalog.services.is_industrial_source): the plans' figures


@dataclass
class Box:
    """One container to record."""

    unit: Unit
    code: str
    weight: Decimal
    produced_at: dt.datetime
    packaging: str
    volume: int | None
    group: str  # prior (produced the year before), main (leaves in the year), tail (year-end stock), held, recent
    note: str = ""
    batch: int = 0  # boxes of one batch are recorded together: the same time and net weight
    pk: int | None = None
    code_text: str = ""


@dataclass
class Stream:
    unit: Unit
    code: str
    amount: Decimal  # the unit's figure for the code (Banan: generated in the year; Kaizhou: declared)
    prior: Decimal = ZERO  # stock carried into the year
    closing: Decimal = ZERO  # stock at the year end
    boxes: list[Box] = field(default_factory=list)

    @property
    def generated(self) -> Decimal:
        return self.amount - self.prior if self.unit.region == KAIZHOU else self.amount


def _units() -> dict[str, list[Unit]]:
    units = {BANAN: [], KAIZHOU: []}
    organizations = Organization.objects.filter(region_id__in=units, is_generator=True,
                                                annual_hazardous_waste_tonnes__gt=0).prefetch_related("sites")
    for organization in sorted(organizations, key=lambda o: (o.region_id, o.name)):  # not the database's collation
        sites = list(organization.sites.all())
        storage = next((s for s in sites if s.kind == Site.Kind.STORAGE and s.is_active), None)
        production = next((s for s in sites if s.kind == Site.Kind.PRODUCTION), None)
        units[organization.region_id].append(Unit(
            organization, organization.region_id, organization.annual_hazardous_waste_tonnes, storage, production,
            medical=organization.is_medical_institution,
            industrial=is_industrial_source(organization.industry_code,
                                            is_medical_institution=organization.is_medical_institution)))
    return units


def _fit(units: list[Unit], targets: dict[str, Decimal], fixed: dict[str, dict[str, Decimal]]
         ) -> dict[str, dict[str, Decimal]]:
    """Tonnes per unit and category: each unit's total exact, each category's district total exact.

    Iterative proportional fitting from the industry profiles, then rounding to the kilogram with
    HW49 (in every profile) absorbing the rounding of each unit, and each other category's last
    kilograms put on its largest cell (and taken from that unit's HW49).
    """
    rows = {u.organization.name: u for u in units if u.organization.name not in fixed}
    columns = dict(targets)
    for cells in fixed.values():
        for cat, tonnes in cells.items():
            columns[cat] -= tonnes
    seed = {}
    for name, unit in rows.items():
        profile = PROFILES.get(unit.organization.industry_code, DEFAULT_PROFILE)
        cells = defaultdict(float)
        for code, weight in profile.items():
            cells[category(code)] += weight
        seed[name] = {cat: cells[cat] for cat in columns if cells.get(cat)}
    matrix = {name: {cat: float(rows[name].annual) * w / sum(cells.values()) for cat, w in cells.items()}
              for name, cells in seed.items()}
    for _round in range(500):
        for cat, target in columns.items():
            total = sum(cells.get(cat, 0) for cells in matrix.values())
            if total:
                for cells in matrix.values():
                    if cat in cells:
                        cells[cat] *= float(target) / total
        for name, cells in matrix.items():
            total = sum(cells.values())
            for cat in cells:
                cells[cat] *= float(rows[name].annual) / total
    result = {}
    for name, cells in matrix.items():
        rounded = {cat: kg(value) for cat, value in cells.items() if cat != "HW49"}
        rounded["HW49"] = rows[name].annual - sum(rounded.values(), ZERO)
        result[name] = rounded
    for cat, target in columns.items():
        if cat == "HW49":
            continue
        holders = [name for name in result if cat in result[name]]
        gap = target - sum((result[name][cat] for name in holders), ZERO)
        if gap:
            largest = max(holders, key=lambda name: result[name][cat])
            result[largest][cat] += gap
            result[largest]["HW49"] -= gap
    for name, cells in result.items():
        if min(cells.values()) < 0:
            raise RuntimeError(f"demo: the category fit gives {name} a negative amount: {cells}")
    result.update({name: dict(cells) for name, cells in fixed.items()})
    return result


def _codes_of(unit: Unit, cat: str) -> dict[str, int]:
    profile = PROFILES.get(unit.organization.industry_code, DEFAULT_PROFILE)
    codes = {code: w for code, w in profile.items() if category(code) == cat}
    return codes or {next(code for code in CODES if category(code) == cat and not code.startswith("841")): 1}


def _split(total: Decimal, weights: dict[str, float]) -> dict[str, Decimal]:
    """`total` split by weights to the kilogram, the largest share taking the rounding."""
    keys = sorted(weights, key=lambda k: -weights[k])
    whole = sum(weights.values())
    parts = {k: kg(total * Decimal(weights[k]) / Decimal(whole)) for k in keys[1:]}
    parts[keys[0]] = total - sum(parts.values(), ZERO)
    return parts


def _streams(units: dict[str, list[Unit]]) -> list[Stream]:
    """The streams of the non-medical generators: the industrial units' fitted to the plan's figures (district
    total, category totals, stocks), the social sources' from their industry's profile, on top."""
    streams = []
    for region, targets in ((BANAN, BANAN_CATEGORIES), (KAIZHOU, KAIZHOU_CATEGORIES)):
        industrial = [u for u in units[region] if u.industrial]
        if sum((u.annual for u in industrial), ZERO) != HW_TOTAL[region]:
            raise RuntimeError(f"demo: the registry's {region} industrial generators do not add up to "
                               f"{HW_TOTAL[region]} t")
        incinerator, cells = INCINERATORS[region]
        (fixed_unit,) = [u for u in industrial if u.organization.name == incinerator]
        fixed = {incinerator: {**cells, "HW49": fixed_unit.annual - sum(cells.values(), ZERO)}}
        fitted = _fit(industrial, targets, fixed)
        for unit in units[region]:
            if unit.medical:
                continue
            if unit.industrial:
                for cat, tonnes in sorted(fitted[unit.organization.name].items()):
                    if tonnes <= 0:
                        continue
                    for code, amount in _split(tonnes, _codes_of(unit, cat)).items():
                        if amount > 0:
                            streams.append(Stream(unit, code, amount))
            else:  # a social source: its own tonnes, its profile's codes
                profile = PROFILES.get(unit.organization.industry_code, DEFAULT_PROFILE)
                for code, amount in sorted(_split(unit.annual, profile).items()):
                    if amount > 0:
                        streams.append(Stream(unit, code, amount))
        _stocks([s for s in streams if s.unit.region == region and s.unit.industrial], region)
    return streams


def _stocks(streams: list[Stream], region: str) -> None:
    """Spread the prior-year and year-end stock over the (industrial) units with a storage facility (the
    incinerator's fly ash takes what the others do not hold)."""
    incinerator = INCINERATORS[region][0]
    for attr, totals, share in (("prior", PRIOR_STOCK, Decimal("0.75")), ("closing", YEAR_END_STOCK,
                                                                           Decimal("0.75"))):
        total = totals[region]
        if not total:
            continue
        by_unit = defaultdict(list)
        for stream in streams:
            if stream.unit.storage is not None and stream.unit.organization.name != incinerator:
                by_unit[stream.unit.organization.name].append(stream)
        assigned = ZERO
        for _name, own in sorted(by_unit.items()):
            unit = own[0].unit
            capacity = unit.storage.storage_capacity_tonnes or ZERO
            stock = kg(min(share * capacity, unit.annual * Decimal("0.2")))
            if region == KAIZHOU:
                stock = kg(min(Decimal("0.5") * capacity, unit.annual * Decimal("0.1")))
            if stock <= 0:
                continue
            parts = _split(stock, {s.code: float(s.amount) for s in own})
            for stream in own:
                setattr(stream, attr, parts[stream.code])
            assigned += stock
        (fly_ash,) = [s for s in streams if s.unit.organization.name == incinerator and s.code.startswith("772")]
        setattr(fly_ash, attr, total - assigned)
        if total - assigned <= 0:
            raise RuntimeError(f"demo: the {attr} stock of {region} does not fit")


# --- containers and dates --------------------------------------------------------------------------

def _packaging(code: str, amount: Decimal) -> tuple[str, Decimal, int | None]:
    for threshold, packaging, nominal, volume in CODES[code][2]:
        if amount >= threshold:
            return packaging, Decimal(nominal), volume
    raise AssertionError(code)


def _weights(total: Decimal, nominal: Decimal, rng: random.Random) -> list[Decimal]:
    """Container weights around `nominal` (±15 %) adding up exactly to `total` (kilograms)."""
    if total <= 0:
        return []
    count = max(1, min(int(total / KG), round(total / nominal)))
    raw = [rng.uniform(0.85, 1.15) for _ in range(count)]
    whole = sum(raw)
    weights = [max(KG, kg(total * Decimal(r / whole))) for r in raw]
    weights[-1] = total - sum(weights[:-1], ZERO)
    while weights[-1] <= 0:  # only for totals of a few kilograms
        weights = weights[:-1]
        weights[-1] = total - sum(weights[:-1], ZERO)
    return weights


def _spread(count: int, start: dt.datetime, end: dt.datetime, rng: random.Random) -> list[dt.datetime]:
    span = (end - start).total_seconds()
    return [start + dt.timedelta(seconds=int(span * (index + rng.uniform(0.1, 0.9)) / count)) for index in
            range(count)]


BATCH_SIZES = {"bulk": 1, "tank": 1, "tonne_bag": 3, "ibc": 3, "drum": 5, "bag": 5, "box": 8}
_batches = iter(range(1, 10**9))


def _batched(boxes: list[Box], rng: random.Random) -> list[Box]:
    """Put consecutive boxes into batches recorded together (bulk_record's `count`): each batch takes the
    time of its first box and the mean weight of its boxes; what the kilogram rounding leaves is carried
    to the next batch, and the last box takes the rest, so the group's total stays exact."""
    if not boxes:
        return boxes
    largest = BATCH_SIZES.get(boxes[0].packaging, 1)
    index, carry = 0, ZERO
    while index < len(boxes):
        size = min(len(boxes) - index, rng.randint(1, largest))
        own = boxes[index:index + size]
        total = sum((b.weight for b in own), ZERO) + carry
        weight = kg(total / size)
        carry = total - weight * size
        number = next(_batches)
        for box in own:
            box.weight, box.produced_at, box.batch = weight, own[0].produced_at, number
        index += size
    if carry:
        last = boxes[-1]
        if len(boxes) > 1 and boxes[-2].batch == last.batch:
            last.batch = next(_batches)  # it no longer weighs what the others of its batch weigh
        last.weight += carry
    return boxes


def _interval(unit: Unit) -> int:
    """Days between pickups: about half the storage facility's capacity, between one week and a quarter."""
    rate = unit.annual / 365
    if unit.storage is None or not unit.storage.storage_capacity_tonnes:
        return 60 if unit.annual < 10 else 30
    days = float(unit.storage.storage_capacity_tonnes) * 0.5 / float(rate)
    return int(min(90, max(7, days)))


def _pickup_days(unit: Unit, last: dt.date, year: int, rng: random.Random) -> list[dt.date]:
    interval = _interval(unit)
    if any(unit.organization.name == name for name, _cells in INCINERATORS.values()):
        interval = 3
    days, day = [], last
    start = dt.date(year, 1, 3)
    while day >= start:
        days.append(day)
        day -= dt.timedelta(days=interval)
    if days[-1] > start + dt.timedelta(days=interval // 2):
        days.append(start + dt.timedelta(days=rng.randint(0, 3)))
    final = days[0]  # the last pickup stays on its day: the year-end stock is what is produced after it
    return sorted({d - dt.timedelta(days=1) if d.weekday() == 6 and d != final else d for d in days})


def _plan_stream(stream: Stream, year: int, last: dt.date, now: dt.datetime, held_unit: bool = False) -> None:
    rng = random.Random(f"{SEED}:{stream.unit.organization.name}:{stream.code}")
    packaging, nominal, volume = _packaging(stream.code, stream.amount)
    jan1, dec31 = at(dt.date(year, 1, 1)), at(dt.date(year, 12, 31), 20)
    boxes = stream.boxes
    # prior-year stock: Oct–Dec of the year before
    prior = _weights(stream.prior, nominal, rng)
    for weight, moment in zip(prior, _spread(len(prior), at(dt.date(year - 1, 10, 8), 8),
                                             at(dt.date(year - 1, 12, 30), 18), rng), strict=True):
        boxes.append(Box(stream.unit, stream.code, weight, moment, packaging, volume, "prior"))
    _batched(boxes, rng)
    closing = stream.closing
    held = []
    if held_unit and stream.code == "336-063-17" and closing >= 3:
        for days, note in ((372, "待跨省转移审批，超期贮存"), (350, "待跨省转移审批")):
            moment = max(now - dt.timedelta(days=days), jan1 + dt.timedelta(hours=8))
            if moment.year == year:
                held.append(Box(stream.unit, stream.code, kg(rng.uniform(0.9, 1.1)), moment, packaging, volume,
                                "held", note=note))
        closing -= sum((b.weight for b in held), ZERO)
    main = _weights(stream.generated - stream.closing, nominal, rng)
    boxes += _batched([Box(stream.unit, stream.code, weight, moment, packaging, volume, "main") for weight, moment in
                       zip(main, _spread(len(main), jan1, at(last, 7), rng), strict=True)], rng)
    tail = _weights(closing, nominal, rng)
    boxes += _batched([Box(stream.unit, stream.code, weight, moment, packaging, volume, "tail") for weight, moment in
                       zip(tail, _spread(len(tail), at(last + dt.timedelta(days=1), 8), dec31, rng), strict=True)],
                      rng)
    for box in held:
        box.batch = next(_batches)
    boxes += held


def _medical_boxes(unit: Unit, year: int) -> tuple[list[Box], list[dt.datetime]]:
    """Boxes produced in the 46 hours before each pickup (every two days), the year's weight exactly."""
    rng = random.Random(f"{SEED}:{unit.organization.name}:841-001-01")
    pickups = []
    day = dt.date(year, 1, 2)
    while day.year == year:
        pickups.append(at(day, 9 + rng.uniform(0, 2)))
        day += dt.timedelta(days=2)
    per_pickup = _split(unit.annual, {str(i): rng.uniform(0.8, 1.2) for i in range(len(pickups))})
    boxes = []
    for index, moment in enumerate(pickups):
        weights = _weights(per_pickup[str(index)], Decimal("0.15"), rng)
        produced = max(moment - dt.timedelta(hours=rng.uniform(2, 46)), at(dt.date(year, 1, 1), 0.5))
        boxes += _batched([Box(unit, "841-001-01", weight, produced, "box", 660, "main") for weight in weights], rng)
    return boxes, pickups


# --- receivers -------------------------------------------------------------------------------------

class Receivers:
    """Which receiver takes a category on a day: the first in CATEGORY_RECEIVERS whose permit allows it
    then and whose permit line still has capacity left this year."""

    def __init__(self):
        names = {name for table in CATEGORY_RECEIVERS.values() for options in table.values() for name, _m in options}
        self.organizations = {o.name: o for o in Organization.objects.filter(name__in=names).select_related("region")}
        lines = PermitLine.objects.filter(permit__organization__in=self.organizations.values()).select_related(
            "permit").prefetch_related("methods").order_by("pk")
        self.lines = defaultdict(list)
        for line in lines:
            self.lines[line.permit.organization_id].append(line)
        self.used = defaultdict(Decimal)
        self.kinds = dict(TreatmentMethod.objects.values_list("code", "kind"))

    def _line(self, organization: Organization, code: str, method: str | None, day: dt.date):
        for line in self.lines[organization.pk]:
            permit = line.permit
            if permit.status != "valid" or not permit.valid_from <= day <= permit.valid_until:
                continue
            if line.waste_id != code and line.category_id != category(code):
                continue
            methods = {m.code for m in line.methods.all()}
            if method is None and methods:
                continue
            if method is not None and methods and method not in methods:
                continue
            return line
        return None

    def choose(self, region: str, code: str, day: dt.date, tonnes: Decimal, turn: int = 0):
        options = CATEGORY_RECEIVERS[region][category(code)]
        if category(code) in ROTATE and len(options) > 1:
            start = turn % len(options)
            options = options[start:] + options[:start]
        for name, method in options:
            organization = self.organizations.get(name)
            if organization is None or organization.status != Organization.Status.ACTIVE:
                continue
            line = self._line(organization, code, method, day)
            if line is None:
                continue
            key = (line.pk, day.year)
            if self.used[key] + tonnes > line.annual_capacity_tonnes:
                continue
            self.used[key] += tonnes
            return organization, line, method
        return None

    def final_kind(self, method: str | None) -> str | None:
        if method is None:
            return None
        return ScanKind.UTILIZED if self.kinds[method] == TreatmentMethod.Kind.UTILIZATION else ScanKind.DISPOSED


@dataclass
class Pickup:
    holder: Organization
    receiver: Organization
    line: PermitLine
    site_id: int | None
    method: str | None
    final: str | None
    boxes: list[Box]
    loaded_at: dt.datetime
    handed_at: dt.datetime
    received_at: dt.datetime
    done_at: dt.datetime | None


def _transit(receiver: Organization, holder_region: str) -> float:
    if receiver.region_id == holder_region:
        return TRANSIT_HOURS[holder_region]
    return TRANSIT_HOURS.get(receiver.region_id, TRANSIT_HOURS["other"])


def _pickups(unit: Unit, boxes: list[Box], days: list[dt.datetime], receivers: Receivers, *, until: dt.datetime,
             rng: random.Random, limit_bulk: bool = True, groups=("prior", "main")) -> list[Pickup]:
    """At each pickup moment, every waiting container of the listed groups produced before it, per waste code."""
    waiting = sorted((b for b in boxes if b.group in groups), key=lambda b: b.produced_at)
    result = []
    for turn, moment in enumerate(days):
        if moment > until:
            break
        ready = [b for b in waiting if b.produced_at < moment - dt.timedelta(minutes=30)]
        by_code = defaultdict(list)
        for box in ready:
            by_code[box.code].append(box)
        last = turn == len(days) - 1
        taken = set()
        for code, own in sorted(by_code.items()):
            if limit_bulk and not last and own[0].packaging == "bulk":
                own = own[:MAX_BULK_LOADS_PER_PICKUP]
            tonnes = sum((b.weight for b in own), ZERO)
            choice = receivers.choose(unit.region, code, moment.date(), tonnes, turn)
            if choice is None:
                continue
            receiver, line, method = choice
            loaded = moment + dt.timedelta(minutes=rng.randint(0, 40))
            handed = loaded + dt.timedelta(minutes=rng.randint(10, 25))
            received = handed + dt.timedelta(hours=_transit(receiver, unit.region) + rng.uniform(0, 1))
            final = receivers.final_kind(method)
            if unit.medical:
                done = received + dt.timedelta(hours=rng.uniform(1, 4))
            else:
                done = received + dt.timedelta(hours=rng.uniform(2, 96))
            if final is None or done > until:
                done = None
            result.append(Pickup(unit.organization, receiver, line, line.permit.site_id, method,
                                 final if done else None, own, loaded, handed, received, done))
            taken.update(id(b) for b in own)
        waiting = [b for b in waiting if id(b) not in taken]
    left = [b for b in waiting if b.group == "main"]
    if left and groups == ("prior", "main"):
        raise RuntimeError(f"demo: {len(left)} containers of {unit.organization.name} found no receiver in the year "
                           f"({sorted({b.code for b in left})})")
    return result


# --- writing ---------------------------------------------------------------------------------------

def _record(unit: Unit, boxes: list[Box], *, scope: Scope = ADMIN_SCOPE) -> None:
    """bulk_record the boxes of one unit (五即; without a storage facility up to 'coded')."""
    steps = list(tracking.FIVE_STEP_KINDS) if unit.storage is not None else list(tracking.FIVE_STEP_KINDS[:-1])
    ordered = sorted(boxes, key=lambda b: (b.produced_at, b.code, b.batch))
    groups = []
    for box in ordered:
        if groups and groups[-1][0].batch == box.batch:
            groups[-1].append(box)
        else:
            groups.append([box])
    for start in range(0, len(groups), 5000):
        chunk = groups[start:start + 5000]
        batches = []
        for own in chunk:
            box = own[0]
            form, name = CODES[box.code][:2]
            batch = {"waste_code": box.code, "waste_name": name, "physical_form": form, "packaging": box.packaging,
                     "net_weight_tonnes": box.weight, "produced_at": box.produced_at, "steps": steps,
                     "count": len(own)}
            if box.volume:
                batch["volume_litres"] = box.volume
            if unit.production is not None:
                batch["site_id"] = unit.production.pk
            if unit.storage is not None:
                batch["storage_site_id"] = unit.storage.pk
                batch["storage_location"] = f"{box.code[-2:]}区"
            if box.note:
                batch["note"] = box.note
            batches.append(batch)
        recorded = tracking.bulk_record(scope=scope, organization_id=unit.organization.pk, batches=batches)
        for box, row in zip([box for own in chunk for box in own], recorded, strict=True):
            box.pk, box.code_text = row.pk, row.code


_FIELDS = ("id", "status", "holder_id", "storage_site_id", "storage_location", "stored_at", "net_weight_tonnes",
           "waste_id", "organization_id")


def transfer(*, scope: Scope, pickups: list[Pickup]) -> int:
    """Loaded → handed over → received (→ utilized / disposed) for every container of each pickup.

    The batched equivalent of four `tracking.services.scan` calls per container (see the module
    docstring): the same checks, rows and audit links. Returns the number of scan events written.
    Checks that give the same answer for every container of a pickup (the custody receiver, the
    method code, the receiver's permit for the code on a day inside the chosen permit line's
    validity) run once per pickup, receiver or permit line.
    """
    if not pickups:
        return 0
    if not scope.is_platform_admin:
        raise RuntimeError("the demo's transfers are recorded as a platform administrator")
    now = timezone.now()
    ids = [box.pk for pickup in pickups for box in pickup.boxes]
    state, last = {}, {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        state.update({row["id"]: row for row in Container.objects.filter(pk__in=chunk).values(*_FIELDS)})
        last.update(dict(ScanEvent.objects.filter(container_id__in=chunk).values("container_id")
                         .annotate(last=Max("occurred_at")).values_list("container_id", "last")))
    custody, methods, permits = set(), {}, set()
    events, links, updates = [], [], []
    event_ids = iter(bulk.table(ScanEvent).reserve_ids(sum(len(p.boxes) * (4 if p.final else 3)
                                                               for p in pickups)))
    entity_type = audit.entity_type_of(Container)
    event_defaults = bulk.table(ScanEvent).defaults
    actor_id = scope.user_id
    value = tracking.json_value
    for pickup in pickups:
        steps = [(ScanKind.LOADED, pickup.loaded_at, pickup.holder, None),
                 (ScanKind.HANDED_OVER, pickup.handed_at, pickup.holder, None),
                 (ScanKind.RECEIVED, pickup.received_at, pickup.receiver, pickup.site_id)]
        if pickup.final:
            steps.append((pickup.final, pickup.done_at, pickup.receiver, pickup.site_id))
        for kind, moment, organization, site_id in steps:
            moment = moment.astimezone(dt.UTC)
            if moment > now + tracking.CLOCK_SKEW:
                raise ValidationFailed("occurred_at is in the future", errors=[{"field": "occurred_at",
                                                                                "message": str(moment)}])
            transition = life.TRANSITIONS[kind]
            method = ""
            if transition.needs_method:
                if (kind, pickup.method) not in methods:
                    methods[(kind, pickup.method)] = tracking.checked_method(kind, pickup.method)
                method = methods[(kind, pickup.method)]
            if transition.holder_change and (pickup.holder.pk, pickup.receiver.pk) not in custody:
                tracking.custody_receiver(SimpleNamespace(holder_id=pickup.holder.pk), pickup.receiver.pk)
                custody.add((pickup.holder.pk, pickup.receiver.pk))
            day = timezone.localdate(moment)
            moment_text = value(moment)
            template = None  # the audit content of this scan's events differs only in id and weight
            for box in pickup.boxes:
                row = state[box.pk]
                if row["holder_id"] != organization.pk:
                    raise RuleViolation(f"{box.code_text} is held by {row['holder_id']}, not {organization.pk}",
                                        code="not_the_holder")
                if row["status"] not in transition.allowed_from:
                    raise RuleViolation(f"container {box.code_text} is {row['status']}: '{kind}' is not allowed now",
                                        code="scan_not_allowed")
                if any(row.get(name) in (None, "") for name in transition.requires):
                    raise RuleViolation(f"'{kind}' needs {transition.requires} first ({box.code_text})",
                                        code="scan_requirement_missing")
                if last.get(box.pk) is not None and moment < last[box.pk]:
                    raise ValidationFailed("is before the container's last recorded event",
                                           errors=[{"field": "occurred_at", "message": box.code_text}])
                if transition.needs_method:
                    line = pickup.line
                    key = (organization.pk, row["waste_id"], method, line.pk)
                    inside = line.permit.valid_from <= day <= line.permit.valid_until
                    if key not in permits or not inside:
                        registry.check_receiver_permit(organization, row["waste_id"], method_code=method, on=day)
                        permits.add(key)
                changes = {}
                if transition.holder_change:
                    changes["holder_id"] = [row["holder_id"], pickup.receiver.pk]
                    if row["storage_site_id"] is not None:
                        changes["storage_site_id"] = [row["storage_site_id"], None]
                    if row["storage_location"]:
                        changes["storage_location"] = [row["storage_location"], ""]
                    if row["stored_at"] is not None:
                        changes["stored_at"] = [value(row["stored_at"]), None]
                    row = {**row, "holder_id": pickup.receiver.pk, "storage_site_id": None, "storage_location": "",
                           "stored_at": None}
                if kind == ScanKind.RECEIVED and row["stored_at"] is None:
                    changes["stored_at"] = [None, moment_text]
                    row = {**row, "stored_at": moment}
                if transition.to_status and row["status"] != transition.to_status:
                    changes["status"] = [row["status"], str(transition.to_status)]
                    row = {**row, "status": str(transition.to_status)}
                event = {**event_defaults, "id": next(event_ids), "container_id": box.pk, "kind": str(kind),
                         "occurred_at": moment, "recorded_at": now, "actor_id": actor_id,
                         "organization_id": organization.pk, "site_id": site_id,
                         "weight_tonnes": row["net_weight_tonnes"], "method": method}
                if transition.holder_change:
                    event["to_organization_id"] = pickup.receiver.pk
                events.append(event)
                if template is None:
                    template = tracking.event_audit_values(event)
                content = {**template, "id": event["id"], "weight_tonnes": value(event["weight_tonnes"])}
                links.append((entity_type, str(box.pk), str(kind), {"changes": changes, "events": [content]}))
                state[box.pk] = row
                last[box.pk] = moment
        final = state[pickup.boxes[0].pk]
        updates.append((final["status"], pickup.receiver.pk, final["stored_at"], len(steps),
                        [box.pk for box in pickup.boxes]))
    bulk.table(ScanEvent).insert(events)
    table = connection.ops.quote_name(Container._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        for status, holder, stored_at, count, pks in updates:
            for start in range(0, len(pks), 500):
                chunk = pks[start:start + 500]
                cursor.execute(
                    f"UPDATE {table} SET status = %s, holder_id = %s, storage_site_id = NULL, storage_location = '', "
                    f"stored_at = %s, version = version + %s, updated_at = %s "
                    f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                    [status, holder, connection.ops.adapt_datetimefield_value(stored_at), count, stamp, *chunk])
    audit.append_many(links)
    return len(events)


# --- building --------------------------------------------------------------------------------------

def is_built() -> bool:
    """Whether the demo's containers are there: the district incinerator's fly ash (rows, not audit events, which
    outlive `wufei demo --reset`)."""
    name = INCINERATORS[BANAN][0]
    return Container.objects.filter(organization__uscc=uscc_for(name, BANAN)).exists()


def plan(now: dt.datetime | None = None) -> dict:
    """Everything the demo will record, computed without writing (also used by the tests)."""
    now = now or timezone.now()
    year = demo_year()
    units = _units()
    streams = _streams(units)
    by_unit = defaultdict(list)
    for stream in streams:
        by_unit[stream.unit.organization.pk].append(stream)
    lasts = {}
    region, industry = HELD_INDUSTRY
    held = max((u for u in units[region] if u.organization.industry_code == industry),
               key=lambda u: (u.annual, u.organization.name)).organization.pk
    for own in by_unit.values():
        unit = own[0].unit
        closing = sum((s.closing for s in own), ZERO)
        if closing:
            days = int(math.ceil(closing / (unit.annual / 365)))
            lasts[unit.organization.pk] = dt.date(year, 12, 31) - dt.timedelta(days=max(7, days))
        else:
            rng = random.Random(f"{SEED}:{unit.organization.name}:last")
            lasts[unit.organization.pk] = dt.date(year, 12, 22) + dt.timedelta(days=rng.randint(0, 7))
        for stream in own:
            _plan_stream(stream, year, lasts[unit.organization.pk], now, held_unit=unit.organization.pk == held)
    medical = {}
    for region in (BANAN, KAIZHOU):
        for unit in units[region]:
            if unit.medical and unit.annual >= MEDICAL_MIN_TONNES and unit.storage is not None:
                medical[unit.organization.pk] = (unit, *_medical_boxes(unit, year))
    return {"year": year, "units": units, "streams": streams, "by_unit": by_unit, "lasts": lasts, "medical": medical}


def build(stdout=None) -> dict:
    say = Writer(stdout)
    now = timezone.now()
    started = time.perf_counter()
    with audit.acting_as(DEMO_ACTOR), transaction.atomic():
        planned = plan(now)
        year = planned["year"]
        end_of_year = at(dt.date(year, 12, 31), 24)
        receivers = Receivers()
        counts = defaultdict(int)
        # record: every unit's containers of the year (and the stock it carried into it)
        for own in planned["by_unit"].values():
            unit = own[0].unit
            boxes = [b for s in own for b in s.boxes]
            _record(unit, boxes)
            counts["containers"] += len(boxes)
        for unit, boxes, _pickups_at in planned["medical"].values():
            _record(unit, boxes)
            counts["medical"] += len(boxes)
        say(f"  containers recorded: {counts['containers'] + counts['medical']} "
            f"({counts['medical']} of medical waste) in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        # pickups of the year
        pickups = []
        for own in planned["by_unit"].values():
            unit = own[0].unit
            rng = random.Random(f"{SEED}:{unit.organization.name}:pickups")
            days = [at(d, 8.5 + rng.uniform(0, 2)) for d in
                    _pickup_days(unit, planned["lasts"][unit.organization.pk], year, rng)]
            pickups += _pickups(unit, [b for s in own for b in s.boxes], days, receivers, until=now, rng=rng)
        for unit, boxes, pickups_at in planned["medical"].values():
            rng = random.Random(f"{SEED}:{unit.organization.name}:pickups")
            pickups += _pickups(unit, boxes, pickups_at, receivers, until=now, rng=rng, limit_bulk=False)
        pickups.sort(key=lambda p: p.loaded_at)
        counts["scans"] += transfer(scope=ADMIN_SCOPE, pickups=pickups)
        counts["pickups"] += len(pickups)
        # this year: last year's closing stock leaves (not the containers waiting for an approval)
        current = []
        for own in planned["by_unit"].values():
            unit = own[0].unit
            tail = [b for s in own for b in s.boxes if b.group == "tail"]
            if not tail:
                continue
            rng = random.Random(f"{SEED}:{unit.organization.name}:next-year")
            interval = 3 if unit.storage and tail[0].packaging == "bulk" else min(_interval(unit), 21)
            days = [at(dt.date(year + 1, 1, 5) + dt.timedelta(days=k * interval), 9 + rng.uniform(0, 2))
                    for k in range(40)]
            current += _pickups(unit, tail, days, receivers, until=now - dt.timedelta(hours=2), rng=rng,
                                groups=("tail",))
        current.sort(key=lambda p: p.loaded_at)
        counts["scans"] += transfer(scope=ADMIN_SCOPE, pickups=current)
        counts["pickups"] += len(current)
        counts.update(_current_year(planned, now, end_of_year))
        stock = _stock_summary(planned)
        # statistics for the query planner after a bulk load: without them SQLite walks ScanEvent by organization
        # for every container when an enterprise user lists its containers (minutes instead of a fraction of a second)
        with connection.cursor() as cursor:
            for model in (Container, ScanEvent):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    say(f"  pickups: {counts['pickups']}, transfer scans: {counts['scans']} in {time.perf_counter() - started:.1f} s")
    say(f"  this year: {counts['recent']} recent containers in storage, {counts['reweighed']} re-weighed "
        f"({counts['discrepancies']} discrepancy)")
    for line in stock:
        say(f"  {line}")
    return dict(counts)


def _current_year(planned: dict, now: dt.datetime, end_of_year: dt.datetime) -> dict:
    """A few containers produced lately: in storage, near or over the limits; one re-weighed."""
    counts = defaultdict(int)
    start = max(end_of_year, now - dt.timedelta(days=21))
    units = {u.organization.name: u for region in (BANAN, KAIZHOU) for u in planned["units"][region]}
    streams = {(s.unit.organization.name, s.code): s for s in planned["streams"]}
    for name in RECENT_UNITS:
        unit = units[name]
        own = sorted((s for (n, _c), s in streams.items() if n == name), key=lambda s: -s.amount)[:3]
        boxes = []
        for stream in own:
            rng = random.Random(f"{SEED}:{name}:{stream.code}:recent")
            packaging, nominal, volume = _packaging(stream.code, stream.amount)
            days = 5 if packaging == "bulk" else 21
            first = max(start, now - dt.timedelta(days=days))
            if first >= now - dt.timedelta(hours=3):
                continue
            tonnes = kg(stream.generated / 365 * (now - first).days) or nominal
            weights = _weights(tonnes, nominal, rng)[:12]
            for weight, moment in zip(weights, _spread(len(weights), first, now - dt.timedelta(hours=3), rng),
                                      strict=True):
                boxes.append(Box(unit, stream.code, weight, moment, packaging, volume, "recent",
                                 batch=next(_batches)))
        if boxes:
            _record(unit, boxes)
            counts["recent"] += len(boxes)
            if name == REWEIGH_UNIT:
                box = max(boxes, key=lambda b: b.produced_at if b.packaging != "bulk" else start)
                tracking.reweigh(scope=ADMIN_SCOPE, code=box.code_text, weight_tonnes=kg(box.weight * Decimal("1.06")),
                                 occurred_at=now - dt.timedelta(hours=1), note="出库前复核称重")
                counts["reweighed"] += 1
                counts["discrepancies"] += ScanEvent.objects.filter(container_id=box.pk, discrepancy=True).count()
    for unit, _boxes, _pickups_at in planned["medical"].values():
        if unit.organization.name not in ("重庆市巴南区人民医院", "重庆市开州区人民医院"):
            continue
        rng = random.Random(f"{SEED}:{unit.organization.name}:recent")
        boxes = [Box(unit, "841-001-01", kg(rng.uniform(0.06, 0.1)), now - dt.timedelta(hours=hours), "box", 660,
                     "recent", batch=next(_batches)) for hours in (60, 46, 20)
                 if now - dt.timedelta(hours=hours) >= end_of_year]
        if boxes:
            _record(unit, boxes)
            counts["recent"] += len(boxes)
    return counts


def _stock_summary(planned: dict) -> list[str]:
    year = planned["year"]
    lines = []
    medical = defaultdict(Decimal)
    for unit, _boxes, _pickups in planned["medical"].values():
        medical[unit.region] += unit.annual
    for region, name in ((BANAN, "Banan"), (KAIZHOU, "Kaizhou")):
        streams = [s for s in planned["streams"] if s.unit.region == region and s.unit.industrial]
        generated = sum((s.generated for s in streams), ZERO)
        prior = sum((s.prior for s in streams), ZERO)
        closing = sum((s.closing for s in streams), ZERO)
        social = [s for s in planned["streams"] if s.unit.region == region and not s.unit.industrial]
        lines.append(f"{name} {year}: industrial HW containers generated {generated:.3f} t, carried in {prior:.3f} t, "
                     f"year-end stock {closing:.3f} t; social-source HW (auto repair, labs) on top "
                     f"{sum((s.generated for s in social), ZERO):.3f} t")
    lines.append(f"medical waste {year}: Banan {medical[BANAN]:.3f} t, Kaizhou {medical[KAIZHOU]:.3f} t "
                 f"(hospitals of ≥ {MEDICAL_MIN_TONNES} t/a only; plans: 439 t and 664.68 t from 440 and 56 units)")
    return lines


def reset(organization_ids: list[int]) -> int:
    """Delete the containers (with their events and code sequences) of the demo's organizations.

    Called by `wufei demo --reset` before the registry rows go; one audit event records the sweep.
    """
    from wufei.tracking.models import CodeSequence

    containers = Container.objects.filter(organization_id__in=organization_ids)
    count = containers.count()
    with transaction.atomic():
        containers.update(parent=None, split_from=None)
        ScanEvent.objects.filter(container__organization_id__in=organization_ids).delete()
        ScanEvent.objects.filter(related_container__organization_id__in=organization_ids).update(
            related_container=None)
        containers.delete()
        CodeSequence.objects.filter(organization_id__in=organization_ids).delete()
        audit.record_raw(entity_type="tracking.container", entity_id="demo", action="demo_reset",
                         payload={"containers_deleted": count})
    return count
