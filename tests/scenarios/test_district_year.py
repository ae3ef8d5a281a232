"""# A district year: Banan's waste from the gate to the cockpit (巴南区的一年)

Who takes part, each through the API with an account of their own:

- **巴南区生态环境局** (district regulator, 500113) registers the Banan units, their sites and permits, and
  approves the plant's management plan; **重庆市生态环境局** (500000) is the province-level authority of origin
  for cross-province transfers; **四川省生态环境厅** (510000) registers the Chengdu plant, consents as the
  destination and handles the alerts about its plant.
- **巴南精细化工有限公司** (the plant, generator, key supervision: 150 t declared) with waste solvent
  (HW06, 900-402-06) and waste mineral oil (HW08, 900-214-08), and general industrial slag (SW01) on its monthly
  e-ledger; **巴南区人民医院** (the hospital, a medical institution, 3 t declared) with infectious waste (HW01,
  841-001-01).
- **重庆危运物流有限公司** (the carrier) with 渝A12345 (road permit valid) and 渝A54321 (expired), and its driver.
- **重庆环保处置中心** (Banan receiver: HW06 100 t/a by D10 or R2, HW01 50 t/a by D10) and
  **四川环资再生有限公司** (Chengdu receiver, 510104: HW08 500 t/a by R9).

## What happens

1. The plant records two batches of solvent (2 × 0.6 t, and 2 × 0.5 t) and one of oil (4 × 0.6 t); the hospital
   records 2 boxes × 0.15 t; the plant enters its slag for the month: generated 30 t, utilized in-house
   12 t, entrusted to 重庆建材综合利用厂 for utilization 10 t, disposed of in-house 5 t, closing stock 3 t. The plant files its management
   plan (solvent to the Banan receiver, oil to Chengdu), the district regulator approves it.
2. **Refused at submission**: oil to the Banan receiver (its permit covers no HW08); solvent with the expired
   渝A54321 (the generator then cancels the draft); oil to Chengdu with no cross-province approval.
3. The plant applies to move 5 t of oil to Sichuan; Chongqing consents, Sichuan consents, Chongqing approves
   **4 t**. The oil manifest (2.4 t) now passes; the driver picks it up; Chengdu weighs **2.25 t**:
   |2.25 − 2.4| / 2.4 = **6.25 %**, beyond the 5 % tolerance, so the manifest records a discrepancy; Chengdu
   utilizes it by R9. The approval has 4 − 2.4 = **1.6 t** left (shipped tonnes count). The plant records another
   3 × 0.6 t of oil; its manifest of 1.8 t is refused at submission: more than the 1.6 t left (it is cancelled and
   the oil stays in store).
4. **Partly refused and returned**: the 2 × 0.6 t solvent drums go to the Banan receiver, which refuses one
   (leaking) and weighs the other at **0.59 t** (|0.59 − 0.6| / 0.6 = 1.667 %, within tolerance); it disposes of
   it by D10. The refused drum goes back to the plant on a return manifest that the plant receives.
5. The hospital's 0.3 t go to the Banan receiver (weighed 0.3 t) and are disposed of by D10.
6. Each party rebuilds its ledger; the operator runs `wufei alerts scan`. Sichuan verifies, rectifies and closes
   the discrepancy alert; the next scans (full and incremental) open nothing for the same facts.

## Expected figures (tonnes)

Ledgers of the year (HJ 1259), per party and code:

| party | code | generated | received | transferred out | utilized / disposed | closing stock |
|---|---|---|---|---|---|---|
| plant | HW06 | 1.2 + 1.0 = 2.2 | 0.6 (the returned drum) | 1.2 (both drums left at pickup) | 0 | 2.2 + 0.6 − 1.2 = 1.6 |
| plant | HW08 | 2.4 + 1.8 = 4.2 | 0 | 2.4 | 0 | 1.8 (the second batch, not shipped) |
| hospital | HW01 | 0.3 | 0 | 0.3 | 0 | 0 |
| Banan receiver | HW06 | 0 | 0.59 (weighed) | 0 | disposed 0.59 | 0 |
| Banan receiver | HW01 | 0 | 0.3 | 0 | disposed 0.3 | 0 |
| Chengdu receiver | HW08 | 0 | 2.25 (weighed) | 0 | utilized 2.25 | 0 |

Every mass balance closes: the weighing differences (0.01 t and 0.15 t) are on the receivers' side, whose ledgers
receive what they weighed, while the plant's ledger keeps what it shipped.

Cockpit of the year, hazardous / medical / general industrial: the ledgers of the region's units above (the
cockpit reads them as the indicators and the declarations do), inflow from the manifests:

- **Banan** (district regulator): hazardous generated 2.2 + 4.2 = **6.4**, received 0.6 (the plant's returned
  drum) + 0.59 (the Banan receiver) = **1.19**, of it from outside **0** (the return manifest brings no waste to a
  facility from elsewhere), transferred out 1.2 + 2.4 = **3.6** (what left the plant at pickup: the refused drum
  that came back, and the 2.4 t the Chengdu plant weighed at 2.25 t), utilized **0** (the R9 work is done in
  Sichuan), disposed **0.59** (D10 at the Banan receiver), in stock 1.6 + 1.8 = **3.4**; medical generated,
  transferred, received and disposed **0.3**; general industrial generated **30**, entrusted (transferred) **10**,
  received by 重庆建材综合利用厂 (a Banan unit named as the receiver) **10**, utilized 12 + 10 = **22**,
  disposed **5**, stored **3**.
- **Sichuan** (provincial regulator): hazardous received **2.25**, all of it from outside (**2.25**), utilized
  **2.25** (R9 at the Chengdu plant), nothing generated, transferred or in stock; its flows start at
  "重庆市（区外）".
- **Chongqing** (city regulator): hazardous transferred out **3.6** (the oil that went to Sichuan included),
  received **1.19**, from outside **0**.

Indicators of Banan for the year (`/api/v1/indicators/regions/500113/evaluation`, the shipped catalog's formulas):

- 工业危险废物综合利用率 = industrial hazardous waste utilized ÷ (generated + prior years' stock utilized) =
  2.25 ÷ (6.4 + 0) = **35.16 %** (the hospital's medical waste is not industrial: 6.7 would be wrong);
- 工业危险废物安全处置率 = (utilized 2.25 + disposed 0.59) ÷ (generated 6.4 + opening stock 0) = 2.84 ÷ 6.4 =
  **44.38 %** (the Banan receiver's own D10 work on the plant's drum is the same 0.59 t seen from the other side:
  counting it again would read 3.43 ÷ 6.4);
- 危险废物填埋处置量占比 = landfilled 0 ÷ (utilized 2.25 + disposed 0.59 + 0.3) = **0.00 %**;
- 医疗废物收集处置体系覆盖率 = 1 institution with a received medical manifest ÷ 1 medical institution = **100.00 %**;
- 一般工业固体废物综合利用率 = 22 ÷ (30 + 0) = **73.33 %**.

Alerts: `manifest.discrepancy` on the oil manifest (Chengdu, seen by Sichuan); for Banan,
`plan.transfer_not_planned` on the hospital's manifest (the hospital has no plan) and `vehicle.permit_expired` on
渝A54321 (the carrier's). The facility-load rules depend on the day of the year and are
tested on their own (tests/alerts).
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.scenarios.conftest import command, tonnes
from wufei.core.ids import make_uscc

pytestmark = pytest.mark.django_db
BANAN, CHONGQING, SICHUAN, JINJIANG = "500113", "500000", "510000", "510104"
SOLVENT, OIL, INFECTIOUS = "900-402-06", "900-214-08", "841-001-01"
T = Decimal


def _unit(regulator, name, region, serial, roles, declared="0", **extra):
    return regulator.post("organizations", {
        "uscc": make_uscc("91", region, f"MA{serial:07d}"), "name": name, "region": region, "roles": roles,
        "annual_hazardous_waste_tonnes": declared, "longitude": "106.55", "latitude": "29.45", **extra}, expect=201)


def _staff(regulator, people, unit, label, role="admin"):
    person = people(label)
    regulator.post(f"organizations/{unit['id']}/members", {"username": label, "role": role}, expect=201)
    return person


def _record(person, unit, store, code, name, form, packaging, count, each):
    made = person.post("containers", {"organization_id": unit["id"], "waste_code": code, "waste_name": name,
                                      "physical_form": form, "packaging": packaging, "count": count,
                                      "net_weight_tonnes": each, "storage_site_id": store["id"]}, expect=201)
    return [c["code"] for c in made]


def _draft(person, generator, receiver, codes, carrier, vehicle, method, kind="hazardous"):
    return person.post("manifests", {
        "kind": kind, "generator_id": generator["id"], "receiver_id": receiver["id"], "container_codes": codes,
        "planned_method": method, "legs": [{"transporter_id": carrier["id"], "vehicle_id": vehicle["id"],
                                             "driver_name": "张师傅", "driver_phone": "13800000000"}]},
        expect=201)


@pytest.fixture
def year_of_banan(told_year_of_banan, db):
    """The story, with the test in a savepoint of its own."""
    return told_year_of_banan


@pytest.fixture(scope="module")
def told_year_of_banan(module_people):
    """The story up to the alerts scan, as the module docstring tells it; returns who and what for the checks."""
    people = module_people
    banan, city, sichuan = (people("banan-regulator", regulator_of=BANAN), people("city-regulator",
                            regulator_of=CHONGQING), people("sichuan-regulator", regulator_of=SICHUAN))
    plant = _unit(banan, "巴南精细化工有限公司", BANAN, 1, ["generator"], "150")
    hospital = _unit(banan, "巴南区人民医院", BANAN, 2, ["generator", "medical_institution"], "3")
    carrier = _unit(banan, "重庆危运物流有限公司", BANAN, 3, ["transporter"])
    local = _unit(banan, "重庆环保处置中心", BANAN, 4, ["receiver"])
    chengdu = _unit(sichuan, "四川环资再生有限公司", JINJIANG, 5, ["receiver"])
    bricks = _unit(banan, "重庆建材综合利用厂", BANAN, 6, ["receiver"])
    p = {"plant": _staff(banan, people, plant, "plant-admin"), "hospital": _staff(banan, people, hospital,
         "hospital-admin"), "carrier": _staff(banan, people, carrier, "carrier-admin"),
         "driver": _staff(banan, people, carrier, "driver", "driver"), "local": _staff(banan, people, local,
         "local-admin"), "chengdu": _staff(sichuan, people, chengdu, "chengdu-admin")}
    stores = {name: p[name].post("sites", {"organization": unit["uscc"], "name": f"{unit['name']}贮存库",
                                           "kind": "storage"}, expect=201)
              for name, unit in (("plant", plant), ("hospital", hospital), ("local", local), ("chengdu", chengdu))}
    today = timezone.localdate()
    good = p["carrier"].post("vehicles", {"organization": carrier["uscc"], "plate": "渝A12345",
                                          "transport_permit_number": "渝交运危001",
                                          "transport_permit_valid_until": str(today + dt.timedelta(days=300))},
                             expect=201)
    expired = p["carrier"].post("vehicles", {"organization": carrier["uscc"], "plate": "渝A54321",
                                             "transport_permit_number": "渝交运危002",
                                             "transport_permit_valid_until": str(today - dt.timedelta(days=3))},
                                expect=201)
    valid = {"valid_from": str(today - dt.timedelta(days=200)), "valid_until": str(today + dt.timedelta(days=700))}
    banan.post("permits", {"organization": local["uscc"], "number": "渝危废第0001号", "kind": "comprehensive",
                           **valid, "lines": [{"waste": "HW06", "annual_capacity_tonnes": "100",
                                               "methods": ["D10", "R2"]},
                                              {"waste": "HW01", "annual_capacity_tonnes": "50", "methods": ["D10"]}]},
               expect=201)
    sichuan.post("permits", {"organization": chengdu["uscc"], "number": "川危废第0009号", "kind": "comprehensive",
                             **valid, "lines": [{"waste": "HW08", "annual_capacity_tonnes": "500", "methods": ["R9"]}]},
                 expect=201)

    # 1. batches, the e-ledger, the management plan
    drums = _record(p["plant"], plant, stores["plant"], SOLVENT, "废有机溶剂", "liquid", "drum", 2, "0.6")
    kept = _record(p["plant"], plant, stores["plant"], SOLVENT, "废有机溶剂", "liquid", "drum", 2, "0.5")
    oil = _record(p["plant"], plant, stores["plant"], OIL, "废矿物油", "liquid", "drum", 4, "0.6")
    boxes = _record(p["hospital"], hospital, stores["hospital"], INFECTIOUS, "感染性废物", "solid", "box", 2, "0.15")
    p["plant"].put(f"solid-waste/months/{plant['id']}/{today.year}/{today.month}/SW01", {
        "name": "冶炼废渣", "opening_stock": "0", "generated": "30", "self_utilized": "12",
        "entrusted_utilization": "10", "self_disposed": "5", "entrusted_disposal": "0", "closing_stock": "3",
        "receiver": bricks["uscc"]})
    plan = p["plant"].post("plans", {"organization_id": plant["id"], "year": today.year,
                                     "reduction_measures": "溶剂回收", "storage_measures": "分区贮存"}, expect=201)
    plan = p["plant"].put(f"plans/{plan['id']}/streams", {"version": plan["version"], "streams": [
        {"waste": SOLVENT, "planned_generation": "5", "storage_site": stores["plant"]["id"]},
        {"waste": OIL, "planned_generation": "6", "storage_site": stores["plant"]["id"]}]})
    plan = p["plant"].put(f"plans/{plan['id']}/transfers", {"version": plan["version"], "transfers": [
        {"waste": SOLVENT, "receiver": local["id"], "planned_quantity": "5", "method": "D10"},
        {"waste": OIL, "receiver": chengdu["id"], "planned_quantity": "6", "method": "R9"}]})
    plan = p["plant"].post(f"plans/{plan['id']}/submit", {"version": plan["version"]})
    banan.post(f"plans/{plan['id']}/approve", {"version": plan["version"], "comment": "同意"})

    # 2. refused at submission
    refusals = {}
    to_local = _draft(p["plant"], plant, local, oil, carrier, good, "R9")
    refusals["permit"] = p["plant"].sign(to_local["id"], "submit", expect=422)
    p["plant"].sign(to_local["id"], "cancel", reason="改送持证单位")
    with_expired = _draft(p["plant"], plant, local, kept[:1], carrier, expired, "D10")
    refusals["vehicle"] = p["plant"].sign(with_expired["id"], "submit", expect=422)
    p["plant"].sign(with_expired["id"], "cancel", reason="车辆道路运输证过期")
    oil_manifest = _draft(p["plant"], plant, chengdu, oil, carrier, good, "R9")
    refusals["cross_province"] = p["plant"].sign(oil_manifest["id"], "submit", expect=422)

    # 3. the cross-province approval, the oil to Chengdu
    application = p["plant"].post("cross-province/applications", {
        "generator_id": plant["id"], "receiver": chengdu["uscc"], "code": OIL, "waste_name": "废矿物油",
        "method": "R9", "requested_tonnes": "5", "requested_until": str(today + dt.timedelta(days=300))},
        expect=201)
    application = city.post(f"cross-province/applications/{application['id']}/origin-review",
                            {"consent": True, "note": "同意移出", "version": application["version"]})
    application = sichuan.post(f"cross-province/applications/{application['id']}/destination-review",
                               {"consent": True, "note": "同意接收", "version": application["version"]})
    application = city.post(f"cross-province/applications/{application['id']}/decision",
                            {"approve": True, "approved_tonnes": "4", "note": "批准4吨", "version":
                             application["version"]})
    p["plant"].sign(oil_manifest["id"], "submit")
    p["driver"].sign(oil_manifest["id"], "pickup", vehicle_id=good["id"], driver_name="张师傅")
    p["chengdu"].sign(oil_manifest["id"], "receive", received_tonnes="2.25")
    p["chengdu"].sign(oil_manifest["id"], "process", method="R9")
    more_oil = _record(p["plant"], plant, stores["plant"], OIL, "废矿物油", "liquid", "drum", 3, "0.6")
    second = _draft(p["plant"], plant, chengdu, more_oil, carrier, good, "R9")
    refusals["quantity"] = p["plant"].sign(second["id"], "submit", expect=422)
    p["plant"].sign(second["id"], "cancel", reason="超出批准量，另行申请")

    # 4. solvent partly refused and returned
    solvent = _draft(p["plant"], plant, local, drums, carrier, good, "D10")
    p["plant"].sign(solvent["id"], "submit")
    p["driver"].sign(solvent["id"], "pickup", vehicle_id=good["id"], driver_name="张师傅")
    p["local"].sign(solvent["id"], "receive", refused_containers=[drums[1]], refusal_reason="桶体渗漏",
                    received_tonnes="0.59")
    p["local"].sign(solvent["id"], "process", method="D10")
    back = p["plant"].post(f"manifests/{solvent['id']}/follow-up", {"purpose": "return"}, expect=201)
    p["plant"].sign(back["id"], "submit")
    p["driver"].sign(back["id"], "pickup", vehicle_id=good["id"], driver_name="张师傅")
    p["plant"].sign(back["id"], "receive", received_tonnes="0.6")

    # 5. the hospital's boxes
    medical = _draft(p["hospital"], hospital, local, boxes, carrier, good, "D10", kind="medical")
    p["hospital"].sign(medical["id"], "submit")
    p["driver"].sign(medical["id"], "pickup", vehicle_id=good["id"], driver_name="张师傅")
    p["local"].sign(medical["id"], "receive", received_tonnes="0.3")
    p["local"].sign(medical["id"], "process", method="D10")

    # 6. ledgers and the alert scan
    for name, unit in (("plant", plant), ("hospital", hospital), ("local", local), ("chengdu", chengdu)):
        p[name].post(f"ledgers/{unit['id']}/{today.year}/rebuild")
    command("alerts", "scan")
    return {"people": p, "banan": banan, "city": city, "sichuan": sichuan, "year": today.year,
            "units": {"plant": plant, "hospital": hospital, "carrier": carrier, "local": local, "chengdu": chengdu},
            "manifests": {"oil": oil_manifest, "solvent": solvent, "back": back, "medical": medical},
            "application": application, "refusals": refusals, "vehicles": {"good": good, "expired": expired}}


def _ledger(party, unit, year) -> dict:
    rows = party.get(f"ledgers/{unit['id']}/{year}")["year_summary"]
    return {row["waste"]: {key: tonnes(row[key]) for key in ("generated", "received_in", "transferred_out",
                                                             "self_utilized", "self_disposed", "utilized", "disposed",
                                                             "closing_stock")}
            for row in rows}


def _row(generated=0, received=0, transferred=0, utilized=0, disposed=0, closing=0) -> dict:
    """utilized / disposed: received waste treated by a licensed plant (nobody here treats its own waste)."""
    return {"generated": T(generated), "received_in": T(received), "transferred_out": T(transferred),
            "self_utilized": T(0), "self_disposed": T(0), "utilized": T(utilized), "disposed": T(disposed),
            "closing_stock": T(closing)}


def test_refusals_name_the_rule_and_the_approval_counts_shipped_tonnes(year_of_banan):
    """Each refused submission answers 422 with the rule that refused it; the approval of 4 t has 1.6 t left after
    the 2.4 t manifest, so a further 1.8 t is refused."""
    refusals = year_of_banan["refusals"]
    assert {name: answer["code"] for name, answer in refusals.items()} == {
        "permit": "receiver_not_permitted", "vehicle": "vehicle_permit_invalid",
        "cross_province": "cross_province_not_approved", "quantity": "cross_province_quantity_exceeded"}
    assert "渝A54321" in refusals["vehicle"]["message"] and "1.6" in refusals["quantity"]["message"]
    application = year_of_banan["people"]["plant"].get(
        f"cross-province/applications/{year_of_banan['application']['id']}")
    assert (application["status"], tonnes(application["approved_tonnes"]), tonnes(application["quantity_left"])) == (
        "approved", T("4"), T("1.6"))


def test_every_ledger_and_mass_balance(year_of_banan):
    """The ledgers per party and code are those of the table above; every mass balance closes."""
    p, units, year = year_of_banan["people"], year_of_banan["units"], year_of_banan["year"]
    assert _ledger(p["plant"], units["plant"], year) == {
        SOLVENT: _row(generated="2.2", received="0.6", transferred="1.2", closing="1.6"),
        OIL: _row(generated="4.2", transferred="2.4", closing="1.8")}
    assert _ledger(p["hospital"], units["hospital"], year) == {INFECTIOUS: _row(generated="0.3", transferred="0.3")}
    assert _ledger(p["local"], units["local"], year) == {
        SOLVENT: _row(received="0.59", disposed="0.59"), INFECTIOUS: _row(received="0.3", disposed="0.3")}
    assert _ledger(p["chengdu"], units["chengdu"], year) == {OIL: _row(received="2.25", utilized="2.25")}
    for name in ("plant", "hospital", "local", "chengdu"):
        balance = p[name].get(f"ledgers/{units[name]['id']}/{year}/mass-balance")
        assert balance["balanced"], (name, balance)
    stock = p["plant"].get(f"inventory?organization={units['plant']['id']}")
    assert (tonnes(stock["totals"]["tonnes"]), stock["totals"]["count"]) == (T("3.4"), 6)  # 2 + 1 + 3 drums


def test_manifests_show_what_was_weighed_and_refused(year_of_banan):
    """The oil manifest shows 2.25 t received and accepted with a 6.25 % discrepancy; the solvent manifest 0.59 t
    accepted and 0.6 t refused, returned on a manifest that the plant received."""
    plant, m = year_of_banan["people"]["plant"], year_of_banan["manifests"]
    oil = plant.get(f"manifests/{m['oil']['id']}")
    assert (oil["status"], tonnes(oil["shipped_tonnes"]), tonnes(oil["received_tonnes"]),
            tonnes(oil["accepted_tonnes"]), oil["discrepancy"], tonnes(oil["discrepancy_percent"])) == (
        "processed", T("2.4"), T("2.25"), T("2.25"), True, T("6.25"))
    solvent = plant.get(f"manifests/{m['solvent']['id']}")
    assert (solvent["reception"], tonnes(solvent["accepted_tonnes"]), tonnes(solvent["refused_tonnes"]),
            solvent["discrepancy"]) == ("partial", T("0.59"), T("0.6"), False)
    back = plant.get(f"manifests/{m['back']['id']}")
    assert (back["purpose"], back["status"], tonnes(back["accepted_tonnes"])) == ("return", "received", T("0.6"))


def test_alerts_open_and_a_closed_one_stays_closed(year_of_banan):
    """The scan opens the discrepancy alert (Sichuan's) and the unplanned-transfer alert (the hospital's); Sichuan
    closes its alert through the loop and the next scans open nothing for the same facts."""
    sichuan, banan, m = year_of_banan["sichuan"], year_of_banan["banan"], year_of_banan["manifests"]

    def open_alerts(who):
        items = who.get("alerts?active=true&limit=500")["items"]
        return {(a["rule_id"], a["entity_id"]) for a in items if not a["rule_id"].startswith("facility.")}

    assert open_alerts(sichuan) == {("manifest.discrepancy", str(m["oil"]["id"]))}
    assert open_alerts(banan) == {("plan.transfer_not_planned", str(m["medical"]["id"])),
                                  ("vehicle.permit_expired", str(year_of_banan["vehicles"]["expired"]["id"]))}
    [alert] = [a for a in sichuan.get("alerts?rule=manifest.discrepancy")["items"]]
    assert alert["evidence"]["received_tonnes"] == "2.25" and alert["evidence"]["accepted_tonnes"] == "2.25"
    version = alert["version"]
    for action, comment in (("verify", ""), ("rectify", "复核地磅"), ("close", "地磅复核无误，已约谈")):
        version = sichuan.post(f"alerts/{alert['id']}/actions/{action}", {"version": version,
                                                                           "comment": comment})["version"]
    command("alerts", "scan", "--full")
    command("alerts", "scan")
    statuses = [a["status"] for a in sichuan.get(f"alerts?rule=manifest.discrepancy&entity_id={m['oil']['id']}")[
        "items"]]
    assert statuses == ["closed"]


def test_the_cockpits_of_both_provinces(year_of_banan):
    """Banan's, Sichuan's and Chongqing's cockpits show the figures of the docstring."""
    def headline(who, region=None):
        query = f"?region={region}" if region else ""
        data = who.get(f"analytics/cockpit{query}")
        return {stream: {k: tonnes(v) for k, v in figures.items()} for stream, figures in data["headline"].items()}

    banan = headline(year_of_banan["banan"])
    assert banan["hazardous"] == {"generated": T("6.4"), "transferred": T("3.6"), "received": T("1.19"),
                                  "inflow": T("0"), "utilized": T("0"), "disposed": T("0.59"), "stored": T("3.4")}
    assert banan["medical"] == {"generated": T("0.3"), "transferred": T("0.3"), "received": T("0.3"),
                                "inflow": T("0"), "utilized": T("0"), "disposed": T("0.3"), "stored": T("0")}
    assert banan["gisw"] == {"generated": T("30"), "transferred": T("10"), "received": T("10"), "inflow": T("0"),
                             "utilized": T("22"), "disposed": T("5"), "stored": T("3")}
    sichuan = year_of_banan["sichuan"].get("analytics/cockpit")
    assert {k: tonnes(v) for k, v in sichuan["headline"]["hazardous"].items()} == {
        "generated": T("0"), "transferred": T("0"), "received": T("2.25"), "inflow": T("2.25"),
        "utilized": T("2.25"), "disposed": T("0"), "stored": T("0")}
    assert [n["name"] for n in sichuan["flows"]["nodes"] if n["layer"] == "region"] == ["重庆市（区外）"]
    city = headline(year_of_banan["city"])
    assert (city["hazardous"]["transferred"], city["hazardous"]["received"], city["hazardous"]["inflow"]) == (
        T("3.6"), T("1.19"), T("0"))


def test_the_indicators_they_feed(year_of_banan):
    """Banan's indicators computed from these records, as the docstring's last section works them out."""
    answer = year_of_banan["banan"].get(
        f"indicators/regions/{BANAN}/evaluation?year={year_of_banan['year']}"
        "&codes=hw_safe_disposal,hw_landfill_share,medical_waste_coverage,gisw_utilization,hw_utilization")
    got = {r["indicator"]: (r["value"], tonnes(r["numerator"]), tonnes(r["denominator"])) for r in answer["results"]}
    assert got == {
        "hw_utilization": ("35.16", T("2.25"), T("6.4")), "hw_safe_disposal": ("44.38", T("2.84"), T("6.4")),
        "hw_landfill_share": ("0.00", T("0"), T("3.14")), "medical_waste_coverage": ("100.00", T("1"), T("1")),
        "gisw_utilization": ("73.33", T("22"), T("30"))}
