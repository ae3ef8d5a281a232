"""The progress bulletin (推进情况通报) of a plan, by unit, as PDF and as .xlsx.

A bulletin is what the leading group circulates (巴南 L185: "对相关责任单位任务完成情况定期进行通报";
开州 L221: "对工作情况实行通报制度"): where the tasks stand, which units are behind (overdue items,
missing progress reports), the key projects and the zero-waste cells. It is built from the board
(`services.board`) at a date, so the PDF and the workbook say the same thing.

Like the manifest PDF, it is a Chinese government document: its words are fixed Chinese, not the UI
language. The PDF is rendered by WeasyPrint from `templates/programme/bulletin.html` (Noto Sans CJK,
nothing fetched); the workbook opens in WPS / Excel and can be saved as .docx-compatible tables.
"""

import datetime as dt
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from wufei.core import spreadsheets
from wufei.core.scope import Scope
from wufei.programme import services
from wufei.programme.models import CellType

TEMPLATE = "programme/bulletin.html"
PROGRESS = {"not_started": "未启动", "in_progress": "推进中", "completed": "已完成"}
PROJECT_STATUS = {"planned": "未开工", "in_progress": "建设中", "completed": "已建成", "suspended": "暂停"}
CELL_TYPES = {"": "合计", "office": "无废机关", "school": "无废学校", "scenic_area": "无废景区",
              "residential": "无废小区", "business_district": "无废商圈", "restaurant": "无废饭店",
              "factory": "无废工厂", "park": "无废园区", "mall": "无废商场", "hospital": "无废医院",
              "market": "无废集贸市场", "village": "无废乡村", "other": "其他"}
assert set(CELL_TYPES) - {""} == set(CellType.values)


def _amount(value) -> str:
    if value is None:
        return "—"
    value = Decimal(value)
    return format(value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize(), "f")


