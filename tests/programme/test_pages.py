"""The pages: the leading group's board, a unit's to-do list, item and project detail, cells, import errors."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from tests.conftest import BANAN
from tests.programme.conftest import ADMIN
from wufei.programme import services
from wufei.programme.models import CellStatus, KeyProject, ProgressReport, TaskItem, ZeroWasteCell
from wufei.registry.models import Department, DepartmentMembership, Site


def _member(make_user, name):
    department, _ = Department.objects.get_or_create(name=name, region_id=BANAN)
    user = make_user()
    DepartmentMembership.objects.create(user=user, department=department)
    return user


@pytest.fixture
def client_for(client_for, settings):
    """Logged-in clients reading the pages in English (the platform's default is zh-hans)."""

    def make(user):
        client = client_for(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return make


@pytest.fixture
def world(banan, make_user, make_org, make_site, client_for, regulator_of, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    office = _member(make_user, "区无废办")
    city = _member(make_user, "区城市管理局")
    economy = _member(make_user, "区经济信息委")
    pangang = make_org("攀钢集团重庆钛业有限公司", region=BANAN)
    site = make_site(pangang, kind=Site.Kind.SELF_UTILIZATION, name="钛石膏综合利用设施（低温干燥）",
                     capacity_note="滤饼 >40万t/a")
    services.relink_units(scope=ADMIN, region=banan.region)
    banan.leading_office = Department.objects.get(region_id=BANAN, name="区无废办")
    banan.save()
    return {"plan": banan, "office": client_for(office), "city": client_for(city), "economy": client_for(economy),
            "regulator": client_for(regulator_of(BANAN)), "site": site}


def listed(response) -> int:
    """Rows of the board's task table."""
    text = response.content.decode()
    table = text[text.index('data-testid="items"'):]
    return table[:table.index("</table>")].count('href="/programme/items/')


def test_the_board_by_section_unit_status_and_overdue(world):
    plan = world["plan"]
    page = world["office"].get(reverse("programme:board", args=[plan.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    for testid in ("totals", "by-section", "by-unit", "items", "cell-counts", "double-counted"):
        assert f'data-testid="{testid}"' in text, testid
    assert "（八）巩固建设试点成果，推广试点经验模式。" in text and "区市场监管局" in text
    assert text.count('<tr class="expired">') == 88  # as of today every row with a deadline is past it (90 - 2 blank)
    section = plan.sections.get(ordinal=3)
    narrowed = world["office"].get(reverse("programme:board", args=[plan.pk]) + f"?section={section.pk}")
    assert listed(narrowed) == 7
    unit = services.units_for(ADMIN, plan_id=plan.pk).get(name="区供销社")
    by_unit = world["office"].get(reverse("programme:board", args=[plan.pk]) + f"?unit={unit.pk}&overdue=1")
    assert listed(by_unit) == 3  # rows 23, 72, 74
    done = world["office"].get(reverse("programme:board", args=[plan.pk]) + "?status=completed")
    assert listed(done) == 0
    assert world["city"].get(reverse("programme:board", args=[plan.pk])).status_code == 302  # an error message


def test_a_unit_reports_from_its_to_do_list(world):
    plan = world["plan"]
    todo = world["city"].get(reverse("programme:todo")).content.decode()
    assert 'data-testid="todo-items"' in todo and "完成9座生活垃圾转运站建设" in todo
    item = TaskItem.objects.get(plan=plan, number=37)
    response = world["city"].post(reverse("programme:item_detail", args=[item.pk]), {
        "status": "in_progress", "percent": "70", "narrative": "已建成6座", "version": item.version,
        "evidence": SimpleUploadedFile("照片.jpg", b"\xff\xd8jpeg")})
    assert response.status_code == 302
    report = ProgressReport.objects.get(item=item)
    assert report.percent == 70 and report.evidence.get().name == "照片.jpg"
    page = world["city"].get(reverse("programme:item_detail", args=[item.pk])).content.decode()
    assert "已建成6座" in page and "照片.jpg" in page
    bad = world["city"].post(reverse("programme:item_detail", args=[item.pk]),
                             {"status": "completed", "percent": "50", "narrative": "x"}, follow=True)
    assert "report is not valid" in bad.content.decode()
    office_view = world["office"].get(reverse("programme:item_detail", args=[item.pk])).content.decode()
    assert "已建成6座" in office_view and 'data-testid="report-form"' not in office_view


def test_a_project_page_with_milestones_spend_and_its_facility(world):
    project = KeyProject.objects.get(plan=world["plan"], number=4)  # 建设钛石膏综合利用设施, 区经济信息委
    url = reverse("programme:project_detail", args=[project.pk])
    world["economy"].post(url, {"action": "milestone", "title": "设备安装调试", "due_date": "2023-06-30"})
    milestone = project.milestones.get()
    world["economy"].post(url, {"action": "milestone_done", "milestone": milestone.pk, "version": milestone.version})
    milestone.refresh_from_db()
    assert milestone.done_on is not None
    world["economy"].post(url, {"action": "report", "status": "completed", "percent": "100", "narrative": "投运",
                                "spend_to_date": "3000"})
    project.refresh_from_db()
    assert project.status == "completed" and project.spend_to_date == 3000
    world["office"].post(url, {"action": "facility", "version": project.version, "site": world["site"].pk})
    project.refresh_from_db()
    assert project.facility is None  # the office sees no enterprise's sites in the registry: the regulator links it
    world["regulator"].post(url, {"action": "facility", "version": project.version, "site": world["site"].pk})
    project.refresh_from_db()
    assert project.facility == world["site"]
    page = world["office"].get(url).content.decode()
    assert 'data-testid="milestones"' in page and "设备安装调试" in page and "40万t/a" in page
    listing = world["office"].get(reverse("programme:project_list", args=[world["plan"].pk])).content.decode()
    assert 'data-testid="investment"' in listing and "10600" in listing and "5,300" in listing


def test_cells_are_applied_assessed_and_certified_on_the_page(world):
    plan = world["plan"]
    url = reverse("programme:cells", args=[plan.pk])
    department = Department.objects.get(region_id=BANAN, name="区城市管理局")
    world["city"].post(url, {"cell_type": "office", "name": "区城市管理局（无废机关）", "department": department.pk})
    cell = ZeroWasteCell.objects.get(plan=plan)
    assert cell.department == department and cell.status == CellStatus.APPLIED
    world["office"].post(reverse("programme:cell_review", args=[cell.pk, "assess"]),
                         {"version": cell.version, "passed": "1", "score": "90"})
    cell.refresh_from_db()
    world["office"].post(reverse("programme:cell_review", args=[cell.pk, "certify"]), {"version": cell.version})
    cell.refresh_from_db()
    assert cell.status == CellStatus.CERTIFIED and cell.certificate_number
    page = world["office"].get(url).content.decode()
    assert 'data-testid="cell-counts"' in page and cell.certificate_number in page
    assert world["city"].post(reverse("programme:cell_review", args=[cell.pk, "assess"]),
                              {"version": cell.version, "passed": "1"}).status_code == 302


def test_an_import_with_errors_lists_them_by_row_and_column(world):
    plan = services.create_plan(scope=ADMIN, region_code=BANAN, code="banan-empty", title="空方案", start_year=2026,
                                end_year=2030)
    book = Workbook()
    book.active.append(["序号", "任务", "内容", "牵头单位", "完成时限"])
    book.active.append([1, "x", "y", None, "2030年"])
    out = io.BytesIO()
    book.save(out)
    client = world["regulator"]
    response = client.post(reverse("programme:import", args=[plan.pk, "tasks"]),
                           {"file": SimpleUploadedFile("t.xlsx", out.getvalue())})
    assert response.status_code == 422
    text = response.content.decode()
    assert 'data-testid="import-errors"' in text and "<td>D</td>" in text
    assert not plan.items.exists()
    assert client.get(reverse("programme:plan_list")).status_code == 200
