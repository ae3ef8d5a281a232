"""Plan implementation rules: who reports what, what is overdue, the board, key projects and zero-waste cells.

Reads ("selectors") return querysets already narrowed to the caller's Scope; writes take the scope
first and check it. Services never know about HTTP.

Who may do what:
- overseers of a plan (regulators whose region covers the district, members of its leading group
  office) see everything in it, manage milestones, link units and facilities, assess and certify cells;
- a unit's people (members of the linked Department, writers of the linked Organization) see the
  rows their unit is assigned to and report on them — a unit reports only on its own items;
- an item's status moves with its lead units' reports; cooperating units' reports are kept beside them.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Max, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core import files, parameters, parsing
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope
from wufei.programme import plan_text
from wufei.programme.models import (
    CellStatus,
    CellTarget,
    CellType,
    Evidence,
    KeyProject,
    Milestone,
    Plan,
    Progress,
    ProgressReport,
    ProjectAssignment,
    ProjectStatus,
    ResponsibleUnit,
    Role,
    Section,
    TaskAssignment,
    TaskItem,
    ZeroWasteCell,
    overseer_q,
    units_of,
)
from wufei.registry.models import Department, Organization

LOCAL = ZoneInfo("Asia/Shanghai")
MONEY = parsing.decimal(minimum=Decimal(0), places=2, max_digits=14)  # 10k CNY (investment, spending)
SCORE = parsing.decimal(minimum=Decimal(0), maximum=Decimal(100), places=1, max_digits=5)


def _check_version(row, version: int | None) -> None:
    if version is not None and version != row.version:
        raise Conflict(_("this record was changed by someone else (version %(now)s, you sent %(sent)s); reload it")
                       % {"now": row.version, "sent": version}, code="stale_version")


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


# --- plans -----------------------------------------------------------------------------------

def plans_for(scope: Scope):
    return Plan.objects.visible_to(scope).select_related("region", "leading_office")


def get_plan(scope: Scope, plan_id: int, *, oversee: bool = False) -> Plan:
    """The plan if the caller sees it; with `oversee`, only for its overseers (PermissionDenied for the others)."""
    plan = plans_for(scope).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("plan not found"))
    if oversee and not is_overseer(scope, plan):
        raise PermissionDenied(_("only the plan's leading group and the district's regulators can do this"))
    return plan


def is_overseer(scope: Scope, plan: Plan) -> bool:
    return Plan.objects.filter(overseer_q(scope), pk=plan.pk).exists()


@transaction.atomic
def create_plan(*, scope: Scope, region_code: str, code: str, title: str, start_year: int, end_year: int,
                issuer: str = "", issued_on: dt.date | None = None, leading_office_id: int | None = None,
                printed_project_total: Decimal | None = None, source: str = "") -> Plan:
    """Register a district's implementation plan (its lists come by import); only the district's regulators may."""
    from wufei.catalog.services import get_region

    errors = []
    if not code or not code.strip():
        errors.append({"field": "code", "message": _("is required")})
    elif Plan.objects.filter(code=code.strip()).exists():
        errors.append({"field": "code", "message": _("a plan with this code exists")})
    if not title or not title.strip():
        errors.append({"field": "title", "message": _("is required")})
    if not (1990 <= start_year <= end_year <= 2100):
        errors.append({"field": "end_year", "message": _("the plan's years are not a valid range")})
    try:
        region = get_region(region_code)
    except Exception:  # noqa: BLE001 — catalog raises NotFound or ValidationFailed
        region = None
        errors.append({"field": "region_code", "message": _("unknown region")})
    office = None
    if leading_office_id is not None:
        office = Department.objects.filter(pk=leading_office_id).first()
        if office is None or (region is not None and office.region_id != region.pk):
            errors.append({"field": "leading_office_id", "message": _("not a department of the plan's district")})
    if errors:
        raise ValidationFailed(_("plan is not valid"), errors=errors)
    if not scope.covers_region_path(region.path):
        raise PermissionDenied(_("only a regulator of region %(code)s can register its plan") % {"code": region.code})
    plan = Plan(code=code.strip(), region=region, title=title.strip(), issuer=issuer.strip(), issued_on=issued_on,
                start_year=start_year, end_year=end_year,
                reporting_starts_on=issued_on or dt.date(start_year, 1, 1), leading_office=office,
                leading_office_name=office.name if office else "", printed_project_total=printed_project_total,
                source=source)
    plan.save()
    return plan


# --- units -----------------------------------------------------------------------------------

def units_for(scope: Scope, *, plan_id: int | None = None, linked: bool | None = None):
    units = ResponsibleUnit.objects.visible_to(scope).select_related("department", "organization")
    if plan_id is not None:
        plan = get_plan(scope, plan_id)
        units = units.filter(Q(task_assignments__item__plan=plan) | Q(project_assignments__project__plan=plan))
    if linked is not None:
        units = units.filter(Q(department__isnull=False) | Q(organization__isnull=False)) if linked else \
            units.filter(department__isnull=True, organization__isnull=True)
    return units.distinct()


def my_units(scope: Scope, *, writable: bool = True):
    return units_of(scope, writable=writable).select_related("department", "organization")


def match_unit(region, name: str, kind: str) -> tuple[Department | None, Organization | None, str]:
    """The registry department or organization a printed unit name stands for, if one matches unambiguously."""
    if kind == plan_text.GROUP:
        return None, None, ""
    for candidate in (name, plan_text.DEPARTMENT_ALIASES.get(name)):
        if candidate:
            department = Department.objects.filter(region=region, name=candidate).first()
            if department:
                return department, None, "" if candidate == name else f"alias of {candidate}"
    organizations = Organization.objects.filter(name=name)
    local = organizations.filter(region__path__startswith=region.path)
    for pool in (local, organizations):
        if pool.count() == 1:
            return None, pool.get(), ""
    if kind in (plan_text.ENTERPRISE, plan_text.PARK) and len(name) >= 6:
        suffix = Organization.objects.filter(name__endswith=name, region__path__startswith=region.path)
        if suffix.count() == 1:
            organization = suffix.get()
            return None, organization, f"registered as {organization.name}"
    return None, None, ""


def unit_named(region, name: str) -> ResponsibleUnit:
    """The district's unit of that printed name, created (and matched to the registry) on first use."""
    unit = ResponsibleUnit.objects.filter(region=region, name=name).first()
    if unit is None:
        kind = plan_text.unit_kind(name)
        department, organization, note = match_unit(region, name, kind)
        unit = ResponsibleUnit(region=region, name=name, kind=kind, department=department, organization=organization,
                               match_note=note)
        unit.save()
    return unit


