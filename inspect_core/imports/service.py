"""Bulk uploads of results and registry rows, and the results export.

What "nothing lost" means here (RELIABILITY.md §1.7): the raw file and its SHA-256 are
committed first; the rows are then validated by the same schemas and sector plugins as
the JSON API and stored in **one** transaction together with the import's report and its
idempotency record.  ``all_or_nothing`` stores nothing if any row is bad; ``partial``
stores the good rows.  Either way the report reconciles:
``received = accepted + rejected``, each rejected row with its reasons.  A retry with the
same ``Idempotency-Key`` replays the first answer; the same file under another key is
refused as a duplicate.
"""

from __future__ import annotations

import ast
import codecs
import collections
import contextlib
import copy
import csv
import dataclasses
import datetime as dt
import gc
import hashlib
import io
import itertools
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import Select, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from uuid_utils import uuid7

from inspect_core import i18n, idempotency
from inspect_core.audit.service import record as audit
from inspect_core.auth.access import has_permission
from inspect_core.db import json_bytes, json_dumps, registry_lock, utcnow, xact_lock
from inspect_core.enterprises.models import Enterprise, EnterpriseSector
from inspect_core.enterprises.schemas import EnterpriseCreateSchema
from inspect_core.errors import ApiError, Conflict, NotFound, Unprocessable
from inspect_core.imports import pgcopy, reader, workers
from inspect_core.imports.models import IMPORT_KINDS, IMPORT_MODES, Import
from inspect_core.inspectors.models import Inspector, InspectorQualification
from inspect_core.inspectors.schemas import InspectorCreateSchema
from inspect_core.judging import _fault, call_plugin, plugin_template_columns
from inspect_core.plans.models import Task
from inspect_core.plugin_api import SEVERITIES, TemplateColumn
from inspect_core.plugin_manager import get_pm
from inspect_core.results.columns import RESULT_COLUMNS
from inspect_core.results.digest import row_digest
from inspect_core.results.models import RESULT_CODES, Result
from inspect_core.results.schemas import NOT_INSPECTED, ResultInSchema
from inspect_core.results.service import (
    CHINA,
    TaskInfo,
    deadline_for,
    prepare_values,
    today_in_china,
)
from inspect_core.scope import region_clause
from inspect_core.sectors import catalogue
from inspect_core.validators import MAX_ID
from inspect_core.workbook import RowSpool

log = logging.getLogger(__name__)

#: progress(phase, done, total): phase is "validate" or "store"
Progress = Callable[[str, int, int], None]
STORE_CHUNK = 5000

ENTERPRISE_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("uscc", "统一社会信用代码", "91500107MA5U3Y1C2F"),
    TemplateColumn("name", "企业名称", "重庆渝味火锅有限公司"),
    TemplateColumn(
        "sectors", "监管行业", "food;special_equipment", notes="多个以分号分隔，可填代码或中文名"
    ),
    TemplateColumn("region", "所属街镇", "杨家坪街道"),
    TemplateColumn("address", "地址", "重庆市九龙坡区杨家坪步行街1号", required=False),
    TemplateColumn(
        "status",
        "经营状态",
        "active",
        required=False,
        notes="active/suspended/revoked/deregistered 或 存续/停业/吊销/注销",
    ),
    TemplateColumn("established_on", "成立日期", "2015-06-01", required=False),
)
INSPECTOR_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("badge", "执法证号", "JLP-00001"),
    TemplateColumn("name", "姓名", "张伟"),
    TemplateColumn("unit", "所属单位", "九龙坡区市场监督管理局杨家坪市场监督管理所"),
    TemplateColumn("region", "所属街镇", "杨家坪街道"),
    TemplateColumn("qualifications", "执法资格", "food;special_equipment", notes="多个以分号分隔"),
    TemplateColumn("active", "在岗", "是", required=False, notes="是/否"),
)
STATUS_ZH = {
    "存续": "active",
    "在营": "active",
    "在业": "active",
    "停业": "suspended",
    "吊销": "revoked",
    "注销": "deregistered",
}
YES = {"是", "yes", "y", "true", "1", "在岗", "√"}
NO = {"否", "no", "n", "false", "0", "离岗", "×"}
CORE_RESULT_FIELDS = {c.name for c in RESULT_COLUMNS}


def limits() -> reader.Limits:
    cfg = current_app.config
    return reader.Limits(
        max_bytes=int(cfg["IMPORT_MAX_BYTES"]),
        max_rows=int(cfg["IMPORT_MAX_ROWS"]),
        max_cell_chars=int(cfg["IMPORT_MAX_CELL_CHARS"]),
        max_xlsx_uncompressed=int(cfg["IMPORT_MAX_XLSX_UNCOMPRESSED"]),
        max_xlsx_ratio=int(cfg["IMPORT_MAX_XLSX_RATIO"]),
    )


def aliases(columns: Iterable[TemplateColumn]) -> dict[str, str]:
    """Header → field: the zh-CN header, the English name, and its lower case."""
    out: dict[str, str] = {}
    for c in columns:
        out[c.header_zh] = c.name
        out[unicodedata.normalize("NFKC", c.header_zh)] = c.name  # full-width brackets
        out[c.name] = c.name
        out[c.name.lower()] = c.name
    return out


def result_columns(sector: str) -> list[TemplateColumn]:
    plugin = plugin_template_columns(sector) or ()
    return [*RESULT_COLUMNS, *(c for c in plugin if c.name not in CORE_RESULT_FIELDS)]


@dataclass(frozen=True)
class GroupField:
    """One field of a template's numbered column groups (``items.0.unit`` … ``计量单位1`` …):
    how further groups of it are named, by field name and by zh-CN header."""

    list_name: str
    field: str
    #: the zh-CN header of group N is ``zh_prefix + str(N + first) + zh_suffix``
    zh_prefix: str | None = None
    zh_suffix: str = ""
    first: int = 1

    def name(self, n: int) -> str:
        return f"{self.list_name}.{n}.{self.field}"

    def header(self, n: int) -> str | None:
        return (
            None if self.zh_prefix is None else f"{self.zh_prefix}{n + self.first}{self.zh_suffix}"
        )

    def group_of(self, header: str) -> int | None:
        """The group a header (NFKC-normalised, as :func:`reader.header_map` reads it) names."""
        head, dot, rest = header.lower().partition(".")
        number, dot2, field = rest.partition(".")
        if dot and dot2 and head == self.list_name and field == self.field and number.isdecimal():
            return int(number)
        if self.zh_prefix is None:
            return None
        prefix = unicodedata.normalize("NFKC", self.zh_prefix)
        suffix = unicodedata.normalize("NFKC", self.zh_suffix)
        middle = header[len(prefix) : len(header) - len(suffix)]
        if header.startswith(prefix) and header.endswith(suffix) and middle.isdecimal():
            n = int(middle) - self.first
            return n if n >= 0 else None
        return None


_GROUP_ZERO = re.compile(r"([^.]+)\.0\.([^.]+)")


def group_fields(columns: Iterable[TemplateColumn]) -> list[GroupField]:
    """The numbered-group fields of a template: columns ``<list>.0.<field>``; their zh-CN
    header pattern comes from comparing groups 0 and 1 (``检验项目1（代码）``,
    ``检验项目2（代码）``), when the template shows both."""
    by_name = {c.name: c for c in columns}
    out = []
    for c in by_name.values():
        match = _GROUP_ZERO.fullmatch(c.name)
        if match is None:
            continue
        spec = GroupField(*match.groups())
        second = by_name.get(spec.name(1))
        if second is not None:
            a, b = c.header_zh, second.header_zh
            i = len(os.path.commonprefix([a, b]))
            j = len(os.path.commonprefix([a[::-1], b[::-1]]))
            while i and a[i - 1].isdecimal():  # "第1" of 第11/第12: the number is 11
                i -= 1
            while j and a[len(a) - j].isdecimal():
                j -= 1
            x, y = a[i : len(a) - j], b[i : len(b) - j]
            if x.isdecimal() and y.isdecimal() and int(y) == int(x) + 1:
                spec = dataclasses.replace(
                    spec, zh_prefix=a[:i], zh_suffix=a[len(a) - j :], first=int(x)
                )
        out.append(spec)
    return out


def _group_header(specs: Iterable[GroupField], name: str) -> str | None:
    """The zh-CN header of a numbered-group column past the template (``items.3.item`` →
    ``检验项目4（代码）``), None if the template shows no pattern for it."""
    for spec in specs:
        n = spec.group_of(name)
        if n is not None:
            return spec.header(n)
    return None


def further_groups(columns: list[TemplateColumn], headers: Iterable[str]) -> list[TemplateColumn]:
    """Columns for the headers that name groups past the template's (``items.3.item`` or
    ``检验项目4（代码）``): an export writes them for a result with more items than the
    template shows, and the plugin reads any group number."""
    specs = group_fields(columns)
    names = {c.name for c in columns}
    out: dict[str, TemplateColumn] = {}
    for raw in headers:
        text = unicodedata.normalize("NFKC", raw or "").strip()
        for spec in specs:
            n = spec.group_of(text)
            if n is not None and spec.name(n) not in names:
                header = spec.header(n) or spec.name(n)
                out.setdefault(spec.name(n), TemplateColumn(spec.name(n), header, required=False))
                break
    return list(out.values())


# --- errors ----------------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str
    field: str
    value: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "value": self.value,
            "message": self.message,
        }


def flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested messages → (dotted path, message) pairs."""
    if isinstance(messages, Mapping):
        out = []
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten(value, path))
        return out
    if isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            return [(prefix, m) for m in messages]
        out = []
        for value in messages:
            out.extend(flatten(value, prefix))
        return out
    return [(prefix, str(messages))]


def _column_for(path: str, known: set[str]) -> str:
    """The upload column a field path comes from: the longest known prefix."""
    if path.startswith("payload."):
        path = path[len("payload.") :]
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return parts[0]


def _group_path(path: str, record: Mapping[str, Any], known: Iterable[str]) -> str:
    """``payload.items.K…`` with K the row's own group number.

    Plugins read numbered column groups (``items.N.<field>``, N from 0 in the template)
    into a list without the groups left blank, so the payload's K-th item comes from the
    K-th non-blank group of that row: after a blank group 2, item 1 is group 3.
    """
    parts = path.split(".")
    if len(parts) < 3 or parts[0] != "payload" or not parts[2].isdecimal():
        return path
    name = parts[1]
    if not any(k.startswith(f"{name}.0.") for k in known):
        return path  # not a list of numbered template groups
    prefix = f"{name}."
    filled: set[int] = set()
    for key, value in record.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        group, dot, _ = key.removeprefix(prefix).partition(".")
        if key.startswith(prefix) and dot and group.isdecimal():
            filled.add(int(group))
    groups = sorted(filled)
    k = int(parts[2])
    if k < len(groups):
        parts[2] = str(groups[k])
    return ".".join(parts)


#: what :func:`_payload_locator` writes at an error's path to find its column again
_MARK = "\ue000inspect-core-error\ue000"


def _payload_locator(pm: Any, sector: str, payload: Any) -> Callable[[str], str | None]:
    """The upload column a payload path came from, where no template column is a prefix
    of it: the plugin writes the payload back as a row (``inspect_row_from_payload``)
    with a marker at the path, and the one column holding the marker is the answer.
    Special equipment's first unit and the drugs test items are flattened into columns
    (``maintenance_records``, ``dissolution_units``) that the path does not spell, so a
    refused row named ``equipment`` or ``sample``, which no template has."""

    def locate(path: str) -> str | None:
        if not isinstance(payload, dict) or not path.startswith("payload."):
            return None
        marked = copy.deepcopy(payload)
        node: Any = marked
        parts = path.removeprefix("payload.").split(".")
        try:
            for part in parts[:-1]:
                node = node[int(part)] if isinstance(node, list) else node[part]
            key: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
            node[key]  # noqa: B018 - only a value that is there can be found again
            node[key] = _MARK
            row = pm.hook.inspect_row_from_payload(sector=sector, payload=marked)
        except Exception:  # noqa: BLE001 - any miss leaves the prefix rule's answer
            return None
        hits = [k for k, v in (row or {}).items() if isinstance(v, str) and _MARK in v]
        return hits[0] if len(hits) == 1 else None

    return locate


def _row_errors(
    number: int,
    messages: Any,
    record: Mapping[str, Any],
    header_of: Mapping[str, str],
    known: set[str],
    locate: Callable[[str], str | None] | None = None,
) -> list[RowError]:
    errors = []
    for path, message in flatten(messages):
        path = _group_path(path, record, known)
        field = _column_for(path, known)
        if field not in known and locate is not None:
            field = locate(path) or field
        errors.append(
            RowError(
                number,
                header_of.get(field, field),
                field,
                record.get(field),
                f"{path}: {message}" if path != field else message,
            )
        )
    return errors


# --- the import itself -----------------------------------------------------------------


@dataclass
class Outcome:
    received: int
    rows: list[dict[str, Any]]  # accepted rows' values, ready to insert
    errors: list[RowError]
    rejected_rows: set[int]
    #: accepted result rows already written into the import's transaction while later
    #: chunks were still being validated, and the tasks they complete
    stored: int = 0
    stored_tasks: frozenset[int] = frozenset()
    #: PostgreSQL: the accepted rows as COPY text instead of ``rows``
    encoded: Encoded | None = None
    #: the digests (:func:`.digest.row_digest`, 32 bytes each, one ``bytes`` to cross
    #: back from a worker cheaply) of the accepted rows not yet written, in order;
    #: ``written`` hashes those written, in id order
    digests: bytes = b""
    written: Any = None


@dataclass
class Encoded:
    """A chunk's accepted result rows as PostgreSQL COPY text (:mod:`.pgcopy`)."""

    columns: tuple[str, ...]
    data: bytes
    count: int
    task_ids: frozenset[int]


def run_import(
    session: Session,
    user: Any,
    kind: str,
    filename: str,
    content_type: str,
    content: bytes,
    mode: str,
    sector: str | None,
    key: str | None,
    progress: Progress | None = None,
) -> tuple[int, dict[str, Any], bool]:
    """Store the file, read it, validate each row, store the good ones.

    Returns ``(status, body, replayed)``.
    """
    if kind not in IMPORT_KINDS:
        raise NotFound(f"unknown import kind {kind}")
    if mode not in IMPORT_MODES:
        raise Unprocessable("unknown mode", {"mode": [f"one of {', '.join(IMPORT_MODES)}"]})
    if kind == "results":
        _check_sector(sector)
    digest = hashlib.sha256(content).hexdigest()
    endpoint = f"POST /{kind}/import"
    fingerprint_body = {"sha256": digest, "mode": mode, "sector": sector}
    if key is not None:
        existing = idempotency._existing(session, user.id, key)
        if existing is not None:
            return idempotency._replay(
                existing, idempotency.fingerprint(endpoint, fingerprint_body)
            )
    lim = limits()
    if len(content) > lim.max_bytes:
        raise reader.TooLarge(
            f"file of {len(content)} bytes (limit {lim.max_bytes})",
            {"file": [f"larger than {lim.max_bytes} bytes"]},
        )
    if reader.sniff_format(filename, content) == "xlsx":
        reader.check_zip(content, lim)
    _refuse_duplicate(session, user, kind, digest)

    # 1. the raw file, durably, before any row is read
    upload = None
    if key is not None:
        upload = session.scalar(
            select(Import).where(Import.user_id == user.id, Import.idempotency_key == key)
        )
    if upload is not None:
        upload = _reusable(session, upload, digest, kind, mode, sector)
    if upload is None:
        upload = Import(
            kind=kind,
            sector=sector,
            mode=mode,
            filename=filename[:255],
            content_type=content_type[:120],
            size=len(content),
            sha256=digest,
            raw=content,
            user_id=user.id,
            created_by=user.username,
            idempotency_key=key,
        )
        session.add(upload)
        try:
            session.flush()
        except IntegrityError:  # the same key, at once: the other attempt took it first
            session.rollback()
            return _answered_meanwhile(session, user, key, endpoint, fingerprint_body)
        audit(
            session,
            user,
            "import.receive",
            "import",
            upload.id,
            {"kind": kind, "sha256": digest, "size": len(content), "filename": filename},
        )
    session.commit()
    import_id = upload.id
    if key is not None and not _claim(session, import_id):
        return _answered_meanwhile(session, user, key, endpoint, fingerprint_body, import_id)

    # 2. rows: read, validate, store (one transaction; result rows are written chunk by
    # chunk while later chunks are validated, and rolled back if the file is rejected)
    collecting = gc.isenabled()
    gc.disable()  # many small acyclic objects: the cyclic collector only costs time here
    try:
        # another request may have stored the same file (or, for a registry, the same
        # codes) since the check above: checked again where the rows are stored
        _serialise(session, kind, digest)
        _refuse_duplicate(session, user, kind, digest)
        # result rows are validated while the file is still being read; registry rows
        # are checked against each other first, so they are read whole
        if kind == "results":
            table: reader.Table | reader.Stream = _open_table(filename, content, lim)
        else:
            table = _read_table(filename, content, lim)
        # every id this upload's rows will take is above it (the sequence only grows):
        # their ids are then found by a range of the primary key, not a scan
        before = (session.scalar(select(func.max(Result.id))) or 0) if kind == "results" else 0
        outcome = _process(session, user, kind, sector, table, lim, progress, mode, import_id)
        # freed before the collector is back on: everything made meanwhile is still in
        # its youngest generation, and its first pass would walk every cell (0.1 s for
        # 100,000 rows, at the end of the request)
        del table
        rejected_all = mode == "all_or_nothing" and bool(outcome.errors)
        if rejected_all:
            session.rollback()
        elif outcome.rows or outcome.stored:
            _store(session, kind, outcome.rows, progress, outcome.stored_tasks)
            if outcome.written is not None:
                outcome.written.update(outcome.digests)
    except ApiError as exc:
        session.rollback()
        _mark_rejected(session, import_id, exc)
        raise
    finally:
        if collecting:
            gc.enable()
    upload = session.get(Import, import_id)
    accepted = 0 if rejected_all else len(outcome.rows) + outcome.stored
    ranges: list[list[int]] = []
    if kind == "results" and accepted:
        # the ids the rows took, for the event: its digest is over the rows in id order,
        # which two uploads' rows trading ids (or one renumbered into a gap) keep
        ranges = _id_runs(session, before, import_id)
    upload.status = "rejected" if rejected_all else "done"
    upload.received = outcome.received
    upload.accepted = accepted
    upload.rejected = outcome.received - accepted
    upload.processed = outcome.received
    upload.errors = [e.as_dict() for e in outcome.errors]
    upload.finished_at = utcnow()
    upload.message = (
        f"{len(outcome.rejected_rows)} row(s) invalid; nothing stored (all_or_nothing)"
        if rejected_all
        else None
    )
    audit(
        session,
        user,
        f"import.{kind}",
        "import",
        import_id,
        {
            "sha256": digest,
            "mode": mode,
            "received": upload.received,
            "accepted": upload.accepted,
            "rejected": upload.rejected,
            # the stored rows' digest, which ``audit verify --records`` checks them against
            **(
                {"rows_sha256": outcome.written.hexdigest(), "ranges": ranges}
                if accepted and outcome.written is not None
                else {}
            ),
        },
    )
    body = report(upload)
    status = 422 if rejected_all else 201
    if rejected_all:  # the error shape, with the import's own status renamed
        body = {
            **body,
            "import_status": body["status"],
            "code": 422,
            "status": "Unprocessable Entity",
            "message": upload.message,
            "message_zh": f"{len(outcome.rejected_rows)} 行无效，未保存任何数据（all_or_nothing）",
        }
    if key is not None:
        from inspect_core.results.models import IdempotencyRecord

        session.add(
            IdempotencyRecord(
                user_id=user.id,
                key=key,
                endpoint=endpoint,
                request_sha256=idempotency.fingerprint(endpoint, fingerprint_body),
                status_code=status,
                response=body,
            )
        )
    try:
        session.commit()
    except IntegrityError:  # the key's answer was stored meanwhile: after an all_or_nothing
        # rejection rolled back (and with it the claim), another attempt ran the same file
        session.rollback()
        if key is None:
            raise
        return _answered_meanwhile(session, user, key, endpoint, fingerprint_body, import_id)
    return status, body, False


