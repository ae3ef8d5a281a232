"""`wufei demo`'s year of containers, ledgers, plans, declarations and e-ledgers: the figures it reproduces.

The whole demo is built once for the package (tests/demo/conftest.py); each test runs in a savepoint of its own
on top of it.
"""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from wufei.catalog.models import Region
from wufei.catalog.services import industrial_source_q, is_industrial_source
from wufei.core.audit import verify_chain
from wufei.core.errors import NotFound
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.demo import ledgers as ledgers_demo
from wufei.demo import tracking as tracking_demo
from wufei.demo.registry import ADMIN_SCOPE
from wufei.indicators import services as indicators
from wufei.indicators.models import Evaluation
from wufei.indicators.quantities import industrial_ledger, platform_values
from wufei.ledgers.models import (
    AnnualDeclaration,
    DeclarationLine,
    LedgerMonth,
    ManagementPlan,
    SolidWasteMonth,
    SpotCheck,
)
from wufei.registry.models import Organization
from wufei.tracking import services as tracking
from wufei.tracking.models import Container, ScanEvent

BANAN, KAIZHOU = "500113", "500154"
T = Decimal




@pytest.fixture(scope="module")
def year():
    return timezone.localdate().year - 1


@pytest.fixture
def figures(built, year):
    return ledgers_demo.figures(year)


def org(name: str) -> Organization:
    return Organization.objects.get(name=name)


SOURCES = {
    # the plans' figures: industrial hazardous waste, by the rule of the indicators' ihw_* quantities
    "industrial": industrial_ledger,
    # social sources (auto repair, labs): not industrial, not medical institutions — on top of the plans' figures
    "social": lambda: Q(organization__is_medical_institution=False) & ~industrial_source_q("organization"),
    "medical": lambda: Q(organization__is_medical_institution=True),
}


def ledger_sum(field: str, *, year: int, region: str, source: str = "industrial", month: int | None = None
               ) -> Decimal:
    rows = LedgerMonth.objects.filter(SOURCES[source](), year=year, organization__region_id=region,
                                      organization__is_generator=True)
    if month:
        rows = rows.filter(month=month)
    return sum(rows.values_list(field, flat=True), T(0))


def industrial_units(region: str):
    return Organization.objects.filter(industrial_source_q(""), region=region, is_generator=True)


def social_units(region: str):
    return Organization.objects.filter(region=region, is_generator=True, is_medical_institution=False).exclude(
        industrial_source_q(""))


# --- the hazardous waste figures of the plans, through the ledger ----------------------------------

def test_banan_generates_the_plans_31000_tonnes(built, year):
    assert ledger_sum("generated", year=year, region=BANAN) == T("31000")  # B §4.3: 3.10万t of industrial HW
    assert sum(industrial_units(BANAN).values_list("annual_hazardous_waste_tonnes", flat=True), T(0)) == T("31000")
    registered = Organization.objects.filter(region=BANAN, is_generator=True, is_medical_institution=False)
    by_unit = dict(LedgerMonth.objects.filter(year=year, organization__in=registered).values_list("organization")
                   .annotate(t=Sum("generated")).values_list("organization", "t"))
    for organization in registered.filter(annual_hazardous_waste_tonnes__gt=0):
        assert T(by_unit[organization.pk]).quantize(T("0.000001")) == organization.annual_hazardous_waste_tonnes
    # the social sources (auto repair, school labs) generate their registered tonnes on top of the plan's figure
    social = social_units(BANAN)
    assert set(social.values_list("industry_code", flat=True)) == {"8111", "8334"}
    assert not [o for o in social if is_industrial_source(o.industry_code)]
    on_top = sum(social.values_list("annual_hazardous_waste_tonnes", flat=True), T(0))
    assert ledger_sum("generated", year=year, region=BANAN, source="social") == on_top > 200
    assert ledger_sum("transferred_out", year=year, region=BANAN, source="social") == on_top  # all of it left
    assert ledger_sum("closing_stock", year=year, region=BANAN, source="social", month=12) == 0


