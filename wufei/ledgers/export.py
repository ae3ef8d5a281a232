"""The year's ledger as .xlsx in the HJ 1259 table layout: the per-container lines (containers.py) and the
monthly and yearly summaries of the stored ledger (selectors.py)."""

import datetime as dt
from decimal import Decimal

from django.utils import translation

from wufei.core import spreadsheets
from wufei.core.scope import Scope
from wufei.ledgers.compute import LOCAL_TZ
from wufei.ledgers.containers import container_ledger
from wufei.ledgers.selectors import ledger_is_current, ledger_months, summarize_year
from wufei.tracking.models import Packaging

# --- export (HJ 1259 table layout) --------------------------------------------------------------

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNCONFIRMED_NOTE = ("本表字段依据扫描事件记录生成；HJ 1259-2022 该表完整字段清单未经核实"
                    "（UNCONFIRMED，见 RULES.md §3），列出的是事件所载字段。")
DESTINATION_ZH = {"storage": "贮存", "transfer": "委外利用/处置", "self_utilization": "自行利用",
                  "self_disposal": "自行处置", "utilization": "利用", "disposal": "处置",
                  "repackaging": "合并/拆分包装", "": "未出库"}
SOURCE_ZH = {"own": "本单位产生", "received": "接收", "repackaging": "合并/拆分包装"}
MODE_ZH = {"utilization": "利用", "disposal": "处置"}
PACKAGING_ZH = {"drum": "桶", "bag": "袋", "tonne_bag": "吨袋", "box": "箱", "ibc": "IBC吨桶", "tank": "罐",
                "sharps_box": "利器盒", "bulk": "散装（车厢）", "other": "其他"}
PACKAGING_COLUMNS = (("packaging", "容器/包装类型"), ("container_count", "容器/包装数量"))


