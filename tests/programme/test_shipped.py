"""The shipped Banan and Kaizhou lists load with the plans' counts and totals, re-added by the code.

Golden values are the plans' (shared/research/seeds_001_004.md §3.1, §3.3, §3.4, Appendices A and B).
"""

import csv
from collections import Counter
from decimal import Decimal

import pytest

from wufei.programme import imports, plan_text, services
from wufei.programme.models import KeyProject, ResponsibleUnit, Role, TaskAssignment, TaskItem

BANAN_SECTIONS = [5, 14, 7, 19, 8, 12, 14, 11]  # §3.1
KAIZHOU_SECTIONS = [16, 25, 23, 6, 13, 7, 9, 8]


def test_the_shipped_files_hold_every_row():
    with open(imports.DATA / "tasks.csv", encoding="utf-8") as handle:
        tasks = Counter(row["plan"] for row in csv.DictReader(handle))
    with open(imports.DATA / "projects.csv", encoding="utf-8") as handle:
        projects = Counter(row["plan"] for row in csv.DictReader(handle))
    assert tasks == {"banan": 90, "kaizhou": 107}
    assert projects == {"banan": 15, "kaizhou": 28}


def test_banan_loads_90_rows_in_its_eight_sections(banan):
    assert banan.items.count() == 90
    assert [n for n in (s.items.count() for s in _sections(banan))] == BANAN_SECTIONS
    assert sorted(banan.items.values_list("number", flat=True)) == list(range(1, 91))
    assert banan.sections.first().title == "（一）统筹谋划协同推进，科学设计无废建设蓝图"


def _sections(plan):
    for section in plan.sections.order_by("ordinal"):
        section.items = TaskItem.objects.filter(task__section=section)
        yield section


def test_kaizhou_loads_107_rows_in_its_eight_sections(kaizhou):
    assert kaizhou.items.count() == 107
    assert [s.items.count() for s in _sections(kaizhou)] == KAIZHOU_SECTIONS
    assert kaizhou.issued_on.isoformat() == "2023-04-24" and kaizhou.reporting_starts_on == kaizhou.issued_on


def test_merged_task_names_make_one_task_with_several_items(banan, kaizhou):
    # B 6–7 share 加快产业绿色转型; B 8–14 推进工业绿色生产。
    first = banan.items.get(number=6).task
    assert list(first.items.values_list("number", flat=True)) == [6, 7]
    assert first.name == "加快产业绿色转型"
    assert list(banan.items.get(number=8).task.items.values_list("number", flat=True)) == list(range(8, 15))
    assert banan.tasks.count() == 36
    # K 65–69: the name cell is blank in the source; the body text's name is kept apart
    blank = kaizhou.items.get(number=65).task
    assert list(blank.items.values_list("number", flat=True)) == [65, 66, 67, 68, 69]
    assert blank.name == "" and blank.inferred_name == "推进建筑垃圾源头减量" and "blank" in blank.note
    assert kaizhou.items.get(number=70).task.name == "强化建筑垃圾资源化利用"
    assert kaizhou.tasks.count() == 33


def test_units_are_split_and_kept_as_printed(banan, kaizhou):
    item = banan.items.get(number=71)
    leads = [a.unit.name for a in item.assignments.filter(role=Role.LEAD).order_by("position")]
    assert leads == ["区财政局", "区发展改革委", "区生态环境局"]
    assert item.lead_text == "区财政局、区发展改革委、区生态环境局"
    assert banan.items.get(number=80).assignments.filter(role=Role.LEAD).count() == 7
    assert not banan.items.get(number=7).assignments.filter(role=Role.RESPONSIBLE).exists()  # "—"
    assert not kaizhou.items.get(number=36).assignments.filter(role=Role.RESPONSIBLE).exists()  # "/"
    duplicate = kaizhou.items.get(number=53)  # 区乡村振兴局 printed twice
    names = [a.unit.name for a in duplicate.assignments.filter(role=Role.RESPONSIBLE)]
    assert names.count("区乡村振兴局") == 1 and "printed twice: 区乡村振兴局" in duplicate.note
    assert "光大（集团）有限公司" in {a.unit.name for a in banan.items.get(number=25).assignments.all()}
    kinds = dict(ResponsibleUnit.objects.values_list("name", "kind"))
    assert kinds["各乡镇（街道）"] == plan_text.GROUP and kinds["浦里新区管委会"] == plan_text.PARK
    assert kinds["攀钢集团重庆钛业有限公司"] == plan_text.ENTERPRISE and kinds["区生态环境局"] == plan_text.DEPARTMENT
    lead_counts = Counter(TaskAssignment.objects.filter(item__plan=banan, role=Role.LEAD)
                          .values_list("unit__name", flat=True))
    assert lead_counts["区生态环境局"] == 29 and lead_counts["区城市管理局"] == 18  # §3.1