def test_banan_stock_carried_in_transferred_and_left_at_the_year_end(built, year):
    assert ledger_sum("opening_stock", year=year, region=BANAN, month=1) == T("3040")  # 0.30万t
    assert ledger_sum("transferred_out", year=year, region=BANAN) == T("30060")  # 3.01万t incl. the 0.30万t
    assert ledger_sum("closing_stock", year=year, region=BANAN, month=12) == T("3980")  # 0.40万t
    fly_ash = ledger_sum("closing_stock", year=year, region=BANAN, month=12) - sum(
        LedgerMonth.objects.filter(industrial_ledger(), year=year, month=12, organization__region_id=BANAN,
                                   organization__is_generator=True).exclude(waste__category_id="HW18")
        .values_list("closing_stock", flat=True), T(0))
    assert fly_ash > T("3980") / 2  # mainly HW18


def test_kaizhou_declares_its_7193_58_tonnes_with_the_prior_year_stock(built, year):
    opening = ledger_sum("opening_stock", year=year, region=KAIZHOU, month=1)
    generated = ledger_sum("generated", year=year, region=KAIZHOU)
    assert (opening, generated) == (T("612.71"), T("6580.87"))
    assert opening + generated == T("7193.58")  # K §4.3, incl. prior-year stock 612.71 t
    assert ledger_sum("transferred_out", year=year, region=KAIZHOU) == T("7193.58")  # harmless disposal 100 %
    assert ledger_sum("closing_stock", year=year, region=KAIZHOU, month=12) == 0
    # K prints the figure under "（1）工业危险废物": the social sources (auto repair, labs) come on top of it
    on_top = sum(social_units(KAIZHOU).values_list("annual_hazardous_waste_tonnes", flat=True), T(0))
    assert ledger_sum("generated", year=year, region=KAIZHOU, source="social") == on_top > 100
    assert ledger_sum("opening_stock", year=year, region=KAIZHOU, source="social", month=1) == 0


def test_banan_industrial_hazardous_waste_intensity_is_the_plans_0_0145(built, year):
    """工业危险废物产生强度 (hw_intensity) of the demo year: industrial HW 31,000 t ÷ industrial value added
    213.9亿元 = 2,139,000 万元 (entered by the indicators demo) = 0.0144928 → 0.0145, the plan's figure (B: 3.10万t ÷
    213.9亿元). While the demo spread the 31,000 t over every non-medical generator, auto-repair shops and school
    labs included, the industrial units held 30,759.755 t and it read 0.0144."""
    path = Region.objects.get(pk=BANAN).path
    values = platform_values(path, year, ["ihw_generated", "hw_generated"])
    on_top = ledger_sum("generated", year=year, region=BANAN, source="social") + ledger_sum(
        "generated", year=year, region=BANAN, source="medical")
    assert (values["ihw_generated"], values["hw_generated"]) == (T("31000"), T("31000") + on_top)
    (result,) = indicators.evaluate_region(scope=ADMIN_SCOPE, region_code=BANAN, year=year, codes=["hw_intensity"])
    assert (result.numerator, result.denominator) == (T("31000"), T("2139000"))
    assert result.display == "0.0145"
    stored = Evaluation.objects.get(row__plan__key="banan-2025", row__indicator__code="hw_intensity", year=year)
    assert (stored.numerator, stored.value.quantize(T("0.0001"))) == (T("31000"), T("0.0145"))


