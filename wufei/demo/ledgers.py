"""Ledgers demo: the year's hazardous waste ledger, next year's management plans, the year's declarations
with a spot check, and a year of general industrial solid waste monthly e-ledgers.

`build(stdout)` is called by `wufei demo` after the tracking demo (whose containers the ledger is
derived from), inside `audit.acting_as("demo")`; writes go through the ledgers services as the
platform administrator, reviews and the spot-check draw as the demo regulator accounts.

* Ledger: `build_ledger` for the demo year and for the current year so far. The printed figures are
  read back from LedgerMonth over the industrial units (industrial hazardous waste, as the indicators'
  ihw_* quantities count it: `catalog.services.industrial_source_q`, codes other than HW01): Banan
  31,000 t generated (3.10万t), 3,040 t carried in (0.30万t), 30,060 t transferred (3.01万t), 3,980 t
  year-end stock at its generators (0.40万t); Kaizhou 612.71 t carried in + 6,580.87 t generated =
  7,193.58 t declared, all of it transferred. The social sources' hazardous waste (auto repair, labs)
  and the medical waste are printed apart.
* Management plans for the current year (the demo year + 1): 重庆惠科金渝 (the `generator` account's
  unit) submitted and waiting for review; 丰盛三峰 and 绿能 approved; Banan's largest chemicals unit
  returned with a comment (its planned transfers fall 30 % short of its planned generation); its
  largest pharmaceutical unit still a draft. Streams from the unit's ledger of the demo year (+3 %),
  transfers to a receiver whose permit allows the code on the filing day. (Synthetic units are
  picked by district and industry, `unit_named`, not by the names the registry demo draws.)
* Declarations of the demo year for the key-supervised generators with a ledger: drafted from the
  ledger and submitted, except two left as drafts; one submitted after the due date (the largest
  Banan pump maker), one with an adjustment and its reason (the chemicals unit: a bag of spent
  carbon found at the year-end stock-take). The Banan regulator draws a 20 % spot check (the server's
  seed, kept with the draw) and records one finding.
* Monthly e-ledger (电子月台账) of the demo year for the large general industrial solid waste
  generators (GISW): every month balances and chains on; the units' years add up exactly to the
  plans' district figures (B: 70.89万t generated, 43.38万t utilised, 27.51万t disposed, self 25.55万t /
  outsourced 45.34万t, top three industries 97.98 %, top five categories 99.99 %; K: 83.03万t
  generated, 78.06万t utilised (94.01 %), 4.24万t disposed, 0.74万t year-end stock). The plans
  print rounded figures; the demo's exact ones (GISW below) round to them. Codes: the catalog's
  SWnn where it has one; otherwise the 2024 structure NNN-NNN-Sxx with the industry's three digits,
  sequence 001 (assumed) and S59 (其他工业固体废物).
  The titanium gypsum of 攀钢 goes to "富丰水泥" (B L39: 富丰水泥等企业), which the registry demo does
  not register: this demo registers it (receiver, district not stated, as printed).

Filing days: plans, declarations, reviews, the draw and the monthly entries happen on the days a
unit would file them (declarations in February–March after the year, one in April; the e-ledger
month on the 8th of the next month), by running each such service call with the clock set to that
day (`_filed_on`): `timezone.now()` is what the services stamp (submitted_at, the late flag, the
audit link's time). A day that has not come yet at the build is replaced by the build's own time
(and the late declaration stays a draft). The audit chain therefore holds these links with their
filing times, earlier than the links written just before them.
"""

import contextlib
import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from wufei.catalog.services import industrial_source_q, medical_code_q
from wufei.core import audit
from wufei.core.scope import scope_for
from wufei.demo.registry import ADMIN_SCOPE, BANAN, CHONGQING, DEMO_ACTOR, KAIZHOU, uscc_for
from wufei.demo.tracking import Receivers, demo_year
from wufei.demo.writer import Writer
from wufei.ledgers import declarations, plans, solid_waste, spot_checks
from wufei.ledgers.compute import build_ledger
from wufei.ledgers.models import LedgerMonth, ManagementPlan, SolidWasteMonth, SpotCheck, SpotCheckDraw
from wufei.registry import services as registry
from wufei.registry.models import Organization, Site
from wufei.tracking.models import ContainerOrigin, ScanEvent, ScanKind

