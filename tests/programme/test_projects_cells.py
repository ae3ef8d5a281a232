"""Key projects (status, milestones, spend, the built facility) and zero-waste cells (application → assessment →
certification, counted by type against the plan's targets)."""

import datetime as dt
from decimal import Decimal

import pytest

from tests.conftest import BANAN, KAIZHOU
from tests.programme.conftest import ADMIN
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.scope import scope_for
from wufei.programme import plan_text, services
from wufei.programme.models import CellStatus, KeyProject, ZeroWasteCell
from wufei.registry.models import Department, DepartmentMembership, Site


def _member(make_user, region, name):
    department, _ = Department.objects.get_or_create(name=name, region_id=region)
    user = make_user()
    DepartmentMembership.objects.create(user=user, department=department)
    return user


@pytest.fixture
def world(banan, kaizhou, make_user, make_org, member_of, regulator_of, make_site):
    city = _member(make_user, KAIZHOU, "区城管局")
    office = _member(make_user, KAIZHOU, "区“无废城市”建设工作领导小组办公室")
    lvneng = make_org("重庆绿能新能源有限公司", region=KAIZHOU, roles=("receiver",))
    lvneng_admin = member_of(lvneng)
    services.relink_units(scope=ADMIN, region=kaizhou.region)
    kaizhou.leading_office = Department.objects.get(region_id=KAIZHOU, name="区“无废城市”建设工作领导小组办公室")
    kaizhou.save()
    kitchen = make_site(lvneng, kind=Site.Kind.OPERATING, name="厨余垃圾无害化处理厂",
                        design_capacity_tonnes_per_year=Decimal("54750"), capacity_note="150 t/d（一期50 + 二期100）")
    school = make_org("开州区汉丰湖实验小学", region=KAIZHOU, roles=("generator",))
    return {
        "plan": kaizhou, "banan": banan, "project": lambda n: KeyProject.objects.get(plan=kaizhou, number=n),
        "city": city, "office": office, "lvneng": lvneng, "lvneng_admin": lvneng_admin, "kitchen": kitchen,
        "school": school, "school_admin": member_of(school),
        "regulator": regulator_of(KAIZHOU), "banan_regulator": regulator_of(BANAN),
        "stranger": member_of(make_org("无关企业", region=KAIZHOU)),
    }


def test_a_project_unit_reports_status_percent_and_spend(world):
    project = world["project"](18)  # 开州厨余垃圾项目（二期）, 区城管局, 2021—2022
    assert project.is_overdue(dt.date(2023, 1, 1)) and not project.is_overdue(dt.date(2022, 12, 31))
    made = services.report_on_project(scope=scope_for(world["city"]), project_id=project.pk, status="in_progress",
                                      percent=80, narrative="设备安装中", spend_to_date="1,500.5")
    project.refresh_from_db()
    assert (project.status, project.percent, project.spend_to_date) == ("in_progress", 80, Decimal("1500.50"))
    assert made.spend_to_date == Decimal("1500.50")
    with pytest.raises(ValidationFailed):
        services.report_on_project(scope=scope_for(world["city"]), project_id=project.pk, status="in_progress",
                                   percent=80, narrative="x", spend_to_date="很多")
    with pytest.raises(ValidationFailed):  # items report no spending
        services._clean_report(status="in_progress", percent=1, narrative="x", statuses=["in_progress"],
                               spend_to_date="5", spend_allowed=False)
    with pytest.raises(NotFound):  # not its project
        services.report_on_project(scope=scope_for(world["city"]), project_id=world["project"](19).pk,
                                   status="in_progress", percent=10, narrative="x")
    with pytest.raises(PermissionDenied):  # the leading group sees it but does not report for the unit
        services.report_on_project(scope=scope_for(world["office"]), project_id=project.pk, status="completed",
                                   percent=100, narrative="x")


