"""The annual evaluation report (.xlsx) against a golden file: every cell of every sheet.

Kaizhou 2020 with the plan's own straw, manure and film figures entered through a department request, and the
platform's records of the plan's industrial hazardous waste and general industrial solid waste beside medical
waste, social-source hazardous waste and a GISW manifest (conftest `streams`: a formula reading the wrong stream
changes a cell). A change in the layout, a formula or a status shows up here as a cell-by-cell difference. To
accept an intended change, run with WUFEI_UPDATE_GOLDEN=1 and review the diff of the golden file.
"""

import datetime as dt
import io
import json
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import KAIZHOU
from tests.indicators.conftest import KAIZHOU_GISW, KAIZHOU_HW
from wufei.core.scope import Scope
from wufei.indicators import reports

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).parent / "golden" / "kaizhou_2020_report.json"
ADMIN = Scope(is_platform_admin=True, username="test")


def _cells(content: bytes) -> dict:
    book = load_workbook(io.BytesIO(content))
    sheets = {}
    for sheet in book.worksheets:
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append([value.isoformat() if isinstance(value, dt.date | dt.datetime) else value for value in row])
        sheets[sheet.title] = rows
    return sheets


def test_the_report_matches_its_golden_file(shipped, approve, streams, english):  # msgids: stable under translation
    streams(KAIZHOU, 2020, KAIZHOU_HW, KAIZHOU_GISW)
    approve(KAIZHOU, 2020, {"straw_utilized": ("31.97", "万t"), "straw_collectable": ("36.36", "万t"),
                            "manure_utilized": ("95.91", "万t"), "manure_generated": ("100.63", "万t"),
                            "film_recovered": ("378.9", "t"), "film_used": ("480", "t")})
    cells = _cells(reports.export_xlsx(scope=ADMIN, plan_id=shipped["kaizhou-2025"].pk, year=2020))
    if os.environ.get("WUFEI_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(cells, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert list(cells) == list(golden)
    for title, rows in golden.items():
        actual = json.loads(json.dumps(cells[title], default=str))
        assert len(actual) == len(rows), title
        for number, (got, want) in enumerate(zip(actual, rows, strict=True), start=1):
            assert got == want, f"{title} row {number}"