def _columns(batch: str, time: str, quantity: str, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """(line key, Chinese header) of one HJ 1259 table: the common leading columns, then its own."""
    return (("batch_code", batch), ("time", time), ("waste_name", "危险废物名称"), ("category", "危险废物类别"),
            ("waste_code", "危险废物代码"), ("quantity", quantity), ("unit", "计量单位"),
            ("container_code", "容器/包装编码"), *extra)


# (table, sheet name, title, note, columns); sheet names cannot hold "/" so the titles carry the official names
SHEETS = (
    ("generation", "产生环节记录表", "危险废物产生环节记录表", None, _columns(
        "产生批次编码", "产生时间", "产生量", *PACKAGING_COLUMNS, ("facility_code", "产生危险废物设施编码"),
        ("handler", "产生部门经办人"), ("destination", "去向"))),
    ("storage_in", "入库环节记录表", "危险废物入库环节记录表", UNCONFIRMED_NOTE, _columns(
        "入库批次编码", "入库时间", "入库量", *PACKAGING_COLUMNS, ("facility_code", "贮存设施编码"),
        ("location", "贮存位置"), ("source", "废物来源"), ("generator", "产生单位"), ("handler", "入库经办人"))),
    ("storage_out", "出库环节记录表", "危险废物出库环节记录表", UNCONFIRMED_NOTE, _columns(
        "出库批次编码", "出库时间", "出库量", *PACKAGING_COLUMNS, ("facility_code", "贮存设施编码"),
        ("destination", "去向"), ("reference", "联单编号"), ("handler", "出库经办人"))),
    ("self_processing", "自行利用处置环节记录表", "危险废物自行利用/处置环节记录表", UNCONFIRMED_NOTE, _columns(
        "批次编码", "利用/处置时间", "利用/处置量", ("mode", "利用/处置"), ("method", "利用/处置方式"),
        ("facility_code", "利用/处置设施编码"), ("handler", "经办人"))),
    ("entrusted", "委外利用处置环节记录表", "危险废物委外利用/处置环节记录表", UNCONFIRMED_NOTE, _columns(
        "批次编码", "转移时间", "转移量", ("packaging", "容器/包装类型"), ("manifest", "转移联单编号"),
        ("receiver", "接收单位"), ("received_at", "接收时间"), ("received_quantity", "接收量"), ("handler", "经办人"))),
    ("received", "接收环节记录表", "危险废物接收环节记录表（接收、收集单位）", UNCONFIRMED_NOTE, _columns(
        "批次编码", "接收时间", "接收量", ("packaging", "容器/包装类型"), ("generator", "产生单位"),
        ("manifest", "转移联单编号"), ("handler", "接收经办人"))),
)
SUMMARY_COLUMNS = (
    ("opening_stock", "期初贮存量"), ("generated", "产生量"), ("received_in", "接收量"), ("stored_in", "入库量"),
    ("stored_out", "出库量"), ("self_utilized", "自行利用量"), ("self_disposed", "自行处置量"),
    ("utilized", "利用量（接收）"), ("disposed", "处置量（接收）"),
    ("transferred_out", "委外利用/处置量"), ("closing_stock", "期末贮存量"), ("containers", "产生容器数"),
)
NUMBER_FORMAT = "0.000000"
TIME_FORMAT = "yyyy-mm-dd hh:mm"


def _excel_value(key: str, value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(LOCAL_TZ).replace(tzinfo=None)
    if key == "packaging":
        return PACKAGING_ZH.get(value) or (str(Packaging(value).label) if value in Packaging.values else value)
    if key == "destination":
        return DESTINATION_ZH.get(value, value)
    if key == "source":
        return SOURCE_ZH.get(value, value)
    if key == "mode":
        return MODE_ZH.get(value, value)
    return value


def _write_sheet(sheet, title: str, note: str | None, headers: list[str], rows: list[list]) -> None:
    from openpyxl.styles import Font

    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([note or ""])
    sheet.append(headers)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, float):
                cell.number_format = NUMBER_FORMAT
            elif isinstance(cell.value, dt.datetime):
                cell.number_format = TIME_FORMAT
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[sheet.cell(row=3, column=index).column_letter].width = max(10, len(header) * 2 + 4)
    sheet.freeze_panes = "A4"


def export_ledger_xlsx(scope: Scope, organization_id: int, year: int) -> bytes:
    """The year's ledger as .xlsx in the HJ 1259 layout: one sheet per table, then 月度汇总 and 年度汇总.

    Rows 1–2 of each sheet: title and note; row 3: headers; quantities in t as numbers (6 decimals).
    """
    from openpyxl import Workbook

    lines = container_ledger(scope, organization_id, year)
    organization = lines["organization"]
    months = list(ledger_months(scope, organization.pk, year))
    stale = "" if ledger_is_current(organization.pk, lines["year"]) else (
        "注意：台账汇总生成后又有新的扫描事件，请重新生成台账后再导出。")
    heading = f"{organization.name}（{organization.uscc}）{lines['year']}年"
    workbook = Workbook()
    workbook.remove(workbook.active)
    with translation.override("zh-hans"):
        for key, sheet_name, title, note, columns in SHEETS:
            sheet = workbook.create_sheet(sheet_name)
            rows = [[_excel_value(name, line.get(name)) for name, _header in columns] for line in lines["tables"][key]]
            _write_sheet(sheet, f"{title} — {heading}", note, [header for _name, header in columns], rows)
        monthly = workbook.create_sheet("月度汇总")
        rows = [[f"{row.year}-{row.month:02d}", row.waste_id, row.waste.category_id, row.waste.description[:60],
                 *[_excel_value(name, getattr(row, name)) for name, _header in SUMMARY_COLUMNS]]
                for row in months]
        _write_sheet(monthly, f"危险废物月度汇总 — {heading}",
                     f"单位：吨（t）；由扫描事件生成。{stale}",
                     ["月份", "危险废物代码", "危险废物类别", "危险废物名称", *[h for _n, h in SUMMARY_COLUMNS]], rows)
        yearly = workbook.create_sheet("年度汇总")
        rows = [[summary["waste"], summary["category"], summary["description"][:60],
                 *[_excel_value(name, summary[name]) for name, _header in SUMMARY_COLUMNS]]
                for summary in summarize_year(months)]
        _write_sheet(yearly, f"危险废物年度汇总 — {heading}",
                     f"单位：吨（t）；期初为首月期初，期末为12月期末。{stale}",
                     ["危险废物代码", "危险废物类别", "危险废物名称", *[h for _n, h in SUMMARY_COLUMNS]], rows)
    return spreadsheets.workbook_bytes(workbook)

