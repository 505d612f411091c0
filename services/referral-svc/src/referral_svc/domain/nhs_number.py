"""NHS number check digit (modulus 11), so a mistyped number is refused at the door."""

from __future__ import annotations

import re

_TEN_ASCII_DIGITS = re.compile(r"[0-9]{10}")
_WEIGHTS = range(10, 1, -1)


def is_valid_nhs_number(s: str) -> bool:
    """True when `s` is exactly ten ASCII digits whose last digit is the modulus 11 check digit.

    No spaces or separators are accepted: callers normalise display formats (``943 476 5919``)
    first, so that what is stored and compared is always the bare ten digits.
    A check digit that would be 10 means the first nine digits can never form a valid number.
    """
    if not isinstance(s, str) or not _TEN_ASCII_DIGITS.fullmatch(s):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(s[:9], _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(s[9])