def _date(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def _short_date(value) -> str:
    if value is None:
        return "—"
    return f"{timezone.localtime(value).date():%Y-%m-%d}" if isinstance(value, dt.datetime) else f"{value:%Y-%m-%d}"


def _units(item, role: str) -> str:
    return "、".join(a.unit.name for a in item.assignments.all() if a.role == role)


def bulletin(scope: Scope, plan_id: int, *, today: dt.date | None = None) -> dict:
    """Everything the bulletin prints, as plain values (for the PDF template and the workbook)."""
    data = services.board(scope, plan_id, today=today)
    plan, today, totals = data["plan"], data["today"], data["totals"]
    investment = data["investment"]
    period = data["period"]
    flagged = investment.flagged_groups
    cells = data["cells"]
    return {
        "title": f"{plan.title}推进情况通报",
        "plan": plan.title,
        "issuer": plan.leading_office.name if plan.leading_office else (plan.leading_office_name or "领导小组办公室"),
        "as_of": _date(today),
        "generated_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "period": f"{_date(period.start)}至{_date(period.end)}" if period else "尚未到首个报送期",
        "period_due": _date(period.due) if period else "",
        "summary": {
            "items": totals["total"], "completed": totals["completed"], "in_progress": totals["in_progress"],
            "not_started": totals["not_started"], "overdue": totals["overdue"],
            "missing": len(data["missing_reports"]), "projects": len(data["projects"]),
            "projects_completed": data["project_counts"]["completed"],
            "projects_overdue": len(data["overdue_projects"]),
            "printed_total": _amount(investment.printed), "summed": _amount(investment.summed),
            "estimated": _amount(investment.estimated), "undetermined": len(investment.undetermined),
            "spend": _amount(sum((p.spend_to_date or Decimal(0) for p in data["projects"]), Decimal(0))),
            "double_counted": _amount(investment.double_counted) if flagged else "",
            "counted_once": _amount(investment.counted_once),
            "flagged": [f"第{'、'.join(str(n) for n in g.numbers)}项为合并单元格，各列{_amount(g.figures[0])}万元，"
                        f"原表合计重复计入{_amount(g.double_counted)}万元" for g in flagged],
        },
        "sections": [{"title": row["section"].title or "—", "total": row["total"], "completed": row["completed"],
                      "in_progress": row["in_progress"], "not_started": row["not_started"],
                      "overdue": row["overdue"]} for row in data["sections"]],
        "units": [{"name": row["unit"].name, "total": row["total"], "completed": row["completed"],
                   "in_progress": row["in_progress"], "not_started": row["not_started"], "overdue": row["overdue"],
                   "missing": row["missing_reports"], "last_report": _short_date(row["last_report_at"]),
                   "note": "" if row["can_report"] else "未关联平台账号，无法报送"} for row in data["units"]],
        "overdue": [{"number": item.number, "task": item.task.display_name, "content": item.content,
                     "lead": _units(item, "lead"), "deadline": item.deadline_text or "—",
                     "status": PROGRESS[item.status], "percent": item.percent} for item in data["overdue_items"]],
        "missing": [{"unit": row["unit"].name, "number": row["item"].number, "task": row["item"].task.display_name}
                    for row in sorted(data["missing_reports"], key=lambda r: (r["unit"].name, r["item"].number))],
        "projects": [{"number": p.number, "name": p.display_name, "units": p.units_text,
                      "investment": p.investment_text or "（合并）", "period": p.deadline_text or "—",
                      "status": PROJECT_STATUS[p.status], "percent": p.percent, "spend": _amount(p.spend_to_date),
                      "overdue": p.is_overdue(today),
                      "facility": p.facility.name if p.facility_id else ""} for p in data["projects"]],
        "cells": [{"type": CELL_TYPES[row["cell_type"]], "target": "—" if row["target"] is None else row["target"],
                   "applied": row["applied"], "assessed": row["assessed"], "certified": row["certified"],
                   "rejected": row["rejected"], "remaining": "—" if row["remaining"] is None else row["remaining"]}
                  for row in [*cells["types"], cells["total"]]],
    }


def render_html(data: dict) -> str:
    return render_to_string(TEMPLATE, {"b": data})


def render_pdf(data: dict) -> bytes:
    from weasyprint import HTML  # imported late: loading WeasyPrint and its fonts takes a moment
    from weasyprint.urls import URLFetcher

    return HTML(string=render_html(data), url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()


SHEETS = [
    ("各单位", "units", [
        ("name", "单位", 28), ("total", "牵头任务", 9), ("completed", "已完成", 8), ("in_progress", "推进中", 8),
        ("not_started", "未启动", 8), ("overdue", "逾期未完成", 10), ("missing", "应报未报", 9),
        ("last_report", "最近报送", 14), ("note", "备注", 22)]),
    ("逾期任务", "overdue", [
        ("number", "序号", 6), ("task", "任务", 22), ("content", "内容", 60), ("lead", "牵头单位", 24),
        ("deadline", "完成时限", 12), ("status", "状态", 8), ("percent", "进度（%）", 9)]),
    ("应报未报", "missing", [("unit", "单位", 28), ("number", "任务序号", 9), ("task", "任务", 30)]),
    ("重点工程", "projects", [
        ("number", "序号", 6), ("name", "项目名称", 30), ("units", "责任单位", 26), ("investment", "投资（万元）", 12),
        ("period", "完成年限", 12), ("status", "状态", 8), ("percent", "进度（%）", 9),
        ("spend", "累计完成投资（万元）", 14), ("facility", "建成设施", 24)]),
    ("无废细胞", "cells", [
        ("type", "类型", 14), ("target", "目标", 8), ("applied", "已申报", 8), ("assessed", "评估通过", 9),
        ("certified", "已命名", 8), ("rejected", "未通过", 8), ("remaining", "尚差", 8)]),
    ("各章节", "sections", [
        ("title", "章节", 50), ("total", "任务", 8), ("completed", "已完成", 8), ("in_progress", "推进中", 8),
        ("not_started", "未启动", 8), ("overdue", "逾期", 8)]),
]
SUMMARY = [
    ("items", "任务（项）"), ("completed", "已完成"), ("in_progress", "推进中"), ("not_started", "未启动"),
    ("overdue", "逾期未完成"), ("missing", "应报未报（单位·任务）"), ("projects", "重点工程（个）"),
    ("projects_completed", "已建成"), ("projects_overdue", "逾期未建成"), ("printed_total", "原表投资合计（万元）"),
    ("summed", "逐项复核合计（万元）"), ("estimated", "其中预估（*）"), ("undetermined", "投资未定（/）项目数"),
    ("spend", "累计完成投资（万元）"),
]


def render_xlsx(data: dict) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "概况"
    bold = Font(bold=True)
    sheet.append([data["title"]])
    sheet["A1"].font = Font(bold=True, size=14)
    due = f"（应于{data['period_due']}前报送）" if data["period_due"] else ""
    sheet.append([f"截至{data['as_of']}", f"报送期：{data['period']}{due}", f"通报单位：{data['issuer']}"])
    sheet.append([])
    for key, label in SUMMARY:
        sheet.append([label, data["summary"][key]])
    if data["summary"]["flagged"]:
        sheet.append(["投资复核", f"剔除重复后合计 {data['summary']['counted_once']} 万元"])
        for text in data["summary"]["flagged"]:
            sheet.append(["", text])
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 60
    warn = PatternFill("solid", fgColor="FDECEC")
    for title, key, columns in SHEETS:
        page = workbook.create_sheet(title)
        page.append([label for _key, label, _width in columns])
        for cell in page[1]:
            cell.font = bold
        for row in data[key]:
            page.append([row[name] for name, _label, _width in columns])
            if row.get("overdue") is True:
                for cell in page[page.max_row]:
                    cell.fill = warn
        for index, (_name, _label, width) in enumerate(columns, start=1):
            page.column_dimensions[get_column_letter(index)].width = width
        for row in page.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        page.freeze_panes = "A2"
    return spreadsheets.workbook_bytes(workbook)
