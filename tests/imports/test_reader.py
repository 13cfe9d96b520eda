"""Reading uploaded files: cells, rows, row numbers, the findings cell (no database)."""

from __future__ import annotations

import pytest

from inspect_core.imports import reader

FULL = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "text",
    [
        "重庆渝味（九龙坡）餐饮管理有限公司",
        "冷藏温度：8℃（超标）",
        "后厨地面有积水；排水沟堵塞",
        "华岩路1号　2栋",  # a full-width space inside the text stays
        "µg/kg",
    ],
)
def test_text_cells_are_kept_as_written(text):
    """The JSON API stores names and free text as given; so does the upload."""
    assert reader.normalise_cell(text) == text


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("１２３".translate(FULL), "123"),
        ("　９１５００１０７ＭＡ５Ｕ３Ｙ１Ｃ２Ｆ　", "91500107MA5U3Y1C2F"),  # U+3000 around it
        ("ｍｇ／ｋｇ", "mg/kg"),
        ("２０２６-11-25", "2026-11-25"),
        ("２０２６/１１/２５", "2026-11-25"),
        ("２０２６年１１月２５日", "2026-11-25"),
        ("2026年11月25日", "2026-11-25"),
        ("　大米　", "大米"),
        ("　", None),
        ("2026年13月45日", "2026年13月45日"),  # not a date: left for the schema to name
    ],
)
def test_full_width_digits_codes_and_dates_read_as_ascii(cell, expected):
    assert reader.normalise_cell(cell) == expected


def test_text_is_stored_in_nfc():
    decomposed = "Cafe\u0301 重庆"
    assert reader.normalise_cell(decomposed) == "Café 重庆"


LIMITS = reader.Limits(10**9, 10**9, 10**9, 10**9, 10**9)


def test_csv_rows_of_empty_cells_are_not_data():
    """Excel saves rows that were formatted or cleared as ",,,,"; the .xlsx reader skips
    blank rows and so does the CSV reader, wherever they are."""
    content = "a,b,c\r\n1,2,3\r\n,,\r\n , ,\u3000\r\n\r\n4,5,6\r\n,,\r\n,,\r\n".encode()
    table = reader.read_csv(content, LIMITS)
    assert [values for _, values in table.rows] == [["1", "2", "3"], ["4", "5", "6"]]


def test_blank_csv_rows_do_not_count_against_the_row_limit():
    limits = reader.Limits(10**9, 1, 10**9, 10**9, 10**9)
    table = reader.read_csv(b"a,b\n1,2\n,\n,\n", limits)
    assert len(table.rows) == 1


def test_csv_row_numbers_count_records_not_lines():
    """A quoted cell with line breaks (Alt+Enter in Excel) is one sheet row: the rows after
    it keep the numbers the user sees (header = row 1), blank rows counted as Excel shows
    them."""
    content = b'a,b\n1,"two\nlines\nhere"\n,\n3,4\n'
    table = reader.read_csv(content, LIMITS)
    assert [(n, values[0]) for n, values in table.rows] == [(2, "1"), (4, "3")]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("minor:后厨地面有积水；排水沟堵塞", [("minor", "后厨地面有积水；排水沟堵塞")]),
        ("minor:冷藏温度：8℃（超标）", [("minor", "冷藏温度：8℃（超标）")]),
        (
            "major:无证经营; minor:记录不全;进货查验缺失",
            [("major", "无证经营"), ("minor", "记录不全;进货查验缺失")],
        ),
        (
            "Critical：过期原料；minor：标签不清；",
            [("critical", "过期原料"), ("minor", "标签不清")],
        ),
        (" ; ", []),
    ],
)
def test_findings_split_only_before_a_severity(cell, expected):
    """The export writes "severity:description; …"; a description keeps its ；, ; and ："""
    from inspect_core.imports.service import _parse_findings

    got = [(f["severity"], f["description"]) for f in _parse_findings(cell)]
    assert got == expected


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("后厨地面有积水", "is not 'severity:description'"),
        ("见附件; minor:记录不全", "is not 'severity:description'"),
        ("warning:地面湿滑", "'warning' is not a severity"),
        # a mistyped severity after the first finding is not swallowed into its text
        ("minor:记录不全; mnior:标签不清", "'mnior' is not a severity"),
        ("minor:记录不全；Warning［W1］：地面湿滑", "'Warning' is not a severity"),
    ],
)
def test_findings_without_a_severity_prefix_are_refused(cell, message):
    from marshmallow import ValidationError

    from inspect_core.imports.service import _parse_findings

    with pytest.raises(ValidationError, match=message):
        _parse_findings(cell)
