"""The supervision class reads what a unit records, not only what it declared (issue 13, defect 5).

HJ 1259-2022 classes by annual hazardous waste generation. The tonnes used are the largest of the
declared figure (annual_hazardous_waste_tonnes) and the two recorded ones: the 'produced' weight of
the unit's containers in the last full calendar year and in the running twelve months (Asia/Shanghai).
Thresholds, from wufei/core/parameters.py (Banan has no override in these tests):
simplified management from 10 t, key supervision from 100 t.

The stories are driven as users act: the generator records containers through /api/v1/containers and
reads its file through /api/v1/organizations/{id} and the 一企一档 page.
"""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import BANAN, uscc_for
from tests.tracking import MEDICAL, SOLVENT, make_plant, record
from wufei.core import audit
from wufei.registry.models import Organization
from wufei.tracking import services as tracking

pytestmark = pytest.mark.django_db


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body, default=str), content_type="application/json", **headers)


def start_of_today() -> dt.datetime:
    """Local midnight: inside the running twelve months and never in the last full year, whatever the day."""
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def new_year_of_last_year() -> dt.datetime:
    """Noon on 1 January of last year: in the last full year, never in the running twelve months (which start
    at the earliest on 2 January of last year, when today is 1 January)."""
    return dt.datetime(timezone.localdate().year - 1, 1, 1, 12, tzinfo=timezone.get_current_timezone())


def batch(plant, *, count, weight, waste=SOLVENT, produced_at=None, **extra):
    body = {"organization_id": plant["org"].pk, "waste_code": waste, "waste_name": "废清洗溶剂",
            "physical_form": "liquid", "packaging": "drum", "net_weight_tonnes": weight, "count": count,
            "site_id": plant["workshop"].pk, "storage_site_id": plant["store"].pk,
            "produced_at": produced_at or start_of_today()}
    body.update(extra)
    return body


def record_through_api(client, plant, **fields):
    response = post(client, "/api/v1/containers", batch(plant, **fields))
    assert response.status_code == 201, response.content
    return response.json()


