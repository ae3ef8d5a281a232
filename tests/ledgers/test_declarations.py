"""Annual declarations drafted from the ledger, adjustments with reasons, submission, spot checks."""

import datetime as dt
import json
import random
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import BANAN, KAIZHOU
from wufei.core import audit
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.models import AuditEvent, Parameter
from wufei.core.scope import scope_for
from wufei.ledgers import declarations, spot_checks
from wufei.ledgers.models import AnnualDeclaration, DeclarationLine, DeclarationStatus, LedgerMonth, SpotCheck

pytestmark = pytest.mark.django_db

THIS_YEAR = timezone.localdate().year
YEAR = THIS_YEAR - 2  # a finished year whose due date (31 March of the next year) has passed
OIL, CARBON = "900-249-08", "900-041-49"
D = Decimal


def month(org, waste, month, **figures):
    return LedgerMonth.objects.create(organization=org, waste_id=waste, year=figures.pop("year", YEAR), month=month,
                                      **{k: D(v) for k, v in figures.items()})


def carried(org, waste, months, stock):
    """Months without movement: the ledger keeps a row for each through December, the stock carried."""
    for number in months:
        month(org, waste, number, opening_stock=stock, closing_stock=stock)


@pytest.fixture
def unit(make_org, member_of, regulator_of):
    org = make_org("甲机械厂", region=BANAN)
    # as the ledger holds them: carbon moves in January and February (1 t carried into the year), oil in March
    # (0.5 t carried); a row for every month from January through December
    month(org, CARBON, 1, opening_stock="1", generated="10", transferred_out="8", closing_stock="3")
    month(org, CARBON, 2, opening_stock="3", generated="5", self_disposed="2", transferred_out="4",
          closing_stock="2")
    carried(org, CARBON, range(3, 13), "2")
    carried(org, OIL, (1, 2), "0.5")
    month(org, OIL, 3, opening_stock="0.5", generated="2", received_in="1", self_utilized="1", closing_stock="2.5")
    carried(org, OIL, range(4, 13), "2.5")
    month(org, CARBON, 12, year=YEAR - 1, opening_stock="9", generated="9", closing_stock="18")  # another year
    return {"org": org, "writer": scope_for(member_of(org, "member")), "regulator": scope_for(regulator_of(BANAN)),
            "other_regulator": scope_for(regulator_of(KAIZHOU))}


def lines_of(declaration):
    return {(line.waste_id, line.field): (line.ledger_value, line.declared_value, line.adjustment_reason)
            for line in DeclarationLine.objects.filter(declaration=declaration)}


def test_draft_equals_the_ledger(unit):
    declaration = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR)
    assert declaration.status == DeclarationStatus.DRAFT
    assert declaration.due_date == dt.date(YEAR + 1, 3, 31)
    expected = {
        (CARBON, "opening_stock"): "1", (CARBON, "generated"): "15", (CARBON, "received_in"): "0",
        (CARBON, "self_utilized"): "0", (CARBON, "self_disposed"): "2", (CARBON, "transferred_out"): "12",
        (CARBON, "utilized"): "0", (CARBON, "disposed"): "0",
        (CARBON, "closing_stock"): "2",
        (OIL, "opening_stock"): "0.5", (OIL, "generated"): "2", (OIL, "received_in"): "1",
        (OIL, "self_utilized"): "1", (OIL, "self_disposed"): "0", (OIL, "transferred_out"): "0",
        (OIL, "utilized"): "0", (OIL, "disposed"): "0",
        (OIL, "closing_stock"): "2.5",
    }
    assert lines_of(declaration) == {key: (D(v), D(v), "") for key, v in expected.items()}
    rows = declarations.declaration_detail(unit["regulator"], declaration.pk).rows
    assert [row["code"] for row in rows] == [CARBON, OIL]
    assert all(row["balance_gap"] == 0 for row in rows)


