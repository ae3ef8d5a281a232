"""The registry's pages: list, one-unit file (一企一档), override and close forms, import and export."""

import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.conftest import BANAN, KAIZHOU, uscc_for
from wufei.registry import views
from wufei.registry.models import Organization

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def browser(client_for):
    """A logged-in client reading the English UI (assertions do not depend on the Chinese catalog)."""

    def make(user):
        client = client_for(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


def text_of(response) -> str:
    return response.content.decode()


def detail_url(org) -> str:
    return reverse("registry:organization_detail", args=[org.pk])


# --- list ---------------------------------------------------------------------------------------

def test_pages_require_login(client, make_org):
    org = make_org()
    for url in (reverse("registry:organization_list"), detail_url(org), reverse("registry:import"),
                reverse("registry:export", args=["organizations"])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_enterprise_user_lists_only_its_own_organization(make_org, member_of, browser):
    own = make_org("自家化工有限公司")
    make_org("别家电镀有限公司")
    response = browser(member_of(own)).get(reverse("registry:organization_list"))
    assert response.status_code == 200
    page = text_of(response)
    assert "自家化工有限公司" in page and own.uscc in page
    assert "别家电镀有限公司" not in page


def test_regulator_lists_its_region_only(make_org, regulator_of, browser):
    make_org("巴南甲公司", region=BANAN)
    make_org("巴南乙公司", region=BANAN, roles=("transporter",))
    make_org("开州丙公司", region=KAIZHOU)
    client = browser(regulator_of(BANAN))
    page = text_of(client.get(reverse("registry:organization_list")))
    assert "巴南甲公司" in page and "巴南乙公司" in page
    assert "开州丙公司" not in page

    filtered = text_of(client.get(reverse("registry:organization_list"), {"role": "transporter"}))
    assert "巴南乙公司" in filtered and "巴南甲公司" not in filtered
    by_name = text_of(client.get(reverse("registry:organization_list"), {"q": "甲"}))
    assert "巴南甲公司" in by_name and "巴南乙公司" not in by_name
    # asking for another region's units through the filter still shows nothing outside the scope
    assert "开州丙公司" not in text_of(client.get(reverse("registry:organization_list"), {"region": KAIZHOU}))


def test_list_is_paginated_and_keeps_filters(make_org, regulator_of, browser):
    for number in range(52):
        make_org(f"分页单位{number:03d}")
    client = browser(regulator_of(BANAN))
    first = text_of(client.get(reverse("registry:organization_list"), {"q": "分页"}))
    assert "分页单位000" in first and "分页单位050" not in first
    assert "?q=%E5%88%86%E9%A1%B5&amp;page=2" in first
    second = text_of(client.get(reverse("registry:organization_list"), {"q": "分页", "page": 2}))
    assert "分页单位050" in second and "分页单位051" in second and "分页单位000" not in second


def test_unknown_role_filter_is_a_message_not_a_crash(regulator_of, browser):
    response = browser(regulator_of(BANAN)).get(reverse("registry:organization_list"), {"role": "pirate"})
    assert response.status_code == 200
    assert "unknown role" in text_of(response)


# --- detail (一企一档) ----------------------------------------------------------------------------

def test_detail_shows_sites_vehicles_permits_members_and_history(make_org, member_of, make_site, make_vehicle,
                                                                 make_permit, browser):
    org = make_org("重庆某某环保科技有限公司", roles=("transporter", "receiver"), address="巴南区界石镇")
    make_site(org, name="危废暂存间一号")
    make_vehicle(org, plate="渝B12345", valid_until=dt.date.today() - dt.timedelta(days=1))
    make_permit(org, lines=(("HW49", "1200", ("D10",)), ("900-041-49", "300", ())))
    admin = member_of(org, username="zhang-admin")
    response = browser(admin).get(detail_url(org))
    assert response.status_code == 200
    page = text_of(response)
    assert org.uscc in page and "巴南区" in page and "界石镇" in page
    assert "危废暂存间一号" in page
    assert "渝B12345" in page
    assert re.search(r'<tr class="expired[^"]*">\s*<td>渝B12345', page), "an expired vehicle permit is highlighted"
    assert "渝危废" in page and "HW49" in page and "900-041-49" in page and "D10" in page and "1200" in page
    assert "zhang-admin" in page and "administrator" in page
    history = page.split('data-testid="history"')[1]
    assert "created" in history


def test_other_apps_can_add_sections_to_the_detail_page(make_org, member_of, browser, monkeypatch):
    from django.template import Template

    org = make_org()
    section = views.OrganizationSection(
        key="containers", title="Containers", template=Template("<p>{{ section.data.count }} containers in store</p>"),
        data=lambda scope, organization: {"count": 7 if organization.pk == org.pk else 0})
    monkeypatch.setitem(views.ORGANIZATION_SECTIONS, section.key, section)
    page = text_of(browser(member_of(org)).get(detail_url(org)))
    assert '<section id="containers"' in page and "7 containers in store" in page
    assert '<a href="#containers">Containers</a>' in page


def test_detail_of_another_organization_is_404(make_org, member_of, browser):
    own, other = make_org(), make_org()
    client = browser(member_of(own))
    assert client.get(detail_url(other)).status_code == 404
    assert client.get(reverse("registry:organization_detail", args=[999999])).status_code == 404


def test_regulator_of_another_region_gets_404(make_org, regulator_of, browser):
    org = make_org(region=KAIZHOU)
    assert browser(regulator_of(BANAN)).get(detail_url(org)).status_code == 404


# --- supervision class override ---------------------------------------------------------------

def test_regulator_overrides_class_with_reason(make_org, regulator_of, browser):
    org = make_org()
    assert org.effective_supervision_class == "registered"
    regulator = regulator_of(BANAN, username="banan-officer")
    client = browser(regulator)
    assert 'name="supervision_class"' in text_of(client.get(detail_url(org)))
    reason = "2023年双随机检查发现贮存不规范"
    response = client.post(reverse("registry:organization_supervision", args=[org.pk]),
                           {"supervision_class": "key", "reason": reason, "version": org.version}, follow=True)
    assert response.status_code == 200
    org.refresh_from_db()
    assert org.supervision_override == "key" and org.effective_supervision_class == "key"
    assert org.supervision_override_by == regulator
    page = text_of(response)
    assert "2023年双随机检查发现贮存不规范" in page
    assert '<span class="badge key" data-testid="effective-class">' in page
    history = page.split('data-testid="history"')[1]
    assert "supervision class set by regulator" in history and "banan-officer" in history

    removed = client.post(reverse("registry:organization_supervision", args=[org.pk]),
                          {"supervision_class": "", "reason": "整改完成", "version": org.version})
    assert removed.status_code == 302
    org.refresh_from_db()
    assert org.supervision_override == "" and org.effective_supervision_class == "registered"


def test_override_without_reason_shows_error_and_changes_nothing(make_org, regulator_of, browser):
    org = make_org()
    response = browser(regulator_of(BANAN)).post(reverse("registry:organization_supervision", args=[org.pk]),
                                                 {"supervision_class": "key", "reason": " ", "version": org.version})
    assert response.status_code == 422
    page = text_of(response)
    assert 'data-testid="override-reason-error"' in page
    assert "a reason is required to override the computed class" in page
    before = org.version
    org.refresh_from_db()
    assert org.supervision_override == "" and org.version == before


def test_stale_version_is_refused(make_org, regulator_of, browser):
    org = make_org()
    stale = {"supervision_class": "key", "reason": "x", "version": org.version - 1}
    response = browser(regulator_of(BANAN)).post(reverse("registry:organization_supervision", args=[org.pk]), stale)
    assert response.status_code == 409
    assert "changed by someone else" in text_of(response)
    org.refresh_from_db()
    assert org.supervision_override == ""


def test_enterprise_user_cannot_override(make_org, member_of, browser):
    org = make_org()
    client = browser(member_of(org, role="admin"))
    assert 'name="supervision_class"' not in text_of(client.get(detail_url(org)))
    response = client.post(reverse("registry:organization_supervision", args=[org.pk]),
                           {"supervision_class": "registered", "reason": "我们自己说了算", "version": org.version})
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.supervision_override == ""


# --- close ------------------------------------------------------------------------------------

def test_org_admin_closes_the_organization(make_org, member_of, browser):
    org = make_org()
    client = browser(member_of(org, role="admin"))
    assert 'id="close-reason"' in text_of(client.get(detail_url(org)))
    response = client.post(reverse("registry:organization_close", args=[org.pk]),
                           {"reason": "企业搬迁关停", "version": org.version, "closed_on": "2024-06-30"}, follow=True)
    assert response.status_code == 200
    org.refresh_from_db()
    assert org.status == Organization.Status.CLOSED
    assert org.closed_reason == "企业搬迁关停" and org.closed_on == dt.date(2024, 6, 30)
    page = text_of(response)
    assert 'data-testid="status"' in page and "企业搬迁关停" in page
    assert 'id="close-reason"' not in page, "a closed unit offers no close form"


def test_close_needs_a_reason_and_a_writer(make_org, member_of, browser):
    org = make_org()
    response = browser(member_of(org, role="admin")).post(reverse("registry:organization_close", args=[org.pk]),
                                                          {"reason": "", "version": org.version})
    assert response.status_code == 422 and 'id="close-reason-error"' in text_of(response)
    reader = browser(member_of(org, role="reader"))
    assert 'id="close-reason"' not in text_of(reader.get(detail_url(org)))
    denied = reader.post(reverse("registry:organization_close", args=[org.pk]), {"reason": "x", "version": org.version})
    assert denied.status_code == 403
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE


# --- import -------------------------------------------------------------------------------------

def upload(client, kind, text, name="units.csv"):
    file = io.BytesIO(text.encode("utf-8"))
    file.name = name
    return client.post(reverse("registry:import"), {"kind": kind, "file": file}, follow=True)


def test_import_good_csv_creates_organizations(regulator_of, browser):
    first, second = uscc_for(BANAN), uscc_for(BANAN)
    csv_text = ("uscc,name,region,roles,annual_hazardous_waste_tonnes\n"
                f"{first},导入甲公司,{BANAN},generator,150\n"
                f"{second},导入乙公司,{BANAN},transporter;generator,5\n")
    client = browser(regulator_of(BANAN))
    assert client.get(reverse("registry:import")).status_code == 200
    response = upload(client, "organizations", csv_text)
    assert response.status_code == 200
    assert "2 created, 0 updated" in text_of(response)
    created = Organization.objects.get(uscc=first)
    assert created.name == "导入甲公司" and created.supervision_class == "key"
    assert Organization.objects.get(uscc=second).is_transporter

    again = upload(client, "organizations", csv_text.replace("导入乙公司", "导入乙公司（更名）"))
    assert "0 created, 2 updated" in text_of(again)
    assert Organization.objects.get(uscc=second).name == "导入乙公司（更名）"


def test_import_xlsx_filled_from_the_template(regulator_of, browser):
    client = browser(regulator_of(BANAN))
    template = client.get(reverse("registry:import_template", args=["organizations"]))
    workbook = load_workbook(io.BytesIO(template.content))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    row = dict.fromkeys(header)
    uscc = uscc_for(BANAN)
    row.update({"统一社会信用代码": uscc, "单位名称": "表格导入公司", "行政区划代码": BANAN, "单位类型": "产废单位"})
    sheet.append([row[name] for name in header])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "units.xlsx"
    response = client.post(reverse("registry:import"), {"kind": "organizations", "file": buffer}, follow=True)
    assert "1 created, 0 updated" in text_of(response)
    assert Organization.objects.get(uscc=uscc).is_generator


def test_import_bad_csv_lists_every_error_and_writes_nothing(regulator_of, browser):
    good = uscc_for(BANAN)
    valid = uscc_for(BANAN)
    broken = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    csv_text = ("uscc,name,region,roles\n"
                f"{good},好公司,{BANAN},generator\n"
                f"{broken},坏代码公司,{BANAN},generator\n"
                f"{uscc_for(BANAN)},坏区划公司,999999,generator\n")
    response = upload(browser(regulator_of(BANAN)), "organizations", csv_text)
    assert response.status_code == 422
    page = text_of(response)
    assert "Nothing was written." in page
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([A-Z—]+)</td><td>([\w—]+)</td><td>', page)
    assert ("3", "A", "uscc") in rows
    assert ("4", "C", "region") in rows
    assert not Organization.objects.filter(uscc__in=[good, broken]).exists()
    assert not Organization.objects.filter(name__in=["好公司", "坏区划公司"]).exists()


def test_import_is_all_or_nothing_when_a_row_fails_in_the_services(regulator_of, browser):
    banan, kaizhou = uscc_for(BANAN), uscc_for(KAIZHOU)
    csv_text = ("uscc,name,region,roles\n"
                f"{banan},本区公司,{BANAN},generator\n"
                f"{kaizhou},外区公司,{KAIZHOU},generator\n")
    response = upload(browser(regulator_of(BANAN)), "organizations", csv_text)
    assert response.status_code == 422
    assert re.search(r'<tr><td class="num">3</td>', text_of(response))
    assert not Organization.objects.filter(uscc__in=[banan, kaizhou]).exists()


def test_import_is_forbidden_to_enterprise_users(make_org, member_of, browser):
    client = browser(member_of(make_org()))
    assert client.get(reverse("registry:import")).status_code == 403
    file = io.BytesIO(f"uscc,name,region,roles\n{uscc_for(BANAN)},x,{BANAN},generator\n".encode())
    file.name = "units.csv"
    assert client.post(reverse("registry:import"), {"kind": "organizations", "file": file}).status_code == 403
    assert client.get(reverse("registry:import_template", args=["organizations"])).status_code == 403
    assert Organization.objects.count() == 1


# --- export -------------------------------------------------------------------------------------

def test_export_returns_a_readable_workbook(make_org, regulator_of, browser):
    org = make_org("导出公司")
    make_org("开州导出公司", region=KAIZHOU)
    client = browser(regulator_of(BANAN))
    response = client.get(reverse("registry:export", args=["organizations"]))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "统一社会信用代码" and "单位名称" in rows[0]
    assert [row[0] for row in rows[1:]] == [org.uscc]
    for kind in ("sites", "vehicles", "permits"):
        other = client.get(reverse("registry:export", args=[kind]))
        assert other.status_code == 200 and other["Content-Type"] == XLSX
    assert client.get(reverse("registry:export", args=["secrets"])).status_code == 404


def test_import_template_has_headers_only(make_org, regulator_of, browser):
    make_org()
    response = browser(regulator_of(BANAN)).get(reverse("registry:import_template", args=["vehicles"]))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 1 and "车牌号" in rows[0]