def _refuse_duplicate(session: Session, user: Any, kind: str, digest: str) -> None:
    """A 409 if a file with these bytes was already imported with rows stored."""
    earlier = session.scalars(
        select(Import)
        .where(
            Import.kind == kind,
            Import.sha256 == digest,
            Import.status == "done",
            Import.accepted > 0,
        )
        .order_by(Import.id)
    ).all()
    if earlier:
        # the earlier import is named only to a caller who may read it (GET /imports/{id}):
        # another user's upload, perhaps of another region, is not this caller's to locate
        readable = next((e for e in earlier if _may_read(session, user, e)), None)
        if readable is None:
            raise Conflict(
                "this file was already imported; nothing was stored again",
                {"file": [f"identical (SHA-256 {digest[:12]}…) to a file already imported"]},
                message_zh="该文件已导入过，未重复导入",
            )
        raise Conflict(
            f"this file was already imported as import {readable.id} on "
            f"{readable.created_at:%Y-%m-%d %H:%M}; nothing was stored again",
            {"file": [f"identical (SHA-256 {digest[:12]}…) to import {readable.id}"]},
            message_zh="该文件已导入过，未重复导入",
        )


def _serialise(session: Session, kind: str, digest: str) -> None:
    """PostgreSQL: hold, until this import commits or rolls back, a lock on its file (a
    result upload) or on its registry (enterprises, inspectors).  Two copies of one file
    sent at once each found no finished copy and both stored their rows; two registry
    files naming one USCC both found it free, and the second died on the unique index (a
    500), as did a file naming a code a single create inserted meanwhile.  Waiting here,
    each sees what the other committed.  SQLite's writers already queue for the database
    (``BEGIN IMMEDIATE``)."""
    if kind == "results":
        xact_lock(session, f"results:{digest}")
    else:
        registry_lock(session, kind)


def _id_runs(session: Session, after: int, import_id: int) -> list[list[int]]:
    """The ids an upload's rows took, as ``[first, last]`` runs, found by the database
    (gaps and islands): one row back for the usual upload, not one per result (reading
    100,000 ids back cost the upload about 0.25 s of this process's CPU)."""
    rows = session.execute(
        text(
            "SELECT min(id), max(id) FROM (SELECT id, id - row_number() OVER (ORDER BY id) "
            "AS island FROM results WHERE id > :after AND import_id = :import_id) AS t "
            "GROUP BY island ORDER BY 1"
        ),
        {"after": after, "import_id": import_id},
    ).all()
    return [[first, last] for first, last in rows]


def _claim(session: Session, import_id: int) -> bool:
    """Lock the import row for this attempt until it commits or rolls back; False if
    another attempt under the same key holds it, or has finished the import meanwhile.

    Two uploads with one key at once each found the key free or the import unfinished:
    without the lock both read and stored the file, and the second died on the key's
    unique index (a 500).  The lock dies with its connection, so the retry after a crash
    still takes the import over.  (SQLite has no row locks; its writers queue for the
    database, and the second then finds the import finished.)"""
    try:
        row = session.execute(
            select(Import.status)
            .where(Import.id == import_id)
            .with_for_update(nowait=True, key_share=True)
        ).one()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        session.rollback()
        return False
    if row.status != "received":
        session.rollback()
        return False
    return True


def _answered_meanwhile(
    session: Session,
    user: Any,
    key: str,
    endpoint: str,
    fingerprint_body: dict[str, Any],
    import_id: int | None = None,
) -> tuple[int, dict[str, Any], bool]:
    """Another attempt under this key got there first: its answer if it has one (a
    replay), else a 409 saying it is still in hand, so the client retries rather than
    the file being read and stored twice."""
    existing = idempotency._existing(session, user.id, key)
    if existing is not None:
        return idempotency._replay(existing, idempotency.fingerprint(endpoint, fingerprint_body))
    if import_id is None:
        import_id = session.scalar(
            select(Import.id).where(Import.user_id == user.id, Import.idempotency_key == key)
        )
    which = f" (import {import_id})" if import_id is not None else ""
    reason = (
        f"in use by an upload not yet finished (import {import_id})"
        if import_id is not None
        else "in use by an upload not yet finished"
    )
    raise Conflict(
        f"an upload with this Idempotency-Key is in progress{which}; retry with the same "
        "key once it has finished to get its answer",
        {idempotency.HEADER: [reason]},
        message_zh=f"使用该幂等键的上传正在处理{which}，请稍后用同一幂等键重试以获取结果",
    )


def _reusable(
    session: Session,
    upload: Import,
    digest: str,
    kind: str,
    mode: str,
    sector: str | None,
) -> Import | None:
    """The import an earlier attempt under the same key left without an answer, if this
    attempt may go on with it; None when a new import must record this file.

    Refused as a file (no answer recorded): that import keeps the refused file and its
    report and gives up the key, so the import of this attempt records the bytes, SHA-256
    and name of the file really processed (and a later copy of it is a duplicate).  Not
    finished (a crash, or still running): only the same request may take it over: the
    same file, route, mode and sector.  A partial retry took over an all_or_nothing
    import, stored its good rows and reported them as all_or_nothing.
    """
    if upload.status == "rejected":
        upload.idempotency_key = None
        session.flush()  # before the new import takes the key (unique per user)
        return None
    if upload.sha256 != digest:
        raise Unprocessable(
            "Idempotency-Key reused with a different file",
            {idempotency.HEADER: ["an unfinished upload used this key with another file"]},
            message_zh="幂等键已用于另一个文件",
        )
    if (upload.kind, upload.mode, upload.sector) != (kind, mode, sector):
        raise idempotency.reused()
    return upload


def _read_table(filename: str, content: bytes, lim: reader.Limits) -> reader.Table:
    """The file's table, read whole (see :func:`_open_table`)."""
    return _open_table(filename, content, lim).read()


def _open_table(filename: str, content: bytes, lim: reader.Limits) -> reader.Stream:
    """The file's rows as they are read.  Reading depends on the file's bytes alone, so a
    failure the reader did not foresee, opening the file or later in its rows, is still
    this file's problem: a 422 naming it (the import is then marked rejected), not a 500
    that leaves the import "received" for ever."""
    try:
        stream = reader.open_table(filename, content, lim)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser error; logged for the developers
        raise _unreadable(filename, exc) from None
    stream.rows = _guarded(filename, stream.rows)
    return stream


def _guarded(filename: str, rows: Iterable[tuple[int, list[Any]]]) -> Any:
    try:
        yield from rows
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - as in _open_table
        raise _unreadable(filename, exc) from None


def _unreadable(filename: str, exc: Exception) -> Unprocessable:
    log.error("import of %r: the reader failed", filename, exc_info=exc)
    reason = f"{type(exc).__name__}: {exc}"[:300]
    return Unprocessable(
        f"the file cannot be read: {reason}",
        {"file": [f"unreadable: {reason}"]},
        message_zh="文件无法读取，请检查文件格式后重新上传",
    )


def _check_sector(sector: str | None) -> None:
    if not sector:
        raise Unprocessable("which sector's template is this?", {"sector": ["required"]})
    if sector not in catalogue():
        raise Unprocessable("unknown sector", {"sector": [f"unknown sector '{sector}'"]})
    if plugin_template_columns(sector) is None:
        raise Unprocessable(
            f"sector '{sector}' has no upload template (no plugin declares one)",
            {"sector": ["no upload template"]},
        )


def _mark_rejected(session: Session, import_id: int, exc: ApiError) -> None:
    upload = session.get(Import, import_id)
    upload.status = "rejected"
    upload.message = exc.message[:500]
    # one entry per reason (a list's str() was stored before, which _file_reasons reads)
    upload.errors = [
        {"row": None, "column": k, "field": k, "value": None, "message": str(reason)}
        for k, v in exc.errors.items()
        for reason in (v if isinstance(v, list) else [v])
    ]
    upload.finished_at = utcnow()
    session.commit()


def report(upload: Import) -> dict[str, Any]:
    return {
        "import_id": upload.id,
        "kind": upload.kind,
        "sector": upload.sector,
        "mode": upload.mode,
        "status": upload.status,
        "sha256": upload.sha256,
        "received": upload.received,
        "accepted": upload.accepted,
        "rejected": upload.rejected,
        "errors": [_with_zh(e) for e in upload.errors],
    }


def _with_zh(error: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row error with its reason in zh-CN beside the English (translated when
    shown, so imports stored before a translation existed get it too)."""
    message = error.get("message")
    zh = None
    if isinstance(message, str):
        reasons = _file_reasons(message) if error.get("row") is None else None
        if reasons is None:
            zh = i18n.catalogue().row_reason(message)
        else:
            zh = "；".join(i18n.catalogue().row_reason(r) for r in reasons)
    return {**error, "message_zh": zh}


def _file_reasons(message: str) -> list[str] | None:
    """The reasons of a file-level error stored before :func:`_mark_rejected` stored one
    entry per reason, as the ``str()`` of the field's list (``"['not a zip/xlsx
    archive']"``), or ``None`` for a message that is one reason."""
    if not (message.startswith("[") and message.endswith("]")):
        return None
    try:
        value = ast.literal_eval(message)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, list) and value and all(isinstance(r, str) for r in value):
        return value
    return None