def test_adjustment_needs_a_reason_per_change(unit, english):
    declaration = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR)
    with pytest.raises(RuleViolation) as refused:
        declarations.adjust_line(scope=unit["writer"], declaration_id=declaration.pk, version=declaration.version,
                                 waste_code=CARBON, field="generated", declared_value="16")
    assert refused.value.code == "adjustment_reason_required"
    assert "16" in refused.value.message and "15" in refused.value.message
    assert lines_of(declaration)[(CARBON, "generated")] == (D(15), D(15), "")

    with pytest.raises(RuleViolation) as one_missing:  # two changes, one reason: nothing is saved
        declarations.adjust_lines(scope=unit["writer"], declaration_id=declaration.pk, version=declaration.version,
                                  changes=[{"waste": CARBON, "field": "generated", "declared_value": "16",
                                            "reason": "漏记一桶"},
                                           {"waste": CARBON, "field": "closing_stock", "declared_value": "3"}])
    assert [e["field"] for e in one_missing.value.errors] == ["changes.1.reason"]
    assert lines_of(declaration)[(CARBON, "generated")] == (D(15), D(15), "")

    declaration = declarations.adjust_lines(
        scope=unit["writer"], declaration_id=declaration.pk, version=declaration.version,
        changes=[{"waste": CARBON, "field": "generated", "declared_value": "16", "reason": "漏记一桶"},
                 {"waste": CARBON, "field": "closing_stock", "declared_value": "3", "reason": "盘点多一桶"}])
    assert lines_of(declaration)[(CARBON, "generated")] == (D(15), D(16), "漏记一桶")
    with pytest.raises(Conflict):
        declarations.adjust_line(scope=unit["writer"], declaration_id=declaration.pk,
                                 version=declaration.version - 1, waste_code=CARBON, field="generated",
                                 declared_value="15")
    # back to the ledger's figure: no reason needed, the old one is dropped
    declaration = declarations.adjust_line(scope=unit["writer"], declaration_id=declaration.pk,
                                           version=declaration.version, waste_code=CARBON, field="closing_stock",
                                           declared_value="2")
    assert lines_of(declaration)[(CARBON, "closing_stock")] == (D(2), D(2), "")
    with pytest.raises(ValidationFailed) as bad:
        declarations.adjust_lines(scope=unit["writer"], declaration_id=declaration.pk, version=declaration.version,
                                  changes=[{"waste": "HW49", "field": "x", "declared_value": "-1"}])
    assert {e["field"] for e in bad.value.errors} == {"changes.0.waste", "changes.0.field",
                                                      "changes.0.declared_value"}
    # a code the ledger missed gets lines at ledger 0
    declaration = declarations.adjust_line(scope=unit["writer"], declaration_id=declaration.pk,
                                           version=declaration.version, waste_code="900-039-49", field="generated",
                                           declared_value="0.3", reason="外委前未入账")
    assert lines_of(declaration)[("900-039-49", "generated")] == (D(0), D("0.3"), "外委前未入账")
    assert lines_of(declaration)[("900-039-49", "closing_stock")] == (D(0), D(0), "")
    events = AuditEvent.objects.filter(entity_type="ledgers.annualdeclaration", entity_id=str(declaration.pk),
                                       action="lines_adjusted")
    assert "漏记一桶" in json.dumps(list(events.values_list("payload", flat=True)), ensure_ascii=False)


def test_redraft_refreshes_the_ledger_and_keeps_adjustments(unit):
    declaration = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR)
    declaration = declarations.adjust_line(scope=unit["writer"], declaration_id=declaration.pk,
                                           version=declaration.version, waste_code=CARBON, field="generated",
                                           declared_value="16", reason="漏记一桶")
    declaration = declarations.adjust_line(scope=unit["writer"], declaration_id=declaration.pk,
                                           version=declaration.version, waste_code="900-039-49", field="generated",
                                           declared_value="0.3", reason="未入账")
    LedgerMonth.objects.filter(waste_id=CARBON, month=2, year=YEAR).update(generated=D("5.5"),
                                                                           transferred_out=D("4.5"))
    LedgerMonth.objects.filter(waste_id=OIL).delete()
    declaration = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR)
    lines = lines_of(declaration)
    assert lines[(CARBON, "generated")] == (D("15.5"), D(16), "漏记一桶")
    assert lines[(CARBON, "transferred_out")] == (D("12.5"), D("12.5"), "")
    assert not any(code == OIL for code, _field in lines)  # unadjusted and gone from the ledger
    assert lines[("900-039-49", "generated")] == (D(0), D("0.3"), "未入账")  # declared by the unit: kept


