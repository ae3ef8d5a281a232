"""Declarative rules of plan implementation: how the plans' cells are read, and the settings regulators change.

Everything here is a pure function of the printed text, so the shipped lists and any imported
.xlsx are read the same way, and a test can run every cell of both plans through it:

- `parse_deadline`: 完成时限 / 完成年限 cells ("2025年", "2022年-2025年", "2021—2024", "长期", blank …)
  into a kind, a start and a due date, or a stated reason why there is no due date;
- `split_units`: 牵头单位 / 责任单位 / 配合单位 cells ("区生态环境局、区发展改革委") into unit names,
  `unit_kind` into department / township / park / enterprise / group;
- `parse_investment`: 投资（万元） cells ("3000", "1,100", "500*", "/", blank) into a Decimal or None
  with the reason, and `investment_totals` re-adding a plan's projects against its printed 合计;
- `parse_capacities`: the capacities a project's content states ("200吨/天", "年产80万吨" …).

Reporting cadence and evidence limits are parameters (wufei.core.parameters) that a region may
override; their defaults are registered here.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from wufei.core import files, parameters
from wufei.core.parameters import ParameterDefault

# --- parameters ------------------------------------------------------------------------------

PARAMETERS = {
    "programme.report_period_months": ParameterDefault(
        3, "Length (months) of a progress reporting period; periods follow the calendar (3: quarters)",
        "platform default; 开州 plan L221 (各部门及乡镇实时汇报工作推进情况) and 巴南 L185 (定期进行通报) "
        "set no period",
    ),
    "programme.report_due_days": ParameterDefault(
        10, "Days after a reporting period ends by which each lead unit of an open task reports",
        "platform default",
    ),
    "programme.evidence_max_mb": ParameterDefault(20, "Largest evidence file (MB) attached to a report",
                                                  "platform default"),
}
for _key, _default in PARAMETERS.items():
    parameters.DEFAULTS.setdefault(_key, _default)

EVIDENCE_EXTENSIONS = files.EVIDENCE_EXTENSIONS

# --- deadlines -------------------------------------------------------------------------------

YEAR, MONTH, DATE, RANGE, ONGOING, NONE, UNPARSED = "year", "month", "date", "range", "ongoing", "none", "unparsed"
DEADLINE_KINDS = {
    YEAR: _("by the end of a year"),
    MONTH: _("by the end of a month"),
    DATE: _("by a date"),
    RANGE: _("over a range of years"),
    ONGOING: _("ongoing, no end date"),
    NONE: _("no deadline printed"),
    UNPARSED: _("deadline not understood"),
}
DEADLINE_REASONS = {
    "blank": _("the deadline cell is blank in the plan"),
    "not_applicable": _("the plan prints “/” or “—”: no deadline"),
    "ongoing": _("a standing task (长期 / 持续推进): it is never overdue"),
    "recurring": _("a recurring task (每年 …): it is never overdue as a whole"),
    "before_year": _("“X年前” is read as by the end of year X"),
    "range_reversed": _("the range ends before it starts"),
    "not_understood": _("not a year, a range, a date or a standing task"),
}
NO_DEADLINE = {"", "/", "／", "—", "——", "-", "－", "无", "\\"}
ONGOING_WORDS = ("长期", "持续推进", "持续", "常态化", "长期坚持", "逐年推进", "长效")
RECURRING_WORDS = ("每年", "每季度", "每月", "年度")
_DASHES = "-—–－~～〜至到"
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")


@dataclass(frozen=True)
class Deadline:
    text: str
    kind: str
    start: dt.date | None = None
    due: dt.date | None = None
    reason: str = ""

    @property
    def start_year(self) -> int | None:
        """The first year of a range; a single year or date says only when the task is due."""
        return self.start.year if self.start else None

    @property
    def end_year(self) -> int | None:
        return self.due.year if self.due else None

    @property
    def kind_label(self) -> str:
        return str(DEADLINE_KINDS[self.kind])

    @property
    def reason_label(self) -> str:
        return str(DEADLINE_REASONS.get(self.reason, ""))

    def is_overdue(self, today: dt.date) -> bool:
        return self.due is not None and self.due < today


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _valid_year(year: int) -> bool:
    return 1990 <= year <= 2100


_YEAR = r"(\d{4})\s*年?"
_POINT = re.compile(
    r"^(?:到|至|于)?(\d{4})(?:\s*年|[.\-/])?\s*(?:(\d{1,2})\s*(?:月|[.\-/]))?\s*(?:(\d{1,2})\s*日?)?\s*"
    r"(底|末|年底|年末|月底|月末)?\s*(前|以前|之前)?(?:完成)?$")
_RANGE = re.compile(rf"^{_YEAR}\s*[{_DASHES}]\s*{_YEAR}$")


def parse_deadline(text: str | None) -> Deadline:
    """Read a 完成时限 cell. Never raises: what it cannot read comes back as kind 'unparsed' with a reason."""
    raw = "" if text is None else str(text)
    if isinstance(text, int | float) and not isinstance(text, bool):
        raw = str(int(text))
    cleaned = raw.translate(_FULL_WIDTH).strip().replace(" ", "").replace("\u3000", "")
    if cleaned in NO_DEADLINE:
        return Deadline(raw, NONE, reason="blank" if not cleaned else "not_applicable")
    if any(word in cleaned for word in ONGOING_WORDS) and not re.search(r"\d{4}", cleaned):
        return Deadline(raw, ONGOING, reason="ongoing")
    if any(cleaned.startswith(word) for word in RECURRING_WORDS) and not re.search(r"\d{4}", cleaned):
        return Deadline(raw, ONGOING, reason="recurring")
    span = _RANGE.match(cleaned)
    if span:
        first, last = int(span.group(1)), int(span.group(2))
        if not (_valid_year(first) and _valid_year(last)):
            return Deadline(raw, UNPARSED, reason="not_understood")
        if last < first:
            return Deadline(raw, UNPARSED, reason="range_reversed")
        return Deadline(raw, RANGE, dt.date(first, 1, 1), dt.date(last, 12, 31))
    point = _POINT.match(cleaned)
    if point:
        year = int(point.group(1))
        month = int(point.group(2)) if point.group(2) else None
        day = int(point.group(3)) if point.group(3) else None
        before = bool(point.group(5))
        if not _valid_year(year) or (month is not None and not 1 <= month <= 12) or (day and month is None):
            return Deadline(raw, UNPARSED, reason="not_understood")
        if month is None:
            return Deadline(raw, YEAR, None, dt.date(year, 12, 31),
                            reason="before_year" if before and not point.group(4) else "")
        if day is None:
            return Deadline(raw, MONTH, None, _month_end(year, month))
        try:
            due = dt.date(year, month, day)
        except ValueError:
            return Deadline(raw, UNPARSED, reason="not_understood")
        return Deadline(raw, DATE, None, due)
    return Deadline(raw, UNPARSED, reason="not_understood")


# --- units -----------------------------------------------------------------------------------

DEPARTMENT, TOWNSHIP, PARK, ENTERPRISE, GROUP = "department", "township", "park", "enterprise", "group"
UNIT_KINDS = {
    DEPARTMENT: _("government department"),
    TOWNSHIP: _("township or sub-district"),
    PARK: _("park or its company"),
    ENTERPRISE: _("enterprise"),
    GROUP: _("group of units"),
}
# names the plans print for a department that the registry knows under another name (same district)
DEPARTMENT_ALIASES = {
    "区供销社": "区供销合作社",
    "区城乡一体中心": "区城乡一体发展中心",
    "区文旅委": "区文化旅游委",
}
_ARTEFACTS = (re.compile(r"\[bookmark:[^\]]*\]"), re.compile(r"\s+"))


def split_units(cell: str | None) -> tuple[list[str], list[str]]:
    """Unit names of a cell in printed order, and notes on what was cleaned (duplicates, artefacts).

    Separators are 、，,；; and line breaks, outside parentheses (光大（集团）有限公司 stays whole).
    "/" "—" or a blank cell mean no unit.
    """
    text = "" if cell is None else str(cell)
    notes = []
    for pattern in _ARTEFACTS[:1]:
        if pattern.search(text):
            notes.append("artefact removed: " + ", ".join(pattern.findall(text)))
            text = pattern.sub("", text)
    if text.strip() in NO_DEADLINE:
        return [], notes
    names, current, depth = [], "", 0
    for char in text:
        if char in "（(":
            depth += 1
        elif char in "）)":
            depth = max(0, depth - 1)
        if depth == 0 and char in "、，,；;\n":
            names.append(current)
            current = ""
        else:
            current += char
    names.append(current)
    result = []
    for name in (re.sub(r"\s+", "", n) for n in names):
        if not name or name in NO_DEADLINE:
            continue
        if name in result:
            notes.append(f"printed twice: {name}")
            continue
        result.append(name)
    return result, notes


def unit_kind(name: str) -> str:
    if name.startswith(("各", "有关", "相关", "区级相关", "区级有关", "区级")) or name.endswith(("成员单位", "等")) \
            or name in ("医疗卫生机构",):
        return GROUP
    if any(word in name for word in ("管委会", "园区", "生物城", "科创城")):
        return PARK
    if any(word in name for word in ("公司", "集团", "企业", "厂")):
        return ENTERPRISE
    if name.endswith(("镇", "乡", "街道", "街道办事处", "镇街")):
        return TOWNSHIP
    return DEPARTMENT


# --- investment ------------------------------------------------------------------------------

STATED, ESTIMATED, UNDETERMINED, BLANK, UNREADABLE = "stated", "estimated", "undetermined", "blank", "unreadable"
INVESTMENT_KINDS = {
    STATED: _("stated"),
    ESTIMATED: _("estimated (*: from similar projects elsewhere)"),
    UNDETERMINED: _("not yet determined (/)"),
    BLANK: _("blank (merged with another row)"),
    UNREADABLE: _("not understood"),
}


@dataclass(frozen=True)
class Investment:
    text: str
    kind: str
    value: Decimal | None = None


INVESTMENT_LIMIT = Decimal(10) ** 12  # what the 万元 columns (14 digits, 2 decimals) hold


def parse_investment(text: str | None) -> Investment:
    """Read a 投资（万元） cell: "3000", "1,100", "500*" (estimated), "/" (not yet determined), blank."""
    raw = "" if text is None else str(text)
    if isinstance(text, int | float) and not isinstance(text, bool):
        raw = format(Decimal(str(text)).normalize(), "f")
    cleaned = raw.translate(_FULL_WIDTH).strip().replace(",", "").replace("，", "")
    if not cleaned:
        return Investment(raw, BLANK)
    if cleaned in ("/", "／"):
        return Investment(raw, UNDETERMINED)
    estimated = cleaned.endswith(("*", "＊"))
    number = cleaned.rstrip("*＊").strip()
    try:
        value = Decimal(number)
    except InvalidOperation:
        return Investment(raw, UNREADABLE)
    if not value.is_finite() or value < 0 or value >= INVESTMENT_LIMIT:
        return Investment(raw, UNREADABLE)
    return Investment(raw, ESTIMATED if estimated else STATED, value)


@dataclass
class MergeGroup:
    code: str
    numbers: list[int]
    figures: list[Decimal]

    @property
    def double_counted(self) -> Decimal:
        """What a total adding every row counts more than once: a merged group printing one figure on several rows."""
        if len(self.figures) > 1 and len(set(self.figures)) == 1:
            return self.figures[0] * (len(self.figures) - 1)
        return Decimal(0)


@dataclass
class InvestmentTotals:
    summed: Decimal
    stated: Decimal
    estimated: Decimal
    printed: Decimal | None
    undetermined: list[int] = field(default_factory=list)
    blank: list[int] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)
    groups: list[MergeGroup] = field(default_factory=list)

    @property
    def matches_printed(self) -> bool:
        return self.printed is not None and self.summed == self.printed

    @property
    def double_counted(self) -> Decimal:
        return sum((g.double_counted for g in self.groups), Decimal(0))

    @property
    def counted_once(self) -> Decimal:
        return self.summed - self.double_counted

    @property
    def flagged_groups(self) -> list[MergeGroup]:
        return [g for g in self.groups if g.double_counted]


def investment_totals(rows, printed: Decimal | None) -> InvestmentTotals:
    """Re-add a plan's projects: rows are (number, Investment, merge_group code)."""
    totals = InvestmentTotals(Decimal(0), Decimal(0), Decimal(0), printed)
    groups: dict[str, MergeGroup] = {}
    for number, investment, group in rows:
        if investment.value is not None:
            totals.summed += investment.value
            if investment.kind == ESTIMATED:
                totals.estimated += investment.value
            else:
                totals.stated += investment.value
        else:
            {UNDETERMINED: totals.undetermined, BLANK: totals.blank}.get(investment.kind, totals.unreadable).append(
                number)
        if group:
            merged = groups.setdefault(group, MergeGroup(group, [], []))
            merged.numbers.append(number)
            if investment.value is not None:
                merged.figures.append(investment.value)
    totals.groups = list(groups.values())
    return totals