def relink_units(*, scope: Scope, region) -> int:
    """Match the district's unlinked units again (after departments or organizations were registered)."""
    if not scope.covers_region_path(region.path):
        raise PermissionDenied(_("only a regulator of the district can link its units"))
    count = 0
    with transaction.atomic():
        for unit in ResponsibleUnit.objects.filter(region=region, department__isnull=True,
                                                   organization__isnull=True):
            department, organization, note = match_unit(region, unit.name, unit.kind)
            if department or organization:
                unit.department, unit.organization, unit.match_note = department, organization, note
                unit.save(audit_action="unit_linked")
                count += 1
    return count


@transaction.atomic
def link_unit(*, scope: Scope, unit_id: int, version: int, department_id: int | None = None,
              organization_id: int | None = None) -> ResponsibleUnit:
    """Say which department or organization a printed unit is (or, with neither, that it is none)."""
    unit = ResponsibleUnit.objects.visible_to(scope).filter(pk=unit_id).first()
    if unit is None:
        raise NotFound(_("unit not found"))
    if not ResponsibleUnit.objects.editable_by(scope).filter(pk=unit_id).exists():
        raise PermissionDenied(_("only the plan's leading group and the district's regulators can link units"))
    unit = lock_rows(ResponsibleUnit.objects).get(pk=unit.pk)
    _check_version(unit, version)
    if department_id is not None and organization_id is not None:
        raise ValidationFailed(_("a unit is a department or an organization, not both"),
                               errors=[{"field": "organization_id", "message": _("give one of the two")}])
    department = organization = None
    if department_id is not None:
        department = Department.objects.filter(pk=department_id, region=unit.region).first()
        if department is None:
            raise ValidationFailed(_("unit link is not valid"), errors=[
                {"field": "department_id", "message": _("not a department of the unit's district")}])
    if organization_id is not None:
        organization = Organization.objects.visible_to(scope).filter(pk=organization_id).first()
        if organization is None:
            raise ValidationFailed(_("unit link is not valid"), errors=[
                {"field": "organization_id", "message": _("organization not found")}])
    unit.department, unit.organization = department, organization
    unit.match_note = f"linked by {scope.username or 'system'}"
    unit.save(audit_action="unit_linked")
    return unit


# --- task items ------------------------------------------------------------------------------

def _with_item_relations(items):
    return items.select_related("task", "task__section", "plan", "plan__region").prefetch_related(
        Prefetch("assignments", queryset=TaskAssignment.objects.select_related("unit").order_by("role", "position")))


