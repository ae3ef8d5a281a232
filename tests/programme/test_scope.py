"""Another district's regulator, another district's department and unrelated enterprises cannot see or change
Kaizhou's plan rows through any endpoint or page.

The walk is driven by the router and the urlconf: every programme API operation and every programme page
must have a case below, so a new endpoint without a scope case fails this test.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import BANAN, KAIZHOU
from tests.programme.conftest import ADMIN
from wufei.core import audit
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.programme import services
from wufei.programme.api import router
from wufei.programme.models import (
    Evidence,
    KeyProject,
    Milestone,
    Plan,
    ProgressReport,
    ResponsibleUnit,
    TaskItem,
    ZeroWasteCell,
)
from wufei.registry.models import Department, DepartmentMembership, Site


def _member(make_user, region, name):
    department, _ = Department.objects.get_or_create(name=name, region_id=region)
    user = make_user()
    DepartmentMembership.objects.create(user=user, department=department)
    return user


@pytest.fixture
def world(banan, kaizhou, make_user, make_org, member_of, regulator_of, make_site, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    city = _member(make_user, KAIZHOU, "区城管局")
    office = _member(make_user, KAIZHOU, "区“无废城市”建设工作领导小组办公室")
    banan_city = _member(make_user, BANAN, "区城市管理局")
    lvneng = make_org("重庆绿能新能源有限公司", region=KAIZHOU, roles=("receiver",))
    site = make_site(lvneng, kind=Site.Kind.OPERATING, name="开州厨余处理厂")
    for plan in (banan, kaizhou):
        services.relink_units(scope=ADMIN, region=plan.region)
    kaizhou.leading_office = Department.objects.get(region_id=KAIZHOU, name="区“无废城市”建设工作领导小组办公室")
    kaizhou.save()
    item = TaskItem.objects.get(plan=kaizhou, number=55)  # 区城管局 leads
    report = services.report_on_item(scope=scope_for(city), item_id=item.pk, status="in_progress", percent=30,
                                     narrative="开州秘密进展")
    evidence = services.add_evidence(scope=scope_for(city), report_id=report.pk, name="开州证据.pdf",
                                     content=b"%PDF secret")
    project = KeyProject.objects.get(plan=kaizhou, number=18)
    services.report_on_project(scope=scope_for(city), project_id=project.pk, status="completed", percent=100,
                               narrative="开州项目建成", spend_to_date="1980")
    milestone = services.add_milestone(scope=scope_for(city), project_id=project.pk, title="开州里程碑")
    cell = services.apply_cell(scope=scope_for(office), plan_id=kaizhou.pk, cell_type="school", name="开州秘密学校")
    assessed = services.apply_cell(scope=scope_for(office), plan_id=kaizhou.pk, cell_type="office", name="开州秘密机关")
    assessed = services.assess_cell(scope=scope_for(office), cell_id=assessed.pk, version=assessed.version,
                                    passed=True)
    banan_enterprise = make_org("巴南某企业", region=BANAN)
    return {
        "plan": kaizhou, "banan": banan, "item": item, "report": report, "evidence": evidence,
        "project": KeyProject.objects.get(pk=project.pk), "milestone": milestone, "cell": cell, "assessed": assessed,
        "site": site, "lvneng": lvneng, "unit": ResponsibleUnit.objects.get(region_id=KAIZHOU, name="区城管局"),
        "outsiders": {
            "Banan regulator": regulator_of(BANAN),
            "Banan department": banan_city,
            "Banan enterprise": member_of(banan_enterprise),
            "unrelated Kaizhou enterprise": member_of(make_org("开州无关企业", region=KAIZHOU)),
        },
        "insiders": {"Kaizhou regulator": regulator_of(KAIZHOU), "Kaizhou office": office, "Kaizhou unit": city},
        "markers": ["开州秘密进展", "开州证据", "开州项目建成", "开州里程碑", "开州秘密学校", "开州秘密机关",
                    "新增厨余垃圾处理规模100吨", "浦里新区管委会", "开州区“十四五”"],
    }


def _file(name="t.csv", content="序号,任务,内容,牵头单位\n1,x,y,区城管局\n".encode()):
    return SimpleUploadedFile(name, content)


# (method, path) -> how to call it against Kaizhou: url, body (dict = JSON, ("multipart", dict) = form)
CASES = {
    ("GET", "/programme/plans"): lambda w: ("/api/v1/programme/plans", None),
    ("POST", "/programme/plans"): lambda w: ("/api/v1/programme/plans", {
        "region_code": KAIZHOU, "code": "kz-fake", "title": "冒名方案", "start_year": 2024, "end_year": 2025}),
    ("GET", "/programme/plans/{plan_id}"): lambda w: (f"/api/v1/programme/plans/{w['plan'].pk}", None),
    ("POST", "/programme/plans/{plan_id}/imports/{kind}"): lambda w: (
        f"/api/v1/programme/plans/{w['plan'].pk}/imports/tasks", ("multipart", {"file": _file()})),
    ("GET", "/programme/plans/{plan_id}/board"): lambda w: (f"/api/v1/programme/plans/{w['plan'].pk}/board", None),
    ("GET", "/programme/plans/{plan_id}/bulletin"): lambda w: (
        f"/api/v1/programme/plans/{w['plan'].pk}/bulletin?format=xlsx", None),
    ("GET", "/programme/plans/{plan_id}/cell-counts"): lambda w: (
        f"/api/v1/programme/plans/{w['plan'].pk}/cell-counts", None),
    ("GET", "/programme/units"): lambda w: (f"/api/v1/programme/units?plan={w['plan'].pk}", None),
    ("POST", "/programme/units/{unit_id}/link"): lambda w: (f"/api/v1/programme/units/{w['unit'].pk}/link", {
        "version": w["unit"].version, "organization_id": None, "department_id": None}),
    ("GET", "/programme/items"): lambda w: (f"/api/v1/programme/items?plan={w['plan'].pk}&limit=500", None),
    ("GET", "/programme/items/{item_id}"): lambda w: (f"/api/v1/programme/items/{w['item'].pk}", None),
    ("POST", "/programme/items/{item_id}/reports"): lambda w: (f"/api/v1/programme/items/{w['item'].pk}/reports", {
        "status": "completed", "percent": 100, "narrative": "冒名"}),
    ("GET", "/programme/todo"): lambda w: ("/api/v1/programme/todo", None),
    ("GET", "/programme/reports"): lambda w: (f"/api/v1/programme/reports?plan={w['plan'].pk}", None),
    ("GET", "/programme/reports/{report_id}"): lambda w: (f"/api/v1/programme/reports/{w['report'].pk}", None),
    ("POST", "/programme/reports/{report_id}/evidence"): lambda w: (
        f"/api/v1/programme/reports/{w['report'].pk}/evidence", ("multipart", {"file": _file("x.pdf", b"%PDF")})),
    ("GET", "/programme/evidence/{evidence_id}"): lambda w: (f"/api/v1/programme/evidence/{w['evidence'].pk}", None),
    ("GET", "/programme/projects"): lambda w: (f"/api/v1/programme/projects?plan={w['plan'].pk}&limit=500", None),
    ("GET", "/programme/projects/{project_id}"): lambda w: (f"/api/v1/programme/projects/{w['project'].pk}", None),
    ("POST", "/programme/projects/{project_id}/reports"): lambda w: (
        f"/api/v1/programme/projects/{w['project'].pk}/reports", {"status": "suspended", "percent": 0,
                                                                   "narrative": "冒名"}),
    ("POST", "/programme/projects/{project_id}/milestones"): lambda w: (
        f"/api/v1/programme/projects/{w['project'].pk}/milestones", {"title": "冒名"}),
    ("PATCH", "/programme/milestones/{milestone_id}"): lambda w: (
        f"/api/v1/programme/milestones/{w['milestone'].pk}", {"version": w["milestone"].version, "title": "冒名"}),
    ("POST", "/programme/projects/{project_id}/facility"): lambda w: (
        f"/api/v1/programme/projects/{w['project'].pk}/facility", {"version": w["project"].version,
                                                                    "site_id": w["site"].pk}),
    ("GET", "/programme/cells"): lambda w: (f"/api/v1/programme/cells?plan={w['plan'].pk}", None),
    ("POST", "/programme/cells"): lambda w: ("/api/v1/programme/cells", {
        "plan_id": w["plan"].pk, "cell_type": "restaurant", "name": "冒名饭店", "organization_id": w["lvneng"].pk}),
    ("GET", "/programme/cells/{cell_id}"): lambda w: (f"/api/v1/programme/cells/{w['cell'].pk}", None),
    ("POST", "/programme/cells/{cell_id}/assessment"): lambda w: (
        f"/api/v1/programme/cells/{w['cell'].pk}/assessment", {"version": w["cell"].version, "passed": True}),
    ("POST", "/programme/cells/{cell_id}/certificate"): lambda w: (
        f"/api/v1/programme/cells/{w['assessed'].pk}/certificate", {"version": w["assessed"].version}),
}


def operations(api_router):
    return {(method, path) for path, view in api_router.path_operations.items()
            for op in view.operations for method in op.methods}


def test_every_programme_endpoint_has_a_scope_case():
    assert operations(router) == set(CASES)


def call(client, method, url, body):
    if body is None:
        return client.generic(method, url)
    if isinstance(body, tuple):
        return client.post(url, body[1])
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def kaizhou_state(w):
    plan = w["plan"]
    return {
        "plans": list(Plan.objects.order_by("pk").values()),
        "items": list(TaskItem.objects.filter(plan=plan).order_by("pk").values()),
        "reports": list(ProgressReport.objects.order_by("pk").values()),
        "evidence": list(Evidence.objects.order_by("pk").values()),
        "projects": list(KeyProject.objects.filter(plan=plan).order_by("pk").values()),
        "milestones": list(Milestone.objects.order_by("pk").values()),
        "cells": list(ZeroWasteCell.objects.order_by("pk").values()),
        "units": list(ResponsibleUnit.objects.filter(region_id=KAIZHOU).order_by("pk").values()),
    }


def _text(response) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    content = response.content
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        from io import BytesIO

        from openpyxl import load_workbook

        book = load_workbook(BytesIO(content))
        return " ".join(str(c) for s in book.worksheets for row in s.iter_rows(values_only=True) for c in row if c)
    return content.decode("utf-8", "replace")


@pytest.mark.parametrize("who", ["Banan regulator", "Banan department", "Banan enterprise",
                                 "unrelated Kaizhou enterprise"])
def test_outsiders_cannot_read_or_change_kaizhou_through_any_endpoint(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = kaizhou_state(world)
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    for (method, path), case in sorted(CASES.items()):
        url, body = case(world)
        response = call(client, method, url, body)
        text = _text(response)
        for marker in world["markers"]:
            assert marker not in text, f"{who} saw {marker} through {method} {url}: {response.status_code}"
        if method != "GET":
            assert response.status_code in (403, 404, 422), f"{who}: {method} {url} -> {response.status_code}"
        elif "{" in path:
            assert response.status_code in (403, 404), f"{who}: {method} {url} -> {response.status_code}"
    assert kaizhou_state(world) == before
    assert not AuditEvent.objects.filter(pk__gt=last_event).exists()
    assert audit.verify_chain().ok


def test_insiders_do_see_kaizhou(world, client_for):
    """The positive control: the same addresses answer the district's regulator, its office and its unit."""
    plan = world["plan"]
    for who in ("Kaizhou regulator", "Kaizhou office"):
        client = client_for(world["insiders"][who])
        board = client.get(f"/api/v1/programme/plans/{plan.pk}/board").json()
        assert board["totals"]["total"] == 107, who
        assert "开州秘密进展" in client.get(f"/api/v1/programme/reports/{world['report'].pk}").content.decode()
        assert client.get(f"/api/v1/programme/evidence/{world['evidence'].pk}").status_code == 200
        assert len(client.get(f"/api/v1/programme/cells?plan={plan.pk}").json()["items"]) == 2
    unit = client_for(world["insiders"]["Kaizhou unit"])
    assert unit.get(f"/api/v1/programme/items/{world['item'].pk}").status_code == 200
    assert unit.get(f"/api/v1/programme/plans/{plan.pk}/board").status_code == 403
    todo = unit.get("/api/v1/programme/todo").json()
    assert 55 in {row["item"]["number"] for row in todo["items"]}
    items = unit.get(f"/api/v1/programme/items?plan={plan.pk}&limit=500").json()["items"]
    assert 0 < len(items) < 107 and all("区城管局" in {u["unit"] for u in i["units"]} for i in items)