LOCAL = ZoneInfo("Asia/Shanghai")
SEED = 2026
ZERO = Decimal(0)
KG = Decimal("0.001")
_REAL_NOW = timezone.now

FUFENG = "富丰水泥"
LVYIN, TONGHUI, ZHUOJUE = "重庆绿茵再生资源利用有限公司", "重庆同辉鹏程科技有限公司", "重庆琢珏环保科技有限公司"
KZ_CEMENT, XINDA = "开县开州水泥厂有限公司", "重庆市开州区鑫达建材有限公司"
HEZHONG, WANQING = "重庆市鹤众工贸有限责任公司", "重庆万青环保科技有限公司"

# (unit: name or (district, industry), code, name, generated t/a, {column: t/a}, {column: receiver (or receivers
#  for the first and second half of the year)}, year-end stock t)
GISW = [
    # Banan: 708,900 t; top three industries (工业颜料 攀钢, 显示器件 惠科, 生物质能发电 丰盛) 694,580 t = 97.98 %
    ("攀钢集团重庆钛业有限公司", "264-001-S59", "钛石膏", "510000",
     {"self_disposed": "255000", "entrusted_utilization": "255000"}, {"entrusted_utilization": FUFENG}, "0"),
    ("攀钢集团重庆钛业有限公司", "SW03", "炉渣", "3500",
     {"self_disposed": "500", "entrusted_utilization": "3000"}, {"entrusted_utilization": LVYIN}, "0"),
    ("重庆丰盛三峰环保发电有限公司", "SW03", "炉渣", "70000",
     {"entrusted_utilization": "70000"}, {"entrusted_utilization": LVYIN}, "0"),
    ("重庆惠科金渝光电科技有限公司", "SW07", "污泥", "19600",
     {"entrusted_disposal": "19600"}, {"entrusted_disposal": (TONGHUI, ZHUOJUE)}, "0"),
    ("重庆惠科金渝光电科技有限公司", "397-001-S59", "其他废物（废玻璃、废包装材料）", "91480",
     {"entrusted_utilization": "91480"}, {"entrusted_utilization": LVYIN}, "0"),
    ((BANAN, "3610"), "361-001-S59", "其他废物（废边角料）", "4200",
     {"entrusted_utilization": "4200"}, {"entrusted_utilization": LVYIN}, "0"),
    ((BANAN, "2662"), "SW02", "粉煤灰", "1900",
     {"entrusted_utilization": "1900"}, {"entrusted_utilization": FUFENG}, "0"),
    ((BANAN, "2662"), "SW06", "脱硫石膏", "1200",
     {"entrusted_utilization": "1200"}, {"entrusted_utilization": FUFENG}, "0"),
    ((BANAN, "3752"), "375-001-S59", "其他废物（废边角料）", "2500",
     {"entrusted_utilization": "2500"}, {"entrusted_utilization": LVYIN}, "0"),
    ((BANAN, "3441"), "344-001-S59", "其他废物（废砂、废边角料）", "1800",
     {"entrusted_utilization": "1800"}, {"entrusted_utilization": LVYIN}, "0"),
    ((BANAN, "2720"), "SW07", "污泥", "1420",
     {"entrusted_utilization": "1420"}, {"entrusted_utilization": ZHUOJUE}, "0"),
    ("重庆众强有色金属有限公司", "SW01", "冶炼废渣", "70.89",
     {"entrusted_utilization": "70.89"}, {"entrusted_utilization": LVYIN}, "0"),
    ((BANAN, "1352"), "SW07", "污泥", "1229.11",
     {"entrusted_utilization": "1229.11"}, {"entrusted_utilization": ZHUOJUE}, "0"),
    # Kaizhou: 830,300 t in the six categories the plan names
    ("国家电投集团重庆白鹤电力有限公司", "SW02", "粉煤灰", "430000",
     {"self_disposed": "28000", "entrusted_utilization": "402000"}, {"entrusted_utilization": KZ_CEMENT}, "0"),
    ("国家电投集团重庆白鹤电力有限公司", "SW03", "炉渣", "95000",
     {"entrusted_utilization": "95000"}, {"entrusted_utilization": XINDA}, "0"),
    ("国家电投集团重庆白鹤电力有限公司", "SW06", "脱硫石膏", "160000",
     {"entrusted_utilization": "152640"}, {"entrusted_utilization": HEZHONG}, "7360"),
    ("重庆绿能新能源有限公司", "SW03", "炉渣", "48000",
     {"entrusted_utilization": "48000"}, {"entrusted_utilization": WANQING}, "0"),
    ("开县正大煤业有限公司正坝煤矿", "SW04", "煤矸石", "60000",
     {"self_disposed": "14380", "entrusted_utilization": "45620"}, {"entrusted_utilization": XINDA}, "0"),
    ((KAIZHOU, "3971"), "SW07", "污泥", "6000",
     {"entrusted_utilization": "6000"}, {"entrusted_utilization": KZ_CEMENT}, "0"),
    ((KAIZHOU, "2921"), "292-001-S59", "其他废物（废塑料边角料）", "8000",
     {"entrusted_utilization": "8000"}, {"entrusted_utilization": WANQING}, "0"),
    ((KAIZHOU, "3021"), "302-001-S59", "其他废物（废混凝土）", "12000",
     {"entrusted_utilization": "12000"}, {"entrusted_utilization": XINDA}, "0"),
    ((KAIZHOU, "2039"), "203-001-S59", "其他废物（废木料）", "5300",
     {"entrusted_utilization": "5300"}, {"entrusted_utilization": WANQING}, "0"),
    ((KAIZHOU, "3389"), "338-001-S59", "其他废物（废金属边角料）", "6000",
     {"entrusted_utilization": "6000"}, {"entrusted_utilization": WANQING}, "0"),
]
# month weights of generation (the Spring Festival in February)
SEASON = [1.0, 0.82, 1.02, 1.04, 1.05, 1.03, 1.0, 0.98, 1.03, 1.04, 1.02, 0.97]