def organization_json(client, org, language="en") -> dict:
    response = client.get(f"/api/v1/organizations/{org.pk}", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content
    return response.json()["organization"]


def page_figures(client, org, language="en") -> dict[str, str]:
    response = client.get(reverse("registry:organization_detail", args=[org.pk]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    page = response.content.decode()
    return dict(re.findall(r'<dd data-testid="(supervision-basis|declared-tonnes|recorded-[a-z0-9-]+)">([^<]*)</dd>',
                           page))


@pytest.fixture
def plant(make_org, make_site, member_of):
    return make_plant(make_org, make_site, member_of)


@pytest.fixture
def api(plant, client_for):
    return client_for(plant["admin"])


def test_a_generator_that_declared_nothing_is_classed_by_what_it_records(plant, api):
    """Declared 0 t. Today it records 49 drums × 0.2 t of waste solvent = 9.8 t.

    max(declared 0, last year 0, twelve months 9.8) = 9.8 t < 10 t → registration management, and the
    basis says 9.8 t and the declared 0 t (before: "generates 0 t/a", or nothing at all).
    Then 2 bags × 0.2 t of infectious medical waste (HW01 is hazardous waste too): 9.8 + 0.4 = 10.2 t,
    at least 10 t and below 100 t → simplified management.
    """
    last_year = timezone.localdate().year - 1
    record_through_api(api, plant, count=49, weight="0.2")

    org = organization_json(api, plant["org"])
    assert org["supervision_basis"] == (
        f"generates 9.8 t/a (as recorded in the last 12 months; declared 0 t, recorded 0 t in {last_year} and "
        "9.8 t in the last 12 months), below 10 t")
    assert organization_json(api, plant["org"], "zh-hans")["supervision_basis"] == (
        f"年产生量 9.8 吨（按近12个月记录；申报 0 吨，{last_year} 年记录 0 吨，近12个月记录 9.8 吨），低于 10 吨")
    assert org["supervision_class"] == org["computed_supervision_class"] == "registered"
    assert org["annual_hazardous_waste_tonnes"] == "0.000000"
    assert org["recorded_hw_tonnes_12_months"] == "9.800000"
    assert org["recorded_hw_tonnes_last_year"] == "0.000000"
    assert org["recorded_hw_year"] == last_year
    assert org["recorded_hw_as_of"] == timezone.localdate().isoformat()

    record_through_api(api, plant, count=2, weight="0.2", waste=MEDICAL, waste_name="感染性废物",
                       physical_form="solid", packaging="bag")
    org = organization_json(api, plant["org"])
    assert org["recorded_hw_tonnes_12_months"] == "10.200000"
    assert org["supervision_class"] == "simplified"
    assert org["supervision_basis"].endswith("at least 10 t and below 100 t")

    # the 一企一档 page shows both the declared and the recorded figures, in tonnes with three decimals
    figures = page_figures(api, plant["org"])
    assert figures["declared-tonnes"] == "0.000"
    assert figures["recorded-last-year"] == "0.000"
    assert figures["recorded-12-months"] == "10.200"
    assert "10.2 t in the last 12 months" in figures["supervision-basis"]
    page = api.get(reverse("registry:organization_detail", args=[plant["org"].pk]),
                   HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Recorded in containers in {last_year} (t)" in page
    assert f"Recorded in containers in the 12 months to {timezone.localdate():%Y-%m-%d} (t)" in page
    assert audit.verify_chain().ok


def test_the_last_full_year_decides_when_it_is_the_largest(make_org, make_site, member_of, client_for,
                                                           regulator_of):
    """The regulator registers a unit declaring 5 t. It records 100 drums × 1.2 t = 120 t on 1 January of last
    year, and 3 drums × 2 t = 6 t today.

    Last full year 120 t; running twelve months 6 t (1 January of last year is never inside them).
    max(5, 120, 6) = 120 t ≥ 100 t → key supervision, decided by last year's records.
    """
    regulator = client_for(regulator_of(BANAN))
    created = post(regulator, "/api/v1/organizations", {
        "uscc": uscc_for(BANAN), "name": "巴南电镀有限公司", "region": BANAN, "roles": ["generator"],
        "annual_hazardous_waste_tonnes": "5"}, HTTP_ACCEPT_LANGUAGE="en")
    assert created.status_code == 201, created.content
    last_year = timezone.localdate().year - 1
    # a new unit has recorded nothing: its figures are counted (zero) from the start
    assert created.json()["supervision_basis"] == (
        f"generates 5 t/a (as declared; declared 5 t, recorded 0 t in {last_year} and 0 t in the last 12 months), "
        "below 10 t")
    org = Organization.objects.get(pk=created.json()["id"])
    plant = {"org": org, "workshop": make_site(org, kind="production"), "store": make_site(org, kind="storage")}
    api = client_for(member_of(org))

    record_through_api(api, plant, count=100, weight="1.2", produced_at=new_year_of_last_year())
    record_through_api(api, plant, count=3, weight="2")

    body = organization_json(api, org)
    assert (body["annual_hazardous_waste_tonnes"], body["recorded_hw_tonnes_last_year"],
            body["recorded_hw_tonnes_12_months"]) == ("5.000000", "120.000000", "6.000000")
    assert body["supervision_class"] == "key"
    assert body["supervision_basis"] == (
        f"generates 120 t/a (as recorded in {last_year}; declared 5 t, recorded 120 t in {last_year} and 6 t in "
        "the last 12 months), at least 100 t")
    assert Organization.objects.get(pk=org.pk).supervision_basis["decided_by"] == "recorded_last_year"
    # the class change is in the unit's history, with its figures
    link = audit.history(org).filter(action="supervision_class_computed").last()
    assert link.payload["changes"]["supervision_class"] == ["registered", "key"]
    assert figures_of(org) == (Decimal(5), Decimal(120), Decimal(6))


def figures_of(org) -> tuple[Decimal, Decimal, Decimal]:
    org = Organization.objects.get(pk=org.pk)
    return org.annual_hazardous_waste_tonnes, org.recorded_hw_tonnes_last_year, org.recorded_hw_tonnes_12_months


def test_a_container_weighed_after_it_was_recorded_counts_once_weighed(plant, api):
    """A drum recorded as produced only has no weight yet (0 t); weighed at 10.5 t it makes the unit
    simplified (10.5 t ≥ 10 t)."""
    [container] = record_through_api(api, plant, count=1, weight=None, steps=["produced"], storage_site_id=None)
    assert organization_json(api, plant["org"])["recorded_hw_tonnes_12_months"] == "0.000000"
    response = post(api, f"/api/v1/containers/{container['code']}/steps",
                    {"step": "weighed", "net_weight_tonnes": "10.5"})
    assert response.status_code == 201, response.content
    org = organization_json(api, plant["org"])
    assert org["recorded_hw_tonnes_12_months"] == "10.500000" and org["supervision_class"] == "simplified"


def test_repackaging_is_not_generation(plant, api):
    """Merging two 6 t drums into one package generates nothing: the unit stays at 12 t."""
    codes = [c["code"] for c in record_through_api(api, plant, count=2, weight="6")]
    response = post(api, "/api/v1/containers/merge", {"codes": codes, "packaging": "ibc",
                                                      "storage_site_id": plant["store"].pk})
    assert response.status_code == 201, response.content
    record_through_api(api, plant, count=1, weight="0.001")  # any later batch counts everything again
    assert organization_json(api, plant["org"])["recorded_hw_tonnes_12_months"] == "12.001000"


def test_the_regulator_override_and_the_permit_rule_keep_precedence(plant, api, client_for, regulator_of,
                                                                    make_org, make_site, member_of, make_permit):
    """An override stays the effective class while the computed one follows the records (10.2 t → simplified);
    a permit holder stays key by its permit whatever it records (0.2 t)."""
    regulator = client_for(regulator_of(BANAN))
    overridden = post(regulator, f"/api/v1/organizations/{plant['org'].pk}/supervision-class",
                      {"version": plant["org"].version, "supervision_class": "key", "reason": "重点排污单位名录"})
    assert overridden.status_code == 200, overridden.content
    record_through_api(api, plant, count=51, weight="0.2")
    org = organization_json(api, plant["org"])
    assert (org["supervision_class"], org["computed_supervision_class"]) == ("key", "simplified")

    operator = make_org("巴南危废处置有限公司", roles=("generator", "receiver"))
    make_permit(operator)
    operator_plant = {"org": operator, "admin": member_of(operator),
                      "workshop": make_site(operator, kind="production"), "store": make_site(operator)}
    record_through_api(client_for(operator_plant["admin"]), operator_plant, count=1, weight="0.2")
    org = organization_json(regulator, operator)
    assert org["supervision_class"] == "key" and org["recorded_hw_tonnes_12_months"] == "0.200000"
    assert org["supervision_basis"] == "holds a hazardous waste operating permit"


def test_the_daily_refresh_gives_what_each_batch_gave_and_moves_with_the_calendar(plant, api, make_org,
                                                                                    make_site, member_of):
    """The command counts every unit again: on the day of the batches it changes nothing.

    Plant: 51 drums × 0.2 t = 10.2 t today → simplified. Seen from 31 December next year the batches are in
    the last full year (10.2 t, still simplified); from 1 January the year after, in neither period
    (0 t, declared 0 t → registered), and the class change is written to the audit chain as the system's.
    """
    record_through_api(api, plant, count=51, weight="0.2")
    small = make_plant(make_org, make_site, member_of)
    record(small, count=3, weight="1", produced_at=start_of_today())  # 3 t → registered
    idle = make_org("巴南无危废单位")  # never counted before: it gets its (zero) figures
    per_batch = {o.pk: snapshot(o) for o in (plant["org"], small["org"])}

    call_command("supervision", "refresh", stdout=(out := _Out()))
    assert "3 organizations counted, 1 with new figures, 0 reclassified" in out.text
    assert {pk: snapshot(Organization(pk=pk)) for pk in per_batch} == per_batch
    assert Organization.objects.get(pk=idle.pk).recorded_hw_as_of == timezone.localdate()

    year = timezone.localdate().year
    call_command("supervision", "refresh", "--date", f"{year + 1}-12-31", stdout=_Out())
    org = Organization.objects.get(pk=plant["org"].pk)
    assert (org.recorded_hw_tonnes_last_year, org.recorded_hw_tonnes_12_months) == (Decimal("10.2"), 0)
    assert org.supervision_class == "simplified" and org.supervision_basis["decided_by"] == "recorded_last_year"
    assert org.version == per_batch[org.pk]["version"]  # new figures, same class: no new version

    call_command("supervision", "refresh", "--date", f"{year + 2}-01-01", stdout=(out := _Out()))
    assert "1 reclassified" in out.text
    org = Organization.objects.get(pk=plant["org"].pk)
    assert (org.recorded_hw_tonnes_last_year, org.recorded_hw_tonnes_12_months) == (0, 0)
    assert org.supervision_class == "registered" and org.version == per_batch[org.pk]["version"] + 1
    link = audit.history(org).last()
    assert link.action == "supervision_class_computed" and link.actor_label == "system"
    assert link.payload["changes"]["supervision_class"] == ["simplified", "registered"]
    assert audit.verify_chain().ok


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, text, *args, **kwargs):
        self.text += text

    def flush(self):
        pass


def snapshot(org) -> dict:
    org = Organization.objects.get(pk=org.pk)
    return {"class": org.supervision_class, "basis": org.supervision_basis, "version": org.version,
            "figures": (org.recorded_hw_tonnes_last_year, org.recorded_hw_tonnes_12_months),
            "as_of": org.recorded_hw_as_of}


def test_the_refresh_reads_many_units_with_as_many_queries_as_few(make_org, make_site, member_of):
    """Bulk: the number of queries does not grow with the number of units (no query per unit).

    Each group has units of the same three kinds: 10.2 t recorded today (simplified), 3 t (registered) and
    nothing, never counted. Counted as of 1 January the year after next, every recorded figure drops to 0: the
    first kind is reclassified, the second gets new figures, the third its figures for the first time.
    """
    def group(size):
        ids = []
        for _n in range(size):
            for tonnes in ("10.2", "3"):
                unit = make_plant(make_org, make_site, member_of)
                record(unit, count=1, weight=tonnes, produced_at=start_of_today())
                ids.append(unit["org"].pk)
            ids.append(make_org().pk)
        return ids

    few, many = group(1), group(4)
    later = dt.date(timezone.localdate().year + 2, 1, 1)
    counted = {}
    for name, ids in (("few", few), ("many", many)):
        with CaptureQueriesContext(connection) as queries:
            counts = tracking.refresh_recorded_generation(ids, today=later)
        counted[name] = len(queries)
        assert counts == {"organizations": len(ids), "changed": len(ids), "reclassified": len(ids) // 3}
    assert counted["few"] == counted["many"] <= 20
