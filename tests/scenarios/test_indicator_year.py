"""# An indicator year: Banan's zero-waste indicators from the records and the departments (巴南区“无废城市”指标年度评估)

A district is judged on its zero-waste indicators (无废城市建设指标). Some are computed from what the platform
records — batches, manifests, ledgers, the general industrial solid waste e-ledger, the registry — and some are
figures only a department holds (the statistics bureau's industrial value added, the agriculture committee's
straw survey), which the regulator asks for through data requests, with evidence, and approves before they
count. This story follows one year Y (the current calendar year) from the first batch to the report.

## Who takes part (all in 巴南区, region 500113)

| party | account | in this story |
|---|---|---|
| 巴南区生态环境局 | `banan-regulator` | registers units, sites and permits; asks the departments for data, reviews their answers; reads the evaluation and the reports |
| 区统计局 (statistics bureau) | `stats-clerk` | industrial value added (工业增加值) |
| 区农业农村委 (agriculture committee) | `agri-clerk` | straw utilized and straw collectable (秸秆) |
| 区住房城乡建委 (housing and construction committee) | `housing-clerk` | construction waste utilized and generated (建筑垃圾) |
| 重庆巴南精细化工有限公司 (the plant) | `plant-admin` | GB/T 4754 **C2614** 有机化学原料制造: waste solvent (HW06, 900-402-06), distillation residue (HW11, 900-013-11); boiler slag (SW03) and wastewater sludge (SW07) on its monthly e-ledger |
| 巴南区人民医院 (the hospital) | `hospital-admin` | Q8411, a medical institution: infectious waste (HW01, 841-001-01) and the laboratory's waste reagents (HW49, 900-047-49) |
| 巴南区鱼洞街道社区卫生服务中心 (the clinic) | `clinic-admin` | Q8421, a medical institution: one box of infectious waste, not yet collected this year |
| 重庆危运物流有限公司 (the carrier) | `carrier-admin`, `carrier-driver` | truck 渝B7C216 |
| 重庆环保处置中心有限公司 (the disposal centre) | `centre-admin` | N7724 危险废物治理; permit HW11 and HW01 by D10 (incineration) |
| 重庆渝南溶剂再生有限公司 (the recycler) | `recycler-admin` | C4220 非金属废料和碎屑加工处理 (an industrial sector); permit HW06 by R2 (solvent regeneration) |
| 重庆巴南建材综合利用厂 (the brickworks) | — | C3031, takes the plant's slag for bricks |

The department rows (区统计局, 区农业农村委, 区住房城乡建委) and the accounts exist; everything else goes through
`/api/v1` as the person who does it, or a `wufei` command as the operator runs it.

## What happens

0. **The plan.** The operator runs `wufei indicators_load`: the shipped indicator catalog (62 indicators,
   wufei/indicators/data/catalog.csv) and the four shipped plans (data/plans.json), among them
   `banan-2025`, 巴南区“无废城市”建设指标（附件1）: 39 rows, baseline year 2020, targets for 2025. No migration
   loads them and no API creates a plan: the operator's command is the way (or `wufei demo`, which builds a
   whole demo district besides). Y ≥ 2025, so each target is the 2025 one and is final: achieved or not achieved.
1. **Registration (一企一档).** The regulator registers the seven units with their USCCs and industry codes
   (`POST /organizations`), their staff, the three storage rooms, the truck and the two permits.
2. **Batches (五即)** (`POST /containers`):

   | unit | waste | containers | t |
   |---|---|---|---|
   | plant | 900-402-06 废有机溶剂 | 4 drums × 0.5 (shipped) + 1 drum × 0.5 (kept) | 2.5 |
   | plant | 900-013-11 精馏残渣 | 4 drums × 1.0 | 4.0 |
   | hospital | 841-001-01 感染性废物 | 2 boxes × 0.15 | 0.3 |
   | hospital | 900-047-49 检验科废试剂 | 1 drum (kept) | 0.2 |
   | clinic | 841-001-01 感染性废物 | 1 box (kept) | 0.05 |

3. **E-ledger** (`PUT /solid-waste/months/{plant}/{Y}/{month}/{code}`, the current month): SW03 炉渣 generated
   28 t, entrusted to the brickworks for utilization 24 t, closing stock 4 t; SW07 污泥 generated 12 t, utilized
   in-house 6 t, entrusted to the disposal centre for disposal 5 t, closing stock 1 t.
4. **Transfers** (submit, pickup, receive, process; nothing weighed, so each receiver accepts what was
   shipped): the 4 solvent drums (2.0 t) to the recycler, R2; the 4 residue drums (4.0 t) to the disposal
   centre, D10; the hospital's 2 boxes (0.3 t) on a medical waste manifest to the disposal centre, D10.
5. **Ledgers.** Each unit rebuilds its ledger of the year (`POST /ledgers/{org}/{Y}/rebuild`).
6. **Data requests** (`POST /indicators/requests`, due 31 March of Y + 1):
   - 区统计局, `industrial_value_added`. The clerk types the bulletin's figure in yuan, 5,000,000, but picks
     the unit 万元, and submits. The regulator **returns** it ("数值按元填写而单位选了万元，请更正并附统计公报").
     While it is submitted and while it is returned, the value counts nowhere: rows 1 and 2 have no data.
     The clerk enters 5,000,000 **元** (converted at the edge: 5,000,000 × 0.0001 = **500 万元**), attaches
     统计公报.pdf (`POST …/values/industrial_value_added/evidence`), submits; the regulator **approves**. A
     second submit of the approved request is refused (409 `request_closed`): an approved request is sealed.
   - 区农业农村委, `straw_collectable` 5.2 万吨 = **52,000 t** and `straw_utilized` 4.81 万吨 = **48,100 t**,
     with 秸秆综合利用台账.pdf; submitted and approved.
   - 区住房城乡建委, `construction_generated` 25 万m³ = 250,000 m³ and `construction_utilized` 21 万m³ =
     210,000 m³; **submitted, not yet reviewed** when the regulator reads the evaluation.
7. **Evaluation and report.** The regulator reads `GET /indicators/plans/{id}/evaluation?year=Y` and downloads
   `report.xlsx` and `report.pdf` (and the page `/indicators/plans/{id}/report.html`).

## The figures, by hand

Platform quantities of Banan in Y (wufei/indicators/quantities.py):

- industrial hazardous waste generated `ihw_generated` = the plant's 2.5 + 4.0 = **6.5 t**. The hospital's
  0.3 t is medical waste (HW01); its 0.2 t of reagents and the clinic's 0.05 t come from medical institutions,
  not industrial sources. All hazardous waste `hw_generated` is 6.5 + 0.3 + 0.2 + 0.05 = **7.05 t**.
- `ihw_utilized` = the plant's in-house utilization (0) + the accepted tonnes of its manifest lines with an R
  method: **2.0 t** (R2). Nothing was landfilled: `ihw_landfilled` = 0 t in Y; 2020 has no record at all, so
  its quantities are missing, not 0.
- `gisw_generated` = 28 + 12 = **40 t**; `gisw_utilized` = 24 + 6 = **30 t**.
- `medical_institutions` = **2** (hospital, clinic); `medical_institutions_covered` = **1** (the hospital: a
  received medical waste manifest; the clinic has none yet).

Entered and approved: `industrial_value_added` **500 万元**; straw 48,100 t of 52,000 t. Not approved:
construction waste. Not asked: `gisw_prior_stock_utilized` and `hw_prior_stock_utilized` (0 by default: the
catalog says so).

| row | indicator | numerator | denominator | value (catalog decimals) | target 2025 | status | trend against the baseline |
|---|---|---|---|---|---|---|---|
| 1 | 一般工业固体废物产生强度 (t/万元) | gisw_generated 40 | value added 500 | 40 ÷ 500 = **0.080** (3) | 零增长或负增长: ≤ baseline 0.330 (printed "0.33吨/万元": 2020 is not on the platform) | **achieved** | improving |
| 2 | 工业危险废物产生强度 (t/万元) | ihw_generated 6.5 | 500 | 6.5 ÷ 500 = **0.0130** (4) | ≤ 0.0140 (printed "0.014吨/万元") | **achieved** | improving |
| 11 | 一般工业固体废物综合利用率 (%) | gisw_utilized 30 | 40 + 0 | 30 ÷ 40 × 100 = **75.00** | 80% | **not achieved** | improving (56%) |
| 12 | 工业危险废物综合利用率 (%) | ihw_utilized 2.0 | 6.5 + 0 | 2.0 ÷ 6.5 × 100 = 30.769… = **30.77** | ＞7.1% | **achieved** | improving (7.1%) |
| 13 | 秸秆综合利用率 (%) | 48,100 | 52,000 | **92.50** | 92% | **achieved** | improving (91%) |
| 16 | 建筑垃圾资源化利用率 (%) | — | — | — (submitted, not approved: not used) | 80% | **no data** | — |
| 20 | 工业危险废物填埋处置量下降幅度 (%) | base(ihw_landfilled) − ihw_landfilled: 2020 missing | — | — | ＞0 | **no data** | — |
| 21 | 医疗废物收集处置体系覆盖率 (%) | 1 | 2 | 1 ÷ 2 × 100 = **50.00** | 100% | **not achieved** | worsening (100%) |

A formula reading the wrong stream changes these figures: over all hazardous waste, row 2 would be
7.05 ÷ 500 = 0.0141 > 0.0140, **not achieved**, and row 12 2.0 ÷ 7.05 = 28.37 %.

The plan's 39 rows: **4 achieved** (1, 2, 12, 13), **2 not achieved** (11, 21), **5 to be judged** (3 "完成市级任务";
5, 10 and 32, targets in words; 7, a projection of 1286 吨/天 for an indicator with no better direction) and
**28 with no data** (nothing was asked of the departments for them; row 16 is not approved; rows 20 and 23
compare with 2020, of which the platform holds no record). The report's summary sheet shows the same counts.

When the regulator then approves the construction figures, row 16 becomes 210,000 ÷ 250,000 × 100 =
**84.00 %**, achieved (≥ 80 %), improving (9.30 %): 5 achieved, 27 with no data.

**Each tonne once (row 12).** The recycler's ledger keeps what it regenerates for others (its `utilized`
column: the 'utilized' events the manifest's process step records) apart from in-house processing of its own
waste (`self_utilized`), so `ihw_utilized` = in-house 0 + the plant's manifest line 2.0 t — not 4.0 t (61.54 %),
which the platform read before the two were kept apart.
"""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.scenarios.conftest import command, tonnes
from wufei.core.ids import make_uscc
from wufei.registry.models import Department