def test_the_code_mix_of_the_plans(figures, year):
    # over the industrial units (the figures' rule is the indicators' industrial hazardous waste)
    assert figures[BANAN]["generated"] == ledger_sum("generated", year=year, region=BANAN) == T("31000")
    assert figures[BANAN]["social_generated"] == ledger_sum("generated", year=year, region=BANAN, source="social")
    banan = figures[BANAN]["generated_by_category"]
    top = ["HW18", "HW49", "HW17", "HW34", "HW06"]
    assert sum(banan[c] for c in top) == T("29567.8")  # 95.38 % of 31,000 t
    assert (sum(banan[c] for c in top) * 100 / T("31000")).quantize(T("0.01")) == T("95.38")
    ranked = sorted(banan, key=lambda c: -banan[c])
    assert ranked[:5] == top  # in the plan's order, every other category smaller
    kaizhou = figures[KAIZHOU]
    declared = {c: kaizhou["generated_by_category"].get(c, 0) + kaizhou["opening_by_category"].get(c, 0)
                for c in set(kaizhou["generated_by_category"]) | set(kaizhou["opening_by_category"])}
    top3 = sum(declared[c] for c in ("HW08", "HW18", "HW49"))
    assert (top3 * 100 / T("7193.58")).quantize(T("0.01")) == T("95.66")
    assert sorted(declared, key=lambda c: -declared[c])[:3] == ["HW18", "HW49", "HW08"]


def test_medical_waste_goes_to_the_licensed_plants_within_two_days(built, year):
    for region, plant in ((BANAN, "重庆同兴医疗废物处理有限公司"), (KAIZHOU, "重庆开州固体废物治理有限公司")):
        generated = ledger_sum("generated", year=year, region=region, source="medical")
        hospitals = Organization.objects.filter(region=region, is_medical_institution=True,
                                                annual_hazardous_waste_tonnes__gte=tracking_demo.MEDICAL_MIN_TONNES)
        assert generated == sum(hospitals.values_list("annual_hazardous_waste_tonnes", flat=True), T(0))
        assert ledger_sum("transferred_out", year=year, region=region, source="medical") == generated
        handed = ScanEvent.objects.filter(kind="handed_over", container__waste__category_id="HW01",
                                          organization__region_id=region, occurred_at__year=year)
        assert set(handed.values_list("to_organization__name", flat=True)) == {plant}
    handovers = ScanEvent.objects.filter(kind="handed_over", container__waste__category_id="HW01",
                                         container__produced_at__year=year)
    ages = [handed - produced for handed, produced in handovers.values_list("occurred_at", "container__produced_at")]
    assert len(ages) > 3000 and max(ages) <= dt.timedelta(hours=48)


def test_every_transfer_ends_with_a_method_the_receivers_permit_allows(built, year):
    finals = ScanEvent.objects.filter(kind__in=["utilized", "disposed"], occurred_at__year=year)
    assert finals.count() > 10000
    assert not finals.filter(method="").exists()
    assert set(finals.values_list("method", flat=True)) >= {"D1", "D10", "C1", "R6", "Y10"}
    # the year's transfers all arrived (loads of the current weeks may still be on the road)
    handed = set(ScanEvent.objects.filter(kind="handed_over", occurred_at__year=year).values_list("container_id",
                                                                                                   flat=True))
    received = set(ScanEvent.objects.filter(kind="received", occurred_at__year=year).values_list("container_id",
                                                                                                  flat=True))
    assert handed == received


# --- containers ---------------------------------------------------------------------------------

def test_container_codes_are_unique_and_37_characters(built):
    codes = list(Container.objects.values_list("code", flat=True))
    assert 20000 <= len(codes) <= 60000  # low tens of thousands
    assert len(set(codes)) == len(codes)
    assert {len(code) for code in codes} == {37}


def test_containers_sit_in_the_storage_facility_of_their_generator(built):
    stored = Container.objects.filter(status="stored")
    assert stored.exists()
    assert not stored.exclude(storage_site__organization=F("organization")).exists()
    sizes = dict(Container.objects.values_list("packaging").annotate(n=Count("id")))
    assert {"drum", "tonne_bag", "ibc", "bulk", "tank", "box", "bag"} <= set(sizes)


