"""USCC validation (GB 32100-2015) on real published codes, letter-first codes and broken ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from inspect_core import uscc
from inspect_core.simulate import make_uscc

REAL_VALID = [
    "91110000600037341L",  # python-stdnum's documented example
    "91330100799655058B",  # 阿里巴巴（中国）有限公司, published licence
    "9144030071526726XG",  # 腾讯科技（深圳）有限公司
    "914403001922038216",  # 华为技术有限公司
    "12100000400000624D",  # a public institution (1 机构编制)
]


@pytest.mark.parametrize("code", REAL_VALID)
def test_real_codes_validate(code):
    assert uscc.validate(code) == code


@pytest.mark.parametrize("first", ["A", "N", "Y"])
def test_letter_first_codes_pass_through_the_fallback(first):
    code = uscc.with_check_character(f"{first}1500107MA5U3Y1C2")
    assert not stdnum_uscc.is_valid(code)  # stdnum 2.x refuses a letter in position 1
    assert uscc.validate(code) == code
    broken = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(uscc.InvalidUSCC, match="check character"):
        uscc.validate(broken)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91110000600037341M", "check character"),
        ("9111000060003734", "18 characters"),
        ("911100006000373410L", "18 characters"),
        ("B1110000600037341L", "registering authority"),
        ("N11100006000O7341L", "not allowed"),
        ("NA1100006000373410", "position 2"),
        ("N1X100006000373410", "positions 3-8"),
    ],
)
def test_invalid_codes_say_why(code, reason):
    with pytest.raises(uscc.InvalidUSCC, match=reason):
        uscc.validate(code)


@pytest.mark.parametrize(
    ("first17", "reason"),
    [
        ("01110000600037341", "registering authority"),  # no authority 0
        ("90110000600037341", "entity type"),  # 市场监管 registers types 1, 2, 3 only
        ("94110000600037341", "entity type"),
        ("99110000600037341", "entity type"),
    ],
)
def test_codes_stdnum_takes_are_checked_for_authority_and_entity_type(first17, reason):
    """stdnum checks only that positions 1-8 are digits: a code with a valid check
    character but no registering authority or entity type was registered."""
    code = uscc.with_check_character(first17)
    assert stdnum_uscc.is_valid(code)
    with pytest.raises(uscc.InvalidUSCC, match=reason):
        uscc.validate(code)


@pytest.mark.parametrize(
    "code",
    [
        "9\u0661110000600037341L",  # an Arabic-Indic 1 in position 2
        "A\u0661110000600037341L",
        "91\u0967\u0967\u0966\u0966\u0966\u0966600037341L",  # Devanagari 1100 0 0
    ],
)
def test_digits_of_other_scripts_are_refused_not_a_crash(code):
    """NFKC keeps ١ and १ as they are, and ``str.isdigit`` took them: the check character
    was then computed over characters outside its alphabet, a ValueError (a 500)."""
    with pytest.raises(uscc.InvalidUSCC, match="must be"):
        uscc.validate(code)


def test_input_is_normalised():
    assert uscc.validate(" 9111 0000-6000 3734 1l ") == "91110000600037341L"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "91110000600037341L")
    assert uscc.validate(full_width) == "91110000600037341L"


@given(st.integers(min_value=0, max_value=10_000_000))
def test_simulated_codes_are_valid_for_stdnum_too(index):
    code = make_uscc(index)
    assert stdnum_uscc.is_valid(code)
    assert uscc.is_valid(code)


@given(st.integers(min_value=0, max_value=10_000_000), st.integers(min_value=0, max_value=16))
def test_any_single_character_change_is_caught(index, position):
    code = make_uscc(index)
    alphabet = uscc.ALPHABET
    replacement = alphabet[(alphabet.index(code[position]) + 1) % len(alphabet)]
    changed = code[:position] + replacement + code[position + 1 :]
    assert not uscc.is_valid(changed)
