"""Quantities of manifests whose kind is not measured in tonnes (manifests/kinds.py `unit`): what the receiver
measured, in the manifest's unit, shared out to the accepted lines, and the tonnes it counts as by the stream's
documented factor. Manifests in tonnes are weighed as always (signing.py `_receive`)."""

from decimal import ROUND_DOWN, Decimal

from django.utils.translation import gettext as _

from wufei.core import parsing, units
from wufei.core.errors import ValidationFailed
from wufei.core.units import Quantity, Unit
from wufei.manifests import kinds
from wufei.manifests.models import Manifest, ManifestLine
from wufei.manifests.services.common import TONNE
from wufei.manifests.services.drafts import line_tonnes


def received_in_unit(manifest: Manifest, lines: list[ManifestLine], refused_positions: set[int], data: dict
                     ) -> tuple[Decimal | None, dict[int, Decimal]] | None:
    """None for a manifest in tonnes. Otherwise (the measured total in tonnes, or None where the stream has no
    conversion factor or nothing was measured; {line position: received quantity in the manifest's unit})."""
    if manifest.unit == Unit.TONNE:
        return None
    unit = units.label(manifest.unit)
    if data.get("received_tonnes") not in (None, ""):
        message = _("manifest %(number)s is measured in %(unit)s: give the received quantity in %(unit)s") % {
            "number": manifest, "unit": unit}
        raise units.UnitMismatch(message, errors=[{"field": "received_tonnes", "message": message}])
    accepted = {line.position: line.shipped.value for line in lines if line.position not in refused_positions}
    value = data.get("received_quantity")
    if value in (None, ""):
        return None, accepted
    try:
        total = parsing.tonnes(minimum=Decimal(0))(value)
    except ValueError:
        message = _("a quantity in %(unit)s") % {"unit": unit}
        raise ValidationFailed(message, errors=[{"field": "received_quantity", "message": message}]) from None
    shares = _share(total, accepted)
    stream = kinds.get(manifest.kind).stream
    tonnes = line_tonnes(manifest, Quantity(total, manifest.unit)) if stream.tonnes_factor_key else None
    return tonnes, shares


def _share(total: Decimal, shipped: dict[int, Decimal]) -> dict[int, Decimal]:
    """The total shared by shipped quantity (to 0.000001; the remainder goes to the largest line)."""
    if not shipped:
        return {}
    base = sum(shipped.values(), Decimal(0))
    shares = {key: ((total * value / base) if base else total / len(shipped)).quantize(TONNE, rounding=ROUND_DOWN)
              for key, value in shipped.items()}
    largest = max(shipped, key=lambda key: (shipped[key], key))
    shares[largest] += total - sum(shares.values(), Decimal(0))
    return shares
