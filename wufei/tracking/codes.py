"""The container code (一物一码): the HJ 1276-2022 digital identification code (数字识别码).

HJ 1276-2022 gives the code four segments and 37 characters in all (RULES.md §4):

    ① generator or collector code   ② hazardous waste code   ③ date   ④ sequence

The standard's per-segment lengths could not be verified (UNCONFIRMED in RULES.md §4), so
they are kept here, in one place, as the reading that adds up to 37:

    ① the unit's USCC (GB 32100-2015)                          18 characters
    ② the waste code of the national list without dashes       8 digits   (900-041-49 → 90004149)
    ③ the produced (or collected, merged, split) date YYYYMMDD 8 digits, Asia/Shanghai
    ④ a sequence per unit, waste code and day                  `tracking.code.sequence_digits` digits (default 3)

The sequence's width is a parameter (per region, see wufei.core.parameters) so that a
region can follow the official text once it is confirmed; `parse_code` reads any width.
Numbers are handed out by `reserve_sequences` under a row lock on CodeSequence, so two
recorders never get the same number; the unique constraint on Container.code is the last
line of defence.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from wufei.core import parameters
from wufei.core.errors import RuleViolation, ValidationFailed
from wufei.core.ids import USCC_CHARSET
from wufei.core.locks import lock_rows

# (segment name, length); the last segment's length comes from the parameter
UNIT_LENGTH = 18
WASTE_LENGTH = 8
DATE_LENGTH = 8
SEQUENCE_PARAMETER = "tracking.code.sequence_digits"
FIXED_LENGTH = UNIT_LENGTH + WASTE_LENGTH + DATE_LENGTH  # 34

_CODE_SHAPE = re.compile(rf"^([{USCC_CHARSET}]{{{UNIT_LENGTH}}})(\d{{{WASTE_LENGTH}}})(\d{{{DATE_LENGTH}}})(\d+)$")


@dataclass(frozen=True)
class ParsedCode:
    """What a code says about its container, segment by segment."""

    code: str
    unit_uscc: str  # ① the generator's (or collector's) USCC
    waste_code: str  # ② with dashes, as in the national list (900-041-49)
    day: dt.date  # ③
    sequence: int  # ④
    sequence_digits: int

    @property
    def category(self) -> str:
        return f"HW{self.waste_code[-2:]}"

    def segments(self) -> list[tuple[str, str]]:
        """(label, characters) for each segment, for the scan page."""
        return [
            (_("Generator or collector (USCC)"), self.unit_uscc),
            (_("Hazardous waste code"), self.code[UNIT_LENGTH:UNIT_LENGTH + WASTE_LENGTH]),
            (_("Date"), self.code[UNIT_LENGTH + WASTE_LENGTH:FIXED_LENGTH]),
            (_("Sequence"), self.code[FIXED_LENGTH:]),
        ]


def sequence_digits(region=None) -> int:
    return int(parameters.get(SEQUENCE_PARAMETER, region))


def code_length(region=None) -> int:
    return FIXED_LENGTH + sequence_digits(region)


def waste_digits(waste_code: str) -> str:
    return waste_code.replace("-", "")


def build_code(*, uscc: str, waste_code: str, day: dt.date, sequence: int, digits: int) -> str:
    if not 1 <= sequence < 10 ** digits:
        raise ValueError(f"sequence {sequence} does not fit {digits} digits")
    return f"{uscc}{waste_digits(waste_code)}{day:%Y%m%d}{sequence:0{digits}d}"


def normalize(code: str) -> str:
    """Codes are upper case without spaces; QR scanners and typists add both."""
    return re.sub(r"\s+", "", code or "").upper()


def parse_code(code: str) -> ParsedCode:
    """Split a code into its four segments; ValidationFailed names what is wrong with it."""
    code = normalize(code)
    match = _CODE_SHAPE.match(code)
    error = None
    if match is None:
        error = _("a container code has %(n)d characters or more: an 18-character USCC, 8 digits of the waste code, "
                  "the date as YYYYMMDD and a sequence number") % {"n": FIXED_LENGTH + 1}
    else:
        unit, waste, day_text, sequence = match.groups()
        try:
            day = dt.datetime.strptime(day_text, "%Y%m%d").date()
        except ValueError:
            error = _("%(text)s is not a date") % {"text": day_text}
        if int(sequence) == 0:
            error = _("sequence numbers start at 1")
    if error:
        raise ValidationFailed(_("%(code)s is not a container code") % {"code": code or "''"},
                               code="invalid_container_code", errors=[{"field": "code", "message": error}])
    return ParsedCode(code=code, unit_uscc=unit, waste_code=f"{waste[:3]}-{waste[3:6]}-{waste[6:]}", day=day,
                      sequence=int(sequence), sequence_digits=len(sequence))


def _save_last(rows) -> None:
    """UPDATE … SET last for many rows in one executemany (bulk_update's CASE is slow for a year of days)."""
    from django.db import connection

    from wufei.tracking.models import CodeSequence

    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(CodeSequence._meta.db_table)} SET {quote('last')} = %s "
           f"WHERE {quote('id')} = %s")
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(row.last, row.pk) for row in rows])


def reserve_sequences(*, organization, needs: dict[tuple[str, dt.date], int], digits: int) -> dict:
    """Reserve `count` numbers for each (waste code, day) of a unit: {(waste, day): first number}.

    Rows are created if missing (ignoring a concurrent creator), then locked in a fixed order
    (no deadlock between two recorders) and advanced in one go. A day whose numbers run out
    raises a RuleViolation naming the unit, the code and the day.
    """
    from wufei.tracking.models import CodeSequence

    if not needs:
        return {}
    limit = 10 ** digits - 1
    with transaction.atomic():
        wastes = sorted({waste for waste, _day in needs})
        days = sorted({day for _waste, day in needs})
        existing = set(CodeSequence.objects.filter(organization=organization, waste_id__in=wastes, day__in=days)
                       .values_list("waste_id", "day"))
        missing = [CodeSequence(organization=organization, waste_id=waste, day=day, last=0)
                   for waste, day in needs if (waste, day) not in existing]
        if missing:
            CodeSequence.objects.bulk_create(missing, ignore_conflicts=True)
        rows = {(row.waste_id, row.day): row for row in lock_rows(CodeSequence.objects).filter(
            organization=organization, waste_id__in=wastes, day__in=days).order_by("waste_id", "day")}
        first = {}
        changed = []
        for key in sorted(needs):
            row = rows[key]
            count = needs[key]
            if row.last + count > limit:
                waste, day = key
                raise RuleViolation(
                    _("%(unit)s has used %(used)d of the %(limit)d container numbers for %(waste)s on %(day)s; "
                      "%(count)d more do not fit in the %(digits)d-digit sequence of the code (HJ 1276-2022)")
                    % {"unit": organization.name, "used": row.last, "limit": limit, "waste": waste,
                       "day": day.isoformat(), "count": count, "digits": digits},
                    code="code_sequence_exhausted")
            first[key] = row.last + 1
            row.last += count
            changed.append(row)
        _save_last(changed)
    return first