def test_submit_on_time_late_and_frozen(unit, english):
    Parameter.objects.create(key="declaration.due", region_code=BANAN, value="12-31")
    on_time = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk,
                                             year=THIS_YEAR - 1)
    assert on_time.due_date == dt.date(THIS_YEAR, 12, 31)
    on_time = declarations.submit_declaration(scope=unit["writer"], declaration_id=on_time.pk,
                                              version=on_time.version)
    assert on_time.status == DeclarationStatus.SUBMITTED and not on_time.submitted_late
    Parameter.objects.all().delete()

    declaration = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR)
    with pytest.raises(PermissionDenied):
        declarations.submit_declaration(scope=unit["regulator"], declaration_id=declaration.pk,
                                        version=declaration.version)
    declaration = declarations.submit_declaration(scope=unit["writer"], declaration_id=declaration.pk,
                                                  version=declaration.version)
    assert declaration.submitted_late and declaration.submitted_at
    for attempt in (
        lambda: declarations.adjust_line(scope=unit["writer"], declaration_id=declaration.pk,
                                         version=declaration.version, waste_code=CARBON, field="generated",
                                         declared_value="1", reason="x"),
        lambda: declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR),
        lambda: declarations.submit_declaration(scope=unit["writer"], declaration_id=declaration.pk,
                                                version=declaration.version),
    ):
        with pytest.raises(RuleViolation) as frozen:
            attempt()
        assert frozen.value.code == "declaration_submitted"
    assert list(audit.history(declaration).values_list("action", flat=True))[-1] == "submitted_late"

    with pytest.raises(RuleViolation) as unfinished:
        current = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk,
                                                 year=THIS_YEAR)
        declarations.submit_declaration(scope=unit["writer"], declaration_id=current.pk, version=current.version)
    assert unfinished.value.code == "year_not_over"


def test_unexplained_difference_or_changed_ledger_blocks_submission(unit):
    declaration = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR)
    DeclarationLine.objects.filter(declaration=declaration, waste_id=OIL, field="generated").update(
        declared_value=D(3))  # as if written around the service
    with pytest.raises(RuleViolation) as unexplained:
        declarations.submit_declaration(scope=unit["writer"], declaration_id=declaration.pk,
                                        version=declaration.version)
    assert unexplained.value.code == "adjustment_reason_required"
    assert [e["field"] for e in unexplained.value.errors] == [f"lines.{OIL}.generated"]
    DeclarationLine.objects.filter(declaration=declaration, waste_id=OIL, field="generated").update(
        declared_value=D(2))
    LedgerMonth.objects.filter(organization=unit["org"], waste_id=CARBON, year=YEAR, month=5).update(
        generated=D(1), closing_stock=D(3))
    with pytest.raises(RuleViolation) as changed:
        declarations.submit_declaration(scope=unit["writer"], declaration_id=declaration.pk,
                                        version=declaration.version)
    assert changed.value.code == "ledger_changed"
    declaration = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR)
    assert declarations.submit_declaration(scope=unit["writer"], declaration_id=declaration.pk,
                                           version=declaration.version).status == DeclarationStatus.SUBMITTED


def test_who_drafts_and_who_reads(unit, make_org, member_of):
    with pytest.raises(PermissionDenied):
        declarations.draft_declaration(scope=unit["regulator"], organization_id=unit["org"].pk, year=YEAR)
    with pytest.raises(NotFound):
        declarations.draft_declaration(scope=unit["other_regulator"], organization_id=unit["org"].pk, year=YEAR)
    declaration = declarations.draft_declaration(scope=unit["writer"], organization_id=unit["org"].pk, year=YEAR)
    assert list(declarations.declarations_for(unit["regulator"], year=YEAR)) == [declaration]
    assert not declarations.declarations_for(unit["other_regulator"]).exists()
    stranger = scope_for(member_of(make_org("乙厂"), "admin"))
    with pytest.raises(NotFound):
        declarations.get_declaration(stranger, declaration.pk)


# --- spot checks -------------------------------------------------------------------------------

@pytest.fixture
def submitted(make_org):
    """20 submitted declarations in Banan, 5 in Kaizhou, and 3 Banan drafts."""
    def declaration(region, status=DeclarationStatus.SUBMITTED):
        return AnnualDeclaration.objects.create(organization=make_org(region=region), year=YEAR, status=status,
                                                due_date=dt.date(YEAR + 1, 3, 31))

    return {"banan": [declaration(BANAN).pk for _ in range(20)],
            "kaizhou": [declaration(KAIZHOU).pk for _ in range(5)],
            "drafts": [declaration(BANAN, DeclarationStatus.DRAFT).pk for _ in range(3)]}