def items_for(scope: Scope, *, plan_id: int | None = None, section_id: int | None = None, unit_id: int | None = None,
              role: str | None = None, status: str | None = None, overdue: bool | None = None,
              today: dt.date | None = None, q: str | None = None, mine: bool = False):
    items = TaskItem.objects.visible_to(scope)
    if plan_id is not None:
        items = items.filter(plan_id=plan_id)
    if section_id is not None:
        items = items.filter(task__section_id=section_id)
    if unit_id is not None or role or mine:
        assignments = TaskAssignment.objects.all()
        if unit_id is not None:
            assignments = assignments.filter(unit_id=unit_id)
        if mine:
            assignments = assignments.filter(unit__in=units_of(scope, writable=True))
        if role:
            if role not in Role.values:
                raise ValidationFailed(_("unknown role"), errors=[{"field": "role", "message": role}])
            assignments = assignments.filter(role=role)
        items = items.filter(pk__in=assignments.values("item_id"))
    if status:
        if status not in Progress.values:
            raise ValidationFailed(_("unknown status"), errors=[{"field": "status", "message": status}])
        items = items.filter(status=status)
    if overdue is not None:
        late = Q(due_date__lt=_today(today)) & ~Q(status=Progress.COMPLETED)
        items = items.filter(late) if overdue else items.exclude(late)
    if q:
        items = items.filter(Q(content__contains=q) | Q(task__name__contains=q) | Q(lead_text__contains=q)
                             | Q(responsible_text__contains=q))
    return _with_item_relations(items)


def get_item(scope: Scope, item_id: int) -> TaskItem:
    item = _with_item_relations(TaskItem.objects.visible_to(scope)).filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("task not found"))
    return item


# --- key projects ------------------------------------------------------------------------------

def _with_project_relations(projects):
    return projects.select_related("plan", "plan__region", "facility", "facility__organization").prefetch_related(
        Prefetch("assignments", queryset=ProjectAssignment.objects.select_related("unit")), "milestones")


def projects_for(scope: Scope, *, plan_id: int | None = None, status: str | None = None, unit_id: int | None = None,
                 overdue: bool | None = None, today: dt.date | None = None, mine: bool = False):
    projects = KeyProject.objects.visible_to(scope)
    if plan_id is not None:
        projects = projects.filter(plan_id=plan_id)
    if status:
        if status not in ProjectStatus.values:
            raise ValidationFailed(_("unknown status"), errors=[{"field": "status", "message": status}])
        projects = projects.filter(status=status)
    if unit_id is not None or mine:
        assignments = ProjectAssignment.objects.all()
        if unit_id is not None:
            assignments = assignments.filter(unit_id=unit_id)
        if mine:
            assignments = assignments.filter(unit__in=units_of(scope, writable=True))
        projects = projects.filter(pk__in=assignments.values("project_id"))
    if overdue is not None:
        late = Q(due_date__lt=_today(today)) & ~Q(status=ProjectStatus.COMPLETED)
        projects = projects.filter(late) if overdue else projects.exclude(late)
    return _with_project_relations(projects)


def get_project(scope: Scope, project_id: int) -> KeyProject:
    project = _with_project_relations(KeyProject.objects.visible_to(scope)).filter(pk=project_id).first()
    if project is None:
        raise NotFound(_("project not found"))
    return project


def _project_manager(scope: Scope, project: KeyProject) -> None:
    """Overseers and the project's own units may keep its milestones and facility."""
    if is_overseer(scope, project.plan):
        return
    if project.assignments.filter(unit__in=units_of(scope, writable=True)).exists():
        return
    raise PermissionDenied(_("only the project's units and the plan's leading group can change it"))


def investment_totals(plan: Plan) -> plan_text.InvestmentTotals:
    """The plan's key projects re-added from their rows, against the printed 合计 (see plan_text.investment_totals)."""
    rows = [(p.number, p.investment_reading, p.merge_group) for p in plan.projects.order_by("number")]
    return plan_text.investment_totals(rows, plan.printed_project_total)


def totals_as_dict(totals: plan_text.InvestmentTotals) -> dict:
    return {
        "printed_total": totals.printed,
        "summed": totals.summed,
        "matches_printed": totals.matches_printed,
        "stated": totals.stated,
        "estimated": totals.estimated,
        "undetermined": totals.undetermined,
        "blank": totals.blank,
        "unreadable": totals.unreadable,
        "double_counted": totals.double_counted,
        "counted_once": totals.counted_once,
        "groups": [{"code": g.code, "numbers": g.numbers, "figures": g.figures, "double_counted": g.double_counted}
                   for g in totals.groups],
    }


@transaction.atomic
def add_milestone(*, scope: Scope, project_id: int, title: str, due_date: dt.date | None = None,
                  note: str = "") -> Milestone:
    project = get_project(scope, project_id)
    _project_manager(scope, project)
    if not title or not title.strip():
        raise ValidationFailed(_("milestone is not valid"), errors=[{"field": "title", "message": _("is required")}])
    last = project.milestones.aggregate(m=Max("ordinal"))["m"] or 0
    milestone = Milestone(project=project, ordinal=last + 1, title=title.strip()[:200], due_date=due_date,
                          note=note.strip()[:500])
    milestone.save()
    return milestone


