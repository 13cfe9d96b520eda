"""Reading uploaded CSV and Excel files the way Chinese offices really write them.

CSV in UTF-8 (with or without BOM) or GB18030/GBK; ``.xlsx`` through openpyxl in
read-only mode, after a guard against zip bombs.  Cells are trimmed (full-width spaces
too); a cell that NFKC turns into plain ASCII (full-width digits, letters, codes) is read
in that form, and dates written as 2026-11-25, 2026/11/25 or 2026年11月25日 (full-width
digits too) become ISO dates.  Any other text is kept as written, in NFC, as the JSON API
keeps it: names and descriptions keep their full-width brackets, colons and ℃.  Every
limit refuses the file before any row is stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from inspect_core.errors import ApiError, Unprocessable
from inspect_core.workbook import QUOTED

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class TooLarge(ApiError):
    status_code = 413


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_cell_chars: int
    max_xlsx_uncompressed: int
    max_xlsx_ratio: int


@dataclass
class Table:
    """Headers as written in the file and the data rows (1-based sheet row numbers)."""

    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    format: str
    encoding: str | None = None


@dataclass
class Stream:
    """A file's headers and its data rows as they are read, so that a large upload's first
    rows are validated while the rest of the file is still being parsed.

    ``estimate`` is the number of data rows expected (the lines of a CSV, an .xlsx sheet's
    declared dimension), for chunking and progress; the rows themselves may be fewer
    (blank rows) or, in a file whose dimension lies, more.  Iterating ``rows`` can still
    refuse the file (a malformed CSV line, one row too many), so a caller stores nothing
    it cannot roll back.
    """

    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    format: str
    estimate: int
    encoding: str | None = None
    #: a CSV whose records are its lines (no quoted cells, one kind of line ending): the
    #: text after the header, which :meth:`pieces` cuts into :class:`TextChunk` for worker
    #: processes to parse themselves (see :meth:`pieces`)
    body: str | None = None
    delimiter: str = ","
    quoted: bool = False

    def pieces(self, sizes: Iterable[int]) -> Iterator[TextChunk]:
        """The body in pieces of ``sizes`` lines each (the last piece takes what is left).

        Parsing 100,000 rows into lists of cells took 0.46 s in the importing process, and
        sending them to the workers as pickled lists 0.38 s more there and about as much
        again to unpickle; a piece of text crosses in a few milliseconds, and each worker
        parses its own.  Only for :attr:`body`; :attr:`rows` is then not to be read."""
        assert self.body is not None
        text, start, number = self.body, 0, 2
        for n in sizes:
            if start >= len(text):
                return
            end = start
            for _ in range(n):
                end = text.find("\n", end) + 1
                if end == 0:
                    end = len(text)
                    break
            yield TextChunk(text[start:end], number, self.delimiter, self.quoted)
            number += text.count("\n", start, end)
            start = end

    def read(self) -> Table:
        """All of it, read now."""
        return Table(self.headers, list(self.rows), self.format, self.encoding)

    @classmethod
    def of(cls, table: Table) -> Stream:
        return cls(table.headers, iter(table.rows), table.format, len(table.rows), table.encoding)


class MalformedChunk(Exception):
    """A :class:`TextChunk` that csv refuses: ``(line, reason)``, plain enough to cross
    back from a worker process."""


@dataclass(frozen=True)
class TextChunk:
    """Lines of a CSV (whole records, no quoted cells), parsed where they are validated."""

    text: str
    first_row: int
    delimiter: str
    quoted: bool

    def rows(self) -> list[tuple[int, list[Any]]]:
        """The data rows, numbered and filtered exactly as :func:`read_csv` does."""
        reader = csv.reader(
            io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True
        )
        try:
            return [
                (number, [_unquoted(c) for c in row] if self.quoted else row)
                for number, row in enumerate(reader, start=self.first_row)
                if any(cell.strip() for cell in row)
            ]
        except csv.Error as exc:
            raise MalformedChunk(self.first_row + reader.line_num - 1, str(exc)) from None


def malformed_line(line: int, reason: str) -> Unprocessable:
    return Unprocessable(
        f"the CSV is malformed near line {line}: {reason}", {"file": [f"line {line}: {reason}"]}
    )


def sniff_format(filename: str, content: bytes) -> str:
    name = filename.lower()
    if content[:4] == b"PK\x03\x04" or name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith((".xls",)) or content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Unprocessable(
            "old .xls files are not read; save as .xlsx or CSV",
            {"file": ["Excel 97-2003 (.xls) format; use .xlsx or CSV"]},
            message_zh="不支持旧版 .xls 格式，请另存为 .xlsx 或 CSV",
        )
    return "csv"


def normalise_cell(value: Any) -> Any:
    """Trimmed text (see the module's docstring); ISO dates; whole floats as ints (within
    64 bits); empty → None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    # a whole number is an int while 64 bits hold it, else its text: a row error showing
    # a larger one (1E+308, 309 digits) could not be stored, the import was a 500
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**63 else repr(value)
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    text = value if type(value) is str else str(value)
    if not text.isascii():  # the usual cell is ASCII: no Unicode work for it
        return _non_ascii(text)
    text = text.strip()
    if not text:
        return None
    # a date starts with four digits (what \d matches, str.isdigit accepts too)
    match = _DATE.match(text) if text[:4].isdigit() else None
    if match:
        try:
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        except ValueError:
            return text  # not a real date: the schema will say so, naming the column
    return text