# (unit, outcome, reviewer account): the current year's management plans
PLANS = [
    ("重庆惠科金渝光电科技有限公司", "submitted", "regulator"),
    ("重庆丰盛三峰环保发电有限公司", "approved", "regulator"),
    ((BANAN, "2662"), "returned", "regulator"),
    ("重庆绿能新能源有限公司", "approved", "kaizhou-regulator"),
    ((BANAN, "2720"), "draft", None),
]
RETURN_COMMENT = ("计划转移量合计比计划产生量少约30%，未说明差额的去向（自行利用处置或厂内贮存）及贮存能力，"
                  "请补充后重新提交。")
REDUCTION = {
    "重庆惠科金渝光电科技有限公司": "推行清洁生产审核；蚀刻液在线再生回用，减少废酸产生；废活性炭改用可再生吸附装置。",
    "重庆丰盛三峰环保发电有限公司": "优化烟气净化药剂投加，降低飞灰产生率；飞灰螯合稳定化后转移。",
    (BANAN, "2662"): "改进精馏工艺，减少釜残；废包装桶交供应商回收重复使用。",
    "重庆绿能新能源有限公司": "优化石灰浆和活性炭喷射量，降低飞灰产生率。",
    (BANAN, "2720"): "溶剂回收套用，减少废有机溶剂产生。",
}
STORAGE_MEASURES = "危险废物贮存库按 GB 18597-2023 分类分区贮存，设置防渗、导流、围堰和视频监控，贮存期不超过一年。"
DRAFT_ONLY = ((BANAN, "3610"), (KAIZHOU, "2921"))  # declarations left as drafts
LATE = (BANAN, "3441")
ADJUSTED = (BANAN, "2662")
BANAN_TOP = ("HW18", "HW49", "HW17", "HW34", "HW06")
KAIZHOU_TOP = ("HW08", "HW18", "HW49")
ADJUSTMENT_REASON = ("2025年12月30日危废库盘点发现1袋废活性炭（0.350 t）未赋码入账，已于次年1月补录；"
                     "按实际产生量和库存申报")


