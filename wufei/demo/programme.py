"""Plan implementation demo: the Banan and Kaizhou task lists and key projects, three years of progress, cells.

`build(stdout)` is called by `wufei demo` after the registry demo (whose departments and
organizations the plans' units are matched to), inside `audit.acting_as("demo")`.

* The shipped plans (wufei/programme/data/, from the plans' 附件2 and 附件3) are loaded through the
  import path: Banan 90 task rows and 15 key projects (re-added 15900万元 = the printed 合计, which
  counts the 5300 of merged rows 10–11 twice), Kaizhou 107 rows and 28 projects (159050万元).
* Accounts: `leading-office` (Banan 区无废办) and `kaizhou-office` (Kaizhou 区“无废城市”建设工作领导小组
  办公室) oversee their plan's board; the registry demo's `department` (Banan 区城市管理局) gets its
  to-do list; the `regulator` / `kaizhou-regulator` accounts see their district's board.
* Progress (synthetic, seeded by plan and row): each lead unit that has an account reports on its
  rows as of days between the plan's start and the build (the clock is set to each report's day, as
  the ledgers demo does): rows whose deadline has passed are mostly completed (some late, some still
  open and so overdue), the others mostly in progress; open rows are reported in the last period
  that has fallen due. A few units never report (Banan 区市场监管局 and 重庆市邮政管理局六分局, Kaizhou
  区金融事务中心 and 区银保监组) and 区城市管理局 skips two rows, so the board shows missing reports.
  Units standing for a group (各乡镇（街道）) or not registered (开乾投资集团 …) cannot report.
* Key projects: status, spend to date and milestones for the ones the plans describe best; the
  completed ones that built a facility the registry demo has are linked to it (攀钢 钛石膏综合利用设施,
  绿能 厨余垃圾无害化处理厂, 万青 生活垃圾炉渣综合利用线, 植本 植物纤维模塑生产线).
* Zero-waste cells: Kaizhou's 30 by type (K task 95) part-way (certified, assessed, applied, one not
  passed); Banan a dozen of its 108 (the plan names types 园区、工厂、学校、景区、商场). Cell names
  other than departments are fictitious.
"""

import contextlib
import datetime as dt
import random
from decimal import Decimal
from unittest import mock

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from wufei.core import audit
from wufei.core.scope import Scope
from wufei.demo.registry import ADMIN_SCOPE, BANAN, DEMO_ACTOR, DEMO_EMAIL_DOMAIN, DEMO_PASSWORD, KAIZHOU
from wufei.demo.writer import Writer
from wufei.programme import imports, plan_text, services
from wufei.programme.models import (
    CellStatus,
    KeyProject,
    Plan,
    Progress,
    ProjectStatus,
    ResponsibleUnit,
    Role,
    ZeroWasteCell,
)
from wufei.registry import services as registry
from wufei.registry.models import Department, Organization, Site

SEED = 2026
_REAL_NOW = timezone.now
PLANS = {"banan": "banan-2022", "kaizhou": "kaizhou-2023"}
ACCOUNTS = [  # username, region, department
    ("leading-office", BANAN, "区无废办"),
    ("kaizhou-office", KAIZHOU, "区“无废城市”建设工作领导小组办公室"),
]
SILENT = {BANAN: {"区市场监管局", "重庆市邮政管理局六分局"}, KAIZHOU: {"区金融事务中心", "区银保监组"}}
SKIPPED = {(BANAN, "区城市管理局"): 2}  # rows of that unit left without a report (its to-do shows them due)