def _non_ascii(text: str) -> str | None:
    """Full-width tolerance without rewriting text: the NFKC form when it is plain ASCII
    (１２３, ＡＢＣ, a USCC) or a date (２０２６年１１月２５日); else NFC of the cell as
    written, so （九龙坡）, ：, ℃ are stored as typed, like the JSON API stores them."""
    nfkc = unicodedata.normalize("NFKC", text)
    folded = nfkc.strip()
    if folded.isascii():
        return normalise_cell(folded)
    match = _DATE.match(folded) if folded[:4].isdigit() else None
    if match:
        try:
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        except ValueError:
            pass  # not a real date: the schema will say so, naming the column
    if nfkc == text:  # the usual Chinese text: NFKC already, so NFC too
        return folded
    return unicodedata.normalize("NFC", text).strip() or None


def _decode_csv(content: bytes) -> tuple[str, str]:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8"), "utf-8-sig"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise Unprocessable(
            "the CSV is neither UTF-8 nor GB18030/GBK",
            {"file": ["unknown text encoding; save as UTF-8 or GBK CSV"]},
            message_zh="无法识别文件编码",
        ) from None


def _unquoted(cell: str) -> str:
    """``'=…`` → ``=…``: the apostrophe an export put before text that would start a
    formula (``workbook.csv_cell``), so that an export re-imports as it was stored."""
    return cell[1:] if QUOTED.match(cell) else cell


def read_csv(content: bytes, limits: Limits) -> Table:
    return open_csv(content, limits).read()


def open_csv(content: bytes, limits: Limits) -> Stream:
    """The CSV's rows as they are parsed (:class:`Stream`).  A file with more lines than
    the row limit allows is read whole first, so that it is refused (413) before any of
    its rows is validated; blank lines and line breaks in cells only make that rarer."""
    text, encoding = _decode_csv(content)
    if "\x00" in text:
        raise Unprocessable("the CSV contains NUL bytes", {"file": ["binary data in a CSV"]})
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _malformed(reader, exc) from None
    if header is None:
        raise Unprocessable("the file is empty", {"file": ["no header row"]})
    # one scan, not one per cell (and the regex only when there is an apostrophe at all)
    quoted = "'" in text and QUOTED.search(text) is not None
    # records ≤ lines: "\n" or "\r\n" ends one, and so does a lone "\r" (Excel for Mac)
    cut = min((i for i in (text.find("\n"), text.find("\r")) if i != -1), default=len(text))
    body = cut + (2 if text.startswith("\r\n", cut) else 1)
    ends = max(text.count("\n", body), text.count("\r", body))
    lines = ends + (not text.endswith(("\n", "\r")))
    rows = _csv_rows(reader, quoted, limits)
    stream = Stream([h.strip() for h in header], rows, "csv", lines, encoding)
    if lines > limits.max_rows:
        return Stream.of(stream.read())
    # each line one record: no quote anywhere, and "\r" only as part of "\r\n"
    if '"' not in text and ("\r" not in text or text.count("\r") == text.count("\r\n")):
        stream.body = text[len(first_line) + 1 :]
        stream.delimiter, stream.quoted = delimiter, quoted
    return stream