_UNSET = object()


@transaction.atomic
def update_milestone(*, scope: Scope, milestone_id: int, version: int, title=_UNSET, due_date=_UNSET,
                     done_on=_UNSET, note=_UNSET) -> Milestone:
    milestone = Milestone.objects.visible_to(scope).select_related("project", "project__plan").filter(
        pk=milestone_id).first()
    if milestone is None:
        raise NotFound(_("milestone not found"))
    _project_manager(scope, milestone.project)
    milestone = lock_rows(Milestone.objects).get(pk=milestone.pk)
    _check_version(milestone, version)
    if title is not _UNSET:
        if not title or not str(title).strip():
            raise ValidationFailed(_("milestone is not valid"),
                                   errors=[{"field": "title", "message": _("is required")}])
        milestone.title = str(title).strip()[:200]
    if due_date is not _UNSET:
        milestone.due_date = due_date
    if note is not _UNSET:
        milestone.note = (note or "").strip()[:500]
    action = "updated"
    if done_on is not _UNSET:
        if done_on is not None and done_on > timezone.localdate():
            raise ValidationFailed(_("milestone is not valid"), errors=[
                {"field": "done_on", "message": _("cannot be in the future")}])
        action = "milestone_done" if done_on and not milestone.done_on else action
        milestone.done_on = done_on
    milestone.save(audit_action=action)
    return milestone


@transaction.atomic
def link_facility(*, scope: Scope, project_id: int, version: int, site_id: int | None) -> KeyProject:
    """Link the registry facility (Site) a completed project built; `site_id` None removes the link."""
    from wufei.registry import services as registry

    project = get_project(scope, project_id)
    _project_manager(scope, project)
    project = lock_rows(KeyProject.objects).get(pk=project.pk)
    _check_version(project, version)
    site = None
    if site_id is not None:
        if project.status != ProjectStatus.COMPLETED:
            raise RuleViolation(_("a facility is linked once the project is built (report it completed first)"),
                                code="project_not_built")
        site = registry.get_site(scope, site_id)
        if not site.is_active:
            raise RuleViolation(_("the site is not in use"), code="site_inactive")
    project.facility = site
    project.save(audit_action="facility_linked" if site else "facility_unlinked")
    return project


# --- progress reports --------------------------------------------------------------------------

def reports_for(scope: Scope, *, item_id: int | None = None, project_id: int | None = None,
                unit_id: int | None = None, plan_id: int | None = None):
    reports = ProgressReport.objects.visible_to(scope).select_related(
        "unit", "submitted_by", "item", "project").prefetch_related("evidence")
    if item_id is not None:
        reports = reports.filter(item_id=item_id)
    if project_id is not None:
        reports = reports.filter(project_id=project_id)
    if unit_id is not None:
        reports = reports.filter(unit_id=unit_id)
    if plan_id is not None:
        reports = reports.filter(Q(item__plan_id=plan_id) | Q(project__plan_id=plan_id))
    return reports


def get_report(scope: Scope, report_id: int) -> ProgressReport:
    report = reports_for(scope).filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("report not found"))
    return report


def _reporting_unit(scope: Scope, assigned, unit_id: int | None) -> ResponsibleUnit:
    mine = list(assigned.filter(unit__in=units_of(scope, writable=True)).select_related("unit"))
    units = {a.unit_id: a.unit for a in mine}
    if not units:
        raise PermissionDenied(_("only the units this task or project is assigned to report on it"))
    if unit_id is not None:
        if unit_id not in units:
            raise PermissionDenied(_("you do not act for that unit of this task or project"))
        return units[unit_id]
    if len(units) > 1:
        raise ValidationFailed(_("you act for several units of this task: say which one reports"),
                               errors=[{"field": "unit_id", "message": ", ".join(u.name for u in units.values())}])
    return next(iter(units.values()))


def _clean_report(*, status: str, percent, narrative: str, statuses, spend_to_date=None,
                  spend_allowed: bool) -> tuple[int, Decimal | None]:
    errors = []
    if status not in statuses:
        errors.append({"field": "status",
                       "message": _("is not one of: %(options)s") % {"options": ", ".join(statuses)}})
    try:
        percent = int(percent)
    except (TypeError, ValueError):
        percent = -1
    if not 0 <= percent <= 100:
        errors.append({"field": "percent", "message": _("must be a whole number from 0 to 100")})
    elif status == Progress.COMPLETED and percent != 100:
        errors.append({"field": "percent", "message": _("a completed task is 100 percent done")})
    if not narrative or not narrative.strip():
        errors.append({"field": "narrative", "message": _("say what was done")})
    spend = None
    if spend_to_date not in (None, ""):
        if not spend_allowed:
            errors.append({"field": "spend_to_date", "message": _("only key projects report spending")})
        else:
            try:
                spend = MONEY(spend_to_date)
            except ValueError:
                errors.append({"field": "spend_to_date", "message": _("is not an amount (10k CNY)")})
    if errors:
        raise ValidationFailed(_("report is not valid"), errors=errors)
    return percent, spend


