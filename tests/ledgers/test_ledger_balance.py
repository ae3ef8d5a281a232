"""Mass balance: opening + generated + received − transferred − self-processed against the stock.

Every gap type is produced on purpose and must be found with the records behind it; the
records' amounts add up to the difference.
"""

from decimal import Decimal

import pytest

from tests.ledgers.test_ledger import ADMIN, W1, W2, at, build_world, make_container, make_package, produce, scan, t
from wufei.core.errors import NotFound
from wufei.ledgers import balance, compute
from wufei.tracking.models import Container, ScanEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_org, make_site, make_user):
    return build_world(make_org, make_site, make_user)


def by_code(result):
    return {c["waste"]: c for c in result["codes"]}


def records(code, kind):
    return [r for r in code["records"] if r["type"] == kind]


def amounts_add_up(code):
    return sum((r["amount"] for r in code["records"] if r["amount"] is not None), Decimal(0)) == code["difference"]


def test_the_fixture_balance_finds_the_reweigh(world):
    compute.build_ledger(year=2026)
    result = balance.mass_balance(ADMIN, world["g"].pk, 2026)
    assert result["ledger_current"] is True and result["balanced"] is False
    codes = by_code(result)
    w1, w2 = codes[W1], codes[W2]
    c = world["c"]
    assert (w1["opening_stock"], w1["generated"], w1["transferred_out"], w1["self_disposed"]) == (
        0, t("2.25"), t("1.0"), t("0.48"))
    assert w1["expected_closing"] == t("0.77") and w1["actual_stock"] == t("0.75")
    assert w1["difference"] == t("-0.02") and w1["balanced"] is False
    [reweigh] = records(w1, "reweigh")
    assert reweigh["container"] == c["c2"].code and reweigh["amount"] == t("-0.02") and reweigh["discrepancy"]
    assert reweigh["event_id"] == ScanEvent.objects.get(container=c["c2"], kind="reweighed").pk
    assert reweigh["weight_before"] == t("0.5") and reweigh["weight_after"] == t("0.48")
    assert sorted((r["container"], r["amount"]) for r in records(w1, "repackaging")) == sorted([
        (c["c4"].code, t("-0.3")), (c["c5"].code, t("-0.2")), (c["m1"].code, t("0.5"))])
    assert {r["type"] for r in w1["records"]} == {"reweigh", "repackaging"} and amounts_add_up(w1)
    # W2 balances; the container handed over in January and never received is listed, for information
    assert w2["opening_stock"] == t("0.4") and w2["expected_closing"] == w2["actual_stock"] == t("0.5")
    assert w2["balanced"] is True and w2["difference"] == 0
    [missing] = records(w2, "not_received")
    assert missing["container"] == c["c0"].code and missing["amount"] is None and missing["weight"] == t("0.4")
    assert sum(r["amount"] for r in records(w2, "repackaging")) == 0 and amounts_add_up(w2)


def test_the_receiver_balances(world):
    result = balance.mass_balance(ADMIN, world["r"].pk, 2026)
    assert result["balanced"] is True
    assert {code["waste"]: (code["received_in"], code["disposed"], code["utilized"], code["self_disposed"],
                            code["self_utilized"], code["actual_stock"])
            for code in result["codes"]} == {W1: (t("1.0"), t("1.0"), 0, 0, 0, 0), W2: (t("0.7"), 0, t("0.7"), 0, 0, 0)}
    assert result["ledger_current"] is False  # never built


def test_the_clean_fixture_is_balanced(world):
    c2 = world["c"]["c2"]
    ScanEvent.objects.filter(container=c2, kind="reweighed").delete()
    Container.objects.filter(pk=c2.pk).update(net_weight_tonnes=t("0.5"))
    result = balance.mass_balance(ADMIN, world["g"].pk, 2026)
    assert result["balanced"] is True
    for code in result["codes"]:
        assert code["difference"] == 0 and code["balanced"]
        assert {r["type"] for r in code["records"]} <= {"repackaging", "not_received"}


def test_a_container_never_weighed(make_org):
    g = make_org()
    box = make_container(g, W1, "2026-04-01 08:00", status="produced")
    scan(box, "produced", "2026-04-01 08:00")
    produce(g, W1, "2026-04-02 08:00", "1.0", stored="2026-04-02 09:00")
    [code] = balance.mass_balance(ADMIN, g.pk, 2026)["codes"]
    assert code["generated"] == code["actual_stock"] == t("1.0") and code["difference"] == 0
    [record] = code["records"]
    assert (record["type"], record["container"], record["amount"]) == ("unweighed", box.code, None)
    assert code["balanced"] is False


def test_a_merge_whose_weights_do_not_add_up(make_org):
    g = make_org()
    a = produce(g, W1, "2026-05-01 08:00", "0.3", stored="2026-05-01 09:00", status="merged")
    b = produce(g, W1, "2026-05-02 08:00", "0.2", stored="2026-05-02 09:00", status="merged")
    package = make_container(g, W1, "2026-05-01 08:00", net="0.45", origin="merged")
    Container.objects.filter(pk__in=[a.pk, b.pk]).update(parent=package)
    scan(a, "merged", "2026-05-10 08:00", weight="0.3", related_container=package)
    scan(b, "merged", "2026-05-10 08:00", weight="0.2", related_container=package)
    make_package(package, "2026-05-10 08:00", "0.45", stored=True)
    [code] = balance.mass_balance(ADMIN, g.pk, 2026)["codes"]
    assert code["expected_closing"] == t("0.5") and code["actual_stock"] == t("0.45")
    assert code["difference"] == t("-0.05") and not code["balanced"] and amounts_add_up(code)
    made = [r for r in records(code, "repackaging") if r["container"] == package.code]
    assert made[0]["amount"] == t("0.45") and made[0]["sources"] == sorted([a.code, b.code])