def unit_named(organizations: dict, key) -> Organization:
    """A unit by its name (the units the plans name), or (region, industry code): the synthetic unit of that
    industry in that district generating the most hazardous waste, so that the demo does not depend on the
    names the registry demo draws for them."""
    if isinstance(key, str):
        return organizations[key]
    region, industry = key
    return max((o for o in organizations.values() if o.region_id == region and o.industry_code == industry
                and o.is_generator), key=lambda o: (o.annual_hazardous_waste_tonnes, o.name))


def at(day: dt.date, hours: float = 0) -> dt.datetime:
    return (dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL) + dt.timedelta(hours=hours)).astimezone(dt.UTC)


@contextlib.contextmanager
def _filed_on(moment: dt.datetime | None):
    """Run the service calls inside as of `moment` (a past day); the build's own time when it has not come."""
    real = _REAL_NOW()
    if moment is None or moment >= real - dt.timedelta(minutes=1):
        yield real
        return
    moment = moment.astimezone(dt.UTC)
    with mock.patch.object(timezone, "now", lambda: moment):
        yield moment


def _when(moment: dt.datetime) -> bool:
    """Whether a filing day has come at the build."""
    return moment < _REAL_NOW() - dt.timedelta(minutes=1)


def is_built() -> bool:
    """Whether the demo's plans are there: the one of the `generator` account's unit (rows, not audit events, which
    outlive `wufei demo --reset`)."""
    return ManagementPlan.objects.filter(organization__uscc=uscc_for(PLANS[0][0], BANAN)).exists()


def build(stdout=None) -> dict:
    say = Writer(stdout)
    year = demo_year()
    counts = {}
    with audit.acting_as(DEMO_ACTOR), transaction.atomic():
        counts["ledger_rows"] = build_ledger(year=year) + build_ledger(year=year + 1)
        say(f"  ledger rows: {counts['ledger_rows']} ({year} and {year + 1} so far)")
        organizations = _organizations()
        counts["plans"] = _plans(year + 1, organizations)
        counts["declarations"] = _declarations(year, organizations)
        counts["spot_checks"] = _spot_checks(year)
        counts["solid_waste_months"] = _solid_waste(year, organizations)
    say(f"  management plans {year + 1}: {counts['plans']}")
    say(f"  declarations {year}: {counts['declarations']}; spot checks: {counts['spot_checks']}")
    say(f"  solid waste e-ledger {year}: {counts['solid_waste_months']} months")
    for line in report(year):
        say(f"  {line}")
    return counts


def _organizations() -> dict[str, Organization]:
    if not Organization.objects.filter(name=FUFENG).exists():
        registry.create_organization(scope=ADMIN_SCOPE, data={
            "uscc": uscc_for(FUFENG, CHONGQING), "name": FUFENG, "region": CHONGQING, "roles": ["receiver"],
            "industry_code": "3011", "industry_name": "水泥制造",
            "address": "重庆市（巴南区实施方案简称“富丰水泥”，全称及所在区县未载明）"})
    return {o.name: o for o in Organization.objects.select_related("region")}


# --- management plans --------------------------------------------------------------------------

def _user_scope(username: str):
    return scope_for(get_user_model().objects.get(username=username))


