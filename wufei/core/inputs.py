"""Input types shared by every API schema: numbers that fit the column they are stored in, dates within the
platform's record span. A figure or a date outside them is a 422 naming the field (never a database error).

Use `Tonnes` for a quantity of waste, `quantity(...)` for other stored figures (litres, 10k CNY, scores, %),
`Longitude` / `Latitude` for coordinates, `EventDate` / `EventDateTime` for when something happened and
`RecordDate` for validity ends, deadlines and due dates. The same bounds apply to forms and imported files
(core/parsing.py).
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

# No record the platform keeps (containers, manifests, permits, plans, reports) predates 2000: the national
# hazardous waste list, manifest and permit rules it follows are all later. An earlier date is a typo (0001,
# 1900) and would not fit the 8-digit date segment of an HJ 1276 container code.
EARLIEST_DATE = dt.date(2000, 1, 1)
# Validity ends, deadlines and due dates: far beyond any permit term (5 years) or plan (2035 targets), and
# still a 4-digit year.
LATEST_DATE = dt.date(2099, 12, 31)
# Something that happened (produced, scanned, signed, processed, reported) may be entered ahead of the server's
# clock by clock skew or a planned date, never by more than a year.
EVENT_LEAD = dt.timedelta(days=366)

# Largest quantity of waste one record may state: more than a province generates in a year, and three orders
# of magnitude below the 18-digit tonnes columns, so that ledgers and totals summing many records still fit.
MAX_TONNES = Decimal(10) ** 9


def _refuse(message: str):
    return PydanticCustomError("value_error", message)


def check_quantity(value, *, decimal_places: int, minimum: Decimal | None, maximum: Decimal,
                   minimum_exclusive: bool = False, maximum_inclusive: bool = False) -> Decimal:
    """`value` as a Decimal rounded to `decimal_places`, or ValueError with the reader's message."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(_("is not a number")) from None
    if not number.is_finite():
        raise ValueError(_("is not a finite number"))
    if minimum is not None and number < minimum:
        raise ValueError(_("must be at least %(n)s") % {"n": minimum})
    if abs(number) > maximum or (abs(number) == maximum and not maximum_inclusive):
        message = _("must be at most %(n)s") if maximum_inclusive else _("must be less than %(n)s")
        raise ValueError(message % {"n": f"{maximum:,f}"})
    number = number.quantize(Decimal(1).scaleb(-decimal_places), rounding=ROUND_HALF_UP)
    if minimum_exclusive and minimum is not None and number <= minimum:
        raise ValueError(_("must be more than %(n)s") % {"n": minimum})
    return number


def quantity(*, max_digits: int = 18, decimal_places: int = 6, minimum: Decimal | int | None = 0,
             maximum: Decimal | int | None = None, positive: bool = False, inclusive: bool = False):
    """A Decimal stored in a DecimalField(max_digits, decimal_places): finite, below `maximum` (default: what the
    column holds; `inclusive`: up to it), at least `minimum` (None: any sign; `positive`: above it), rounded to
    the column's places. The magnitude bound holds for negative figures too."""
    top = Decimal(maximum) if maximum is not None else Decimal(10) ** (max_digits - decimal_places)
    low = Decimal(minimum) if minimum is not None else None

    def validate(value):
        if value is None:
            return None
        try:
            return check_quantity(value, decimal_places=decimal_places, minimum=low, maximum=top,
                                  minimum_exclusive=positive, maximum_inclusive=inclusive)
        except ValueError as exc:
            raise _refuse(str(exc)) from None

    bounds = {"maximum" if inclusive else "exclusiveMaximum": float(top)}
    if low is not None:
        bounds["exclusiveMinimum" if positive else "minimum"] = float(low)
    else:
        bounds["minimum" if inclusive else "exclusiveMinimum"] = -float(top)
    digits = len(str(int(top if inclusive else top.next_minus())))
    sign = "-?" if low is None or low < 0 else ""
    text = {"type": "string", "pattern": rf"^{sign}\d{{1,{digits}}}(\.\d{{1,{decimal_places}}})?$"}
    json_schema = {"anyOf": [{"type": "number", **bounds}, text]}
    return Annotated[Decimal, BeforeValidator(validate), WithJsonSchema(json_schema)]


Tonnes = quantity(maximum=MAX_TONNES, inclusive=True)
PositiveTonnes = quantity(maximum=MAX_TONNES, inclusive=True, positive=True)
Longitude = quantity(max_digits=9, decimal_places=6, minimum=-180, maximum=180, inclusive=True)
Latitude = quantity(max_digits=9, decimal_places=6, minimum=-90, maximum=90, inclusive=True)


def _date_between(value: dt.date, earliest: dt.date, latest: dt.date) -> None:
    if value < earliest:
        raise _refuse(_("must be on or after %(day)s") % {"day": earliest.isoformat()})
    if value > latest:
        raise _refuse(_("must be on or before %(day)s") % {"day": latest.isoformat()})


def latest_event_date() -> dt.date:
    return timezone.localdate() + EVENT_LEAD


def _event_date(value: dt.date) -> dt.date:
    _date_between(value, EARLIEST_DATE, latest_event_date())
    return value


def _event_time(value: dt.datetime) -> dt.datetime:
    _date_between(value.date(), EARLIEST_DATE, latest_event_date())
    return value


def _record_date(value: dt.date) -> dt.date:
    _date_between(value, EARLIEST_DATE, LATEST_DATE)
    return value


def _record_time(value: dt.datetime) -> dt.datetime:
    _date_between(value.date(), EARLIEST_DATE, LATEST_DATE)
    return value


EventDate = Annotated[dt.date, AfterValidator(_event_date)]
EventDateTime = Annotated[dt.datetime, AfterValidator(_event_time)]
RecordDate = Annotated[dt.date, AfterValidator(_record_date)]
RecordDateTime = Annotated[dt.datetime, AfterValidator(_record_time)]


# --- whole numbers that reach a query ---------------------------------------------------------------------------

MAX_ID = 2**63 - 1  # the largest id a BigAutoField holds (SQLite INTEGER, PostgreSQL bigint)
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Year = Annotated[int, Field(ge=EARLIEST_DATE.year, le=LATEST_DATE.year)]
Month = Annotated[int, Field(ge=1, le=12)]


def _since(value: dt.datetime) -> dt.datetime:
    """A list filter ("changed after"): a moment before any record means every record."""
    _date_between(value.date(), dt.date.min, LATEST_DATE)
    if value.date() < EARLIEST_DATE:
        return dt.datetime.combine(EARLIEST_DATE, dt.time(), tzinfo=dt.UTC)
    return value


Since = Annotated[dt.datetime, AfterValidator(_since)]