def drawn_ids(checks):
    return sorted(check.declaration_id for check in checks)


def test_the_server_chooses_the_seed_and_anyone_can_redo_the_draw(submitted, regulator_of, client_for):
    regulator = client_for(regulator_of(BANAN))
    chosen = send(regulator, "POST", "/api/v1/spot-checks/draw", {"year": YEAR, "share_percent": "10",
                                                                   "seed": "2025-抽查-1"})
    assert chosen.status_code == 422 and not SpotCheck.objects.exists()  # the client cannot choose the seed

    response = send(regulator, "POST", "/api/v1/spot-checks/draw", {"year": YEAR, "share_percent": "10"})
    assert response.status_code == 201, response.content
    checks = response.json()
    assert len(checks) == 2  # 10 % of Banan's 20; Kaizhou's and the drafts are not in the pool
    draw = send(regulator, "GET", f"/api/v1/spot-check-draws?year={YEAR}").json()["items"]
    assert len(draw) == 1
    draw = draw[0]
    assert (draw["region"], draw["sequence"], draw["reason"], draw["share_percent"]) == (BANAN, 1, "", "10")
    assert len(draw["seed"]) == 32 and {c["draw_seed"] for c in checks} == {draw["seed"]}
    assert draw["pool"] == sorted(submitted["banan"])
    redone = sorted(random.Random(draw["seed"]).sample(draw["pool"], 2))  # the published algorithm
    assert draw["drawn"] == redone == sorted(c["declaration_id"] for c in checks)
    kaizhou = client_for(regulator_of(KAIZHOU))
    assert send(kaizhou, "GET", "/api/v1/spot-check-draws").json()["items"] == []  # another region's draw


def test_a_further_draw_of_the_year_needs_a_reason_and_is_audited(submitted, regulator_of, client_for):
    regulator = client_for(regulator_of(BANAN))
    first = send(regulator, "POST", "/api/v1/spot-checks/draw", {"year": YEAR, "share_percent": "10"}).json()
    again = send(regulator, "POST", "/api/v1/spot-checks/draw", {"year": YEAR, "share_percent": "10"})
    assert (again.status_code, again.json()["code"]) == (422, "spot_check_already_drawn")
    assert again.json()["errors"][0]["field"] == "reason"
    assert SpotCheck.objects.count() == 2

    further = send(regulator, "POST", "/api/v1/spot-checks/draw", {"year": YEAR, "share_percent": "100",
                                                                    "reason": "补抽逾期提交的申报"})
    assert further.status_code == 201, further.content
    drawn = {c["declaration_id"] for c in further.json()}
    assert drawn == set(submitted["banan"]) - {c["declaration_id"] for c in first}  # earlier checks stay
    draws = send(regulator, "GET", f"/api/v1/spot-check-draws?year={YEAR}").json()["items"]
    assert [(d["sequence"], d["reason"]) for d in draws] == [(1, ""), (2, "补抽逾期提交的申报")]
    events = AuditEvent.objects.filter(entity_type="ledgers.spotcheckdraw", entity_id=str(draws[1]["id"]))
    assert events.get().action == "redrawn" and events.get().payload["note"] == "补抽逾期提交的申报"
    assert events.get().payload["values"]["seed"] == draws[1]["seed"]
    assert audit.verify_chain().ok


def test_sample_size():
    assert [spot_checks.sample_size(n, D(5)) for n in (0, 1, 19, 20, 21, 100)] == [0, 1, 1, 1, 2, 5]
    assert spot_checks.sample_size(3, D(100)) == 3


def test_only_regulators_draw_and_share_is_checked(submitted, make_org, member_of, department_user, regulator_of):
    with pytest.raises(PermissionDenied):
        spot_checks.draw_spot_checks(scope=scope_for(member_of(make_org(), "admin")), year=YEAR)
    with pytest.raises(PermissionDenied):
        spot_checks.draw_spot_checks(scope=scope_for(department_user(BANAN)), year=YEAR)
    for share in ("0", "101", "abc"):
        with pytest.raises(ValidationFailed):
            spot_checks.draw_spot_checks(scope=scope_for(regulator_of(BANAN)), year=YEAR, share_percent=share)
    assert not SpotCheck.objects.exists()