# --- capacities --------------------------------------------------------------------------------

_UNITS = {"吨": "t", "t": "t", "立方米": "m³", "m³": "m³", "方": "m³", "平方米": "m²", "台": "vehicles"}
_CAPACITY = re.compile(
    r"(?P<lead>年产|年收集总规模|年收集|年拆解[^\d，。；]{0,8}|年处理|日处理量?|日转运能力|日运转能力|设计处理规模|处理规模)?"
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<wan>万)?\s*(?P<unit>平方米|立方米|吨|t|m³|台)(?P<per>\s*/\s*(?:天|日|年))?")


def parse_capacities(content: str) -> list[dict]:
    """Capacities stated in a project's content, e.g. 200吨/天 → 200 t/d, 年产80万吨 → 800000 t/a."""
    result = []
    for match in _CAPACITY.finditer(content or ""):
        lead, per = match.group("lead") or "", (match.group("per") or "").replace(" ", "")
        if per in ("/天", "/日") or lead.startswith("日"):
            period = "d"
        elif per == "/年" or lead.startswith("年"):
            period = "a"
        elif lead:
            period = "d" if "日" in lead else ""
        else:
            continue  # a quantity without a period (新建转运站9座, 5t …) is not a capacity
        value = Decimal(match.group("value")) * (10000 if match.group("wan") else 1)
        result.append({"value": format(value.normalize(), "f"), "unit": f"{_UNITS[match.group('unit')]}/{period}",
                       "text": match.group(0)})
    return result