def _process(
    session: Session,
    user: Any,
    kind: str,
    sector: str | None,
    table: reader.Table | reader.Stream,
    lim: reader.Limits,
    progress: Progress | None,
    mode: str = "all_or_nothing",
    import_id: int | None = None,
) -> Outcome:
    if kind == "results":
        return _process_results(session, user, sector or "", table, lim, progress, mode, import_id)
    if isinstance(table, reader.Stream):
        table = table.read()
    if kind == "enterprises":
        return _process_registry(
            session,
            user,
            table,
            lim,
            progress,
            ENTERPRISE_COLUMNS,
            EnterpriseCreateSchema,
            _enterprise_record,
            _enterprise_checks,
        )
    return _process_registry(
        session,
        user,
        table,
        lim,
        progress,
        INSPECTOR_COLUMNS,
        InspectorCreateSchema,
        _inspector_record,
        _inspector_checks,
    )


def _map_headers(
    table: reader.Table | reader.Stream, columns: list[TemplateColumn] | tuple[TemplateColumn, ...]
) -> list[str | None]:
    # errors.xlsx comes back fixed with the reason column we added: ignore exactly that one
    headers = ["" if h == REASON_HEADER else h for h in table.headers]
    fields, unknown = reader.header_map(headers, aliases(columns))
    if unknown:
        raise Unprocessable(
            f"unknown column(s): {', '.join(unknown)}",
            {"columns": [f"not in the template: {', '.join(unknown)}"]},
            message_zh="存在模板之外的列",
        )
    present = set(fields)
    missing = [
        c.header_zh
        for c in columns
        if c.required and c.name not in present and c.name in CORE_REQUIRED
    ]
    if missing:
        raise Unprocessable(
            f"missing column(s): {', '.join(missing)}",
            {"columns": [f"missing: {', '.join(missing)}"]},
        )
    duplicated = {f for f in fields if f and fields.count(f) > 1}
    if duplicated:
        raise Unprocessable(
            "a column appears twice", {"columns": [f"repeated: {', '.join(sorted(duplicated))}"]}
        )
    return fields


CORE_REQUIRED = {
    "task_id",
    "conclusion_code",
    "uscc",
    "name",
    "sectors",
    "region",
    "badge",
    "unit",
    "qualifications",
}


def _split_codes(value: Any, names_zh: Mapping[str, str]) -> list[str]:
    # cells keep their full-width punctuation (reader._non_ascii): ；，、 separate too
    parts = [p.strip() for p in _CODE_SEPARATORS.split(str(value))]
    return [names_zh.get(p, p) for p in parts if p]


_CODE_SEPARATORS = re.compile("[;；,，、]")


#: where a finding starts in the findings cell: ``word:`` or ``word[code]:`` (brackets and
#: colon full- or half-width) at the start of the cell or after a ; or ；.  Any word, not
#: only a severity, so that "minor:a; mnior:b" is refused rather than read as one finding
#: whose description ends in "mnior:b".  A ; or ； after a backslash is a description's own
#: (:func:`findings_cell` escapes those that would read as a finding's start or end)
_FINDING_START = re.compile(
    r"(?:^|(?<!\\)[;；])\s*(?P<severity>[A-Za-z]+)\s*(?:[\[［](?P<code>[^\]］]*)[\]］]\s*)?[:：]"
)
_SEPARATOR = re.compile("[;；]")
_ONLY_SEPARATORS = re.compile(r"[\s;；]*")


def _parse_findings(text: str) -> list[dict[str, str]]:
    """``minor:description; major[FS-3]:description`` (the export's spelling; the code is
    optional, so a finding's code survives an export and re-import).  Split only before a
    ``severity:`` prefix, so a description keeps its own ；, ; and ： punctuation; ``\\;``
    is a description's own ; wherever it stands (:func:`findings_cell`)."""
    starts = list(_FINDING_START.finditer(text))
    head = text[: starts[0].start() if starts else len(text)].strip().strip(";；").strip()
    if head:
        raise ValidationError(
            f"'{head}' is not 'severity:description' (severity: {', '.join(SEVERITIES)})"
        )
    ends = [m.start() for m in starts[1:]] + [len(text)]  # one more when no finding
    findings = []
    for m, end in zip(starts, ends, strict=False):
        severity = m["severity"].lower()
        if severity not in SEVERITIES:
            raise ValidationError(f"'{m['severity']}' is not a severity ({', '.join(SEVERITIES)})")
        description = text[m.end() : end].strip()
        # "…;" at the end is a separator (a typed "minor:a; major:b;"), unless escaped
        while description.endswith((";", "；")) and not description[:-1].endswith("\\"):
            description = description[:-1].rstrip()
        if "\\" in description:
            description = description.replace("\\;", ";").replace("\\；", "；")
        finding = {"severity": severity, "description": description}
        if m["code"] and m["code"].strip():
            finding["code"] = m["code"].strip()
        findings.append(finding)
    return findings


def findings_cell(findings: Iterable[Mapping[str, Any]]) -> str | None:
    """Inspector findings as one upload cell that :func:`_parse_findings` reads back as
    they are: ``severity[code]:description; …``.

    A description's ; or ； that the cell would read as the start of another finding (``见
    附件; HACCP:未建立`` was refused on re-import, ``a; minor:b`` split in two), as a
    separator at its end (dropped), or that follows a backslash gets a backslash before it;
    a description ending in a backslash gets a space, so the separator after it stays one.
    """
    tail = ""
    for finding in reversed(list(findings)):
        code = finding.get("code")
        mark = f"[{code}]" if code else ""
        text = finding["description"]
        if _SEPARATOR.search(text):
            rest = text + (f"; {tail}" if tail else "")
            cut = [
                i
                for i in (m.start() for m in _SEPARATOR.finditer(text))
                if (i and text[i - 1] == "\\")
                or _ONLY_SEPARATORS.fullmatch(text, i)
                or _FINDING_START.match(rest, i)
            ]
            for i in reversed(cut):
                text = f"{text[:i]}\\{text[i:]}"
        if text.endswith("\\"):
            text += " "
        tail = f"{finding['severity']}{mark}:{text}" + (f"; {tail}" if tail else "")
    return tail or None


#: zh-CN conclusion → code, by the official wording and its NFKC form: the reader may
#: hand over a cell with its full-width brackets made half-width, or a user may type them so
CONCLUSION_BY_ZH = {
    text: code
    for code, (zh, _en) in RESULT_CODES.items()
    for text in (zh, unicodedata.normalize("NFKC", zh))
}
#: conclusions a row may carry with every plugin cell blank (nothing to judge), as the
#: JSON API accepts them without a payload
_NOT_INSPECTED = frozenset(NOT_INSPECTED)


#: the reason a template's example row, left in the file, is not stored
EXAMPLE_ROW = "the template's example row: delete it before uploading"


def example_cells(columns: Iterable[TemplateColumn]) -> tuple[tuple[str, str], ...]:
    """The template's example row (``GET /sectors/{code}/template.xlsx``) as its cells read
    back: (field, text) for each column with an example."""
    return tuple((c.name, _cell_text(c.example)) for c in columns if c.example not in (None, ""))


def _cell_text(value: Any) -> str:
    return "" if value is None else str(reader.normalise_cell(value)).strip()


def is_example(record: Mapping[str, Any], example: tuple[tuple[str, str], ...]) -> bool:
    """Whether a row is the template's example row as the template gave it.

    Left in a filled template, it was stored as a real result: task 1, whenever that task
    was the uploader's.  One changed cell makes it the uploader's own row.
    """
    return bool(example) and all(_cell_text(record.get(f)) == text for f, text in example)


@dataclass(frozen=True)
class RowContext:
    """Everything validating result rows needs, as plain picklable data (no session, no
    Flask), so large uploads can be validated in worker processes."""

    sector: str
    plugins: tuple[str, ...]
    plugin_config: dict[str, Any]
    username: str
    inspector_badge: str | None
    may_import_any: bool
    today: Any
    due: tuple[Any, str]
    tasks: dict[int, TaskInfo]
    known: frozenset[str]
    plugin_names: frozenset[str]
    headers: tuple[str, ...] = ()
    fields: tuple[str | None, ...] = ()
    limits: reader.Limits | None = None
    recorded_at: Any = None
    #: PostgreSQL: the accepted rows come back as COPY text in this encoding
    copy_encoding: str | None = None
    #: the upload the rows are stored under (``results.import_id``)
    import_id: int | None = None
    #: the template's example row (:func:`example_cells`), refused if left in the file
    example: tuple[tuple[str, str], ...] = ()


Record = tuple[int, dict[str, Any], dict[str, str], list[tuple[str, Any, str]]]
_WORKER_PM: Any = None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def fast_result_data(data: dict[str, Any]) -> dict[str, Any] | None:
    """``ResultInSchema().load(data)`` for the plain rows of an upload (a known conclusion,
    an ISO date or none, no inspector findings, a payload), without marshmallow; None for
    anything else, which then goes through the schema.  Tested equal to the schema."""
    if data.keys() - {"sector", "conclusion_code", "inspected_on", "payload"}:
        return None
    sector, payload = data.get("sector"), data.get("payload")
    conclusion = data.get("conclusion_code")
    if type(sector) is not str or len(sector) > 40 or type(payload) is not dict:
        return None
    if type(conclusion) is not str or conclusion not in RESULT_CODES:
        return None
    inspected_on = data.get("inspected_on")
    if inspected_on is not None:
        if type(inspected_on) is not str or _ISO_DATE.fullmatch(inspected_on) is None:
            return None
        try:
            inspected_on = dt.date.fromisoformat(inspected_on)
        except ValueError:
            return None
    return {
        "sector": sector,
        "inspected_on": inspected_on,
        "payload": dict(payload),
        "findings": [],
        "conclusion_code": conclusion,
        "attachments": [],
    }


def chain_ids(n: int) -> list[str]:
    """``n`` new chain ids: UUID version 7 (RFC 9562), increasing.

    Time-ordered ids go in at the right edge of the ``(chain, version)`` unique index
    instead of anywhere in it (a server-side COPY of 30,000 results: that index cost
    about 80 ms with random version-4 ids, 45 with these).  Their first 48 bits are the
    creation time in ms, which the result's ``recorded_at`` says anyway.
    """
    return [str(uuid7()) for _ in range(n)]