def _plans(year: int, organizations: dict) -> str:
    """The current year's plans, filed in January–March, reviewed in March."""
    receivers = Receivers()
    outcome = defaultdict(int)
    for index, (key, result, reviewer) in enumerate(PLANS):
        organization = unit_named(organizations, key)
        created = at(dt.date(year, 1, 12) + dt.timedelta(days=7 * index), 10)
        storage = Site.objects.filter(organization=organization, kind=Site.Kind.STORAGE).first()
        generated = defaultdict(Decimal)
        for code, tonnes in LedgerMonth.objects.filter(organization=organization, year=year - 1).values_list(
                "waste_id", "generated"):
            generated[code] += tonnes
        streams, transfers = [], []
        for code, tonnes in sorted(generated.items()):
            if tonnes <= 0:
                continue
            planned = max(Decimal("0.1"), (tonnes * Decimal("1.03")).quantize(Decimal("0.1")))
            streams.append({"waste": code, "planned_generation": str(planned),
                            "storage_site": storage.code if storage else ""})
            choice = receivers.choose(organization.region_id, code, created.date(), ZERO)
            if choice is not None:
                receiver, _line, method = choice
                quantity = planned * (Decimal("0.7") if result == "returned" else 1)
                transfers.append({"waste": code, "receiver": receiver.uscc, "planned_quantity": str(quantity),
                                  "method": method or ""})
        with _filed_on(created):
            plan = plans.create_plan(scope=ADMIN_SCOPE, organization_id=organization.pk, year=year,
                                     reduction_measures=REDUCTION.get(key, ""), storage_measures=STORAGE_MEASURES)
            plan = plans.set_streams(scope=ADMIN_SCOPE, plan_id=plan.pk, version=plan.version, streams=streams)
            plan = plans.set_transfers(scope=ADMIN_SCOPE, plan_id=plan.pk, version=plan.version, transfers=transfers)
        if result != "draft":
            with _filed_on(created + dt.timedelta(days=30)):
                plan = plans.submit_plan(scope=ADMIN_SCOPE, plan_id=plan.pk, version=plan.version)
        if reviewer and result in ("approved", "returned"):
            with _filed_on(created + dt.timedelta(days=45)):
                scope = _user_scope(reviewer)
                if result == "approved":
                    plans.approve_plan(scope=scope, plan_id=plan.pk, version=plan.version,
                                       comment="计划内容完整，转移去向合规，同意备案。")
                else:
                    plans.return_plan(scope=scope, plan_id=plan.pk, version=plan.version, comment=RETURN_COMMENT)
        outcome[result] += 1
    return ", ".join(f"{n} {status}" for status, n in sorted(outcome.items()))


# --- declarations and the spot check ---------------------------------------------------------------

def _declarations(year: int, organizations: dict) -> str:
    draft_only = {unit_named(organizations, key).pk for key in DRAFT_ONLY}
    late, adjusted = unit_named(organizations, LATE).pk, unit_named(organizations, ADJUSTED).pk
    units = sorted(Organization.objects.filter(region_id__in=[BANAN, KAIZHOU], is_generator=True,
                                               supervision_class="key", ledger_months__year=year).distinct(),
                   key=lambda o: (o.region_id, o.name))  # the same order on every database
    counts = defaultdict(int)
    rng = random.Random(f"{SEED}:declarations")
    for index, organization in enumerate(units):
        due = declarations.declaration_due_date(organization, year)
        drafted = at(dt.date(year + 1, 2, 9) + dt.timedelta(days=index % 20), 9 + rng.uniform(0, 8))
        with _filed_on(drafted):
            declaration = declarations.draft_declaration(scope=ADMIN_SCOPE, organization_id=organization.pk,
                                                         year=year)
        counts["drafted"] += 1
        if organization.pk == adjusted:
            figures = declarations.ledger_figures(organization.pk, year)
            code = max((c for c in figures if c.endswith("-49")), key=lambda c: figures[c]["generated"])
            extra = Decimal("0.35")
            with _filed_on(drafted + dt.timedelta(days=3)):
                declaration = declarations.adjust_lines(
                    scope=ADMIN_SCOPE, declaration_id=declaration.pk, version=declaration.version, changes=[
                        {"waste": code, "field": "generated", "declared_value": str(figures[code]["generated"] + extra),
                         "reason": ADJUSTMENT_REASON},
                        {"waste": code, "field": "closing_stock",
                         "declared_value": str(figures[code]["closing_stock"] + extra), "reason": ADJUSTMENT_REASON}])
            counts["adjusted"] += 1
        if organization.pk in draft_only:
            continue
        if organization.pk == late:
            submitted = at(due + dt.timedelta(days=15), 16)
            if not _when(submitted):
                continue
        else:
            submitted = min(at(due, 17), drafted + dt.timedelta(days=rng.randint(5, 30)))
        with _filed_on(submitted):
            declaration = declarations.submit_declaration(scope=ADMIN_SCOPE, declaration_id=declaration.pk,
                                                          version=declaration.version)
        counts["submitted"] += 1
        counts["late"] += declaration.submitted_late
    return (f"{counts['drafted']} drafted from the ledger, {counts['submitted']} submitted ({counts['late']} late), "
            f"{counts['adjusted']} adjusted with a reason")


