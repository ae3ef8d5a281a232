"""The general industrial solid waste monthly e-ledger: balance, opening-stock chain, codes, imports, summary."""

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from tests.conftest import BANAN, KAIZHOU
from wufei.core import audit
from wufei.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.models import Parameter
from wufei.core.scope import scope_for
from wufei.ledgers import solid_waste
from wufei.ledgers.models import SolidWasteMonth
from wufei.registry.imports import ImportRejected

pytestmark = pytest.mark.django_db

YEAR = 2024
D = Decimal


@pytest.fixture
def unit(make_org, member_of, regulator_of):
    org = make_org("甲钢铁有限公司", region=BANAN)
    return {"org": org, "writer": scope_for(member_of(org, "member")), "regulator": scope_for(regulator_of(BANAN)),
            "receiver": make_org("建材综合利用公司", region=BANAN, roles=("receiver",))}


def save(unit, month=1, code="SW03", **values):
    return solid_waste.save_month(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR, month=month,
                                  code=code, values=values)


def test_a_balanced_month_is_saved(unit):
    row = save(unit, opening_stock="2", generated="100.5", self_utilized="60", entrusted_utilization="30",
               self_disposed="0.5", entrusted_disposal="1", closing_stock="11", receiver=unit["receiver"].uscc)
    row.refresh_from_db()
    assert (row.name, row.generated, row.closing_stock, row.receiver_id) == ("炉渣", D("100.5"), D(11),
                                                                             unit["receiver"].pk)
    assert list(audit.history(row).values_list("action", flat=True)) == ["created"]
    # saved again (a correction) it is replaced, not duplicated
    save(unit, opening_stock="2", generated="100", self_utilized="91", closing_stock="11")
    assert SolidWasteMonth.objects.get().generated == D(100)


def test_an_unbalanced_month_is_refused_naming_both_sides(unit, english):
    with pytest.raises(RuleViolation) as refused:
        save(unit, opening_stock="2", generated="100", self_utilized="60", entrusted_utilization="30",
             closing_stock="11", receiver=unit["receiver"].uscc)
    assert refused.value.code == "month_unbalanced"
    message = refused.value.message
    assert "opening stock 2 t + generated 100 t = 102 t" in message
    assert ("utilized in-house 60 t + entrusted for utilization 30 t + disposed in-house 0 t + entrusted for "
            "disposal 0 t + closing stock 11 t = 101 t") in message
    assert "difference 1 t" in message
    assert refused.value.errors[0]["left"] == "102" and refused.value.errors[0]["right"] == "101"
    assert not SolidWasteMonth.objects.exists()
    with pytest.raises(RuleViolation):  # one millionth of a tonne off is off
        save(unit, generated="1", closing_stock="0.999999")
    save(unit, generated="1.0000004", closing_stock="1")  # within the 0.000001 t precision


def test_opening_stock_must_continue_the_previous_month(unit, english):
    save(unit, month=1, generated="10", self_utilized="6", closing_stock="4")
    with pytest.raises(RuleViolation) as refused:
        save(unit, month=2, opening_stock="5", generated="10", closing_stock="15")
    assert refused.value.code == "opening_stock_mismatch"
    assert "opening stock 5 t differs from the closing stock of 2024-01 (4 t)" in refused.value.message
    assert SolidWasteMonth.objects.count() == 1
    save(unit, month=2, opening_stock="4", generated="10", closing_stock="14")
    # January needs December of the year before, when it is recorded
    solid_waste.save_month(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR - 1, month=12,
                           code="SW05", values={"generated": "3", "closing_stock": "3"})
    with pytest.raises(RuleViolation):
        save(unit, month=1, code="SW05", generated="1", closing_stock="1")
    save(unit, month=1, code="SW05", opening_stock="3", generated="1", closing_stock="4")
    save(unit, month=4, generated="1", closing_stock="1")  # March not recorded: nothing to continue


@pytest.mark.parametrize("code", ["SW99", "SW3", "HW49", "900-041-49", "123-456-S08", "123-456-S60", "123-456-S00",
                                  "1234-56-S01", "123-456-S1", "", "S01-S59"])
