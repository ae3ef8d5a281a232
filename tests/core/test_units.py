"""Quantities carry their unit: they add only in the same unit, and become tonnes only by a mass's fixed factor or
a documented factor that is a parameter."""

from decimal import Decimal

import pytest

from tests.conftest import BANAN
from wufei.core import parameters, units
from wufei.core.errors import RuleViolation, ValidationFailed
from wufei.core.models import Parameter
from wufei.core.units import Quantity, Unit, UnitMismatch


def test_quantities_add_in_one_unit_and_refuse_to_mix(english):
    assert Quantity(Decimal("1.5")) + Quantity(Decimal("2.25")) == Quantity(Decimal("3.75"), Unit.TONNE)
    assert units.total([Quantity(Decimal(4), "m3"), Quantity(Decimal("0.5"), "m3")]) == Quantity(Decimal("4.5"), "m3")
    assert units.total([], "head") == Quantity(Decimal(0), "head")
    with pytest.raises(UnitMismatch) as excinfo:
        units.total([Quantity(Decimal(1), "t"), Quantity(Decimal(2), "m3")])
    assert excinfo.value.code == "unit_mismatch" and "1 t" in excinfo.value.message
    with pytest.raises(UnitMismatch):
        Quantity(Decimal(3), "head") - Quantity(Decimal(1), "pieces")
    with pytest.raises(ValidationFailed):
        Quantity(Decimal(1), "litre")
    assert str(Quantity(Decimal("2.500"), "m3")) == "2.5 m³"


@pytest.mark.django_db
def test_tonnes_by_a_fixed_mass_factor_or_a_parameter_only():
    assert units.to_tonnes(Quantity(Decimal(1250), "kg")) == Decimal("1.25")
    assert units.to_tonnes(Quantity(Decimal(3), "t")) == Decimal(3)
    with pytest.raises(RuleViolation) as excinfo:
        units.to_tonnes(Quantity(Decimal(10), "m3"))  # no density: no guess
    assert excinfo.value.code == "unit_conversion_missing"
    key = "test.density_t_per_m3"
    parameters.DEFAULTS[key] = parameters.ParameterDefault("1.6", "a density (t/m³)", "test")
    try:
        assert units.to_tonnes(Quantity(Decimal(10), "m3"), factor=parameters.get_decimal(key)) == Decimal(16)
        Parameter.objects.create(key=key, region_code="500113", value="1.4")  # Banan's own figure
        density = parameters.get_decimal(key, BANAN)
        assert units.to_tonnes(Quantity(Decimal(10), "m3"), factor=density) == Decimal(14)
    finally:
        parameters.DEFAULTS.pop(key)