@transaction.atomic
def report_on_item(*, scope: Scope, item_id: int, status: str, percent, narrative: str, unit_id: int | None = None,
                   version: int | None = None) -> ProgressReport:
    """A unit reports progress on one of its items; a lead unit's report moves the item's status."""
    item = get_item(scope, item_id)
    unit = _reporting_unit(scope, item.assignments.all(), unit_id)
    percent, _spend = _clean_report(status=status, percent=percent, narrative=narrative, statuses=Progress.values,
                                    spend_allowed=False)
    item = lock_rows(TaskItem.objects).get(pk=item.pk)
    _check_version(item, version)
    report = ProgressReport(item=item, unit=unit, status=status, percent=percent, narrative=narrative.strip(),
                            submitted_by_id=scope.user_id)
    report.save()
    item.last_report_at = report.created_at
    if item.assignments.filter(unit=unit, role=Role.LEAD).exists():
        item.status, item.percent = status, percent
        if status == Progress.COMPLETED:
            item.completed_on = item.completed_on or timezone.localdate()
        else:
            item.completed_on = None
    item.save(audit_action="progress_reported")
    return report


@transaction.atomic
def report_on_project(*, scope: Scope, project_id: int, status: str, percent, narrative: str,
                      spend_to_date=None, unit_id: int | None = None, version: int | None = None) -> ProgressReport:
    """A project's unit reports status, percent and spend to date (万元); the project takes the newest report."""
    project = get_project(scope, project_id)
    unit = _reporting_unit(scope, project.assignments.all(), unit_id)
    percent, spend = _clean_report(status=status, percent=percent, narrative=narrative,
                                   statuses=ProjectStatus.values, spend_to_date=spend_to_date, spend_allowed=True)
    project = lock_rows(KeyProject.objects).get(pk=project.pk)
    _check_version(project, version)
    report = ProgressReport(project=project, unit=unit, status=status, percent=percent, narrative=narrative.strip(),
                            spend_to_date=spend, submitted_by_id=scope.user_id)
    report.save()
    project.status, project.percent, project.last_report_at = status, percent, report.created_at
    if spend is not None:
        project.spend_to_date = spend
    if status == ProjectStatus.COMPLETED:
        project.completed_on = project.completed_on or timezone.localdate()
    else:
        project.completed_on = None
    project.save(audit_action="progress_reported")
    return report


@transaction.atomic
def add_evidence(*, scope: Scope, report_id: int, name: str, content, content_type: str = "") -> Evidence:
    """Attach a file to a report; only the reporting unit's people may (`content`: bytes or the uploaded file,
    read only once that is checked)."""
    report = get_report(scope, report_id)
    if not ProgressReport.objects.filter(pk=report.pk, unit__in=units_of(scope, writable=True)).exists():
        raise PermissionDenied(_("only the unit that made the report can add evidence to it"))
    limit = int(parameters.get("programme.evidence_max_mb", report.unit.region)) * 1024 * 1024
    stored = files.store_evidence(folder=f"programme/{report.pk}", name=name, content=content, max_bytes=limit,
                                  extensions=plan_text.EVIDENCE_EXTENSIONS)
    evidence = Evidence(report=report, name=stored.name, size=stored.size, sha256=stored.sha256,
                        content_type=content_type[:100], path=stored.path)
    evidence.save()
    return evidence


def get_evidence(scope: Scope, evidence_id: int) -> Evidence:
    evidence = Evidence.objects.visible_to(scope).filter(pk=evidence_id).first()
    if evidence is None:
        raise NotFound(_("file not found"))
    return evidence


