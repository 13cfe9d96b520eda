"""Reading uploaded CSV and Excel files the way Chinese offices really write them.

CSV in UTF-8 (with or without BOM) or GB18030/GBK; ``.xlsx`` through openpyxl in
read-only mode, after a guard against zip bombs.  Cells are trimmed (full-width spaces
too); a cell that NFKC turns into plain ASCII (full-width digits, letters, codes) is read
in that form, and dates written as 2026-11-25, 2026/11/25 or 2026年11月25日 (full-width
digits too) become ISO dates.  Any other text is kept as written, in NFC, as the JSON API
keeps it: names and descriptions keep their full-width brackets, colons and ℃.  Every
limit refuses the file before any row is stored.

A cell whose value cannot be read is never taken as blank: a cell past the header or under
a blank header, an .xlsx formula saved without its computed value, a cell hidden under a
merged range.  Each is a row error naming the cell (:func:`records_of`).  So is a number
in a cell formatted as a percentage: Excel stores a typed 98.6% as 0.986, which no column
of a template means.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.utils.cell import get_column_letter

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


@dataclass(frozen=True)
class Unreadable:
    """An .xlsx cell whose value the file does not hold (:func:`open_xlsx` puts it in
    place of the ``None`` openpyxl reads): a formula saved without its computed value,
    or a cell under a merged range; or one whose number is not what it shows (a
    percentage).  :func:`records_of` makes it a row error; anywhere else (errors.xlsx, a
    task number looked up) it reads as blank, or as the number it holds."""

    reason: str
    #: the number a percentage cell holds (0.986 for 98.6%), shown beside the reason and
    #: in errors.xlsx; None for a cell whose value the file does not hold
    value: Any = None

    def __str__(self) -> str:
        return "" if self.value is None else str(normalise_cell(self.value))


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
        # as Excel shows and compares it, to 15 significant digits: the .xlsx holds a
        # computed cell's binary noise (=1.1*0.2-0.02 shows 0.2, is 0.20000000000000004),
        # and a value shown at its limit was judged over it; a typed value has 15 at most
        if not value.is_integer() and math.isfinite(value):
            value = float(f"{value:.15g}")
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
        marks = _sheet_marks(content, ws._worksheet_path, header, _percent_styles(wb))
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
    rows = _xlsx_rows(wb, iterator, marks, limits)
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
    wb: Any, iterator: Iterator[tuple[Any, ...]], marks: _Marks | None, limits: Limits
) -> Iterator[tuple[int, list[Any]]]:
    """The data rows after the header, blank rows skipped, at most ``limits.max_rows``;
    the workbook is closed when they are read (or abandoned).  Each row is as wide as
    read, cells past the header included (:func:`records_of` refuses those that hold a
    value); the cells ``marks`` names are :class:`Unreadable`."""
    count = 0
    try:
        for number, values in enumerate(iterator, start=2):
            if marks is not None:
                values = marks.apply(number, values)
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            if count >= limits.max_rows:
                raise TooLarge(
                    f"more than {limits.max_rows} rows",
                    {"file": [f"at most {limits.max_rows} data rows per file"]},
                )
            count += 1
            yield number, list(values)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - read-only mode parses the sheet only here
        raise _broken_sheet(exc) from None
    finally:
        wb.close()


#: a formula element (``<f>``, ``<f t="shared" …/>``, ``<x:f>``), found in the sheet's
#: bytes without parsing them: a sheet without one has no formula to look at
_FORMULA = (re.compile(rb"<f[\s/>]"), re.compile(rb":f[\s/>]"))
_MERGE = re.compile(rb"""<(?:[\w.-]+:)?mergeCell\b[^>]*?\sref\s*=\s*["']([^"']*)["']""")


def _sheet_marks(
    content: bytes, path: str, header: Sequence[Any], percent_styles: frozenset[int] = frozenset()
) -> _Marks | None:
    """The cells of the first sheet that read as ``None`` but are not blank: formulas
    without a computed value and cells under a merged range; and the numbers in cells of
    ``percent_styles`` (:func:`_percentages`); or ``None`` when there are none (the usual
    sheet: then no row pays for the check).

    openpyxl's read-only mode shows neither (``data_only`` gives a formula's cached value,
    or ``None``; merged ranges are not kept), so the sheet's XML is unpacked once more and
    searched, not parsed: about 60 ms for 20,000 rows of 20 columns, which openpyxl reads
    in 3.6 s.  Only a sheet with a formula is searched further (:func:`_uncomputed`,
    about 0.1 s more with a formula in every row)."""
    merges: set[bytes] = set()
    formulas = False
    tail = b""
    with zipfile.ZipFile(io.BytesIO(content)) as archive, archive.open(path) as source:
        while chunk := source.read(1 << 20):
            text = tail + chunk
            formulas = formulas or any(f.search(text) for f in _FORMULA)
            if b"mergeCell" in text:
                merges.update(_MERGE.findall(text))
            tail = text[-256:]  # a tag cut in two by the chunks is whole in the next
        uncomputed = _uncomputed(archive, path) if formulas else {}
        percents = _percentages(archive, path, percent_styles) if percent_styles else {}
    if not merges and not uncomputed and not percents:
        return None
    return _Marks(uncomputed, [m.decode() for m in merges], header, percents)


#: what a number format shows as written, not as a placeholder: "text", \x, [Red], [$-804]
_FORMAT_LITERAL = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')


def _percent_styles(wb: Any) -> frozenset[int]:
    """The cell styles (a cell's ``s``) whose number format is a percentage (``0%``,
    ``0.0%``): Excel stores the number typed as 98.6% as 0.986, and openpyxl reads 0.986.
    A ``%`` in quotes or after a backslash is only shown, not a percentage."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE

    custom = list(getattr(wb, "_number_formats", ()) or ())
    found = set()
    for index, style in enumerate(getattr(wb, "_cell_styles", ()) or ()):
        number = style.numFmtId
        if number < BUILTIN_FORMATS_MAX_SIZE:
            code = BUILTIN_FORMATS.get(number, "")
        elif number - BUILTIN_FORMATS_MAX_SIZE < len(custom):
            code = custom[number - BUILTIN_FORMATS_MAX_SIZE]
        else:
            continue
        if "%" in _FORMAT_LITERAL.sub("", str(code)):
            found.add(index)
    return frozenset(found)


