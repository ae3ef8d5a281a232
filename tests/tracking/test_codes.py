"""The HJ 1276-2022 digital identification code: format, parsing, sequence allocation."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from tests.conftest import BANAN
from tests.tracking import MEDICAL, OIL, SOLVENT, make_plant, record
from wufei.core import audit
from wufei.core.errors import RuleViolation, ValidationFailed
from wufei.core.models import Parameter
from wufei.core.scope import Scope
from wufei.tracking import codes, services
from wufei.tracking.models import CodeSequence, Container

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def plant(make_org, make_site, member_of):
    return make_plant(make_org, make_site, member_of)

SHANGHAI_DAY = dt.datetime(2025, 3, 10, 23, 30, tzinfo=dt.UTC)  # 2025-03-11 07:30 in Asia/Shanghai


def test_code_has_37_characters_in_four_segments(plant):
    [container] = record(plant, produced_at=SHANGHAI_DAY)
    code = container.code
    assert len(code) == 37 == codes.code_length()
    assert code == f"{plant['org'].uscc}90040206" "20250311" "001"
    parsed = codes.parse_code(code)
    assert parsed.unit_uscc == plant["org"].uscc
    assert parsed.waste_code == SOLVENT and parsed.category == "HW06"
    assert parsed.day == dt.date(2025, 3, 11)  # the local (Asia/Shanghai) date
    assert parsed.sequence == 1 and parsed.sequence_digits == 3
    assert [chars for _label, chars in parsed.segments()] == [plant["org"].uscc, "90040206", "20250311", "001"]


def test_build_and_parse_round_trip():
    code = codes.build_code(uscc="91500113MA0000001B", waste_code=MEDICAL, day=dt.date(2024, 12, 31), sequence=42,
                            digits=3)
    assert code == "91500113MA0000001B8410010120241231042"
    parsed = codes.parse_code(code.lower()[:20] + " " + code[20:])  # scanners and typists add case and spaces
    assert (parsed.code, parsed.waste_code, parsed.day, parsed.sequence) == (code, MEDICAL, dt.date(2024, 12, 31),
                                                                            42)


@pytest.mark.parametrize("bad", ["", "123", "91500113MA0000001B84100101202412310", "91500113MA0000001B841001012024"
                                 "1331042", "91500113MA0000001O8410010120241231042", "9150011 3MA0000001B8410X"])
def test_malformed_codes_are_refused(bad):
    with pytest.raises(ValidationFailed) as caught:
        codes.parse_code(bad)
    assert caught.value.code == "invalid_container_code"


def test_sequence_width_is_a_parameter(plant):
    Parameter.objects.create(key="tracking.code.sequence_digits", region_code=BANAN, value=5)
    [container] = record(plant)
    assert len(container.code) == 39
    assert codes.parse_code(container.code).sequence == 1


def test_numbers_are_per_unit_code_and_day(plant):
    day1 = record(plant, count=3, produced_at=SHANGHAI_DAY)
    other_code = record(plant, waste=OIL, produced_at=SHANGHAI_DAY)
    day2 = record(plant, produced_at=SHANGHAI_DAY + dt.timedelta(days=1))
    assert [codes.parse_code(c.code).sequence for c in day1 + other_code + day2] == [1, 2, 3, 1, 1]


def test_many_records_in_a_day_stay_unique(plant):
    made = []
    for _ in range(25):
        made += record(plant, count=8, produced_at=SHANGHAI_DAY)
    assert len({c.code for c in made}) == 200 == Container.objects.count()
    assert CodeSequence.objects.get(organization=plant["org"], waste_id=SOLVENT).last == 200


def test_a_full_day_is_refused_with_a_clear_message(plant):
    record(plant, count=990, produced_at=SHANGHAI_DAY)
    with pytest.raises(RuleViolation) as caught:
        record(plant, count=10, produced_at=SHANGHAI_DAY)
    assert caught.value.code == "code_sequence_exhausted"
    assert "990 of the 999" in caught.value.message and "2025-03-11" in caught.value.message
    assert Container.objects.count() == 990
    made = record(plant, count=9, produced_at=SHANGHAI_DAY)  # exactly up to 999
    assert codes.parse_code(made[-1].code).sequence == 999
    with pytest.raises(RuleViolation):
        record(plant, produced_at=SHANGHAI_DAY)
    record(plant, produced_at=SHANGHAI_DAY + dt.timedelta(days=1))  # the next day starts again


def test_unique_constraint_is_the_last_line_of_defence(plant):
    from django.db import IntegrityError, transaction

    [container] = record(plant)
    CodeSequence.objects.update(last=0)  # a broken sequence table hands out 001 again
    with pytest.raises(IntegrityError), transaction.atomic():
        record(plant, produced_at=container.produced_at)
    assert Container.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs a server database; SQLite serializes writers with IMMEDIATE transactions")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # restore the catalogs the flush removes
def test_concurrent_recorders_never_get_the_same_number(make_org, make_site):
    organization = make_org(roles=("generator",))
    scope = Scope(is_platform_admin=True)
    errors = []

    def work():
        try:
            for _ in range(10):
                services.record_batch(scope=scope, organization_id=organization.pk, waste_code=SOLVENT,
                                      waste_name="废溶剂", physical_form="liquid", packaging="drum",
                                      net_weight_tonnes="0.1", produced_at=SHANGHAI_DAY, count=3,
                                      steps=("produced", "packed", "weighed", "coded"))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    sequences = sorted(codes.parse_code(c).sequence for c in Container.objects.values_list("code", flat=True))
    assert sequences == list(range(1, 181))
    assert audit.verify_chain().ok