#: rows validated together: few enough that a row's objects are still in the CPU's cache
#: when it is judged and encoded (encoding the JSON of a whole 6,250-row chunk after
#: judging all of it took 9.8 µs a row, against 4.6 µs encoding each row right after
#: its judgement, both timed per call; validation per row in all: 53.3 µs in batches of
#: 6,250, 51.7 of 200, 49.9 of 100)
BATCH_ROWS = 100


def _validate_rows(ctx: RowContext, records: list[Record], pm: Any = None) -> Outcome:
    """Validate and judge result rows: the same schema, plugin and rules as the JSON API.

    In batches of :data:`BATCH_ROWS`: the core's checks of each row, then the sector
    plugin's bulk fast path (``inspect_judge_rows``) for the rows that passed them (rows
    it declines take the per-row path: ``inspect_payload_from_row``, the schema,
    ``inspect_judge``), then each accepted row is encoded at once — its JSON columns and,
    for PostgreSQL, its line of COPY text (:attr:`Outcome.encoded`).
    """
    from types import SimpleNamespace

    from inspect_core.judging import Judger

    pm = pm or _WORKER_PM
    judger = Judger(pm, ctx.sector, ctx.plugin_config)
    schema = ResultInSchema()
    actor = SimpleNamespace(username=ctx.username)
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    rejected: set[int] = set()
    copy_encoding = ctx.copy_encoding
    # COPY text is bytes: JSON stays orjson's UTF-8 (SQLite's INSERT binds text)
    encode = json_bytes if copy_encoding is not None else json_dumps
    chains = chain_ids(len(records))
    lines: list[bytes] = []
    digests = bytearray()
    task_ids: set[int] = set()
    columns: tuple[str, ...] = ()
    example_task = dict(ctx.example).get("task_id")

    def fail(number: int, row_errors: list[RowError]) -> None:
        errors.extend(row_errors)
        rejected.add(number)

    for start in range(0, len(records), BATCH_ROWS):
        pending: list[tuple[int, dict[str, Any], dict[str, str], TaskInfo, dict[str, Any]]] = []
        plugin_rows: list[dict[str, Any] | None] = []
        bare = 0  # rows of nothing inspected: no plugin row, no payload
        for number, record, header_of, cell_problems in records[start : start + BATCH_ROWS]:

            def problem(
                field: str, value: Any, message: str, n: int = number, h: dict = header_of
            ) -> RowError:
                return RowError(n, h.get(field, field), field, value, message)

            row_errors = [problem(f, v, m) for f, v, m in cell_problems]
            data: dict[str, Any] = {"sector": ctx.sector}
            try:
                cell = record.get("task_id")
                if type(cell) is bool:  # an Excel TRUE: int() read it as task 1
                    raise ValueError
                task_id: int | None = int(cell)
                if not 0 < task_id <= MAX_ID:
                    raise ValueError
            except (TypeError, ValueError):
                task_id = None
                row_errors.append(problem("task_id", record.get("task_id"), "not a task number"))
            if (
                task_id is not None
                and str(task_id) == example_task
                and is_example(record, ctx.example)
            ):
                row_errors.append(problem("task_id", record.get("task_id"), EXAMPLE_ROW))
                task_id = None
            info = ctx.tasks.get(task_id) if task_id is not None else None
            if (
                info is not None
                and not ctx.may_import_any
                and ctx.inspector_badge not in info.badges
            ):
                # another inspector's task is absent to an inspector, as on the API
                # (results.service._no_task): its state would tell that it exists
                info = None
            if task_id is not None and info is None:
                row_errors.append(problem("task_id", task_id, "no such task in your scope"))
            elif info is not None:
                if info.plan_status == "closed":
                    row_errors.append(problem("task_id", task_id, "the plan is closed"))
                if info.status == "superseded":
                    row_errors.append(problem("task_id", task_id, "task superseded by a re-draw"))
            conclusion = record.get("conclusion_code")
            data["conclusion_code"] = CONCLUSION_BY_ZH.get(conclusion, conclusion)
            if "inspected_on" in record:
                data["inspected_on"] = record["inspected_on"]
            if record.get("findings"):
                try:
                    data["findings"] = _parse_findings(str(record["findings"]))
                except ValidationError as exc:
                    row_errors.append(problem("findings", record["findings"], str(exc.messages[0])))
            plugin_row = {
                k: v
                for k, v in record.items()
                if k not in CORE_RESULT_FIELDS or k in ctx.plugin_names
            }
            if row_errors:
                fail(number, row_errors)
                continue
            assert info is not None
            pending.append((number, record, header_of, info, data))
            # a core column a plugin also reads (special equipment's 检查日期) is the
            # result's own, not inspection data: "closed" on the day of the visit
            sample_cells = plugin_row.keys() - CORE_RESULT_FIELDS
            if data["conclusion_code"] in _NOT_INSPECTED and not sample_cells:
                # nothing inspected, every sample cell blank: no payload, as the JSON API
                # stores it (not the plugin's reading of an empty row)
                plugin_rows.append(None)
                bare += 1
            else:
                plugin_rows.append(plugin_row)

        if bare:  # only the others go to the plugin's fast path
            judged_rows = iter(
                judger.judge_rows(
                    [r for r in plugin_rows if r is not None], {"recorded_on": ctx.today}
                )
            )
            answers = [None if r is None else next(judged_rows) for r in plugin_rows]
        else:
            answers = judger.judge_rows(plugin_rows, {"recorded_on": ctx.today})
        for (number, record, header_of, info, data), plugin_row, judged in zip(
            pending, plugin_rows, answers, strict=True
        ):
            row_errors = []
            try:
                loaded = None
                if judged is not None:
                    data["payload"] = judged.payload
                    loaded = fast_result_data(data)
                if loaded is None:
                    judged = None
                    data["payload"] = (
                        None
                        if plugin_row is None
                        else pm.hook.inspect_payload_from_row(sector=ctx.sector, row=plugin_row)
                    )
                    loaded = schema.load(data)
                values = prepare_values(
                    actor, info, loaded, ctx.today, ctx.due, judger, judged, for_json=True
                )
                for column in _JSON_COLUMNS:
                    values[column] = encode(values[column])
                if values["facts"] is not None:  # None stays SQL NULL
                    values["facts"] = encode(values["facts"])
            except ValidationError as exc:
                locate = _payload_locator(pm, ctx.sector, data.get("payload"))
                row_errors = _row_errors(number, exc.messages, record, header_of, ctx.known, locate)
            except ApiError as exc:
                if exc.status_code >= 500:
                    row_errors = [RowError(number, "payload", "payload", None, exc.message)]
                else:
                    locate = _payload_locator(pm, ctx.sector, data.get("payload"))
                    row_errors = _row_errors(
                        number, exc.errors, record, header_of, ctx.known, locate
                    )
            except Exception as exc:  # noqa: BLE001 - a plugin fault is this row's error
                row_errors = [
                    RowError(
                        number, "payload", "payload", None,
                        f"sector plugin could not read the row: {exc!r}",
                    )
                ]  # fmt: skip
            if row_errors:
                fail(number, row_errors)
                continue
            values["chain"] = chains[len(rows) + len(lines)]
            values["version"] = 1
            values["recorded_at"] = ctx.recorded_at
            values["import_id"] = ctx.import_id
            if copy_encoding is None:
                rows.append(values)
                digests += row_digest(values)
                continue
            # while the row's objects are still in the CPU's cache
            columns = columns or tuple(values)
            try:
                lines.append(pgcopy.copy_line([values[c] for c in columns], copy_encoding))
            except UnicodeEncodeError as exc:
                bad = exc.object[exc.start : exc.end]
                message = (
                    f"{bad!r} cannot be stored: the database connection's encoding is "
                    f"{copy_encoding}"
                )
                fail(number, [RowError(number, "payload", "payload", None, message)])
                continue
            digests += row_digest(values)
            task_ids.add(values["task_id"])
    errors.sort(key=lambda e: e.row)
    outcome = Outcome(len(records), rows, errors, rejected, digests=bytes(digests))
    if lines:
        outcome.encoded = Encoded(columns, b"".join(lines), len(lines), frozenset(task_ids))
    return outcome


def _init_worker(plugins: tuple[str, ...]) -> None:
    """A worker's start: its own plugin manager, loaded by entry point name."""
    global _WORKER_PM
    from inspect_core.plugin_manager import make_plugin_manager

    _WORKER_PM = make_plugin_manager(plugins)


def _worker_chunk(ctx: RowContext, rows: Chunk) -> Outcome:
    return _validate_chunk(ctx, rows, _WORKER_PM)


def warm_workers(app: Any, wait: bool = False) -> None:
    """Start the upload workers of ``app`` (``inspect-core serve`` does, in the background)."""
    n = int(app.config.get("IMPORT_WORKERS") or 0) or (os.cpu_count() or 1)
    if n > 1:
        workers.warm(n, app.config["PLUGINS"], _init_worker, wait)


def _validate_chunk(ctx: RowContext, rows: Chunk, pm: Any) -> Outcome:
    """Read, validate and judge a chunk of raw table rows (or of CSV lines, parsed here);
    the accepted rows come back ready to store, their JSON columns already encoded (so
    little crosses back from a worker process and nothing is encoded twice) and, for
    PostgreSQL, as COPY text."""
    assert ctx.limits is not None
    # the rows build many small acyclic objects; the cyclic collector would walk them all
    # again and again (about a third of the time) for nothing
    collecting = gc.isenabled()
    gc.disable()
    try:
        if isinstance(rows, reader.TextChunk):
            rows = rows.rows()
        records = list(reader.records_of(ctx.headers, rows, ctx.fields, ctx.limits))
        outcome = _validate_rows(ctx, records, pm)
    finally:
        if collecting:
            gc.enable()
    return outcome


