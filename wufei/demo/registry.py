"""Registry demo data: parks, about 200 units of Banan (巴南区 500113) and Kaizhou (开州区 500154),
the licensed operators and facilities the two plans name, transporters with vehicles, departments
and the demo accounts.

`build(stdout)` is called by `wufei demo`. Units, sites, permits (with their facility),
vehicles, memberships, departments, regulators and zones go through the registry and catalog
services as a platform administrator. All of it happens inside `audit.acting_as("demo")`, so
the audit chain records every row and `wufei demo --reset` finds the rows again by that actor
label; the accounts themselves are marked by their e-mail domain (DEMO_EMAIL_DOMAIN). A fixed
seed (`SEED`) makes every run produce the same rows; only dates are relative to the day of the
build (permit and vehicle validity), so "expiring soon" stays true whenever the demo is built.

Sources. B = 巴南区“十四五”时期“无废城市”建设实施方案 (shared/seeds/001_…),
K = 开州区“十四五”时期“无废城市”建设实施方案 (shared/seeds/004_…); § = sections of
shared/research/seeds_001_004.md. Figures are as printed; "assumed" marks a number the plans do
not give, which the demo needs (a permit line must have an annual capacity) — every such number
is also said in the site's capacity_note.

Banan (B §4.4, §4.3, §6.3; B text "到2020年底，巴南区共有危险废物持证单位5家"):
- 重庆盛清水处理科技有限公司 — the 1 utilisation unit: waste hydrochloric acid from steel and
  machining, 3.45万t/a (2020 actual 1.68万t) → comprehensive permit HW34 34500 t/a, R6.
- 重庆市固体废物管理服务中心有限公司 — collection & storage of HW03 + HW49, 250 t/a in total
  → collection permit HW03 50 + HW49 200 t/a (split assumed).
- 重庆弘邦环保有限公司 — collection of 17 HW classes incl. HW02, 5000 t/a in total → collection
  permit, 17 category lines summing to 5000 t/a (the 16 classes besides HW02 and the split are
  assumed).
- 安徽力普拉斯电源技术有限公司, 重庆创祥电源有限公司 — the 2 waste lead-acid battery collection
  points, HW31 2.9万t/a combined → one collection permit each, 900-052-31 14500 t/a (even split
  assumed).
- 攀钢集团重庆钛业有限公司 (麻柳嘴镇崔家湾) — titanium gypsum generator; the district's only
  general industrial SW disposal unit, phase 1 external capacity 3万m³ (landfill; m³ kept in the
  note, not converted); titanium-gypsum utilisation facility (key project 4; >40万t/a filter cake
  → about 30万t/a product, B §4.2).
- 重庆丰盛三峰环保发电有限公司 (丰盛垃圾焚烧发电厂) — MSW incineration 2400 t/d (kept in the note:
  t/d × 365 is not a capacity the plan states); medical-waste emergency resource; top HW18
  generator (B §4.3: 生物质能发电 and HW18 lead the district's HW).
- 重庆惠科金渝光电科技有限公司 — display manufacturing, large generator (sludge) (B §6.3).
- 重庆众强有色金属有限公司 — oily metal swarf utilisation project (B key project 5).
- 重庆同兴医疗废物处理有限公司 (北碚区 500109, outside both districts) — treats all of Banan's
  439 t of medical waste (B §4.3); capacity not in the plans → medical-waste permit HW01 Y10,
  capacity assumed.
- 重庆绿茵再生资源利用有限公司 (slag → building materials), 重庆同辉鹏程科技有限公司 and
  重庆琢珏环保科技有限公司 (sludge of 惠科金渝) — general industrial SW receivers (B §4.3); their
  district is not stated, so they are registered at 重庆市 (500000).
Kaizhou (K §4.4, §4.3, §6.3; K text "开州区有3家工业危险废物收集处置单位"):
- 重庆开州固体废物治理有限公司 — medical waste plant 1800 t/a (the text also calls it
  开州区固体废物有限公司（医疗废物处置厂）; new 2 × 5 t/d lines, key project 8) → medical-waste
  permit HW01 1800 t/a, Y10; runs the 赵家垃圾填埋场 (72万m³, 32万m³ left, leachate 84 t/d), which
  takes industrial HW → comprehensive permit HW18 fly ash D1, capacity assumed.
- 重庆市开州区双兴再生能源有限公司 — HW08 collection, storage and utilisation 9500 t/a, stopped
  production in 2021 → permit HW08 9500 t/a R9 (validity dates assumed, expired), organization
  closed (closing day not printed: 2021-12-31 assumed).
- 重庆万里新能源有限公司 (collection points 重庆市开州区众鑫再生资源回收站, 开州区卡点再生资源回收站)
  and 重庆夏雨再生资源回收有限责任公司 (at 重庆耀发汽车服务有限公司) — lead-acid battery collection
  points, class Ⅰ and Ⅱ batteries only → collection permits 900-052-31, capacity assumed.
- 重庆利特聚欣资源循环科技有限责任公司, 重庆市禾润中天环保科技有限公司 — licensed receivers of
  Kaizhou's industrial HW ("焚化、卫生填埋"); district not stated → registered at 500000; permit
  lines and capacities assumed.
- 重庆绿能新能源有限公司 (绿能公司) — kitchen waste 50 t/d (2020) + phase 2 100 t/d, sludge
  100 t/d co-incinerated (12654.12 t in 2020), medical-waste emergency feed (key project 7),
  treats the slag-producing 生活垃圾焚烧发电厂 (600 t/d) → generator of incineration fly ash.
- 开县开州水泥厂有限公司 (开州水泥厂) — cement kiln, sludge 100 t/d (2962.32 t in 2020), oil-sludge
  co-processing project (key project 6).
- 国家电投集团重庆白鹤电力有限公司 — slag and FGD gypsum (K §4.4); 重庆市开州区鑫达建材有限公司,
  重庆市鹤众工贸有限责任公司, 重庆万青环保科技有限公司 (16万m²/a permeable bricks, key project 2) —
  general industrial SW utilisers.
- 重庆尚善物流有限公司 — carries all Kaizhou medical waste (K §4.3) → transporter with vehicles.
- 重庆市盛世旭昇环保机械设备有限公司 — HW transfer station 1500 t/a (key project 5, planned: no
  permit yet).
- 开县正大煤业有限公司正坝煤矿 — legacy solid waste (K task list); 重庆植本环保科技有限公司
  (pulp moulding 20000 t/a, key project 1; printed "重庆植本环保科技公司"), 重庆砼智绿色科技有限公司
  (prefabricated building, key project 4).

Synthetic (not in the plans; names are fictitious): the other ~170 units — industrial generators
of the plans' industries (B: 电子信息、生物医药、汽车及摩托车零部件、装备制造、显示器件、塑料制品、
食品加工; K: 电力、塑料制品、食品加工、机加工、木制品加工、印刷、电子、采矿、建筑制造), hospitals and
health centres, auto-repair shops (B: 224 in the district), school and testing labs, transporters,
a small-volume collector (B key project 13) and four out-of-district licensed operators in the
districts the plan names as destinations of Banan's HW (长寿、忠县、璧山、永川, B §4.3). USCCs,
addresses, coordinates, people and phone numbers of *all* units, named or not, are synthetic.
Banan gets 49 industrial HW generators (B §4.3: 49 enterprises). The plans' hazardous waste totals
(B 3.10万t, K 7193.58 t) are industrial hazardous waste: the annual HW tonnes of each district's
*industrial* generators add up to them — industrial by the one rule the indicators use,
`catalog.services.is_industrial_source` (GB/T 4754 sections B–D, never a medical institution) — and
the municipal incinerator of each district (丰盛三峰, 绿能) takes the remainder. The social sources
(auto-repair shops 8111, school labs 8334, testing and agricultural labs 7452 / 7511: 社会源危险废物,
which B §4.3 counts apart from its industrial figure, "（2）社会源危险废物", and K names in a task of
its own, "加强社会源危险废物管理") generate their own tonnes on top of the plan's figure, as do the
medical institutions.
Kaizhou: K prints 7193.58 t under the heading "（1）工业危险废物" (medical waste is "（2）", the social
sources a task of their own), and the same paragraph's disposal figures speak of 工业危险废物: the
figure covers the industrial units, so the same rule applies to it.
"""

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from wufei.catalog import services as catalog
from wufei.catalog.models import Zone
from wufei.core import audit
from wufei.core.ids import make_uscc
from wufei.core.scope import Scope
from wufei.demo.writer import Writer
from wufei.registry import services
from wufei.registry.models import (
    Department,
    Organization,
    Vehicle,
)