def test_the_city_regulator_sees_both_districts(world, client_for, regulator_of):
    city = client_for(regulator_of("500000"))
    assert {p["code"] for p in city.get("/api/v1/programme/plans").json()} == {"banan-2022", "kaizhou-2023"}


# --- pages -----------------------------------------------------------------------------------------

PAGE_CASES = {
    "plan_list": lambda w: [("GET", reverse("programme:plan_list"), None)],
    "todo": lambda w: [("GET", reverse("programme:todo"), None)],
    "board": lambda w: [("GET", reverse("programme:board", args=[w["plan"].pk]), None)],
    "import": lambda w: [("POST", reverse("programme:import", args=[w["plan"].pk, "tasks"]), {"file": _file()})],
    "bulletin": lambda w: [("GET", reverse("programme:bulletin", args=[w["plan"].pk, "xlsx"]), None),
                           ("GET", reverse("programme:bulletin", args=[w["plan"].pk, "pdf"]), None)],
    "project_list": lambda w: [("GET", reverse("programme:project_list", args=[w["plan"].pk]), None)],
    "cells": lambda w: [("GET", reverse("programme:cells", args=[w["plan"].pk]), None),
                        ("POST", reverse("programme:cells", args=[w["plan"].pk]), {
                            "cell_type": "school", "name": "冒名学校", "organization": w["lvneng"].pk})],
    "item_detail": lambda w: [("GET", reverse("programme:item_detail", args=[w["item"].pk]), None),
                              ("POST", reverse("programme:item_detail", args=[w["item"].pk]), {
                                  "status": "completed", "percent": "100", "narrative": "冒名"})],
    "project_detail": lambda w: [("GET", reverse("programme:project_detail", args=[w["project"].pk]), None),
                                 ("POST", reverse("programme:project_detail", args=[w["project"].pk]), {
                                     "action": "milestone", "title": "冒名"})],
    "cell_review": lambda w: [("POST", reverse("programme:cell_review", args=[w["cell"].pk, "assess"]), {
        "version": w["cell"].version, "passed": "1"}),
        ("POST", reverse("programme:cell_review", args=[w["assessed"].pk, "certify"]), {
            "version": w["assessed"].version})],
}


