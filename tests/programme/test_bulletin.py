"""The progress bulletin (推进情况通报): what the PDF and the workbook say, and who may generate them."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import BANAN, KAIZHOU
from tests.programme.conftest import ADMIN
from wufei.core.errors import NotFound, PermissionDenied
from wufei.core.scope import scope_for
from wufei.programme import bulletin, services
from wufei.programme.models import TaskItem
from wufei.registry.models import Department, DepartmentMembership

TODAY = dt.date(2023, 3, 1)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "".join(page.extract_text() for page in reader.pages).replace("\n", "").replace(" ", "")


@pytest.fixture
def world(banan, make_user, regulator_of):
    users = {}
    for name in ("区无废办", "区生态环境局", "区城市管理局"):
        department, _ = Department.objects.get_or_create(name=name, region_id=BANAN)
        users[name] = make_user()
        DepartmentMembership.objects.create(user=users[name], department=department)
    services.relink_units(scope=ADMIN, region=banan.region)
    banan.leading_office = Department.objects.get(region_id=BANAN, name="区无废办")
    banan.save()
    ecology = scope_for(users["区生态环境局"])
    for number in (16, 56):  # two of the six rows due in 2022 are done
        services.report_on_item(scope=ecology, item_id=TaskItem.objects.get(plan=banan, number=number).pk,
                                status="completed", percent=100, narrative="已完成")
    services.report_on_item(scope=ecology, item_id=TaskItem.objects.get(plan=banan, number=57).pk,
                            status="in_progress", percent=70, narrative="推进中")
    return {"plan": banan, "office": users["区无废办"], "city": users["区城市管理局"],
            "regulator": regulator_of(BANAN), "kaizhou_regulator": regulator_of(KAIZHOU)}


@pytest.fixture
def data(world):
    return bulletin.bulletin(scope_for(world["office"]), world["plan"].pk, today=TODAY)


def test_the_bulletin_counts_by_unit(data):
    summary = data["summary"]
    assert (summary["items"], summary["completed"], summary["in_progress"], summary["overdue"]) == (90, 2, 1, 4)
    units = {row["name"]: row for row in data["units"]}
    ecology = units["区生态环境局"]
    assert (ecology["total"], ecology["completed"], ecology["in_progress"], ecology["overdue"]) == (29, 2, 1, 2)
    assert units["区市场监管局"]["overdue"] == 2  # rows 45 and 87
    assert {row["number"] for row in data["overdue"]} == {45, 57, 62, 87}
    assert "未关联平台账号" in units["区经济信息委"]["note"]  # no such department registered in this test
    assert summary["printed_total"] == "15900" and summary["summed"] == "15900"
    assert summary["flagged"] == ["第10、11项为合并单元格，各列5300万元，原表合计重复计入5300万元"]
    assert summary["counted_once"] == "10600"
    cells = {row["type"]: row for row in data["cells"]}
    assert cells["合计"]["target"] == 108


def test_the_pdf_says_what_the_board_says(data):
    pdf = bulletin.render_pdf(data)
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    assert "巴南区“十四五”时期“无废城市”建设实施方案推进情况通报" in text
    assert "截至2023年3月1日" in text
    assert "建设任务共90项，已完成2项，推进中1项，未启动87项；超过完成时限仍未完成4项" in text
    assert "原表投资合计15900万元，逐项复核合计15900万元" in text
    assert "第10、11项为合并单元格，各列5300万元，原表合计重复计入5300万元" in text
    assert "剔除重复后合计10600万元" in text
    for unit in ("区生态环境局", "区市场监管局", "区城市管理局"):
        assert unit in text
    assert "深入开展快递包装绿色产品认证" in text  # overdue row 87, printed in full
    assert "新建生活垃圾一次转运站" in text and "无废城市细胞" in text


def test_the_workbook_says_the_same(data):
    workbook = load_workbook(io.BytesIO(bulletin.render_xlsx(data)))
    assert workbook.sheetnames == ["概况", "各单位", "逾期任务", "应报未报", "重点工程", "无废细胞", "各章节"]
    summary = {row[0]: row[1] for row in workbook["概况"].iter_rows(min_row=4, values_only=True) if row[0]}
    assert summary["任务（项）"] == 90 and summary["逾期未完成"] == 4 and summary["原表投资合计（万元）"] == "15900"
    assert summary["投资复核"] == "剔除重复后合计 10600 万元"
    units = {row[0]: row for row in workbook["各单位"].iter_rows(min_row=2, values_only=True)}
    assert units["区生态环境局"][1:6] == (29, 2, 1, 26, 2)
    overdue = [row[0] for row in workbook["逾期任务"].iter_rows(min_row=2, values_only=True)]
    assert sorted(overdue) == [45, 57, 62, 87]
    projects = list(workbook["重点工程"].iter_rows(min_row=2, values_only=True))
    assert len(projects) == 15 and projects[10][3] == "5300" and projects[13][3] == "500*"
    sections = [row[1] for row in workbook["各章节"].iter_rows(min_row=2, values_only=True)]
    assert sections == [5, 14, 7, 19, 8, 12, 14, 11]


def test_only_the_leading_group_and_regulators_generate_it(world, client_for):
    plan = world["plan"]
    with pytest.raises(PermissionDenied):
        bulletin.bulletin(scope_for(world["city"]), plan.pk)
    with pytest.raises(NotFound):
        bulletin.bulletin(scope_for(world["kaizhou_regulator"]), plan.pk)
    response = client_for(world["regulator"]).get(f"/api/v1/programme/plans/{plan.pk}/bulletin?format=xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    page = client_for(world["office"]).get(f"/programme/plans/{plan.pk}/bulletin.pdf")
    assert page.status_code == 200 and page.content.startswith(b"%PDF")
    assert client_for(world["kaizhou_regulator"]).get(f"/programme/plans/{plan.pk}/bulletin.pdf").status_code == 404