SEED = 2026
DEMO_ACTOR = "demo"
DEMO_PASSWORD = "wufei-demo-2026"
DEMO_EMAIL_DOMAIN = "demo.wufei.invalid"  # marks the accounts the demo created (for --reset)
ADMIN_SCOPE = Scope(is_platform_admin=True, username=DEMO_ACTOR)

CHONGQING, BANAN, KAIZHOU = "500000", "500113", "500154"
# industrial hazardous waste of the plans (of the industrial sources only, see the module docstring):
# B §4.3 工业危险废物 3.10万t; K §4.3 （1）工业危险废物 7193.58 t (incl. the prior-year stock)
HW_TOTAL = {BANAN: Decimal("31000"), KAIZHOU: Decimal("7193.58")}
CENTER = {BANAN: (106.54, 29.40), KAIZHOU: (108.39, 31.16)}
DISTRICT_NAME = {BANAN: "巴南区", KAIZHOU: "开州区"}
PHONE_PREFIX = {BANAN: "023-66", KAIZHOU: "023-52"}
PLATE_PREFIX = {BANAN: ("渝A", "渝B"), KAIZHOU: ("渝F",)}

BANAN_TOWNS = ["龙洲湾街道", "鱼洞街道", "花溪街道", "李家沱街道", "南泉街道", "一品街道", "南彭街道", "惠民街道",
               "界石镇", "安澜镇", "跳石镇", "木洞镇", "双河口镇", "麻柳嘴镇", "丰盛镇", "二圣镇", "东温泉镇",
               "姜家镇", "天星寺镇", "接龙镇", "石滩镇", "石龙镇", "圣灯山镇"]
KAIZHOU_TOWNS = ["汉丰街道", "文峰街道", "云枫街道", "镇东街道", "丰乐街道", "白鹤街道", "赵家街道", "正安街道",
                 "临江镇", "温泉镇", "大进镇", "郭家镇", "竹溪镇", "铁桥镇", "南雅镇", "岳溪镇", "长沙镇", "敦好镇",
                 "高桥镇", "义和镇", "渠口镇", "中和镇", "厚坝镇", "金峰镇", "和谦镇", "河堰镇", "九龙山镇"]
TOWNS = {BANAN: BANAN_TOWNS, KAIZHOU: KAIZHOU_TOWNS}
ROADS = ["工业园路", "创业大道", "科技路", "兴业路", "发展大道", "园区路", "滨江路", "新华路", "建设路", "人民路",
         "和平路", "东城大道", "产业大道", "振兴路", "富民路"]

ZONES = [
    # code, name, kind, region, description
    ("BN-JJYQ", "巴南经济园区", "park", BANAN, "巴南区经济园区（B §6.3 经济园区公司）"),
    ("BN-SWC", "重庆国际生物城", "park", BANAN, "生物医药产业园区（B §6.3 国际生物城公司；循环化示范建设）"),
    ("KZ-PLXQ", "浦里新区", "park", KAIZHOU, "浦里新区管委会管理（K §6.3；牵头7项任务）"),
    ("KZ-BHYQ", "白鹤工业园区", "park", KAIZHOU, "白鹤工业园区（K 重点项目20 报废汽车回收拆解场）"),
    ("WS-JKQ", "万盛经开区", "special_zone", "500110",
     "万盛经济技术开发区，綦江区区划内的特别管理区域（无独立 GB/T 2260 代码）"),
]

DEPARTMENTS = {
    # names as printed in the task lists (B 附件2, K 附件2), so later issues can match owners by name
    BANAN: ["区无废办", "区生态环境局", "区城市管理局", "区经济信息委", "区发展改革委", "区商务委", "区住房城乡建委",
            "区农业农村委", "区卫生健康委", "区市场监管局", "区交通局", "区应急局", "区机关事务中心", "区供销合作社",
            "区教委", "区公安分局", "区文化旅游委", "区财政局", "区科技局", "区招商局", "区规划自然资源局",
            "区水利局", "区林业局", "区城乡一体发展中心", "区消防救援支队", "区司法局", "区检察院", "区法院",
            "区民政局", "重庆市邮政管理局六分局"],
    KAIZHOU: ["区“无废城市”建设工作领导小组办公室", "区生态环境局", "区城管局", "区经济信息委", "区发展改革委",
              "浦里新区管委会", "区农业农村委", "区住房城乡建委", "区商务委", "区卫生健康委", "区市场监管局",
              "区交通局", "区应急局", "区乡村振兴局", "区公安局", "区机关事务中心", "区教委", "区财政局",
              "区文化旅游委", "区规划自然资源局", "区供销联社", "区招商投资局", "区国资委", "区金融事务中心",
              "区银保监组", "区科技局", "区委宣传部", "区检察院", "区融媒体中心", "区水利局"],
}

SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗谭冉向邓彭蒋唐"
GIVEN = "伟芳敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红春梅兵琴德"
TRADE_1 = "恒瑞鑫宏华嘉锦泰佳远博创诚达兴润丰德正永金天万新云信聚卓"
TRADE_2 = "源达通泰科和隆业辉川宇晟益腾鼎成安顺祥瑞富昌"
NOT_TRADES = {"永川", "万盛"}  # district names


@dataclass
class Unit:
    """One organization to register, with what hangs off it."""

    key: str
    name: str
    region: str
    roles: list[str]
    industry: tuple[str, str] = ("", "")
    tonnes: Decimal = Decimal(0)
    registration: str = "91"
    uscc_region: str = ""
    zone: str = ""
    town: str = ""
    sites: list[dict] = field(default_factory=list)
    permits: list[dict] = field(default_factory=list)
    vehicles: list[dict] = field(default_factory=list)
    closed: tuple[dt.date, str] | None = None
    remainder_of: str = ""  # region whose HW total this unit completes


def _site(name, kind, *, design=None, storage=None, note=""):
    return {"name": name, "kind": kind, "design_capacity_tonnes_per_year": design,
            "storage_capacity_tonnes": storage, "capacity_note": note}


def _permit(kind, lines, *, issued_days_ago=400, years=5, valid_from=None, valid_until=None, site=0):
    """lines: [(code or category, t/a, [methods])]; site: index of the unit's site the permit covers."""
    return {"kind": kind, "lines": lines, "issued_days_ago": issued_days_ago, "years": years,
            "valid_from": valid_from, "valid_until": valid_until, "site": site}


SCRAP_METAL = ("4210", "金属废料和碎屑加工处理")
SCRAP_OTHER = ("4220", "非金属废料和碎屑加工处理")
HONGBANG_LINES = [  # 17 classes, 5000 t/a in total (B §4.4); classes besides HW02 and the split: assumed
    ("HW08", 1000), ("HW49", 1000), ("HW12", 500), ("HW06", 400), ("HW17", 400), ("HW09", 300), ("HW34", 300),
    ("HW35", 200), ("HW13", 200), ("HW31", 200), ("HW02", 100), ("HW03", 100), ("HW16", 100), ("HW22", 50),
    ("HW23", 50), ("HW29", 50), ("HW04", 50),
]