def test_bad_codes_are_refused(unit, code):
    with pytest.raises(ValidationFailed) as refused:
        save(unit, code=code, generated="1", closing_stock="1")
    assert [e["field"] for e in refused.value.errors] == ["code"]
    assert not SolidWasteMonth.objects.exists()


@pytest.mark.parametrize("code", ["SW01", "sw07", "261-001-S05", "441-002-S59", "100-099-S01", "331-001-S07"])
def test_good_codes_are_accepted(unit, code):
    assert save(unit, code=code, generated="1", closing_stock="1").code == code.upper()


def test_values_receiver_and_period_are_checked(unit, make_org):
    with pytest.raises(ValidationFailed) as negative:
        save(unit, generated="-1", closing_stock="x")
    assert {e["field"] for e in negative.value.errors} == {"generated", "closing_stock"}
    with pytest.raises(RuleViolation) as no_receiver:
        save(unit, generated="5", entrusted_disposal="5")
    assert no_receiver.value.errors[0]["field"] == "receiver"
    with pytest.raises(ValidationFailed):
        save(unit, generated="5", entrusted_disposal="5", receiver="91500113MA00000000")
    with pytest.raises(ValidationFailed):
        save(unit, generated="5", entrusted_disposal="5", receiver=unit["org"].uscc)
    closed = make_org("已关闭利用厂", status="closed")
    with pytest.raises(ValidationFailed):
        save(unit, generated="5", entrusted_disposal="5", receiver=closed.pk)
    with pytest.raises(ValidationFailed) as future:
        solid_waste.save_month(scope=unit["writer"], organization_id=unit["org"].pk, year=2099, month=1,
                               code="SW01", values={})
    assert future.value.errors[0]["field"] == "month"
    with pytest.raises(ValidationFailed):
        save(unit, month=13)
    assert not SolidWasteMonth.objects.exists()


def test_only_the_units_writers_keep_its_ledger(unit, regulator_of, member_of):
    with pytest.raises(PermissionDenied):
        solid_waste.save_month(scope=unit["regulator"], organization_id=unit["org"].pk, year=YEAR, month=1,
                               code="SW01", values={})
    with pytest.raises(PermissionDenied):
        solid_waste.save_month(scope=scope_for(member_of(unit["org"], "reader")), organization_id=unit["org"].pk,
                               year=YEAR, month=1, code="SW01", values={})
    with pytest.raises(NotFound):
        solid_waste.save_month(scope=scope_for(regulator_of(KAIZHOU)), organization_id=unit["org"].pk, year=YEAR,
                               month=1, code="SW01", values={})


# --- imports -----------------------------------------------------------------------------------

HEADER = ["单位统一社会信用代码", "年份", "月份", "固体废物代码", "期初贮存量(吨)", "产生量(吨)", "自行利用量(吨)",
          "委托利用量(吨)", "自行处置量(吨)", "委托处置量(吨)", "期末贮存量(吨)", "接收单位统一社会信用代码"]


def xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_import_with_errors_is_located_by_row_and_column_and_writes_nothing(unit, make_org):
    uscc, receiver = unit["org"].uscc, unit["receiver"].uscc
    other = make_org("别家公司", region=KAIZHOU)
    rows = [
        HEADER,
        [uscc, YEAR, 1, "SW03", 0, 100, 60, 30, 0, 0, 10, receiver],   # row 2: fine
        [uscc, YEAR, 2, "SW03", 10, 50, 20, 0, 0, 0, 39, ""],          # row 3: 60 ≠ 59
        [uscc, YEAR, 3, "SW77", 0, 1, 0, 0, 0, 0, 1, ""],              # row 4: bad code
        [uscc, YEAR, 2, "SW05", 0, 8, 0, 0, 0, 8, 0, ""],              # row 5: entrusted, no receiver
        [uscc, YEAR, 3, "SW03", 38, 1, 0, 0, 0, 0, 39, ""],            # row 6: Feb closes at 39, not 38
        [uscc, YEAR, "三", "SW01", 0, 1, 0, 0, 0, 0, 1, ""],           # row 7: month not a number
        [other.uscc, YEAR, 1, "SW01", 0, 1, 0, 0, 0, 0, 1, ""],        # row 8: not B's to write
    ]
    with pytest.raises(ImportRejected) as rejected:
        solid_waste.import_months(scope=unit["writer"], content=xlsx(rows), filename="台账.xlsx")
    located = {(e["row"], e["column"]) for e in rejected.value.errors}
    assert located == {(7, "C")}  # cell-level errors are reported first, alone
    rows[6][2] = 3
    with pytest.raises(ImportRejected) as rejected:
        solid_waste.import_months(scope=unit["writer"], content=xlsx(rows), filename="台账.xlsx")
    located = {(e["row"], e["column"], e["field"]) for e in rejected.value.errors}
    assert located == {(3, "K", "balance"), (4, "D", "code"), (5, "L", "receiver"), (6, "E", "opening_stock"),
                       (8, "A", "organization")}
    balance = next(e for e in rejected.value.errors if e["field"] == "balance")
    assert (balance["left"], balance["right"]) == ("60", "59")
    assert not SolidWasteMonth.objects.exists()


def test_a_good_import_writes_every_row_in_one_go(unit):
    uscc, receiver = unit["org"].uscc, unit["receiver"].uscc
    csv = "\n".join([
        "organization,year,month,code,opening_stock,generated,self_utilized,entrusted_utilization,closing_stock,"
        "receiver",
        f"{uscc},{YEAR},2,SW03,10,50,20,0,40,",      # February continues January, which comes later in the file
        f"{uscc},{YEAR},1,SW03,0,100,60,30,10,{receiver}",
        f"{uscc},{YEAR},1,261-001-S05,0,5,5,0,0,",
    ]).encode("gb18030")
    result = solid_waste.import_months(scope=unit["writer"], content=csv, filename="months.csv")
    assert result == {"rows": 3, "created": 3, "updated": 0}
    assert SolidWasteMonth.objects.count() == 3
    result = solid_waste.import_months(scope=unit["writer"], content=csv, filename="months.csv")
    assert result == {"rows": 3, "created": 0, "updated": 3}
    assert audit.verify_chain().ok


def test_an_import_by_a_regulator_writes_nothing(unit):
    """A regulator keeps no e-ledger: refused before the file is read."""
    csv = f"organization,year,month,code,generated,closing_stock\n{unit['org'].uscc},{YEAR},1,SW01,1,1\n".encode()
    with pytest.raises(PermissionDenied):
        solid_waste.import_months(scope=unit["regulator"], content=csv, filename="m.csv")
    assert not SolidWasteMonth.objects.exists()


# --- summary and who must keep the ledger --------------------------------------------------------------

def test_yearly_summary_per_code(unit):
    save(unit, 1, generated="100", self_utilized="60", entrusted_utilization="30", closing_stock="10",
         receiver=unit["receiver"].uscc)
    save(unit, 2, opening_stock="10", generated="50", self_utilized="40", self_disposed="5", closing_stock="15")
    save(unit, 3, opening_stock="15", generated="0", closing_stock="15")
    SolidWasteMonth.objects.filter(month=3).update(opening_stock=D(14), closing_stock=D(14))  # chain broken later
    summary = solid_waste.yearly_summary(unit["regulator"], organization_id=unit["org"].pk, year=YEAR)
    (code,) = summary["codes"]
    assert code["code"] == "SW03" and code["months"] == [1, 2, 3]
    assert code["missing"] == list(range(4, 13))
    assert (code["opening_stock"], code["generated"], code["self_utilized"], code["entrusted_utilization"],
            code["self_disposed"], code["closing_stock"]) == (0, 150, 100, 30, 5, 14)
    assert code["utilization_rate"] == D("86.67")
    assert code["breaks"] == [{"month": 3, "previous_closing": D(15), "opening": D(14)}]
    assert summary["months_missing"] == list(range(4, 13))


