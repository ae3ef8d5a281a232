"""Targets as the plans write them, parsed into expressions (declarative).

A target string is kept verbatim; `parse_target` turns it into one of

    {"op": ">=" | ">" | "<=" | "<" | "=", "value": "80", "unit": "%"}    a threshold
    {"op": "no_growth"}          零增长或负增长: value ≤ baseline value
    {"op": "decline"}            适当降低 / 下降: value < baseline (for a decline-rate indicator: value > 0)
    {"op": "maintain"}           稳定保持: value not worse than the baseline
    {"op": "state", "state": "健全"}    reach a state (有 / 健全 / 纳入 / 效果良好 / grade A …)
    {"op": "manual"}             完成市级(下达)任务: judged by hand
    {"op": "forecast", "value": "1286", "unit": "t/d"}   a projected value of a directionless indicator: by hand
    {"op": "all", "parts": [{"label": "城区", "op": ">=", "value": "100", "unit": "%"}, …]}
                                 several thresholds on named parts (each part judged on its entered value)

A bare number ("80%", "5家", "0") is a threshold in the indicator's good direction: ≥ when higher is
better, ≤ when lower is better; for an indicator with no direction it is a projection
({"op": "forecast", …}, e.g. Banan's 1286 吨/天 of domestic waste), shown beside the value and judged
by hand, never "met" by equality. Anything else is not
parsed: `parse_target` returns None, the string is listed in data/unparsed_targets.csv (a test
keeps the list exact) and the evaluation reports it as "to be judged", never as met.
"""

import re
from decimal import Decimal

OPERATORS = {"≥": ">=", ">=": ">=", "＞": ">", ">": ">", "≤": "<=", "<=": "<=", "＜": "<", "<": "<", "=": "=",
             "＝": "="}
NUMBER = r"(\d+(?:\.\d+)?)"
UNIT = r"(%|吨/万元|吨/天|吨|万吨|个|家|项)?"
THRESHOLD = re.compile(rf"^(≥|>=|＞|>|≤|<=|＜|<|=|＝)?\s*{NUMBER}\s*{UNIT}\s*(以上|以下|以内)?$")
VERBS = re.compile(rf"^(?:回收|达到|超过|不低于|不高于|控制在)?\s*{NUMBER}\s*{UNIT}\s*(以上|以下|以内)?$")
STATES = ("有", "健全", "纳入", "已纳入", "效果良好", "A", "B", "C")
MANUAL = ("完成市级任务", "完成市级下达任务")
NO_GROWTH = ("零增长或负增长", "零增长", "负增长")
DECLINE = ("适当降低", "降低", "下降", "逐步降低")
MAINTAIN = ("稳定保持", "保持稳定")
UNIT_NAMES = {"吨/万元": "t/万元", "吨/天": "t/d", "吨": "t", "万吨": "万t"}
PART = re.compile(rf"^(.+?)(达到|超过|不低于)?\s*(≥|＞|>|≤|＜|<)?\s*{NUMBER}\s*(%)$")


def _bare(direction: str) -> str:
    # an indicator with no better direction (e.g. domestic waste collected, t/d) prints a projection
    return {"up": ">=", "down": "<="}.get(direction, "forecast")


def _threshold(match_op, number, unit, suffix, direction) -> dict:
    op = OPERATORS.get(match_op or "")
    if op is None:
        op = {"以上": ">", "以下": "<", "以内": "<="}.get(suffix or "", _bare(direction))
    return {"op": op, "value": number, "unit": UNIT_NAMES.get(unit or "", unit or "")}


def parse_target(text: str, direction: str = "up") -> dict | None:
    """The expression of a verbatim target, or None when it cannot be parsed."""
    raw = (text or "").strip().rstrip("。")
    if not raw:
        return None
    if raw in MANUAL:
        return {"op": "manual"}
    if raw in NO_GROWTH:
        return {"op": "no_growth"}
    if raw in DECLINE:
        return {"op": "decline"}
    if raw in MAINTAIN:
        return {"op": "maintain"}
    if raw in STATES:
        return {"op": "state", "state": "纳入" if raw == "已纳入" else raw}
    match = THRESHOLD.match(raw)
    if match:
        return _threshold(match.group(1), match.group(2), match.group(3), match.group(4), direction)
    match = VERBS.match(raw)
    if match:
        return _threshold(None, match.group(1), match.group(2), match.group(3), direction)
    parts = [part.strip() for part in re.split(r"[，,；;]", raw) if part.strip()]
    if len(parts) > 1:
        parsed = []
        for part in parts:
            found = PART.match(part)
            if not found:
                return None
            label, verb, op, number, unit = found.groups()
            operator = OPERATORS.get(op or "") or (">" if verb and "超过" in verb else _bare(direction))
            parsed.append({"label": label.strip(), "op": operator, "value": number, "unit": unit})
        return {"op": "all", "parts": parsed}
    return None


def meets(op: str, value: Decimal, threshold: Decimal) -> bool:
    return {">=": value >= threshold, ">": value > threshold, "<=": value <= threshold, "<": value < threshold,
            "=": value == threshold}[op]


def describe(expression: dict | None) -> str:
    """A short machine-neutral rendering of an expression (for reports and the API)."""
    if expression is None:
        return "?"
    op = expression["op"]
    if op in OPERATORS.values():
        return f"{op} {expression['value']}{expression.get('unit', '')}"
    if op == "state":
        return f"= {expression['state']}"
    if op == "forecast":
        return f"≈ {expression['value']}{expression.get('unit', '')}"
    if op == "all":
        return "; ".join(f"{p['label']} {p['op']} {p['value']}{p['unit']}" for p in expression["parts"])
    return op
