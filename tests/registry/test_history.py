"""The registry remembers: a past year is evaluated with the units as the registry stood at its end.

The story (Banan and Kaizhou, in Chongqing), all medical institutions, written through the registry's services:
  * 东方医院 registered 2020-01-01, stays in Banan;
  * 南岸诊所 registered 2020-01-01 in Banan, closed on 2024-07-01 (mid-2024);
  * 西城卫生院 registered 2020-01-01 in Banan, moved to Kaizhou on 2025-05-01;
  * 北新医院 registered 2025-03-01 in Banan.
A unit counts for year Y when it is active on 31 December of Y (registry.selectors), in the region it was in then:

            2023                 2024                 2025
  Banan     东方, 南岸, 西城 = 3  东方, 西城 = 2        东方, 北新 = 2
  Kaizhou   0                    0                    西城 = 1
  Chongqing 3                    2                    3
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import BANAN, CHONGQING, KAIZHOU, uscc_for
from wufei.catalog.models import Region
from wufei.core.scope import Scope, scope_for
from wufei.indicators import quantities
from wufei.manifests.models import Manifest, ManifestLine
from wufei.registry import changes, selectors, services
from wufei.registry.models import Organization

ADMIN = Scope(is_platform_admin=True)
YEARS = [2023, 2024, 2025]


def path(code):
    return Region.objects.get(pk=code).path


def register(name, registered_on, region=BANAN, roles=("generator", "medical_institution")):
    return services.create_organization(scope=ADMIN, data={
        "uscc": uscc_for(region), "name": name, "region": region, "roles": list(roles),
        "registered_on": registered_on})


def periods(organization):
    return [(s.valid_from, s.valid_to, s.status, s.region_id, s.is_medical_institution)
            for s in organization.states.order_by("valid_from")]


@pytest.fixture
def story(db):
    east = register("东方医院", dt.date(2020, 1, 1))
    south = register("南岸诊所", dt.date(2020, 1, 1))
    west = register("西城卫生院", dt.date(2020, 1, 1))
    north = register("北新医院", dt.date(2025, 3, 1))
    services.close_organization(scope=ADMIN, organization_id=south.pk, reason="停业", closed_on=dt.date(2024, 7, 1),
                                version=south.version)
    west = services.update_organization(scope=ADMIN, organization_id=west.pk, data={"region": KAIZHOU},
                                        version=west.version, effective_on=dt.date(2025, 5, 1))
    return {"east": east, "south": Organization.objects.get(pk=south.pk), "west": west, "north": north}


def test_each_change_is_a_dated_period(story):
    assert periods(story["east"]) == [(dt.date(2020, 1, 1), None, "active", BANAN, True)]
    assert periods(story["south"]) == [(dt.date(2020, 1, 1), dt.date(2024, 7, 1), "active", BANAN, True),
                                       (dt.date(2024, 7, 1), None, "closed", BANAN, True)]
    assert periods(story["west"]) == [(dt.date(2020, 1, 1), dt.date(2025, 5, 1), "active", BANAN, True),
                                      (dt.date(2025, 5, 1), None, "active", KAIZHOU, True)]
    assert periods(story["north"]) == [(dt.date(2025, 3, 1), None, "active", BANAN, True)]


def test_registry_counts_of_past_years(story):
    expected = {BANAN: [3, 2, 2], KAIZHOU: [0, 0, 1], CHONGQING: [3, 2, 3]}
    for region, counts in expected.items():
        values = quantities.platform_values_years(path(region), YEARS, ["medical_institutions", "generators"])
        assert [values[y]["medical_institutions"] for y in YEARS] == [Decimal(n) for n in counts], region
        assert [values[y]["generators"] for y in YEARS] == [Decimal(n) for n in counts], region
    # today's registry (the year under way): 东方 and 北新 in Banan, 西城 in Kaizhou
    this_year = timezone.localdate().year
    assert quantities.platform_values(path(BANAN), this_year, ["medical_institutions"]) == {
        "medical_institutions": Decimal(2)}


def test_the_records_behind_a_count_are_the_units_counted(story):
    def names(region, year):
        return [row["name"] for row in quantities.platform_records("medical_institutions", path(region), year)]

    assert sorted(names(BANAN, 2023)) == sorted(["东方医院", "南岸诊所", "西城卫生院"])
    assert sorted(names(BANAN, 2024)) == sorted(["东方医院", "西城卫生院"])
    assert sorted(names(BANAN, 2025)) == sorted(["东方医院", "北新医院"])
    assert names(KAIZHOU, 2024) == [] and names(KAIZHOU, 2025) == ["西城卫生院"]
    assert set(selectors.counted_units(2024, path(CHONGQING), flag="is_medical_institution")) == {
        story["east"], story["west"]}


def _medical_manifest(generator, receiver, received: dt.date):
    made = Manifest.objects.create(kind="medical", generator=generator, receiver=receiver, status="received",
                                   received_at=timezone.make_aware(dt.datetime(received.year, received.month,
                                                                               received.day, 12)))
    ManifestLine.objects.create(manifest=made, position=1, waste_id="841-001-01", waste_name="感染性废物",
                                shipped_tonnes=Decimal(1), accepted_tonnes=Decimal(1))


def test_medical_waste_coverage_counts_among_the_units_of_the_year(story):
    plant = register("医废处置中心", dt.date(2020, 1, 1), roles=("receiver",))
    _medical_manifest(story["south"], plant, dt.date(2024, 3, 10))  # closed in July: counted in no 2024 figure
    _medical_manifest(story["west"], plant, dt.date(2024, 9, 1))  # in Banan then
    _medical_manifest(story["west"], plant, dt.date(2025, 2, 1))  # still in Banan, in Kaizhou at the year's end
    _medical_manifest(story["east"], plant, dt.date(2025, 8, 1))

    def coverage(region, year):
        values = quantities.platform_values(path(region), year, ["medical_institutions_covered",
                                                                 "medical_institutions"])
        return values["medical_institutions_covered"], values["medical_institutions"]

    assert coverage(BANAN, 2024) == (Decimal(1), Decimal(2))  # 西城 of 东方, 西城
    assert coverage(BANAN, 2025) == (Decimal(1), Decimal(2))  # 东方 of 东方, 北新
    assert coverage(KAIZHOU, 2025) == (Decimal(1), Decimal(1))  # 西城
    rows = quantities.platform_records("medical_institutions_covered", path(KAIZHOU), 2025)
    assert [(r["name"], r["value"]) for r in rows] == [("西城卫生院", Decimal(1))]


def test_a_closing_recorded_late_and_a_later_role_change(db):
    unit = register("后补停业单位", dt.date(2020, 1, 1), roles=("generator",))
    unit = services.update_organization(scope=ADMIN, organization_id=unit.pk,
                                        data={"roles": ["generator", "medical_institution"]}, version=unit.version,
                                        effective_on=dt.date(2023, 1, 1))
    services.close_organization(scope=ADMIN, organization_id=unit.pk, reason="停业（补录）",
                                closed_on=dt.date(2022, 6, 30), version=unit.version)
    # closed from 2022-06-30 on, the role added in 2023 kept in the closed period
    assert periods(unit) == [(dt.date(2020, 1, 1), dt.date(2022, 6, 30), "active", BANAN, False),
                             (dt.date(2022, 6, 30), dt.date(2023, 1, 1), "closed", BANAN, False),
                             (dt.date(2023, 1, 1), None, "closed", BANAN, True)]
    assert not selectors.counted_units(2023, path(BANAN)).filter(pk=unit.pk).exists()
    assert selectors.counted_units(2021, path(BANAN)).filter(pk=unit.pk).exists()


def test_moving_the_registration_day_moves_the_start_of_the_history(db):
    unit = register("登记日更正单位", dt.date(2022, 5, 1))
    services.update_organization(scope=ADMIN, organization_id=unit.pk, data={"registered_on": "2019-03-01"},
                                 version=unit.version)
    assert periods(unit) == [(dt.date(2019, 3, 1), None, "active", BANAN, True)]
    assert selectors.counted_units(2020, path(BANAN)).filter(pk=unit.pk).exists()


def test_the_unit_cannot_move_its_own_registration_day(db, member_of):
    from wufei.core.errors import PermissionDenied

    unit = register("自改登记日单位", dt.date(2022, 5, 1))
    clerk = scope_for(member_of(unit, "admin"))
    with pytest.raises(PermissionDenied):
        services.update_organization(scope=clerk, organization_id=unit.pk, data={"registered_on": "2010-01-01"},
                                     version=unit.version)
    assert periods(Organization.objects.get(pk=unit.pk))[0][0] == dt.date(2022, 5, 1)


def test_an_approved_region_change_and_a_direct_save_both_write_history(db, member_of, regulator_of):
    unit = register("迁址单位", dt.date(2020, 1, 1))
    clerk = scope_for(member_of(unit, "admin"))
    request = changes.file_request(scope=clerk, organization_id=unit.pk, field="region", value=KAIZHOU,
                                   reason="迁至开州")
    changes.approve(scope=scope_for(regulator_of(CHONGQING)), request_id=request.pk, version=request.version)
    today = timezone.localdate()
    assert periods(unit) == [(dt.date(2020, 1, 1), today, "active", BANAN, True),
                             (today, None, "active", KAIZHOU, True)]
    # a save that does not go through the services (the admin's form) keeps the history too
    unit = Organization.objects.get(pk=unit.pk)
    unit.is_medical_institution = False
    unit.save()
    assert periods(unit)[-1] == (today, None, "active", KAIZHOU, False)
    assert len(periods(unit)) == 2