ASSUMED = "许可规模为演示假设"


def named_units() -> list[Unit]:
    """The units and facilities the plans name (see the module docstring for sources)."""
    return [
        # --- Banan: the 5 licensed units ---------------------------------------------------------
        Unit("shengqing", "重庆盛清水处理科技有限公司", BANAN, ["receiver"], ("7724", "危险废物治理"),
             zone="BN-JJYQ",
             sites=[_site("废盐酸综合利用车间", "operating", design=34500,
                          note="废盐酸利用 3.45万t/年，2020年实际利用 1.68万t，来源钢铁、机加行业（B §4.4）")],
             permits=[_permit("comprehensive", [("HW34", 34500, ["R6"])], issued_days_ago=700)]),
        Unit("swmc", "重庆市固体废物管理服务中心有限公司", BANAN, ["collector", "receiver"], ("7724", "危险废物治理"),
             sites=[_site("危险废物收集贮存库", "storage", design=250,
                          note="HW03+HW49 合计 250 t/年（B §4.4）；许可证分行 HW03 50、HW49 200 为演示拆分")],
             permits=[_permit("collection", [("HW03", 50, []), ("HW49", 200, [])], issued_days_ago=500, years=3)]),
        Unit("hongbang", "重庆弘邦环保有限公司", BANAN, ["collector", "receiver"], ("7724", "危险废物治理"),
             zone="BN-JJYQ",
             sites=[_site("危险废物收集贮存中心", "storage", design=5000,
                          note="HW02等17个大类合计 5000 t/年（B §4.4）；除HW02外的类别及分行规模为演示假设")],
             permits=[_permit("collection", [(c, t, []) for c, t in HONGBANG_LINES], issued_days_ago=300, years=3)]),
        Unit("liplus", "安徽力普拉斯电源技术有限公司", BANAN, ["collector", "receiver"], SCRAP_METAL,
             uscc_region="341282",
             sites=[_site("巴南废铅蓄电池收集点", "collection_point", design=14500,
                          note="两个收集点合计 HW31 2.9万t/年（B §4.4）；各 1.45万t/年为演示拆分")],
             permits=[_permit("collection", [("900-052-31", 14500, [])], issued_days_ago=600, years=3)]),
        Unit("chuangxiang", "重庆创祥电源有限公司", BANAN, ["collector", "receiver"], SCRAP_METAL,
             sites=[_site("废铅蓄电池收集点", "collection_point", design=14500,
                          note="两个收集点合计 HW31 2.9万t/年（B §4.4）；各 1.45万t/年为演示拆分")],
             permits=[_permit("collection", [("900-052-31", 14500, [])], issued_days_ago=450, years=3)]),
        # --- Banan: named generators and general industrial SW receivers -------------------------------
        Unit("pangang", "攀钢集团重庆钛业有限公司", BANAN, ["generator"], ("2644", "工业颜料制造"), Decimal("650"),
             town="麻柳嘴镇",
             sites=[_site("钛白粉生产基地（麻柳嘴镇崔家湾）", "production"),
                    _site("一般工业固体废物处置场（一期）", "self_disposal",
                          note="区内唯一一般工业固废处置单位；一期设计对外经营容量 3万m³，填埋（B §4.4）；"
                               "m³ 未换算为吨"),
                    _site("钛石膏综合利用设施（低温干燥）", "self_utilization",
                          note="40余万t/年钛石膏滤饼（含水40%）烘干为约30万t产品（含水15%）（B §4.2；重点工程4）"),
                    _site("危险废物贮存库", "storage", storage=60)]),
        Unit("fengsheng", "重庆丰盛三峰环保发电有限公司", BANAN, ["generator"], ("4417", "生物质能发电"),
             town="丰盛镇", remainder_of=BANAN,
             sites=[_site("丰盛垃圾焚烧发电厂", "production",
                          note="生活垃圾焚烧 2400 t/d（B §4.4）；列入重大疫情医疗废物应急处置资源清单；"
                               "炉渣交重庆绿茵再生资源利用有限公司"),
                    _site("飞灰暂存库", "storage", storage=1500)]),
        Unit("huike", "重庆惠科金渝光电科技有限公司", BANAN, ["generator"], ("3974", "显示器件制造"), Decimal("4800"),
             zone="BN-JJYQ",
             sites=[_site("显示面板生产厂区", "production",
                          note="产废量大的企业，污泥交重庆同辉鹏程科技有限公司和重庆琢珏环保科技有限公司（B §4.3）"),
                    _site("危险废物贮存库", "storage", storage=400)]),
        Unit("zhongqiang", "重庆众强有色金属有限公司", BANAN, ["generator"], ("3216", "铝冶炼"), Decimal("35"),
             sites=[_site("有色金属生产车间", "production",
                          note="含油金属屑资源化利用项目（B 重点工程5，2023年）")]),
        Unit("tongxing", "重庆同兴医疗废物处理有限公司", "500109", ["receiver"], ("7724", "危险废物治理"),
             town="童家溪镇",
             sites=[_site("医疗废物集中处置中心", "operating",
                          note="巴南区医疗废物 439t 全部交其处置（B §4.3）；规划未载明处置能力，" + ASSUMED)],
             permits=[_permit("medical_waste", [("HW01", 30000, ["Y10"])], issued_days_ago=900)]),
        Unit("lvyin", "重庆绿茵再生资源利用有限公司", CHONGQING, ["receiver"], SCRAP_OTHER,
             sites=[_site("炉渣综合利用生产线", "operating",
                          note="利用丰盛三峰炉渣生产建筑材料（B §4.3）；能力规划未载明；所在区县未载明")]),
        Unit("tonghui", "重庆同辉鹏程科技有限公司", CHONGQING, ["receiver"], ("7723", "固体废物治理"),
             sites=[_site("污泥处置设施", "operating", note="处置惠科金渝污泥（B §4.3）；能力、所在区县规划未载明")]),
        Unit("zhuojue", "重庆琢珏环保科技有限公司", CHONGQING, ["receiver"], ("7723", "固体废物治理"),
             sites=[_site("污泥处置设施", "operating", note="处置惠科金渝污泥（B §4.3）；能力、所在区县规划未载明")]),
        # --- Kaizhou ---------------------------------------------------------------------------------
        Unit("kzsw", "重庆开州固体废物治理有限公司", KAIZHOU, ["receiver"], ("7724", "危险废物治理"), town="赵家街道",
             sites=[_site("医疗废物处理厂", "operating", design=1800,
                          note="处置能力 1800 t/年（K §4.3，又称开州区固体废物有限公司医疗废物处置厂）；"
                               "新建 2×5 t/d 线（重点项目8）"),
                    _site("赵家垃圾填埋场", "operating",
                          note="库容 72万m³，剩余 32万m³，渗滤液 84 t/d（K §4.4）；接收工业危废填埋；" + ASSUMED)],
             permits=[_permit("medical_waste", [("HW01", 1800, ["Y10"])], issued_days_ago=800, site=0),
                      _permit("comprehensive", [("772-002-18", 8000, ["D1"]), ("HW49", 1000, ["D1"])],
                              issued_days_ago=650, site=1)]),
        Unit("shuangxing", "重庆市开州区双兴再生能源有限公司", KAIZHOU, ["receiver"], SCRAP_OTHER,
             sites=[_site("废矿物油再生利用装置", "operating", design=9500,
                          note="HW08 收集、贮存、利用 9500 t/年，2021年停产（K §4.4）")],
             permits=[_permit("comprehensive", [("HW08", 9500, ["R9"])],
                              valid_from=dt.date(2017, 6, 1), valid_until=dt.date(2022, 5, 31))],
             closed=(dt.date(2021, 12, 31), "2021年停产（开州区实施方案）；停产日期规划未载明，取2021年末")),
        Unit("wanli", "重庆万里新能源有限公司", KAIZHOU, ["collector", "receiver"], SCRAP_METAL,
             sites=[_site("重庆市开州区众鑫再生资源回收站", "collection_point",
                          note="铅蓄电池收集网点，仅收集暂存Ⅰ类、Ⅱ类废铅蓄电池（K §4.4）；" + ASSUMED),
                    _site("开州区卡点再生资源回收站", "collection_point",
                          note="铅蓄电池收集网点，仅收集暂存Ⅰ类、Ⅱ类废铅蓄电池（K §4.4）")],
             permits=[_permit("collection", [("900-052-31", 3000, [])], issued_days_ago=350, years=3)]),
        Unit("xiayu", "重庆夏雨再生资源回收有限责任公司", KAIZHOU, ["collector", "receiver"],
             SCRAP_METAL,
             sites=[_site("铅蓄电池收集网点（重庆耀发汽车服务有限公司）", "collection_point",
                          note="仅收集暂存Ⅰ类、Ⅱ类废铅蓄电池（K §4.4）；" + ASSUMED)],
             permits=[_permit("collection", [("900-052-31", 2000, [])], issued_days_ago=250, years=3)]),
        Unit("lite", "重庆利特聚欣资源循环科技有限责任公司", CHONGQING, ["receiver"], ("7724", "危险废物治理"),
             sites=[_site("危险废物利用处置设施", "operating",
                          note="接收开州区工业危险废物（K §4.3）；所在区县、类别、" + ASSUMED)],
             permits=[_permit("comprehensive", [("HW08", 5000, ["R9"]), ("HW17", 5000, ["R4"]),
                                                ("HW49", 3000, ["D10"])], issued_days_ago=550)]),
        Unit("herun", "重庆市禾润中天环保科技有限公司", CHONGQING, ["receiver"], ("7724", "危险废物治理"),
             sites=[_site("危险废物焚烧及安全填埋设施", "operating",
                          note="焚化、卫生填埋（K §4.3）；所在区县、类别、" + ASSUMED)],
             permits=[_permit("comprehensive", [("HW06", 3000, ["D10"]), ("HW08", 3000, ["D10"]),
                                                ("HW12", 3000, ["D10"]), ("HW49", 6000, ["D10"]),
                                                ("HW18", 10000, ["D1"]), ("HW17", 5000, ["D1"])],
                              issued_days_ago=1000)]),
        Unit("lvneng", "重庆绿能新能源有限公司", KAIZHOU, ["generator", "receiver"], ("4417", "生物质能发电"),
             town="赵家街道", remainder_of=KAIZHOU,
             sites=[_site("生活垃圾焚烧发电厂", "production",
                          note="设计处理能力 600 t/d（K §4.3）；医疗废物应急入炉系统（重点项目7）"),
                    _site("厨余垃圾无害化处理厂", "operating",
                          note="厨余垃圾 50 t/d（2020年建成）；二期 100 t/d（K §4.4、重点项目18）"),
                    _site("污泥协同焚烧设施", "operating", note="污泥 100 t/d，2020年协同焚烧 12654.12 t（K §4.3）"),
                    _site("飞灰暂存库", "storage", storage=600)]),
        Unit("kzcement", "开县开州水泥厂有限公司", KAIZHOU, ["generator", "receiver"], ("3011", "水泥制造"),
             Decimal("2.5"), uscc_region="500234",
             sites=[_site("水泥熟料生产线", "production"),
                    _site("水泥窑协同处置污泥设施", "operating",
                          note="污泥 100 t/d，2020年处置 2962.32 t（K §4.3）；油泥协同处置项目建设中（重点项目6）")]),
        Unit("baihe", "国家电投集团重庆白鹤电力有限公司", KAIZHOU, ["generator"], ("4411", "火力发电"), Decimal("160"),
             zone="KZ-BHYQ", town="白鹤街道",
             sites=[_site("燃煤发电厂", "production", note="炉渣交鑫达建材、脱硫石膏交鹤众工贸（K §4.4）"),
                    _site("危险废物贮存库", "storage", storage=40)]),
        Unit("xinda", "重庆市开州区鑫达建材有限公司", KAIZHOU, ["receiver"], ("3031", "黏土砖瓦及建筑砌块制造"),
             sites=[_site("炉渣制砖生产线", "operating", note="消纳白鹤电力炉渣（K §4.4）")]),
        Unit("hezhong", "重庆市鹤众工贸有限责任公司", KAIZHOU, ["receiver"], ("3024", "轻质建筑材料制造"),
             sites=[_site("脱硫石膏利用生产线", "operating", note="消纳白鹤电力脱硫石膏（K §4.4）")]),
        Unit("wanqing", "重庆万青环保科技有限公司", KAIZHOU, ["receiver"], SCRAP_OTHER,
             sites=[_site("生活垃圾炉渣综合利用线", "operating",
                          note="消纳生活垃圾焚烧炉渣；年产 16万m² 透水砖（重点项目2）")]),
        Unit("shangshan", "重庆尚善物流有限公司", KAIZHOU, ["transporter"], ("5435", "危险货物道路运输"),
             vehicles=[{"type": "医疗废物转运车", "load": load} for load in ("3.000",) * 4 + ("1.500",)]),
        Unit("shengshi", "重庆市盛世旭昇环保机械设备有限公司", KAIZHOU, ["collector"], ("7724", "危险废物治理"),
             zone="KZ-PLXQ",
             sites=[_site("开州区危险废物中转站（规划）", "storage",
                          note="年收集总规模 1500 t（K 重点项目5，2021—2023）；未取得经营许可，不计入许可能力")]),
        Unit("zhengba", "开县正大煤业有限公司正坝煤矿", KAIZHOU, ["generator"], ("0610", "烟煤和无烟煤开采洗选"),
             uscc_region="500234",
             sites=[_site("历史遗留煤矸石堆场", "storage", note="历史遗留固体废物调查治理（K 任务清单）")]),
        Unit("zhiben", "重庆植本环保科技有限公司", KAIZHOU, ["generator"], ("2239", "其他纸制品制造"), Decimal("4"),
             zone="KZ-PLXQ",
             sites=[_site("植物纤维模塑生产线", "production", note="年产 20000 t 食用级包装材料（K 重点项目1）")]),
        Unit("tongzhi", "重庆砼智绿色科技有限公司", KAIZHOU, ["generator"], ("3021", "水泥制品制造"), Decimal("3"),
             zone="KZ-PLXQ",
             sites=[_site("装配式建筑构件厂", "production",
                          note="AAC 400000 m³/年 + PC 200000 m³/年（K 重点项目4）")]),
    ]


