"""Import a plan's task list and key projects from .xlsx or .csv; load the shipped Banan and Kaizhou lists.

The layout is the plans' own (附件2 / 附件3): 序号, 任务, 内容, 牵头单位, 责任单位 (or 配合单位), 完成时限;
序号, 类别, 项目名称, 主要建设内容及规模, 投资（万元）, 完成年限, 牵头单位 (or 责任部门). Headers may also be
the field names (the shipped CSVs use them). A row whose 序号 cell holds text alone is a heading
("（一）…" a section of the task list; "一、…" a part and "（一）…" a category of the projects; "合计"
the printed total). Merged cells are read as the table shows them: a merged 任务 name covers its
rows (one task, several items); a merged 投资 cell is printed once and its rows form a merge group,
so the re-added total counts it once.

As for the registry's imports (wufei/registry/imports.py, whose helpers are reused), the whole file
is checked first and every bad cell reported by row and column letter; only a file without errors
is written, in one transaction.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from wufei.core import audit, spreadsheets
from wufei.core.errors import Conflict, RuleViolation, ValidationFailed, WufeiError
from wufei.core.parsing import FieldSpec, clean, is_blank, text
from wufei.core.scope import Scope
from wufei.core.spreadsheets import Limits, SheetRow
from wufei.programme import plan_text, services
from wufei.programme.models import KeyProject, Plan, ProjectAssignment, Role, Section, Task, TaskAssignment, TaskItem
from wufei.registry.imports import ImportRejected, ImportSpec, header_map

DATA = Path(__file__).resolve().parent / "data"


# --- cell parsers ----------------------------------------------------------------------------

def _integer(value):
    try:
        number = int(str(value).strip().rstrip(".．、"))
    except ValueError as exc:
        raise ValueError(_("%(value)s is not a row number") % {"value": value}) from exc
    if number < 1 or number > 32767:
        raise ValueError(_("%(value)s is not a row number") % {"value": value})
    return number


def _deadline(value):
    deadline = plan_text.parse_deadline(value)
    if deadline.kind == plan_text.UNPARSED:
        raise ValueError(_("deadline not understood: %(value)s (write a year, a range such as 2022-2025年, a date, "
                           "长期 or leave it blank)") % {"value": value})
    return deadline


_deadline.accepts_blank = True


def _units(max_length: int):
    def parse(value):
        raw = "" if value is None else str(value).strip()
        if len(raw) > max_length:
            raise ValueError(_("is longer than %(n)d characters") % {"n": max_length})
        names, notes = plan_text.split_units(raw)
        return {"text": raw, "names": names, "notes": notes}

    parse.accepts_blank = True
    return parse


def _investment(value):
    investment = plan_text.parse_investment(value)
    if investment.kind == plan_text.UNREADABLE:
        raise ValueError(_("investment not understood: %(value)s (a number of 10k CNY, “*” after an estimate, "
                           "“/” if not yet determined)") % {"value": value})
    return investment


_investment.accepts_blank = True

TASK_FIELDS = {
    "section": FieldSpec(text(200), label="章节"),
    "number": FieldSpec(_integer, required=True, label="序号"),
    "name": FieldSpec(text(200), label="任务"),
    "inferred_name": FieldSpec(text(200), label="推断任务名"),
    "content": FieldSpec(text(4000), required=True, label="内容"),
    "lead": FieldSpec(_units(300), required=True, label="牵头单位"),
    "responsible": FieldSpec(_units(400), label="责任单位"),
    "deadline": FieldSpec(_deadline, label="完成时限"),
    "note": FieldSpec(text(500), label="备注"),
}
TASK_HEADERS = {"配合单位": "责任单位", "责任/配合单位": "责任单位", "时限": "完成时限", "建设任务": "任务",
                "任务名称": "任务", "主要任务": "任务", "任务内容": "内容", "部分": "章节", "牵头部门": "牵头单位"}
PROJECT_FIELDS = {
    "group": FieldSpec(text(100), label="部分"),
    "category": FieldSpec(text(100), label="类别"),
    "number": FieldSpec(_integer, required=True, label="序号"),
    "name": FieldSpec(text(200), label="项目名称"),
    "content": FieldSpec(text(4000), required=True, label="主要建设内容及规模"),
    "investment": FieldSpec(_investment, label="投资"),
    "period": FieldSpec(_deadline, label="完成年限"),
    "units": FieldSpec(_units(300), required=True, label="牵头单位"),
    "merge_group": FieldSpec(text(20), label="合并组"),
    "note": FieldSpec(text(500), label="备注"),
}
PROJECT_HEADERS = {"主要内容": "主要建设内容及规模", "建设内容及规模": "主要建设内容及规模",
                   "建设内容": "主要建设内容及规模", "总投资": "投资", "完成时限": "完成年限", "建设年限": "完成年限",
                   "责任部门": "牵头单位", "责任单位": "牵头单位", "工程名称": "项目名称"}
SPECS = {"tasks": (ImportSpec(TASK_FIELDS, ("number",)), TASK_HEADERS),
         "projects": (ImportSpec(PROJECT_FIELDS, ("number",)), PROJECT_HEADERS)}


# --- reading -----------------------------------------------------------------------------------

def read_rows(content: bytes, filename: str, *, limit: Limits) -> tuple[list[str], list[SheetRow]]:
    """Header and data rows with their numbers in the file; merged cells are filled from their top-left cell."""
    return spreadsheets.read(content, filename, limit=limit, merged=True)


def _normalized_header(header: list[str], aliases: dict[str, str]) -> list[str]:
    result = []
    for title in header:
        base = title.split("(")[0].split("（")[0].strip()
        result.append(aliases.get(title) or aliases.get(base) or title)
    return result


def _heading(row: SheetRow, number_index: int) -> str | None:
    """The text of a heading row (its 序号 cell is text, and every other filled cell repeats it), else None."""
    cells = row.cells
    first = cells[number_index] if number_index < len(cells) else None
    if is_blank(first):
        return None
    title = str(first).strip()
    try:
        _integer(title)
        return None
    except ValueError:
        pass
    others = [str(c).strip() for i, c in enumerate(cells) if i != number_index and not is_blank(c)]
    return title if all(o == title for o in others) or title == "合计" else None


@dataclass
class Parsed:
    rows: list[dict]
    errors: list[dict]
    printed_total: object = None


def parse(kind: str, content: bytes, filename: str, *, limit: Limits | None = None) -> Parsed:
    spec, aliases = SPECS[kind]
    header, table = read_rows(content, filename, limit=limit or spreadsheets.limits())
    columns, errors = header_map(spec, _normalized_header(header, aliases))
    if errors:
        return Parsed([], errors)
    letters = {name: get_column_letter(index + 1) for name, index in columns.items()}
    rows, seen, carry = [], {}, {"section": "", "group": "", "category": ""}
    printed_total = None
    for row in table:
        title = _heading(row, columns["number"])
        if title is not None:
            if title == "合计":
                if "investment" in columns and columns["investment"] < len(row.cells):
                    printed_total = plan_text.parse_investment(row.cells[columns["investment"]])
            elif kind == "tasks":
                carry["section"] = title
            elif title.startswith("（") or title.startswith("("):
                carry["category"] = title
            else:
                carry["group"], carry["category"] = title, ""
            continue
        raw = {name: row.cells[index] if index < len(row.cells) else None for name, index in columns.items()}
        if kind == "projects" and "investment" in columns and columns["investment"] in row.merged:
            raw["investment"] = None  # printed once, on the merge's first row
        values, row_errors = clean(spec.fields, raw)
        for error in row_errors:
            errors.append({"row": row.number, "column": letters.get(error["field"], ""), **error})
        for name in carry:
            if name in values:
                if values[name]:
                    if name == "group" and values[name] != carry["group"]:
                        carry["category"] = ""  # a new part starts without the previous part's category
                    carry[name] = values[name]
                else:
                    values[name] = carry[name]
            else:
                values[name] = carry[name]
        number = values.get("number")
        if number is not None:
            if number in seen:
                errors.append({"row": row.number, "column": letters["number"], "field": "number",
                               "message": _("same as row %(r)d") % {"r": seen[number]}})
            seen.setdefault(number, row.number)
        unit_field = "lead" if kind == "tasks" else "units"
        if unit_field in values and values[unit_field] is not None and not values[unit_field]["names"] \
                and not any(e["field"] == unit_field for e in row_errors):
            errors.append({"row": row.number, "column": letters[unit_field], "field": unit_field,
                           "message": _("names no unit")})
        merged_from = {i for i in row.merged if i in (columns.get("name"), columns.get("investment"))}
        rows.append({"row": row.number, "values": values, "merged": merged_from, "columns": letters})
    if kind == "projects":
        _merge_groups(rows)
    return Parsed(rows, errors, printed_total)


def _merge_groups(rows: list[dict]) -> None:
    """Rows continuing a merged name or investment cell join the row the merge starts on, unless a group is given."""
    current = None
    for row in rows:
        values = row["values"]
        if values.get("merge_group"):
            current = None
            continue
        if row["merged"] and current is not None:
            current.append(row)
            continue
        current = [row]
        row["_group"] = current
    for row in rows:
        group = row.get("_group")
        if group and len(group) > 1:
            code = f"{group[0]['values']['number']}-{group[-1]['values']['number']}"
            for member in group:
                member["values"]["merge_group"] = code


# --- writing -----------------------------------------------------------------------------------

@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    sections: int = 0
    tasks: int = 0
    items: int = 0
    projects: int = 0
    units: int = 0
    cell_targets: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _reject(errors: list[dict]):
    errors = sorted(errors, key=lambda e: (e.get("row", 0), e.get("column", "")))
    raise ImportRejected(_("the file was not imported: %(n)d error(s); nothing was written") % {"n": len(errors)},
                         errors=errors)


def check_caller(scope: Scope, plan_id: int) -> Plan:
    """The plan, if the caller oversees it (who may import its lists); refused before a file is read."""
    return services.get_plan(scope, plan_id, oversee=True)


def import_file(*, scope: Scope, plan_id: int, kind: str, content: bytes, filename: str) -> ImportResult:
    """Check a task list or project list file whole, then write it into an empty plan in one transaction."""
    if kind not in SPECS:
        raise ValidationFailed(_("unknown list"), errors=[{"field": "kind", "message": kind}])
    plan = check_caller(scope, plan_id)
    if kind == "tasks" and plan.items.exists():
        raise RuleViolation(_("the plan already has its task list; nothing was imported"), code="plan_list_present")
    if kind == "projects" and plan.projects.exists():
        raise RuleViolation(_("the plan already has its key projects; nothing was imported"),
                            code="plan_list_present")
    parsed = parse(kind, content, filename, limit=spreadsheets.limits(plan.region))
    if parsed.errors:
        _reject(parsed.errors)
    result = ImportResult(kind=kind, rows=len(parsed.rows))
    try:
        with transaction.atomic(), audit.acting_as(audit.current_actor() or f"import:programme:{kind}"):
            if kind == "tasks":
                _write_tasks(plan, parsed.rows, result)
            else:
                _write_projects(plan, parsed, result)
    except WufeiError as exc:
        _reject([{"row": 0, "column": "", "field": e.get("field", ""), "message": e.get("message", exc.message)}
                 for e in exc.errors] or [{"row": 0, "column": "", "field": "", "message": exc.message}])
    return result


class _Units:
    def __init__(self, plan: Plan, result: ImportResult):
        self.plan, self.result, self.cache = plan, result, {}

    def get(self, name: str):
        if name not in self.cache:
            from wufei.programme.models import ResponsibleUnit

            existed = ResponsibleUnit.objects.filter(region=self.plan.region, name=name).exists()
            self.cache[name] = services.unit_named(self.plan.region, name)
            self.result.units += not existed
        return self.cache[name]


def indicator_names(plan: Plan) -> list[str]:
    """Indicator names a task's content may mention: the shipped 附件1 names of a shipped plan."""
    key = shipped_key(plan)
    if key is None:
        return []
    with open(DATA / "indicators.csv", encoding="utf-8") as handle:
        return [row["name"] for row in csv.DictReader(handle) if row["plan"] == key]


