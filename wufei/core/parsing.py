"""Declarative field specs and parsers shared by the API, the forms and the file imports.

A spec maps field names to `FieldSpec(parse, required)`. `clean(spec, data)` parses
every field and returns the values and *all* errors at once, each naming its field,
so a caller can report every problem of a row in one go.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from wufei.core import inputs
from wufei.core.errors import ValidationFailed


@dataclass(frozen=True)
class FieldSpec:
    parse: Callable
    required: bool = False
    label: str = ""


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean(spec: dict[str, FieldSpec], data: dict, *, partial: bool = False) -> tuple[dict, list[dict]]:
    values, errors = {}, []
    for name, field in spec.items():
        if name not in data and partial:
            continue
        raw = data.get(name)
        if is_blank(raw):
            if field.required:
                errors.append({"field": name, "message": _("is required")})
            else:
                values[name] = field.parse(None) if getattr(field.parse, "accepts_blank", False) else None
            continue
        try:
            values[name] = field.parse(raw)
        except (ValueError, ValidationFailed) as exc:
            errors.append({"field": name, "message": getattr(exc, "message", None) or str(exc)})
    return values, errors


def text(max_length: int) -> Callable:
    def parse(value):
        if value is None:
            return ""
        result = str(value).strip()
        if isinstance(value, float) and value.is_integer():
            result = str(int(value))
        if len(result) > max_length:
            raise ValueError(_("is longer than %(n)d characters") % {"n": max_length})
        return result

    parse.accepts_blank = True
    return parse


def decimal(*, minimum: Decimal | None = None, maximum: Decimal | None = None, places: int = 6,
            max_digits: int = 18) -> Callable:
    """A number for a DecimalField(max_digits, places): finite, within [minimum, maximum] and what the column holds,
    rounded to its places; "1,234.5" is read as 1234.5."""
    top = Decimal(maximum) if maximum is not None else Decimal(10) ** (max_digits - places)

    def parse(value):
        raw = value if isinstance(value, Decimal) else str(value).strip().replace(",", "")
        try:
            return inputs.check_quantity(raw, decimal_places=places, minimum=minimum, maximum=top,
                                         maximum_inclusive=maximum is not None)
        except ValueError as exc:
            if str(exc) == _("is not a number"):
                raise ValueError(_("%(value)s is not a number") % {"value": value}) from None
            raise

    return parse


def tonnes(*, minimum: Decimal | None = Decimal(0)) -> Callable:
    """A quantity of waste in tonnes (at most inputs.MAX_TONNES)."""
    return decimal(minimum=minimum, maximum=inputs.MAX_TONNES)


def date(*, earliest: dt.date = inputs.EARLIEST_DATE, latest: dt.date | None = inputs.LATEST_DATE) -> Callable:
    """A date (YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or a spreadsheet date) between `earliest` and `latest`."""

    def parse(value):
        day = _read_date(value)
        if day < earliest:
            raise ValueError(_("must be on or after %(day)s") % {"day": earliest.isoformat()})
        if latest is not None and day > latest:
            raise ValueError(_("must be on or before %(day)s") % {"day": latest.isoformat()})
        return day

    return parse


def _read_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = str(value).strip().replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(_("%(value)s is not a date (YYYY-MM-DD)") % {"value": value})


def boolean() -> Callable:
    truthy = {"1", "true", "yes", "y", "是", "√", "✓"}
    falsy = {"0", "false", "no", "n", "否", ""}

    def parse(value):
        if isinstance(value, bool):
            return value
        raw = str(value).strip().lower()
        if raw in truthy:
            return True
        if raw in falsy:
            return False
        raise ValueError(_("%(value)s is not yes or no") % {"value": value})

    return parse


def choice(options: dict[str, str]) -> Callable:
    """Accept a code or any of its labels (English or Chinese) and return the code."""

    def parse(value):
        raw = str(value).strip()
        if raw in options:
            return raw
        for code, label in options.items():
            if raw == str(label) or raw.lower() == code.lower():
                return code
        raise ValueError(_("%(value)s is not one of: %(options)s") % {"value": value, "options": ", ".join(options)})

    return parse


def code_list(parse_one: Callable, separators: str = ",;，；、 ") -> Callable:
    """A list of codes in one cell: 'D10;R4' or 'D10，R4'."""

    def parts(value) -> list[str]:
        if value is None:
            return []
        if isinstance(value, list | tuple):
            pieces = [str(v) for v in value]
        else:
            raw = str(value)
            for sep in separators[1:]:
                raw = raw.replace(sep, separators[0])
            pieces = raw.split(separators[0])
        return [piece.strip() for piece in pieces if piece.strip()]

    def parse(value):
        return [parse_one(part) for part in parts(value)]

    parse.accepts_blank = True
    parse.parse_one, parse.parts = parse_one, parts  # what a cell names, for lookups fetched in bulk
    return parse