pytestmark = pytest.mark.django_db
BANAN = "500113"
SOLVENT, RESIDUE, LAB, INFECTIOUS = "900-402-06", "900-013-11", "900-047-49", "841-001-01"
T = Decimal


def _unit(regulator, name, serial, roles, industry=("", ""), declared="0"):
    return regulator.post("organizations", {
        "uscc": make_uscc("91", BANAN, f"MA7{serial:06d}"), "name": name, "region": BANAN, "roles": roles,
        "industry_code": industry[0], "industry_name": industry[1], "annual_hazardous_waste_tonnes": declared,
        "longitude": "106.54", "latitude": "29.39"}, expect=201)


def _staff(regulator, people, unit, label, role="admin"):
    person = people(label)
    regulator.post(f"organizations/{unit['id']}/members", {"username": label, "role": role}, expect=201)
    return person


def _record(person, unit, store, code, name, form, packaging, count, each):
    made = person.post("containers", {"organization_id": unit["id"], "waste_code": code, "waste_name": name,
                                      "physical_form": form, "packaging": packaging, "count": count,
                                      "net_weight_tonnes": each, "storage_site_id": store["id"]}, expect=201)
    return [c["code"] for c in made]


def _ship(generator_party, driver, receiver_party, generator, receiver, codes, carrier, truck, method,
          kind="hazardous"):
    """A manifest from draft to processed: the generator signs, the driver picks up, the receiver signs the
    receipt (nothing weighed: it accepts what was shipped) and records the method."""
    manifest = generator_party.post("manifests", {
        "kind": kind, "generator_id": generator["id"], "receiver_id": receiver["id"], "container_codes": codes,
        "planned_method": method, "legs": [{"transporter_id": carrier["id"], "vehicle_id": truck["id"],
                                             "driver_name": "李师傅", "driver_phone": "13900000000"}]},
        expect=201)
    generator_party.sign(manifest["id"], "submit")
    driver.sign(manifest["id"], "pickup", vehicle_id=truck["id"], driver_name="李师傅")
    receiver_party.sign(manifest["id"], "receive")
    receiver_party.sign(manifest["id"], "process", method=method)
    return manifest


