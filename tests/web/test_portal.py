"""The public portal: each disclosure list shows the right rows, hides private fields, filters by
district, searches, pages and downloads as CSV; verification and complaint links are there."""

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.conftest import BANAN, CHONGQING, KAIZHOU
from wufei.manifests.models import CrossProvinceApplication
from wufei.registry.models import SupervisionClass

pytestmark = pytest.mark.usefixtures("english")

SECRET_BITS = ("13812345678", "王经理", "渝北区秘密路88号", "李法人", "内部核查备注")


@pytest.fixture
def anon():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def installation(regulator_of):
    regulator_of(CHONGQING)  # the installation covers Chongqing's districts


@pytest.fixture
def units(installation, make_org):
    private = {"contact_name": "王经理", "contact_phone": "13812345678", "address": "渝北区秘密路88号",
               "legal_representative": "李法人", "industry_name": "化学原料制造"}
    key_banan = make_org(name="巴南重点化工厂", region=BANAN, supervision_class=SupervisionClass.KEY, **private)
    key_kaizhou = make_org(name="开州重点冶炼厂", region=KAIZHOU, supervision_class=SupervisionClass.KEY, **private)
    overridden = make_org(name="巴南升级单位", region=BANAN, supervision_override=SupervisionClass.KEY, **private)
    downgraded = make_org(name="巴南降级单位", region=BANAN, supervision_class=SupervisionClass.KEY,
                          supervision_override=SupervisionClass.SIMPLIFIED)
    plain = make_org(name="巴南普通单位", region=BANAN)
    closed = make_org(name="巴南关停单位", region=BANAN, supervision_class=SupervisionClass.KEY, status="closed")
    return {"key_banan": key_banan, "key_kaizhou": key_kaizhou, "overridden": overridden,
            "downgraded": downgraded, "plain": plain, "closed": closed}


def _rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_index_links_everything(anon, installation):
    html = anon.get("/portal/").content.decode()
    for url in ("/portal/key-units/", "/portal/operators/", "/portal/approvals/", "/portal/assessments/",
                "/portal/verify/", "/cases/report/", "/cases/follow/"):
        assert f'href="{url}"' in html, url