def test_storage_pages_have_something_to_show(built):
    now = timezone.now()
    states = {c.storage_state for c in tracking.annotate_storage(
        Container.objects.filter(status="stored", waste__category_id="HW01").select_related("holder__region"), now)}
    assert {"ok", "near_limit", "over_limit"} <= states
    assert ScanEvent.objects.filter(kind="reweighed", discrepancy=True).count() == 1


def test_the_generator_account_sees_its_containers_and_no_others(built):
    user = get_user_model().objects.get(username="generator")
    scope = scope_for(user)
    (unit,) = Organization.objects.filter(pk__in=scope.organization_ids)
    visible = tracking.containers_for(scope)
    assert visible.count() == Container.objects.filter(organization=unit).count() > 1000
    assert set(visible.values_list("organization_id", flat=True)) == {unit.pk}
    other = Container.objects.exclude(organization=unit).first()
    with pytest.raises(NotFound):
        tracking.get_container(scope, other.code)


def test_transfer_writes_what_four_scans_write(built):
    """The demo's batched transfer against tracking.services.scan, container for container."""
    now = timezone.now()
    unit = org("重庆惠科金渝光电科技有限公司")
    storage = unit.sites.get(kind="storage")
    receiver = org("重庆市禾润中天环保科技有限公司")
    line = next(line for line in tracking_demo.Receivers().lines[receiver.pk] if line.category_id == "HW49")
    recorded = tracking.bulk_record(scope=ADMIN_SCOPE, organization_id=unit.pk, batches=[{
        "waste_code": "900-041-49", "waste_name": "废包装物", "physical_form": "solid", "packaging": "tonne_bag",
        "net_weight_tonnes": weight, "produced_at": now - dt.timedelta(days=3), "storage_site_id": storage.pk,
        "storage_location": "49区"} for weight in ("0.512", "0.498")] * 2)
    scanned, batched = recorded[:2], recorded[2:]
    times = [now - dt.timedelta(hours=h) for h in (30, 29, 27, 2)]
    for a in scanned:
        tracking.scan(scope=ADMIN_SCOPE, code=a.code, kind="loaded", occurred_at=times[0])
        tracking.scan(scope=ADMIN_SCOPE, code=a.code, kind="handed_over", occurred_at=times[1],
                      to_organization_id=receiver.pk)
        tracking.scan(scope=ADMIN_SCOPE, code=a.code, kind="received", occurred_at=times[2],
                      site_id=line.permit.site_id)
        tracking.scan(scope=ADMIN_SCOPE, code=a.code, kind="disposed", occurred_at=times[3],
                      site_id=line.permit.site_id, method_code="D10")
    boxes = [tracking_demo.Box(None, "900-041-49", T(0), times[0], "tonne_bag", None, "main", pk=b.pk,
                               code_text=b.code) for b in batched]
    written = tracking_demo.transfer(scope=ADMIN_SCOPE, pickups=[tracking_demo.Pickup(
        unit, receiver, line, line.permit.site_id, "D10", "disposed", boxes, *times)])
    assert written == 8

    def events(pk):
        return [{k: v for k, v in row.items() if k not in ("id", "container_id", "recorded_at")}
                for row in ScanEvent.objects.filter(container_id=pk).order_by("occurred_at", "id").values()]

    def links(pk):
        result = []
        for event in AuditEvent.objects.filter(entity_type="tracking.container", entity_id=str(pk)).order_by("id"):
            payload = event.payload
            if event.action != "recorded":
                payload = {**payload, "events": [{k: v for k, v in e.items() if k != "id"}
                                                 for e in payload["events"]]}
                result.append((event.action, event.actor_label, payload))
        return result

    def values(pk):
        row = Container.objects.filter(pk=pk).values().get()
        return {k: v for k, v in row.items() if k not in ("id", "code", "created_at", "updated_at")}

    for a, b in zip(scanned, batched, strict=True):
        assert events(a.pk) == events(b.pk)
        assert len(links(a.pk)) == 4 and links(a.pk) == links(b.pk)
        assert values(a.pk) == values(b.pk)
    assert events(scanned[0].pk) != events(scanned[1].pk)  # the weights differ