def test_milestones_are_kept_by_the_project_and_the_leading_group(world):
    project = world["project"](14)
    first = services.add_milestone(scope=scope_for(world["city"]), project_id=project.pk, title="城区转运站建成",
                                   due_date=dt.date(2025, 6, 30))
    second = services.add_milestone(scope=scope_for(world["office"]), project_id=project.pk, title="江里片区转运站建成")
    assert (first.ordinal, second.ordinal) == (1, 2)
    assert first.is_overdue(dt.date(2025, 7, 1))
    done = services.update_milestone(scope=scope_for(world["city"]), milestone_id=first.pk, version=first.version,
                                     done_on=dt.date(2025, 8, 20))
    assert done.done_on == dt.date(2025, 8, 20) and not done.is_overdue(dt.date(2026, 1, 1))
    with pytest.raises(Conflict):
        services.update_milestone(scope=scope_for(world["city"]), milestone_id=first.pk, version=first.version,
                                  note="stale")
    with pytest.raises(ValidationFailed):
        services.update_milestone(scope=scope_for(world["city"]), milestone_id=first.pk, version=done.version,
                                  done_on=dt.date.today() + dt.timedelta(days=3))
    with pytest.raises(NotFound):  # 绿能 is a unit of project 7, not of this one
        services.add_milestone(scope=scope_for(world["lvneng_admin"]), project_id=project.pk, title="x")
    assert services.add_milestone(scope=scope_for(world["regulator"]), project_id=project.pk, title="东里").ordinal == 3
    with pytest.raises(NotFound):
        services.add_milestone(scope=scope_for(world["banan_regulator"]), project_id=project.pk, title="x")


def test_a_completed_project_links_the_facility_it_built(world):
    project = world["project"](18)
    scope = scope_for(world["city"])
    with pytest.raises(RuleViolation) as caught:
        services.link_facility(scope=scope, project_id=project.pk, version=project.version,
                               site_id=world["kitchen"].pk)
    assert caught.value.code == "project_not_built"
    services.report_on_project(scope=scope, project_id=project.pk, status="completed", percent=100,
                               narrative="二期投运", spend_to_date="1980")
    project.refresh_from_db()
    with pytest.raises(NotFound):  # 区城管局 cannot see 绿能's site in the registry: the regulator links it
        services.link_facility(scope=scope, project_id=project.pk, version=project.version,
                               site_id=world["kitchen"].pk)
    linked = services.link_facility(scope=scope_for(world["regulator"]), project_id=project.pk,
                                    version=project.version, site_id=world["kitchen"].pk)
    assert linked.facility == world["kitchen"]
    assert linked.facility.design_capacity_tonnes_per_year == Decimal("54750")
    # the 绿能 unit (an organization) links its own facility itself
    other = world["project"](7)  # 医疗废物应急焚烧处置, 重庆绿能新能源有限公司
    assert other.assignments.get().unit.organization == world["lvneng"]
    services.report_on_project(scope=scope_for(world["lvneng_admin"]), project_id=other.pk, status="completed",
                               percent=100, narrative="技改完成")
    other.refresh_from_db()
    done = services.link_facility(scope=scope_for(world["lvneng_admin"]), project_id=other.pk,
                                  version=other.version, site_id=world["kitchen"].pk)
    assert done.facility_id == world["kitchen"].pk
    unlinked = services.link_facility(scope=scope_for(world["lvneng_admin"]), project_id=other.pk,
                                      version=done.version, site_id=None)
    assert unlinked.facility is None