def _malformed(reader: Any, exc: csv.Error) -> Unprocessable:
    return malformed_line(reader.line_num, str(exc))


def _csv_rows(reader: Any, quoted: bool, limits: Limits) -> Iterator[tuple[int, list[Any]]]:
    """The data rows after the header: Excel's ",,,," rows (a cleared row) skipped, at
    most ``limits.max_rows``."""
    count = 0
    try:
        # the sheet row the user sees: records counted, not lines (reader.line_num is
        # where a record ends, one more for each line break inside a quoted cell)
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue  # Excel saves a cleared row as ",,,,": not data (as in read_xlsx)
            if count >= limits.max_rows:
                raise TooLarge(
                    f"more than {limits.max_rows} rows",
                    {"file": [f"at most {limits.max_rows} data rows per file"]},
                )
            count += 1
            yield number, [_unquoted(c) for c in row] if quoted else row
    except csv.Error as exc:
        raise _malformed(reader, exc) from None


def check_zip(content: bytes, limits: Limits) -> None:
    """Refuse an .xlsx whose unpacked size or compression ratio is absurd (a zip bomb)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except zipfile.BadZipFile:
        raise Unprocessable(
            "not a valid .xlsx file",
            {"file": ["not a zip/xlsx archive"]},
            message_zh="不是有效的 xlsx 文件",
        ) from None
    total = sum(i.file_size for i in infos)
    if total > limits.max_xlsx_uncompressed:
        raise TooLarge(
            f"the workbook unpacks to {total} bytes (limit {limits.max_xlsx_uncompressed})",
            {"file": ["unpacked size over the limit (possible zip bomb)"]},
        )
    for info in infos:
        if info.compress_size and info.file_size / info.compress_size > limits.max_xlsx_ratio:
            raise TooLarge(
                f"{info.filename} is compressed {info.file_size // info.compress_size}:1",
                {"file": ["compression ratio over the limit (possible zip bomb)"]},
            )
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise Unprocessable(
            "not an Excel workbook", {"file": ["no xl/workbook.xml in the archive"]}
        )


def read_xlsx(content: bytes, limits: Limits) -> Table:
    return open_xlsx(content, limits).read()


def open_xlsx(content: bytes, limits: Limits) -> Stream:
    """The first sheet's rows as openpyxl reads them (:class:`Stream`).  A sheet without a
    dimension, with a one-cell one, or one declaring more rows than the limit, is read
    whole first."""
    from openpyxl import load_workbook

    check_zip(content, limits)
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on broken files
        raise Unprocessable(f"the workbook cannot be read: {exc}", {"file": [str(exc)]}) from None
    try:
        ws = wb.worksheets[0]
        declared = ws.max_row if ws.max_row is not None and ws.max_row > 0 else None
        columns = ws.max_column if ws.max_column is not None and ws.max_column > 1 else None
        # openpyxl stops at the sheet's declared dimension; a writer that got it wrong
        # (some export tools write "A1") would lose every row past it without a word
        ws.reset_dimensions()
        # a row is as wide as asked (each cell placed by its column, in whatever order the
        # writer put them) or else as its last cell says: the declared columns, and at
        # least the header's, for every row
        header = next(ws.iter_rows(max_row=1, max_col=columns, values_only=True), None)
        if header is None:
            raise Unprocessable("the workbook's first sheet is empty", {"file": ["no header row"]})
        width = max(len(header), columns or 0)
        iterator = ws.iter_rows(min_row=2, max_col=width or None, values_only=True)
    except ApiError:
        wb.close()
        raise
    except Exception as exc:  # noqa: BLE001 - read-only mode parses the sheet only here
        wb.close()
        raise _broken_sheet(exc) from None
    headers = [str(h).strip() if h is not None else "" for h in header]
    while headers and headers[-1] == "":
        headers.pop()
    rows = _xlsx_rows(wb, iterator, len(headers), limits)
    if declared is None or declared <= 1 or declared - 1 > limits.max_rows:
        # no dimension, a bogus one ("A1"), or more rows than allowed: read it all now
        return Stream.of(Table(headers, list(rows), "xlsx"))
    return Stream(headers, rows, "xlsx", declared - 1)


def _broken_sheet(exc: Exception) -> Unprocessable:
    return Unprocessable(
        f"the workbook's first sheet cannot be read (broken .xlsx sheet XML): {exc}",
        {"file": [f"first sheet of the .xlsx: {exc}"]},
        message_zh="xlsx 文件的工作表无法解析，请用 Excel 打开后另存为 .xlsx 再上传",
    )


def _xlsx_rows(
    wb: Any, iterator: Iterator[tuple[Any, ...]], width: int, limits: Limits
) -> Iterator[tuple[int, list[Any]]]:
    """The data rows after the header, blank rows skipped, at most ``limits.max_rows``;
    the workbook is closed when they are read (or abandoned)."""
    count = 0
    try:
        for number, values in enumerate(iterator, start=2):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            if count >= limits.max_rows:
                raise TooLarge(
                    f"more than {limits.max_rows} rows",
                    {"file": [f"at most {limits.max_rows} data rows per file"]},
                )
            count += 1
            yield number, list(values[:width])
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - read-only mode parses the sheet only here
        raise _broken_sheet(exc) from None
    finally:
        wb.close()


def read_table(filename: str, content: bytes, limits: Limits) -> Table:
    return open_table(filename, content, limits).read()


def open_table(filename: str, content: bytes, limits: Limits) -> Stream:
    """The file's rows as they are read (see :class:`Stream`); :func:`read_table` reads
    them all at once."""
    if len(content) > limits.max_bytes:
        raise TooLarge(
            f"file of {len(content)} bytes (limit {limits.max_bytes})",
            {"file": [f"larger than {limits.max_bytes} bytes"]},
        )
    if not content:
        raise Unprocessable("the file is empty", {"file": ["empty"]})
    fmt = sniff_format(filename, content)
    return open_xlsx(content, limits) if fmt == "xlsx" else open_csv(content, limits)


def header_map(
    headers: Sequence[str], aliases: dict[str, str]
) -> tuple[list[str | None], list[str]]:
    """Map each header (zh-CN or English, NFKC-normalised) to a field name.

    Returns the per-position field names (None for blank headers) and the unknown headers.
    """
    mapped: list[str | None] = []
    unknown = []
    for raw in headers:
        text = unicodedata.normalize("NFKC", raw or "").strip()
        if not text:
            mapped.append(None)
            continue
        name = aliases.get(text) or aliases.get(text.lower())
        if name is None:
            unknown.append(raw)
        mapped.append(name)
    return mapped, unknown


def iter_records(
    table: Table, fields: Sequence[str | None], limits: Limits
) -> Iterator[tuple[int, dict[str, Any], dict[str, str], list[tuple[str, Any, str]]]]:
    """Each row as ``(row_number, {field: value}, {field: header}, cell_errors)``."""
    return records_of(table.headers, table.rows, fields, limits)


def records_of(
    headers: Sequence[str],
    rows: Sequence[tuple[int, list[Any]]],
    fields: Sequence[str | None],
    limits: Limits,
) -> Iterator[tuple[int, dict[str, Any], dict[str, str], list[tuple[str, Any, str]]]]:
    """:func:`iter_records` over some of a table's rows (a bulk upload's worker chunk)."""
    header_of = {f: h for f, h in zip(fields, headers, strict=False) if f}
    longest = limits.max_cell_chars
    for number, values in rows:
        record: dict[str, Any] = {}
        problems: list[tuple[str, Any, str]] = []
        for field, value in zip(fields, values, strict=False):
            if field is None:
                continue
            if type(value) is str and value.isascii() and not value[:4].isdigit():
                cell = value.strip() or None  # normalise_cell's answer for such text
                if cell is not None and cell[:4].isdigit():
                    cell = normalise_cell(cell)  # " 2026/11/25": maybe a date
            else:
                cell = normalise_cell(value)
            if type(cell) is str and len(cell) > longest:
                problems.append((field, cell[:50] + "…", f"longer than {longest} characters"))
                continue
            if cell is not None:
                record[field] = cell
        yield number, record, header_of, problems