def _workers_for(n_rows: int, pm: Any, plugins: tuple[str, ...]) -> int:
    """Worker processes for an upload: several only for large files, and only when every
    plugin of this app is an entry point a worker can load by name."""
    wanted = int(current_app.config.get("IMPORT_WORKERS") or 0) or (os.cpu_count() or 1)
    if wanted <= 1 or n_rows < int(current_app.config["IMPORT_PARALLEL_MIN_ROWS"]):
        return 1
    loaded = {name for name, plugin in pm.list_name_plugin() if plugin is not None}
    return wanted if loaded == set(plugins) else 1


def chunk_bounds(total: int, size: int) -> list[tuple[int, int]]:
    """Row ranges ``[a, b)`` of the chunks a file is validated and stored in: ``size``
    rows each, but a quarter and a half of that for the first two and the last two.
    The database waits for the first chunk to be validated, and the last chunk's COPY
    overlaps nothing; small chunks there shorten both waits."""
    small, half = max(250, size // 4), max(250, size // 2)
    middle = total - 2 * (small + half)
    if middle < size:  # a small file: plain chunks
        n = max(1, -(-total // size))
        sizes, edges = [total // n + (i < total % n) for i in range(n)], []
    else:
        n = -(-middle // size)
        sizes = [middle // n + (i < middle % n) for i in range(n)]
        edges = [small, half]
    bounds, start = [], 0
    for rows in [*edges, *sizes, *reversed(edges)]:
        bounds.append((start, start + rows))
        start += rows
    return bounds


#: a chunk of an upload: rows read in this process, or lines of CSV a worker parses
Chunk = list[tuple[int, list[Any]]] | reader.TextChunk


def _column_cells(column: int, delimiter: str) -> re.Pattern[str]:
    """Each line's cell in ``column`` (0-based), for lines without quoted cells: the task
    numbers of a chunk of text, found without parsing its other cells."""
    d = re.escape(delimiter)
    return re.compile(rf"^(?:[^{d}\n]*{d}){{{column}}}([^{d}\n]*)", re.MULTILINE)


def _task_of(cell: Any) -> int | None:
    """The task number a row's task cell names, or None (the row is then refused)."""
    task_id = None
    with contextlib.suppress(TypeError, ValueError, IndexError):
        # the usual cell: int() reads " 12 " and full-width digits, quickly
        with contextlib.suppress(ValueError):
            task_id = int(cell) if type(cell) is str else None
        if task_id is None:
            task_id = int(reader.normalise_cell(cell))
    if task_id is not None and not 0 < task_id <= MAX_ID:
        return None  # the row says "not a task number"; the database cannot hold it
    return task_id


def _process_results(
    session: Session,
    user: Any,
    sector: str,
    table: reader.Table | reader.Stream,
    lim: reader.Limits,
    progress: Progress | None,
    mode: str = "all_or_nothing",
    import_id: int | None = None,
) -> Outcome:
    """Validate the rows in chunks (in worker processes for large files) and write each
    chunk's accepted rows as soon as it is back, so the database works while the workers
    go on; in ``all_or_nothing`` mode writing stops at the first bad row.

    A :class:`reader.Stream` is consumed as it is parsed: each chunk goes to a worker as
    soon as its rows are read, so the workers and the database are busy while the rest
    of the file is still being parsed (for 100,000 CSV rows that parse alone took 0.46 s
    of the upload's 5.3, with one CPU idle).  If reading then refuses the file, the
    error propagates and the caller rolls back what was written.
    """
    stream = reader.Stream.of(table) if isinstance(table, reader.Table) else table
    columns = result_columns(sector)
    example = example_cells(columns)  # the template's own columns, before further groups
    columns += further_groups(columns, stream.headers)
    fields = _map_headers(stream, columns)
    pm = get_pm()
    plugin_names = {c.name for c in (plugin_template_columns(sector) or ())}
    task_column = fields.index("task_id")
    today = today_in_china()
    plugins = tuple(current_app.config["PLUGINS"])
    copy_encoding = None
    if session.get_bind().dialect.name == "postgresql":
        raw = session.connection().connection.driver_connection
        copy_encoding = codecs.lookup(raw.info.encoding).name
    ctx = RowContext(
        sector=sector,
        plugins=plugins,
        plugin_config=dict(current_app.config.get("PLUGIN_CONFIG", {}).get(sector, {})),
        username=user.username,
        inspector_badge=user.inspector_badge,
        may_import_any=has_permission(user, "results:correct"),
        today=today,
        due=deadline_for(session, today),
        tasks={},
        known=frozenset(c.name for c in columns),
        plugin_names=frozenset(plugin_names),
        headers=tuple(stream.headers),
        fields=tuple(fields),
        limits=lim,
        recorded_at=utcnow(),
        copy_encoding=copy_encoding,
        import_id=import_id,
        example=example,
    )
    estimate = max(stream.estimate, 1)
    n_workers = _workers_for(estimate, pm, plugins)
    size = max(1000, -(-estimate // (n_workers * 8)))
    sizes = [b - a for a, b in chunk_bounds(estimate, size)]
    tasks: dict[int, TaskInfo] = {}
    looked_up: set[int] = set()
    outcomes: list[Outcome] = []
    done = stored = 0
    stored_tasks: set[int] = set()
    streaming = True
    # the digest of the rows in the order they are written, which is their id order
    written = hashlib.sha256()

    def arrived(outcome: Outcome) -> None:
        nonlocal done, stored, streaming
        done += outcome.received
        if progress:
            progress("validate", done, max(done, estimate))
        if outcome.errors and mode == "all_or_nothing":
            streaming = False
        encoded, outcome.encoded = outcome.encoded, None
        if streaming and (encoded is not None or outcome.rows):
            written.update(outcome.digests)
            outcome.digests = b""
        if streaming and encoded is not None:
            _copy_results(session, encoded)
            stored += encoded.count
            stored_tasks.update(encoded.task_ids)
            if progress:
                progress("store", stored, max(done, estimate))
        if streaming and outcome.rows:
            _store_result_rows(session, outcome.rows)
            stored += len(outcome.rows)
            stored_tasks.update(r["task_id"] for r in outcome.rows)
            outcome.rows = []
            if progress:
                progress("store", stored, max(done, estimate))
        outcomes.append(outcome)

    def with_tasks(named: set[int | None]) -> RowContext:
        """The context for a chunk naming these tasks, holding only them (looked up as
        they are first named): the pool is shared, the context is not."""
        named.discard(None)
        new = named - looked_up
        if new:
            tasks.update(_load_tasks(session, user, new))  # type: ignore[arg-type]
            looked_up.update(new)  # type: ignore[arg-type]
        return dataclasses.replace(ctx, tasks={t: tasks[t] for t in named if t in tasks})

    def chunks() -> Iterable[tuple[RowContext, Chunk]]:
        """The file's chunks as they are read."""
        plan = itertools.chain(sizes, itertools.repeat(size))
        if stream.body is not None:  # lines of text, each worker parsing its own
            cells = _column_cells(task_column, stream.delimiter)
            for piece in stream.pieces(plan):
                found = set(cells.findall(piece.text))
                if stream.quoted:  # as TextChunk.rows reads them: "'+12" is "+12"
                    found = {reader._unquoted(c) for c in found}
                yield with_tasks({_task_of(c) for c in found}), piece
            return
        for n in plan:
            chunk = list(itertools.islice(stream.rows, n))
            if not chunk:
                return
            named = {_task_of(v[task_column] if task_column < len(v) else None) for _, v in chunk}
            yield with_tasks(named), chunk

    pending: collections.deque[tuple[Any, RowContext, Chunk]] = collections.deque()
    executor = workers.pool(n_workers, plugins, _init_worker) if n_workers > 1 else None
    try:
        for chunk_ctx, chunk in chunks():
            future = None  # None: validated here, in its turn
            if executor is not None:
                try:
                    future = executor.submit(_worker_chunk, chunk_ctx, chunk)
                except BrokenProcessPool:
                    executor = _abandon(executor)
            pending.append((future, chunk_ctx, chunk))
            # store what is back, in file order, before reading on
            while pending and (pending[0][0] is None or pending[0][0].done()):
                executor = _settle(pending.popleft(), executor, arrived, pm)
        while pending:
            executor = _settle(pending.popleft(), executor, arrived, pm)
    finally:
        for future, _, _ in pending:  # the file was refused while chunks were out
            if future is not None:
                future.cancel()
    rows = [r for o in outcomes for r in o.rows]
    errors = [e for o in outcomes for e in o.errors]
    rejected = set().union(*(o.rejected_rows for o in outcomes))
    if progress and done != estimate:  # the last figures, against the rows really read
        progress("validate", done, done)
        progress("store", stored, done)
    return Outcome(
        done,
        rows,
        errors,
        rejected,
        stored,
        frozenset(stored_tasks),
        digests=b"".join(o.digests for o in outcomes),
        written=written,
    )


def _abandon(executor: Any) -> None:
    """A worker died (killed, out of memory): the pool is broken, and the rest of the
    upload is validated in this process."""
    log.warning("upload workers failed; validating the rest in this process")
    workers.discard(executor)


def _settle(
    item: tuple[Any, RowContext, Chunk],
    executor: Any,
    arrived: Callable[[Outcome], None],
    pm: Any,
) -> Any:
    """Wait for a chunk sent to the workers and take its outcome; a chunk whose worker
    died is validated here.  Returns the executor, or None once the pool is broken."""
    future, chunk_ctx, chunk = item
    try:
        if future is not None:
            try:
                arrived(future.result())
                return executor
            except BrokenProcessPool:
                if executor is not None:
                    executor = _abandon(executor)
        arrived(_validate_chunk(chunk_ctx, chunk, pm))
    except reader.MalformedChunk as exc:
        raise reader.malformed_line(*exc.args) from None
    return executor


def _load_tasks(session: Session, user: Any, ids: set[int]) -> dict[int, TaskInfo]:
    """The tasks an upload names, in the user's scope, as plain data.

    Three Core queries per 2,000 tasks rather than ORM objects with their relationships:
    an upload may name thousands of tasks.  Builds what :meth:`TaskInfo.of` builds.
    """
    from inspect_core.plans.models import Plan, TaskAssignment

    out: dict[int, TaskInfo] = {}
    lock = session.get_bind().dialect.name == "postgresql"
    ordered = sorted(ids)
    for start in range(0, len(ordered), 2000):
        chunk = ordered[start : start + 2000]
        if lock:
            # FOR SHARE on the tasks' plans first, in a statement of its own, as a single
            # result takes it (results.service._lock_plan): a re-draw or a close under way
            # (FOR UPDATE on the plan) is waited for, and the task query below, a new
            # statement, reads the tasks it superseded; one that starts later waits for the
            # upload and finds its results.  Otherwise a row stored on a task being
            # superseded left the result on a draw no longer current.
            plan_ids = session.scalars(
                select(Task.plan_id).where(Task.id.in_(chunk)).distinct()
            ).all()
            session.execute(
                select(Plan.id)
                .where(Plan.id.in_(sorted(plan_ids)))
                .order_by(Plan.id)
                .with_for_update(read=True)
            )
        stmt = (
            select(
                Task.id, Task.plan_id, Task.status, Task.enterprise_id, Enterprise.uscc,
                Plan.sector, Plan.created_at, Plan.status, Task.created_at,
                Enterprise.established_on,
            )
            .join(Enterprise, Enterprise.id == Task.enterprise_id)
            .join(Plan, Plan.id == Task.plan_id)
            .where(Task.id.in_(chunk), region_clause(user, Enterprise.region))
        )  # fmt: skip
        if lock:
            # FOR SHARE on the enterprises until the upload commits, as a single result
            # takes (results.service._build): a PATCH moving established_on waits for the
            # upload, and one under way is waited for here and its new date read
            stmt = stmt.with_for_update(read=True, of=Enterprise)
        rows = session.execute(stmt).all()
        enterprise_ids = sorted({r[3] for r in rows})
        sectors: dict[int, list[str]] = {}
        for eid, code in session.execute(
            select(EnterpriseSector.enterprise_id, EnterpriseSector.sector)
            .where(EnterpriseSector.enterprise_id.in_(enterprise_ids))
            .order_by(EnterpriseSector.enterprise_id, EnterpriseSector.sector)
        ):
            sectors.setdefault(eid, []).append(code)
        badges: dict[int, set[str]] = {}
        for tid, badge in session.execute(
            select(TaskAssignment.task_id, Inspector.badge)
            .join(Inspector, Inspector.id == TaskAssignment.inspector_id)
            .where(TaskAssignment.task_id.in_(chunk), TaskAssignment.released_at.is_(None))
        ):
            badges.setdefault(tid, set()).add(badge)
        for (
            tid, plan_id, status, eid, uscc, sector, created_at, plan_status, drawn_at,
            established_on,
        ) in rows:  # fmt: skip
            out[tid] = TaskInfo(
                id=tid,
                plan_id=plan_id,
                sector=sector,
                plan_created_on=created_at.astimezone(CHINA).date(),
                plan_status=plan_status,
                status=status,
                enterprise_id=eid,
                uscc=uscc,
                sectors=tuple(sectors.get(eid, ())),
                badges=frozenset(badges.get(tid, ())),
                drawn_on=drawn_at.astimezone(CHINA).date(),
                established_on=established_on,
            )
    return out


def _enterprise_record(record: dict[str, Any]) -> dict[str, Any]:
    names = {entry.name_zh: code for code, entry in catalogue().items()}
    data = dict(record)
    if "sectors" in data:
        data["sectors"] = _split_codes(data["sectors"], names)
    if "status" in data:
        data["status"] = STATUS_ZH.get(str(data["status"]), data["status"])
    for key in ("name", "region", "address", "uscc"):
        if key in data:
            data[key] = str(data[key])
    return data


def _inspector_record(record: dict[str, Any]) -> dict[str, Any]:
    names = {entry.name_zh: code for code, entry in catalogue().items()}
    data = dict(record)
    if "qualifications" in data:
        data["qualifications"] = _split_codes(data["qualifications"], names)
    if "active" in data:
        text = str(data["active"]).strip().lower()
        data["active"] = True if text in YES else False if text in NO else data["active"]
    for key in ("badge", "name", "unit", "region"):
        if key in data:
            data[key] = str(data[key])
    return data


def _enterprise_checks(
    session: Session, user: Any, loaded: list[tuple[int, dict[str, Any]]]
) -> dict[int, tuple[str, str]]:
    """Row → (field, message) for duplicates (in the file or registered) and scope."""
    problems: dict[int, tuple[str, str]] = {}
    codes = [d["uscc"] for _, d in loaded]
    existing: set[str] = set()
    for start in range(0, len(codes), 2000):
        existing |= set(
            session.scalars(
                select(Enterprise.uscc).where(Enterprise.uscc.in_(codes[start : start + 2000]))
            )
        )
    seen: dict[str, int] = {}
    for number, data in loaded:
        if data["uscc"] in existing:
            problems[number] = ("uscc", "already registered")
        elif data["uscc"] in seen:
            problems[number] = ("uscc", f"repeats row {seen[data['uscc']]}")
        elif user.regions and data["region"] not in user.regions:
            problems[number] = ("region", f"outside your scope: {', '.join(user.regions)}")
        seen.setdefault(data["uscc"], number)
    return problems


def _inspector_checks(
    session: Session, user: Any, loaded: list[tuple[int, dict[str, Any]]]
) -> dict[int, tuple[str, str]]:
    problems: dict[int, tuple[str, str]] = {}
    badges = [d["badge"] for _, d in loaded]
    existing: set[str] = set()
    # in chunks, as the enterprises' codes: one IN of every badge of a file past 65,535
    # rows broke PostgreSQL's limit on a statement's parameters (a 500)
    for start in range(0, len(badges), 2000):
        existing |= set(
            session.scalars(
                select(Inspector.badge).where(Inspector.badge.in_(badges[start : start + 2000]))
            )
        )
    seen: dict[str, int] = {}
    for number, data in loaded:
        if data["badge"] in existing:
            problems[number] = ("badge", "already registered")
        elif data["badge"] in seen:
            problems[number] = ("badge", f"repeats row {seen[data['badge']]}")
        elif user.regions and data["region"] not in user.regions:
            problems[number] = ("region", f"outside your scope: {', '.join(user.regions)}")
        seen.setdefault(data["badge"], number)
    return problems


def _process_registry(
    session: Session,
    user: Any,
    table: reader.Table,
    lim: reader.Limits,
    progress: Progress | None,
    columns: tuple[TemplateColumn, ...],
    schema_cls: Any,
    to_record: Callable[[dict[str, Any]], dict[str, Any]],
    checks: Callable[..., dict[int, tuple[str, str]]],
) -> Outcome:
    fields = _map_headers(table, columns)
    known = {c.name for c in columns}
    schema = schema_cls()
    records = list(reader.iter_records(table, fields, lim))
    loaded: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    rejected: set[int] = set()
    headers: dict[int, tuple[dict[str, Any], dict[str, str]]] = {}
    for i, (number, record, header_of, cell_problems) in enumerate(records, start=1):
        headers[number] = (record, header_of)
        row_errors = [RowError(number, header_of.get(f, f), f, v, m) for f, v, m in cell_problems]
        if not row_errors:
            try:
                loaded.append((number, schema.load(to_record(record))))
            except ValidationError as exc:
                row_errors = _row_errors(number, exc.messages, record, header_of, known)
        if row_errors:
            errors.extend(row_errors)
            rejected.add(number)
        if progress and i % 1000 == 0:
            progress("validate", i, len(records))
    for number, (field, message) in checks(session, user, loaded).items():
        record, header_of = headers[number]
        errors.append(
            RowError(number, header_of.get(field, field), field, record.get(field), message)
        )
        rejected.add(number)
    rows = [data for number, data in loaded if number not in rejected]
    errors.sort(key=lambda e: e.row)
    if progress:
        progress("validate", len(records), len(records))
    return Outcome(len(records), rows, errors, rejected)


def _store_result_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write validated result rows (JSON columns already encoded) into the transaction:
    multi-row INSERTs (SQLite; PostgreSQL gets :class:`Encoded` chunks instead)."""
    for start in range(0, len(rows), STORE_CHUNK):
        chunk = rows[start : start + STORE_CHUNK]
        session.execute(_insert_encoded(chunk[0]), chunk)


def _store(
    session: Session,
    kind: str,
    rows: list[dict[str, Any]],
    progress: Progress | None,
    stored_tasks: frozenset[int] = frozenset(),
) -> None:
    """Insert the accepted rows in chunks, all inside the caller's transaction."""
    if kind == "results":
        if rows:
            _store_result_rows(session, rows)
            if progress:
                progress("store", len(rows), len(rows))
        task_ids = sorted({r["task_id"] for r in rows} | stored_tasks)
        for start in range(0, len(task_ids), 2000):
            session.execute(
                update(Task)
                .where(Task.id.in_(task_ids[start : start + 2000]))
                .values(status="done")
            )
        return
    now = utcnow()
    if kind == "enterprises":
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            ids = session.execute(
                insert(Enterprise).returning(
                    Enterprise.id, Enterprise.uscc, sort_by_parameter_order=True
                ),
                [
                    {
                        "uscc": d["uscc"],
                        "name": d["name"],
                        "region": d["region"],
                        "address": d.get("address", ""),
                        "status": d.get("status", "active"),
                        "established_on": d.get("established_on"),
                        "licences": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                    for d in chunk
                ],
            ).all()
            session.execute(
                insert(EnterpriseSector),
                [
                    {"enterprise_id": eid, "sector": s}
                    for (eid, _), d in zip(ids, chunk, strict=True)
                    for s in d["sectors"]
                ],
            )
        return
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        ids = session.execute(
            insert(Inspector).returning(Inspector.id, sort_by_parameter_order=True),
            [
                {
                    "badge": d["badge"],
                    "name": d["name"],
                    "unit": d["unit"],
                    "region": d["region"],
                    "active": d.get("active", True),
                    "created_at": now,
                    "updated_at": now,
                }
                for d in chunk
            ],
        ).all()
        session.execute(
            insert(InspectorQualification),
            [
                {"inspector_id": iid, "sector": s}
                for (iid,), d in zip(ids, chunk, strict=True)
                for s in d["qualifications"]
            ],
        )


_JSON_COLUMNS = {"payload", "judgement", "findings"}
#: JSON columns the workers encode (``facts`` only when not NULL)
_ENCODED_COLUMNS = _JSON_COLUMNS | {"facts"}


def _copy_results(session: Session, encoded: Encoded) -> None:
    """PostgreSQL ``COPY`` of a chunk's rows, already COPY text, inside the session's
    transaction: several times faster than a multi-row INSERT for wide rows with JSON
    (RELIABILITY.md §2.1)."""
    connection = session.connection()
    raw = connection.connection.driver_connection
    try:
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY results ({', '.join(encoded.columns)}) FROM STDIN") as copy,
        ):
            copy.write(encoded.data)
    except Exception:
        if raw.closed or raw.broken:
            connection.invalidate()  # SQLAlchemy did not see the driver-level failure
        raise


def _insert_encoded(sample: dict[str, Any]) -> Any:
    """INSERT of result rows whose JSON columns are already JSON text."""
    from sqlalchemy import Text, bindparam

    table = Result.__table__
    return table.insert().values(
        {
            c: bindparam(c, type_=Text() if c in _ENCODED_COLUMNS else table.c[c].type)
            for c in sample
        }
    )


def get_import(session: Session, user: Any, import_id: int) -> Import:
    """One upload, for its uploader or a reader whose scope covers the uploader's.

    An upload's rows (and its errors.xlsx, which repeats them as uploaded) belong to the
    regions its uploader may write to, so a reader scoped to some regions sees only
    uploads by users scoped within them; a district-wide upload is for district-wide
    readers.  Out of scope reads as absent (404), as elsewhere.
    """
    upload = session.get(Import, import_id)
    if upload is None or not _may_read(session, user, upload):
        raise NotFound(f"no import {import_id}", message_zh="未找到该导入记录")
    return upload


def _may_read(session: Session, user: Any, upload: Import) -> bool:
    """Whether ``user`` may read ``upload`` (see :func:`get_import`)."""
    from inspect_core.auth.models import User

    if upload.user_id == user.id:
        return True
    if not has_permission(user, "imports:read"):
        return False
    scope = set(user.regions)
    if not scope:
        return True
    uploader = session.get(User, upload.user_id)
    theirs = set(uploader.regions) if uploader is not None else set()
    return bool(theirs) and theirs <= scope


#: the column errors.xlsx adds; an upload ignores a column of exactly this header
REASON_HEADER = "错误原因 reason"
NOT_STORED = (
    "not stored: other rows in the file were invalid (all_or_nothing) / "
    "未保存：文件中其他行有错误（全部或全不）"
)


def error_rows(upload: Import) -> tuple[list[str], list[list[Any]]]:
    """The rejected rows as uploaded, with a reason column (ready to fix and re-upload).

    After an all_or_nothing refusal every row was rejected: the valid ones are listed too
    (reason :data:`NOT_STORED`), so fixing and re-uploading the workbook stores the whole
    file rather than only the rows that had errors.
    """
    table = _read_table(upload.filename, upload.raw, _unbounded())
    reasons: dict[int, list[str]] = {}
    for e in upload.errors:
        if e.get("row") is not None:
            message, zh = e.get("message"), _with_zh(e)["message_zh"]
            reason = message if zh is None or zh == message else f"{message} / {zh}"
            reasons.setdefault(int(e["row"]), []).append(f"{e['column']}: {reason}")
    refused = upload.mode == "all_or_nothing" and upload.status == "rejected" and upload.received
    # an uploaded errors.xlsx brings the last reasons along: replaced, not repeated
    kept = [i for i, header in enumerate(table.headers) if header != REASON_HEADER]
    width = len(table.headers)
    found: list[tuple[list[Any], list[Any], str]] = []
    for n, values in table.rows:
        if n in reasons or refused:
            cells = [*values[:width], *[""] * (width - len(values))]
            # cells past the header (refused, "more cells than the header has columns")
            # come back too, in columns without a header, for the user to move or clear
            past = [reader.normalise_cell(v) for v in values[width:]]
            while past and past[-1] is None:
                past.pop()
            reason = "; ".join(reasons[n]) if n in reasons else NOT_STORED
            found.append(([reader.normalise_cell(cells[i]) for i in kept], past, reason))
    extra = max((len(past) for _, past, _ in found), default=0)
    rows = [[*cells, *past, *[None] * (extra - len(past)), why] for cells, past, why in found]
    return [*(table.headers[i] for i in kept), *[""] * extra, REASON_HEADER], rows


def _unbounded() -> reader.Limits:
    return reader.Limits(10**12, 10**9, 10**9, 10**12, 10**9)


# --- export ----------------------------------------------------------------------------


def current_results(user: Any, sector: str, plan: int | None) -> Select[tuple[Result]]:
    """The current version of each of a sector's results (none a later one supersedes)
    the user may read, in id order: what the export writes."""
    from sqlalchemy import exists
    from sqlalchemy.orm import aliased

    newer = aliased(Result)
    stmt = (
        select(Result)
        .join(Enterprise, Enterprise.id == Result.enterprise_id)
        .where(
            Result.sector == sector,
            region_clause(user, Enterprise.region),
            ~exists().where(newer.supersedes_id == Result.id),
        )
        .order_by(Result.id)
    )
    return stmt if plan is None else stmt.where(Result.plan_id == plan)


def export_results(
    session: Session, user: Any, sector: str, plan: int | None
) -> tuple[list[TemplateColumn], RowSpool]:
    """Current results of a sector in the template's columns (so the export re-imports),
    as the columns and a :class:`RowSpool` of the rows (the caller closes it).

    The columns are known only after the last row (a result with more item groups than
    the template shows adds ``检验项目4（代码）``), so the rows go to a spool as they are
    made rather than a list a district's results would fill memory with.  A plugin fault
    is a 502 before anything is sent, as before."""
    _check_sector(sector)
    columns = result_columns(sector)
    names = [c.name for c in columns]
    groups = group_fields(columns)
    spool = RowSpool()
    try:
        for result in session.scalars(current_results(user, sector, plan)).yield_per(1000):
            row = _export_row(sector, result)
            extra = [k for k in row if k not in names and row[k] not in (None, "")]
            for k in extra:  # e.g. more item groups than the template shows: 检验项目4（代码）
                names.append(k)
                columns.append(TemplateColumn(k, _group_header(groups, k) or k, required=False))
            spool.add([row.get(name) for name in names])
    except BaseException:
        spool.close()
        raise
    return columns, spool


def _export_row(sector: str, result: Result) -> dict[str, Any]:
    """One result as the template's cells: its own columns, then the plugin's."""
    row: dict[str, Any] = {
        "task_id": result.task_id,
        "inspected_on": result.inspected_on.isoformat(),
        "conclusion_code": result.conclusion_code,
        "findings": findings_cell(f for f in result.findings if f.get("source") == "inspector"),
    }
    if result.payload is not None:
        plugin_row = call_plugin(
            sector, "inspect_row_from_payload", f"未能导出结果 {result.id}",
            about=f" on result {result.id}", payload=result.payload,
        )  # fmt: skip
        if plugin_row is not None:
            _check_export_row(sector, result.id, plugin_row)
        cells = plugin_row if plugin_row is not None else _flatten_payload(result.payload)
        # the result's own columns stand: a plugin column of the same name (special
        # equipment's 检查日期) blank in a payload without the date blanked the
        # result's, and the re-import was dated, and judged, on the day it was made
        row.update({k: v for k, v in cells.items() if row.get(k) in (None, "")})
    return row


#: what an exported cell may hold: values the CSV writer and openpyxl both write as such
#: (the set: the usual exact types, checked first; a row has dozens of cells)
_EXPORT_CELL = (str, int, float, Decimal, dt.date, dt.time, type(None))
_EXPORT_CELL_TYPES = frozenset({str, int, float, bool, Decimal, dt.date, type(None)})


def _check_export_row(sector: str, result_id: int, row: Any) -> None:
    """A row ``inspect_row_from_payload`` gave, or the 502 naming the plugin and the
    result: a mapping of column names to cell values (a list in a cell failed the xlsx
    export with a 500, a key that is not text the export's headers)."""
    problem = None
    if not isinstance(row, Mapping):
        problem = f"returned {type(row).__name__}, not a mapping"
    else:
        for key, value in row.items():
            if type(key) is not str:
                problem = f"returned the column name {key!r}, not text"
            elif type(value) not in _EXPORT_CELL_TYPES and not isinstance(value, _EXPORT_CELL):
                problem = f"returned {type(value).__name__} for column {key!r}, not a cell value"
            if problem:
                break
    if problem:
        raise _fault(
            sector, f"inspect_row_from_payload on result {result_id} {problem}",
            f"未能导出结果 {result_id}",
        )  # fmt: skip


def _flatten_payload(payload: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            out.update(_flatten_payload(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(payload, list):
        for i, value in enumerate(payload):
            out.update(_flatten_payload(value, f"{prefix}.{i}"))
    else:
        out[prefix] = payload
    return out


def csv_header(columns: list[TemplateColumn]) -> bytes:
    """The export's first bytes: UTF-8 BOM and zh-CN headers, what Excel opens correctly
    in a Chinese locale.  The headers are the template's, as they are (not through
    ``csv_cell``)."""
    header = io.StringIO()
    csv.writer(header).writerow([c.header_zh for c in columns])
    return ("\ufeff" + header.getvalue()).encode("utf-8")
