"""Importing a plan's lists from .xlsx: the plans' own layout with merged cells and heading rows, errors by row and
column letter, nothing written unless the whole file passes."""

import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from tests.conftest import BANAN, KAIZHOU
from tests.programme.conftest import ADMIN
from wufei.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.programme import imports, services
from wufei.programme.models import KeyProject, Plan, ResponsibleUnit, TaskItem
from wufei.registry.imports import ImportRejected
from wufei.registry.models import Department


def workbook(rows, merges=()) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for merge in merges:
        sheet.merge_cells(merge)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


TASKS = [
    ["序号", "任务", "内容", "牵头单位", "配合单位", "完成时限"],
    ["（一）工业领域", None, None, None, None, None],
    [1, "推动源头减量", "严控“两高一资”项目。", "区生态环境局", "区发展改革委、区经济信息委", "2025年"],
    [2, None, "开展清洁生产审核。", "区经济信息委", "/", "2022年-2025年"],
    [3, "推进绿色矿山", "绿色矿山建设。", "区规划自然资源局、区生态环境局", "各乡镇（街道）", "长期"],
    ["（二）生活领域", None, None, None, None, None],
    [4, "生活垃圾分类", "到2025年建成5个“无废学校”、2个“无废小区”等7个“无废城市细胞”。", "区城管局", None, None],
    [5, None, "建设转运站。", "区城管局", "区发展改革委", "2024年"],
]


@pytest.fixture
def plan(db, regulator_of):
    return services.create_plan(scope=ADMIN, region_code=BANAN, code="test-plan", title="测试实施方案", start_year=2024,
                                end_year=2026)


def test_a_task_list_in_the_plans_layout(plan):
    content = workbook(TASKS, merges=["A2:F2", "A6:F6", "B3:B4"])
    result = imports.import_file(scope=ADMIN, plan_id=plan.pk, kind="tasks", content=content, filename="任务.xlsx")
    assert result.as_dict() == {"kind": "tasks", "rows": 5, "sections": 2, "tasks": 3, "items": 5, "projects": 0,
                                "units": 6, "cell_targets": 3}
    items = {i.number: i for i in TaskItem.objects.filter(plan=plan)}
    assert items[1].task == items[2].task and items[1].task.name == "推动源头减量"  # the merged name cell
    assert items[4].task == items[5].task  # a blank name continues the task above
    assert [s.title for s in plan.sections.order_by("ordinal")] == ["（一）工业领域", "（二）生活领域"]
    assert items[2].deadline_kind == "range" and items[3].deadline_kind == "ongoing"
    assert items[4].deadline_kind == "none" and items[4].deadline_reason == "blank"
    assert not items[2].assignments.filter(role="responsible").exists()
    assert items[3].assignments.filter(role="lead").count() == 2
    assert dict(plan.cell_targets.values_list("cell_type", "target")) == {"": 7, "school": 5, "residential": 2}


def test_errors_are_reported_by_row_and_column_and_nothing_is_written(plan, english):
    rows = [list(r) for r in TASKS]
    rows[2][0] = "一"  # not a row number, and not a heading either (other cells are filled)
    rows[3][3] = None  # no lead unit
    rows[4][5] = "尽快"  # a deadline nobody can check
    rows[7][0] = 4  # the same number twice
    rows[6][3] = "—"  # a lead cell naming no unit
    events = AuditEvent.objects.count()
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(scope=ADMIN, plan_id=plan.pk, kind="tasks", content=workbook(rows), filename="t.xlsx")
    found = {(e["row"], e["column"], e["field"]) for e in caught.value.errors}
    assert found == {(3, "A", "number"), (4, "D", "lead"), (5, "F", "deadline"), (7, "D", "lead"),
                     (8, "A", "number")}
    assert "nothing was written" in caught.value.message
    assert not TaskItem.objects.filter(plan=plan).exists() and not ResponsibleUnit.objects.exists()
    assert AuditEvent.objects.count() == events


def test_unknown_and_missing_columns_are_errors_of_row_one(plan, english):
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(scope=ADMIN, plan_id=plan.pk, kind="tasks",
                            content=workbook([["序号", "任务", "说明"], [1, "x", "y"]]), filename="t.xlsx")
    errors = {(e["row"], e["column"], e["field"]) for e in caught.value.errors}
    assert (1, "C", "") in errors and (1, "", "content") in errors and (1, "", "lead") in errors


def test_a_project_table_with_a_merged_investment_cell(plan):
    rows = [
        ["序号", "项目名称", "主要内容", "完成时限", "总投资（万元）", "责任部门"],
        ["一、工程项目", None, None, None, None, None],
        ["（一）生活领域", None, None, None, None, None],
        [1, "城区转运站", "新建日转运能力200吨/天垃圾转运站1座。", "2024—2025", 13700, "区城管局"],
        [2, "江里转运站", "新建日运转能力200吨/天垃圾转运站1座。", "2024—2025", None, "区城管局"],
        [3, "厨余垃圾二期", "设计处理规模100吨/天", "2021—2022", "2000", "区城管局"],
        ["二、配套政策", None, None, None, None, None],
        [4, "平台", "固体废物智慧监管信息平台。", "2025年", "500*", "区生态环境局"],
        [5, "设备", "快速检测设备。", "2025年", "/", "区生态环境局"],
        ["合计", None, None, None, 16200, None],
    ]
    content = workbook(rows, merges=["A2:F2", "A3:F3", "E4:E5", "A7:F7"])
    result = imports.import_file(scope=ADMIN, plan_id=plan.pk, kind="projects", content=content, filename="p.xlsx")
    assert result.projects == 5
    projects = {p.number: p for p in KeyProject.objects.filter(plan=plan)}
    assert projects[2].investment is None and projects[2].investment_kind == "blank"
    assert projects[1].merge_group == projects[2].merge_group == "1-2" and not projects[3].merge_group
    assert (projects[1].group_title, projects[1].category) == ("一、工程项目", "（一）生活领域")
    assert (projects[4].group_title, projects[4].category) == ("二、配套政策", "")
    plan.refresh_from_db()
    assert plan.printed_project_total == Decimal("16200")
    totals = services.investment_totals(plan)
    assert totals.summed == Decimal("16200") and totals.matches_printed and totals.double_counted == 0
    assert totals.estimated == Decimal("500") and totals.undetermined == [5]
    assert projects[1].capacities == [{"value": "200", "unit": "t/d", "text": "日转运能力200吨/天"}]
    with pytest.raises(RuleViolation):  # the plan has its projects now
        imports.import_file(scope=ADMIN, plan_id=plan.pk, kind="projects", content=content, filename="p.xlsx")