def test_every_programme_page_has_a_scope_case():
    from wufei.programme.urls import urlpatterns

    assert {pattern.name for pattern in urlpatterns} == set(PAGE_CASES)


@pytest.mark.parametrize("who", ["Banan regulator", "Banan department", "Banan enterprise",
                                 "unrelated Kaizhou enterprise"])
def test_outsiders_cannot_read_or_change_kaizhou_through_any_page(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = kaizhou_state(world)
    for case in PAGE_CASES.values():
        for method, url, body in case(world):
            response = client.post(url, body) if method == "POST" else client.get(url)
            text = _text(response).replace(url, "")
            for marker in world["markers"]:
                assert marker not in text, f"{who} saw {marker} on {method} {url}"
            if method == "POST" or "plans/" in url or "items/" in url or "projects/" in url:
                assert response.status_code in (302, 403, 404), f"{who}: {method} {url} -> {response.status_code}"
    assert kaizhou_state(world) == before


def test_insiders_see_their_pages(world, client_for):
    office = client_for(world["insiders"]["Kaizhou office"])
    board = office.get(reverse("programme:board", args=[world["plan"].pk]))
    assert board.status_code == 200 and "开州区“十四五”" in board.content.decode()
    unit = client_for(world["insiders"]["Kaizhou unit"])
    page = unit.get(reverse("programme:item_detail", args=[world["item"].pk])).content.decode()
    assert "开州秘密进展" in page and 'data-testid="report-form"' in page
    assert "新增厨余垃圾处理规模100吨" in unit.get(reverse("programme:todo")).content.decode()
    detail = office.get(reverse("programme:project_detail", args=[world["project"].pk])).content.decode()
    assert "开州里程碑" in detail
