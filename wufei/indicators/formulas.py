"""The formula engine: indicators are expressions over named quantities (declarative).

An indicator's value is `numerator ÷ denominator × scale` (no denominator: `numerator × scale`),
where numerator and denominator are small expressions over quantity keys:

    gisw_utilized                                  a quantity of the region and year evaluated
    gisw_generated + gisw_prior_stock_utilized     + − × ÷ and decimal constants
    base(ihw_landfilled)                           the quantity in the plan's baseline year
    prior(recyclables_recovered)                   the quantity in the year before

Every quantity has a base unit; entered values are converted to it at the edge with an explicit
unit (`to_base`), never guessed: 70.89 万t → 708,900 t, 213.9 亿元 → 2,139,000 万元, so that
t ÷ 万元 gives the plans' t/万元. Arithmetic is Decimal throughout.

Quantities are either computed from the platform's own records (`source="platform"`, see
`wufei.indicators.quantities`) or entered through a data request and approved by the regulator
(`source="entered"`). An indicator of kind "direct" or "state" is itself an entered quantity
(its code is the quantity key).
"""

import ast
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from wufei.core.errors import ValidationFailed

# unit → (base unit, factor to the base unit)
UNITS: dict[str, tuple[str, Decimal]] = {
    "t": ("t", Decimal(1)), "吨": ("t", Decimal(1)), "kg": ("t", Decimal("0.001")),
    "万t": ("t", Decimal(10000)), "万吨": ("t", Decimal(10000)), "吨/年": ("t", Decimal(1)),
    "万吨/年": ("t", Decimal(10000)),
    "万元": ("万元", Decimal(1)), "元": ("万元", Decimal("0.0001")), "亿元": ("万元", Decimal(10000)),
    "m³": ("m³", Decimal(1)), "万m³": ("m³", Decimal(10000)),
    "head": ("head", Decimal(1)), "头": ("head", Decimal(1)), "万头": ("head", Decimal(10000)),
    "count": ("count", Decimal(1)), "个": ("count", Decimal(1)), "家": ("count", Decimal(1)),
    "项": ("count", Decimal(1)), "%": ("%", Decimal(1)), "m²": ("m²", Decimal(1)), "万m²": ("m²", Decimal(10000)),
    "t/d": ("t/d", Decimal(1)), "kg/亩": ("kg/亩", Decimal(1)), "t/万元": ("t/万元", Decimal(1)),
    "day": ("day", Decimal(1)), "": ("", Decimal(1)),
}


@dataclass(frozen=True)
class QuantitySpec:
    key: str
    name: str
    unit: str  # base unit
    source: str  # "platform" | "entered" | "constant"
    description: str = ""
    default: Decimal | None = None  # used when nothing is recorded (documented, e.g. prior stock = 0)
    additive: bool = True  # a parent region's value is the sum of its children's


def _p(key, name, unit, description, **extra):
    return QuantitySpec(key, name, unit, "platform", description, **extra)


def _e(key, name, unit, description="", **extra):
    return QuantitySpec(key, name, unit, "entered", description, **extra)


