"""Text that a spreadsheet program would run as a formula (= + - @, tab, CR) is exported as text: in .xlsx a text
cell with Excel's quote prefix (its text unchanged, so the export imports back as it was), in the public CSVs
after an apostrophe. Numbers stay numbers, negative ones too."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from tests.conftest import BANAN, CHONGQING
from wufei.registry.models import Organization

pytestmark = pytest.mark.usefixtures("english")

HYPERLINK = '=HYPERLINK("http://x","y")'
NAMES = (HYPERLINK, "@SUM(1)", "-2+3", "\tcmd")


@pytest.fixture
def organizations(make_org):
    made = [make_org(name=name, region=BANAN) for name in NAMES]
    Organization.objects.filter(pk=made[0].pk).update(annual_hazardous_waste_tonnes=Decimal("-3.5"))
    return made


def _cells_of(content: bytes) -> dict:
    """name cell → (its data type, its value, its quote prefix, the row's cells by header)."""
    sheet = load_workbook(io.BytesIO(content)).active
    header = [cell.value for cell in sheet[1]]
    found = {}
    for row in sheet.iter_rows(min_row=2):
        by_header = dict(zip(header, row, strict=False))
        name = next(cell for title, cell in by_header.items() if str(title).startswith("单位名称"))
        found[name.value] = (name.data_type, name.quotePrefix, by_header)
    return found


def _assert_text(found: dict):
    for name in NAMES:
        data_type, quoted, _row = found[name]
        assert (data_type, quoted) == ("s", True), name
    tonnes = next(cell for title, cell in found[HYPERLINK][2].items() if "危险废物" in str(title)
                  and "吨" in str(title))
    assert (tonnes.data_type, tonnes.value) == ("n", -3.5)


def test_registry_exports_write_formula_text_as_text(organizations, regulator_of, client_for, tmp_path):
    response = client_for(regulator_of(BANAN)).get("/api/v1/exports/organizations")
    assert response.status_code == 200
    _assert_text(_cells_of(response.content))
    call_command("export", "organizations", str(tmp_path / "orgs.xlsx"), stdout=io.StringIO())
    _assert_text(_cells_of((tmp_path / "orgs.xlsx").read_bytes()))


def test_public_csv_writes_formula_text_after_an_apostrophe(make_org, make_permit, regulator_of):
    regulator_of(CHONGQING)  # the installation covers Chongqing's districts
    for number, name in enumerate(NAMES[:2], start=1):
        operator = make_org(name=name, region=BANAN, roles=("receiver",))
        make_permit(operator, number=f"渝危废000{number}号", lines=(("HW08", "-5", ("D10",)),))
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/portal/operators/?region={BANAN}&format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    table = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert sorted(row["Holder"] for row in table) == sorted(["'" + HYPERLINK, "'@SUM(1)"])
    assert {row["Annual capacity (t/a)"] for row in table} == {"-5"}
