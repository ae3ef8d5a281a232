"""Progress reporting: a unit reports only on its own rows, lead units move the status, the leading group and the
district's regulators see everything, overdue rows and missing reports surface on the board."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from tests.conftest import BANAN, KAIZHOU
from tests.programme.conftest import ADMIN
from wufei.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from wufei.core.models import Parameter
from wufei.core.scope import scope_for
from wufei.programme import services
from wufei.programme.models import Progress, ProgressReport, Role, TaskAssignment, TaskItem
from wufei.registry.models import Department, DepartmentMembership


def _member(make_user, region, name):
    department, _ = Department.objects.get_or_create(name=name, region_id=region)
    user = make_user()
    DepartmentMembership.objects.create(user=user, department=department)
    return user


@pytest.fixture
def world(banan, kaizhou, make_user, make_org, member_of, regulator_of):
    city = _member(make_user, BANAN, "区城市管理局")
    ecology = _member(make_user, BANAN, "区生态环境局")
    office = _member(make_user, BANAN, "区无废办")
    kaizhou_city = _member(make_user, KAIZHOU, "区城管局")
    for plan in (banan, kaizhou):
        services.relink_units(scope=ADMIN, region=plan.region)
    banan.leading_office = Department.objects.get(region_id=BANAN, name="区无废办")
    banan.save()
    enterprise = member_of(make_org("无关企业", region=BANAN))
    return {
        "plan": banan, "item": lambda n: TaskItem.objects.get(plan=banan, number=n),
        "city": city, "ecology": ecology, "office": office, "kaizhou_city": kaizhou_city,
        "regulator": regulator_of(BANAN), "kaizhou_regulator": regulator_of(KAIZHOU),
        "city_regulator": regulator_of("500000"), "enterprise": enterprise,
    }


def report(user, item, status="in_progress", percent=40, **extra):
    return services.report_on_item(scope=scope_for(user), item_id=item.pk, status=status, percent=percent,
                                   narrative="进展", **extra)


def test_a_lead_unit_moves_its_item_and_a_cooperating_unit_only_adds_its_report(world):
    item = world["item"](37)  # lead 区城市管理局, responsible 区生态环境局
    report(world["city"], item, "in_progress", 60)
    item.refresh_from_db()
    assert (item.status, item.percent, item.version) == ("in_progress", 60, 2)
    report(world["ecology"], item, "completed", 100)
    item.refresh_from_db()
    assert (item.status, item.percent) == ("in_progress", 60)  # the cooperating unit's report did not move it
    assert ProgressReport.objects.filter(item=item).count() == 2
    report(world["city"], item, "completed", 100)
    item.refresh_from_db()
    assert item.status == "completed" and item.completed_on == timezone.localdate()
    report(world["city"], item, "in_progress", 90)  # reopened
    item.refresh_from_db()
    assert item.status == "in_progress" and item.completed_on is None


def test_a_unit_reports_only_on_its_own_rows(world):
    not_mine = world["item"](56)  # lead 区生态环境局 only
    with pytest.raises(NotFound):  # 区城市管理局 does not even see it
        report(world["city"], not_mine)
    for who in ("regulator", "office", "city_regulator"):  # they see it, but it is not theirs to report
        with pytest.raises(PermissionDenied):
            report(world[who], not_mine)
    for who in ("kaizhou_regulator", "kaizhou_city", "enterprise"):
        with pytest.raises(NotFound):
            report(world[who], not_mine)
    ecology_unit = world["item"](37).assignments.get(role=Role.RESPONSIBLE, unit__name="区生态环境局").unit
    with pytest.raises(PermissionDenied):  # naming another unit of the row does not help
        report(world["city"], world["item"](37), unit_id=ecology_unit.pk)
    assert not ProgressReport.objects.exists()


def test_a_report_is_checked_whole(world, english):
    with pytest.raises(ValidationFailed) as caught:
        services.report_on_item(scope=scope_for(world["city"]), item_id=world["item"](37).pk, status="done",
                                percent=140, narrative=" ")
    assert {e["field"] for e in caught.value.errors} == {"status", "percent", "narrative"}
    with pytest.raises(ValidationFailed) as caught:
        report(world["city"], world["item"](37), "completed", 80)
    assert caught.value.errors[0]["field"] == "percent"


def test_a_stale_version_is_refused(world):
    item = world["item"](37)
    report(world["city"], item, version=item.version)
    with pytest.raises(Conflict):
        report(world["city"], item, version=item.version)  # the version the client saw before its first report


def test_the_leading_group_and_regulators_see_every_row_units_their_own(world):
    plan = world["plan"]

    def items(who):
        return set(services.items_for(scope_for(world[who]), plan_id=plan.pk).values_list("number", flat=True))

    everything = set(range(1, 91))
    for who in ("regulator", "office", "city_regulator"):
        assert items(who) == everything, who
    mine = set(TaskAssignment.objects.filter(item__plan=plan, unit__name="区城市管理局")
               .values_list("item__number", flat=True))
    assert items("city") == mine and 37 in mine and 56 not in mine
    for who in ("kaizhou_regulator", "kaizhou_city", "enterprise"):
        assert items(who) == set(), who
    assert services.plans_for(scope_for(world["kaizhou_city"])).get().region_id == KAIZHOU
    with pytest.raises(PermissionDenied):
        services.board(scope_for(world["city"]), plan.pk)  # a unit has its to-do list, not the board
    with pytest.raises(NotFound):
        services.board(scope_for(world["kaizhou_regulator"]), plan.pk)


def test_overdue_rows_surface_on_the_board(world):
    plan = world["plan"]
    today = dt.date(2023, 3, 1)
    board = services.board(scope_for(world["office"]), plan.pk, today=today)
    overdue = {i.number for i in board["overdue_items"]}
    assert overdue == {16, 45, 56, 57, 62, 87}  # the 2022 rows; 55 (2022年-2025年) and the blank 66, 85 are not
    assert board["totals"]["overdue"] == 6
    report(world["ecology"], world["item"](56), "completed", 100)
    board = services.board(scope_for(world["office"]), plan.pk, today=today)
    assert {i.number for i in board["overdue_items"]} == {16, 45, 57, 62, 87}
    filtered = services.board(scope_for(world["office"]), plan.pk, today=today, overdue=True)
    assert {i.number for i in filtered["items"]} == {16, 45, 57, 62, 87}
    later = services.board(scope_for(world["office"]), plan.pk, today=dt.date(2026, 1, 1))
    assert later["totals"]["overdue"] == 90 - 1 - 2  # all but the completed row and the two without a deadline
    by_section = {row["section"].ordinal: row["overdue"] for row in board["sections"]}
    assert by_section == {1: 0, 2: 1, 3: 0, 4: 1, 5: 0, 6: 2, 7: 0, 8: 1}
    unit = next(r for r in board["units"] if r["unit"].name == "区市场监管局")
    assert unit["overdue"] == 2  # 45 and 87


def test_missing_reports_of_the_last_period_that_fell_due(world):
    plan = world["plan"]
    today = timezone.localdate()
    period, missing = services.missing_reports(plan, today=today)
    assert period.due < today and (period.end - period.start).days in range(89, 93)
    keys = {(row["item"].number, row["unit"].name) for row in missing}
    assert (37, "区城市管理局") in keys and (56, "区生态环境局") in keys
    assert not any(name.startswith(("各", "有关", "相关")) for _n, name in keys)  # groups cannot report
    assert all(name != "区生态环境局" or n != 37 for n, name in keys)  # cooperating units owe no report
    report(world["city"], world["item"](37))
    _period, missing = services.missing_reports(plan, today=today)
    assert (37, "区城市管理局") not in {(row["item"].number, row["unit"].name) for row in missing}
    # a row completed before the period began owes nothing more
    TaskItem.objects.filter(plan=plan, number=56).update(status=Progress.COMPLETED,
                                                         completed_on=period.start - dt.timedelta(days=5))
    _period, missing = services.missing_reports(plan, today=today)
    assert 56 not in {row["item"].number for row in missing}


def test_the_reporting_period_is_a_regional_parameter(world):
    today = dt.date(2025, 5, 20)
    quarter = services.last_due_period(today, region=world["plan"].region)
    assert (quarter.start, quarter.end, quarter.due) == (dt.date(2025, 1, 1), dt.date(2025, 3, 31),
                                                         dt.date(2025, 4, 10))
    assert quarter.label == "2025Q1"
    Parameter.objects.create(key="programme.report_period_months", region_code=BANAN, value=1)
    month = services.last_due_period(today, region=world["plan"].region)
    assert (month.start, month.end, month.due, month.label) == (dt.date(2025, 4, 1), dt.date(2025, 4, 30),
                                                                 dt.date(2025, 5, 10), "2025-04")
    assert services.last_due_period(today, region=world["item"](1).plan.region).label == "2025-04"
    before = services.missing_reports(world["plan"], today=dt.date(2022, 1, 5))
    assert before == (None, [])  # no period had fallen due since the plan's reporting began


def test_a_units_to_do_list(world):
    todo = services.todo(scope_for(world["city"]))
    numbers = {row["item"].number for row in todo["items"]}
    assert 37 in numbers and 56 not in numbers
    assert {u.name for u in todo["units"]} == {"区城市管理局"}
    row = next(r for r in todo["items"] if r["item"].number == 37)
    assert row["lead"] and row["report_due"] and row["overdue"] == row["item"].is_overdue(todo["today"])
    report(world["city"], world["item"](37))
    row = next(r for r in services.todo(scope_for(world["city"]))["items"] if r["item"].number == 37)
    assert not row["report_due"]
    assert services.todo(scope_for(world["enterprise"]))["items"] == []


def test_reporting_through_the_api(world, client_for):
    item = world["item"](37)
    body = {"status": "in_progress", "percent": 50, "narrative": "已完成李家沱转运站建设", "version": item.version}
    response = client_for(world["city"]).post(f"/api/v1/programme/items/{item.pk}/reports", json.dumps(body),
                                              content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["unit"] == "区城市管理局"
    stale = client_for(world["city"]).post(f"/api/v1/programme/items/{item.pk}/reports", json.dumps(body),
                                           content_type="application/json")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    other = world["item"](56)
    assert client_for(world["city"]).post(f"/api/v1/programme/items/{other.pk}/reports", json.dumps(body),
                                          content_type="application/json").status_code == 404
    assert client_for(world["regulator"]).post(f"/api/v1/programme/items/{other.pk}/reports", json.dumps(
        {**body, "version": None}), content_type="application/json").status_code == 403
    listing = client_for(world["regulator"]).get(f"/api/v1/programme/items?plan={world['plan'].pk}&limit=500")
    assert len(listing.json()["items"]) == 90
    mine = client_for(world["city"]).get("/api/v1/programme/items?mine=true&limit=500").json()["items"]
    assert {i["number"] for i in mine} == {r["item"].number for r in services.todo(scope_for(world["city"]))["items"]}


def test_evidence_belongs_to_the_reporting_unit(world, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    made = report(world["city"], world["item"](37))
    url = f"/api/v1/programme/reports/{made.pk}/evidence"
    upload = client_for(world["city"]).post(url, {"file": _file("验收材料.pdf", b"%PDF-1.4 evidence")})
    assert upload.status_code == 201, upload.content
    evidence = upload.json()
    assert evidence["size"] == 17 and len(evidence["sha256"]) == 64
    assert client_for(world["ecology"]).post(url, {"file": _file("x.pdf", b"%PDF")}).status_code == 403
    assert client_for(world["kaizhou_city"]).post(url, {"file": _file("x.pdf", b"%PDF")}).status_code == 404
    bad = client_for(world["city"]).post(url, {"file": _file("x.exe", b"MZ")})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "file"
    download = client_for(world["regulator"]).get(evidence["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 evidence"
    for who in ("kaizhou_regulator", "enterprise", "kaizhou_city"):
        assert client_for(world[who]).get(evidence["url"]).status_code == 404


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_the_plan_through_the_api(world, client_for):
    plan = world["plan"]
    detail = client_for(world["regulator"]).get(f"/api/v1/programme/plans/{plan.pk}").json()
    assert (detail["items"], detail["tasks"], detail["projects"], len(detail["sections"])) == (90, 36, 15, 8)
    investment = detail["investment"]
    assert investment["printed_total"] == "15900.00" and investment["summed"] == "15900.00"
    assert investment["double_counted"] == "5300.00" and investment["counted_once"] == "10600.00"
    assert investment["groups"] == [{"code": "B10-11", "numbers": [10, 11], "figures": ["5300.00", "5300.00"],
                                     "double_counted": "5300.00"}]
    unit_view = client_for(world["city"]).get(f"/api/v1/programme/plans/{plan.pk}").json()
    assert unit_view["investment"] is None and unit_view["sections"] == [] and 0 < unit_view["items"] < 90
    board = client_for(world["office"]).get(f"/api/v1/programme/plans/{plan.pk}/board?today=2023-03-01").json()
    assert board["totals"]["overdue"] == 6 and board["period"]["label"] == "2022Q4"
    assert len(board["items"]) == 90 and sum(i["overdue"] for i in board["items"]) == 6
    assert board["investment"]["double_counted"] == "5300.00"
    units = client_for(world["office"]).get(f"/api/v1/programme/units?plan={plan.pk}&linked=true").json()
    assert {u["name"] for u in units} == {"区城市管理局", "区生态环境局", "区无废办"}