# plan key, project number: status, percent, spend (万元), facility (organization, site name), milestones
PROJECTS = {
    ("banan", 4): ("completed", 100, "3000", ("攀钢集团重庆钛业有限公司", "钛石膏综合利用设施（低温干燥）"),
                   [("设备安装调试", "2023-06-30", "2023-06-12"), ("试运行", "2023-12-31", "2023-11-20"),
                    ("正常运行、钛石膏综合利用率提高", "2024-12-31", "2024-09-30")]),
    ("banan", 5): ("in_progress", 70, None, None,
                   [("项目备案", "2022-12-31", "2022-11-15"), ("设备采购", "2023-06-30", "2023-10-08"),
                    ("建成投运", "2023-12-31", None)]),
    ("banan", 11): ("in_progress", 78, "4100", None,
                    [(f"{name}建成", "2025-12-31", done) for name, done in [
                        ("李家沱转运站", "2023-09-30"), ("鱼洞转运站", "2023-12-20"), ("惠民转运站", "2024-05-31"),
                        ("天星寺转运站", "2024-08-15"), ("麻柳嘴转运站", "2024-11-30"), ("双河口转运站", "2025-06-30"),
                        ("丰盛转运站", None), ("二圣转运站", None), ("石滩转运站", None)]]),
    ("banan", 12): ("completed", 100, None, None, [("市级平台开通区级账号", "2022-06-30", "2022-05-20")]),
    ("banan", 13): ("completed", 100, "480", None, [("集中收集点投运", "2023-06-30", "2023-04-28")]),
    ("banan", 14): ("in_progress", 65, "310", None,
                    [("需求调研", "2023-06-30", "2023-05-30"), ("一企一档、一物一码上线", "2024-12-31", "2024-12-16"),
                     ("预警模块上线", "2025-12-31", None)]),
    ("banan", 15): ("in_progress", 40, "80", None, [("快速检测设备采购", "2025-06-30", None)]),
    ("kaizhou", 1): ("completed", 100, "28600", ("重庆植本环保科技有限公司", "植物纤维模塑生产线"),
                     [("厂房建成", "2023-06-30", "2023-08-10"), ("生产线投产", "2024-12-31", "2024-10-18")]),
    ("kaizhou", 2): ("completed", 100, "1950", ("重庆万青环保科技有限公司", "生活垃圾炉渣综合利用线"),
                     [("筛分水洗系统建成", "2024-06-30", "2024-05-20"), ("透水砖线投产", "2025-06-30", "2025-04-02")]),
    ("kaizhou", 5): ("in_progress", 85, "690", None,
                     [("选址及环评批复", "2022-06-30", "2022-09-15"), ("主体建成", "2023-06-30", "2024-03-01"),
                      ("取得经营许可证", "2023-12-31", None)]),
    ("kaizhou", 14): ("in_progress", 60, "5200", None,
                      [("城区转运站建成", "2025-06-30", "2025-08-20"), ("江里片区转运站建成", "2025-12-31", None),
                       ("东里片区转运站建成", "2025-12-31", None)]),
    ("kaizhou", 18): ("completed", 100, "1980", ("重庆绿能新能源有限公司", "厨余垃圾无害化处理厂"),
                      [("二期设备安装", "2022-06-30", "2022-07-15"),
                       ("二期投运（100吨/天）", "2022-12-31", "2023-05-10")]),
    ("kaizhou", 19): ("in_progress", 45, "7300", None,
                      [("可研批复", "2023-12-31", "2023-11-30"), ("主体工程", "2025-06-30", None)]),
    ("kaizhou", 20): ("completed", 100, "3400", None, [("拆解场建成", "2023-12-31", "2023-12-05")]),
    ("kaizhou", 27): ("in_progress", 70, "330", None,
                      [("印发创建标准", "2023-12-31", "2023-10-16"), ("首批命名", "2024-12-31", "2024-11-22"),
                       ("第二批命名", "2025-12-31", "2025-12-10")]),
}

# type, name, status, organization or department name (blank: none)
KAIZHOU_CELLS = [
    *[("office", f"{name}（无废机关）", status, name) for name, status in [
        ("区生态环境局", "certified"), ("区城管局", "certified"), ("区发展改革委", "certified"),
        ("区经济信息委", "certified"), ("区住房城乡建委", "certified"), ("区商务委", "certified"),
        ("区机关事务中心", "certified"), ("区农业农村委", "assessed"), ("区卫生健康委", "assessed"),
        ("区教委", "applied")]],
    ("school", "开州区汉丰湖实验小学", "certified", ""), ("school", "开州区文峰中学", "certified", ""),
    ("school", "开州区云枫小学", "certified", ""), ("school", "开州区白鹤中学", "certified", ""),
    ("school", "开州区临江镇中心小学", "rejected", ""),
    ("scenic_area", "汉丰湖景区", "certified", ""), ("scenic_area", "雪宝山景区", "applied", ""),
    ("residential", "滨湖花园小区", "certified", ""), ("residential", "盛山名苑小区", "certified", ""),
    ("residential", "文峰新村小区", "certified", ""), ("residential", "云枫佳苑小区", "applied", ""),
    ("residential", "镇东和苑小区", "applied", ""),
    ("business_district", "开州区汉丰商圈", "certified", ""),
    ("restaurant", "开州老街饭店", "certified", ""), ("restaurant", "汉丰湖渔家饭店", "certified", ""),
    ("restaurant", "盛山大酒店", "certified", ""), ("restaurant", "乐和农家饭店", "applied", ""),
]
BANAN_CELLS = [
    ("park", "巴南经济园区（无废园区）", "certified", ""), ("park", "重庆国际生物城（无废园区）", "certified", ""),
    ("factory", "攀钢集团重庆钛业有限公司", "certified", "攀钢集团重庆钛业有限公司"),
    ("factory", "重庆惠科金渝光电科技有限公司", "certified", "重庆惠科金渝光电科技有限公司"),
    ("school", "巴南区鱼洞第二小学", "certified", ""), ("school", "巴南区李家沱中学", "certified", ""),
    ("scenic_area", "南泉景区", "certified", ""), ("scenic_area", "东温泉景区", "certified", ""),
    ("mall", "万达广场巴南店", "certified", ""), ("office", "区生态环境局（无废机关）", "certified", "区生态环境局"),
    ("office", "区城市管理局（无废机关）", "assessed", "区城市管理局"),
    ("hospital", "巴南区人民医院", "applied", ""),
]