def _spot_checks(year: int) -> str:
    scope = _user_scope("regulator")
    with _filed_on(at(dt.date(year + 1, 4, 20), 10)):
        checks = spot_checks.draw_spot_checks(scope=scope, year=year, share_percent="20")
    if checks:
        first = checks[0]
        with _filed_on(at(dt.date(year + 1, 5, 12), 15)):
            spot_checks.record_finding(scope=scope, spot_check_id=first.pk, version=first.version,
                                       outcome=SpotCheck.Outcome.CONSISTENT,
                                       findings="现场核对危废贮存库台账、转移联单和出入库记录，申报数据与台账一致。")
    return f"{len(checks)} drawn by the Banan regulator, {1 if checks else 0} finding recorded"


# --- general industrial solid waste e-ledger ---------------------------------------------------------

def _months(total: Decimal, weights: list[float]) -> list[Decimal]:
    """`total` over the months by weights, to the kilogram, adding up exactly."""
    whole = sum(weights)
    cumulative, result, before = 0.0, [], ZERO
    for weight in weights:
        cumulative += weight
        upto = (total * Decimal(cumulative / whole)).quantize(KG) if cumulative < whole else total
        result.append(upto - before)
        before = upto
    return result


def _solid_waste(year: int, organizations: dict) -> int:
    rows = 0
    series = []
    for name, code, label, generated, columns, receivers, closing in GISW:
        rng = random.Random(f"{SEED}:{name}:{code}")
        weights = [w * rng.uniform(0.95, 1.05) for w in SEASON]
        months = _months(Decimal(generated), weights)
        closing = Decimal(closing)
        stocks = []
        for month, amount in enumerate(months, start=1):  # a few days' output waits for collection
            stocks.append(closing if month == 12 else (amount * Decimal(rng.uniform(0.02, 0.06))).quantize(KG))
        outflows, opening = [], ZERO
        for amount, stock in zip(months, stocks, strict=True):
            outflows.append(opening + amount - stock)
            opening = stock
        totals = {column: Decimal(value) for column, value in columns.items()}
        absorbing = max(totals, key=lambda column: totals[column])
        whole = sum(totals.values(), ZERO)
        done = dict.fromkeys(totals, ZERO)
        cumulative = ZERO
        values_by_month = []
        for out in outflows:
            cumulative += out
            values = {}
            for column, total in totals.items():
                if column == absorbing:
                    continue
                upto = (total * cumulative / whole).quantize(KG) if cumulative < whole else total
                values[column] = upto - done[column]
                done[column] = upto
            values[absorbing] = out - sum(values.values(), ZERO)
            done[absorbing] += values[absorbing]
            values_by_month.append(values)
        series.append((unit_named(organizations, name), code, label, months, stocks, values_by_month, receivers))
    for month in range(1, 13):
        filed = at(dt.date(year + (month == 12), month % 12 + 1, 8), 10)
        with _filed_on(filed):
            for organization, code, label, months, stocks, values_by_month, receivers in series:
                opening = stocks[month - 2] if month > 1 else ZERO
                values = {"opening_stock": str(opening), "generated": str(months[month - 1]),
                          "closing_stock": str(stocks[month - 1]), "name": label,
                          **{column: str(value) for column, value in values_by_month[month - 1].items()}}
                receiver = next((r for column, r in receivers.items() if values_by_month[month - 1].get(column)),
                                None)
                if isinstance(receiver, tuple):
                    receiver = receiver[0] if month <= 6 else receiver[1]
                if receiver:
                    values["receiver"] = unit_named(organizations, receiver).uscc
                solid_waste.save_month(scope=ADMIN_SCOPE, organization_id=organization.pk, year=year, month=month,
                                       code=code, values=values)
                rows += 1
    return rows


# --- what the demo reproduces -------------------------------------------------------------------------

def _sum(values) -> Decimal:
    return sum((Decimal(v) for v in values), ZERO)