# --- synthetic units ---------------------------------------------------------------------------

# (label, count in Banan, count in Kaizhou, [(name pattern, GB/T 4754 code, industry)], class weights
#  key/simplified/registered, zone preference per district)
INDUSTRIES = [
    ("电子信息", 8, 6,
     [("{t}电子科技有限公司", "3982", "电子电路制造"),
      ("{t}电子有限公司", "3971", "电子元件及组件制造"),
      ("{t}光电科技有限公司", "3976", "光电子器件制造")],
     (3, 4, 3), {BANAN: "BN-JJYQ", KAIZHOU: "KZ-PLXQ"}),
    ("生物医药", 7, 2,
     [("{t}药业有限公司", "2720", "化学药品制剂制造"),
      ("{t}医药化工有限公司", "2710", "化学药品原料药制造"),
      ("{t}生物技术有限公司", "2761", "生物药品制造"),
      ("{t}中药饮片有限公司", "2730", "中药饮片加工")],
     (3, 4, 3), {BANAN: "BN-SWC", KAIZHOU: "KZ-PLXQ"}),
    ("汽车及摩托车零部件", 10, 0,
     [("{t}汽车零部件有限公司", "3670", "汽车零部件及配件制造"),
      ("{t}摩托车配件有限公司", "3752", "摩托车零部件及配件制造"),
      ("{t}机车部件有限公司", "3752", "摩托车零部件及配件制造")],
     (3, 4, 3), {BANAN: "BN-JJYQ"}),
    ("汽车整车", 1, 0,
     [("{t}汽车制造有限公司", "3610", "汽柴油车整车制造")],
     (1, 0, 0), {BANAN: "BN-JJYQ"}),
    ("装备制造", 5, 0,
     [("{t}机械制造有限公司", "3484", "机械零部件加工"),
      ("{t}泵业有限公司", "3441", "泵及真空设备制造"),
      ("{t}钢结构有限公司", "3311", "金属结构制造")],
     (2, 4, 4), {BANAN: "BN-JJYQ"}),
    ("金属表面处理", 2, 1,
     [("{t}表面处理有限公司", "3360", "金属表面处理及热处理加工"),
      ("{t}电镀有限公司", "3360", "金属表面处理及热处理加工")],
     (3, 2, 0), {BANAN: "BN-JJYQ", KAIZHOU: "KZ-PLXQ"}),
    ("显示器件", 2, 0,
     [("{t}显示技术有限公司", "3974", "显示器件制造")],
     (2, 1, 0), {BANAN: "BN-JJYQ"}),
    ("塑料制品", 5, 5,
     [("{t}塑料制品有限公司", "2929", "塑料零件及其他塑料制品制造"),
      ("{t}塑胶有限公司", "2929", "塑料零件及其他塑料制品制造"),
      ("{t}薄膜有限公司", "2921", "塑料薄膜制造")],
     (1, 4, 6), {BANAN: "BN-JJYQ", KAIZHOU: "KZ-PLXQ"}),
    ("食品加工", 3, 6,
     [("{t}肉类食品有限公司", "1352", "肉制品及副产品加工"),
      ("{t}火锅食品有限公司", "1469", "其他调味品、发酵制品制造"),
      ("{t}农产品加工有限公司", "1371", "蔬菜加工"),
      ("{t}米业有限公司", "1310", "谷物磨制")],
     (0, 2, 8), {KAIZHOU: "KZ-PLXQ"}),
    ("化工", 2, 0,
     [("{t}化工有限公司", "2662", "专项化学用品制造"),
      ("{t}颜料有限公司", "2644", "工业颜料制造")],
     (2, 1, 0), {BANAN: "BN-JJYQ"}),
    ("机加工", 0, 6,
     [("{t}机械加工有限公司", "3484", "机械零部件加工"),
      ("{t}五金制品有限公司", "3389", "其他金属制日用品制造")],
     (1, 4, 5), {KAIZHOU: "KZ-BHYQ"}),
    ("木制品加工", 0, 3,
     [("{t}木业有限公司", "2039", "其他木材加工"),
      ("{t}家具有限公司", "2110", "木质家具制造")],
     (0, 2, 8), {}),
    ("印刷", 0, 2,
     [("{t}印务有限公司", "2319", "包装装潢及其他印刷"),
      ("{t}彩印包装有限公司", "2319", "包装装潢及其他印刷")],
     (0, 4, 6), {}),
    ("采矿", 0, 3,
     [("{t}矿业有限公司", "1019", "粘土及其他土砂石开采"),
      ("{t}天然气开发有限公司", "0721", "天然气开采")],
     (0, 3, 7), {}),
    ("建筑制造", 0, 3,
     [("{t}混凝土有限公司", "3021", "水泥制品制造"),
      ("{t}页岩砖厂有限公司", "3031", "黏土砖瓦及建筑砌块制造")],
     (0, 1, 9), {KAIZHOU: "KZ-BHYQ"}),
]
# industrial units that generate only general industrial SW (0 t HW)
GISW_ONLY = {BANAN: 5, KAIZHOU: 2}