NARRATIVE = {
    Progress.IN_PROGRESS: ["已制定工作方案，正在按计划推进。", "已完成阶段性目标，下阶段继续推进。",
                           "已召开专题会议部署，相关措施正在落实。"],
    Progress.COMPLETED: ["已按要求完成，形成长效机制。", "任务已完成，相关材料已归档备查。"],
    Progress.NOT_STARTED: ["尚未启动，正在协调资金和实施主体。"],
}


def is_built() -> bool:
    return get_user_model().objects.filter(username="leading-office", email__endswith=DEMO_EMAIL_DOMAIN).exists() \
        and Plan.objects.filter(code=PLANS["banan"]).exists()


@contextlib.contextmanager
def _on(moment: dt.datetime):
    """Run the service calls inside as of `moment` (a past moment); the build's own time when it has not come."""
    real = _REAL_NOW()
    if moment >= real - dt.timedelta(minutes=1):
        yield real
        return
    moment = moment.astimezone(dt.UTC)
    with mock.patch.object(timezone, "now", lambda: moment):
        yield moment


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=services.LOCAL)


def _unit_scope(unit: ResponsibleUnit) -> Scope | None:
    if unit.department_id:
        return Scope(username=DEMO_ACTOR, department_ids=frozenset({unit.department_id}))
    if unit.organization_id:
        ids = frozenset({unit.organization_id})
        return Scope(username=DEMO_ACTOR, organization_ids=ids, writable_organization_ids=ids)
    return None


def build(stdout=None) -> dict:
    say = Writer(stdout)
    today = timezone.localdate()
    counts = {"reports": 0, "milestones": 0, "cells": 0}
    with audit.acting_as(DEMO_ACTOR), transaction.atomic():
        plans = {}
        for key, code in PLANS.items():
            plan = Plan.objects.filter(code=code).first()
            if plan is None:
                plan = imports.load_shipped(scope=ADMIN_SCOPE, key=key)
            else:
                services.relink_units(scope=ADMIN_SCOPE, region=plan.region)
            plans[key] = plan
            totals = services.investment_totals(plan)
            say(f"  {code}: {plan.items.count()} task rows, {plan.projects.count()} key projects, investment "
                f"re-added {totals.summed:f} (printed {totals.printed:f}"
                + (f"; {totals.double_counted:f} counted twice" if totals.double_counted else "") + ")")
        _add_accounts(plans, say)
        for key, plan in plans.items():
            counts["reports"] += _report_items(plan, today)
            project_reports, milestones = _projects(key, plan, today)
            counts["reports"] += project_reports
            counts["milestones"] += milestones
        counts["cells"] += _cells(plans["kaizhou"], KAIZHOU_CELLS, today)
        counts["cells"] += _cells(plans["banan"], BANAN_CELLS, today)
        say(f"  progress reports: {counts['reports']}, milestones: {counts['milestones']}, "
            f"zero-waste cells: {counts['cells']}")
    return counts