QUANTITIES: dict[str, QuantitySpec] = {spec.key: spec for spec in [
    _p("hw_generated", "危险废物产生量", "t", "All hazardous waste generated, medical waste (HW01) and non-industrial "
       "sources included: sum of ledger months (LedgerMonth.generated) of units in the region"),
    _p("hw_transferred", "危险废物转移量", "t", "All hazardous waste transferred out: ledger months' transferred_out"),
    _p("hw_opening_stock", "危险废物年初贮存量", "t", "All hazardous waste: January opening stock of the ledger "
       "months"),
    _p("hw_utilized", "危险废物利用量", "t", "All hazardous waste utilized in-house (ledger) + accepted on received "
       "manifests whose method is a utilization (R) method"),
    _p("hw_disposed", "危险废物处置量", "t", "All hazardous waste disposed in-house (ledger) + accepted on received "
       "manifests whose method is a disposal (D) method"),
    _p("hw_landfilled", "危险废物填埋量", "t", "All hazardous waste accepted on received manifests with method D1 "
       "(landfill)"),
    _p("ihw_generated", "工业危险废物产生量", "t", "Industrial hazardous waste generated: ledger months of codes other "
       "than HW01 (medical waste) of industrial sources (GB/T 4754 sections B–D, not medical institutions)"),
    _p("ihw_opening_stock", "工业危险废物年初贮存量", "t", "Industrial hazardous waste: January opening stock of the "
       "ledger months (as ihw_generated)"),
    _p("ihw_utilized", "工业危险废物利用量", "t", "Industrial hazardous waste utilized in-house (ledger) + accepted on "
       "received manifests with a utilization (R) method: lines not of medical waste, of industrial generators"),
    _p("ihw_disposed", "工业危险废物处置量", "t", "Industrial hazardous waste disposed in-house (ledger) + accepted on "
       "received manifests with a disposal (D) method: lines not of medical waste, of industrial generators"),
    _p("ihw_landfilled", "工业危险废物填埋量", "t", "Industrial hazardous waste accepted on received manifests with "
       "method D1 (landfill): lines not of medical waste, of industrial generators"),
    _p("gisw_generated", "一般工业固体废物产生量", "t", "Sum of the monthly e-ledger's generated (SolidWasteMonth)"),
    _p("gisw_utilized", "一般工业固体废物综合利用量", "t", "Monthly e-ledger: utilized in-house + entrusted for "
       "utilization"),
    _p("gisw_disposed", "一般工业固体废物处置量", "t", "Monthly e-ledger: disposed in-house + entrusted for disposal"),
    _p("gisw_stored", "一般工业固体废物年末贮存量", "t", "Monthly e-ledger: December closing stock"),
    _p("gisw_stored_disposed", "一般工业固体废物贮存处置量", "t", "Disposed + year-end stock (e-ledger)"),
    _p("manifests_received", "转移联单数", "count", "Hazardous and medical manifests received in the year"),
    _p("manifest_tonnes", "联单接收量", "t", "Accepted tonnes of hazardous and medical manifests received in the year"),
    _p("generators", "产废单位数", "count", "Active generators registered in the region"),
    _p("hw_operators", "危险废物经营单位数", "count", "Active receivers / licensed operators registered in the region"),
    _p("medical_institutions", "医疗机构数", "count", "Active medical institutions registered in the region"),
    _p("medical_institutions_covered", "纳入收集处置体系的医疗机构数", "count",
       "Medical institutions with a received manifest carrying medical waste in the year (a medical waste manifest, "
       "or an HW01 line on another)"),
    QuantitySpec("days_in_year", "全年天数", "day", "constant", "Days of the calendar year", additive=False),
    _e("industrial_value_added", "工业增加值", "万元", "Industrial value added (statistics bureau)"),
    _e("gisw_prior_stock_utilized", "综合利用往年贮存量", "t", "Prior years' stock utilized this year; 0 when not "
       "reported", default=Decimal(0)),
    _e("hw_prior_stock_utilized", "工业危险废物综合利用往年贮存量", "t", "Industrial hazardous waste of prior "
       "years' stock utilized this year; 0 when not reported", default=Decimal(0)),
    _e("cleaner_production_passed", "通过清洁生产审核评估企业数", "count"),
    _e("cleaner_production_required", "应开展清洁生产审核企业数", "count"),
    _e("green_mines", "绿色矿山数", "count"),
    _e("large_medium_mines", "大中型生产矿山数", "count"),
    _e("green_building_area", "新建绿色建筑面积", "m²"),
    _e("new_building_area", "新建民用建筑面积", "m²"),
    _e("domestic_waste_collected", "生活垃圾清运量", "t"),
    _e("domestic_waste_landfilled", "生活垃圾填埋量", "t"),
    _e("domestic_recycled", "生活垃圾回收利用量", "t"),
    _e("domestic_waste_total", "生活垃圾总量", "t"),
    _e("sorting_communities", "开展分类的居民小区数", "count"),
    _e("urban_communities", "城市居民小区数", "count"),
    _e("villages_sorting_demo", "生活垃圾分类示范村数", "count"),
    _e("villages_admin", "行政村数", "count"),
    _e("straw_utilized", "秸秆综合利用量", "t"),
    _e("straw_collectable", "秸秆可收集资源量", "t"),
    _e("manure_utilized", "畜禽粪污综合利用量", "t"),
    _e("manure_generated", "畜禽粪污产生量", "t"),
    _e("film_recovered", "农膜回收量", "t"),
    _e("film_used", "农膜使用量", "t"),
    _e("pesticide_packaging_recovered", "农药包装废弃物回收量", "t"),
    _e("pesticide_packaging_generated", "农药包装废弃物产生量", "t"),
    _e("pesticide_packaging_treated", "回收农药包装废弃物利用及无害化处理量", "t"),
    _e("pesticide_per_mu", "化学农药亩均施用量", "kg/亩", additive=False),
    _e("fertiliser_per_mu", "化学肥料亩均施用量", "kg/亩", additive=False),
    _e("construction_utilized", "建筑垃圾资源化利用量", "m³"),
    _e("construction_generated", "建筑垃圾产生量", "m³"),
    _e("recyclables_recovered", "再生资源回收量", "t"),
    _e("dead_livestock_central", "病死畜禽集中无害化处理量", "head"),
    _e("dead_livestock_total", "病死畜禽无害化处理总量", "head"),
    _e("incineration_capacity", "生活垃圾焚烧处理能力", "t/d"),
    _e("domestic_treatment_capacity", "生活垃圾无害化处理能力", "t/d"),
    _e("sludge_harmless", "污泥无害化处置量", "t"),
    _e("sludge_generated", "污泥产生量", "t"),
    _e("bulk_sites_remediated", "完成整治的堆存场所数", "count"),
    _e("bulk_sites", "大宗工业固体废物堆存场所数", "count"),
    _e("credit_rated_enterprises", "纳入信用评价的固废相关企业数", "count"),
    _e("solid_waste_enterprises", "固废相关企业数", "count"),
    _e("insured_operators", "投保环境污染责任保险的经营单位数", "count"),
    _e("hazards_rectified", "完成整治的隐患数", "count"),
    _e("hazards_identified", "排查发现的隐患数", "count"),
]}


