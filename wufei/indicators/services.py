"""Indicator services: catalog and shipped plans, entered quantities and data requests, evaluation
with status, trend and drill-down, roll-up and comparison, the zero-waste index.

Status of a plan row for a year Y, against the target of the first target year T ≥ Y (else the last):
- "no_data": a computed target but no value: an input is missing (an entered quantity not approved, or a
  platform quantity of a year the platform holds no record of its stream for — see
  `wufei.indicators.quantities`), or numerator and denominator are both 0;
- a ratio whose denominator is a recorded 0 and whose numerator is not has no value shown, but is
  judged as ±∞ by the numerator's sign: a landfill decline from 0 t in the baseline year to 30 t is
  −∞ %, "not_achieved" (or "at_risk" before the target year), never "no_data";
- "to_judge": the target is judged by hand (完成市级任务), not parsed, or a composite of parts,
  and no regulator has judged it yet (a judgement, when given, is the status) — never "achieved";
- Y ≥ T: "achieved" when the value meets the target, else "not_achieved";
- Y < T: "on_track" when the value already meets the target, or is at least where a straight line
  from the baseline (value, year) to the target (value, T) would be in Y; otherwise "at_risk".
Targets relative to the baseline (零增长或负增长, 适当降低, 稳定保持) compare with the baseline value
computed by the same formula for the baseline year from the platform's data when there is any,
else with the baseline printed in the plan. A printed baseline that is the baseline-year quantity of a
decline formula's base() term (Kaizhou: "6904.28吨" for a decline in %) is that quantity's value when the
platform holds no record of the baseline year, never a baseline of the rate (`printed_base_quantity`).
"""

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog.models import Region
from wufei.core import files, jobs, parameters, parsing
from wufei.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, field_error
from wufei.core.scope import Scope
from wufei.indicators import formulas, targets
from wufei.indicators.models import (
    DataRequest,
    Evaluation,
    Indicator,
    Judgement,
    Plan,
    PlanIndicator,
    QuantityEvidence,
    QuantityValue,
    ReviewStatus,
    Target,
)
from wufei.indicators.quantities import platform_records, platform_values_years
from wufei.registry.models import Department

DATA = Path(__file__).parent / "data"
STATUSES = ("achieved", "on_track", "at_risk", "not_achieved", "no_data", "to_judge")
JUDGED = ("achieved", "on_track", "at_risk", "not_achieved")
STATE_ORDER = {"有": 1, "健全": 2}
BASELINE = re.compile(r"^(?:回收|回)?\s*(\d+(?:\.\d+)?)\s*(%|吨/万元|吨/天|吨|万吨/年|万吨|个|家|项)?$")
ENTERED_VALUE = parsing.decimal(minimum=Decimal(0), places=8, max_digits=24)  # QuantityValue.value


# --- catalog and shipped plans -----------------------------------------------------------------