def _write_tasks(plan: Plan, rows: list[dict], result: ImportResult) -> None:
    units = _Units(plan, result)
    names = indicator_names(plan)
    sections: dict[str, Section] = {}
    task = None
    targets_found = None
    for row in rows:
        values = row["values"]
        title = values.get("section") or ""
        section = sections.get(title)
        if section is None:
            section = Section(plan=plan, ordinal=len(sections) + 1, title=title)
            section.save()
            sections[title] = section
        name = values.get("name") or ""
        continues = task is not None and task.section_id == section.pk and (not name or name == task.name)
        if not continues:
            task = Task(plan=plan, section=section, ordinal=result.tasks + 1, name=name,
                        inferred_name=values.get("inferred_name") or "")
            task.save()
            result.tasks += 1
        lead, responsible = values["lead"], values.get("responsible") or {"text": "", "names": [], "notes": []}
        notes = [n for n in [values.get("note") or "", *lead["notes"], *responsible["notes"]] if n]
        if values.get("note") and not continues and not task.note:
            task.note = values["note"][:500]
            task.save()
        item = TaskItem(plan=plan, task=task, number=values["number"], content=values["content"],
                        lead_text=lead["text"], responsible_text=responsible["text"],
                        indicator_names=[n for n in names if n in values["content"]], note="; ".join(notes)[:500])
        item.set_deadline(values.get("deadline") or plan_text.parse_deadline(""))
        item.save()
        result.items += 1
        for role, cell in ((Role.LEAD, lead), (Role.RESPONSIBLE, responsible)):
            for position, unit_name in enumerate(cell["names"]):
                TaskAssignment(item=item, unit=units.get(unit_name), role=role, position=position).save()
        stated = plan_text.cell_targets_in(values["content"])
        if stated and (targets_found is None or len(stated) > len(targets_found[0])):
            targets_found = (stated, values["content"], item.number)
    result.sections = len(sections)
    if targets_found:
        stated, sentence, number = targets_found
        result.cell_targets = services.set_cell_targets(plan, stated, text=sentence,
                                                        source=f"task list row {number}")


