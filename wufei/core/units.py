"""Units of measure of waste quantities, and quantities that carry their unit.

Figures are Decimal tonnes where a stream is weighed (hazardous, medical, general industrial). Other streams
are measured otherwise: construction waste in m³, livestock in head, some recyclables in pieces. A quantity
keeps its unit from the edge (a typed manifest line, a ledger row) to the figures; two quantities add only in
the same unit (`Quantity + Quantity` in different units raises `UnitMismatch`), and a quantity becomes tonnes
only through a documented factor that is a parameter (`core.parameters`: e.g. a density in t/m³), never by
guessing.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wufei.core.errors import RuleViolation, ValidationFailed


class Unit(models.TextChoices):
    TONNE = "t", gettext_lazy("t")
    KILOGRAM = "kg", gettext_lazy("kg")
    CUBIC_METRE = "m3", gettext_lazy("m³")
    HEAD = "head", gettext_lazy("head")
    PIECE = "pieces", gettext_lazy("pieces")


# units that are a mass: they convert to tonnes by a fixed factor, no parameter needed
MASS_FACTORS = {Unit.TONNE: Decimal(1), Unit.KILOGRAM: Decimal("0.001")}


class UnitMismatch(ValidationFailed):
    """Two quantities in different units were to be added or compared."""

    code = "unit_mismatch"


def label(unit: str) -> str:
    """The unit's printed symbol (t, m³, head …)."""
    try:
        return str(Unit(unit).label)
    except ValueError:
        return unit


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    unit: str = Unit.TONNE

    def __post_init__(self):
        if self.unit not in Unit.values:
            raise ValidationFailed(_("%(unit)s is not a unit of measure") % {"unit": self.unit},
                                   errors=[{"field": "unit", "message": ", ".join(Unit.values)}])

    def _same_unit(self, other: "Quantity") -> None:
        if not isinstance(other, Quantity):
            raise TypeError(f"cannot combine a quantity with {type(other).__name__}")
        if other.unit != self.unit:
            message = _("%(a)s and %(b)s cannot be added: the quantities are in different units") % {
                "a": str(self), "b": str(other)}
            raise UnitMismatch(message, errors=[{"field": "unit", "message": message}])

    def __add__(self, other: "Quantity") -> "Quantity":
        self._same_unit(other)
        return Quantity(self.value + other.value, self.unit)

    def __sub__(self, other: "Quantity") -> "Quantity":
        self._same_unit(other)
        return Quantity(self.value - other.value, self.unit)

    def __str__(self):
        text = f"{Decimal(self.value):f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return f"{text} {label(self.unit)}"


def total(quantities, unit: str | None = None) -> Quantity:
    """The sum of quantities of one unit (`unit` for an empty list, or to insist on one); mixing is refused."""
    items = list(quantities)
    result = Quantity(Decimal(0), unit or (items[0].unit if items else Unit.TONNE))
    for quantity in items:
        result = result + quantity
    return result


def to_tonnes(quantity: Quantity, *, factor: Decimal | None = None) -> Decimal:
    """The quantity in tonnes: a mass by its fixed factor; any other unit only by `factor` (tonnes per unit, e.g. a
    density in t/m³, which the caller reads from its parameter: `core.parameters`). Without one, refused."""
    if quantity.unit in MASS_FACTORS:
        return quantity.value * MASS_FACTORS[quantity.unit]
    if factor is None:
        message = _("%(q)s cannot be counted in tonnes: no conversion factor is set for %(unit)s") % {
            "q": str(quantity), "unit": label(quantity.unit)}
        raise RuleViolation(message, code="unit_conversion_missing", errors=[{"field": "unit", "message": message}])
    return quantity.value * factor
