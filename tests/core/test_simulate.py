"""The simulated district: valid unique codes, the sector mix, the district's streets."""

from __future__ import annotations

from collections import Counter

import numpy as np

from inspect_core.enterprises.models import search_text
from inspect_core.simulate import _ENT_COLS, REGIONS, _enterprise_rows, make_uscc, make_usccs
from inspect_core.uscc import is_valid


def test_vectorised_codes_equal_the_scalar_ones():
    types = np.array([1, 2, 3] * 100)
    fast = make_usccs(1000, 300, types)
    slow = [make_uscc(1000 + i, str(t)) for i, t in enumerate(types)]
    assert fast == slow


def test_rows_are_valid_unique_and_mixed():
    rows = _enterprise_rows(0, 5000, np.random.default_rng(7), "2026-01-01 00:00:00")
    column = {name: _ENT_COLS.index(name) for name in _ENT_COLS}
    codes = [values[column["uscc"]] for values, _ in rows]
    assert len(set(codes)) == len(codes)
    assert all(is_valid(code) for code in codes)
    sectors = Counter(s for _, secs in rows for s in secs)
    for sector in ("food", "drugs", "special_equipment", "construction",
                   "hazardous_chemicals", "industrial_products"):  # fmt: skip
        assert sectors[sector] > 0, sector
    assert sectors["food"] > sectors["construction"] > sectors["hazardous_chemicals"]
    assert {values[column["region"]] for values, _ in rows} <= set(REGIONS)
    assert all(
        values[column["search_name"]] == search_text(values[column["name"]]) for values, _ in rows
    )
    individual = sum(code[1] == "2" for code in codes)  # 个体工商户 among caterers and shops
    assert 0.1 < individual / len(codes) < 0.5


def test_same_seed_same_district():
    a = _enterprise_rows(0, 200, np.random.default_rng(3), "x")
    b = _enterprise_rows(0, 200, np.random.default_rng(3), "x")
    assert a == b