def _write_projects(plan: Plan, parsed: Parsed, result: ImportResult) -> None:
    units = _Units(plan, result)
    for row in parsed.rows:
        values = row["values"]
        investment = values.get("investment") or plan_text.parse_investment("")
        cell = values["units"]
        project = KeyProject(plan=plan, number=values["number"], group_title=values.get("group") or "",
                             category=values.get("category") or "", name=values.get("name") or "",
                             content=values["content"], capacities=plan_text.parse_capacities(values["content"]),
                             units_text=cell["text"], investment_text=investment.text,
                             investment_kind=investment.kind, investment=investment.value,
                             merge_group=values.get("merge_group") or "",
                             note="; ".join(n for n in [values.get("note") or "", *cell["notes"]] if n)[:500])
        project.set_deadline(values.get("period") or plan_text.parse_deadline(""))
        project.save()
        result.projects += 1
        for position, unit_name in enumerate(cell["names"]):
            ProjectAssignment(project=project, unit=units.get(unit_name), position=position).save()
    printed = parsed.printed_total
    if printed is not None and printed.value is not None and plan.printed_project_total is None:
        plan.printed_project_total = printed.value
        plan.save(audit_action="printed_total_imported")


# --- the shipped lists -----------------------------------------------------------------------

def shipped_plans() -> dict[str, dict]:
    with open(DATA / "plans.csv", encoding="utf-8") as handle:
        return {row["key"]: row for row in csv.DictReader(handle)}


