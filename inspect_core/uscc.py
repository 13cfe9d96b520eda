"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015) validation.

python-stdnum's ``stdnum.cn.uscc`` does the check character (MOD 31-3), but its 2.x
releases demand digits in positions 1–8, so valid codes whose registering authority
is a letter (A 军队, N 农业, Y 其他) are refused.  :func:`validate` accepts those
through a fallback that applies the same GB 32100 layout and checksum.
"""

from __future__ import annotations

import unicodedata

from stdnum.cn import uscc as _stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: 0-9, A-Z without I O Z S V
#: position 1, registering authority: 1 机构编制 … 9 市场监管, A 军队, N 农业, Y 其他
AUTHORITIES = "123456789ANY"
#: position 2, entity type, where DOMAIN.md §7 lists an authority's types: under 9 (市场监管)
#: 1 企业, 2 个体工商户, 3 农民专业合作社
ENTITY_TYPES = {"9": "123"}
DIGITS = frozenset("0123456789")


class InvalidUSCC(ValueError):
    """A code that is not a valid USCC; ``reason`` is a short English phrase."""

    def __init__(self, reason: str, reason_zh: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_zh = reason_zh


def compact(code: str) -> str:
    """Upper-case, full-width folded (NFKC), separators removed."""
    return _stdnum_uscc.compact(unicodedata.normalize("NFKC", code))


def validate(code: str) -> str:
    """Return the compact code or raise :class:`InvalidUSCC` naming what is wrong."""
    if not isinstance(code, str):
        raise InvalidUSCC("must be a string", "必须为字符串")
    number = compact(code)
    try:
        _stdnum_uscc.validate(number)
    except InvalidLength:
        raise InvalidUSCC(
            f"must be 18 characters, got {len(number)}", f"长度应为18位，实际为{len(number)}位"
        ) from None
    except InvalidChecksum:
        raise _bad_check(number) from None
    except InvalidFormat:
        return _validate_fallback(number)
    except ValidationError as exc:  # pragma: no cover - stdnum adds new kinds rarely
        raise InvalidUSCC(str(exc), "格式无效") from None
    _check_codes(number)
    return number


def _bad_check(number: str) -> InvalidUSCC:
    expected = _stdnum_uscc.calc_check_digit(number[:17])
    return InvalidUSCC(
        f"check character is '{number[17]}', expected '{expected}' (GB 32100 MOD 31-3)",
        f"校验码为“{number[17]}”，应为“{expected}”",
    )


def _check_codes(number: str) -> None:
    """The registering authority and entity type: stdnum checks only that they are digits,
    so a code beginning 0 (no authority) or 90 / 94 (no type under 市场监管) passed."""
    if number[0] not in AUTHORITIES:
        raise InvalidUSCC(
            f"position 1 (registering authority) '{number[0]}' is not one of {AUTHORITIES}",
            "第1位登记管理部门代码无效",
        )
    if number[1] not in DIGITS:
        raise InvalidUSCC("position 2 (entity type) must be a digit", "第2位机构类别代码应为数字")
    types = ENTITY_TYPES.get(number[0])
    if types is not None and number[1] not in types:
        raise InvalidUSCC(
            f"position 2 (entity type) '{number[1]}' is not one of {types} "
            f"under registering authority {number[0]}",
            "第2位机构类别代码无效",
        )


def _validate_fallback(number: str) -> str:
    """GB 32100 layout for the codes stdnum's digit-only rule refuses.  Digits are ASCII
    ones: ``str.isdigit`` takes any script's (١, ४), which NFKC keeps and the check
    character's alphabet lacks (a ValueError, a 500)."""
    _check_codes(number)
    if not DIGITS.issuperset(number[2:8]):
        raise InvalidUSCC(
            "positions 3-8 (administrative division code) must be digits",
            "第3-8位登记管理机关行政区划码应为数字",
        )
    bad = [c for c in number[8:] if c not in ALPHABET]
    if bad:
        raise InvalidUSCC(
            f"character '{bad[0]}' is not allowed (I, O, Z, S, V are never used)",
            f"含有不允许的字符“{bad[0]}”",
        )
    if number[17] != _stdnum_uscc.calc_check_digit(number[:17]):
        raise _bad_check(number)
    return number


def is_valid(code: str) -> bool:
    try:
        validate(code)
    except InvalidUSCC:
        return False
    return True


def with_check_character(first17: str) -> str:
    """Append the GB 32100 check character (the simulator and tests build codes this way)."""
    return first17 + _stdnum_uscc.calc_check_digit(first17)