def test_key_units_rows_private_fields_region_filter_and_csv(anon, units):
    response = anon.get("/portal/key-units/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="row-count">3<' in html
    for name in ("巴南重点化工厂", "开州重点冶炼厂", "巴南升级单位"):
        assert name in html
    for name in ("巴南降级单位", "巴南普通单位", "巴南关停单位"):
        assert name not in html
    assert units["key_banan"].uscc in html and "化学原料制造" in html
    for secret in SECRET_BITS:
        assert secret not in html
    banan = anon.get(f"/portal/key-units/?region={BANAN}").content.decode()
    assert 'data-testid="row-count">2<' in banan and "开州重点冶炼厂" not in banan
    assert 'data-testid="row-count">1<' in anon.get("/portal/key-units/?q=冶炼").content.decode()
    assert 'data-testid="row-count">0<' in anon.get("/portal/key-units/?region=110101").content.decode()
    download = anon.get(f"/portal/key-units/?region={BANAN}&format=csv")
    assert download["Content-Type"].startswith("text/csv") and "attachment" in download["Content-Disposition"]
    rows = _rows(download)
    assert rows[0] == ["Name", "USCC", "District", "Industry"]
    assert sorted(r[0] for r in rows[1:]) == sorted(["巴南重点化工厂", "巴南升级单位"])
    assert not any(secret in download.content.decode("utf-8-sig") for secret in SECRET_BITS)


def test_key_units_page_by_page(anon, installation, make_org, settings):
    from wufei.web import portal

    for i in range(portal.PAGE_SIZE + 3):
        make_org(name=f"重点单位{i:03d}", region=BANAN, supervision_class=SupervisionClass.KEY)
    first = anon.get("/portal/key-units/").content.decode()
    second = anon.get("/portal/key-units/?page=2").content.decode()
    assert first.count("<tr><td>") == portal.PAGE_SIZE and second.count("<tr><td>") == 3
    assert "1 / 2" in first and "2 / 2" in second
    assert len(_rows(anon.get("/portal/key-units/?format=csv"))) == portal.PAGE_SIZE + 4


def test_operators_and_permits(anon, units, make_org, make_permit):
    operator = make_org(name="重庆危废处置中心", region=BANAN, roles=("receiver",), contact_phone="13812345678")
    make_permit(operator, number="渝危废0001号", lines=(("HW08", "3000", ("D10",)), ("HW49", "500", ("R15",))))
    make_permit(operator, number="渝危废0002号", valid_until=dt.date.today() - dt.timedelta(days=2),
                valid_from=dt.date.today() - dt.timedelta(days=400))
    other = make_org(name="开州综合利用公司", region=KAIZHOU, roles=("receiver",))
    make_permit(other, number="渝危废0003号", status="suspended")
    html = anon.get("/portal/operators/").content.decode()
    assert 'data-testid="row-count">3<' in html
    assert "13812345678" not in html
    rows = _rows(anon.get(f"/portal/operators/?region={BANAN}&format=csv"))
    assert [r[0] for r in rows[1:]] == ["渝危废0001号", "渝危废0002号"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Holder"] == "重庆危废处置中心" and first["Codes / categories"] == "HW08 HW49"
    assert first["Methods"] == "D10 R15" and first["Annual capacity (t/a)"] == "3500" and first["Status"] == "valid"
    assert dict(zip(rows[0], rows[2], strict=True))["Status"] == "expired"
    kaizhou = _rows(anon.get(f"/portal/operators/?region={KAIZHOU}&format=csv"))
    assert [(r[0], r[-1]) for r in kaizhou[1:]] == [("渝危废0003号", "suspended")]


@pytest.fixture
def applications(installation, make_org):
    from wufei.catalog.models import Region

    generator = make_org(name="巴南产废企业", region=BANAN, contact_phone="13812345678")
    receiver = make_org(name="四川利用企业", region="510112", roles=("receiver",))
    kaizhou = make_org(name="开州产废企业", region=KAIZHOU)
    chongqing, sichuan = Region.objects.get(pk=CHONGQING), Region.objects.get(pk="510000")
    common = {"receiver": receiver, "origin_province": chongqing, "destination_province": sichuan,
              "waste_id": "900-041-49", "waste_name": "废包装桶", "requested_tonnes": Decimal("100"),
              "requested_until": dt.date(2026, 12, 31)}
    approved = CrossProvinceApplication.objects.create(
        generator=generator, status="approved", approved_tonnes=Decimal("80.5"), valid_from=dt.date(2026, 3, 2),
        valid_until=dt.date(2026, 12, 31), decision_note="内部核查备注",
        history=[{"step": "decision", "decision": "approved", "at": "2026-03-02T10:00:00+08:00", "note": ""}],
        **common)
    refused = CrossProvinceApplication.objects.create(
        generator=kaizhou, status="refused", decision_note="内部核查备注",
        history=[{"step": "decision", "decision": "refused", "at": "2026-04-05T09:00:00+08:00", "note": "x"}],
        **common)
    pending = CrossProvinceApplication.objects.create(generator=make_org(name="待审企业", region=BANAN),
                                                      status="submitted", **common)
    return approved, refused, pending


def test_approval_results_only_decided(anon, applications):
    html = anon.get("/portal/approvals/").content.decode()
    assert 'data-testid="row-count">2<' in html and "待审企业" not in html
    assert "内部核查备注" not in html and "13812345678" not in html
    rows = _rows(anon.get(f"/portal/approvals/?region={BANAN}&format=csv"))
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Applicant"] == "巴南产废企业" and row["Province of origin"] == "重庆市"
    assert row["Destination province"] == "四川省" and row["Waste code"] == "900-041-49"
    assert row["Approved (t)"] == "80.5" and row["Valid until"] == "2026-12-31" and row["Decided on"] == "2026-03-02"
    assert row["Decision"] == "approved"
    refused = dict(zip(rows[0], _rows(anon.get(f"/portal/approvals/?region={KAIZHOU}&format=csv"))[1], strict=True))
    assert refused["Decision"] == "refused" and refused["Approved (t)"] == "" and refused["Decided on"] == "2026-04-05"


@pytest.fixture
def evaluations(installation):
    from wufei.catalog.models import Region
    from wufei.indicators.models import Evaluation, Indicator, Plan, PlanIndicator, Target

    indicator = Indicator.objects.create(code="T-GISW-UTIL", name="一般工业固体废物综合利用率", level1="a",
                                         level2="b", unit="%", numerator="x", decimals=2)
    made = {}
    for code, value, status in ((BANAN, Decimal("91.234"), "on_track"), (KAIZHOU, Decimal("78.9"), "at_risk")):
        plan = Plan.objects.create(key=f"plan-{code}", name=f"{code} 方案", region=Region.objects.get(pk=code),
                                   baseline_year=2020, target_years=[2025])
        row = PlanIndicator.objects.create(plan=plan, number=1, indicator=indicator, name="一般工业固废综合利用率",
                                           unit="%", responsible="内部核查备注")
        Target.objects.create(row=row, year=2025, text="≥95%")
        made[code] = Evaluation.objects.create(row=row, year=2024, value=value, status=status, inputs={})
    return made


def test_assessment_results_from_stored_evaluations(anon, evaluations):
    html = anon.get("/portal/assessments/").content.decode()
    assert 'data-testid="row-count">2<' in html and "内部核查备注" not in html
    rows = _rows(anon.get(f"/portal/assessments/?region={BANAN}&format=csv"))
    assert rows[0] == ["Region", "Year", "Indicator", "Unit", "Target", "Value", "Status"]
    assert rows[1] == ["巴南区", "2024", "一般工业固废综合利用率", "%", "≥95%", "91.23", "on track"]
    assert len(_rows(anon.get("/portal/assessments/?year=2023&format=csv"))) == 1
    assert len(_rows(anon.get("/portal/assessments/?year=2024&format=csv"))) == 3


def test_verify_page_links_to_manifest_verification(anon, installation):
    html = anon.get("/portal/verify/").content.decode()
    assert 'action="/manifests/verify/"' in html and 'name="number"' in html
    assert 'id="scan-start" hidden' in html and "/static/web/verify.js" in html  # the scanner: a static script
    assert "BarcodeDetector" in Path(finders.find("web/verify.js")).read_text(encoding="utf-8")


def test_portal_needs_no_login_and_has_no_private_data_anywhere(anon, units, applications, evaluations):
    for url in ("/portal/", "/portal/key-units/", "/portal/operators/", "/portal/approvals/",
                "/portal/assessments/", "/portal/verify/", "/portal/key-units/?format=csv",
                "/portal/approvals/?format=csv", "/portal/assessments/?format=csv"):
        response = anon.get(url)
        assert response.status_code == 200, url
        text = response.content.decode("utf-8-sig")
        for secret in SECRET_BITS:
            assert secret not in text, (url, secret)