def shipped_key(plan: Plan) -> str | None:
    return next((key for key, row in shipped_plans().items() if row["code"] == plan.code), None)


def shipped_file(name: str, key: str) -> bytes:
    """One plan's rows of a shipped CSV, without the `plan` column, as the bytes of a CSV file."""
    with open(DATA / name, encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row.pop("plan") == key]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def load_shipped(*, scope: Scope, key: str) -> Plan:
    """Register a shipped plan (banan, kaizhou) with its task list and key projects, through the import path."""
    from wufei.registry.models import Department

    plans = shipped_plans()
    if key not in plans:
        raise ValidationFailed(_("unknown shipped plan"), errors=[{"field": "key", "message": key}])
    row = plans[key]
    if Plan.objects.filter(code=row["code"]).exists():
        raise Conflict(_("plan %(code)s is already loaded") % {"code": row["code"]}, code="plan_loaded")
    office = Department.objects.filter(region_id=row["region"], name=row["leading_office"]).first()
    with transaction.atomic():
        plan = services.create_plan(
            scope=scope, region_code=row["region"], code=row["code"], title=row["title"],
            start_year=int(row["start_year"]), end_year=int(row["end_year"]), issuer=row["issuer"],
            issued_on=dt.date.fromisoformat(row["issued_on"]) if row["issued_on"] else None,
            leading_office_id=office.pk if office else None,
            printed_project_total=Decimal(row["printed_project_total"]), source=row["source"])
        if not office:
            plan.leading_office_name = row["leading_office"]
            plan.save()
        import_file(scope=scope, plan_id=plan.pk, kind="tasks", content=shipped_file("tasks.csv", key),
                    filename=f"{key}-tasks.csv")
        import_file(scope=scope, plan_id=plan.pk, kind="projects", content=shipped_file("projects.csv", key),
                    filename=f"{key}-projects.csv")
    return plan