BANAN_MEDICAL = [
    ("重庆市巴南区人民医院", "8411", "综合医院", "key"), ("重庆市巴南区中医院", "8412", "中医医院", "simplified"),
    ("重庆市巴南区妇幼保健院", "8433", "妇幼保健院（所、站）", "simplified"),
    ("重庆市巴南区第二人民医院", "8411", "综合医院", "simplified"),
    ("重庆市巴南区精神卫生中心", "8415", "专科医院", "registered"),
]
KAIZHOU_MEDICAL = [
    ("重庆市开州区人民医院", "8411", "综合医院", "key"), ("重庆市开州区中医院", "8412", "中医医院", "simplified"),
    ("重庆市开州区妇幼保健院", "8433", "妇幼保健院（所、站）", "simplified"),
    ("重庆市开州区第二人民医院", "8411", "综合医院", "simplified"),
]
BANAN_TRANSPORTERS = [
    ("transporter", "重庆渝南危险货物运输有限公司", 6), ("", "重庆巴南区顺达物流有限公司", 5),
    ("", "重庆鑫通危险品运输有限公司", 4), ("", "重庆嘉运环保物流有限公司", 3),
]
OUT_OF_DISTRICT = [
    # B §4.3: Banan's HW goes to 长寿、江津、忠县、璧山、永川 … by landfill, cement kiln, incineration.
    # The names are fictitious.
    Unit("changshou", "重庆长寿危险废物填埋处置有限公司", "500115", ["receiver"], ("7724", "危险废物治理"),
         sites=[_site("危险废物安全填埋场", "operating", note="演示用虚构单位；" + ASSUMED)],
         permits=[_permit("comprehensive", [("HW18", 30000, ["D1"]), ("HW17", 5000, ["D1"]), ("HW49", 3000, ["D1"])],
                          issued_days_ago=800)]),
    Unit("zhongxian", "重庆忠州协同处置环保有限公司", "500233", ["receiver"], ("3011", "水泥制造"),
         sites=[_site("水泥窑协同处置线", "operating", note="演示用虚构单位；" + ASSUMED)],
         permits=[_permit("comprehensive", [("HW08", 2000, ["C1"]), ("HW12", 3000, ["C1"]), ("HW17", 5000, ["C1"]),
                                            ("HW18", 10000, ["C1"]), ("HW49", 3000, ["C1"])], issued_days_ago=600)]),
    Unit("bishan", "重庆璧山危险废物焚烧处置有限公司", "500120", ["receiver"], ("7724", "危险废物治理"),
         sites=[_site("危险废物回转窑焚烧线", "operating", note="演示用虚构单位；许可证即将到期；" + ASSUMED)],
         permits=[_permit("comprehensive", [("HW02", 1000, ["D10"]), ("HW06", 3000, ["D10"]), ("HW08", 2000, ["D10"]),
                                            ("HW12", 3000, ["D10"]), ("HW13", 2000, ["D10"]), ("HW49", 4000, ["D10"])],
                          issued_days_ago=5 * 365 - 40)]),
    Unit("yongchuan", "重庆永川有色金属再生利用有限公司", "500118", ["receiver"], SCRAP_METAL,
         sites=[_site("表面处理污泥及废矿物油利用车间", "operating", note="演示用虚构单位；" + ASSUMED)],
         permits=[_permit("comprehensive", [("HW17", 8000, ["R4"]), ("HW22", 3000, ["R4"]), ("HW08", 4000, ["R9"])],
                          issued_days_ago=400)]),
]
SMALL_VOLUME_COLLECTOR = Unit(  # B key project 13: centralised collection for small and non-industrial generators
    "bn-collector", "重庆巴渝小微危废收运服务有限公司", BANAN, ["collector"], ("7724", "危险废物治理"), zone="BN-JJYQ",
    sites=[_site("小微危废集中收集贮存点", "storage", storage=80,
                 note="小微企业、汽修、实验室危废集中收运（B 重点工程13）；演示用虚构单位；" + ASSUMED)],
    permits=[_permit("small_volume_collection", [("900-214-08", 800, []), ("900-249-08", 300, []),
                                                 ("900-041-49", 400, []), ("900-047-49", 100, []),
                                                 ("900-252-12", 200, []), ("900-023-29", 5, []),
                                                 ("900-052-31", 300, [])], issued_days_ago=200, years=3)])