def test_banan_investment_re_added_flags_the_double_counted_5300(banan):
    totals = services.investment_totals(banan)
    assert totals.printed == Decimal("15900")
    assert totals.summed == Decimal("15900") and totals.matches_printed
    assert totals.estimated == Decimal("700")  # 500* + 200*
    assert totals.undetermined == [1, 2, 3, 5, 6, 7, 8, 12]  # "/"
    (group,) = totals.flagged_groups
    assert group.numbers == [10, 11] and group.figures == [Decimal("5300"), Decimal("5300")]
    assert totals.double_counted == Decimal("5300")
    assert totals.counted_once == Decimal("10600")
    eleven = banan.projects.get(number=11)
    assert eleven.name == "" and eleven.investment_text == "5300" and eleven.merge_group == "B10-11"
    ten = banan.projects.get(number=10)
    assert ten.investment_text == "5,300" and ten.investment == Decimal("5300")


def test_banan_investment_cells_keep_what_is_printed(banan):
    readings = {p.number: (p.investment_text, p.investment_kind, p.investment) for p in banan.projects.all()}
    assert readings[1] == ("/", plan_text.UNDETERMINED, None)
    assert readings[9] == ("1,100", plan_text.STATED, Decimal("1100"))
    assert readings[14] == ("500*", plan_text.ESTIMATED, Decimal("500"))
    assert readings[15] == ("200*", plan_text.ESTIMATED, Decimal("200"))
    assert banan.projects.count() == 15


def test_kaizhou_investment_re_added_counts_the_merged_13700_once(kaizhou):
    totals = services.investment_totals(kaizhou)
    assert totals.printed == Decimal("159050") and totals.summed == Decimal("159050") and totals.matches_printed
    assert totals.double_counted == 0 and totals.blank == [15, 16]
    assert [g.numbers for g in totals.groups] == [[14, 15, 16]]
    assert kaizhou.projects.count() == 28
    by_category = {}
    for project in kaizhou.projects.all():
        by_category[project.category or project.group_title] = \
            by_category.get(project.category or project.group_title, 0) + (project.investment or 0)
    assert by_category == {"（一）工业领域": 57800, "（二）农业农村领域": 13000, "（三）生活领域": 72200,
                           "（四）建筑垃圾": 15000, "二、配套政策及无废细胞建设": 1050}  # §3.4 checks


def test_project_periods_and_capacities_are_read(kaizhou, banan):
    first = kaizhou.projects.get(number=1)
    assert (first.deadline_kind, first.start_date.year, first.due_date.isoformat()) == ("range", 2021, "2024-12-31")
    assert banan.projects.get(number=5).due_date.isoformat() == "2023-12-31"
    capacities = {p.number: [(c["value"], c["unit"]) for c in p.capacities] for p in kaizhou.projects.all()}
    assert capacities[14] == [("200", "t/d")]
    assert capacities[19] == [("150", "t/d")]
    assert capacities[20] == [("20000", "vehicles/a")]
    assert capacities[5] == [("1500", "t/a")]
    assert capacities[3] == [("800000", "t/a")]
    assert capacities[8] == [("5", "t/d")]


def test_cell_targets_come_from_the_task_lists(kaizhou, banan):
    targets = dict(kaizhou.cell_targets.values_list("cell_type", "target"))
    assert targets == {"": 30, "office": 10, "school": 5, "scenic_area": 2, "residential": 6,
                       "business_district": 2, "restaurant": 5}
    assert sum(v for k, v in targets.items() if k) == 30
    assert dict(banan.cell_targets.values_list("cell_type", "target")) == {"": 108}
    assert services.cell_counts(kaizhou)["total"]["target"] == 30


def test_task_rows_link_to_the_indicators_they_name(banan, kaizhou):
    assert banan.items.get(number=26).indicator_names == ["畜禽粪污综合利用率"]
    assert "秸秆综合利用率" in kaizhou.items.get(number=30).indicator_names
    linked = {i.number: i.indicator_names for i in banan.items.exclude(indicator_names=[])}
    assert linked == {22: ["秸秆综合利用率"], 23: ["农膜回收"], 26: ["畜禽粪污综合利用率"]}  # names printed verbatim


def test_every_row_is_in_the_audit_chain(banan):
    from wufei.core.audit import verify_chain
    from wufei.core.models import AuditEvent

    assert AuditEvent.objects.filter(entity_type="programme.taskitem", action="created").count() == 90 + 107
    assert verify_chain().ok


def test_loading_twice_is_refused(banan):
    from tests.programme.conftest import ADMIN
    from wufei.core.errors import Conflict

    with pytest.raises(Conflict):
        imports.load_shipped(scope=ADMIN, key="banan")
    assert KeyProject.objects.filter(plan=banan).count() == 15
