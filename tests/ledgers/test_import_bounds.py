"""Uploads to POST /api/v1/solid-waste/imports are refused before they are read, and read within bounds.

The e-ledger import is the endpoint of the finding (a 1.6 KB workbook claiming A1:XFD1048576, sent by a
driver); every import reads through wufei.core.spreadsheets, so the bounds shown here hold for all of them."""

import io

import pytest

from tests.conftest import BANAN
from tests.xlsx_parts import handmade_xlsx
from wufei.core import spreadsheets
from wufei.core.models import Parameter
from wufei.ledgers.models import SolidWasteMonth

pytestmark = pytest.mark.django_db

URL = "/api/v1/solid-waste/imports"
HEADER = ["organization", "year", "month", "code", "generated", "closing_stock"]


@pytest.fixture
def unit(make_org, member_of, client_for, english):
    org = make_org("甲钢铁有限公司", region=BANAN)
    clients = {"client": client_for(member_of(org, "member")), "driver": client_for(member_of(org, "driver"))}
    for client in clients.values():
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the messages asserted are the English ones
    return {"org": org, **clients}


def post(client, content: bytes, name: str):
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(URL, {"file": upload})


def test_a_workbook_claiming_the_whole_sheet_is_read_by_the_rows_it_holds(unit):
    content = handmade_xlsx([HEADER, [unit["org"].uscc, 2024, 1, "SW03", 5, 5]], dimension="A1:XFD1048576",
                            tail='<row r="1048576"><c r="XFD1048576" s="0"/></row>')  # an empty cell, far away
    assert len(content) < 2000  # the size of the workbook of the finding
    response = post(unit["client"], content, "bomb.xlsx")
    assert response.status_code == 200, response.content
    assert response.json() == {"rows": 1, "created": 1, "updated": 0}


def test_a_workbook_declaring_entities_is_refused(unit):
    laughs = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
              + "]>")
    content = handmade_xlsx([HEADER, [unit["org"].uscc, 2024, 1, "SW03", 5, "&lol9;"]], prolog=laughs,
                            raw_cells=True)
    response = post(unit["client"], content, "laughs.xlsx")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "import_rejected"
    assert "entities" in body["message"] and body["errors"][0]["row"] == 0
    assert not SolidWasteMonth.objects.exists()


def test_a_driver_is_refused_before_the_file_is_read(unit, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the upload of a caller who may not import was read")

    monkeypatch.setattr(spreadsheets, "read", never)
    monkeypatch.setattr(spreadsheets, "read_upload", never)
    content = f"{','.join(HEADER)}\n{unit['org'].uscc},2024,1,SW03,5,5\n".encode()
    response = post(unit["driver"], content, "months.csv")
    assert response.status_code == 403, response.content
    assert not SolidWasteMonth.objects.exists()


def limit(key: str, value) -> None:
    Parameter.objects.create(key=key, region_code=BANAN, value=value, reason="试点")


def test_more_rows_than_the_region_allows_are_refused_naming_the_limit(unit):
    limit("imports.max_rows", 2)
    rows = [HEADER] + [[unit["org"].uscc, 2024, month, "SW03", 5, 5] for month in (1, 2, 3)]
    response = post(unit["client"], handmade_xlsx(rows), "months.xlsx")
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == [{"row": 4, "column": "A", "field": "",
                                          "message": "more than 2 data rows: the most an import may hold here "
                                                     "is 2 rows"}]
    assert not SolidWasteMonth.objects.exists()


def test_a_value_beyond_the_column_limit_is_refused_naming_it(unit):
    limit("imports.max_columns", 6)
    content = f"{','.join(HEADER)}\n{unit['org'].uscc},2024,1,SW03,5,5,,x\n".encode()
    response = post(unit["client"], content, "months.csv")
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == [{"row": 2, "column": "H", "field": "",
                                          "message": "a value beyond column F: the most an import may hold here "
                                                     "is 6 columns"}]


def test_a_file_larger_than_the_limit_is_refused_naming_it(unit):
    limit("imports.max_file_mb", 1)
    content = f"{','.join(HEADER)}\n{unit['org'].uscc},2024,1,SW03,5,5\n".encode() + b"\n" * 2**20
    response = post(unit["client"], content, "months.csv")
    assert response.status_code == 422, response.content
    assert response.json()["message"] == "the file is larger than 1 MB, the most an import may hold here"
    assert not SolidWasteMonth.objects.exists()


def test_more_filled_cells_than_the_region_allows_are_refused_naming_the_limit(unit):
    limit("imports.max_cells", 10)  # the header's 6 cells count too
    content = f"{','.join(HEADER)}\n{unit['org'].uscc},2024,1,SW03,5,5\n".encode()
    response = post(unit["client"], handmade_xlsx([row.split(",") for row in content.decode().split()]), "m.xlsx")
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == [{"row": 2, "column": "E", "field": "",
                                          "message": "more than 10 filled cells: the most an import may hold here"}]
