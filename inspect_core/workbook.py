"""Excel workbooks the API hands out: sector upload templates and error reports."""

from __future__ import annotations

import csv
import io
import pickle
import re
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from inspect_core.errors import Unprocessable
from inspect_core.plugin_api import TemplateColumn

HEADER_FONT = Font(bold=True)
REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: the OpenAPI answer of an export offered as CSV (``format=csv``, the default) or Excel
#: (``format=xlsx``): ``@blp.response(200, **CSV_RESPONSE)`` documents the first and
#: ``@blp.alt_response(200, **XLSX_ALSO)`` adds the second, so the document names both
CSV_RESPONSE: dict[str, Any] = {
    "schema": {"type": "string", "description": "UTF-8 with a byte-order mark"},
    "content_type": "text/csv",
}
XLSX_ALSO: dict[str, Any] = {
    "schema": {"type": "string", "format": "binary"},
    "content_type": XLSX_MIMETYPE,
    "success": True,
}

#: what Excel and WPS read as the start of a formula in a CSV cell (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: text that gets (``'*``) or got (``'+``) the protective apostrophe: apostrophes, then a
#: formula start
PROTECTED = re.compile("'*[" + re.escape("".join(FORMULA_START)) + "]")
QUOTED = re.compile("'+[" + re.escape("".join(FORMULA_START)) + "]")


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet will not run as a formula.

    Names, addresses and findings come from uploads and the API: ``=HYPERLINK(…)`` in an
    enterprise name would run when a regulator opens the export.  Text that would start a
    formula gets a leading apostrophe, as OWASP advises; numbers such as ``-0.5`` stay as
    they are.  The importer drops one apostrophe before such text again (:data:`QUOTED`),
    so an export re-imports as it was — text that began with one (``'=x``) gets another.
    """
    if type(value) is str and PROTECTED.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as UTF-8 CSV lines (``None`` an empty cell), each cell safe to open in a
    spreadsheet (:func:`csv_cell`): a whole export, or one page of a streamed one."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


#: rows a :class:`RowSpool` keeps in memory before it moves to a temporary file (bytes)
ROW_SPOOL = 16 * 1024 * 1024


class RowSpool:
    """Rows of an export whose columns are known only after its last row, kept in a
    temporary file as they come instead of a list: in memory up to :data:`ROW_SPOOL`
    bytes, on disk beyond.  Each row holds the columns known when it was added (the
    columns only grow, at the end), and :meth:`rows` pads it to the final width.

    Pickled: the cells are the export's own values (text, numbers, dates, ``None``),
    which pickle gives back with their types, and the file is this process's own
    (``tempfile``: created mode 0600, deleted on close), never read from elsewhere.
    """

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=ROW_SPOOL)  # noqa: SIM115
        self.count = 0
        # closed by :meth:`close` (the server closes a response, which closes this), or
        # at the latest when the spool is collected: a HEAD, or a test that never
        # closes its response, does not leave the file to the interpreter's exit
        self._close = weakref.finalize(self, self._file.close)

    def add(self, row: list[Any]) -> None:
        pickle.dump(row, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def rows(self, width: int) -> Iterator[list[Any]]:
        """Every row in the order added, padded with ``None`` to ``width`` cells."""
        self._file.seek(0)
        for _ in range(self.count):
            row = pickle.load(self._file)  # noqa: S301 - our own file, written above
            yield row + [None] * (width - len(row))

    def close(self) -> None:
        self._close()

    @property
    def closed(self) -> bool:
        return not self._close.alive

    def __enter__(self) -> RowSpool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def template_workbook(
    title: str, columns: Sequence[TemplateColumn], choices: dict[str, Sequence[str]] | None = None
) -> bytes:
    """Row 1: zh-CN headers (English name in each header's comment); row 2: an example.

    A second sheet lists every column: zh-CN header, English (JSON) name, required, notes.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "结果 Results"
    for i, col in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i, value=col.header_zh)
        cell.font = HEADER_FONT
        if col.required:
            cell.fill = REQUIRED_FILL
        cell.comment = Comment(
            f"{col.name}" + (f"\n{col.notes}" if col.notes else ""), "inspect-core"
        )
        ws.cell(row=2, column=i, value=col.example)
        ws.column_dimensions[get_column_letter(i)].width = max(
            12, min(40, len(col.header_zh) * 2 + 4)
        )
    for name, allowed in (choices or {}).items():
        index = next((i for i, c in enumerate(columns, start=1) if c.name == name), None)
        if index is None:
            continue
        letter = get_column_letter(index)
        rule = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True)
        rule.add(f"{letter}2:{letter}100001")
        ws.add_data_validation(rule)
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("说明 Columns")
    notes.append(["表头 Header (zh-CN)", "字段 Field (English)", "必填 Required", "说明 Notes"])
    for cell in notes[1]:
        cell.font = HEADER_FONT
    for col in columns:
        notes.append([col.header_zh, col.name, "是 yes" if col.required else "否 no", col.notes])
    notes.append([])
    notes.append([title])
    return _save(wb)


def rows_workbook(sheet: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A plain workbook in memory: one header row, then the rows (error reports, the
    results export; :func:`write_rows_workbook` says how cells are written)."""
    if len(rows) + 1 > XLSX_MAX_ROWS:  # refused before a row is written
        raise too_many_rows()
    buffer = io.BytesIO()
    write_rows_workbook(buffer, sheet, headers, rows)
    return buffer.getvalue()


def write_rows_workbook(
    target: IO[bytes], sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write a plain workbook, one header row then the rows, to ``target``.

    The rows may be a generator: openpyxl's write-only sheet sends each row to a
    temporary file as it comes, so a million-row export never holds its rows whole.
    Every text is stored as text: openpyxl would store ``=…`` as a live formula, which runs
    when the file is opened.  Control characters that XML cannot hold (a pasted ``\x0b``,
    say) become U+FFFD instead of failing the whole download.  A row past what a sheet
    holds (:data:`XLSX_MAX_ROWS`) is a 422 naming ``format``; what was written to
    ``target`` by then is to be thrown away.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)

    def cell(value: Any) -> Any:
        if type(value) is not str:
            return value
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if not value.startswith("="):
            return value
        text = WriteOnlyCell(ws, value=value)
        text.data_type = "s"
        return text

    ws.append([cell(h) for h in headers])
    written = 1
    for row in rows:
        if written == XLSX_MAX_ROWS:
            # saved all the same: that closes and removes the sheet's temporary file,
            # which a workbook given up would leave until the process exits
            wb.save(target)
            raise too_many_rows()
        ws.append([cell(v) for v in row])
        written += 1
    wb.save(target)


#: the rows a sheet holds (Excel, WPS): openpyxl writes more without a word, and the file
#: then opens as damaged, the rows past the limit dropped
XLSX_MAX_ROWS = 1_048_576


def too_many_rows() -> Unprocessable:
    """422 naming ``format`` for an export past :data:`XLSX_MAX_ROWS` (header included)."""
    return Unprocessable(
        f"more than {XLSX_MAX_ROWS - 1} rows: an Excel sheet holds {XLSX_MAX_ROWS} with "
        "the header; export as csv, or narrow the filters",
        {"format": [f"xlsx holds at most {XLSX_MAX_ROWS - 1} rows; use csv"]},
        message_zh=f"超过{XLSX_MAX_ROWS - 1}行，Excel 工作表无法容纳，请导出 CSV 或缩小筛选范围",
    )


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