TONNE_BANDS = {"key": (100.0, 1200.0), "simplified": (10.0, 99.0), "registered": (0.2, 9.8)}


class _Names:
    """Unique fictitious trade names (字号) from a seeded generator, never one a named unit uses."""

    def __init__(self, rng: random.Random, taken: set[str]):
        self.rng, self.taken, self.trades = rng, taken, set()

    def trade(self) -> str:
        for _attempt in range(500):
            trade = self.rng.choice(TRADE_1) + self.rng.choice(TRADE_2)
            if trade[0] == trade[1] or trade in self.trades or trade in NOT_TRADES:
                continue
            if not any(trade in name for name in self.taken):
                self.trades.add(trade)
                return trade
        raise RuntimeError("ran out of demo trade names")

    def pick(self, pattern: str, region: str) -> str:
        prefix = "重庆" if region == BANAN or self.rng.random() < 0.5 else "重庆市开州区"
        name = prefix + pattern.format(t=self.trade())
        self.taken.add(name)
        return name


def _tonnes(rng: random.Random, band: str) -> Decimal:
    low, high = TONNE_BANDS[band]
    value = low * (high / low) ** rng.random()  # log-uniform: many small, a few large
    return Decimal(str(round(value, 3)))


def _band(rng: random.Random, weights) -> str:
    return rng.choices(["key", "simplified", "registered"], weights=weights)[0]


def _generator_sites(unit: Unit, production: str, *, rng: random.Random, medical: bool = False):
    """A production site; a storage facility for 10 t/a or more (three months' worth), often one for less.

    Every medical institution has a medical waste store (K: "1+X", one per township health centre).
    """
    sites = [_site(production, "production")]
    if unit.tonnes >= 10:
        sites.append(_site("医疗废物暂存间" if medical else "危险废物贮存库", "storage",
                           storage=max(Decimal(1), round(unit.tonnes / 4, 1))))
    elif medical or (unit.tonnes > 0 and rng.random() < 0.5):
        sites.append(_site("医疗废物暂存间" if medical else "危险废物暂存间", "storage",
                           storage=Decimal(str(rng.choice([0.5, 1, 2])))))
    return sites


def synthetic_units(rng: random.Random, taken: set[str]) -> list[Unit]:
    names = _Names(rng, taken)
    units: list[Unit] = []
    for region in (BANAN, KAIZHOU):
        district = DISTRICT_NAME[region]
        # industrial generators
        for label, n_banan, n_kaizhou, patterns, weights, zones in INDUSTRIES:
            for _ in range(n_banan if region == BANAN else n_kaizhou):
                pattern, code, industry = rng.choice(patterns)
                name = names.pick(pattern, region)
                zone = zones.get(region, "") if rng.random() < 0.7 else ""
                unit = Unit(f"gen-{len(units)}", name, region, ["generator"], (code, industry),
                            _tonnes(rng, _band(rng, weights)), zone=zone)
                unit.sites = _generator_sites(unit, f"{label}生产厂区", rng=rng)
                units.append(unit)
        for _ in range(GISW_ONLY[region]):
            name = names.pick(rng.choice(["{t}建材有限公司", "{t}新型墙材有限公司", "{t}再生资源利用有限公司"]), region)
            unit = Unit(f"gisw-{len(units)}", name, region, ["generator"], ("3031", "黏土砖瓦及建筑砌块制造"))
            unit.sites = [_site("生产厂区", "production", note="仅产生一般工业固体废物")]
            units.append(unit)
        # medical institutions: hospitals, health centres, clinics
        hospitals = BANAN_MEDICAL if region == BANAN else KAIZHOU_MEDICAL
        towns = TOWNS[region]
        health_centres = [t for t in towns if t.endswith(("镇", "乡"))]
        medical = [(name, code, ind, band, "12") for name, code, ind, band in hospitals]
        for town in rng.sample(health_centres, 8 if region == BANAN else 7):
            kind = "中心卫生院" if rng.random() < 0.3 else "卫生院"
            medical.append((f"重庆市{district}{town}{kind}", "8423", "乡镇卫生院", "registered", "12"))
        for town in rng.sample([t for t in towns if t.endswith("街道")], 2):
            medical.append((f"重庆市{district}{town}社区卫生服务中心", "8421", "社区卫生服务中心", "registered", "12"))
        for _ in range(3 if region == BANAN else 1):
            name = names.pick(rng.choice(["{t}门诊部有限公司", "{t}口腔门诊部有限公司", "{t}医院有限公司"]), region)
            medical.append((name, "8425", "门诊部（所）", "registered", "91"))
        for name, code, ind, band, registration in medical:
            unit = Unit(f"med-{len(units)}", name, region, ["generator", "medical_institution"], (code, ind),
                        _tonnes(rng, band) if band != "key" else Decimal(str(rng.randint(120, 260))),
                        registration=registration)
            unit.sites = _generator_sites(unit, "院区", rng=rng, medical=True)
            units.append(unit)
        # auto repair (B: 224 shops, §4.3): individual businesses (92) and companies; a few 4S shops
        for index in range(20 if region == BANAN else 14):
            if index < 3:
                name, band = names.pick("{t}汽车销售服务有限公司", region), "simplified"
            elif index % 3 == 0:  # individual businesses (个体工商户, USCC 92)
                town = rng.choice(towns).removesuffix("街道").removesuffix("镇")
                name, band = f"{district}{town}{names.trade()}汽车修理厂", "registered"
                taken.add(name)
            else:
                pattern = rng.choice(["{t}汽车维修有限公司", "{t}汽车服务有限公司"])
                name, band = names.pick(pattern, region), "registered"
            unit = Unit(f"car-{len(units)}", name, region, ["generator"], ("8111", "汽车修理与维护"),
                        _tonnes(rng, band), registration="92" if "修理厂" in name else "91")
            unit.sites = _generator_sites(unit, "维修车间", rng=rng)
            units.append(unit)
        # school and testing labs (B: 36 schools; K: research and third-party testing labs)
        labs = ([(f"重庆市{district}{t.removesuffix('街道').removesuffix('镇')}中学校", "8334", "普通高中教育", "12")
                 for t in rng.sample(towns, 6)] if region == BANAN else
                [(f"重庆市{district}{t.removesuffix('街道').removesuffix('镇')}中学校", "8334", "普通高中教育", "12")
                 for t in rng.sample(towns, 2)]
                + [(names.pick("{t}检测技术有限公司", region), "7452", "检测服务", "91"),
                   (f"重庆市{district}农业技术推广中心", "7511", "农林牧渔技术推广服务", "12")])
        for name, code, ind, registration in labs:
            unit = Unit(f"lab-{len(units)}", name, region, ["generator"], (code, ind),
                        _tonnes(rng, "registered"), registration=registration)
            unit.sites = [_site("化学实验室" if code == "8334" else "实验室", "production"),
                          _site("实验室危废暂存柜", "storage", storage=Decimal("0.5"))]
            units.append(unit)
    # transporters
    for key, name, vehicles in BANAN_TRANSPORTERS:
        taken.add(name)
        units.append(Unit(key or f"trans-{len(units)}", name, BANAN, ["transporter"], ("5435", "危险货物道路运输"),
                          vehicles=[{"type": rng.choice(["危险货物运输车（厢式）", "罐式危险货物运输车",
                                                         "危险货物运输车（栏板）"]),
                                     "load": str(rng.choice([1.5, 5, 8, 10, 15, 18]))} for _ in range(vehicles)]))
    name = "重庆市开州区恒通危险货物运输有限公司"
    taken.add(name)
    units.append(Unit("kz-trans", name, KAIZHOU, ["transporter"], ("5435", "危险货物道路运输"),
                      vehicles=[{"type": "危险货物运输车（厢式）", "load": "8.000"} for _ in range(3)]))
    return units