def _percentages(
    archive: zipfile.ZipFile, path: str, styles: frozenset[int]
) -> dict[int, dict[int, float]]:
    """Row → {column (1-based): number} of the cells of ``styles`` that hold a number
    (typed, or a formula's computed value).  Only the cells of those styles are looked at,
    found by a regular expression as in :func:`_uncomputed`; a sheet whose cells do not
    say where they are (no ``r``) is parsed."""
    from openpyxl.utils.cell import coordinate_to_tuple

    data = archive.read(path)
    style = b"|".join(str(s).encode() for s in sorted(styles))
    cells = re.compile(_TAG + rb"c(?:\s[^>]*?)?\ss\s*=\s*[\"'](?:" + style + rb")[\"'][^>]*>")
    found: dict[int, dict[int, float]] = {}
    for match in cells.finditer(data):
        head = match.group(0)
        if head.endswith(b"/>"):
            continue  # an empty formatted cell
        kind = _ATTRIBUTE[b"t"].search(head)
        if kind is not None and kind[1] != b"n":
            continue  # text, a boolean, an error: not a number
        ref = _ATTRIBUTE[b"r"].search(head)
        if ref is None:
            return _percentages_parsed(archive, path, styles)
        end = match.end()
        if _FORMULA_TAG.match(data, end):  # a formula first: its computed value follows
            end = data.find(b">", end) + 1
            if data[end - 2 : end] != b"/>":
                end = data.find(b">", data.find(b"</", end)) + 1
        cached = _CACHED.match(data, end)
        number = _number(cached.group(1)) if cached is not None and cached.group(1) else None
        if number is not None:
            row, column = coordinate_to_tuple(ref[1].decode())
            found.setdefault(row, {})[column] = number
    return found


def _number(text: bytes) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _percentages_parsed(
    archive: zipfile.ZipFile, path: str, styles: frozenset[int]
) -> dict[int, dict[int, float]]:
    """:func:`_percentages` for any sheet, by parsing every element."""
    found: dict[int, dict[int, float]] = {}
    value = _sheet_tag("v")
    for row, column, cell in _parsed_cells(archive, path):
        number = _number((cell.findtext(value) or "").encode())
        if int(cell.get("s") or 0) in styles and cell.get("t", "n") == "n" and number is not None:
            found.setdefault(row, {})[column] = number
    return found


_TAG = rb"<(?:[\w.-]+:)?"
_FORMULA_TAG = re.compile(_TAG + rb"f[\s/>]")
_CELL_TAG = re.compile(_TAG + rb"c[\s>]")
_CACHED = re.compile(rb"\s*" + _TAG + rb"v(?:\s[^>]*?)?(?:/>|>([^<]*)<)")
_ATTRIBUTE = {
    name: re.compile(rb"\s" + name + rb"""\s*=\s*["']([^"']*)["']""") for name in (b"r", b"t")
}