# --- reporting periods, overdue --------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    due: dt.date

    @property
    def label(self) -> str:
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        if months == 3:
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        if months == 12:
            return str(self.start.year)
        if months == 1:
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y-%m}…{self.end:%Y-%m}"


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def last_due_period(today: dt.date, *, region=None) -> Period:
    """The newest reporting period whose due date has passed (calendar periods of `programme.report_period_months`)."""
    months = max(1, min(12, int(parameters.get("programme.report_period_months", region))))
    due_days = int(parameters.get("programme.report_due_days", region))
    start = dt.date(today.year, ((today.month - 1) // months) * months + 1, 1)
    while True:
        end = _add_months(start, months) - dt.timedelta(days=1)
        due = end + dt.timedelta(days=due_days)
        if due < today:
            return Period(start, end, due)
        start = _add_months(start, -months)


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL)


def missing_reports(plan: Plan, *, today: dt.date | None = None, items=None) -> tuple[Period | None, list[dict]]:
    """(period, [{item, unit}]) — lead units of open items that have not reported since the last due period began.

    Units that stand for a group ("各乡镇（街道）") have no one to report and are left out; an item completed
    before the period began needs no report; an item whose range starts after the period is not yet due.
    """
    today = _today(today)
    period = last_due_period(today, region=plan.region)
    if period.end < plan.reporting_starts_on:
        return None, []
    items = items if items is not None else _with_item_relations(plan.items.all())
    reported = set(ProgressReport.objects.filter(item__plan=plan, created_at__gte=_local_midnight(period.start))
                   .values_list("item_id", "unit_id"))
    missing = []
    for item in items:
        if item.status == Progress.COMPLETED and (item.completed_on is None or item.completed_on < period.start):
            continue
        if item.start_date and item.start_date > period.end:
            continue
        for assignment in item.assignments.all():
            if assignment.role == Role.LEAD and assignment.unit.kind != plan_text.GROUP \
                    and (item.pk, assignment.unit_id) not in reported:
                missing.append({"item": item, "unit": assignment.unit})
    return period, missing


# --- the leading group's board and a unit's to-do list -------------------------------------------

def _counts(items, today) -> dict:
    result = {"total": 0, "overdue": 0, **{status: 0 for status in Progress.values}}
    for item in items:
        result["total"] += 1
        result[item.status] += 1
        result["overdue"] += item.is_overdue(today)
    return result


def board(scope: Scope, plan_id: int, *, today: dt.date | None = None, section_id: int | None = None,
          unit_id: int | None = None, status: str | None = None, overdue: bool | None = None) -> dict:
    """What the leading group watches: items by section and by lead unit, overdue items and missing reports,
    key projects and zero-waste cells. Filters narrow the item listing; the summaries cover the whole plan."""
    plan = get_plan(scope, plan_id, oversee=True)
    today = _today(today)
    all_items = list(items_for(scope, plan_id=plan.pk, today=today).order_by("number"))
    period, missing = missing_reports(plan, today=today, items=all_items)
    missing_by_unit: dict[int, int] = {}
    for row in missing:
        missing_by_unit[row["unit"].pk] = missing_by_unit.get(row["unit"].pk, 0) + 1
    sections = []
    for section in plan.sections.order_by("ordinal"):
        members = [i for i in all_items if i.task.section_id == section.pk]
        sections.append({"section": section, **_counts(members, today)})
    units: dict[int, dict] = {}
    for item in all_items:
        for assignment in item.assignments.all():
            if assignment.role != Role.LEAD:
                continue
            row = units.setdefault(assignment.unit_id, {"unit": assignment.unit, "items": []})
            row["items"].append(item)
    last_reports = dict(ProgressReport.objects.filter(item__plan=plan).values("unit_id").annotate(
        last=Max("created_at")).values_list("unit_id", "last"))
    unit_rows = []
    for unit_pk, row in units.items():
        unit_rows.append({"unit": row["unit"], **_counts(row["items"], today),
                          "missing_reports": missing_by_unit.get(unit_pk, 0),
                          "last_report_at": last_reports.get(unit_pk),
                          "can_report": row["unit"].is_linked and row["unit"].kind != plan_text.GROUP})
    unit_rows.sort(key=lambda r: (-r["overdue"], -r["missing_reports"], -r["total"], r["unit"].name))
    listing = all_items
    if section_id is not None:
        listing = [i for i in listing if i.task.section_id == section_id]
    if unit_id is not None:
        listing = [i for i in listing if any(a.unit_id == unit_id for a in i.assignments.all())]
    if status:
        if status not in Progress.values:
            raise ValidationFailed(_("unknown status"), errors=[{"field": "status", "message": status}])
        listing = [i for i in listing if i.status == status]
    if overdue is not None:
        listing = [i for i in listing if i.is_overdue(today) == overdue]
    projects = list(projects_for(scope, plan_id=plan.pk).order_by("number"))
    return {
        "plan": plan,
        "today": today,
        "totals": _counts(all_items, today),
        "sections": sections,
        "units": unit_rows,
        "items": listing,
        "overdue_items": [i for i in all_items if i.is_overdue(today)],
        "period": period,
        "missing_reports": missing,
        "unparsed_deadlines": [i for i in all_items if i.deadline_kind == plan_text.UNPARSED],
        "projects": projects,
        "project_counts": {s: sum(p.status == s for p in projects) for s in ProjectStatus.values},
        "overdue_projects": [p for p in projects if p.is_overdue(today)],
        "investment": investment_totals(plan),
        "cells": cell_counts(plan),
    }


def todo(scope: Scope, *, today: dt.date | None = None) -> dict:
    """A unit's own list: the items and projects of its units, what is overdue and which reports are due."""
    today = _today(today)
    units = list(my_units(scope))
    items = list(items_for(scope, mine=True, today=today).order_by("plan_id", "number"))
    unit_ids = {u.pk for u in units}
    missing_keys = set()
    periods = {}
    for plan in {i.plan for i in items}:
        period, missing = missing_reports(plan, today=today, items=[i for i in items if i.plan_id == plan.pk])
        periods[plan.pk] = period
        missing_keys |= {(row["item"].pk, row["unit"].pk) for row in missing if row["unit"].pk in unit_ids}
    rows = []
    for item in items:
        roles = {a.role for a in item.assignments.all() if a.unit_id in unit_ids}
        rows.append({"item": item, "lead": Role.LEAD in roles, "overdue": item.is_overdue(today),
                     "report_due": any((item.pk, uid) in missing_keys for uid in unit_ids),
                     "period": periods.get(item.plan_id)})
    rows.sort(key=lambda r: (not r["overdue"], not r["report_due"], not r["lead"], r["item"].plan_id,
                             r["item"].number))
    projects = list(projects_for(scope, mine=True, today=today).order_by("plan_id", "number"))
    return {"units": units, "items": rows, "projects": [{"project": p, "overdue": p.is_overdue(today)}
                                                         for p in projects], "today": today}


# --- zero-waste cells ------------------------------------------------------------------------

def cells_for(scope: Scope, *, plan_id: int | None = None, status: str | None = None, cell_type: str | None = None):
    cells = ZeroWasteCell.objects.visible_to(scope).select_related("plan", "organization", "department")
    if plan_id is not None:
        cells = cells.filter(plan_id=plan_id)
    if status:
        cells = cells.filter(status=status)
    if cell_type:
        cells = cells.filter(cell_type=cell_type)
    return cells


def get_cell(scope: Scope, cell_id: int) -> ZeroWasteCell:
    cell = cells_for(scope).filter(pk=cell_id).first()
    if cell is None:
        raise NotFound(_("zero-waste cell not found"))
    return cell


def cell_counts(plan: Plan) -> dict:
    """Cells by type and status against the plan's targets; the row with type "" is the total."""
    counts = {row["cell_type"]: row for row in plan.cells.values("cell_type").annotate(
        applied=Count("pk", filter=Q(status=CellStatus.APPLIED)),
        assessed=Count("pk", filter=Q(status=CellStatus.ASSESSED)),
        certified=Count("pk", filter=Q(status=CellStatus.CERTIFIED)),
        rejected=Count("pk", filter=Q(status=CellStatus.REJECTED)))}
    targets = {t.cell_type: t for t in plan.cell_targets.all()}
    rows = []
    labels = dict(CellType.choices)
    for cell_type in [t for t in CellType.values if t in counts or t in targets]:
        row = counts.get(cell_type, {})
        target = targets.get(cell_type)
        rows.append({"cell_type": cell_type, "label": str(labels[cell_type]),
                     "target": target.target if target else None,
                     **{k: row.get(k, 0) for k in ("applied", "assessed", "certified", "rejected")}})
    total = {k: sum(r[k] for r in rows) for k in ("applied", "assessed", "certified", "rejected")}
    total_target = targets.get("")
    typed = [r["target"] for r in rows if r["target"] is not None]
    result_total = {"cell_type": "", "label": _("all types"),
                    "target": total_target.target if total_target else (sum(typed) if typed else None), **total}
    for row in [*rows, result_total]:
        row["remaining"] = None if row["target"] is None else max(0, row["target"] - row["certified"])
    return {"types": rows, "total": result_total,
            "targets": [{"cell_type": t.cell_type, "target": t.target, "text": t.text, "source": t.source}
                        for t in targets.values()]}


def _cell_plan(scope: Scope, plan_id: int) -> Plan:
    plan = Plan.objects.select_related("region").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("plan not found"))
    return plan


