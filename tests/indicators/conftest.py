import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from wufei.core.scope import Scope, scope_for
from wufei.indicators import services
from wufei.ledgers.models import LedgerMonth, SolidWasteMonth
from wufei.manifests.models import Manifest, ManifestLine

ADMIN = Scope(is_platform_admin=True)


@pytest.fixture
def shipped(db):
    return {plan.key: plan for plan in services.load_shipped(scope=ADMIN)}


@pytest.fixture
def approve(regulator_of, department_user):
    """Enter quantities through a data request to a department and the regulator's approval."""

    def run(region, year, values: dict, *, department="区统计局"):
        regulator = scope_for(regulator_of(region))
        user = department_user(region, name=f"{department}{year}{len(values)}{sorted(values)[0]}")
        department_id = user.department_roles.get().department_id
        request = services.create_request(scope=regulator, region_code=region, department_id=department_id,
                                          year=year, keys=list(values), due_date=dt.date(year + 1, 3, 31))
        clerk = scope_for(user)
        for key, entry in values.items():
            if isinstance(entry, tuple):
                services.enter_value(scope=clerk, request_id=request.pk, key=key, value=entry[0], unit=entry[1],
                                     evidence="统计年鉴")
            else:
                services.enter_value(scope=clerk, request_id=request.pk, key=key, state=entry, evidence="文件")
        services.submit_request(scope=clerk, request_id=request.pk)
        return services.review_request(scope=regulator, request_id=request.pk, approve=True)

    return run


# --- every stream side by side --------------------------------------------------------------------------

def split(total) -> list[Decimal]:
    """Twelve monthly amounts to the 0.000001 t adding up exactly to the total."""
    total = Decimal(total)
    month = (total / 12).quantize(Decimal("0.000001"))
    return [month] * 11 + [total - 11 * month]


def e_ledger(org, year, generated, utilized, disposed="0", code="SW01"):
    """Twelve balanced monthly e-ledger months (one code) summing to the given tonnes; the year-end stock is
    generated − utilized − disposed."""
    columns = zip(*(split(v) for v in (generated, utilized, disposed)), strict=True)
    closing = Decimal(0)
    for month, (g, u, d) in enumerate(columns, 1):
        opening, closing = closing, closing + g - u - d
        SolidWasteMonth.objects.create(organization=org, code=code, year=year, month=month, opening_stock=opening,
                                       generated=g, self_utilized=u, self_disposed=d, closing_stock=closing)


@dataclass
class Industrial:
    """The industrial hazardous waste of the fixture's factory (t): what the ihw_* quantities must read."""

    generated: str = "1000"
    opening: str = "40"
    self_utilized: str = "50"
    self_disposed: str = "25"
    utilized: str = "100"  # manifest line, R4
    incinerated: str = "200"  # manifest line, D10
    landfilled: str = "300"  # manifest line, D1


# The plans' 2020 figures (golden tests)
# Banan 2020 (B §4.3): industrial HW generated 3.10万t, prior-year stock 0.30万t, utilised 7.10 % (the plan also
# says "about 0.21万t"; 7.10 % of 3.10万t is 2,200 t: 50 t in-house + 2,150 t by a licensed operator); the
# rest here: 25 t disposed in-house, 5,000 t incinerated, 9,000 t landfilled (not in the plan).
BANAN_HW = Industrial(generated="31000", opening="3000", self_utilized="50", self_disposed="25", utilized="2150",
                      incinerated="5000", landfilled="9000")
BANAN_GISW = ("708900", "433800", "275100")  # 70.89万t generated, 43.38万t utilised, 27.51万t disposed
# Kaizhou 2020 (K §4.3): 7,193.58 t declared = 612.71 t prior-year stock + 6,580.87 t generated
# harmless disposal 100 %: 6,904.28 t landfilled (K indicator 22's baseline), 289.30 t utilised
KAIZHOU_HW = Industrial(generated="6580.87", opening="612.71", self_utilized="0", self_disposed="0", utilized="289.3",
                        incinerated="0", landfilled="6904.28")
KAIZHOU_GISW = ("830300", "780600", "42400")  # 7,300 t stay in stock