# --- plans, declarations, spot checks, e-ledger -----------------------------------------------------

def test_management_plans_of_the_current_year(built, year):
    plans = {p.organization.name: p for p in ManagementPlan.objects.filter(year=year + 1).select_related(
        "organization")}
    assert plans["重庆惠科金渝光电科技有限公司"].status == "submitted"
    assert {p.status for p in plans.values()} == {"draft", "submitted", "approved", "returned"}
    returned = next(p for p in plans.values() if p.status == "returned")
    assert returned.review_comment and returned.reviewed_by.username == "regulator"
    assert all(p.streams.exists() and p.transfers.exists() for p in plans.values())


def test_declarations_drafted_from_the_ledger(built, year):
    declarations = AnnualDeclaration.objects.filter(year=year)
    submitted = declarations.filter(status="submitted")
    assert submitted.count() >= declarations.count() - 2 > 10
    late = submitted.filter(submitted_late=True)
    if timezone.localdate() > dt.date(year + 1, 4, 16):
        assert late.count() == 1
    adjusted = DeclarationLine.objects.filter(declaration__year=year).exclude(adjustment_reason="")
    assert adjusted.count() == 2 and {line.field for line in adjusted} == {"generated", "closing_stock"}
    for line in adjusted:
        assert line.declared_value - line.ledger_value == T("0.35")
    untouched = DeclarationLine.objects.filter(declaration__year=year, adjustment_reason="")
    assert not [line for line in untouched if line.declared_value != line.ledger_value]
    checks = SpotCheck.objects.filter(declaration__year=year)
    assert checks.exists() and set(checks.values_list("drawn_by__username", flat=True)) == {"regulator"}
    assert set(checks.values_list("declaration__organization__region_id", flat=True)) == {BANAN}


def test_solid_waste_e_ledger_adds_up_to_the_plans(figures, year):
    banan, kaizhou = figures[BANAN]["gisw"], figures[KAIZHOU]["gisw"]
    assert (banan["generated"], banan["utilized"], banan["disposed"]) == (T(708900), T(433800), T(275100))
    assert (banan["self"], banan["outsourced"]) == (T(255500), T(453400))  # 25.55万t / 45.34万t
    assert (banan["utilized"] * 100 / banan["generated"]).quantize(T("0.1")) == T("61.2")
    assert (kaizhou["generated"], kaizhou["utilized"], kaizhou["disposed"], kaizhou["closing"]) == (
        T(830300), T(780560), T(42380), T(7360))
    assert (kaizhou["utilized"] * 100 / kaizhou["generated"]).quantize(T("0.01")) == T("94.01")
    for row in SolidWasteMonth.objects.filter(year=year):
        assert row.opening_stock + row.generated == (row.self_utilized + row.entrusted_utilization
                                                     + row.self_disposed + row.entrusted_disposal + row.closing_stock)
    assert SolidWasteMonth.objects.filter(year=year).values("organization", "code").distinct().count() * 12 == \
        SolidWasteMonth.objects.filter(year=year).count()


# --- the audit chain and running again ------------------------------------------------------------

def test_the_audit_chain_holds(built):
    report = verify_chain()
    assert report.ok, report
    assert report.checked > 100000


def test_running_again_adds_nothing(built):
    models = (Organization, Container, ScanEvent, AuditEvent, LedgerMonth, ManagementPlan, AnnualDeclaration,
              SpotCheck, SolidWasteMonth)
    before = {model.__name__: model.objects.count() for model in models}
    out = StringIO()
    call_command("demo", stdout=out)
    assert "already present" in out.getvalue()
    assert {model.__name__: model.objects.count() for model in models} == before