@transaction.atomic
def apply_cell(*, scope: Scope, plan_id: int, cell_type: str, name: str, address: str = "", application: str = "",
               organization_id: int | None = None, department_id: int | None = None) -> ZeroWasteCell:
    """Apply for a zero-waste cell: a unit for itself (its organization or department in the plan's district), or
    the plan's overseers for any unit of the district."""
    plan = _cell_plan(scope, plan_id)
    overseer = is_overseer(scope, plan)
    organization = department = None
    if organization_id is not None:
        organization = Organization.objects.visible_to(scope).filter(pk=organization_id).select_related(
            "region").first()
        if organization is None:
            raise ValidationFailed(_("application is not valid"), errors=[
                {"field": "organization_id", "message": _("organization not found")}])
        if not overseer and organization.pk not in scope.writable_organization_ids:
            raise PermissionDenied(_("a unit applies for itself"))
        if not organization.region.path.startswith(plan.region.path):
            raise NotFound(_("plan not found"))
    if department_id is not None:
        department = Department.objects.filter(pk=department_id).first()
        if department is None or not (overseer or department.pk in scope.department_ids):
            raise ValidationFailed(_("application is not valid"), errors=[
                {"field": "department_id", "message": _("not one of your departments")}])
        if department.region_id != plan.region_id:
            raise NotFound(_("plan not found"))
    if organization is None and department is None and not overseer:
        if Plan.objects.visible_to(scope).filter(pk=plan.pk).exists():
            raise PermissionDenied(_("say which of your organizations or departments applies"))
        raise NotFound(_("plan not found"))
    errors = []
    if cell_type not in CellType.values:
        errors.append({"field": "cell_type", "message": _("unknown type")})
    if not name or not name.strip():
        errors.append({"field": "name", "message": _("is required")})
    elif ZeroWasteCell.objects.filter(plan=plan, cell_type=cell_type, name=name.strip()).exists():
        errors.append({"field": "name", "message": _("this cell has already applied")})
    if errors:
        raise ValidationFailed(_("application is not valid"), errors=errors)
    cell = ZeroWasteCell(plan=plan, cell_type=cell_type, name=name.strip()[:200], address=address.strip()[:300],
                         application=application.strip(), organization=organization, department=department,
                         applied_by_id=scope.user_id)
    cell.save(audit_action="cell_applied")
    return cell