# --- zero-waste cells ------------------------------------------------------------------------

CELL_TYPES = {
    "office": _("government office (无废机关)"),
    "school": _("school (无废学校)"),
    "scenic_area": _("scenic area (无废景区)"),
    "residential": _("residential community (无废小区)"),
    "business_district": _("business district (无废商圈)"),
    "restaurant": _("restaurant (无废饭店)"),
    "factory": _("factory (无废工厂)"),
    "park": _("industrial park (无废园区)"),
    "mall": _("shopping mall (无废商场)"),
    "hospital": _("hospital (无废医院)"),
    "market": _("market (无废集贸市场)"),
    "village": _("village (无废乡村)"),
    "other": _("other"),
}
CELL_TYPE_WORDS = {"机关": "office", "学校": "school", "景区": "scenic_area", "小区": "residential",
                   "社区": "residential", "商圈": "business_district", "饭店": "restaurant", "工厂": "factory",
                   "园区": "park", "商场": "mall", "医院": "hospital", "集贸市场": "market", "乡村": "village"}


def cell_targets_in(text: str) -> dict[str, int]:
    """Targets a plan sentence states: 建成10个“无废机关”、5个“无废学校”…等30个“无废细胞” → {office: 10, school: 5, …,
    "": 30}; the key "" is the total over all types."""
    result = {}
    total = re.search(r"(\d+)个[“\"]?无废(?:城市)?细胞", text or "")
    if total:
        result[""] = int(total.group(1))
    words = "|".join(CELL_TYPE_WORDS)
    for count, word in re.findall(rf"(\d+)个[“\"]?无废({words})", text or ""):
        result[CELL_TYPE_WORDS[word]] = result.get(CELL_TYPE_WORDS[word], 0) + int(count)
    return result
