"""Shared helpers of the sector plugins' tests."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from openpyxl import Workbook, load_workbook

from inspect_core.judging import _jsonable


def as_stored(loaded: dict[str, Any]) -> dict[str, Any]:
    """A loaded payload as the core stores it: ``_jsonable``, then through JSON text."""
    return json.loads(json.dumps(_jsonable(loaded)))


def through(row: dict[str, Any], transport: str) -> dict[str, Any]:
    """A row written to an .xlsx or .csv file and read back as an upload parser would."""
    names = list(row)
    if transport == "xlsx":
        book = Workbook()
        book.active.append(names)
        book.active.append([row[n] for n in names])
        buffer = io.BytesIO()
        book.save(buffer)
        header, values = load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(
            values_only=True
        )
        return dict(zip(header, values, strict=True))
    if transport == "csv":
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=names)
        writer.writeheader()
        writer.writerow(row)
        return next(csv.DictReader(io.StringIO(text.getvalue())))
    return dict(row)