def _cell_for_review(scope: Scope, cell_id: int, version: int) -> ZeroWasteCell:
    cell = get_cell(scope, cell_id)
    if not is_overseer(scope, cell.plan):
        raise PermissionDenied(_("cells are assessed and certified by the plan's leading group"))
    cell = lock_rows(ZeroWasteCell.objects).get(pk=cell.pk)
    _check_version(cell, version)
    return cell


@transaction.atomic
def assess_cell(*, scope: Scope, cell_id: int, version: int, passed: bool, score=None, findings: str = "",
                assessed_on: dt.date | None = None) -> ZeroWasteCell:
    cell = _cell_for_review(scope, cell_id, version)
    if cell.status != CellStatus.APPLIED:
        raise RuleViolation(_("only an application waiting for assessment can be assessed"), code="cell_not_applied")
    value = None
    if score not in (None, ""):
        try:
            value = SCORE(score)
        except ValueError:
            raise ValidationFailed(_("assessment is not valid"),
                                   errors=[{"field": "score", "message": _("a score from 0 to 100")}]) from None
    if not passed and not findings.strip():
        raise ValidationFailed(_("assessment is not valid"),
                               errors=[{"field": "findings", "message": _("say why the cell did not pass")}])
    cell.status = CellStatus.ASSESSED if passed else CellStatus.REJECTED
    cell.score, cell.findings = value, findings.strip()
    cell.assessed_by_id, cell.assessed_on = scope.user_id, assessed_on or timezone.localdate()
    cell.save(audit_action="cell_assessed" if passed else "cell_rejected")
    return cell


@transaction.atomic
def certify_cell(*, scope: Scope, cell_id: int, version: int, certificate_number: str = "",
                 certified_on: dt.date | None = None) -> ZeroWasteCell:
    cell = _cell_for_review(scope, cell_id, version)
    if cell.status != CellStatus.ASSESSED:
        raise RuleViolation(_("a cell is certified after it passed the assessment"), code="cell_not_assessed")
    certified_on = certified_on or timezone.localdate()
    number = certificate_number.strip()
    if not number:
        sequence = ZeroWasteCell.objects.filter(plan=cell.plan, status=CellStatus.CERTIFIED).count() + 1
        number = f"{cell.plan.code}-{certified_on.year}-{sequence:03d}"
    if ZeroWasteCell.objects.filter(plan=cell.plan, certificate_number=number).exclude(pk=cell.pk).exists():
        raise ValidationFailed(_("certificate is not valid"), errors=[
            {"field": "certificate_number", "message": _("this number is already used")}])
    cell.status, cell.certificate_number, cell.certified_on = CellStatus.CERTIFIED, number[:60], certified_on
    cell.save(audit_action="cell_certified")
    return cell


def set_cell_targets(plan: Plan, targets: dict[str, int], *, text: str, source: str) -> int:
    """Record the plan's cell targets once (the first list stating them wins)."""
    if plan.cell_targets.exists() or not targets:
        return 0
    for cell_type, target in targets.items():
        CellTarget(plan=plan, cell_type=cell_type, target=target, text=text[:300], source=source[:200]).save()
    return len(targets)


def sections_of(plan: Plan):
    return Section.objects.filter(plan=plan).order_by("ordinal")