# --- building ----------------------------------------------------------------------------------

def sentinel_uscc() -> str:
    return uscc_for("重庆盛清水处理科技有限公司", BANAN)


def is_built() -> bool:
    return Organization.objects.filter(uscc=sentinel_uscc()).exists()


def _organization_code(rng: random.Random) -> str:
    """A GB 11714 organization code (8 characters + check), new style 'MA…' or old style digits."""
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "MA" + "".join(rng.choice(charset) for _ in range(6)) if rng.random() < 0.6 else \
        "".join(rng.choice("0123456789") for _ in range(8))
    value = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
    check = 11 - sum(value[c] * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def uscc_for(name: str, region: str, registration: str = "91", uscc_region: str = "") -> str:
    """The unit's USCC: a function of its name only, so it is the same whatever else the demo builds."""
    return make_uscc(registration, uscc_region or region, _organization_code(random.Random(f"{SEED}:{name}")))


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))


# The plans' units were operating before their baseline year (2020): registered then, they count in every year the
# demo evaluates (the registry's history starts on a unit's registration day).
REGISTERED_ON = dt.date(2015, 1, 1)


def _organization_data(unit: Unit) -> dict:
    rng = random.Random(f"{SEED}:{unit.name}:details")
    region = unit.region
    towns = TOWNS.get(region)
    town = unit.town or (rng.choice(towns) if towns else "")
    if region in CENTER:
        lon, lat = CENTER[region]
        spread = 0.14 if region == BANAN else 0.2
        lon, lat = lon + rng.uniform(-spread, spread), lat + rng.uniform(-spread * 0.8, spread * 0.8)
        address = f"重庆市{DISTRICT_NAME[region]}{town}{rng.choice(ROADS)}{rng.randint(1, 399)}号"
        phone = f"{PHONE_PREFIX[region]}{rng.randint(100000, 999999)}"
    else:
        region_name = catalog.get_region(region).name
        lon, lat = None, None
        address = (f"重庆市{region_name}{town}{rng.choice(ROADS)}{rng.randint(1, 399)}号" if region != CHONGQING
                   else "重庆市（所在区县规划未载明）")
        phone = f"023-{rng.randint(40000000, 89999999)}"
    return {
        "uscc": uscc_for(unit.name, region, unit.registration, unit.uscc_region),
        "registered_on": REGISTERED_ON,
        "name": unit.name,
        "region": region,
        "zone": unit.zone or None,
        "address": address,
        "longitude": None if lon is None else f"{lon:.6f}",
        "latitude": None if lat is None else f"{lat:.6f}",
        "industry_code": unit.industry[0],
        "industry_name": unit.industry[1],
        "legal_representative": _person(rng),
        "contact_name": _person(rng),
        "contact_phone": phone,
        "roles": unit.roles,
        "annual_hazardous_waste_tonnes": unit.tonnes,
    }


def is_industrial(unit: Unit) -> bool:
    """Whether a demo unit is an industrial source, by the indicators' rule (`catalog.is_industrial_source`)."""
    return catalog.is_industrial_source(unit.industry[0], is_medical_institution="medical_institution" in unit.roles)


def _complete_totals(units: list[Unit]) -> None:
    """Give each district's incinerator the HW tonnes that make the district's industrial total the plan's figure
    (social sources and medical institutions generate on top of it)."""
    for region, total in HW_TOTAL.items():
        (remainder,) = [u for u in units if u.remainder_of == region]
        if not is_industrial(remainder):
            raise RuntimeError(f"demo: {remainder.name} completes an industrial total and is not industrial")
        others = sum((u.tonnes for u in units if u.region == region and "generator" in u.roles
                      and is_industrial(u) and u is not remainder), Decimal(0))
        remainder.tonnes = total - others
        if remainder.tonnes < 100:
            raise RuntimeError(f"demo tonnes of {region} exceed the plan's total {total}")


def build(stdout=None) -> dict:
    """Register the demo units. Returns counts (also written to stdout unless it is None).

    One kind of row after the other (all units, then all sites, then permits …), so that
    `wufei demo --reset`, which deletes newest first, meets long runs of one model.
    """
    say = Writer(stdout)
    today = timezone.localdate()
    rng = random.Random(SEED)
    named = named_units()
    taken = {u.name for u in named}
    units = named + [SMALL_VOLUME_COLLECTOR] + OUT_OF_DISTRICT + synthetic_units(rng, taken)
    _complete_totals(units)
    with audit.acting_as(DEMO_ACTOR), transaction.atomic():
        for code, name, kind, region, description in ZONES:
            if not Zone.objects.filter(code=code, region_id=region).exists():  # a regulator may have defined it
                catalog.create_zone(scope=ADMIN_SCOPE, code=code, name=name, kind=kind, region_code=region,
                                    description=description)
        organizations = {unit.key: services.create_organization(scope=ADMIN_SCOPE, data=_organization_data(unit))
                         for unit in units}
        say(f"  zones: {len(ZONES)}, organizations: {len(organizations)}")
        sites = {unit.key: _add_sites(unit, organizations[unit.key]) for unit in units}
        say(f"  sites: {sum(len(s) for s in sites.values())}")
        permits = _add_permits(units, organizations, sites, today)
        say(f"  operating permits: {permits}")
        for unit in units:
            if unit.closed:
                closed_on, reason = unit.closed
                organization = Organization.objects.get(pk=organizations[unit.key].pk)
                services.close_organization(scope=ADMIN_SCOPE, organization_id=organization.pk, reason=reason,
                                            closed_on=closed_on, version=organization.version)
        vehicles = _add_vehicles(units, organizations, today)
        say(f"  vehicles: {vehicles}")
        departments = _add_departments()
        say(f"  departments: {departments}")
        accounts = _add_accounts(organizations, say)
        say(f"  accounts: {accounts}")
    return summary()


def _add_sites(unit: Unit, organization: Organization) -> list:
    sites = []
    for spec in unit.sites:
        data = {k: v for k, v in spec.items() if v not in (None, "")}
        rng = random.Random(f"{SEED}:{unit.name}:{spec['name']}")
        if organization.longitude is not None:
            data["longitude"] = f"{float(organization.longitude) + rng.uniform(-0.004, 0.004):.6f}"
            data["latitude"] = f"{float(organization.latitude) + rng.uniform(-0.004, 0.004):.6f}"
        data["address"] = organization.address
        sites.append(services.add_site(scope=ADMIN_SCOPE, data={"organization": organization.uscc, **data}))
    return sites