def test_cells_go_from_application_to_assessment_to_certification(world, english):
    plan = world["plan"]
    school = services.apply_cell(scope=scope_for(world["school_admin"]), plan_id=plan.pk, cell_type="school",
                                 name="开州区汉丰湖实验小学", organization_id=world["school"].pk)
    assert school.status == CellStatus.APPLIED
    with pytest.raises(ValidationFailed):
        services.apply_cell(scope=scope_for(world["school_admin"]), plan_id=plan.pk, cell_type="school",
                            name="开州区汉丰湖实验小学", organization_id=world["school"].pk)
    office = services.apply_cell(scope=scope_for(world["city"]), plan_id=plan.pk, cell_type="office",
                                 name="区城管局（无废机关）", department_id=Department.objects.get(
                                     region_id=KAIZHOU, name="区城管局").pk)
    with pytest.raises(NotFound):  # another district's plan is not the school's to apply to
        services.apply_cell(scope=scope_for(world["school_admin"]), plan_id=world["banan"].pk, cell_type="school",
                            name="x", organization_id=world["school"].pk)
    with pytest.raises(PermissionDenied):  # only the leading group assesses
        services.assess_cell(scope=scope_for(world["school_admin"]), cell_id=school.pk, version=school.version,
                             passed=True)
    with pytest.raises(RuleViolation):  # certified only after passing the assessment
        services.certify_cell(scope=scope_for(world["office"]), cell_id=school.pk, version=school.version)
    with pytest.raises(ValidationFailed):  # a failed assessment says why
        services.assess_cell(scope=scope_for(world["office"]), cell_id=office.pk, version=office.version,
                             passed=False)
    failed = services.assess_cell(scope=scope_for(world["office"]), cell_id=office.pk, version=office.version,
                                  passed=False, score="64", findings="台账不完整")
    assert failed.status == CellStatus.REJECTED
    passed = services.assess_cell(scope=scope_for(world["office"]), cell_id=school.pk, version=school.version,
                                  passed=True, score="91.5")
    assert (passed.status, passed.score) == (CellStatus.ASSESSED, Decimal("91.5"))
    certified = services.certify_cell(scope=scope_for(world["regulator"]), cell_id=school.pk, version=passed.version,
                                      certified_on=dt.date(2025, 11, 22))
    assert certified.status == CellStatus.CERTIFIED and certified.certificate_number == "kaizhou-2023-2025-001"
    visible = set(services.cells_for(scope_for(world["school_admin"])).values_list("name", flat=True))
    assert visible == {"开州区汉丰湖实验小学"}
    assert not services.cells_for(scope_for(world["stranger"])).exists()
    assert not services.cells_for(scope_for(world["banan_regulator"])).exists()


def test_cells_are_counted_by_type_against_kaizhous_30(world):
    plan = world["plan"]
    office_scope = scope_for(world["office"])
    for index in range(7):
        cell = services.apply_cell(scope=office_scope, plan_id=plan.pk, cell_type="office", name=f"机关{index}")
        cell = services.assess_cell(scope=office_scope, cell_id=cell.pk, version=cell.version, passed=True)
        if index < 6:
            services.certify_cell(scope=office_scope, cell_id=cell.pk, version=cell.version)
    services.apply_cell(scope=office_scope, plan_id=plan.pk, cell_type="restaurant", name="开州老街饭店")
    services.apply_cell(scope=office_scope, plan_id=plan.pk, cell_type="hospital", name="开州区人民医院")
    counts = services.cell_counts(plan)
    rows = {row["cell_type"]: row for row in counts["types"]}
    assert (rows["office"]["target"], rows["office"]["certified"], rows["office"]["assessed"],
            rows["office"]["remaining"]) == (10, 6, 1, 4)
    assert (rows["restaurant"]["target"], rows["restaurant"]["applied"], rows["restaurant"]["remaining"]) == (5, 1, 5)
    assert rows["hospital"]["target"] is None and rows["hospital"]["remaining"] is None  # no target printed
    assert rows["school"]["certified"] == 0 and rows["school"]["target"] == 5
    total = counts["total"]
    assert (total["target"], total["certified"], total["applied"], total["remaining"]) == (30, 6, 2, 24)
    assert ZeroWasteCell.objects.filter(plan=plan).count() == 9


def test_investment_cells_are_read_honestly():
    assert plan_text.parse_investment("/") == plan_text.Investment("/", plan_text.UNDETERMINED, None)
    assert plan_text.parse_investment("500*") == plan_text.Investment("500*", plan_text.ESTIMATED, Decimal("500"))
    assert plan_text.parse_investment("5,300") == plan_text.Investment("5,300", plan_text.STATED, Decimal("5300"))
    assert plan_text.parse_investment("") == plan_text.Investment("", plan_text.BLANK, None)
    assert plan_text.parse_investment(1100) == plan_text.Investment("1100", plan_text.STATED, Decimal("1100"))
    assert plan_text.parse_investment("约300").kind == plan_text.UNREADABLE
    rows = [(1, plan_text.parse_investment("200"), "X"), (2, plan_text.parse_investment("200"), "X"),
            (3, plan_text.parse_investment("300"), "Y"), (4, plan_text.parse_investment(""), "Y")]
    totals = plan_text.investment_totals(rows, Decimal("700"))
    assert totals.matches_printed and totals.double_counted == Decimal("200") and totals.counted_once == 500
    assert [g.code for g in totals.flagged_groups] == ["X"]
