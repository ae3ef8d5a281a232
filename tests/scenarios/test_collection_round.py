"""# A small-volume collection round (小微收运): three small generators, one collector, one plant

Small generators (an auto-repair shop, a school laboratory) produce a few hundred kilograms of hazardous waste
a year: too little to contract a licensed plant on their own. A licensed small-volume collector (小微收运单位)
collects from them on its round, one collection manifest per generator, stores what it collected, and
forwards it on one manifest to a plant that utilizes or disposes of it. Every tonne must stay traceable
from the generator's container to the final method, and every party's HJ 1259 ledger must show its own
share of the round, no more.

## Who takes part (all in 巴南区, region 500113)

| party | account | role in the round |
|---|---|---|
| 巴南区生态环境局 | `banan-regulator` | district regulator: registers units, people, sites, permits |
| 巴南区顺捷汽车维修服务部 (shop A) | `shop-a` | auto-repair: waste engine oil **and** oil filters |
| 巴南区龙洲湾汽车快修店 (shop B) | `shop-b` | auto-repair: waste engine oil |
| 巴南区鱼洞中学校 (school C) | `lab-c` | chemistry laboratory: waste liquids |
| 巴渝小微危废收运服务有限公司 (collector) | `collector-admin`, `collector-driver` | see below |
| 渝南危险货物运输有限公司 (carrier) | `carrier-driver` | hazardous-goods carrier, truck 渝BF3307 |
| 巴南危险废物综合处置中心有限公司 (plant) | `plant-admin` | see below |

The collector holds a small-volume collection permit for HW08 and HW49, runs the van 渝BD5216 and a store;
the plant holds a comprehensive permit: HW08 by R9 (used-oil re-refining), HW49 by D10 (incineration).
The accounts exist; everything else goes through `/api/v1` as the person who does it.

## What happens

1. **Registration (一企一档).** The regulator registers the six units with their USCCs
   (`POST /organizations`), makes each account a member (`POST /organizations/{id}/members`: the shops', the
   school's, the collector's and the plant's staff as administrators, the two drivers as drivers), adds the
   storage rooms, the collector's store and the plant's workshop (`POST /sites`), the van and the truck
   (`POST /vehicles`) and the two permits (`POST /permits`).
2. **Batches (五即).** Each generator records its containers (`POST /containers`: produced, packed, weighed,
   coded, stored in its storage room):

   | generator | waste | containers | tonnes |
   |---|---|---|---|
   | shop A | 900-214-08 废机油 | 2 drums × 0.115 t | 0.23 |
   | shop A | 900-041-49 废机油滤芯 | 1 bag | 0.12 |
   | shop B | 900-214-08 废机油 | 3 full drums × 0.14 t | 0.42 |
   | shop B | 900-214-08 废机油 | 1 drum opened this week | 0.06 |
   | school C | 900-047-49 实验室废液 | 2 drums: 0.10 t and 0.08 t | 0.18 |

   Generated: 0.35 + 0.48 + 0.18 = **1.01 t**.
3. **The round.** Each generator opens a collection manifest (`purpose: collection`) to the collector with
   the collector as carrier and signs it (`submit`); the collector's driver takes the load over with the van
   (`pickup`); the collector signs it in at its store (`receive`, nothing weighed, so it accepts what was
   shipped) and scans each container into the store (`stored`). Shop B keeps its opened drum: it is on no
   manifest. Collected: 0.35 + 0.42 + 0.18 = **0.95 t in 8 containers** (900-214-08: 0.23 + 0.42 = 0.65 t in
   5 drums; 900-041-49: 0.12 t; 900-047-49: 0.18 t). None of the three has an approved management plan on the
   platform, so each collection manifest carries the plan warning (固废法 第78条); it warns, it does not block.
4. **Repackaging.** The collector pumps the five oil drums of shops A and B into one IBC tote
   (`POST /containers/merge`): a new container of the collector, 0.115 × 2 + 0.14 × 3 = 0.65 t, in the
   store. The store now holds 0.95 t in 4 containers.
5. **Forwarding.** The collector opens one manifest (`purpose: forward`) to the plant with the tote, the bag of
   filters and the school's two drums, plans R9 for the oil and D10 for the rest (`POST
   /manifests/{id}/methods`), signs it; the carrier's driver picks it up; the plant weighs the truck at its
   weighbridge and signs the receipt with **0.931 t** (`received_tonnes`), then records R9 and D10 (`process`).
6. **Closing the round.** The platform closes the three collection manifests (`processed`) once everything
   they brought in is utilized or disposed downstream, through the tote: each line takes the downstream
   method (shop A: oil R9, filters D10; shop B: R9; school C: D10).
7. **Ledgers.** Each unit rebuilds and reads its ledger of the year (`POST /ledgers/{org}/{year}/rebuild`,
   `GET /ledgers/{org}/{year}`, `GET …/mass-balance`, `GET …/containers`); the carrier's driver may read
   his company's ledger but not rebuild it (403), so the regulator rebuilds it. The operator prints the
   plant's mass balance with `wufei ledger balance`.
8. **Lineage.** The regulator follows every collected container with `GET /trace/{code}` to its final method;
   each party reads only its own part.

## The figures, by hand

**Weighbridge.** Shipped on the forwarding manifest 0.65 + 0.12 + 0.10 + 0.08 = 0.95 t; weighed 0.931 t;
difference |0.931 − 0.95| / 0.95 = 0.019 / 0.95 = **2.000 %**, within the 5 % tolerance, so no discrepancy is
flagged. The 0.931 t are shared among the accepted containers by shipped weight, 0.931 / 0.95 = 0.98 of
each: tote 0.65 × 0.98 = **0.637**, filters 0.12 × 0.98 = **0.1176**, school drums 0.10 × 0.98 = 0.098 and
0.08 × 0.98 = 0.0784 (line 900-047-49: **0.1764**); 0.637 + 0.1176 + 0.1764 = 0.931. The manifest's received
and accepted tonnes are 0.931.

**Ledgers (year summary, t).** What a generator shipped stays what it shipped; the collector did not weigh,
so it received and forwarded the shipped weights; the plant received what it weighed. Storage in / out count
the entries into and exits from a store: the collector's oil enters twice and leaves twice (the five drums
enter and leave by the merge, 0.65 t; the tote enters at the merge and leaves at loading, 0.65 t).

| party | code | generated | received | transferred | utilized | disposed | closing | stored in | stored out |
|---|---|---|---|---|---|---|---|---|---|
| shop A | 900-214-08 | 0.23 | 0 | 0.23 | 0 | 0 | 0 | 0.23 | 0.23 |
| shop A | 900-041-49 | 0.12 | 0 | 0.12 | 0 | 0 | 0 | 0.12 | 0.12 |
| shop B | 900-214-08 | 0.48 | 0 | 0.42 | 0 | 0 | **0.06** | 0.48 | 0.42 |
| school C | 900-047-49 | 0.18 | 0 | 0.18 | 0 | 0 | 0 | 0.18 | 0.18 |
| collector | 900-214-08 | 0 | 0.65 | 0.65 | 0 | 0 | 0 | 1.30 | 1.30 |
| collector | 900-041-49 | 0 | 0.12 | 0.12 | 0 | 0 | 0 | 0.12 | 0.12 |
| collector | 900-047-49 | 0 | 0.18 | 0.18 | 0 | 0 | 0 | 0.18 | 0.18 |
| carrier | — | no rows: a carrier's custody moves no stock of its own | | | | | | | |
| plant | 900-214-08 | 0 | 0.637 | 0 | **0.637** (R9) | 0 | 0 | 0 | 0 |
| plant | 900-041-49 | 0 | 0.1176 | 0 | 0 | **0.1176** (D10) | 0 | 0 | 0 |
| plant | 900-047-49 | 0 | 0.1764 | 0 | 0 | **0.1764** (D10) | 0 | 0 | 0 |

Closing = opening + generated + received − transferred − utilized − disposed: shop B 0 + 0.48 − 0.42 = 0.06;
the collector 0.65 − 0.65 = 0; the plant 0.637 − 0.637 = 0 and 0.294 − 0.294 = 0.

**Mass balances.** Every unit's expected closing stock equals the stock it holds: shop B 0.06 t (its opened
drum, also what `GET /inventory` shows in its storage room), everyone else 0. The collector's repackaging
records add up to nothing (−0.115 × 2 − 0.14 × 3 + 0.65 = 0).

**Round totals.** Generated 1.01 t; kept by shop B 0.06 t; collected and forwarded 0.95 t; received and
treated 0.931 t (R9 0.637 + D10 0.294); the 0.019 t between shipped and weighed is the forwarding manifest's
recorded difference, not a loss in anyone's ledger.

## Who sees what

The regulator sees every manifest, ledger and container of the district. Shop A sees its own ledger, its
containers and its collection manifest; shop B's ledger, container and manifest, the forwarding manifest and
the collector's tote answer 404 to it (invisible and unknown look the same). Its own drum's trace ends where
the collector merged it; shop A reads the outcome on its collection manifest (line 1 R9, line 2 D10). The
plant sees the containers it received (and their history) and its manifest, not the shops' manifests or
ledgers.
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from tests.scenarios.conftest import command, tonnes
from wufei.core.ids import make_uscc

BANAN = "500113"
FIGURES = ("generated", "received_in", "transferred_out", "utilized", "disposed", "closing_stock",
           "stored_in", "stored_out")  # utilized / disposed: the received waste a licensed plant treats
# the year summaries of the story's table: generated received transferred utilized disposed closing in out
LEDGERS = {
    "a": {"900-214-08": "0.23 0 0.23 0 0 0 0.23 0.23",
          "900-041-49": "0.12 0 0.12 0 0 0 0.12 0.12"},
    "b": {"900-214-08": "0.48 0 0.42 0 0 0.06 0.48 0.42"},
    "c": {"900-047-49": "0.18 0 0.18 0 0 0 0.18 0.18"},
    "collector": {"900-214-08": "0 0.65 0.65 0 0 0 1.30 1.30",
                  "900-041-49": "0 0.12 0.12 0 0 0 0.12 0.12",
                  "900-047-49": "0 0.18 0.18 0 0 0 0.18 0.18"},
    "carrier": {},
    "plant": {"900-214-08": "0 0.637 0 0.637 0 0 0 0",
              "900-041-49": "0 0.1176 0 0 0.1176 0 0 0",
              "900-047-49": "0 0.1764 0 0 0.1764 0 0 0"},
}
STOCK = {"a": {}, "b": {"900-214-08": "0.06"}, "c": {}, "collector": {}, "plant": {}}


def _uscc(serial: int) -> str:
    return make_uscc("91", BANAN, f"MA6{serial:06d}")


def _figures(summary: list[dict]) -> dict[str, tuple]:
    return {row["waste"]: tuple(tonnes(row[name]) for name in FIGURES) for row in summary}


def _expected(table: dict[str, str]) -> dict[str, tuple]:
    return {code: tuple(Decimal(value) for value in values.split()) for code, values in table.items()}


def _stock(inventory: dict) -> tuple:
    by_code = {}
    for row in inventory["rows"]:
        by_code[row["waste_code"]] = by_code.get(row["waste_code"], Decimal(0)) + tonnes(row["tonnes"])
    return by_code, tonnes(inventory["totals"]["tonnes"]), inventory["totals"]["count"]


def collection_round(people) -> dict:
    """Play the round of the story through the API; return the parties and what the checks need."""
    today = timezone.localdate()
    regulator = people("banan-regulator", regulator_of=BANAN)
    staff = {label: people(label) for label in (
        "shop-a", "shop-b", "lab-c", "collector-admin", "collector-driver", "carrier-driver", "plant-admin")}

    # 1. the district regulator registers the units, their people, sites, vehicles and permits
    units = {}
    for key, serial, name, roles, industry in (
            ("a", 1, "重庆巴南区顺捷汽车维修服务部", ["generator"], ("8111", "汽车修理与维护")),
            ("b", 2, "重庆市巴南区龙洲湾汽车快修店", ["generator"], ("8111", "汽车修理与维护")),
            ("c", 3, "重庆市巴南区鱼洞中学校", ["generator"], ("8334", "普通高中教育")),
            ("collector", 4, "重庆巴渝小微危废收运服务有限公司", ["collector", "transporter"],
             ("7724", "危险废物治理")),
            ("carrier", 5, "重庆渝南危险货物运输有限公司", ["transporter"], ("5430", "道路危险货物运输")),
            ("plant", 6, "重庆巴南危险废物综合处置中心有限公司", ["receiver"], ("7724", "危险废物治理"))):
        units[key] = regulator.post("organizations", {
            "uscc": _uscc(serial), "name": name, "region": BANAN, "roles": roles, "industry_code": industry[0],
            "industry_name": industry[1], "address": "重庆市巴南区"}, expect=201)
    ids = {key: unit["id"] for key, unit in units.items()}
    for key, label, role in (("a", "shop-a", "admin"), ("b", "shop-b", "admin"), ("c", "lab-c", "admin"),
                             ("collector", "collector-admin", "admin"), ("collector", "collector-driver", "driver"),
                             ("carrier", "carrier-driver", "driver"), ("plant", "plant-admin", "admin")):
        regulator.post(f"organizations/{ids[key]}/members", {"username": label, "role": role}, expect=201)
    sites = {key: regulator.post("sites", {"organization": units[key]["uscc"], "name": name, "kind": kind},
                                 expect=201)["id"]
             for key, name, kind in (("a", "危废暂存间", "storage"), ("b", "危废暂存间", "storage"),
                                     ("c", "实验室危废暂存柜", "storage"), ("collector", "小微收集贮存库", "storage"),
                                     ("plant", "废油再生及焚烧车间", "operating"))}
    vehicles = {key: regulator.post("vehicles", {
        "organization": units[key]["uscc"], "plate": plate, "transport_permit_number": f"渝交运管巴南{plate[-4:]}",
        "transport_permit_valid_until": today + dt.timedelta(days=730)}, expect=201)["id"]
        for key, plate in (("collector", "渝BD5216"), ("carrier", "渝BF3307"))}
    valid = {"valid_from": today - dt.timedelta(days=365), "valid_until": today + dt.timedelta(days=1460)}
    regulator.post("permits", {
        "organization": units["collector"]["uscc"], "number": "渝危废收[2025]巴南001号",
        "kind": "small_volume_collection", **valid,
        "lines": [{"waste": "HW08", "annual_capacity_tonnes": "50"},
                  {"waste": "HW49", "annual_capacity_tonnes": "30"}]}, expect=201)
    regulator.post("permits", {
        "organization": units["plant"]["uscc"], "number": "渝危废[2025]巴南002号", "kind": "comprehensive", **valid,
        "lines": [{"waste": "HW08", "annual_capacity_tonnes": "3000", "methods": ["R9"]},
                  {"waste": "HW49", "annual_capacity_tonnes": "5000", "methods": ["D10"]}]}, expect=201)

    # 2. the small generators record their batches (五即), each into its storage room
    def record(label, key, code, name, weight, count=1, packaging="drum", form="liquid"):
        answer = staff[label].post("containers", {
            "organization_id": ids[key], "waste_code": code, "waste_name": name, "physical_form": form,
            "packaging": packaging, "net_weight_tonnes": weight, "count": count, "storage_site_id": sites[key]},
            expect=201)
        return [container["code"] for container in answer]

    containers = {
        "a_oil": record("shop-a", "a", "900-214-08", "废机油", "0.115", 2),
        "a_filters": record("shop-a", "a", "900-041-49", "废机油滤芯", "0.12", 1, "bag", "solid"),
        "b_oil": record("shop-b", "b", "900-214-08", "废机油", "0.14", 3),
        "b_kept": record("shop-b", "b", "900-214-08", "废机油", "0.06"),
        "c_lab": record("lab-c", "c", "900-047-49", "实验室废液", "0.10") + record("lab-c", "c", "900-047-49",
                                                                                  "实验室废液", "0.08"),
    }

    # 3. the round: one collection manifest per generator; the collector's van, the collector's store
    collector, driver, plant = staff["collector-admin"], staff["collector-driver"], staff["plant-admin"]
    collections, plan_warnings = {}, {}
    for key, label, codes in (("a", "shop-a", containers["a_oil"] + containers["a_filters"]),
                              ("b", "shop-b", containers["b_oil"]), ("c", "lab-c", containers["c_lab"])):
        shop = staff[label]
        manifest = shop.post("manifests", {
            "kind": "hazardous", "purpose": "collection", "generator_id": ids[key], "receiver_id": ids["collector"],
            "generator_site_id": sites[key], "receiver_site_id": sites["collector"],
            "legs": [{"transporter_id": ids["collector"]}], "container_codes": codes}, expect=201)
        plan_warnings[key] = shop.sign(manifest["id"], "submit")["plan_warning"]
        driver.sign(manifest["id"], "pickup", vehicle_id=vehicles["collector"], driver_name="周师傅")
        collector.sign(manifest["id"], "receive")
        for code in codes:
            collector.post(f"containers/{code}/scans", {"kind": "stored", "site_id": sites["collector"]}, expect=201)
        collections[key] = manifest["id"]
    store = {"after_round": _stock(collector.get(f"inventory?organization={ids['collector']}"))}

    # 4. the five oil drums go into one tote
    tote = collector.post("containers/merge", {"codes": containers["a_oil"] + containers["b_oil"],
                                               "packaging": "ibc", "storage_site_id": sites["collector"]},
                          expect=201)
    containers["tote"] = [tote["code"]]
    store["after_merge"] = _stock(collector.get(f"inventory?organization={ids['collector']}"))

    # 5. forwarding: the collector's manifest, the carrier's truck, the plant's weighbridge and treatment
    forward = collector.post("manifests", {
        "kind": "hazardous", "purpose": "forward", "generator_id": ids["collector"], "receiver_id": ids["plant"],
        "generator_site_id": sites["collector"], "receiver_site_id": sites["plant"],
        "legs": [{"transporter_id": ids["carrier"]}],
        "container_codes": containers["tote"] + containers["a_filters"] + containers["c_lab"]}, expect=201)
    collector.post(f"manifests/{forward['id']}/methods",
                   {"version": forward["version"], "methods": {"1": "R9", "2": "D10", "3": "D10"}})
    collector.sign(forward["id"], "submit")
    staff["carrier-driver"].sign(forward["id"], "pickup", vehicle_id=vehicles["carrier"], driver_name="冉师傅")
    plant.sign(forward["id"], "receive", received_tonnes="0.931")
    plant.sign(forward["id"], "process", methods={"1": "R9", "2": "D10", "3": "D10"})
    store["after_forward"] = _stock(collector.get(f"inventory?organization={ids['collector']}"))

    return {"regulator": regulator, "staff": staff, "units": units, "ids": ids, "today": today,
            "collections": collections, "plan_warnings": plan_warnings, "forward": forward["id"],
            "containers": containers, "store": store}


def test_the_round_carries_every_tonne_to_final_treatment_and_each_ledger_keeps_its_own_share(people):
    """The collection manifests accept what each generator shipped and close with the downstream method once the
    plant has processed the forwarded load (through the collector's tote); the forwarding manifest accepts the
    weighbridge figure, shared by shipped weight; each unit's rebuilt ledger shows exactly its own figures of the
    story's table, every mass balance holds, and the operator's `wufei ledger balance` says so."""
    story = collection_round(people)
    regulator, staff, ids, year = story["regulator"], story["staff"], story["ids"], story["today"].year

    # the round: what each collection manifest accepted, and how it was closed
    expected_lines = {"a": [("900-214-08", "0.23", "R9"), ("900-041-49", "0.12", "D10")],
                      "b": [("900-214-08", "0.42", "R9")], "c": [("900-047-49", "0.18", "D10")]}
    for key, label in (("a", "shop-a"), ("b", "shop-b"), ("c", "lab-c")):
        manifest = staff[label].get(f"manifests/{story['collections'][key]}")
        assert (manifest["purpose"], manifest["status"], manifest["reception"]) == ("collection", "processed",
                                                                                    "accepted")
        shipped = sum(Decimal(t) for _code, t, _method in expected_lines[key])
        assert tonnes(manifest["shipped_tonnes"]) == tonnes(manifest["accepted_tonnes"]) == shipped
        assert [(line["code"], tonnes(line["accepted_tonnes"]), line["method"], line["processed_on"])
                for line in manifest["lines"]] == [(code, Decimal(t), method, story["today"].isoformat())
                                                   for code, t, method in expected_lines[key]]
        warning = story["plan_warnings"][key]  # no approved plan: a warning, and the manifest went on
        assert story["units"]["collector"]["name"] in warning
        assert all(code in warning for code, _t, _method in expected_lines[key])
    # the collector's store: 0.95 t in 8 containers, in 4 after the merge, empty after forwarding
    by_code = {"900-214-08": Decimal("0.65"), "900-041-49": Decimal("0.12"), "900-047-49": Decimal("0.18")}
    assert story["store"]["after_round"] == (by_code, Decimal("0.95"), 8)
    assert story["store"]["after_merge"] == (by_code, Decimal("0.95"), 4)
    assert story["store"]["after_forward"] == ({}, Decimal(0), 0)

    # the forwarding manifest: shipped 0.95 t, weighed 0.931 t (2.000 %), shared by shipped weight
    forward = staff["plant-admin"].get(f"manifests/{story['forward']}")
    assert (forward["purpose"], forward["status"], forward["reception"]) == ("forward", "processed", "accepted")
    assert [tonnes(forward[name]) for name in ("shipped_tonnes", "received_tonnes", "accepted_tonnes",
                                               "refused_tonnes")] == [Decimal("0.95"), Decimal("0.931"),
                                                                      Decimal("0.931"), Decimal(0)]
    assert (forward["discrepancy"], tonnes(forward["discrepancy_percent"])) == (False, Decimal("2.000"))
    containers = story["containers"]
    assert [(line["code"], tonnes(line["shipped_tonnes"]), tonnes(line["accepted_tonnes"]), line["method"],
             [(c["code"], tonnes(c["shipped_tonnes"]), tonnes(c["received_tonnes"])) for c in line["containers"]])
            for line in forward["lines"]] == [
        ("900-214-08", Decimal("0.65"), Decimal("0.637"), "R9",
         [(containers["tote"][0], Decimal("0.65"), Decimal("0.637"))]),
        ("900-041-49", Decimal("0.12"), Decimal("0.1176"), "D10",
         [(containers["a_filters"][0], Decimal("0.12"), Decimal("0.1176"))]),
        ("900-047-49", Decimal("0.18"), Decimal("0.1764"), "D10",
         [(containers["c_lab"][0], Decimal("0.10"), Decimal("0.098")),
          (containers["c_lab"][1], Decimal("0.08"), Decimal("0.0784"))])]

    # each unit rebuilds and reads its own ledger; the carrier's driver reads his company's but may not rebuild it
    keepers = {"a": staff["shop-a"], "b": staff["shop-b"], "c": staff["lab-c"], "collector": staff["collector-admin"],
               "plant": staff["plant-admin"]}
    staff["carrier-driver"].post(f"ledgers/{ids['carrier']}/{year}/rebuild", expect=403)
    regulator.post(f"ledgers/{ids['carrier']}/{year}/rebuild")
    for key, expected in LEDGERS.items():
        party = keepers.get(key, staff["carrier-driver"])
        if key in keepers:
            party.post(f"ledgers/{ids[key]}/{year}/rebuild")
        ledger = party.get(f"ledgers/{ids[key]}/{year}")
        assert _figures(ledger["year_summary"]) == _expected(expected), key
        assert ledger["year_summary"] == regulator.get(f"ledgers/{ids[key]}/{year}")["year_summary"]
        if key == "carrier":
            continue
        balance = party.get(f"ledgers/{ids[key]}/{year}/mass-balance")
        assert balance["balanced"] and balance["ledger_current"], key
        stock = {code["waste"]: tonnes(code["actual_stock"]) for code in balance["codes"]
                 if tonnes(code["actual_stock"])}
        assert stock == {code: Decimal(t) for code, t in STOCK[key].items()}, key
        assert all(tonnes(code["expected_closing"]) == tonnes(code["actual_stock"]) for code in balance["codes"])
    carrier_balance = regulator.get(f"ledgers/{ids['carrier']}/{year}/mass-balance")
    assert carrier_balance["balanced"]
    assert all(tonnes(code[name]) == 0 for code in carrier_balance["codes"]
               for name in ("generated", "received_in", "transferred_out", "expected_closing", "actual_stock"))
    # shop B's closing 0.06 t is the drum in its storage room; the collector's repackaging nets to nothing
    assert _stock(staff["shop-b"].get(f"inventory?organization={ids['b']}")) == (
        {"900-214-08": Decimal("0.06")}, Decimal("0.06"), 1)
    collector_balance = staff["collector-admin"].get(f"ledgers/{ids['collector']}/{year}/mass-balance")
    [oil] = [code for code in collector_balance["codes"] if code["waste"] == "900-214-08"]
    repackaging = [tonnes(r["amount"]) for r in oil["records"] if r["type"] == "repackaging"]
    assert sorted(repackaging) == sorted([Decimal("-0.115")] * 2 + [Decimal("-0.14")] * 3 + [Decimal("0.65")])
    assert sum(repackaging) == 0

    # the HJ 1259 tables: shop A's entrusted lines name the collector; the plant's receipts the weighed tonnes
    entrusted = staff["shop-a"].get(f"ledgers/{ids['a']}/{year}/containers?table=entrusted")["tables"]["entrusted"]
    collection_a = staff["shop-a"].get(f"manifests/{story['collections']['a']}")["number"]
    assert sorted((line["container_code"], tonnes(line["quantity"]), line["manifest"], line["receiver"])
                  for line in entrusted) == sorted(
        [(code, Decimal("0.115"), collection_a, story["units"]["collector"]["name"]) for code in containers["a_oil"]]
        + [(containers["a_filters"][0], Decimal("0.12"), collection_a, story["units"]["collector"]["name"])])
    received = staff["plant-admin"].get(f"ledgers/{ids['plant']}/{year}/containers?table=received")["tables"][
        "received"]
    assert sorted((line["container_code"], tonnes(line["quantity"]), line["generator"])
                  for line in received) == sorted([
        (containers["tote"][0], Decimal("0.637"), story["units"]["collector"]["name"]),
        (containers["a_filters"][0], Decimal("0.1176"), story["units"]["a"]["name"]),
        (containers["c_lab"][0], Decimal("0.098"), story["units"]["c"]["name"]),
        (containers["c_lab"][1], Decimal("0.0784"), story["units"]["c"]["name"])])

    # the operator's view of the plant's balance
    printed = command("ledger", "balance", "--year", str(year), "--organization", story["units"]["plant"]["uscc"])
    for code in ("900-214-08", "900-041-49", "900-047-49"):
        assert f"{code}: expected 0.000000 t, stock 0.000000 t, difference 0.000000 t — balanced" in printed


def test_every_collected_container_traces_to_its_final_method_and_each_party_sees_only_its_part(people):
    """The regulator follows each small generator's container to the plant's final method: the oil drums through
    the collector's tote (R9), the filters and the laboratory drums directly (D10), each custody chain
    generator → collector (→ carrier → plant), each step citing its manifest; shop B's kept drum never left its
    storage room. Each generator sees its own containers and manifest and reads the outcome there; another
    generator's ledger, containers and manifests, the forwarding manifest and the tote answer 404 to it, and the
    plant sees what it received but not the shops' manifests or ledgers."""
    story = collection_round(people)
    regulator, staff, ids, year = story["regulator"], story["staff"], story["ids"], story["today"].year
    containers = story["containers"]
    numbers = {key: regulator.get(f"manifests/{manifest_id}")["number"]
               for key, manifest_id in story["collections"].items()}
    forward_number = regulator.get(f"manifests/{story['forward']}")["number"]

    def chain(code):
        """(custody, what became of it): its final scan, or the package it went into and that package's chain."""
        trace = regulator.get(f"trace/{code}")
        custody = [period["organization_id"] for period in trace["custody"]]
        if trace["successors"]:
            [package] = trace["successors"]
            assert package["relation"] == "merged_into"
            return custody, ("merged_into", package["code"]), chain(package["code"])
        last = trace["events"][-1]
        return custody, (last["kind"], last["method"], last["reference"])

    to_plant = [ids["collector"], ids["carrier"], ids["plant"]]
    tote = containers["tote"][0]
    tote_chain = (to_plant, ("utilized", "R9", forward_number))
    assert chain(tote) == tote_chain
    for key, oil in (("a", containers["a_oil"]), ("b", containers["b_oil"])):
        for code in oil:
            assert chain(code) == ([ids[key], ids["collector"]], ("merged_into", tote), tote_chain)
    for key, code in [("a", containers["a_filters"][0])] + [("c", code) for code in containers["c_lab"]]:
        assert chain(code) == ([ids[key]] + to_plant, ("disposed", "D10", forward_number))
    assert chain(containers["b_kept"][0]) == ([ids["b"]], ("stored", "", ""))
    # the tote knows what it was made of; each step cites its manifest
    trace = regulator.get(f"trace/{tote}")
    assert sorted((s["code"], s["relation"]) for s in trace["sources"]) == sorted(
        (code, "merged_from") for code in containers["a_oil"] + containers["b_oil"])
    events = regulator.get(f"trace/{containers['a_filters'][0]}")["events"]
    assert [(e["kind"], e["organization_id"], e["reference"]) for e in events
            if e["kind"] in ("handed_over", "received")] == [
        ("handed_over", ids["a"], numbers["a"]), ("received", ids["collector"], numbers["a"]),
        ("handed_over", ids["collector"], forward_number), ("handed_over", ids["carrier"], forward_number),
        ("received", ids["plant"], forward_number)]
    assert [tonnes(e["weight_tonnes"]) for e in events if e["kind"] == "received"] == [Decimal("0.12"),
                                                                                      Decimal("0.1176")]
    # the regulator lists the collector's four manifests, all processed
    listed = regulator.get(f"manifests?organization={ids['collector']}")["items"]
    assert sorted((m["purpose"], m["status"]) for m in listed) == [("collection", "processed")] * 3 + [
        ("forward", "processed")]

    # shop A: its own containers, manifest and ledger; its drum's trace ends at the collector's merge
    shop_a = staff["shop-a"]
    trace = shop_a.get(f"trace/{containers['a_oil'][0]}")
    assert ([p["organization_id"] for p in trace["custody"]], trace["events"][-1]["kind"], trace["successors"]) == (
        [ids["a"], ids["collector"]], "merged", [])
    assert trace["events"][-1]["related_container"] is None  # the tote it went into is not shop A's to know
    assert [(line["code"], line["method"]) for line in
            shop_a.get(f"manifests/{story['collections']['a']}")["lines"]] == [("900-214-08", "R9"),
                                                                               ("900-041-49", "D10")]
    shop_a.get(f"ledgers/{ids['a']}/{year}")
    for url in (f"ledgers/{ids['b']}/{year}", f"ledgers/{ids['b']}/{year}/mass-balance",
                f"trace/{containers['b_kept'][0]}", f"trace/{containers['b_oil'][0]}", f"trace/{tote}",
                f"manifests/{story['collections']['b']}", f"manifests/{story['forward']}",
                f"manifests/by-number/{forward_number}", f"organizations/{ids['b']}"):
        shop_a.get(url, expect=404)
    shop_a.post(f"ledgers/{ids['b']}/{year}/rebuild", expect=404)
    assert [m["id"] for m in shop_a.get("manifests")["items"]] == [story["collections"]["a"]]
    staff["lab-c"].get(f"ledgers/{ids['a']}/{year}", expect=404)
    staff["shop-b"].get(f"trace/{containers['c_lab'][0]}", expect=404)

    # the plant: the containers it received, with their history, and its manifest; not the shops' papers
    plant = staff["plant-admin"]
    assert [p["organization_id"] for p in plant.get(f"trace/{containers['a_filters'][0]}")["custody"]] == [
        ids["a"]] + to_plant
    plant.get(f"manifests/{story['forward']}")
    for url in (f"manifests/{story['collections']['a']}", f"ledgers/{ids['a']}/{year}",
                f"ledgers/{ids['collector']}/{year}", f"trace/{containers['b_kept'][0]}"):
        plant.get(url, expect=404)
    # the collector: its round and its forwarding, not the generators' ledgers
    collector = staff["collector-admin"]
    assert sorted(m["id"] for m in collector.get("manifests")["items"]) == sorted(
        [*story["collections"].values(), story["forward"]])
    collector.get(f"ledgers/{ids['a']}/{year}", expect=404)
    collector.get(f"trace/{containers['b_kept'][0]}", expect=404)
