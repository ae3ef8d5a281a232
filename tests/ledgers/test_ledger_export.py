"""The ledger as .xlsx in the HJ 1259 table layout: sheets, Chinese headers, numbers, totals equal to the ledger."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from tests.ledgers.test_ledger import ADMIN, W1, W2, build_world
from wufei.ledgers import compute, export, selectors

pytestmark = pytest.mark.django_db

SHEETS = ["产生环节记录表", "入库环节记录表", "出库环节记录表", "自行利用处置环节记录表", "委外利用处置环节记录表",
          "接收环节记录表", "月度汇总", "年度汇总"]
GENERATION_HEADERS = ["产生批次编码", "产生时间", "危险废物名称", "危险废物类别", "危险废物代码", "产生量",
                      "计量单位", "容器/包装编码", "容器/包装类型", "容器/包装数量", "产生危险废物设施编码",
                      "产生部门经办人", "去向"]


@pytest.fixture
def workbook(make_org, make_site, make_user):
    world = build_world(make_org, make_site, make_user)
    compute.build_ledger(year=2026)
    content = export.export_ledger_xlsx(ADMIN, world["g"].pk, 2026)
    return world, load_workbook(io.BytesIO(content))


def table(sheet) -> list[dict]:
    rows = list(sheet.iter_rows(values_only=True))
    headers = rows[2]
    return [dict(zip(headers, row, strict=True)) for row in rows[3:]]


def test_sheets_and_headers(workbook):
    world, book = workbook
    assert book.sheetnames == SHEETS
    generation = book["产生环节记录表"]
    assert generation["A1"].value.startswith("危险废物产生环节记录表") and world["g"].name in generation["A1"].value
    assert [c.value for c in generation[3]] == GENERATION_HEADERS
    assert generation["A2"].value in (None, "")  # the 产生环节 fields are the confirmed ones
    for name in SHEETS[1:6]:
        assert "UNCONFIRMED" in book[name]["A2"].value, name
    assert book["自行利用处置环节记录表"]["A1"].value.startswith("危险废物自行利用/处置环节记录表")
    assert [c.value for c in book["年度汇总"][3]][:3] == ["危险废物代码", "危险废物类别", "危险废物名称"]
    assert "期末贮存量" in [c.value for c in book["月度汇总"][3]]


def test_lines_carry_numbers_times_and_chinese_labels(workbook):
    world, book = workbook
    lines = {line["产生批次编码"]: line for line in table(book["产生环节记录表"])}
    first = lines[world["c"]["c1"].code]
    assert first["产生量"] == pytest.approx(1.0) and isinstance(first["产生量"], int | float)
    assert first["产生时间"] == dt.datetime(2026, 1, 5, 9, 0)  # Asia/Shanghai wall time
    assert first["计量单位"] == "t" and first["容器/包装数量"] == 1 and first["去向"] == "贮存"
    assert first["容器/包装类型"] == "桶"
    assert first["产生部门经办人"] == "张三" and first["产生危险废物设施编码"] == world["site"].code
    cell = book["产生环节记录表"].cell(row=4, column=GENERATION_HEADERS.index("产生量") + 1)
    assert cell.number_format == "0.000000"
    out = table(book["出库环节记录表"])
    assert {line["去向"] for line in out} >= {"委外利用/处置", "合并/拆分包装", "自行处置"}


def test_totals_equal_the_ledger(workbook):
    world, book = workbook
    summary = {s["waste"]: s for s in selectors.ledger_year(ADMIN, world["g"].pk, 2026)}

    def total(sheet, column, code=None):
        lines = table(book[sheet])
        return round(sum(line[column] for line in lines if code is None or line["危险废物代码"] == code), 6)

    for code in (W1, W2):
        s = summary[code]
        assert total("产生环节记录表", "产生量", code) == float(s["generated"])
        assert total("入库环节记录表", "入库量", code) == float(s["stored_in"])
        assert total("出库环节记录表", "出库量", code) == float(s["stored_out"])
        assert total("自行利用处置环节记录表", "利用/处置量", code) == float(s["self_utilized"] + s["self_disposed"])
        assert total("委外利用处置环节记录表", "转移量", code) == float(s["transferred_out"])
    yearly = {line["危险废物代码"]: line for line in table(book["年度汇总"])}
    for code in (W1, W2):
        for column, name in (("期初贮存量", "opening_stock"), ("产生量", "generated"), ("期末贮存量", "closing_stock"),
                             ("委外利用/处置量", "transferred_out"), ("产生容器数", "containers")):
            assert yearly[code][column] == pytest.approx(float(summary[code][name])), (code, column)
    monthly = table(book["月度汇总"])
    assert len(monthly) == 24
    march = next(line for line in monthly if line["月份"] == "2026-03" and line["危险废物代码"] == W1)
    assert march["期末贮存量"] == pytest.approx(0.77) and march["出库量"] == pytest.approx(0.98)


def test_a_stale_ledger_says_so(make_org, make_site, make_user):
    world = build_world(make_org, make_site, make_user)
    book = load_workbook(io.BytesIO(export.export_ledger_xlsx(ADMIN, world["g"].pk, 2026)))
    assert "重新生成台账" in book["月度汇总"]["A2"].value and table(book["月度汇总"]) == []