def _add_accounts(plans: dict, say) -> None:
    User = get_user_model()
    hashed = make_password(DEMO_PASSWORD)
    for username, region, name in ACCOUNTS:
        department = Department.objects.filter(region_id=region, name=name).first()
        if department is None:
            continue
        user = User.objects.filter(username=username).first()
        if user is not None and not user.email.endswith("@" + DEMO_EMAIL_DOMAIN):
            say(f"  account {username!r} already exists and is not a demo account: left unchanged")
            continue
        if user is None:
            user = User(username=username, email=f"{username}@{DEMO_EMAIL_DOMAIN}", first_name="leading group office")
            user.password = hashed
            user.save()
        registry.add_department_member(scope=ADMIN_SCOPE, department_id=department.pk, username=username)
        plan = next(p for p in plans.values() if p.region_id == region)
        if plan.leading_office_id != department.pk:
            plan.leading_office, plan.leading_office_name = department, department.name
            plan.save(audit_action="leading_office_set")
        say(f"  account {username} (password {DEMO_PASSWORD}): {name}, the {plan.code} board")


def _report_items(plan: Plan, today: dt.date) -> int:
    period = services.last_due_period(today, region=plan.region)
    recent = max(plan.reporting_starts_on, period.start) + dt.timedelta(days=20)
    skipped: dict[int, int] = {}
    count = 0
    for item in services.items_for(ADMIN_SCOPE, plan_id=plan.pk).order_by("number"):
        rng = random.Random(f"{SEED}:{plan.code}:{item.number}")
        leads = [a.unit for a in item.assignments.all() if a.role == Role.LEAD]
        reporters = [u for u in leads if u.kind != plan_text.GROUP and u.name not in SILENT.get(plan.region_id, ())
                     and _unit_scope(u) is not None]
        if not reporters:
            continue
        unit = reporters[0]
        quota = SKIPPED.get((plan.region_id, unit.name), 0)
        if quota and skipped.get(unit.pk, 0) < quota and item.due_date and item.due_date >= dt.date(2025, 1, 1):
            skipped[unit.pk] = skipped.get(unit.pk, 0) + 1
            continue
        due = item.due_date or dt.date(plan.end_year, 12, 31)
        roll = rng.random()
        if due < today:
            outcome = Progress.COMPLETED if roll < 0.78 else Progress.IN_PROGRESS if roll < 0.95 else None
        else:
            outcome = Progress.COMPLETED if roll < 0.15 else Progress.IN_PROGRESS
        if outcome is None:
            continue
        start = plan.reporting_starts_on + dt.timedelta(days=30 + rng.randint(0, 120))
        steps = [(start, Progress.IN_PROGRESS, rng.randint(20, 50))]
        if outcome == Progress.COMPLETED:
            finished = due + dt.timedelta(days=rng.randint(-240, 45))
            finished = min(max(finished, start + dt.timedelta(days=60)), today - dt.timedelta(days=2))
            steps.append((finished, Progress.COMPLETED, 100))
        else:
            steps.append((min(recent, today - dt.timedelta(days=1)), Progress.IN_PROGRESS, rng.randint(55, 90)))
        scope = _unit_scope(unit)
        for day, status, percent in steps:
            with _on(_at(day, 9 + rng.randint(0, 8))):
                services.report_on_item(scope=scope, item_id=item.pk, unit_id=unit.pk, status=status, percent=percent,
                                        narrative=rng.choice(NARRATIVE[status]))
            count += 1
    return count


def _projects(key: str, plan: Plan, today: dt.date) -> tuple[int, int]:
    reports = milestones = 0
    for project in KeyProject.objects.filter(plan=plan).order_by("number"):
        spec = PROJECTS.get((key, project.number))
        units = [a.unit for a in project.assignments.select_related("unit")]
        reporter = next((u for u in units if _unit_scope(u) is not None), None)
        if spec is None:
            rng = random.Random(f"{SEED}:{plan.code}:project:{project.number}")
            roll = rng.random()
            status, percent = (("completed", 100) if roll < 0.4 else ("in_progress", rng.randint(30, 90))
                               if roll < 0.85 else ("planned", 0))
            spec = (status, percent, None, None, [])
        status, percent, spend, facility, steps = spec
        for title, due, done in steps:
            with _on(_at(dt.date.fromisoformat(due) - dt.timedelta(days=200))):
                milestone = services.add_milestone(scope=ADMIN_SCOPE, project_id=project.pk, title=title,
                                                   due_date=dt.date.fromisoformat(due))
            milestones += 1
            if done and dt.date.fromisoformat(done) < today:
                with _on(_at(dt.date.fromisoformat(done), 16)):
                    services.update_milestone(scope=ADMIN_SCOPE, milestone_id=milestone.pk, version=milestone.version,
                                              done_on=dt.date.fromisoformat(done))
        if reporter is None or status == "planned":
            continue
        done_days = [dt.date.fromisoformat(d) for _t, _due, d in steps if d]
        day = max(done_days) if status == "completed" and done_days else today - dt.timedelta(days=25)
        day = min(max(day, plan.reporting_starts_on + dt.timedelta(days=20)), today - dt.timedelta(days=1))
        narrative = "项目已建成投运。" if status == ProjectStatus.COMPLETED else "项目建设中，按节点推进。"
        with _on(_at(day, 15)):
            services.report_on_project(scope=_unit_scope(reporter), project_id=project.pk, unit_id=reporter.pk,
                                       status=status, percent=percent, narrative=narrative,
                                       spend_to_date=Decimal(spend) if spend else None)
        reports += 1
        if facility:
            organization, site_name = facility
            site = Site.objects.filter(organization__name=organization, name=site_name).first()
            if site is not None:
                project.refresh_from_db()
                services.link_facility(scope=ADMIN_SCOPE, project_id=project.pk, version=project.version,
                                       site_id=site.pk)
    return reports, milestones