def _add_permits(units: list[Unit], organizations: dict, sites: dict, today: dt.date) -> int:
    serial = 0
    for unit in units:
        for spec in unit.permits:
            serial += 1
            valid_from = spec["valid_from"] or today - dt.timedelta(days=spec["issued_days_ago"])
            valid_until = spec["valid_until"] or _add_years(valid_from, spec["years"]) - dt.timedelta(days=1)
            permit = services.add_permit(scope=ADMIN_SCOPE, data={
                "organization": organizations[unit.key].uscc,
                "number": f"渝环危许〔{valid_from.year}〕{serial:03d}号",
                "kind": spec["kind"],
                "issuing_authority": "重庆市生态环境局",
                "valid_from": valid_from,
                "valid_until": valid_until,
            }, lines=[{"waste": code, "annual_capacity_tonnes": tonnes, "methods": methods}
                      for code, tonnes, methods in spec["lines"]], site=sites[unit.key][spec["site"]])
            if unit.closed:  # a unit that stopped operating no longer holds a valid permit
                services.set_permit_status(scope=ADMIN_SCOPE, permit_id=permit.pk, status="revoked",
                                           reason=unit.closed[1], version=permit.version)
    return serial


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# vehicle permit validity (days from today) for the few that later warnings should find
VEHICLE_VALIDITY_OVERRIDES = {("transporter", 0): -20, ("transporter", 1): 18, ("shangshan", 2): 45,
                              ("kz-trans", 0): 30}


def _add_vehicles(units: list[Unit], organizations: dict, today: dt.date) -> int:
    count = 0
    rng = random.Random(f"{SEED}:vehicles")
    used = set()
    for unit in units:
        for index, spec in enumerate(unit.vehicles):
            organization = organizations[unit.key]
            while True:
                prefix = rng.choice(PLATE_PREFIX[unit.region])
                tail = rng.choice("DF") + "".join(rng.choice("0123456789") for _ in range(4)) \
                    if rng.random() < 0.3 else "".join(rng.choice("0123456789") for _ in range(5))
                plate = f"{prefix}·{tail}"
                if plate not in used:
                    used.add(plate)
                    break
            days = VEHICLE_VALIDITY_OVERRIDES.get((unit.key, index), rng.randint(120, 1000))
            services.add_vehicle(scope=ADMIN_SCOPE, data={
                "organization": organization.uscc,
                "plate": plate,
                "vehicle_type": spec["type"],
                "load_capacity_tonnes": spec["load"],
                "transport_permit_number": f"渝交运管许可{unit.region}{rng.randint(100000, 999999)}号",
                "transport_permit_valid_until": today + dt.timedelta(days=days),
            })
            count += 1
    return count


def _add_departments() -> int:
    count = 0
    for region, names in DEPARTMENTS.items():
        for name in names:
            services.add_department(scope=ADMIN_SCOPE, region_code=region, name=name)
            count += 1
    return count


# --- accounts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    username: str
    role: str
    regulator: tuple[str, str] | None = None  # (region, authority)
    organization: str = ""  # Unit.key
    membership: str = ""  # Membership.Role
    department: tuple[str, str] | None = None  # (region, name)
    superuser: bool = False


ACCOUNTS = [
    Account("admin", "platform administrator", superuser=True),
    Account("city-regulator", "regulator", regulator=(CHONGQING, "重庆市生态环境局")),
    Account("regulator", "regulator", regulator=(BANAN, "重庆市巴南区生态环境局")),
    Account("kaizhou-regulator", "regulator", regulator=(KAIZHOU, "重庆市开州区生态环境局")),
    Account("generator", "generator (admin)", organization="huike", membership="admin"),
    Account("transporter", "transporter (admin)", organization="transporter", membership="admin"),
    Account("driver", "transporter (driver)", organization="transporter", membership="driver"),
    Account("receiver", "licensed operator (admin)", organization="shengqing", membership="admin"),
    Account("department", "department", department=(BANAN, "区城市管理局")),
]


def is_demo_user(user) -> bool:
    return user.email.endswith("@" + DEMO_EMAIL_DOMAIN)


def _add_accounts(organizations: dict, say) -> int:
    User = get_user_model()
    hashed = make_password(DEMO_PASSWORD)  # one hash for all: the accounts share the published password
    created = 0
    for account in ACCOUNTS:
        user = User.objects.filter(username=account.username).first()
        if user is not None and not is_demo_user(user):
            say(f"  account {account.username!r} already exists and is not a demo account: left unchanged")
            continue
        if user is not None:  # a demo account already there: its password and settings are its user's now
            continue
        user = User(username=account.username, email=f"{account.username}@{DEMO_EMAIL_DOMAIN}", password=hashed,
                    is_superuser=account.superuser, is_staff=account.superuser, first_name=account.role[:150])
        user.save()
        created += 1
        if account.regulator:
            region, authority = account.regulator
            services.add_regulator(scope=ADMIN_SCOPE, username=user.username, region_code=region, authority=authority)
        if account.organization:
            services.add_member(scope=ADMIN_SCOPE, organization_id=organizations[account.organization].pk,
                                username=user.username, role=account.membership)
        if account.department:
            region, name = account.department
            department = Department.objects.get(region_id=region, name=name)
            services.add_department_member(scope=ADMIN_SCOPE, department_id=department.pk, username=user.username)
    return created


def account_rows() -> list[tuple[str, str, str]]:
    """(username, role, what they see) for the demo accounts, counted through each one's Scope."""
    from wufei.core.scope import scope_for

    User = get_user_model()
    rows = []
    for account in ACCOUNTS:
        user = User.objects.filter(username=account.username).first()
        if user is None:
            rows.append((account.username, account.role, "missing: run `wufei demo --reset`"))
            continue
        if not is_demo_user(user):
            rows.append((account.username, account.role, "existing account, not the demo's: password unchanged"))
            continue
        scope = scope_for(user)
        visible = Organization.objects.visible_to(scope)
        if account.superuser:
            seen = f"everything ({visible.count()} organizations) and /admin/"
        elif account.regulator:
            region, authority = account.regulator
            seen = f"{authority} ({region}): {visible.count()} organizations in its region"
        elif account.organization:
            organization = Organization.objects.filter(pk__in=scope.organization_ids).first()
            if organization is None:
                seen = "no organization"
            elif account.membership == "driver":
                seen = f"{organization.name}: its own file, read-only (driver)"
            else:
                seen = f"{organization.name} ({organization.get_supervision_class_display()}): its own file"
                vehicles = Vehicle.objects.filter(organization=organization)
                if vehicles.exists():
                    today = timezone.localdate()
                    expired = vehicles.filter(transport_permit_valid_until__lt=today).count()
                    seen += f", {vehicles.count()} vehicles ({expired} with an expired permit)"
                lines = organization.permits.aggregate(t=Sum("lines__annual_capacity_tonnes"))["t"]
                if lines:
                    seen += f", permits for {lines.normalize():f} t/a"
        elif account.department:
            region, name = account.department
            seen = f"{name} ({DISTRICT_NAME.get(region, region)}): reports indicator data and task progress"
        else:
            seen = ""
        rows.append((account.username, account.role, seen))
    return rows


def summary() -> dict:
    from wufei.registry.models import OperatingPermit, PermitLine, Site

    demo = Organization.objects.all()
    return {
        "zones": Zone.objects.filter(code__in=[z[0] for z in ZONES]).count(),
        "organizations": demo.count(),
        "banan": demo.filter(region_id=BANAN).count(),
        "kaizhou": demo.filter(region_id=KAIZHOU).count(),
        "sites": Site.objects.count(),
        "permits": OperatingPermit.objects.count(),
        "permit_lines": PermitLine.objects.count(),
        "vehicles": Vehicle.objects.count(),
        "departments": Department.objects.count(),
    }