def _content(name: str) -> bytes:
    return b"%PDF-1.4 " + name.encode() + b"\n%%EOF"


def _pdf(name: str) -> dict:
    return {"file": SimpleUploadedFile(name, _content(name), content_type="application/pdf")}


def _rows(evaluation: dict) -> dict[int, dict]:
    return {row["number"]: row for row in evaluation["results"]}


def _figures(row: dict) -> tuple:
    """(value as shown, numerator, denominator, status, trend) of an evaluation row."""
    def number(text):
        return None if text is None else tonnes(text)

    return row["value"], number(row["numerator"]), number(row["denominator"]), row["status"], row["trend"]


def _sheets(party, plan_id: int, year: int) -> tuple[dict, dict]:
    """The report workbook's indicator rows by number (every sheet but the summary), and the summary's counts."""
    answer = party.get(f"indicators/plans/{plan_id}/report.xlsx?year={year}")
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(answer.content))
    summary, *groups = book.worksheets
    rows = {row[0]: row for sheet in groups for row in sheet.iter_rows(min_row=2, values_only=True)}
    counts = {label: count for label, count, *_ in summary.iter_rows(min_row=5, values_only=True)}
    return rows, counts


@pytest.fixture
def indicator_year(told_indicator_year, db):
    """The story, with the test in a savepoint of its own."""
    return told_indicator_year