def test_an_unreadable_investment_is_an_error(plan, english):
    rows = [["序号", "项目名称", "主要建设内容及规模", "投资（万元）", "完成年限", "牵头单位"],
            [1, "x", "y", "约300", "2025年", "区生态环境局"]]
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(scope=ADMIN, plan_id=plan.pk, kind="projects", content=workbook(rows), filename="p.xlsx")
    assert [(e["row"], e["column"], e["field"]) for e in caught.value.errors] == [(2, "D", "investment")]


def test_only_the_districts_regulators_register_and_import_plans(db, regulator_of, department_user, client_for):
    kaizhou = regulator_of(KAIZHOU)
    with pytest.raises(PermissionDenied):
        services.create_plan(scope=scope_for(kaizhou), region_code=BANAN, code="x", title="x", start_year=2024,
                             end_year=2025)
    banan = regulator_of(BANAN)
    created = client_for(banan).post("/api/v1/programme/plans", json.dumps({
        "region_code": BANAN, "code": "banan-next", "title": "巴南区下一期方案", "start_year": 2026, "end_year": 2030}),
        content_type="application/json")
    assert created.status_code == 201, created.content
    plan_id = created.json()["id"]
    upload = SimpleUploadedFile("t.xlsx", workbook(TASKS))
    assert client_for(kaizhou).post(f"/api/v1/programme/plans/{plan_id}/imports/tasks",
                                    {"file": upload}).status_code == 404
    upload = SimpleUploadedFile("t.xlsx", workbook(TASKS))
    assert client_for(department_user(BANAN)).post(f"/api/v1/programme/plans/{plan_id}/imports/tasks",
                                                   {"file": upload}).status_code == 404
    upload = SimpleUploadedFile("t.xlsx", workbook(TASKS))
    response = client_for(banan).post(f"/api/v1/programme/plans/{plan_id}/imports/tasks", {"file": upload})
    assert response.status_code == 200 and response.json()["items"] == 5
    bad = [list(r) for r in TASKS]
    bad[2][3] = None
    upload = SimpleUploadedFile("t.xlsx", workbook(bad))
    plan2 = services.create_plan(scope=ADMIN, region_code=BANAN, code="banan-other", title="x", start_year=2026,
                                 end_year=2030)
    rejected = client_for(banan).post(f"/api/v1/programme/plans/{plan2.pk}/imports/tasks", {"file": upload})
    assert rejected.status_code == 422
    assert rejected.json()["errors"][0] | {"message": ""} == {"row": 3, "column": "D", "field": "lead", "message": ""}


def test_the_shipped_csv_goes_through_the_same_import(db):
    content = imports.shipped_file("tasks.csv", "kaizhou")
    parsed = imports.parse("tasks", content, "kaizhou.csv")
    assert not parsed.errors and len(parsed.rows) == 107
    assert Plan.objects.count() == 0


def test_units_link_to_registry_departments_and_organizations(db, make_org, load_plan):
    department = Department.objects.create(name="区城市管理局", region_id=BANAN)
    cooperative = Department.objects.create(name="区供销合作社", region_id=BANAN)
    pangang = make_org("攀钢集团重庆钛业有限公司", region=BANAN)
    load_plan("banan")
    assert ResponsibleUnit.objects.get(name="区城市管理局").department == department
    alias = ResponsibleUnit.objects.get(name="区供销社")  # printed as 区供销社, registered as 区供销合作社
    assert alias.department == cooperative and "alias" in alias.match_note
    assert ResponsibleUnit.objects.get(name="攀钢集团重庆钛业有限公司").organization == pangang
    assert not ResponsibleUnit.objects.get(name="有关镇街").is_linked  # a group of units stays a name


def test_a_regulator_links_a_unit_by_hand(db, load_plan, regulator_of, make_org, english):
    load_plan("kaizhou")
    unit = ResponsibleUnit.objects.get(region_id=KAIZHOU, name="开乾投资集团")
    kaiqian = make_org("重庆开乾投资（集团）有限公司", region=KAIZHOU)
    with pytest.raises(NotFound):  # another district's regulator does not see Kaizhou's units
        services.link_unit(scope=scope_for(regulator_of(BANAN)), unit_id=unit.pk, version=unit.version,
                           organization_id=kaiqian.pk)
    with pytest.raises(ValidationFailed):  # a department of another district
        services.link_unit(scope=scope_for(regulator_of(KAIZHOU)), unit_id=unit.pk, version=unit.version,
                           department_id=Department.objects.create(name="区财政局", region_id=BANAN).pk)
    linked = services.link_unit(scope=scope_for(regulator_of(KAIZHOU)), unit_id=unit.pk, version=unit.version,
                                organization_id=kaiqian.pk)
    assert linked.organization == kaiqian and linked.match_note.startswith("linked by")