def _uncomputed(archive: zipfile.ZipFile, path: str) -> dict[int, list[int]]:
    """Row → columns (1-based) of the formulas saved without a computed value: no
    ``<v>``, or an empty one that is not an empty text (``t="str"``, as Excel saves
    ``=""``).  openpyxl and other generators write formulas so; Excel computes them when
    it saves the file.

    Each formula's cell is found around it in the XML (a cell's ``<f>`` is its first
    child, its ``<v>`` the next): parsing every element of a sheet of 20,000 rows took
    3.2 s.  A sheet whose cells do not say where they are (no ``r``) is parsed."""
    from openpyxl.utils.cell import coordinate_to_tuple

    data = archive.read(path)
    found: dict[int, list[int]] = {}
    for at in sorted(m.start() for pattern in _FORMULA for m in pattern.finditer(data)):
        tag = data.rfind(b"<", 0, at + 1)  # <f, or <x:f
        if not _FORMULA_TAG.match(data, tag):
            continue
        start = data.rfind(b"<", 0, tag)
        head = data[start : data.find(b">", start) + 1]
        if not _CELL_TAG.match(head):
            continue  # not a cell's: a list validation's source (<xm:f>), say
        ref = _ATTRIBUTE[b"r"].search(head)
        if ref is None:
            return _uncomputed_parsed(archive, path)
        end = data.find(b">", tag) + 1  # the end of <f …> or <f …/>
        if data[end - 2 : end] != b"/>":
            end = data.find(b">", data.find(b"</", end)) + 1  # formula text has no "<"
        cached = _CACHED.match(data, end)
        kind = _ATTRIBUTE[b"t"].search(head)
        if (cached is None or not cached.group(1)) and (kind is None or kind[1] != b"str"):
            row, column = coordinate_to_tuple(ref[1].decode())
            found.setdefault(row, []).append(column)
    return found


def _uncomputed_parsed(archive: zipfile.ZipFile, path: str) -> dict[int, list[int]]:
    """:func:`_uncomputed` for any sheet, by parsing every element."""
    found: dict[int, list[int]] = {}
    formula, value = _sheet_tag("f"), _sheet_tag("v")
    for row, column, cell in _parsed_cells(archive, path):
        if cell.find(formula) is not None and not cell.findtext(value) and cell.get("t") != "str":
            found.setdefault(row, []).append(column)
    return found


def _sheet_tag(name: str) -> str:
    """A sheet XML element's namespaced tag (``v``: a cell's value, ``f``: its formula)."""
    from openpyxl.xml.constants import SHEET_MAIN_NS

    return f"{{{SHEET_MAIN_NS}}}{name}"


def _parsed_cells(archive: zipfile.ZipFile, path: str) -> Iterator[tuple[int, int, Any]]:
    """Every cell element of a sheet with its row and column, counted as openpyxl counts
    rows and cells without ``r``, each cleared once read (a sheet of a million rows)."""
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.xml.functions import iterparse  # defusedxml's when installed, as openpyxl

    row_tag, cell_tag = _sheet_tag("row"), _sheet_tag("c")
    row = column = 0
    with archive.open(path) as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == row_tag:
                    row, column = int(element.get("r") or row + 1), 0
                continue
            if element.tag == cell_tag:
                ref = element.get("r")
                if ref:
                    row, column = coordinate_to_tuple(ref)
                else:
                    column += 1
                yield row, column, element
                element.clear()
            elif element.tag == row_tag:
                element.clear()


