"""Reading uploaded files: cells, rows, row numbers, the findings cell (no database)."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from inspect_core.imports import reader
from tests.factories import declaring, xlsx_with_sheet

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


@pytest.mark.parametrize("dimension", ["A1:B1", "A1", None, "A1:B3"])
def test_xlsx_rows_past_a_wrong_dimension_are_read(dimension):
    """Some export tools write the sheet's dimension as "A1"; openpyxl's read-only mode
    stops there, and every row after it was lost without a word.  All rows are read,
    whatever the sheet declares."""
    content = xlsx_with_sheet([["a", "b"], [1, 2], [3, 4], [5, 6], [7, 8]], declaring(dimension))
    if dimension in ("A1", None):  # no usable size: read whole, counted
        assert reader.open_table("rows.xlsx", content, LIMITS).estimate == 4
    table = reader.read_table("rows.xlsx", content, LIMITS)
    assert [(n, values) for n, values in table.rows] == [
        (2, [1, 2]), (3, [3, 4]), (4, [5, 6]), (5, [7, 8])
    ]  # fmt: skip


def _row2_reordered(xml: str) -> str:
    """A sheet edit: row 2 lists its first cell last (A2 after the others)."""
    row2 = re.search(r'<row r="2"[^>]*>(.*?)</row>', xml)
    assert row2 is not None
    cells = re.findall(r"<c .*?</c>", row2.group(1))
    return xml.replace(row2.group(1), "".join(cells[1:] + cells[:1]))


def test_xlsx_cells_out_of_column_order_are_not_lost():
    """A writer may list a row's cells in any order; each is placed by its column.  (With
    the dimension reset and no width asked for, openpyxl takes a row's width from its
    last cell: A2 last would have dropped B2 and C2 without a word.)"""
    content = xlsx_with_sheet([["a", "b", "c"], [1, 2, 3], [4, 5, 6]], _row2_reordered)
    table = reader.read_table("x.xlsx", content, LIMITS)
    assert table.rows == [(2, [1, 2, 3]), (3, [4, 5, 6])]


def test_xlsx_row_limit_holds_past_a_wrong_dimension():
    limits = reader.Limits(10**9, 2, 10**9, 10**9, 10**9)
    content = xlsx_with_sheet([["a", "b"], [1, 2], [3, 4], [5, 6]], declaring("A1:B2"))
    stream = reader.open_table("rows.xlsx", content, limits)
    with pytest.raises(reader.TooLarge):
        list(stream.rows)


@pytest.mark.parametrize(
    ("content", "estimate"),
    [
        (b"a,b\n1,2\n3,4\n", 2),
        (b"a,b\r\n1,2\r\n3,4", 2),
        (b"a,b\n", 0),
        (b"a,b\r1,2\r3,4\r", 2),  # Excel for Mac: "\r" alone
    ],
)
def test_a_streamed_csv_estimates_its_rows_from_its_lines(content, estimate):
    stream = reader.open_table("rows.csv", content, LIMITS)
    assert stream.estimate == estimate
    assert len(list(stream.rows)) == estimate


@pytest.mark.parametrize(
    "content",
    [
        b"a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n",
        b"a,b\r\n1,2\r\n,\r\n\r\n3,4\r\n5,6",  # blank rows, CRLF, no final line break
        "a\tb\n\u3000\t \n１\t２\n'=SUM(A1)\tx\n".encode("gb18030"),  # tabs, GBK, an apostrophe
        b"\xef\xbb\xbfa,b\n1,2\n\n\n3,4\n",
    ],
)
@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_csv_lines_cut_into_pieces_read_as_the_whole_file(content, size):
    """Workers parse pieces of a CSV's text themselves: the rows, their numbers and the
    blank rows skipped are exactly those of reading the file in one go."""
    whole = reader.read_csv(content, LIMITS).rows
    stream = reader.open_table("rows.csv", content, LIMITS)
    assert stream.body is not None
    pieces = list(stream.pieces([size] * 100))
    assert [row for piece in pieces for row in piece.rows()] == whole
    assert all(piece.text.endswith("\n") for piece in pieces[:-1])


@pytest.mark.parametrize(
    "content",
    [b'a,b\n1,"x\ny"\n3,4\n', b'a,b\n1,"2"\n', b"a,b\r1,2\r3,4\r", b"a,b\n1,2\r3,4\n"],
)
def test_a_csv_whose_lines_are_not_its_records_is_read_here(content):
    """A quoted cell (which may hold a line break) or a line ending other than \\n and
    \\r\\n: the file is parsed in the importing process, not cut into lines."""
    stream = reader.open_table("rows.csv", content, LIMITS)
    assert stream.body is None
    assert list(stream.rows) == reader.read_csv(content, LIMITS).rows


def test_a_streamed_csv_refuses_a_malformed_line_when_it_is_reached():
    """Rows before the bad line come out; the bad line is a 422 naming it, so an upload
    that has begun validating still stores nothing (its caller rolls back)."""
    stream = reader.open_table("rows.csv", b'a,b\n1,2\n3,"4\n', LIMITS)
    rows = stream.rows
    assert next(rows) == (2, ["1", "2"])
    with pytest.raises(reader.Unprocessable, match="malformed near line"):
        next(rows)


def test_a_csv_over_the_row_limit_is_refused_before_any_row_is_read():
    """More lines than rows allowed: the file is read whole at once and refused (413)
    before a single row reaches validation."""
    limits = reader.Limits(10**9, 2, 10**9, 10**9, 10**9)
    with pytest.raises(reader.TooLarge):
        reader.open_table("rows.csv", b"a,b\n1,2\n3,4\n5,6\n", limits)
    stream = reader.open_table("rows.csv", b"a,b\n1,2\n,\n3,4\n", limits)  # a blank row
    assert [n for n, _ in stream.rows] == [2, 4]


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


@pytest.mark.parametrize(
    "description",
    [
        "冷柜; HACCP:未建立",  # refused on re-import: 'HACCP' is not a severity
        "见附件；minor：标签不清",  # read back as two findings
        "记录不全;",  # its ; dropped
        "记录不全；；",
        "路径 C:\\tmp\\",  # ends in a backslash, before the next finding's separator
        "已escape \\; minor:b",  # a backslash of its own before such a ;
        "a\\;b",  # a backslash before an ordinary ; stays as it is
    ],
)
def test_a_findings_cell_reads_back_the_descriptions_the_export_wrote(description):
    """The export writes inspector findings into one cell; a description with a ; or ；
    before ``word:``, or at its end, was refused on re-import, split in two or cut."""
    from inspect_core.imports.service import _parse_findings, findings_cell

    findings = [
        {"severity": "major", "description": description, "code": "FS-1"},
        {"severity": "minor", "description": description},
    ]
    assert _parse_findings(findings_cell(findings)) == findings


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(";；:：[]［］\\ \u3000aminorHACP记", min_size=1), min_size=1, max_size=3))
def test_any_findings_cell_the_export_writes_reads_back(descriptions):
    """Whatever the descriptions, the cell reads back as the findings it was written from
    (the neighbour's text counts too: ``a;b[`` before ``; minor:]:`` read as a code)."""
    from inspect_core.imports.service import _parse_findings, findings_cell

    findings = [{"severity": "minor", "description": d.strip()} for d in descriptions]
    assume(all(f["description"] for f in findings))
    assert _parse_findings(findings_cell(findings)) == findings


def test_a_whole_number_past_64_bits_is_read_as_its_text():
    """An int past 64 bits could not be stored in a row error (a 500): it is read as text."""
    assert reader.normalise_cell(5.0) == 5 and reader.normalise_cell(2**63 - 1) == 2**63 - 1
    assert reader.normalise_cell(-(2**63)) == -(2**63)
    assert reader.normalise_cell(1e308) == "1e+308"
    assert reader.normalise_cell(2**64) == "18446744073709551616"


def _records(content: bytes, filename: str, fields: list[str | None]) -> list:
    """``(row, record, problems)`` of each data row, read as an upload reads them."""
    table = reader.read_table(filename, content, LIMITS)
    return [
        (n, rec, problems) for n, rec, _, problems in reader.iter_records(table, fields, LIMITS)
    ]


@pytest.mark.parametrize("pieces", [False, True])
def test_a_csv_cell_past_the_header_is_a_problem_of_its_row(pieces):
    """An unquoted comma in the last column makes one cell more than the header has: the
    text after it was dropped without a word, the row stored.  Its row is refused naming
    the cell, also where workers parse the CSV's lines themselves (TextChunk)."""
    content = "name,address\n甲,重庆市九龙坡区,杨家坪步行街1号\n乙,华岩路1号,\n".encode()
    stream = reader.open_table("e.csv", content, LIMITS)
    if pieces:
        rows = [row for piece in stream.pieces([1] * 10) for row in piece.rows()]
    else:
        rows = list(stream.rows)
    records = reader.records_of(stream.headers, rows, ["name", "address"], LIMITS)
    assert [(n, problems) for n, _, _, problems in records] == [
        (2, [("C", "杨家坪步行街1号", "more cells than the header has columns (from C2 on)")]),
        (3, []),  # an empty cell past the header (Excel pads rows so) holds nothing
    ]


def test_an_xlsx_value_without_a_header_is_a_problem_of_its_row():
    """A value under a blank header cell, or right of the header's last one, was dropped
    without a word.  A column the caller ignores on purpose has a header (errors.xlsx's
    reason column, :data:`~inspect_core.imports.service.REASON_HEADER`): it stays quiet."""
    content = xlsx_with_sheet(
        [
            ["name", None, "address", "reason"],
            ["甲", "九龙坡区", "华岩路1号", "an old reason", "x"],
            ["乙", None, "华岩路2号", "an old reason"],
        ],
        lambda xml: xml,
    )
    assert _records(content, "e.xlsx", ["name", None, "address", None]) == [
        (2, {"name": "甲", "address": "华岩路1号"}, [
            ("B", "九龙坡区", "B2 holds a value but its column has no header"),
            ("E", "x", "more cells than the header has columns (from E2 on)"),
        ]),
        (3, {"name": "乙", "address": "华岩路2号"}, []),
    ]  # fmt: skip


def _cached(xml: str) -> str:
    """A sheet edit: C2's formula saved with its result, and B3's as Excel saves ``=""``."""
    xml = xml.replace("<f>1+1</f><v />", "<f>1+1</f><v>2</v>")
    return xml.replace('<c r="B3"><f>""</f><v />', '<c r="B3" t="str"><f>""</f><v></v>')


def _prefixed(xml: str) -> str:
    """A sheet edit: every element with a namespace prefix (``<x:c>``), as .NET tools write."""
    xml = re.sub(r"<(/?)(\w+)", r"<\1x:\2", xml)
    return xml.replace('xmlns="', 'xmlns:x="', 1)


def _unplaced(xml: str) -> str:
    """A sheet edit: cells without their ``r``, placed by their order in the row."""
    return re.sub(r'<c r="[A-Z]+[0-9]+"', "<c", xml)


@pytest.mark.parametrize("layout", [None, _prefixed, _unplaced])
def test_an_xlsx_formula_without_a_computed_value_is_a_problem_naming_its_cell(layout):
    """openpyxl and other programs save a formula without its result; read for values,
    the cell was blank and the row stored without it.  A formula saved with its result
    (by Excel, WPS) reads as that result, an empty text as a blank cell."""
    rows = [["name", "address", "n"], ["甲", '="华岩路"&"1号"', "=1+1"], ["乙", '=""', 3]]
    content = xlsx_with_sheet(rows, lambda xml: (layout or str)(_cached(xml)))
    reason = (
        "B2 is a formula without a computed value: open and save the file in Excel, or paste values"
    )
    assert _records(content, "f.xlsx", ["name", "address", "n"]) == [
        (2, {"name": "甲", "n": 2}, [("address", None, reason)]),
        (3, {"name": "乙", "n": 3}, []),
    ]


def test_the_cells_under_a_merged_range_are_problems_naming_the_range():
    """A merged range shows its first cell's value over all its cells; the others read as
    blank, and the rows were stored without it.  Merges that hide no value are left
    alone: within the header row, or of blank cells."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in [
        ["name", "address", "n"],
        ["甲", "华岩路1号", 1],
        ["乙", None, 2],
        ["丙", "华岩路3号", None],
        ["丁", "华岩路4号", None],
        ["戊", None, 5],
    ]:
        ws.append(row)
    for cells in ["C1:D1", "B2:B3", "C4:C5", "A6:B6"]:
        ws.merge_cells(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    records = _records(buffer.getvalue(), "m.xlsx", ["name", "address", "n"])
    assert [(n, problems) for n, _, problems in records] == [
        (2, []),
        (3, [("address", None, "B2:B3 is merged: unmerge and fill each cell")]),
        (4, []),
        (5, []),
        (6, [("address", None, "A6:B6 is merged: unmerge and fill each cell")]),
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (1.1 * 0.2 - 0.02, "0.2"),  # =1.1*0.2-0.02: Excel shows 0.2, the file holds ...04
        (0.1 + 0.2, "0.3"),
        (0.1 * 3 * 10, 3),  # 3.0000000000000004: a whole number as Excel shows it
        (0.123456789012345, "0.123456789012345"),  # 15 significant digits: kept
        (1.5e-05, "1.5e-05"),
    ],
)
def test_a_computed_number_reads_as_excel_shows_it(cell, expected):
    """A formula's value is saved in full binary precision; Excel shows and compares it to
    15 significant digits.  Read as 0.20000000000000004, a value shown at its limit (0.2)
    was judged over it."""
    assert reader.normalise_cell(cell) == expected


def _percent_sheet(layout: object = None) -> bytes:
    """C2 typed as 98.6% (stored 0.986 in a 0.0% cell), C3 a plain number, C4 a percentage
    computed by a formula, D2 a percentage cell left empty, E2 a literal "%" (not scaled)."""
    rows = [["name", "n", "assay", "empty", "literal"], ["甲", 1, 0.986, None, 5],
            ["乙", 2, 98.6, None, None], ["丙", 3, "=C2", None, None]]  # fmt: skip

    def edit(xml: str) -> str:
        xml = xml.replace("<f>C2</f><v />", "<f>C2</f><v>0.986</v>")
        return (layout or str)(xml)  # type: ignore[operator]

    formats = {"C2": "0.0%", "C4": "0.0%", "D2": "0.0%", "E2": '0"%"'}
    return xlsx_with_sheet(rows, edit, formats)


@pytest.mark.parametrize("layout", [None, _prefixed, _unplaced])
def test_a_number_in_a_percentage_cell_is_a_problem_naming_its_cell(layout):
    """Excel stores a typed 98.6% as 0.986 in a cell formatted as a percentage; read for
    its value, 0.986 was stored where the column asks for 98.6 (含量测定结果（%标示量）)
    and judged a hundred times too small.  The row is refused naming the cell, the number
    shown; a number in a plain cell, or beside a literal "%", is read as it is."""
    reason = (
        "{} is formatted as a percentage, which Excel stores divided by 100 (98.6% as "
        "0.986): type the number without %, in a cell formatted as a number"
    )
    records = _records(_percent_sheet(layout), "p.xlsx", ["name", "n", "assay", "empty", "lit"])
    assert records == [
        (2, {"name": "甲", "n": 1, "lit": 5}, [("assay", "0.986", reason.format("C2"))]),
        (3, {"name": "乙", "n": 2, "assay": "98.6"}, []),
        (4, {"name": "丙", "n": 3}, [("assay", "0.986", reason.format("C4"))]),
    ]