def load_catalog(*, update: bool = True) -> int:
    """Create (and, with `update`, bring up to date) the shipped catalog (data/catalog.csv); returns the number of
    indicators. Every `migrate` creates what is missing (apps.py); `wufei indicators_load` also updates."""
    count = 0
    with open(DATA / "catalog.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            values = {
                "name": row["name"], "name_en": row["name_en"], "level1": row["level1"], "level2": row["level2"],
                "mark": row["mark"], "unit": row["unit"], "direction": row["direction"], "kind": row["kind"],
                "numerator": row["numerator"], "denominator": row["denominator"], "scale": Decimal(row["scale"]),
                "decimals": int(row["decimals"]), "definition": row["definition"],
                "aliases": [a for a in row["aliases"].split("|") if a],
            }
            if row["kind"] == "ratio":
                formulas.parse_expression(row["numerator"])
                formulas.parse_expression(row["denominator"])
            indicator = Indicator.objects.filter(code=row["code"]).first()
            if indicator is None:
                Indicator.objects.create(code=row["code"], **values)
            elif update and any(getattr(indicator, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(indicator, key, value)
                indicator.save()
            count += 1
    return count


def shipped_plans() -> list[dict]:
    return json.loads((DATA / "plans.json").read_text(encoding="utf-8"))


def shipped_rows(spec: dict) -> list[dict]:
    with open(DATA / spec["file"], encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def target_columns(row: dict) -> dict[int, str]:
    return {int(k.removeprefix("target_")): v for k, v in row.items() if k.startswith("target_")}


def parse_baseline(text: str) -> Decimal | None:
    match = BASELINE.match((text or "").strip())
    return Decimal(match.group(1)) if match else None


def _indicator_for(name: str, code: str | None, by_name: dict) -> Indicator:
    if code:
        return Indicator.objects.get(code=code)
    indicator = by_name.get(name)
    if indicator is None:
        raise ValidationFailed(_("No catalog indicator is named %(name)s") % {"name": name}, code="unknown_indicator")
    return indicator


def import_plan(*, scope: Scope, spec: dict) -> Plan:
    """Create a plan from a shipped table (data/plans.json + CSV); an existing plan of the same key is kept."""
    if not scope.is_platform_admin and not scope.covers_region_path(Region.objects.get(pk=spec["region"]).path):
        raise PermissionDenied(_("only the region's regulators can import its plan"))
    existing = Plan.objects.filter(key=spec["key"]).first()
    if existing is not None:
        return existing
    by_name = {}
    for indicator in Indicator.objects.all():
        by_name[indicator.name] = indicator
        for alias in indicator.aliases:
            by_name[alias] = indicator
    rows = shipped_rows(spec)
    years = sorted({year for row in rows for year in target_columns(row)})
    with transaction.atomic():
        plan = Plan.objects.create(key=spec["key"], name=spec["name"], region_id=spec["region"],
                                   baseline_year=spec["baseline_year"], target_years=years, source=spec["source"])
        for row in rows:
            indicator = _indicator_for(row["name"], spec["codes"].get(row["number"]), by_name)
            plan_row = PlanIndicator.objects.create(
                plan=plan, number=int(row["number"]), indicator=indicator, name=row["name"], level1=row["level1"],
                level2=row["level2"], unit=row["unit"], mark=row["mark"], baseline_text=row["baseline"],
                baseline_value=parse_baseline(row["baseline"]),
                baseline_year=spec["baseline_year"] if row["baseline"] else None,
                responsible=row["responsible"])
            for year, text in target_columns(row).items():
                Target.objects.create(row=plan_row, year=year, text=text,
                                      expression=targets.parse_target(text, indicator.direction))
    return plan


def load_shipped(*, scope: Scope) -> list[Plan]:
    load_catalog()
    return [import_plan(scope=scope, spec=spec) for spec in shipped_plans()]


# --- regions and scope ------------------------------------------------------------------------

def region_for(scope: Scope, code: str) -> Region:
    region = Region.objects.filter(pk=code).first()
    if region is None:
        raise NotFound(_("Region %(code)s not found") % {"code": code})
    if scope.is_platform_admin or scope.covers_region_path(region.path):
        return region
    if Department.objects.filter(pk__in=scope.department_ids, region_id=code).exists():
        return region
    raise NotFound(_("Region %(code)s not found") % {"code": code})


def require_regulator(scope: Scope, region: Region) -> None:
    if not (scope.is_platform_admin or scope.covers_region_path(region.path)):
        raise PermissionDenied(_("only the region's regulators can do this"))


def get_plan(scope: Scope, plan_id: int) -> Plan:
    plan = Plan.objects.visible_to(scope).select_related("region").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("Plan not found"))
    return plan


def queue_report_pdf(*, scope: Scope, user, plan_id: int, year: int):
    """Queue the plan's PDF report for `user` (a job: wufei.core.jobs); the plan must be theirs to see."""
    plan = get_plan(scope, plan_id)
    if not 2000 <= int(year) <= 2100:
        raise ValidationFailed(_("year out of range"), errors=[{"field": "year", "message": str(year)}])
    return jobs.start("indicators.report_pdf", user.pk, plan.pk, int(year), user=user,
                      label=f"{plan.name} {year} PDF")


def plans_for(scope: Scope):
    return Plan.objects.visible_to(scope).select_related("region")


# --- quantity values -------------------------------------------------------------------------------

@dataclass
class Input:
    key: str
    when: str
    year: int
    value: Decimal | None
    unit: str
    source: str  # platform | entered | rollup | default | constant | missing


@dataclass
class Values:
    """The quantities of one region, fetched in batches and remembered (one query per table and year)."""

    region: Region
    cache: dict = field(default_factory=dict)

    def prefetch(self, keys: set[str], years: set[int]) -> None:
        specs = {key: formulas.QUANTITIES.get(key) for key in keys}
        platform = {k for k, s in specs.items() if s is not None and s.source in ("platform", "constant")}
        entered = set(keys) - platform
        todo_years = {y for y in years if any((k, y) not in self.cache for k in platform)}
        if todo_years:
            todo = {k for k in platform if any((k, y) not in self.cache for y in todo_years)}
            for year, found in platform_values_years(self.region.path, todo_years, todo).items():
                for key, value in found.items():
                    if value is None:  # the platform holds no record of the quantity's stream that year
                        self.cache[(key, year)] = (None, "missing")
                    else:
                        self.cache[(key, year)] = (value, "constant" if specs[key].source == "constant"
                                                   else "platform")
        todo = {(k, y) for k in entered for y in years if (k, y) not in self.cache}
        if not todo:
            return
        wanted_keys = {k for k, _ in todo}
        wanted_years = {y for _, y in todo}
        rows = QuantityValue.objects.filter(region=self.region, key__in=wanted_keys, year__in=wanted_years,
                                            status=ReviewStatus.APPROVED)
        for row in rows:
            self.cache[(row.key, row.year)] = (row.value if row.value is not None else row.state, "entered")
        additive = {k for k in wanted_keys if specs.get(k) is not None and specs[k].additive}
        missing = {(k, y) for k, y in todo if (k, y) not in self.cache and k in additive}
        if missing:
            # roll-up: the values of the nearest descendant regions that have one (a city's own value
            # stands for its districts), summed; a region without any value below it stays missing
            rows = (QuantityValue.objects.filter(
                region__path__startswith=self.region.path, key__in={k for k, _ in missing},
                year__in={y for _, y in missing}, status=ReviewStatus.APPROVED, value__isnull=False)
                .exclude(region=self.region).values_list("key", "year", "region__path", "value"))
            taken: dict[tuple[str, int], list[tuple[str, Decimal]]] = {}
            for key, year, path, value in sorted(rows, key=lambda r: len(r[2])):
                if (key, year) not in missing:
                    continue
                chosen = taken.setdefault((key, year), [])
                if not any(path.startswith(parent) for parent, _ in chosen):
                    chosen.append((path, value))
            for slot, chosen in taken.items():
                self.cache[slot] = (sum((value for _, value in chosen), Decimal(0)), "rollup")
        for key, year in todo:
            if (key, year) not in self.cache:
                spec = specs.get(key)
                if spec is not None and spec.default is not None:
                    self.cache[(key, year)] = (spec.default, "default")
                else:
                    self.cache[(key, year)] = (None, "missing")

    def get(self, key: str, year: int) -> tuple[object, str]:
        if (key, year) not in self.cache:
            self.prefetch({key}, {year})
        return self.cache[(key, year)]


def _unit_of(key: str, indicator: Indicator) -> str:
    spec = formulas.QUANTITIES.get(key)
    return spec.unit if spec is not None else indicator.unit


# --- evaluation --------------------------------------------------------------------------------

@dataclass
class Result:
    indicator: Indicator
    year: int
    value: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    state: str = ""
    inputs: list[Input] = field(default_factory=list)
    row: PlanIndicator | None = None
    target: Target | None = None
    status: str = ""
    trend: str = ""
    baseline: Decimal | None = None
    baseline_source: str = ""
    note: str = ""

    @property
    def display(self) -> str:
        if self.value is not None:
            return str(formulas.rounded(self.value, self.indicator.decimals))
        return self.state or "—"

    def as_dict(self) -> dict:
        indicator = self.indicator
        return {
            "indicator": indicator.code, "name": self.row.name if self.row else indicator.name,
            "number": self.row.number if self.row else None, "level1": indicator.level1,
            "level2": indicator.level2, "unit": indicator.unit, "year": self.year,
            "value": str(formulas.rounded(self.value, indicator.decimals)) if self.value is not None else None,
            "exact": str(self.value) if self.value is not None else None,
            "state": self.state, "numerator": _s(self.numerator), "denominator": _s(self.denominator),
            "formula": {"numerator": _formula(self)[0], "denominator": _formula(self)[1],
                        "scale": str(indicator.scale)},
            "inputs": [{"key": i.key, "when": i.when, "year": i.year, "value": _s(i.value), "unit": i.unit,
                        "source": i.source} for i in self.inputs],
            "target": self.target.text if self.target else None,
            "target_year": self.target.year if self.target else None,
            "expression": self.target.expression if self.target else None,
            "baseline": _s(self.baseline), "baseline_source": self.baseline_source,
            "baseline_text": self.row.baseline_text if self.row else "",
            "status": self.status, "trend": self.trend, "note": self.note,
        }


def _s(value) -> str | None:
    return None if value is None else str(value)


def _formula(result: Result) -> tuple[str, str]:
    row, indicator = result.row, result.indicator
    if row is not None and row.numerator:
        return row.numerator, row.denominator
    return indicator.numerator, indicator.denominator


def compute_indicator(indicator: Indicator, values: Values, year: int, *, baseline_year: int,
                      row: PlanIndicator | None = None) -> Result:
    """The value of an indicator for a region's year, from its quantities (no target, no status)."""
    result = Result(indicator=indicator, year=year, row=row)
    if indicator.kind == Indicator.Kind.INDEX:
        index = compute_index(values=values, year=year, baseline_year=baseline_year)
        part = next((s for s in index["sub_indices"] if s["key"] == indicator.numerator), None)
        result.value = None if part is None or part["value"] is None else Decimal(part["value"])
        result.note = "index"
        return result
    if indicator.kind in (Indicator.Kind.DIRECT, Indicator.Kind.STATE):
        value, source = values.get(indicator.code, year)
        result.inputs.append(Input(indicator.code, "year", year, value if isinstance(value, Decimal) else None,
                                   indicator.unit, source))
        if isinstance(value, Decimal):
            result.value = value
        elif isinstance(value, str):
            result.state = value
        return result
    numerator_text, denominator_text = _formula(result)
    numerator = formulas.parse_expression(numerator_text)
    denominator = formulas.parse_expression(denominator_text)
    term_years = {}
    for term in numerator.terms + denominator.terms:
        term_years[term] = {"year": year, "base": baseline_year, "prior": year - 1}[term.when]
    values.prefetch({t.key for t in term_years}, set(term_years.values()))
    printed = printed_base_quantity(row) if row is not None else None
    known = {}
    for term, when in term_years.items():
        value, source = values.get(term.key, when)
        value = value if isinstance(value, Decimal) else None
        if value is None and printed is not None and term == formulas.Term(printed[0], "base"):
            value, source = printed[1], "printed"
        known[term] = value
        result.inputs.append(Input(term.key, term.when, when, value, _unit_of(term.key, indicator), source))
    result.numerator = formulas.evaluate_expression(numerator, known)
    result.denominator = formulas.evaluate_expression(denominator, known) if denominator.tree is not None else None
    result.value = formulas.compute(numerator=result.numerator, denominator=result.denominator,
                                    has_denominator=denominator.tree is not None, scale=indicator.scale)
    return result


def printed_base_quantity(row: PlanIndicator) -> tuple[str, Decimal] | None:
    """(key, value in the quantity's base unit) when the plan prints, as the row's baseline, the baseline-year
    quantity of the row's single base() term rather than a value of the indicator — Kaizhou's landfill decline
    (%) prints "6904.28吨", its GISW decline "4.98万吨/年". It stands for that quantity when the platform holds
    no record of the baseline year, and is not compared with the indicator's values (it is not a rate)."""
    if row.baseline_value is None or row.indicator.kind != Indicator.Kind.RATIO:
        return None
    numerator, denominator = ((row.numerator, row.denominator) if row.numerator
                              else (row.indicator.numerator, row.indicator.denominator))
    keys = {t.key for text in (numerator, denominator) for t in formulas.parse_expression(text).terms
            if t.when == "base"}
    printed_unit = formulas.UNITS.get((row.unit or "").strip())
    if len(keys) != 1 or printed_unit is None:
        return None
    (key,) = keys
    spec = formulas.QUANTITIES.get(key)
    indicator_unit = formulas.UNITS.get(row.indicator.unit, (row.indicator.unit, Decimal(1)))[0]
    if spec is None or printed_unit[0] != spec.unit or printed_unit[0] == indicator_unit:
        return None
    return key, row.baseline_value * printed_unit[1]


def _target_for(row: PlanIndicator, year: int) -> Target | None:
    rows = sorted(row.targets.all(), key=lambda t: t.year)
    return next((t for t in rows if t.year >= year), rows[-1] if rows else None)


def _better_or_equal(direction: str, value: Decimal, reference: Decimal) -> bool:
    return value <= reference if direction == "down" else value >= reference


def _comparable(result: Result) -> Decimal | None:
    """The value a status or a trend compares: the value as shown (rounded); for a ratio whose denominator is a
    recorded 0 while its numerator is not 0, ±Infinity by the sign of the numerator (a decline from a
    baseline year that landfilled 0 t to a year that landfills 30 t is −∞: worse, not "no data")."""
    if result.value is not None:
        return formulas.rounded(result.value, result.indicator.decimals)
    if result.numerator is not None and result.numerator != 0 and result.denominator == 0:
        positive = (result.numerator > 0) == (result.indicator.scale > 0)
        return Decimal("Infinity") if positive else Decimal("-Infinity")
    return None


def _status(result: Result, judgement: Judgement | None) -> str:
    target, indicator, row = result.target, result.indicator, result.row
    expression = target.expression if target else None
    if expression is None or expression["op"] in ("manual", "all", "forecast"):
        return judgement.status if judgement else "to_judge"
    op = expression["op"]
    final = result.year >= target.year
    if op == "state":
        if not result.state:
            return "no_data"
        want, have = expression["state"], result.state
        met = have == want or STATE_ORDER.get(have, 0) >= STATE_ORDER.get(want, 99)
        return ("achieved" if final else "on_track") if met else ("not_achieved" if final else "at_risk")
    value = _comparable(result)
    if value is None:
        return "no_data"
    if op in ("no_growth", "decline", "maintain"):
        relative_to_rate = "base(" in _formula(result)[0]
        if op == "decline" and relative_to_rate:
            met = value > 0
        elif result.baseline is None:
            return "no_data"
        else:
            baseline = formulas.rounded(result.baseline, indicator.decimals)
            met = {"no_growth": value <= baseline, "decline": value < baseline,
                   "maintain": _better_or_equal(indicator.direction, value, baseline)}[op]
        return ("achieved" if final else "on_track") if met else ("not_achieved" if final else "at_risk")
    threshold = Decimal(expression["value"])
    if targets.meets(op, value, threshold):
        return "achieved" if final else "on_track"
    if final:
        return "not_achieved"
    base_year = row.baseline_year or row.plan.baseline_year
    if result.baseline is not None and target.year > base_year and result.year > base_year:
        share = Decimal(result.year - base_year) / Decimal(target.year - base_year)
        expected = result.baseline + (threshold - result.baseline) * share
        if indicator.direction in ("up", "down") and _better_or_equal(indicator.direction, value, expected):
            return "on_track"
    return "at_risk"


def _trend(result: Result) -> str:
    value = _comparable(result)
    if value is None or result.baseline is None or result.indicator.direction == "none":
        return ""
    delta = value - formulas.rounded(result.baseline, result.indicator.decimals)
    if delta == 0:
        return "stable"
    better = delta > 0 if result.indicator.direction == "up" else delta < 0
    return "improving" if better else "worsening"


def evaluate_row(row: PlanIndicator, year: int, values: Values, judgements: dict | None = None) -> Result:
    plan = row.plan
    base_year = row.baseline_year or plan.baseline_year
    result = compute_indicator(row.indicator, values, year, baseline_year=plan.baseline_year, row=row)
    if year != base_year and row.indicator.kind == Indicator.Kind.RATIO:
        at_base = compute_indicator(row.indicator, values, base_year, baseline_year=plan.baseline_year, row=row)
        if at_base.value is not None and all(i.source != "missing" for i in at_base.inputs):
            result.baseline, result.baseline_source = at_base.value, "computed"
    if result.baseline is None and row.baseline_value is not None and printed_base_quantity(row) is None:
        result.baseline, result.baseline_source = row.baseline_value, "printed"
    result.target = _target_for(row, year)
    judgement = (judgements or {}).get(row.pk)
    result.status = _status(result, judgement)
    if judgement is not None and result.status == judgement.status:
        result.note = judgement.note
    result.trend = _trend(result)
    return result


def evaluate_plan(*, scope: Scope, plan_id: int, year: int, store: bool = False) -> list[Result]:
    """Evaluate every row of a plan for a year; `store` writes the Evaluation snapshot."""
    plan = get_plan(scope, plan_id)
    rows = list(plan.rows.select_related("indicator", "plan").prefetch_related("targets"))
    values = Values(region=plan.region)
    judgements = {j.row_id: j for j in Judgement.objects.filter(row__plan=plan, year=year)}
    _prefetch_rows(values, rows, year, plan.baseline_year)
    results = [evaluate_row(row, year, values, judgements) for row in rows]
    if store:
        with transaction.atomic():
            for result in results:
                data = result.as_dict()
                Evaluation.objects.update_or_create(row=result.row, year=year, defaults={
                    "value": result.value, "numerator": result.numerator, "denominator": result.denominator,
                    "status": result.status, "trend": result.trend,
                    "inputs": {"inputs": data["inputs"], "formula": data["formula"]}})
    return results


def _prefetch_rows(values: Values, rows, year: int, baseline_year: int) -> None:
    """Fetch every quantity the rows (plan rows or bare indicators) need, one query per source table."""
    keys, years = set(), {year, baseline_year, year - 1}
    for row in rows:
        indicator = row if isinstance(row, Indicator) else row.indicator
        if indicator.kind in (Indicator.Kind.DIRECT, Indicator.Kind.STATE):
            keys.add(indicator.code)
        elif indicator.kind == Indicator.Kind.RATIO:
            numerator, denominator = (indicator.numerator, indicator.denominator)
            if not isinstance(row, Indicator) and row.numerator:
                numerator, denominator = row.numerator, row.denominator
            for text in (numerator, denominator):
                keys.update(t.key for t in formulas.parse_expression(text).terms)
    values.prefetch(keys, years)


def evaluate_region(*, scope: Scope, region_code: str, year: int, codes=None, baseline_year: int = 2020
                    ) -> list[Result]:
    """Catalog indicators for any region (district, city, province) without a plan: values only."""
    region = region_for(scope, region_code)
    indicators = Indicator.objects.exclude(kind=Indicator.Kind.INDEX)
    if codes:
        indicators = indicators.filter(code__in=codes)
    values = Values(region=region)
    indicators = list(indicators)
    _prefetch_rows(values, indicators, year, baseline_year)
    return [compute_indicator(indicator, values, year, baseline_year=baseline_year) for indicator in indicators]


def rollup(*, scope: Scope, region_code: str, year: int, codes=None) -> dict:
    """A region and each of its child regions side by side (district → city → province)."""
    region = region_for(scope, region_code)
    children = list(Region.objects.filter(parent=region).order_by("code"))
    columns = [region] + children
    table = {}
    for column in columns:
        for result in evaluate_region(scope=scope, region_code=column.code, year=year, codes=codes):
            table.setdefault(result.indicator.code, {"indicator": result.indicator, "values": {}})
            table[result.indicator.code]["values"][column.code] = result
    return {"region": region, "columns": columns, "rows": list(table.values())}


def compare(*, scope: Scope, region_codes: list[str], year: int, codes=None) -> dict:
    columns = [region_for(scope, code) for code in region_codes]
    table = {}
    for column in columns:
        for result in evaluate_region(scope=scope, region_code=column.code, year=year, codes=codes):
            table.setdefault(result.indicator.code, {"indicator": result.indicator, "values": {}})
            table[result.indicator.code]["values"][column.code] = result
    return {"columns": columns, "rows": list(table.values())}


def drill_down(*, scope: Scope, region_code: str, year: int, key: str) -> dict:
    """The records behind a quantity: per-organization sums for platform quantities, the entered rows otherwise."""
    region = region_for(scope, region_code)
    spec = formulas.QUANTITIES.get(key)
    if spec is not None and spec.source == "platform":
        return {"key": key, "source": "platform", "unit": spec.unit,
                "records": platform_records(key, region.path, year)}
    rows = (QuantityValue.objects.filter(region__path__startswith=region.path, year=year, key=key)
            .select_related("region", "request__department").order_by("region_id"))
    return {"key": key, "source": "entered", "unit": spec.unit if spec else "", "records": [
        {"id": r.pk, "region": r.region_id, "region_name": r.region.name, "value": r.value, "state": r.state,
         "entered": f"{r.entered_value} {r.entered_unit}".strip(), "evidence": r.evidence, "status": r.status,
         "department": r.request.department.name if r.request_id else ""} for r in rows]}


def set_row_formula(*, scope: Scope, row_id: int, numerator: str, denominator: str = "",
                    version: int | None = None) -> PlanIndicator:
    """A region's own formula for one plan row (blank numerator: back to the catalog's formula)."""
    row = PlanIndicator.objects.visible_to(scope).select_related("plan__region", "indicator").filter(pk=row_id).first()
    if row is None:
        raise NotFound(_("Plan row not found"))
    require_regulator(scope, row.plan.region)
    _check_version(row, version)
    if row.indicator.kind != Indicator.Kind.RATIO:
        raise ValidationFailed(_("Only a formula indicator takes a regional formula"), code="not_a_formula")
    for name, text in (("numerator", numerator), ("denominator", denominator)):
        for term in formulas.parse_expression(text).terms:
            if term.key not in formulas.QUANTITIES:
                raise ValidationFailed(_("Unknown quantity %(key)s") % {"key": term.key}, code="unknown_quantity",
                                       errors=[field_error(name, term.key)])
    row.numerator, row.denominator = numerator.strip(), denominator.strip() if numerator.strip() else ""
    row.save(audit_action="formula_changed")
    return row


def judge(*, scope: Scope, row_id: int, year: int, status: str, note: str = "") -> Judgement:
    row = PlanIndicator.objects.visible_to(scope).select_related("plan__region").filter(pk=row_id).first()
    if row is None:
        raise NotFound(_("Plan row not found"))
    require_regulator(scope, row.plan.region)
    if status not in JUDGED:
        raise ValidationFailed(_("Status must be one of %(choices)s") % {"choices": ", ".join(JUDGED)},
                               errors=[field_error("status", _("not a judgement"))])
    judgement = Judgement.objects.filter(row=row, year=year).first() or Judgement(row=row, year=year)
    judgement.status, judgement.note = status, note
    judgement.judged_by_id = scope.user_id
    judgement.save()
    return judgement


# --- data requests and entered values ---------------------------------------------------------------

def _entered_spec(key: str) -> formulas.QuantitySpec:
    spec = formulas.QUANTITIES.get(key)
    if spec is None:
        indicator = Indicator.objects.filter(code=key, kind__in=(Indicator.Kind.DIRECT, Indicator.Kind.STATE)).first()
        if indicator is None:
            raise ValidationFailed(_("Unknown quantity %(key)s") % {"key": key}, code="unknown_quantity",
                                   errors=[field_error("keys", key)])
        return formulas.direct_spec(indicator)
    if spec.source != "entered":
        raise ValidationFailed(_("%(key)s is computed from the platform's records and cannot be entered")
                               % {"key": key}, code="computed_quantity", errors=[field_error("keys", key)])
    return spec


def create_request(*, scope: Scope, region_code: str, department_id: int, year: int, keys: list[str],
                   due_date: dt.date, note: str = "") -> DataRequest:
    region = region_for(scope, region_code)
    require_regulator(scope, region)
    department = Department.objects.select_related("region").filter(pk=department_id).first()
    if department is None or not (scope.is_platform_admin or scope.covers_region_path(department.region.path)):
        raise NotFound(_("Department not found"))
    if not keys:
        raise ValidationFailed(_("Ask for at least one quantity"), errors=[field_error("keys", _("required"))])
    for key in keys:
        _entered_spec(key)
    return DataRequest.objects.create(region=region, department=department, year=year, keys=list(keys),
                                      due_date=due_date, note=note, created_by_id=scope.user_id)


def requests_for(scope: Scope):
    return DataRequest.objects.visible_to(scope).select_related("region", "department")


def get_request(scope: Scope, request_id: int) -> DataRequest:
    request = requests_for(scope).filter(pk=request_id).first()
    if request is None:
        raise NotFound(_("Data request not found"))
    return request


def _check_version(row, version) -> None:
    if version is not None and int(version) != row.version:
        raise Conflict(_("this record was changed by someone else (version %(now)s, you sent %(sent)s); reload it")
                       % {"now": row.version, "sent": version}, code="stale_version")


def enter_value(*, scope: Scope, request_id: int, key: str, value: str | None = None, unit: str = "",
                state: str = "", evidence: str = "") -> QuantityValue:
    """A department enters one requested quantity (converted to the base unit at the edge)."""
    request = get_request(scope, request_id)
    if request.department_id not in scope.department_ids and not scope.is_platform_admin:
        raise PermissionDenied(_("only the requested department can enter these values"))
    if request.status not in (ReviewStatus.DRAFT, ReviewStatus.RETURNED):
        raise Conflict(_("the request has been submitted; values can no longer change"), code="request_closed")
    if key not in request.keys:
        raise ValidationFailed(_("%(key)s was not requested") % {"key": key}, errors=[field_error("key", key)])
    spec = _entered_spec(key)
    number = None
    if value not in (None, ""):
        try:
            number = ENTERED_VALUE(formulas.to_base(ENTERED_VALUE(value), unit, spec))
        except ValueError as exc:
            raise ValidationFailed(_("%(value)s is not a number") % {"value": value},
                                   errors=[field_error("value", str(exc))]) from None
    elif not state:
        raise ValidationFailed(_("Enter a value or a state"), errors=[field_error("value", _("required"))])
    row = QuantityValue.objects.filter(region=request.region, year=request.year, key=key).first()
    if row is not None and row.status == ReviewStatus.APPROVED and row.request_id != request.pk:
        raise Conflict(_("an approved value exists for %(key)s") % {"key": key}, code="value_approved")
    row = row or QuantityValue(region=request.region, year=request.year, key=key)
    row.value, row.state, row.evidence = number, state, evidence
    row.entered_value, row.entered_unit = "" if value is None else str(value), unit or spec.unit
    row.request, row.entered_by_id, row.status = request, scope.user_id, ReviewStatus.DRAFT
    row.save()
    return row


def attach_evidence(*, scope: Scope, request_id: int, key: str, name: str, content,
                    content_type: str = "") -> QuantityEvidence:
    """The requested department attaches a file to an entered quantity while the request is open (`content`:
    bytes or the uploaded file, read only once the department's right to attach is checked)."""
    request = get_request(scope, request_id)
    if request.department_id not in scope.department_ids and not scope.is_platform_admin:
        raise PermissionDenied(_("only the requested department can enter these values"))
    if request.status not in (ReviewStatus.DRAFT, ReviewStatus.RETURNED):
        raise Conflict(_("the request has been submitted; values can no longer change"), code="request_closed")
    value = request.values.filter(key=key).first()
    if value is None:
        raise ValidationFailed(_("enter the value before attaching its evidence"), errors=[field_error("key", key)])
    limit = int(parameters.get("indicators.evidence_max_mb", request.region)) * 2**20
    stored = files.store_evidence(folder=f"indicators/{request.region_id}/{request.year}", name=name,
                                  content=content, max_bytes=limit)
    evidence = QuantityEvidence(value=value, path=stored.path, name=stored.name, size=stored.size,
                                sha256=stored.sha256, content_type=(content_type or "")[:100])
    evidence.save()
    return evidence


def get_evidence(scope: Scope, evidence_id: int) -> QuantityEvidence:
    evidence = QuantityEvidence.objects.visible_to(scope).filter(pk=evidence_id).first()
    if evidence is None:
        raise NotFound(_("file not found"))
    return evidence


def submit_request(*, scope: Scope, request_id: int, version: int | None = None) -> DataRequest:
    request = get_request(scope, request_id)
    if request.department_id not in scope.department_ids and not scope.is_platform_admin:
        raise PermissionDenied(_("only the requested department can submit"))
    _check_version(request, version)
    if request.status not in (ReviewStatus.DRAFT, ReviewStatus.RETURNED):
        # a submitted request waits for its review; an approved one is sealed: submitting it again would take
        # the approval away from values the evaluation counts
        raise Conflict(_("the request has been submitted; values can no longer change"), code="request_closed")
    missing = [k for k in request.keys if not request.values.filter(key=k).exists()]
    if missing:
        raise ValidationFailed(_("Values are missing"), code="values_missing",
                               errors=[field_error("keys", key) for key in missing])
    with transaction.atomic():
        request.values.update(status=ReviewStatus.SUBMITTED)
        request.status, request.submitted_at = ReviewStatus.SUBMITTED, timezone.now()
        request.save(audit_action="submitted")
    return request


def review_request(*, scope: Scope, request_id: int, approve: bool, comment: str = "", version: int | None = None
                   ) -> DataRequest:
    """The regulator approves the submitted values (they then count in evaluations) or returns them."""
    request = get_request(scope, request_id)
    require_regulator(scope, request.region)
    _check_version(request, version)
    if request.status != ReviewStatus.SUBMITTED:
        raise Conflict(_("only a submitted request can be reviewed"), code="not_submitted")
    status = ReviewStatus.APPROVED if approve else ReviewStatus.RETURNED
    with transaction.atomic():
        for row in request.values.all():
            row.status, row.reviewed_by_id = status, scope.user_id
            row.save(audit_action="approved" if approve else "returned")
        request.status, request.review_comment, request.reviewed_at = status, comment, timezone.now()
        request.save(audit_action="approved" if approve else "returned")
    return request


# --- zero-waste index ------------------------------------------------------------------------------

def index_definition() -> dict:
    return json.loads((DATA / "index.json").read_text(encoding="utf-8"))


def score(value: Decimal, worst: Decimal, best: Decimal) -> Decimal:
    if best == worst:
        return Decimal(100)
    share = (value - worst) / (best - worst)
    return max(Decimal(0), min(Decimal(1), share)) * 100


def compute_index(*, values: Values, year: int, baseline_year: int = 2020, definition: dict | None = None) -> dict:
    """The weighted composite of normalized indicator values (see data/index.json `method`)."""
    definition = definition or parameters.get("indicators.index", values.region) or index_definition()
    indicators = {i.code: i for i in Indicator.objects.filter(
        code__in=[c["indicator"] for s in definition["sub_indices"] for c in s["components"]])}
    parts, total, weights = [], Decimal(0), Decimal(0)
    for sub in definition["sub_indices"]:
        components, acc, acc_weight = [], Decimal(0), Decimal(0)
        for component in sub["components"]:
            indicator = indicators.get(component["indicator"])
            result = compute_indicator(indicator, values, year, baseline_year=baseline_year) if indicator else None
            value = None if result is None or result.value is None else formulas.rounded(result.value,
                                                                                           indicator.decimals)
            entry = {"indicator": component["indicator"], "weight": component["weight"], "value": _s(value),
                     "score": None}
            if value is not None:
                points = score(value, Decimal(component["worst"]), Decimal(component["best"]))
                entry["score"] = str(points.quantize(Decimal("0.1")))
                acc += points * Decimal(str(component["weight"]))
                acc_weight += Decimal(str(component["weight"]))
            components.append(entry)
        sub_value = (acc / acc_weight).quantize(Decimal("0.1")) if acc_weight else None
        parts.append({"key": sub["key"], "name": sub["name"], "weight": sub["weight"], "value": _s(sub_value),
                      "components": components})
        if sub_value is not None:
            total += sub_value * Decimal(str(sub["weight"]))
            weights += Decimal(str(sub["weight"]))
    return {"name": definition["name"], "year": year, "value": _s((total / weights).quantize(Decimal("0.1"))
                                                                    if weights else None),
            "sub_indices": parts, "method": definition["method"]}


def region_index(*, scope: Scope, region_code: str, year: int) -> dict:
    region = region_for(scope, region_code)
    result = compute_index(values=Values(region=region), year=year)
    result["region"] = region.code
    return result


def status_counts(results: list[Result]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def unparsed_targets() -> list[dict]:
    """Targets of the shipped plans that `parse_target` cannot read (they stay "to be judged")."""
    out = []
    catalog = {}
    with open(DATA / "catalog.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            catalog[row["name"]] = row["direction"]
            for alias in row["aliases"].split("|"):
                catalog[alias] = row["direction"]
    for spec in shipped_plans():
        for row in shipped_rows(spec):
            for year, text in target_columns(row).items():
                if targets.parse_target(text, catalog.get(row["name"], "up")) is None:
                    out.append({"plan": spec["key"], "number": row["number"], "year": str(year), "target": text})
    return out