class _Marks:
    """The :class:`Unreadable` cells of a sheet, put in place as its rows are read.

    A merged range shows its first cell's value over all its cells; the others read as
    ``None``.  A range whose first cell is blank hides nothing and is left alone (Excel
    keeps merges of empty formatted cells)."""

    def __init__(
        self,
        uncomputed: dict[int, list[int]],
        merges: list[str],
        header: Sequence[Any],
        percents: dict[int, dict[int, float]] | None = None,
    ) -> None:
        from openpyxl.utils.cell import range_boundaries

        self.cells: dict[int, dict[int, Unreadable]] = {
            row: {
                c: Unreadable(
                    f"{get_column_letter(c)}{row} is a formula without a computed value: "
                    "open and save the file in Excel, or paste values"
                )
                for c in columns
            }
            for row, columns in uncomputed.items()
        }
        for row, numbers in (percents or {}).items():
            marks = self.cells.setdefault(row, {})
            for c, number in numbers.items():
                marks.setdefault(
                    c,
                    Unreadable(
                        f"{get_column_letter(c)}{row} is formatted as a percentage, which "
                        "Excel stores divided by 100 (98.6% as 0.986): type the number "
                        "without %, in a cell formatted as a number",
                        number,
                    ),
                )
        #: first row → (range, first column, last column, last row)
        self.starts: dict[int, list[tuple[Unreadable, int, int, int]]] = {}
        self.active: list[tuple[Unreadable, int, int, int]] = []
        for ref in merges:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
            if (min_col, min_row) == (max_col, max_row) or max_row < 2:
                continue  # one cell, or within the header row: nothing hidden in the data
            mark = Unreadable(f"{ref} is merged: unmerge and fill each cell")
            span = (mark, min_col, max_col, max_row)
            if min_row == 1:  # from the header down
                if not _blank(header[min_col - 1] if min_col <= len(header) else None):
                    self.active.append(span)
            else:
                self.starts.setdefault(min_row, []).append(span)

    def apply(self, number: int, values: Sequence[Any]) -> Sequence[Any]:
        """Row ``number``'s values with its unreadable cells in place."""
        formulas = self.cells.pop(number, None)
        starting = self.starts.pop(number, ())
        if self.active:
            self.active = [span for span in self.active if span[3] >= number]
        if not (formulas or starting or self.active):
            return values
        row = list(values)
        for column, mark in (formulas or {}).items():
            if column <= len(row):
                row[column - 1] = mark
        covered = [(mark, first, last) for mark, first, last, _ in self.active]
        for span in starting:
            mark, first, last, _ = span
            if first <= len(row) and not _blank(row[first - 1]):
                self.active.append(span)
                covered.append((mark, first + 1, last))  # its first cell holds the value
        for mark, first, last in covered:
            for column in range(first, min(last, len(row)) + 1):
                row[column - 1] = mark
        return row


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


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
    """:func:`iter_records` over some of a table's rows (a bulk upload's worker chunk).

    ``fields`` has one entry per header: ``None`` for a column not read, which is either
    blank (no header) or one the caller ignores on purpose (errors.xlsx's reason column,
    which has a header).  A value in a column without a header, or past the header's last
    column (an unquoted comma in a CSV cell), is a problem of its row, named by its cell:
    it was dropped without a word before.  So is an :class:`Unreadable` cell."""
    header_of = {f: h for f, h in zip(fields, headers, strict=False) if f}
    longest = limits.max_cell_chars
    width = len(fields)
    unheaded = [
        i
        for i, (field, header) in enumerate(zip(fields, headers, strict=False))
        if field is None and not unicodedata.normalize("NFKC", header or "").strip()
    ]
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
            elif type(value) is Unreadable:
                problems.append((field, normalise_cell(value.value), value.reason))
                continue
            else:
                cell = normalise_cell(value)
            if type(cell) is str and len(cell) > longest:
                problems.append((field, cell[:50] + "…", f"longer than {longest} characters"))
                continue
            if cell is not None:
                record[field] = cell
        if unheaded or len(values) > width:  # only a sheet with such columns pays
            problems.extend(_unheaded(number, values, unheaded, width, longest))
        yield number, record, header_of, problems


def _unheaded(
    number: int, values: Sequence[Any], unheaded: Sequence[int], width: int, longest: int
) -> Iterator[tuple[str, Any, str]]:
    """Row ``number``'s values in columns without a header (as :func:`records_of`'s
    problems, the column's letter for field): each one under a blank header, and the
    first one past the header's last column for all of those."""
    for i in unheaded:
        if i < len(values) and not _blank(values[i]):
            reason = "{cell} holds a value but its column has no header"
            yield _cell_problem(number, i, values[i], reason, longest)
    for i in range(width, len(values)):
        if not _blank(values[i]):
            reason = "more cells than the header has columns (from {cell} on)"
            yield _cell_problem(number, i, values[i], reason, longest)
            return


def _cell_problem(
    number: int, index: int, value: Any, reason: str, longest: int
) -> tuple[str, Any, str]:
    letter = get_column_letter(index + 1)
    if type(value) is Unreadable:
        return letter, normalise_cell(value.value), value.reason
    cell = normalise_cell(value)
    if type(cell) is str and len(cell) > longest:
        cell = cell[:50] + "…"
    return letter, cell, reason.format(cell=f"{letter}{number}")