def test_record_finding(submitted, regulator_of, member_of):
    banan = scope_for(regulator_of(BANAN))
    check = spot_checks.draw_spot_checks(scope=banan, year=YEAR, share_percent="5")[0]
    unit_admin = scope_for(member_of(check.declaration.organization, "admin"))
    assert list(spot_checks.spot_checks_for(unit_admin)) == [check]  # the unit sees that it was drawn
    with pytest.raises(PermissionDenied):
        spot_checks.record_finding(scope=unit_admin, spot_check_id=check.pk, version=check.version,
                                    outcome="consistent")
    with pytest.raises(NotFound):
        spot_checks.record_finding(scope=scope_for(regulator_of(KAIZHOU)), spot_check_id=check.pk,
                                    version=check.version, outcome="consistent")
    with pytest.raises(ValidationFailed) as no_findings:
        spot_checks.record_finding(scope=banan, spot_check_id=check.pk, version=check.version,
                                    outcome="discrepancy", findings=" ")
    assert no_findings.value.errors[0]["field"] == "findings"
    check = spot_checks.record_finding(scope=banan, spot_check_id=check.pk, version=check.version,
                                        outcome="discrepancy", findings="转移量与联单不符 0.8 t")
    check.refresh_from_db()
    assert (check.outcome, check.findings) == ("discrepancy", "转移量与联单不符 0.8 t")
    with pytest.raises(Conflict):
        spot_checks.record_finding(scope=banan, spot_check_id=check.pk, version=check.version - 1,
                                    outcome="consistent")
    assert list(audit.history(check).values_list("action", flat=True)) == ["drawn", "finding_recorded"]


# --- API ---------------------------------------------------------------------------------------------

def send(client, method, url, body=None):
    if body is None:
        return client.generic(method, url, HTTP_ACCEPT_LANGUAGE="en")
    return client.generic(method, url, json.dumps(body, default=str), content_type="application/json",
                          HTTP_ACCEPT_LANGUAGE="en")


def test_declaration_flow_over_the_api(unit, member_of, regulator_of, client_for):
    enterprise = client_for(member_of(unit["org"], "admin"))
    regulator = client_for(regulator_of(BANAN))
    response = send(enterprise, "POST", "/api/v1/declarations/draft", {"organization_id": unit["org"].pk,
                                                                        "year": YEAR})
    assert response.status_code == 200, response.content
    body = response.json()
    generated = next(line for line in body["lines"] if line["waste"] == CARBON and line["field"] == "generated")
    assert Decimal(generated["ledger_value"]) == 15 and not generated["differs"]
    url = f"/api/v1/declarations/{body['id']}"
    response = send(enterprise, "POST", f"{url}/adjustments", {"version": body["version"], "changes": [
        {"waste": CARBON, "field": "generated", "declared_value": "16"}]})
    assert response.status_code == 422 and response.json()["code"] == "adjustment_reason_required"
    response = send(enterprise, "POST", f"{url}/adjustments", {"version": body["version"], "changes": [
        {"waste": CARBON, "field": "generated", "declared_value": "16", "reason": "漏记"}]})
    assert response.status_code == 200, response.content
    response = send(enterprise, "POST", f"{url}/submit", {"version": response.json()["version"]})
    assert response.json()["status"] == "submitted" and response.json()["submitted_late"]
    side_by_side = send(regulator, "GET", url).json()["lines"]
    line = next(line for line in side_by_side if line["waste"] == CARBON and line["field"] == "generated")
    assert (Decimal(line["ledger_value"]), Decimal(line["declared_value"]), line["adjustment_reason"]) == (
        15, 16, "漏记")
    listing = send(regulator, "GET", f"/api/v1/declarations?year={YEAR}&status=submitted").json()["items"]
    assert [d["id"] for d in listing] == [body["id"]]
    response = send(regulator, "POST", "/api/v1/spot-checks/draw", {"year": YEAR})
    assert response.status_code == 201 and response.json()[0]["declaration_id"] == body["id"]
    check = response.json()[0]
    response = send(regulator, "POST", f"/api/v1/spot-checks/{check['id']}/finding",
                    {"version": check["version"], "outcome": "consistent"})
    assert response.json()["outcome"] == "consistent"
    assert send(enterprise, "GET", "/api/v1/spot-checks").json()["items"][0]["outcome"] == "consistent"


