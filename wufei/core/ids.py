"""Identifiers from national standards.

USCC (统一社会信用代码, GB 32100-2015): 18 characters; the last is a mod-31 check
character over the first 17 with weights 3^(i-1) mod 31 (RULES.md §9).
"""

import re

from django.utils.translation import gettext as _

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(rf"^[{USCC_CHARSET}]{{18}}$")


class InvalidIdentifier(ValueError):
    """An identifier that breaks its standard; the message says how."""


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """Return the normalized USCC or raise InvalidIdentifier naming the defect."""
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise InvalidIdentifier(_("USCC must have 18 characters, got %(n)d") % {"n": len(code)})
    if not _USCC_SHAPE.match(code):
        bad = sorted({ch for ch in code if ch not in USCC_CHARSET})
        raise InvalidIdentifier(_("USCC contains characters not allowed by GB 32100-2015: %(chars)s")
                                % {"chars": "".join(bad)})
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(_("USCC check character is %(found)s, expected %(expected)s")
                                % {"found": code[17], "expected": expected})
    return code


def is_valid_uscc(value: str) -> bool:
    try:
        validate_uscc(value)
    except InvalidIdentifier:
        return False
    return True


def make_uscc(registration: str, region_code: str, body: str) -> str:
    """Build a USCC from its parts: 2-char registration/kind code, 6-digit region, 9-char body."""
    first17 = f"{registration}{region_code}{body}".upper()
    if len(first17) != 17:
        raise InvalidIdentifier("registration(2) + region(6) + body(9) must make 17 characters")
    return first17 + uscc_check_character(first17)


PLATE_PATTERN = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$"
)


def validate_plate(value: str) -> str:
    """Chinese motor vehicle plate (GA 36): province character, letter, 5 or 6 characters."""
    plate = (value or "").strip().upper().replace(" ", "").replace("·", "")
    if not PLATE_PATTERN.match(plate):
        raise InvalidIdentifier(_("not a valid vehicle plate: %(plate)s") % {"plate": value})
    return plate
