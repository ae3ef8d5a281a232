"""The hazardous waste ledger derived from scan events, checked against numbers written by hand.

Containers and events are created directly with the ORM (the tracking services are not
used here), so the fixture says exactly which events exist. Times are Asia/Shanghai.
"""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.conftest import BANAN, KAIZHOU
from wufei.core.scope import Scope
from wufei.ledgers import compute, containers, selectors
from wufei.ledgers.models import LedgerMonth
from wufei.tracking.models import Container, ScanEvent

pytestmark = pytest.mark.django_db

W1 = "900-041-49"  # HW49 packaging contaminated by hazardous waste
W2 = "900-249-08"  # HW08 waste mineral oil
ADMIN = Scope(is_platform_admin=True)
_codes = itertools.count(1)


def at(text: str) -> dt.datetime:
    """A local (Asia/Shanghai) time, e.g. at('2026-01-31 23:30')."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=compute.LOCAL_TZ)


def t(value) -> Decimal:
    return Decimal(str(value))


def make_container(org, waste, produced, *, code=None, net=None, status="stored", holder=None, origin="produced",
                   parent=None, split_from=None, site=None, packaging="drum"):
    return Container.objects.create(
        code=code or f"TEST{next(_codes):06d}", organization=org, holder=holder or org, waste_id=waste,
        waste_name="废包装桶" if waste == W1 else "废矿物油", physical_form="solid", hazards="T",
        packaging=packaging, net_weight_tonnes=None if net is None else t(net), produced_at=at(produced),
        status=status, origin=origin, parent=parent, split_from=split_from, site=site)


def scan(container, kind, when, org=None, weight=None, **fields):
    return ScanEvent.objects.create(
        container=container, kind=kind, occurred_at=at(when), organization=org or container.organization,
        weight_tonnes=None if weight is None else t(weight), **fields)


def make_package(container, when, weight, *, stored=False):
    """The events the tracking services write when merging / splitting makes a package (its produced_at is
    its oldest input's)."""
    for kind in ("packed", "weighed", "coded", *(("stored",) if stored else ())):
        scan(container, kind, when, weight=weight)  # recorded by the holder at the time: here the generator


def produce(org, waste, when, weight, *, stored=None, one_step=False, **fields):
    """produced (+ weighed) (+ stored): the usual start of a container's life."""
    container = make_container(org, waste, when, net=weight, **fields)
    if one_step:
        scan(container, "produced", when, weight=weight)
    else:
        scan(container, "produced", when)
        scan(container, "weighed", when, weight=weight)
    if stored:
        scan(container, "stored", stored)
    return container


@pytest.fixture
def world(make_org, make_site, make_user):
    return build_world(make_org, make_site, make_user)


def build_world(make_org, make_site, make_user):
    """One generator G (two codes, Dec 2025 – Mar 2026) and one receiver R; the comments say what happens.

    Repackaging follows the tracking services: a new package gets packed, weighed, coded (and
    stored) events carrying its weight when it is made; each source gets a merged / split event.
    """
    g = make_org("甲化工有限公司", region=BANAN)
    r = make_org("乙环保处置有限公司", region=KAIZHOU, roles=("receiver",))
    site = make_site(g, kind="production", name="甲一车间")
    clerk = make_user("zhang", first_name="三", last_name="张")
    c = {}
    # W2 carried from 2025: stored in December, handed over in January, never received
    c["c0"] = produce(g, W2, "2025-12-20 10:00", "0.4", stored="2025-12-20 10:10", status="handed_over", holder=r)
    scan(c["c0"], "handed_over", "2026-01-15 09:00", reference="M000")
    # W1: produced, stored, loaded, handed over to R, received and disposed there
    c["c1"] = produce(g, W1, "2026-01-05 09:00", "1.0", stored="2026-01-05 09:10", status="disposed", holder=r,
                      site=site)
    ScanEvent.objects.filter(container=c["c1"], kind="produced").update(actor=clerk)
    scan(c["c1"], "loaded", "2026-02-10 08:00")
    scan(c["c1"], "handed_over", "2026-02-10 09:00", reference="M001")
    scan(c["c1"], "received", "2026-02-11 10:00", org=r, weight="1.0", reference="M001")
    scan(c["c1"], "disposed", "2026-03-02 10:00", org=r, method="D10")
    # W1: produced 23:30 on 31 January (January), stored in February, re-weighed lighter, self-disposed
    c["c2"] = produce(g, W1, "2026-01-31 23:30", "0.5", stored="2026-02-01 08:00", status="self_disposed")
    scan(c["c2"], "reweighed", "2026-02-20 10:00", weight="0.48", expected_weight_tonnes=t("0.5"), discrepancy=True)
    Container.objects.filter(pk=c["c2"].pk).update(net_weight_tonnes=t("0.48"))
    scan(c["c2"], "self_disposed", "2026-03-03 10:00", method="D10")
    # W1: recorded in one step at 00:30 on 1 February (31 January 16:30 UTC: February), still in stock
    c["c3"] = produce(g, W1, "2026-02-01 00:30", "0.25", one_step=True, stored="2026-02-01 00:40")
    # W1: two containers merged into m1 (whose first event is its creation), m1 stored
    c["c4"] = produce(g, W1, "2026-02-05 10:00", "0.3", stored="2026-02-05 10:10", status="merged")
    c["c5"] = produce(g, W1, "2026-02-06 10:00", "0.2", stored="2026-02-06 10:10", status="merged")
    c["m1"] = make_container(g, W1, "2026-02-05 10:00", net="0.5", origin="merged", status="stored")
    Container.objects.filter(pk__in=[c["c4"].pk, c["c5"].pk]).update(parent=c["m1"])
    scan(c["c4"], "merged", "2026-03-10 10:00", weight="0.3", related_container=c["m1"])
    scan(c["c5"], "merged", "2026-03-10 10:00", weight="0.2", related_container=c["m1"])
    make_package(c["m1"], "2026-03-10 10:00", "0.5", stored=True)
    # W2: produced, stored, self-utilized in January
    c["c6"] = produce(g, W2, "2026-01-10 08:00", "2.0", stored="2026-01-10 08:10", status="self_utilized")
    scan(c["c6"], "self_utilized", "2026-01-20 10:00", method="R9")
    # W2: produced at 07:00 on 1 March (28 February 23:00 UTC: March), split into s1 and s2 (no creation events)
    c["c7"] = produce(g, W2, "2026-03-01 07:00", "1.2", stored="2026-03-01 07:10", status="split")
    c["s1"] = make_container(g, W2, "2026-03-01 07:00", net="0.7", origin="split", split_from=c["c7"],
                             status="utilized", holder=r)
    c["s2"] = make_container(g, W2, "2026-03-01 07:00", net="0.5", origin="split", split_from=c["c7"])
    make_package(c["s1"], "2026-03-15 10:00", "0.7", stored=True)
    make_package(c["s2"], "2026-03-15 10:00", "0.5", stored=True)
    scan(c["c7"], "split", "2026-03-15 10:00", weight="1.2")
    scan(c["s1"], "loaded", "2026-03-20 09:00")
    scan(c["s1"], "handed_over", "2026-03-20 09:30", reference="M002")
    scan(c["s1"], "received", "2026-03-21 10:00", org=r, reference="M002")
    scan(c["s1"], "stored", "2026-03-21 10:10", org=r)
    scan(c["s1"], "utilized", "2026-03-25 10:00", org=r, method="R9")
    return {"g": g, "r": r, "site": site, "c": c}


FIELDS = ("opening_stock", "generated", "received_in", "stored_in", "stored_out", "self_utilized", "self_disposed",
          "utilized", "disposed", "transferred_out", "closing_stock", "containers")


def row(opening=0, generated=0, received=0, stored_in=0, stored_out=0, utilized=0, disposed=0, transferred=0,
        closing=0, containers=0, received_utilized=0, received_disposed=0):
    """utilized / disposed: in-house (self_*); received_utilized / received_disposed: as an operator."""
    values = (opening, generated, received, stored_in, stored_out, utilized, disposed, received_utilized,
              received_disposed, transferred, closing)
    return {**{name: t(v) for name, v in zip(FIELDS, values, strict=False)}, "containers": containers}


def quiet(stock, months):
    return {m: row(opening=stock, closing=stock) for m in months}


# Written by hand from the fixture above.
EXPECTED_G = {
    W1: {
        1: row(generated="1.5", stored_in="1.0", closing="1.5", containers=2),
        2: row(opening="1.5", generated="0.75", stored_in="1.25", stored_out="1.0", transferred="1.0",
               closing="1.25", containers=3),
        3: row(opening="1.25", stored_in="0.5", stored_out="0.98", disposed="0.48", closing="0.77"),
        **quiet("0.77", range(4, 13)),
    },
    W2: {
        1: row(opening="0.4", generated="2.0", stored_in="2.0", stored_out="2.4", utilized="2.0", transferred="0.4",
               containers=1),
        2: row(),
        3: row(generated="1.2", stored_in="2.4", stored_out="1.9", transferred="0.7", closing="0.5", containers=1),
        **quiet("0.5", range(4, 13)),
    },
}
EXPECTED_R = {
    W1: {2: row(received="1.0", closing="1.0"), 3: row(opening="1.0", received_disposed="1.0"),
         **quiet(0, range(4, 13))},
    W2: {3: row(received="0.7", stored_in="0.7", stored_out="0.7", received_utilized="0.7"),
         **quiet(0, range(4, 13))},
}


def stored_ledger(org, year=2026):
    result = {}
    for month_row in LedgerMonth.objects.filter(organization=org, year=year):
        result.setdefault(month_row.waste_id, {})[month_row.month] = {name: getattr(month_row, name)
                                                                       for name in FIELDS}
    return result


def test_build_ledger_equals_the_hand_computed_ledger(world):
    written = compute.build_ledger(year=2026)
    assert stored_ledger(world["g"]) == EXPECTED_G
    assert stored_ledger(world["r"]) == EXPECTED_R
    assert written == LedgerMonth.objects.count() == 12 + 12 + 11 + 10


def test_rebuild_is_idempotent_and_drops_rows_the_events_no_longer_support(world):
    compute.build_ledger(year=2026)
    before = list(LedgerMonth.objects.order_by("pk").values("pk", "organization", "waste", "month", *FIELDS))
    assert compute.build_ledger(year=2026) == len(before)
    assert list(LedgerMonth.objects.order_by("pk").values("pk", "organization", "waste", "month", *FIELDS)) == before
    # the receiver's W2 events go away: its W2 rows go with them on the next build
    ScanEvent.objects.filter(organization=world["r"], container=world["c"]["s1"]).delete()
    compute.build_ledger(year=2026, organization_ids=[world["r"].pk])
    assert set(stored_ledger(world["r"])) == {W1}
    assert stored_ledger(world["g"]) == EXPECTED_G


def test_building_one_organization_leaves_the_others_alone(world):
    assert compute.build_ledger(year=2026, organization_ids=[world["r"].pk]) == 11 + 10
    assert stored_ledger(world["r"]) == EXPECTED_R
    assert not LedgerMonth.objects.filter(organization=world["g"]).exists()


def test_month_boundaries_are_asia_shanghai(world, make_org):
    g = make_org()
    produce(g, W1, "2026-01-31 23:30", "1")  # 15:30 UTC: January both ways
    produce(g, W1, "2026-02-01 00:30", "2")  # 31 January 16:30 UTC: February in Shanghai
    produce(g, W1, "2026-12-31 23:59", "4")  # 15:59 UTC: December 2026
    produce(g, W1, "2027-01-01 00:10", "8")  # 31 December 16:10 UTC: 2027, not in 2026
    produce(g, W1, "2026-01-01 00:10", "16")  # 31 December 2025 16:10 UTC: January 2026
    compute.build_ledger(year=2026, organization_ids=[g.pk])
    generated = dict(LedgerMonth.objects.filter(organization=g).values_list("month", "generated"))
    assert generated[1] == t(17) and generated[2] == t(2) and generated[12] == t(4)
    assert sum(generated.values()) == t(23)
    compute.build_ledger(year=2027, organization_ids=[g.pk])
    assert LedgerMonth.objects.get(organization=g, year=2027, month=1).opening_stock == t(23)
    assert LedgerMonth.objects.get(organization=g, year=2027, month=1).generated == t(8)


def test_weight_at_an_event(make_org):
    """A produced event recorded before weighing takes the weighed weight; later events the latest weight."""
    g = make_org()
    r = make_org(roles=("receiver",))
    box = make_container(g, W1, "2026-04-01 08:00", net="0.9", status="handed_over", holder=r)
    scan(box, "produced", "2026-04-01 08:00")
    scan(box, "weighed", "2026-04-01 08:30", weight="1.1")
    scan(box, "reweighed", "2026-05-02 08:00", weight="0.9")
    scan(box, "stored", "2026-05-02 09:00")
    scan(box, "handed_over", "2026-06-01 08:00")
    compute.build_ledger(year=2026)
    rows = {r.month: r for r in LedgerMonth.objects.filter(organization=g)}
    assert rows[4].generated == t("1.1") and rows[5].stored_in == t("0.9")
    assert rows[6].stored_out == rows[6].transferred_out == t("0.9")
    assert rows[12].closing_stock == t("0.2")  # the 0.2 t lost at the re-weigh: a mass-balance record


def test_the_command_builds_a_year(world, capsys):
    call_command("ledger", "build", "--year", "2026", "--organization", world["g"].uscc)
    assert stored_ledger(world["g"]) == EXPECTED_G
    assert not LedgerMonth.objects.filter(organization=world["r"]).exists()
    assert "24" in capsys.readouterr().out
    call_command("ledger", "build", "--year", "2026")
    assert stored_ledger(world["r"]) == EXPECTED_R


# --- selectors ------------------------------------------------------------------------------------

def test_year_summary_per_code(world):
    compute.build_ledger(year=2026)
    summary = {s["waste"]: s for s in selectors.ledger_year(ADMIN, world["g"].pk, 2026)}
    assert summary[W1]["generated"] == t("2.25") and summary[W1]["containers"] == 5
    assert summary[W1]["opening_stock"] == 0 and summary[W1]["closing_stock"] == t("0.77")
    assert summary[W1]["stored_in"] == t("2.75") and summary[W1]["stored_out"] == t("1.98")
    assert summary[W2]["opening_stock"] == t("0.4") and summary[W2]["closing_stock"] == t("0.5")
    assert summary[W2]["transferred_out"] == t("1.1") and summary[W2]["self_utilized"] == t("2.0")
    for s in summary.values():
        assert s["closing_stock"] == (s["opening_stock"] + s["generated"] + s["received_in"] - s["self_utilized"]
                                      - s["self_disposed"] - s["utilized"] - s["disposed"] - s["transferred_out"])


def test_selectors_are_narrowed_by_scope(world, member_of, scope_of_user):
    compute.build_ledger(year=2026)
    own = scope_of_user(member_of(world["g"], "reader"))
    assert selectors.ledger_months(own, world["g"].pk, 2026).count() == 24
    assert selectors.ledger_months(own, world["r"].pk, 2026).count() == 0
    assert selectors.ledger_year(own, world["r"].pk, 2026) == []


# --- the per-container ledger ----------------------------------------------------------------------

def test_container_ledger_lines(world):
    tables = containers.container_ledger(ADMIN, world["g"].pk, 2026)["tables"]
    generation = {line["batch_code"]: line for line in tables["generation"]}
    c = world["c"]
    assert set(generation) == {c[k].code for k in ("c1", "c2", "c3", "c4", "c5", "c6", "c7")}
    first = generation[c["c1"].code]
    assert first["quantity"] == t("1.0") and first["unit"] == "t" and first["waste_code"] == W1
    assert first["category"] == "HW49" and first["container_count"] == 1 and first["packaging"] == "drum"
    assert first["facility_code"] == world["site"].code and first["handler"] == "张三"
    assert first["destination"] == "storage" and first["time"] == at("2026-01-05 09:00")
    assert {line["batch_code"] for line in tables["entrusted"]} == {c["c0"].code, c["c1"].code, c["s1"].code}
    entrusted = {line["batch_code"]: line for line in tables["entrusted"]}
    assert entrusted[c["c1"].code]["receiver"] == world["r"].name
    assert entrusted[c["c1"].code]["manifest"] == "M001" and entrusted[c["c0"].code]["receiver"] == ""
    assert {(line["batch_code"], line["quantity"]) for line in tables["self_processing"]} == {
        (c["c2"].code, t("0.48")), (c["c6"].code, t("2.0"))}
    out = {(line["batch_code"], line["destination"]) for line in tables["storage_out"]}
    assert (c["c4"].code, "repackaging") in out and (c["c1"].code, "transfer") in out
    assert tables["received"] == []
    # every table adds up to its ledger column
    compute.build_ledger(year=2026)
    totals = selectors.ledger_year(ADMIN, world["g"].pk, 2026)
    column = {"generation": "generated", "storage_in": "stored_in", "storage_out": "stored_out",
              "entrusted": "transferred_out", "received": "received_in"}
    for table, name in column.items():
        assert sum((line["quantity"] for line in tables[table]), t(0)) == sum(s[name] for s in totals), table
    processed = sum(s["self_utilized"] + s["self_disposed"] + s["utilized"] + s["disposed"] for s in totals)
    assert sum(line["quantity"] for line in tables["self_processing"]) == processed


def test_container_ledger_of_the_receiver(world):
    tables = containers.container_ledger(ADMIN, world["r"].pk, 2026)["tables"]
    assert [(line["batch_code"], line["quantity"], line["generator"]) for line in tables["received"]] == [
        (world["c"]["c1"].code, t("1.0"), world["g"].name), (world["c"]["s1"].code, t("0.7"), world["g"].name)]
    assert {(line["mode"], line["method"]) for line in tables["self_processing"]} == {("disposal", "D10"),
                                                                                      ("utilization", "R9")}
    assert tables["generation"] == [] and [line["source"] for line in tables["storage_in"]] == ["received"]
    march = containers.container_ledger(ADMIN, world["r"].pk, 2026, month=2)["tables"]
    assert [line["batch_code"] for line in march["received"]] == [world["c"]["c1"].code]