# --- pages -------------------------------------------------------------------------------------------

def browse(client_for, user):
    client = client_for(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_declaration_pages(unit, member_of, regulator_of, client_for):
    enterprise = browse(client_for, member_of(unit["org"], "admin"))
    regulator = browse(client_for, regulator_of(BANAN))
    assert "Draft a declaration from the ledger" in enterprise.get("/ledgers/declarations/").content.decode()
    response = enterprise.post("/ledgers/declarations/draft/", {"organization": unit["org"].pk, "year": YEAR})
    declaration = AnnualDeclaration.objects.get(organization=unit["org"], year=YEAR)
    assert response["Location"] == f"/ledgers/declarations/{declaration.pk}/"
    page = enterprise.get(response["Location"]).content.decode()
    assert f'name="declared__{CARBON}__generated" value="15"' in page
    response = enterprise.post(f"/ledgers/declarations/{declaration.pk}/adjust/", {
        "version": declaration.version, f"declared__{CARBON}__generated": "16", f"reason__{CARBON}__generated": ""})
    assert response.status_code == 422 and "give a reason for the change" in response.content.decode()
    response = enterprise.post(f"/ledgers/declarations/{declaration.pk}/adjust/", {
        "version": declaration.version, f"declared__{CARBON}__generated": "16",
        f"reason__{CARBON}__generated": "漏记一桶", f"declared__{OIL}__generated": "2"})
    assert response.status_code == 302
    declaration.refresh_from_db()
    assert lines_of(declaration)[(CARBON, "generated")] == (D(15), D(16), "漏记一桶")
    assert lines_of(declaration)[(OIL, "generated")] == (D(2), D(2), "")
    side_by_side = regulator.get(f"/ledgers/declarations/{declaration.pk}/").content.decode()
    assert "漏记一桶" in side_by_side and "Save declared figures" not in side_by_side
    response = enterprise.post(f"/ledgers/declarations/{declaration.pk}/submit/", {"version": declaration.version})
    assert response.status_code == 302
    page = enterprise.get(f"/ledgers/declarations/{declaration.pk}/").content.decode()
    assert 'data-testid="late"' in page and "Save declared figures" not in page

    assert "Draw declarations" not in enterprise.get("/ledgers/spot-checks/").content.decode()
    response = regulator.post("/ledgers/spot-checks/draw/", {"year": YEAR})
    assert response.status_code == 302
    check = SpotCheck.objects.get()
    listing = regulator.get(f"/ledgers/spot-checks/?year={YEAR}").content.decode()
    assert check.draw_seed in listing and unit["org"].name in listing
    response = regulator.post(f"/ledgers/spot-checks/{check.pk}/finding/", {
        "version": check.version, "outcome": "discrepancy", "findings": ""})
    assert response.status_code == 422
    response = regulator.post(f"/ledgers/spot-checks/{check.pk}/finding/", {
        "version": check.version, "outcome": "discrepancy", "findings": "产生量少报"})
    assert response.status_code == 302
    assert "产生量少报" in enterprise.get(f"/ledgers/spot-checks/?year={YEAR}").content.decode()


def test_the_draw_page_offers_no_seed_and_asks_the_reason_for_a_further_draw(submitted, regulator_of, client_for):
    regulator = browse(client_for, regulator_of(BANAN))
    page = regulator.get(f"/ledgers/spot-checks/?year={YEAR}").content.decode()
    assert "Draw declarations" in page and 'name="seed"' not in page
    assert regulator.post("/ledgers/spot-checks/draw/", {"year": YEAR, "seed": "页面"}).status_code == 302
    seed = SpotCheck.objects.get().draw_seed
    assert seed != "页面"
    listing = regulator.get(f"/ledgers/spot-checks/?year={YEAR}").content.decode()
    assert seed in listing and 'name="reason"' in listing
    refused = regulator.post("/ledgers/spot-checks/draw/", {"year": YEAR})
    assert refused.status_code == 422 and 'id="reason-error"' in refused.content.decode()
    assert SpotCheck.objects.count() == 1
    assert regulator.post("/ledgers/spot-checks/draw/", {"year": YEAR, "reason": "补抽"}).status_code == 302
    assert SpotCheck.objects.count() == 2