@pytest.fixture(scope="module")
def told_indicator_year(module_people, tmp_path_factory):
    """The story up to the evaluation, as the module docstring tells it; returns who and what for the checks."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("indicator-year")):
        yield _tell_indicator_year(module_people)


def _tell_indicator_year(people):
    year = timezone.localdate().year
    today = timezone.localdate()
    departments = {key: Department.objects.create(name=name, region_id=BANAN) for key, name in (
        ("stats", "区统计局"), ("agri", "区农业农村委"), ("housing", "区住房城乡建委"))}
    banan = people("banan-regulator", regulator_of=BANAN)
    clerks = {key: people(f"{key}-clerk", department=department) for key, department in departments.items()}

    # the operator loads the shipped indicator catalog and plans
    loaded = command("indicators_load")

    # 1. registration
    plant = _unit(banan, "重庆巴南精细化工有限公司", 1, ["generator"], ("C2614", "有机化学原料制造"), "10")
    hospital = _unit(banan, "巴南区人民医院", 2, ["generator", "medical_institution"], ("Q8411", "综合医院"), "1")
    clinic = _unit(banan, "巴南区鱼洞街道社区卫生服务中心", 3, ["generator", "medical_institution"],
                   ("Q8421", "社区卫生服务中心（站）"))
    carrier = _unit(banan, "重庆危运物流有限公司", 4, ["transporter"], ("G5435", "危险货物道路运输"))
    centre = _unit(banan, "重庆环保处置中心有限公司", 5, ["receiver"], ("N7724", "危险废物治理"))
    recycler = _unit(banan, "重庆渝南溶剂再生有限公司", 6, ["receiver"], ("C4220", "非金属废料和碎屑加工处理"))
    bricks = _unit(banan, "重庆巴南建材综合利用厂", 7, ["receiver"], ("C3031", "粘土砖瓦及建筑砌块制造"))
    p = {"plant": _staff(banan, people, plant, "plant-admin"),
         "hospital": _staff(banan, people, hospital, "hospital-admin"),
         "clinic": _staff(banan, people, clinic, "clinic-admin"),
         "carrier": _staff(banan, people, carrier, "carrier-admin"),
         "driver": _staff(banan, people, carrier, "carrier-driver", "driver"),
         "centre": _staff(banan, people, centre, "centre-admin"),
         "recycler": _staff(banan, people, recycler, "recycler-admin")}
    stores = {name: p[name].post("sites", {"organization": unit["uscc"], "name": f"{unit['name']}危废贮存库",
                                           "kind": "storage"}, expect=201)
              for name, unit in (("plant", plant), ("hospital", hospital), ("clinic", clinic))}
    truck = p["carrier"].post("vehicles", {"organization": carrier["uscc"], "plate": "渝B7C216",
                                           "transport_permit_number": "渝交运危0216",
                                           "transport_permit_valid_until": str(today + dt.timedelta(days=400))},
                              expect=201)
    valid = {"valid_from": str(today - dt.timedelta(days=300)), "valid_until": str(today + dt.timedelta(days=800))}
    banan.post("permits", {"organization": centre["uscc"], "number": "渝危废第0113号", "kind": "comprehensive",
                           **valid, "lines": [{"waste": "HW11", "annual_capacity_tonnes": "500", "methods": ["D10"]},
                                              {"waste": "HW01", "annual_capacity_tonnes": "300", "methods": ["D10"]}]},
               expect=201)
    banan.post("permits", {"organization": recycler["uscc"], "number": "渝危废第0114号", "kind": "comprehensive",
                           **valid, "lines": [{"waste": "HW06", "annual_capacity_tonnes": "200", "methods": ["R2"]}]},
               expect=201)

    # 2. batches
    solvent = _record(p["plant"], plant, stores["plant"], SOLVENT, "废有机溶剂", "liquid", "drum", 4, "0.5")
    _record(p["plant"], plant, stores["plant"], SOLVENT, "废有机溶剂", "liquid", "drum", 1, "0.5")
    residue = _record(p["plant"], plant, stores["plant"], RESIDUE, "精馏残渣", "semi_solid", "drum", 4, "1.0")
    boxes = _record(p["hospital"], hospital, stores["hospital"], INFECTIOUS, "感染性废物", "solid", "box", 2, "0.15")
    _record(p["hospital"], hospital, stores["hospital"], LAB, "检验科废试剂", "liquid", "drum", 1, "0.2")
    _record(p["clinic"], clinic, stores["clinic"], INFECTIOUS, "感染性废物", "solid", "box", 1, "0.05")

    # 3. the e-ledger
    month = f"solid-waste/months/{plant['id']}/{year}/{today.month}"
    p["plant"].put(f"{month}/SW03", {"name": "锅炉炉渣", "opening_stock": "0", "generated": "28", "self_utilized": "0",
                                     "entrusted_utilization": "24", "self_disposed": "0", "entrusted_disposal": "0",
                                     "closing_stock": "4", "receiver": bricks["uscc"]})
    p["plant"].put(f"{month}/SW07", {"name": "污水处理污泥", "opening_stock": "0", "generated": "12",
                                     "self_utilized": "6", "entrusted_utilization": "0", "self_disposed": "0",
                                     "entrusted_disposal": "5", "closing_stock": "1", "receiver": centre["uscc"]})

    # 4. transfers
    _ship(p["plant"], p["driver"], p["recycler"], plant, recycler, solvent, carrier, truck, "R2")
    _ship(p["plant"], p["driver"], p["centre"], plant, centre, residue, carrier, truck, "D10")
    _ship(p["hospital"], p["driver"], p["centre"], hospital, centre, boxes, carrier, truck, "D10", kind="medical")

    # 5. ledgers
    for name, unit in (("plant", plant), ("hospital", hospital), ("clinic", clinic), ("centre", centre),
                       ("recycler", recycler)):
        p[name].post(f"ledgers/{unit['id']}/{year}/rebuild")

    # 6. data requests
    due = str(dt.date(year + 1, 3, 31))
    asked = {key: banan.post("indicators/requests", {"region": BANAN, "department_id": departments[key].pk,
                                                      "year": year, "keys": keys, "due_date": due,
                                                      "note": note}, expect=201)
             for key, keys, note in (("stats", ["industrial_value_added"], "请按统计公报填报工业增加值"),
                                     ("agri", ["straw_utilized", "straw_collectable"], "秸秆综合利用，附台账"),
                                     ("housing", ["construction_utilized", "construction_generated"],
                                      "建筑垃圾资源化利用"))}
    stats, agri, housing = clerks["stats"], clerks["agri"], clerks["housing"]
    [plan] = [pl for pl in banan.get("indicators/plans") if pl["key"] == "banan-2025"]
    evaluation = f"indicators/plans/{plan['id']}/evaluation?year={year}"
    snapshots, evidence = {}, {}

    r = asked["stats"]["id"]
    stats.post(f"indicators/requests/{r}/values", {"key": "industrial_value_added", "value": "5000000",
                                                   "unit": "万元"})
    version = stats.post(f"indicators/requests/{r}/submit", {"version": stats.get(
        f"indicators/requests/{r}")["version"]})["version"]
    snapshots["submitted"] = _rows(banan.get(evaluation))
    returned = banan.post(f"indicators/requests/{r}/review", {
        "approve": False, "comment": "数值按元填写而单位选了万元，请更正并附统计公报", "version": version})
    snapshots["returned"] = _rows(banan.get(evaluation))
    stats.post(f"indicators/requests/{r}/values", {"key": "industrial_value_added", "value": "5000000",
                                                   "unit": "元", "evidence": "巴南区国民经济和社会发展统计公报"})
    evidence["stats"] = stats.post(f"indicators/requests/{r}/values/industrial_value_added/evidence",
                                   files=_pdf("统计公报.pdf"), expect=201)
    version = stats.post(f"indicators/requests/{r}/submit", {"version": returned["version"]})["version"]
    approved = banan.post(f"indicators/requests/{r}/review", {"approve": True, "comment": "同意", "version": version})
    resubmitted = stats.post(f"indicators/requests/{r}/submit", {"version": approved["version"]}, expect=409)

    r = asked["agri"]["id"]
    agri.post(f"indicators/requests/{r}/values", {"key": "straw_collectable", "value": "5.2", "unit": "万吨",
                                                  "evidence": "秸秆资源台账"})
    agri.post(f"indicators/requests/{r}/values", {"key": "straw_utilized", "value": "4.81", "unit": "万吨",
                                                  "evidence": "秸秆综合利用台账"})
    evidence["agri"] = agri.post(f"indicators/requests/{r}/values/straw_utilized/evidence",
                                 files=_pdf("秸秆综合利用台账.pdf"), expect=201)
    version = agri.post(f"indicators/requests/{r}/submit", {"version": asked["agri"]["version"]})["version"]
    banan.post(f"indicators/requests/{r}/review", {"approve": True, "comment": "同意", "version": version})

    r = asked["housing"]["id"]
    housing.post(f"indicators/requests/{r}/values", {"key": "construction_generated", "value": "25",
                                                     "unit": "万m³"})
    housing.post(f"indicators/requests/{r}/values", {"key": "construction_utilized", "value": "21", "unit": "万m³"})
    housing.post(f"indicators/requests/{r}/submit", {"version": asked["housing"]["version"]})

    return {"banan": banan, "clerks": clerks, "people": p, "year": year, "plan": plan, "loaded": loaded,
            "requests": asked, "snapshots": snapshots, "evidence": evidence,
            "resubmitted": resubmitted, "evaluation": evaluation, "units": {"plant": plant, "hospital": hospital, "clinic": clinic,
                                          "centre": centre, "recycler": recycler}}




# the rows of the story's table: (value as shown, numerator, denominator, status, trend)
EXPECTED = {
    1: ("0.080", T("40"), T("500"), "achieved", "improving"),
    2: ("0.0130", T("6.5"), T("500"), "achieved", "improving"),
    11: ("75.00", T("30"), T("40"), "not_achieved", "improving"),
    13: ("92.50", T("48100"), T("52000"), "achieved", "improving"),
    16: (None, None, None, "no_data", ""),
    20: (None, None, None, "no_data", ""),
    21: ("50.00", T("1"), T("2"), "not_achieved", "worsening"),
}
COUNTS = {"achieved": 4, "on_track": 0, "at_risk": 0, "not_achieved": 2, "no_data": 28, "to_judge": 5}
# the reports' labels (zh-hans, the platform's default language)
LABELS = {"achieved": "已达标", "on_track": "进展顺利", "at_risk": "存在达标风险", "not_achieved": "未达标",
          "no_data": "无数据", "to_judge": "待判定"}
TRENDS = {"improving": "向好", "worsening": "趋差", "": None}


def test_the_operator_loads_the_plan_and_the_departments_answer(indicator_year):
    """`wufei indicators_load` loads the catalog and the Banan plan (39 rows, targets for 2025), and loading it
    again keeps the same plan; the statistics bureau's value, returned for its unit and corrected, is approved as
    500 万元 with its bulletin and counts only once approved; an approved request cannot be submitted again; the
    straw figures are approved with their evidence, which the regulator downloads; the construction figures wait
    for review; a department sees only its own requests."""
    y = indicator_year
    assert "catalog: 62 indicators" in y["loaded"]
    assert f"banan-2025 (id {y['plan']['id']}, region {BANAN}): 39 rows, target years 2025" in y["loaded"]
    assert f"banan-2025 (id {y['plan']['id']}," in command("indicators_load", "banan-2025")
    assert [plan["key"] for plan in y["banan"].get("indicators/plans")].count("banan-2025") == 1
    for stage in ("submitted", "returned"):
        for number in (1, 2):
            row = y["snapshots"][stage][number]
            assert (row["value"], row["status"]) == (None, "no_data"), (stage, number)
            assert [i["source"] for i in row["inputs"] if i["key"] == "industrial_value_added"] == ["missing"]
    assert y["resubmitted"]["code"] == "request_closed"

    banan, requests = y["banan"], y["requests"]
    stats = banan.get(f"indicators/requests/{requests['stats']['id']}")
    [value] = stats["values"]
    assert (stats["status"], stats["review_comment"], value["status"], value["entered_value"],
            value["entered_unit"], tonnes(value["value"])) == ("approved", "同意", "approved", "5000000", "元",
                                                              T("500"))
    agri = banan.get(f"indicators/requests/{requests['agri']['id']}")
    assert agri["status"] == "approved"
    assert {v["key"]: (tonnes(v["value"]), v["entered_value"], v["entered_unit"]) for v in agri["values"]} == {
        "straw_collectable": (T("52000"), "5.2", "万吨"), "straw_utilized": (T("48100"), "4.81", "万吨")}
    housing = banan.get(f"indicators/requests/{requests['housing']['id']}")
    assert (housing["status"], [v["status"] for v in housing["values"]]) == ("submitted", ["submitted", "submitted"])
    for key, name in (("stats", "统计公报.pdf"), ("agri", "秸秆综合利用台账.pdf")):
        assert banan.get(f"indicators/evidence/{y['evidence'][key]['id']}").content == _content(name)
    mine = y["clerks"]["agri"].get(f"indicators/requests?year={y['year']}")
    assert [r["department"] for r in mine] == ["区农业农村委"]


def test_the_evaluation_computes_each_figure_from_its_stream(indicator_year):
    """The evaluation rows 1, 2, 11, 13, 16, 20 and 21 and the plan's counts are those of the table above; the
    industrial hazardous waste quantities leave out the hospital's and the clinic's waste, which all hazardous
    waste includes (the drill-down's units with a figure other than 0)."""
    y = indicator_year
    banan = y["banan"]
    evaluation = banan.get(y["evaluation"])
    rows = _rows(evaluation)
    assert {number: _figures(rows[number]) for number in EXPECTED} == EXPECTED
    assert evaluation["counts"] == COUNTS
    assert (tonnes(rows[1]["baseline"]), rows[1]["baseline_source"], tonnes(rows[2]["baseline"]),
            rows[2]["target"]) == (T("0.33"), "printed", T("0.014"), "零增长或负增长")
    assert {i["key"]: (tonnes(i["value"]), i["source"]) for i in rows[11]["inputs"]} == {
        "gisw_utilized": (T("30"), "platform"), "gisw_generated": (T("40"), "platform"),
        "gisw_prior_stock_utilized": (T("0"), "default")}
    assert [(i["when"], i["year"], i["value"] and tonnes(i["value"]), i["source"]) for i in rows[20]["inputs"]] == [
        ("base", 2020, None, "missing"), ("year", y["year"], T("0"), "platform")]

    def per_unit(key):
        answer = banan.get(f"indicators/regions/{BANAN}/drilldown?year={y['year']}&key={key}")
        return sorted((r["name"], tonnes(r["value"])) for r in answer["records"] if tonnes(r["value"]))

    assert per_unit("ihw_generated") == [("重庆巴南精细化工有限公司", T("6.5"))]
    assert per_unit("hw_generated") == [("巴南区人民医院", T("0.5")), ("巴南区鱼洞街道社区卫生服务中心", T("0.05")),
                                        ("重庆巴南精细化工有限公司", T("6.5"))]
    assert per_unit("medical_institutions_covered") == [("巴南区人民医院", T("1"))]
    assert per_unit("gisw_utilized") == [("重庆巴南精细化工有限公司", T("30"))]


def test_the_reports_show_the_same_figures(indicator_year):
    """The workbook (a summary sheet of counts, one sheet per level-1 group), the HTML page and the PDF show the
    rows of the table above with their zh-hans status labels; the workbook's inputs name each quantity's year,
    value and source."""
    y = indicator_year
    banan, plan, year = y["banan"], y["plan"]["id"], y["year"]
    rows, counts = _sheets(banan, plan, year)
    assert counts == {LABELS[status]: count for status, count in COUNTS.items()}
    for number, (value, numerator, denominator, status, trend) in EXPECTED.items():
        cells = rows[number]
        assert (cells[9], cells[10], cells[11], cells[14], cells[15]) == (
            None if value is None else float(value), None if numerator is None else float(numerator),
            None if denominator is None else float(denominator), LABELS[status], TRENDS[trend]), number
    assert rows[2][1:9] == ("工业危险废物产生强度", "工业源头减量", "★", "t/万元", "0.014吨/万元", 0.014, "零增长或负增长",
                            2025)
    assert rows[2][12:14] == ("ihw_generated ÷ (industrial_value_added)",
                              f"ihw_generated({year})=6.500000 t [platform]; "
                              f"industrial_value_added({year})=500.00000000 万元 [entered]")
    assert rows[16][13] == (f"construction_utilized({year})=— m³ [missing]; "
                            f"construction_generated({year})=— m³ [missing]")

    page = banan.get(f"/indicators/plans/{plan}/report.html?year={year}").content.decode()
    shown = {}
    for block in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", block, re.S)]
        if cells and cells[0].isdigit():
            shown[int(cells[0])] = (cells[4], cells[7])
    assert {number: shown[number] for number in EXPECTED} == {
        number: (figures[0] or "—", LABELS[figures[3]]) for number, figures in EXPECTED.items()}

    pdf = banan.get(f"indicators/plans/{plan}/report.pdf?year={year}")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for value in ("0.080", "0.0130", "75.00", "92.50", "50.00"):
        assert value in text, value


def test_a_value_not_yet_approved_is_not_used(indicator_year):
    """The housing committee's submitted construction figures are on the platform (drill-down: submitted) but
    row 16 has no data; once the regulator approves them it reads 84.00 %, achieved, and the counts move."""
    y = indicator_year
    banan, year = y["banan"], y["year"]
    row = _rows(banan.get(y["evaluation"]))[16]
    assert [(i["key"], i["value"], i["source"]) for i in row["inputs"]] == [
        ("construction_utilized", None, "missing"), ("construction_generated", None, "missing")]
    entered = banan.get(f"indicators/regions/{BANAN}/drilldown?year={year}&key=construction_utilized")["records"]
    assert [(r["department"], tonnes(r["value"]), r["entered"], r["status"]) for r in entered] == [
        ("区住房城乡建委", T("210000"), "21 万m³", "submitted")]

    request = banan.get(f"indicators/requests/{y['requests']['housing']['id']}")
    banan.post(f"indicators/requests/{request['id']}/review", {"approve": True, "comment": "同意",
                                                               "version": request["version"]})
    evaluation = banan.get(y["evaluation"])
    assert _figures(_rows(evaluation)[16]) == ("84.00", T("210000"), T("250000"), "achieved", "improving")
    assert evaluation["counts"] == {**COUNTS, "achieved": 5, "no_data": 27}
    rows, _counts = _sheets(banan, y["plan"]["id"], year)
    assert (rows[16][9], rows[16][14]) == (84.0, LABELS["achieved"])


def test_industrial_hazardous_waste_utilization_counts_each_tonne_once(indicator_year):
    """Row 12 reads 2.0 ÷ 6.5 × 100 = 30.77 %, achieved (＞7.1 %): the 2 t of solvent the recycler regenerated count
    once, as the plant's manifest line, in the evaluation and in the workbook."""
    y = indicator_year
    row = _rows(y["banan"].get(y["evaluation"]))[12]
    assert _figures(row) == ("30.77", T("2"), T("6.5"), "achieved", "improving")
    rows, _counts = _sheets(y["banan"], y["plan"]["id"], y["year"])
    assert (rows[12][9], rows[12][10], rows[12][11], rows[12][14]) == (30.77, 2.0, 6.5, LABELS["achieved"])