def figures(year: int) -> dict:
    """The demo's figures read back from the ledger, the e-ledger and the containers (exact Decimals)."""
    result = {}
    for region in (BANAN, KAIZHOU):
        months = LedgerMonth.objects.filter(year=year, organization__region_id=region, organization__is_generator=True)
        # industrial hazardous waste: what the plans' figures count (the indicators' ihw_* rule)
        industrial = months.filter(~medical_code_q("waste__code") & industrial_source_q("organization"))
        social = months.filter(organization__is_medical_institution=False).exclude(industrial_source_q("organization"))
        rows = list(industrial.values_list("waste_id", "month", "opening_stock", "generated", "transferred_out",
                                           "closing_stock"))
        generated_by, opening_by, closing_by = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
        for waste, month, opening, generated, _out, closing in rows:
            generated_by[f"HW{waste[-2:]}"] += generated
            if month == 1:
                opening_by[f"HW{waste[-2:]}"] += opening
            if month == 12:
                closing_by[f"HW{waste[-2:]}"] += closing
        medical = months.filter(organization__is_medical_institution=True)
        result[region] = {
            "generated": _sum(r[3] for r in rows),
            "opening": _sum(r[2] for r in rows if r[1] == 1),
            "transferred": _sum(r[4] for r in rows),
            "closing": _sum(r[5] for r in rows if r[1] == 12),
            "generated_by_category": dict(generated_by),
            "opening_by_category": dict(opening_by),
            "closing_by_category": dict(closing_by),
            "social_generated": _sum(social.values_list("generated", flat=True)),
            "social_transferred": _sum(social.values_list("transferred_out", flat=True)),
            "medical_generated": _sum(medical.values_list("generated", flat=True)),
            "medical_transferred": _sum(medical.values_list("transferred_out", flat=True)),
        }
        disposed = ScanEvent.objects.filter(~medical_code_q("container__waste__code")
                                            & industrial_source_q("container__organization"),
                                            kind__in=[ScanKind.UTILIZED, ScanKind.DISPOSED],
                                            container__organization__region_id=region,
                                            container__origin=ContainerOrigin.PRODUCED,
                                            occurred_at__gte=at(dt.date(year, 1, 1)),
                                            occurred_at__lt=at(dt.date(year + 1, 1, 1)))
        result[region]["landfilled"] = _sum(disposed.filter(method="D1").values_list("weight_tonnes", flat=True))
        gisw = SolidWasteMonth.objects.filter(year=year, organization__region_id=region)
        values = list(gisw.values_list("month", "generated", "self_utilized", "entrusted_utilization", "self_disposed",
                                       "entrusted_disposal", "closing_stock"))
        result[region]["gisw"] = {
            "generated": _sum(v[1] for v in values),
            "utilized": _sum(v[2] + v[3] for v in values),
            "disposed": _sum(v[4] + v[5] for v in values),
            "self": _sum(v[2] + v[4] for v in values),
            "outsourced": _sum(v[3] + v[5] for v in values),
            "closing": _sum(v[6] for v in values if v[0] == 12),
        }
    return result


def _share(part: Decimal, whole: Decimal) -> str:
    return f"{(part * 100 / whole).quantize(Decimal('0.01'))} %" if whole else "—"