def quantity(key: str) -> QuantitySpec:
    spec = QUANTITIES.get(key)
    if spec is None:
        raise ValidationFailed(_("Unknown quantity %(key)s") % {"key": key}, code="unknown_quantity")
    return spec


def direct_spec(indicator) -> QuantitySpec:
    """The entered quantity behind a "direct" or "state" indicator (keyed by the indicator's code)."""
    base = UNITS.get(indicator.unit, (indicator.unit, Decimal(1)))[0]
    return QuantitySpec(indicator.code, indicator.name, base, "entered", additive=False)


def to_base(value: Decimal, unit: str, spec: QuantitySpec) -> Decimal:
    """Convert an entered value with an explicit unit to the quantity's base unit."""
    if unit in ("", None):
        unit = spec.unit
    known = UNITS.get(unit)
    if known is None:
        raise ValidationFailed(_("Unknown unit %(unit)s") % {"unit": unit}, code="unknown_unit")
    base, factor = known
    if base != spec.unit:
        raise ValidationFailed(_("%(unit)s cannot be converted to %(base)s") % {"unit": unit, "base": spec.unit},
                               code="unit_mismatch")
    return value * factor


# --- expressions ---------------------------------------------------------------------------------

FUNCTIONS = ("base", "prior")


@dataclass(frozen=True)
class Term:
    key: str
    when: str = "year"  # year | base | prior


@dataclass
class Expression:
    text: str
    tree: ast.AST | None = None
    terms: list[Term] = field(default_factory=list)


def parse_expression(text: str) -> Expression:
    """Parse a numerator or denominator; only quantity keys, decimal constants, + − × ÷, base(), prior()."""
    text = (text or "").strip()
    if not text:
        return Expression(text)
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ValidationFailed(_("Formula %(text)s is not valid") % {"text": text}, code="bad_formula") from exc
    terms: list[Term] = []

    def check(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            check(node.left)
            check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            check(node.operand)
        elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(
                node.value, bool):
            pass
        elif isinstance(node, ast.Name):
            terms.append(Term(node.id))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
              and len(node.args) == 1 and isinstance(node.args[0], ast.Name) and not node.keywords):
            terms.append(Term(node.args[0].id, node.func.id))
        else:
            raise ValidationFailed(_("Formula %(text)s is not valid") % {"text": text}, code="bad_formula")

    check(tree)
    return Expression(text, tree, terms)


def describe(numerator: str, denominator: str = "", scale: Decimal = Decimal(1)) -> str:
    """A formula as people read it: "(base(a) - a) ÷ (base(a)) × 100" (a compound numerator in brackets)."""
    text = numerator
    if denominator:
        if isinstance(parse_expression(numerator).tree, ast.BinOp):
            text = f"({text})"
        text += f" ÷ ({denominator})"
    if scale != 1:
        text += f" × {scale.normalize():f}"
    return text


def evaluate_expression(expression: Expression, values: dict[Term, Decimal | None]) -> Decimal | None:
    """The expression's value from the terms' values; None when a term has no value or a division is by 0."""
    if expression.tree is None:
        return None

    def value(node):
        if isinstance(node, ast.BinOp):
            left, right = value(node.left), value(node.right)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            return None if right == 0 else left / right
        if isinstance(node, ast.UnaryOp):
            inner = value(node.operand)
            return None if inner is None else -inner
        if isinstance(node, ast.Constant):
            return Decimal(str(node.value))
        if isinstance(node, ast.Name):
            return values.get(Term(node.id))
        return values.get(Term(node.args[0].id, node.func.id))

    try:
        return value(expression.tree)
    except InvalidOperation:
        return None


def compute(*, numerator: Decimal | None, denominator: Decimal | None, has_denominator: bool, scale: Decimal
            ) -> Decimal | None:
    """numerator ÷ denominator × scale (None when an input is missing or the denominator is 0)."""
    if numerator is None:
        return None
    if not has_denominator:
        return numerator * scale
    if denominator is None or denominator == 0:
        return None
    return numerator / denominator * scale


def rounded(value: Decimal | None, decimals: int) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-decimals))