def _cells(plan: Plan, cells: list, today: dt.date) -> int:
    count = 0
    start = max(plan.reporting_starts_on, dt.date(plan.start_year, 3, 1))
    for index, (cell_type, name, status, owner) in enumerate(cells):
        if ZeroWasteCell.objects.filter(plan=plan, cell_type=cell_type, name=name).exists():
            continue
        rng = random.Random(f"{SEED}:{plan.code}:cell:{name}")
        department = Department.objects.filter(region=plan.region, name=owner).first() if owner else None
        organization = Organization.objects.filter(name=owner).first() if owner and not department else None
        applied = min(start + dt.timedelta(days=60 + index * 25), today - dt.timedelta(days=40))
        with _on(_at(applied)):
            cell = services.apply_cell(scope=ADMIN_SCOPE, plan_id=plan.pk, cell_type=cell_type, name=name,
                                       application="对照“无废城市细胞”建设标准完成源头减量、分类收集和资源化利用措施，"
                                                   "提交创建材料。",
                                       organization_id=organization.pk if organization else None,
                                       department_id=department.pk if department else None)
        count += 1
        if status == CellStatus.APPLIED:
            continue
        assessed = applied + dt.timedelta(days=20 + rng.randint(0, 20))
        passed = status != CellStatus.REJECTED
        with _on(_at(assessed)):
            cell = services.assess_cell(
                scope=ADMIN_SCOPE, cell_id=cell.pk, version=cell.version, passed=passed,
                score=Decimal(rng.randint(82, 96)) if passed else Decimal(64),
                findings="" if passed else "垃圾分类设施不足，台账不完整，整改后可重新申报。")
        if status == CellStatus.CERTIFIED:
            with _on(_at(assessed + dt.timedelta(days=15))):
                services.certify_cell(scope=ADMIN_SCOPE, cell_id=cell.pk, version=cell.version)
    return count


def reset(organization_ids: list[int]) -> int:
    """Delete the plans the demo loaded, with everything hanging off them, and the units only they used.

    Called by `wufei demo --reset` before the registry rows go (units point at its departments and
    organizations); plans someone else loaded (`wufei programme_load`) are left. One audit event records
    the sweep; evidence files of the deleted reports are removed from storage.
    """
    from wufei.core.models import AuditEvent
    from wufei.programme.models import Evidence

    def demo_created(entity_type: str) -> list[int]:
        return [int(i) for i in AuditEvent.objects.filter(actor_label=DEMO_ACTOR, action="created",
                                                          entity_type=entity_type).values_list("entity_id", flat=True)]

    plan_ids = list(Plan.objects.filter(pk__in=demo_created("programme.plan")).values_list("pk", flat=True))
    with transaction.atomic():
        files = list(Evidence.objects.filter(Q(report__item__plan_id__in=plan_ids)
                                             | Q(report__project__plan_id__in=plan_ids)).values_list("path", flat=True))
        counts = {"plans": len(plan_ids), "rows": Plan.objects.filter(pk__in=plan_ids).delete()[0]}
        units = ResponsibleUnit.objects.filter(pk__in=demo_created("programme.responsibleunit"),
                                               task_assignments__isnull=True, project_assignments__isnull=True,
                                               reports__isnull=True)
        counts["units"] = units.delete()[0]
        audit.record_raw(entity_type="programme.plan", entity_id="demo", action="demo_reset", payload=counts)
    for name in files:
        if name and default_storage.exists(name):
            default_storage.delete(name)
    return counts["rows"] + counts["units"]