# What the fixture adds around the factory's industrial hazardous waste, in every year it is built (t). None
# of it is industrial hazardous waste; all of it but the GISW manifest is hazardous waste (hw_*):
#   ledger generated 384.143 = factory's clinic HW01 70 + auto repair (GB/T 4754 8111) 120
#                              + hospital HW01 186.643 + hospital lab waste (HW49) 5 + clinic HW49 0.5
#                              + health centre HW01 2
#   ledger January opening stock 3 = auto repair 2 + hospital 1
#   ledger self-utilized 4 (auto repair); self-disposed 4 = factory's HW01 3 + hospital 1
#   manifest lines utilized 15 (auto repair R9)
#   manifest lines disposed 194.5 = factory's HW01 line D1 6 (on a hazardous manifest) + auto repair D1 2
#                                   + hospital medical manifest Y10 180 + hospital HW49 D10 4
#                                   + clinic HW49 D10 0.5 + health centre HW01 Y10 2 (on a hazardous manifest)
#   of which landfilled (D1) 8 = 6 + 2
#   a GISW manifest (kind general) of the factory, SW01 to landfill 800: in no quantity
#   medical institutions 3 (hospital, clinic, health centre); with a received manifest carrying medical waste
#   2: the hospital (medical waste manifest) and the health centre (HW01 line on a hazardous manifest);
#   the clinic shipped only lab waste (HW49)
SIDE = {"generated": Decimal("384.143"), "opening": Decimal(3), "self_utilized": Decimal(4),
        "self_disposed": Decimal(4), "line_utilized": Decimal(15), "line_disposed": Decimal("194.5"),
        "landfilled": Decimal(8)}


@pytest.fixture
def streams(make_org):
    """Industrial hazardous waste, medical waste, social-source hazardous waste and general industrial solid
    waste of one region and year side by side — ledger months, e-ledger months and received manifest lines
    for each — so that a formula reading the wrong stream gets a different figure (see SIDE)."""

    def build(region, year, industrial: Industrial | None = None, gisw=None) -> dict:
        industrial = industrial or Industrial()
        factory = make_org(region=region, industry_code="3974", industry_name="显示器件制造")
        repair = make_org(region=region, industry_code="8111", industry_name="汽车修理与维护")
        hospital = make_org(region=region, roles=("generator", "medical_institution"), industry_code="8411")
        clinic = make_org(region=region, roles=("generator", "medical_institution"), industry_code="8425")
        centre = make_org(region=region, roles=("generator", "medical_institution"), industry_code="8423")
        receiver = make_org(region=region, roles=("receiver",), industry_code="7724")
        ledger = LedgerMonth.objects.create
        for month, generated in enumerate(split(industrial.generated), 1):
            ledger(organization=factory, waste_id="900-041-49", year=year, month=month, generated=generated,
                   opening_stock=Decimal(industrial.opening) if month == 1 else 0,
                   self_utilized=Decimal(industrial.self_utilized) if month == 6 else 0,
                   self_disposed=Decimal(industrial.self_disposed) if month == 6 else 0)
        ledger(organization=factory, waste_id="841-001-01", year=year, month=6, generated=70, self_disposed=3)
        ledger(organization=repair, waste_id="900-214-08", year=year, month=1, opening_stock=2)
        ledger(organization=repair, waste_id="900-214-08", year=year, month=6, generated=120, self_utilized=4)
        ledger(organization=hospital, waste_id="841-001-01", year=year, month=6, generated=Decimal("186.643"))
        ledger(organization=hospital, waste_id="900-047-49", year=year, month=1, opening_stock=1)
        ledger(organization=hospital, waste_id="900-047-49", year=year, month=6, generated=5, self_disposed=1)
        ledger(organization=clinic, waste_id="900-047-49", year=year, month=6, generated=Decimal("0.5"))
        ledger(organization=centre, waste_id="841-001-01", year=year, month=6, generated=2)
        received = timezone.make_aware(dt.datetime(year, 6, 15, 12))

        def manifest(kind, generator, lines):
            made = Manifest.objects.create(kind=kind, generator=generator, receiver=receiver, status="received",
                                           received_at=received)
            for position, (code, tonnes, method) in enumerate(lines, 1):
                general = not code[0].isdigit()
                ManifestLine.objects.create(manifest=made, position=position, waste_id=None if general else code,
                                            general_code=code if general else "", waste_name=code,
                                            shipped_tonnes=Decimal(tonnes), accepted_tonnes=Decimal(tonnes),
                                            method_id=method, planned_method_id=method)
            return made

        manifest("hazardous", factory, [("900-041-49", industrial.utilized, "R4"),
                                        ("900-041-49", industrial.incinerated, "D10"),
                                        ("900-041-49", industrial.landfilled, "D1"), ("841-001-01", "6", "D1")])
        manifest("hazardous", repair, [("900-214-08", "15", "R9"), ("900-214-08", "2", "D1")])
        manifest("medical", hospital, [("841-001-01", "180", "Y10")])
        manifest("hazardous", hospital, [("900-047-49", "4", "D10")])
        manifest("hazardous", clinic, [("900-047-49", "0.5", "D10")])
        manifest("hazardous", centre, [("841-001-01", "2", "Y10")])
        manifest("general", factory, [("SW01", "800", "D1")])
        if gisw is not None:
            e_ledger(factory, year, *gisw)
        return {"factory": factory, "repair": repair, "hospital": hospital, "clinic": clinic, "centre": centre,
                "receiver": receiver}

    return build