def test_a_split_recorded_with_its_own_creation_event(make_org):
    """A package whose first event is the split itself (another way to record it) is made, not taken out."""
    g = make_org()
    whole = produce(g, W2, "2026-05-01 08:00", "1.0", stored="2026-05-01 09:00", status="split")
    scan(whole, "split", "2026-05-03 08:00", weight="1.0")
    part = make_container(g, W2, "2026-05-01 08:00", net="0.9", origin="split", split_from=whole)
    scan(part, "split", "2026-05-03 08:00", related_container=whole)
    scan(part, "stored", "2026-05-03 08:10")
    compute.build_ledger(year=2026, organization_ids=[g.pk])
    [code] = balance.mass_balance(ADMIN, g.pk, 2026)["codes"]
    assert code["difference"] == t("-0.1") and amounts_add_up(code)
    assert sorted(r["amount"] for r in records(code, "repackaging")) == [t("-1.0"), t("0.9")]
    may = compute.compute_ledger(year=2026, organization_ids=[g.pk])[(g.pk, W2, 5)]
    assert may["stored_out"] == t("1.0") and may["stored_in"] == t("1.9")  # the part's creation is no exit


def test_containers_whose_status_contradicts_their_events(make_org):
    g = make_org()
    gone = produce(g, W1, "2026-06-01 08:00", "1.0", stored="2026-06-01 09:00", status="self_disposed")
    kept = produce(g, W1, "2026-06-02 08:00", "0.4", stored="2026-06-02 09:00", status="stored")
    scan(kept, "self_disposed", "2026-06-20 08:00", method="D10")
    ghost = make_container(g, W1, "2026-06-03 08:00", net="0.1", status="stored")  # no events at all
    # the containers' recorded status is today's: compared while the year is not over
    [code] = balance.mass_balance(ADMIN, g.pk, 2026, now=at("2026-11-23 12:00"))["codes"]
    assert code["expected_closing"] == t("1.0") and code["actual_stock"] == t("0.5")
    contradictions = {r["container"]: r for r in records(code, "status_contradiction")}
    assert set(contradictions) == {gone.code, kept.code, ghost.code}
    assert contradictions[gone.code]["amount"] == t("-1.0") and "stored" in contradictions[gone.code]["message"]
    assert contradictions[kept.code]["amount"] == t("0.4")
    assert contradictions[ghost.code]["amount"] == t("0.1")
    assert code["difference"] == t("-0.5") and amounts_add_up(code) and not code["balanced"]


def test_a_difference_carried_from_last_year_and_a_past_year(make_org):
    g = make_org()
    box = produce(g, W1, "2025-11-01 08:00", "1.0", stored="2025-11-01 09:00")
    scan(box, "reweighed", "2025-12-15 08:00", weight="0.9", expected_weight_tonnes=t("1.0"), discrepancy=True)
    Container.objects.filter(pk=box.pk).update(net_weight_tonnes=t("0.9"))
    [last_year] = balance.mass_balance(ADMIN, g.pk, 2025)["codes"]  # a past year: stock rebuilt from the events
    assert last_year["expected_closing"] == t("1.0") and last_year["actual_stock"] == t("0.9")
    assert [r["type"] for r in last_year["records"]] == ["reweigh"] and amounts_add_up(last_year)
    [this_year] = balance.mass_balance(ADMIN, g.pk, 2026)["codes"]
    assert this_year["opening_stock"] == t("1.0") and this_year["difference"] == t("-0.1")
    [carried] = this_year["records"]
    assert carried["type"] == "carried" and carried["amount"] == t("-0.1")


def test_a_past_year_counts_the_stock_at_its_end_not_today(make_org):
    g = make_org()
    box = produce(g, W1, "2025-11-01 08:00", "1.0", stored="2025-11-01 09:00", status="self_disposed")
    scan(box, "self_disposed", "2026-01-05 08:00", method="D10")
    [code] = balance.mass_balance(ADMIN, g.pk, 2025)["codes"]
    assert code["actual_stock"] == code["expected_closing"] == t("1.0") and code["balanced"]


def test_a_receivers_weighbridge_difference_is_information(make_org):
    g = make_org()
    r = make_org(roles=("receiver",))
    box = produce(g, W1, "2026-07-01 08:00", "1.0", stored="2026-07-01 09:00", status="received", holder=r)
    scan(box, "handed_over", "2026-07-02 08:00", weight="1.0")
    scan(box, "received", "2026-07-02 12:00", org=r, weight="0.97", expected_weight_tonnes=t("1.0"),
         discrepancy=True)
    Container.objects.filter(pk=box.pk).update(net_weight_tonnes=t("0.97"))
    for org, stock in ((g, 0), (r, t("0.97"))):
        [code] = balance.mass_balance(ADMIN, org.pk, 2026)["codes"]
        assert code["balanced"] and code["actual_stock"] == stock
        [record] = records(code, "received_weight")
        assert record["weight_before"] == t("1.0") and record["weight_after"] == t("0.97")


def test_mass_balance_of_an_invisible_organization_is_not_found(world, member_of, scope_of_user):
    outsider = scope_of_user(member_of(world["r"], "admin"))
    with pytest.raises(NotFound):
        balance.mass_balance(outsider, world["g"].pk, 2026)
    assert balance.mass_balance(outsider, world["r"].pk, 2026)["balanced"]
    assert W2 in by_code(balance.mass_balance(outsider, world["r"].pk, 2026))