def report(year: int) -> list[str]:
    f = figures(year)
    b, k = f[BANAN], f[KAIZHOU]
    b_top = sum((b["generated_by_category"].get(c, ZERO) for c in BANAN_TOP), ZERO)
    k_declared = {c: k["generated_by_category"].get(c, ZERO) + k["opening_by_category"].get(c, ZERO)
                  for c in set(k["generated_by_category"]) | set(k["opening_by_category"])}
    k_top = sum((k_declared.get(c, ZERO) for c in KAIZHOU_TOP), ZERO)
    k_all = sum(k_declared.values(), ZERO)
    bg, kg = b["gisw"], k["gisw"]
    return [
        f"Banan {year} industrial HW generated {b['generated']:.6f} t (plan: 3.10万t)",
        f"Banan {year} prior-year stock {b['opening']:.6f} t (plan: 0.30万t), transferred out {b['transferred']:.6f} t "
        f"(plan: 3.01万t incl. the prior-year stock), year-end stock {b['closing']:.6f} t (plan: 0.40万t, mainly HW18: "
        f"HW18 {b['closing_by_category'].get('HW18', ZERO):.6f} t)",
        f"Banan {year} top five codes HW18, HW49, HW17, HW34, HW06: {b_top:.6f} t = "
        f"{_share(b_top, b['generated'])} of generation (plan: 95.38 %)",
        f"Kaizhou {year} industrial HW declared {k['opening'] + k['generated']:.6f} t = prior-year stock "
        f"{k['opening']:.6f} t + generated {k['generated']:.6f} t (plan: 7193.58 t incl. 612.71 t); transferred "
        f"{k['transferred']:.6f} t, year-end stock {k['closing']:.6f} t (plan: harmless disposal 100 %)",
        f"Kaizhou {year} top three HW08, HW18, HW49: {k_top:.6f} t = {_share(k_top, k_all)} (plan: 95.66 %); "
        f"landfilled (D1) {k['landfilled']:.6f} t (plan: 6904.28 t — not reproducible together with the top three, "
        f"see wufei/demo/tracking.py)",
        f"social-source HW {year} (auto repair, labs; not industrial, on top of the plans' figures): Banan generated "
        f"{b['social_generated']:.6f} t, transferred {b['social_transferred']:.6f} t; Kaizhou generated "
        f"{k['social_generated']:.6f} t, transferred {k['social_transferred']:.6f} t",
        f"medical waste {year}: Banan {b['medical_generated']:.6f} t, Kaizhou {k['medical_generated']:.6f} t from the "
        f"registered hospitals of ≥ 10 t/a (plans: 439 t from 440 institutions, 664.68 t from 56: scaled down)",
        f"GISW Banan {year}: generated {bg['generated']:.3f} t (plan: 70.89万t), utilised {bg['utilized']:.3f} t "
        f"(43.38万t), disposed {bg['disposed']:.3f} t (27.51万t), "
        f"utilisation {_share(bg['utilized'], bg['generated'])} (61.2 %), "
        f"self {bg['self']:.3f} t = {_share(bg['self'], bg['generated'])} (25.55万t, 36.04 %), outsourced "
        f"{bg['outsourced']:.3f} t (45.34万t)",
        f"GISW Kaizhou {year}: generated {kg['generated']:.3f} t (plan: 83.03万t), utilised {kg['utilized']:.3f} t "
        f"(78.06万t = {_share(kg['utilized'], kg['generated'])}, plan 94.01 %), disposed {kg['disposed']:.3f} t "
        f"(4.24万t), year-end stock {kg['closing']:.3f} t (0.74万t)",
    ]


__all__ = ["build", "figures", "is_built", "report"]


def reset(organization_ids: list[int]) -> int:
    """Delete the demo organizations' ledger months, plans, declarations, spot checks and e-ledger rows.

    Called by `wufei demo --reset` before the registry rows go; one audit event records the sweep.
    """
    from wufei.ledgers.models import AnnualDeclaration, ManagementPlan

    with transaction.atomic():
        checks = SpotCheck.objects.filter(declaration__organization_id__in=organization_ids)
        draw_ids = set(checks.exclude(draw=None).values_list("draw_id", flat=True))
        counts = {
            "ledger_months": LedgerMonth.objects.filter(organization_id__in=organization_ids).delete()[0],
            "spot_checks": checks.delete()[0],
            "spot_check_draws": SpotCheckDraw.objects.filter(pk__in=draw_ids, checks=None).delete()[0],
            "declarations": AnnualDeclaration.objects.filter(organization_id__in=organization_ids).delete()[0],
            "solid_waste_months": SolidWasteMonth.objects.filter(organization_id__in=organization_ids).delete()[0],
        }
        plans_ = ManagementPlan.objects.filter(organization_id__in=organization_ids)
        plans_.update(supersedes=None)
        counts["plans"] = plans_.delete()[0]
        audit.record_raw(entity_type="ledgers.ledgermonth", entity_id="demo", action="demo_reset", payload=counts)
    return sum(counts.values())