def test_required_units_from_last_years_generation(make_org, regulator_of):
    big = make_org("大厂", region=BANAN)
    small = make_org("小厂", region=BANAN)
    partial = make_org("半年厂", region=BANAN)
    unknown = make_org("新厂", region=BANAN)
    make_org("外区大厂", region=KAIZHOU)
    for month in range(1, 13):
        SolidWasteMonth.objects.create(organization=small, code="SW01", year=YEAR - 1, month=month,
                                       generated=D(4), closing_stock=D(0), self_utilized=D(4))
    for month in range(1, 7):
        SolidWasteMonth.objects.create(organization=partial, code="SW01", year=YEAR - 1, month=month,
                                       generated=D(5), self_utilized=D(5))
    SolidWasteMonth.objects.create(organization=big, code="SW02", year=YEAR - 1, month=1, generated=D(120),
                                   self_utilized=D(120))
    regulator = scope_for(regulator_of(BANAN))
    status = {u["organization"].name: (u["status"], u["previous_year_tonnes"])
              for u in solid_waste.required_units(regulator, year=YEAR, include_not_required=True)}
    assert status == {"大厂": ("required", D(120)), "小厂": ("not_required", D(48)), "半年厂": ("unknown", D(30)),
                      "新厂": ("unknown", None)}
    assert [u["organization"] for u in solid_waste.required_units(regulator, year=YEAR)] == [big, partial, unknown]
    Parameter.objects.create(key="solid_waste.monthly_ledger_min_annual_tonnes", region_code=BANAN, value="40")
    status = {u["organization"].name: u["status"] for u in solid_waste.required_units(regulator, year=YEAR)}
    assert status["小厂"] == "required"


# --- pages -------------------------------------------------------------------------------------------

def test_e_ledger_pages(unit, member_of, client_for, monkeypatch):
    from wufei.registry import views

    monkeypatch.setattr(views, "ORGANIZATION_SECTIONS", {k: v for k, v in views.ORGANIZATION_SECTIONS.items()
                                                         if k == "solid-waste-ledger"})
    client = client_for(member_of(unit["org"], "admin"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(f"/ledgers/solid-waste/?year={YEAR}")
    assert page.status_code == 200 and "Record a month" in page.content.decode()
    month = {"organization": unit["org"].pk, "year": YEAR, "month": 1, "code": "SW03", "generated": "10",
             "self_utilized": "4", "closing_stock": "5"}
    response = client.post("/ledgers/solid-waste/save/", month)
    assert response.status_code == 422
    text = response.content.decode()
    assert "generated 10 t = 10 t" in text and "closing stock 5 t = 9 t" in text
    assert not SolidWasteMonth.objects.exists()
    response = client.post("/ledgers/solid-waste/save/", {**month, "closing_stock": "6"})
    assert response.status_code == 302
    page = client.get(f"/ledgers/solid-waste/?organization={unit['org'].pk}&year={YEAR}").content.decode()
    assert "炉渣" in page and "2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12" in page

    bad = f"organization,year,month,code,generated,closing_stock\n{unit['org'].uscc},{YEAR},2,SW03,1,1\n".encode()
    upload = io.BytesIO(bad)
    upload.name = "bad.csv"
    response = client.post("/ledgers/solid-waste/import/", {"file": upload})
    assert response.status_code == 422
    assert "differs from the closing stock of 2024-01 (6 t)" in response.content.decode()
    good = bad.replace(b"generated,closing_stock", b"opening_stock,generated,closing_stock").replace(
        b",1,1\n", b",6,1,7\n")
    upload = io.BytesIO(good)
    upload.name = "good.csv"
    assert client.post("/ledgers/solid-waste/import/", {"file": upload}).status_code == 302
    assert SolidWasteMonth.objects.count() == 2
    section = client.get(f"/registry/organizations/{unit['org'].pk}/").content.decode()
    assert 'data-testid="months-filled"' in section
