import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from tests.conftest import BANAN, KAIZHOU, uscc_for
from wufei.core.scope import Scope
from wufei.registry import exports, imports
from wufei.registry.models import OperatingPermit, Organization, Site, Vehicle

ADMIN = Scope(is_platform_admin=True)
pytestmark = pytest.mark.usefixtures("english")


def as_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def as_xlsx(rows: list[list]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


ORG_HEADER = ["统一社会信用代码", "单位名称", "行政区划代码", "单位类型", "危险废物年产生量(吨)", "经度", "纬度"]


def good_org_rows(n=3):
    return [ORG_HEADER] + [[uscc_for(BANAN), f"导入单位{i}", "500113", "产废单位", 12.5 * i, 106.5, 29.4]
                           for i in range(1, n + 1)]


@pytest.mark.parametrize("encode, name", [(as_csv, "orgs.csv"), (as_xlsx, "orgs.xlsx")])
def test_a_good_file_imports_every_row(db, encode, name):
    result = imports.import_file(scope=ADMIN, kind="organizations", content=encode(good_org_rows()), filename=name)
    assert (result.created, result.updated, result.rows) == (3, 0, 3)
    org = Organization.objects.get(name="导入单位3")
    assert org.is_generator and org.supervision_class == "simplified"  # 37.5 t


def test_gbk_csv_from_chinese_excel_is_read(db):
    content = as_csv(good_org_rows(1)).decode("utf-8").encode("gb18030")
    assert imports.import_file(scope=ADMIN, kind="organizations", content=content, filename="o.csv").created == 1


def test_a_bad_file_is_rejected_whole_with_every_error_by_row_and_column(db):
    rows = good_org_rows(2) + [
        ["91500113MA00000000", "坏代码单位", "500113", "产废单位", 1, 106.5, 29.4],  # row 4: check digit
        [uscc_for(BANAN), "未知区划单位", "999999", "产废单位", 1, 106.5, 29.4],  # row 5: region
        [uscc_for(BANAN), "", "500113", "海盗", "abc", 106.5, 95],  # row 6: name, role, tonnes, lat
    ]
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_file(scope=ADMIN, kind="organizations", content=as_xlsx(rows), filename="bad.xlsx")
    found = {(e["row"], e["column"], e["field"]) for e in caught.value.errors}
    assert found == {
        (4, "A", "uscc"), (5, "C", "region"), (6, "B", "name"), (6, "D", "roles"),
        (6, "E", "annual_hazardous_waste_tonnes"), (6, "G", "latitude"),
    }
    assert "nothing was written" in caught.value.message
    assert Organization.objects.count() == 0  # the two good rows were not written either


def test_duplicate_rows_and_missing_columns_are_reported(db):
    code = uscc_for(BANAN)
    rows = [ORG_HEADER, [code, "甲", "500113", "产废单位", 1, "", ""], [code, "乙", "500113", "产废单位", 1, "", ""]]
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_file(scope=ADMIN, kind="organizations", content=as_csv(rows), filename="d.csv")
    assert caught.value.errors[0]["row"] == 3 and "row 2" in caught.value.errors[0]["message"]

    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_file(scope=ADMIN, kind="organizations", content=as_csv([["单位名称", "颜色"], ["甲", "红"]]),
                            filename="m.csv")
    messages = " ".join(e["message"] for e in caught.value.errors)
    assert "unknown column 颜色" in messages and "uscc" in messages and "region" in messages


@pytest.mark.parametrize("content, name", [(b"\x00\x01garbage", "x.xlsx"), (b"PK\x03\x04broken", "x.xlsx"),
                                           (b"a,b", "x.pdf"), (b"", "x.csv")])
def test_malformed_files_get_a_clear_error(db, content, name):
    with pytest.raises(imports.ImportRejected):
        imports.import_file(scope=ADMIN, kind="organizations", content=content, filename=name)


def test_a_regulator_cannot_import_into_another_region(db, regulator_of, scope_of_user):
    scope = scope_of_user(regulator_of(BANAN))
    rows = good_org_rows(1) + [[uscc_for(KAIZHOU), "开州单位", KAIZHOU, "产废单位", 1, 108.4, 31.2]]
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_file(scope=scope, kind="organizations", content=as_csv(rows), filename="o.csv")
    assert [e["row"] for e in caught.value.errors] == [3]
    assert Organization.objects.count() == 0


def test_reimport_updates_instead_of_duplicating(db):
    rows = good_org_rows(2)
    imports.import_file(scope=ADMIN, kind="organizations", content=as_csv(rows), filename="o.csv")
    rows[1][1] = "改名单位"
    result = imports.import_file(scope=ADMIN, kind="organizations", content=as_csv(rows), filename="o.csv")
    assert (result.created, result.updated) == (0, 2)
    assert Organization.objects.filter(name="改名单位").count() == 1


def test_a_file_is_checked_and_written_in_chunks_with_a_fixed_number_of_statements(db, monkeypatch):
    """Lookups run once per chunk, not per row: 40 rows cost what 4 rows cost, with 4 rows to a chunk as with 1000."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from wufei.core.audit import verify_chain
    from wufei.core.models import AuditEvent

    def statements(n: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            result = imports.import_file(scope=ADMIN, kind="organizations", content=as_csv(good_org_rows(n)),
                                         filename="o.csv")
        assert result.created == n
        return len(queries)

    few, many = statements(4), statements(40)
    assert few == many
    monkeypatch.setattr(imports, "CHUNK_ROWS", 4)
    reports = []
    rows = good_org_rows(10)
    result = imports.import_file(scope=ADMIN, kind="organizations", content=as_csv(rows), filename="o.csv",
                                 progress=lambda *report: reports.append(report))
    assert (result.created, result.updated) == (10, 0)
    assert reports[-1] == ("written", 10, 10) and ("checked", 10, 10) in reports
    assert Organization.objects.count() == 54
    org = Organization.objects.get(uscc=rows[3][0])  # row 4: 3 × 12.5 t = 37.5 t, between 10 and 100 t
    assert (org.name, org.supervision_class, org.version) == ("导入单位3", "simplified", 1)
    [period] = org.states.all()  # its history starts on its registration day, as when saved one by one
    assert (period.valid_from, period.valid_to, period.status, period.region_id, period.is_generator) == (
        org.registered_on, None, "active", "500113", True)
    created = AuditEvent.objects.get(entity_type="registry.organization", entity_id=str(org.pk), action="created")
    assert created.payload["values"]["uscc"] == org.uscc and created.payload["values"]["is_generator"] is True
    assert verify_chain().ok


def test_a_refused_row_in_a_later_chunk_writes_nothing(db, monkeypatch, regulator_of, scope_of_user):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    scope = scope_of_user(regulator_of(BANAN))
    imports.import_file(scope=scope, kind="organizations", content=as_csv(good_org_rows(1)), filename="o.csv")
    known = Organization.objects.get()
    rows = good_org_rows(4)
    rows[1][0] = known.uscc  # row 2: an update of a known unit
    rows[1][1] = "改名单位"
    rows.append([uscc_for(KAIZHOU), "开州单位", KAIZHOU, "产废单位", 1, 108.4, 31.2])  # row 6, third chunk
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_file(scope=scope, kind="organizations", content=as_csv(rows), filename="o.csv")
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(6, "")]
    assert list(Organization.objects.values_list("name", flat=True)) == [known.name]


def test_sites_vehicles_and_permits_import(db, make_org):
    org = make_org(roles=("transporter", "receiver"))
    imports.import_file(scope=ADMIN, kind="sites", filename="s.csv", content=as_csv([
        ["单位统一社会信用代码", "场所名称", "场所类型", "贮存能力(吨)"],
        [org.uscc, "危废贮存库", "storage", "30"],
    ]))
    assert Site.objects.get().storage_capacity_tonnes == 30
    imports.import_file(scope=ADMIN, kind="vehicles", filename="v.csv", content=as_csv([
        ["organization", "plate", "transport_permit_number", "transport_permit_valid_until"],
        [org.uscc, "渝A·D3456", "渝交运001", "2027-05-01"],
    ]))
    assert Vehicle.objects.get().plate == "渝AD3456"
    result = imports.import_file(scope=ADMIN, kind="permits", filename="p.csv", content=as_csv([
        ["organization", "number", "kind", "valid_from", "valid_until", "waste", "annual_capacity_tonnes", "methods"],
        [org.uscc, "渝危废2024-01", "comprehensive", "2024-01-01", "2029-01-01", "HW49", "3000", "D10"],
        [org.uscc, "渝危废2024-01", "comprehensive", "2024-01-01", "2029-01-01", "900-041-49", "200", "D10;R15"],
    ]))
    assert result.created == 1
    permit = OperatingPermit.objects.get()
    assert [line.scope_label for line in permit.lines.all()] == ["HW49", "900-041-49"]


def test_permit_rows_that_disagree_and_bad_codes_are_located(db, make_org):
    org = make_org(roles=("receiver",))
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_file(scope=ADMIN, kind="permits", filename="p.csv", content=as_csv([
            ["organization", "number", "kind", "valid_from", "valid_until", "waste", "annual_capacity_tonnes"],
            [org.uscc, "P-1", "comprehensive", "2024-01-01", "2029-01-01", "HW49", "3000"],
            [org.uscc, "P-1", "comprehensive", "2024-01-01", "2030-01-01", "HW08", "300"],
            [org.uscc, "P-2", "comprehensive", "2024-01-01", "2029-01-01", "123-456-78", "300"],
        ]))
    found = {(e["row"], e["column"]) for e in caught.value.errors}
    assert found == {(3, "E"), (4, "F")}
    assert OperatingPermit.objects.count() == 0


@pytest.mark.parametrize("kind", ["organizations", "sites", "vehicles", "permits"])
def test_export_round_trips_through_import(db, kind, make_org, make_site, make_vehicle, make_permit):
    org = make_org(roles=("transporter", "receiver"), address="巴南区鱼洞街道", longitude="106.52", latitude="29.38")
    make_site(org, storage_capacity_tonnes="20")
    make_vehicle(org)
    make_permit(org, lines=(("HW49", "1000", ("D10",)), ("900-041-49", "50", ("D10", "R15"))))
    content = exports.export_xlsx(ADMIN, kind)
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet.max_row >= 2
    result = imports.import_file(scope=ADMIN, kind=kind, content=content, filename=f"{kind}.xlsx")
    assert result.created == 0 and result.updated >= 1


def test_import_and_export_commands(db, tmp_path):
    from django.core.management import CommandError, call_command

    good = tmp_path / "orgs.csv"
    good.write_bytes(as_csv(good_org_rows(2)))
    out = io.StringIO()
    call_command("import", "organizations", str(good), stdout=out)
    assert "2 created" in out.getvalue()

    bad = tmp_path / "bad.csv"
    bad.write_bytes(as_csv([ORG_HEADER, ["91500113MA00000000", "甲", "500113", "产废单位", 1, "", ""]]))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import", "organizations", str(bad), stderr=err)
    assert "row 2, column A [uscc]" in err.getvalue()

    target = tmp_path / "out.xlsx"
    call_command("export", "organizations", str(target), stdout=io.StringIO())
    assert load_workbook(target).active.max_row == 3


def test_a_large_registry_import_through_the_api_is_a_job(db, regulator_of, client_for,
                                                           django_capture_on_commit_callbacks):
    """From `imports.background_min_rows` rows the API answers 202; the job writes the rows (or lists errors)."""
    from wufei.core.models import Parameter

    Parameter.objects.create(key="imports.background_min_rows", region_code=BANAN, value=3, reason="试点")
    client = client_for(regulator_of(BANAN))
    for rows, written in ((good_org_rows(3), 3), (good_org_rows(3) + [[uscc_for(KAIZHOU), "开州单位", KAIZHOU,
                                                                       "产废单位", 1, 108.4, 31.2]], 0)):
        upload = io.BytesIO(as_xlsx(rows))
        upload.name = "orgs.xlsx"
        before = Organization.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/imports/organizations", {"file": upload})
        assert response.status_code == 202, response.content
        job = client.get(response.json()["url"]).json()
        assert job["status"] == "done"
        if written:
            assert job["result"] == {"ok": True, "kind": "organizations", "rows": 3, "created": 3, "updated": 0}
        else:
            assert job["result"]["ok"] is False and [e["row"] for e in job["result"]["errors"]] == [5]
        assert Organization.objects.count() - before == written
