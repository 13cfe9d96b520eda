"""The Blueprint every API module uses: flask-smorest's, with a request parser that refuses
a body it would otherwise ignore.

webargs reads a JSON body only when the request says ``Content-Type: application/json``;
any other body -- a form post, JSON sent as ``text/plain`` -- was read as *no body*.  A
PATCH then answered 200 having changed nothing, and a POST blamed "missing" fields that
were there: silent data loss, and a misleading error.  Here such a body is a 415 naming
the content type, and a PATCH without a body is a 422.

Uploads take a file and form fields in one ``multipart/form-data`` body; webargs parses
``form`` and ``files`` apart and flask-smorest documents only one request body, so the
document said the upload was a url-encoded form without the file.  The
``form_and_files`` location reads both into one schema and is documented as multipart.

A NUL byte in a query parameter, a JSON string or key, a form field, or an uploaded file's
name or type is a 4xx naming where: PostgreSQL's text cannot hold one, so it reached the
driver as an error (a path holding one matches no route: ``inspect_core.app``).  So is
a lone UTF-16 surrogate in a JSON string or key (``"\\ud800"``: Python's decoder takes it,
no UTF-8 text can hold it, both drivers raised).

A JSON object naming a key twice is a 400 naming the key at its path: Python's decoder kept
the last value and dropped the first without a word (:func:`parse_json`).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, NoReturn

import flask_smorest
from flask import Request, current_app
from flask_smorest.fields import Upload
from marshmallow import ValidationError, fields
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from inspect_core.errors import ApiError, Unprocessable, nested_errors

MULTIPART = "multipart/form-data"


def has_body(req: Request) -> bool:
    """A body was sent (a length, or chunks of unknown length)."""
    if req.content_length:
        return True
    return "chunked" in req.headers.get("Transfer-Encoding", "").lower()


def json_too_large(limit: int) -> ApiError:
    """413 for a JSON body past ``MAX_JSON_BYTES`` (OWASP API4)."""
    return ApiError(
        f"request body too large (limit {limit} bytes for JSON)",
        {"body": [f"larger than {limit} bytes"]},
        status_code=413,
    )


def unsupported(expected: str, got: str | None) -> ApiError:
    """415 naming the header, in both languages."""
    got = got or "none"
    return ApiError(
        f"this operation takes {expected}, not {got}",
        {"Content-Type": [f"expected {expected}, got {got}"]},
        message_zh=f"请求体应为 {expected}，而不是 {got}",
        status_code=415,
    )


NUL = "\x00"
NUL_REASON = "must not contain a NUL byte (0x00)"
SURROGATE_REASON = "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _shown(name: str) -> str:
    """A field name as an error may show it: NUL and lone surrogates escaped."""
    return name.replace(NUL, "\\x00").encode("utf-8", "backslashreplace").decode()


def _text_fault(text: str) -> str | None:
    """Why ``text`` cannot be stored: a NUL, or a lone surrogate (a JSON ``\\ud800``
    escape; a pair is decoded into one character, so any surrogate left is alone)."""
    if NUL in text:
        return NUL_REASON
    if not text.isascii() and _SURROGATE.search(text):
        return SURROGATE_REASON
    return None


#: the deepest nesting a JSON body may have: the deepest body the API takes (a plugin's
#: payload tree) nests a few levels; past ~990 Python's decoder raised (a 500)
MAX_JSON_DEPTH = 64


def malformed_json(reason: str, reason_zh: str) -> ApiError:
    """400 for a body that is not JSON the API can read, naming ``body``."""
    return ApiError(
        f"malformed JSON body: {reason}",
        {"body": [reason]},
        message_zh=f"JSON 请求体格式错误：{reason_zh}",
        status_code=400,
    )


def too_deep() -> ApiError:
    return malformed_json(
        f"nested deeper than {MAX_JSON_DEPTH} levels", f"嵌套超过 {MAX_JSON_DEPTH} 层"
    )


def too_long_number() -> ApiError:
    digits = sys.get_int_max_str_digits()
    return malformed_json(f"a number longer than {digits} digits", f"数字超过 {digits} 位")


DUPLICATE_KEY_REASON = "given more than once in the same object; send each key once"
#: how many repeated keys the message names, at most (``errors`` names every one)
_REPEATED_SHOWN = 5


class _Repeated(dict):  # type: ignore[type-arg]
    """A JSON object that named a key more than once; ``repeated``: those keys."""

    __slots__ = ("repeated",)


def parse_json(data: bytes | str) -> Any:
    """The body as :func:`webargs.core.parse_json` reads it (undecodable bytes are a
    ``JSONDecodeError``), except that a key named twice in one object is a 400 naming it
    at its path (:func:`repeated_keys`): Python's decoder kept the last value and dropped
    the first without a word, so ``{"severity": "critical", …, "severity": "minor"}``
    was stored as minor.

    The decoder hands each object's pairs to :func:`_object` (``object_pairs_hook``),
    which builds the dict as the decoder would and compares its size with the number of
    pairs: one call per object, and no second pass over the body unless a key repeats.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(
                f"Bytes decoding error : {exc.reason}", doc=str(exc.object), pos=exc.start
            ) from exc
    else:
        text = data
    repeated: list[bool] = []

    def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        repeated.append(True)
        seen: set[str] = set()
        twice: dict[str, None] = {}  # in the order the body gives them
        for key, _ in pairs:
            if key in seen:
                twice[key] = None
            seen.add(key)
        marked = _Repeated(obj)
        marked.repeated = list(twice)
        return marked

    value = json.loads(text, object_pairs_hook=_object)
    if repeated:
        raise repeated_keys(value)
    return value


def _repeated_errors(value: Any, path: tuple[str, ...], found: list[str]) -> dict[str, Any]:
    """Field errors for every repeated key within ``value``, nested as marshmallow nests
    them; the dotted path of each is added to ``found``."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return {}
    errors: dict[str, Any] = {}
    for key in getattr(value, "repeated", ()):
        name = _shown(key)
        errors[name] = [DUPLICATE_KEY_REASON]
        found.append(".".join((*path, name)))
    for key, item in items:
        name = _shown(str(key))
        if name not in errors and (inner := _repeated_errors(item, (*path, name), found)):
            errors[name] = inner
    return errors


def repeated_keys(value: Any) -> ApiError:
    """400 naming each key a JSON body gives twice in one object, at its path."""
    found: list[str] = []
    errors = _repeated_errors(value, (), found)
    shown = ", ".join(found[:_REPEATED_SHOWN]) + ("…" if len(found) > _REPEATED_SHOWN else "")
    return ApiError(
        f"malformed JSON body: a key given more than once ({shown})",
        errors,
        message_zh=f"JSON 请求体格式错误：键重复出现（{shown}）",
        status_code=400,
    )


def text_errors(value: Any) -> dict[str, Any]:
    """Field errors for every string (or key) of a parsed JSON value holding a NUL or a
    lone surrogate: PostgreSQL's text cannot hold a NUL, no UTF-8 text a surrogate, so
    either surfaced as a driver error (a 500), and nothing a person types contains one.
    A value nested deeper than :data:`MAX_JSON_DEPTH` is refused on the way."""
    return nested_errors(
        value,
        lambda v: _text_fault(v) if isinstance(v, str) else None,
        name=lambda key: _shown(str(key)),
        max_depth=MAX_JSON_DEPTH,
        too_deep=too_deep,
    )


FILE_NUL_REASON = "the file's name and Content-Type " + NUL_REASON


def _refuse_nul_fields(multidict: Any, files: Any = None) -> None:
    """422 naming each key of a query string or form whose name or a value holds a NUL,
    and each file part whose name, file name or Content-Type does (both are stored with
    an upload)."""
    bad = {
        _shown(key): [NUL_REASON]
        for key, values in multidict.lists()
        if NUL in key or any(NUL in v for v in values)
    }
    for key, parts in files.lists() if files is not None else ():
        if any(NUL in f"{key}{p.filename or ''}{p.content_type or ''}" for p in parts):
            bad[_shown(key)] = [FILE_NUL_REASON]
    if bad:
        raise Unprocessable(
            "the request's fields did not validate", bad, message_zh="字段含有 NUL 字节"
        )


REPEATED_REASON = "given more than once; this parameter takes one value"
#: how many names a key's error lists, at most (a long query string is not echoed whole)
_UNKNOWN_SHOWN = 20


def _refuse_unread(proxy: Any, schema: Any) -> None:
    """422 naming each query parameter the operation would not read as given: one it does
    not know (``teir=D``, a typo, listed the whole district where tier D was asked for, and
    an export of it went out whole), and one that takes a single value given more than once
    (webargs read the first and dropped the rest: ``tier=A&tier=D`` listed A only,
    ``format=csv&format=xlsx`` sent CSV).  ``proxy``: webargs' view of the query string,
    which knows the fields that take several."""
    known = {
        name if field.data_key is None else field.data_key
        for name, field in schema.fields.items()
        if not field.dump_only
    }
    _refuse_query(proxy.data, known, known - proxy.multiple_keys)


#: what a number in a query string may be: ASCII digits.  ``int()`` and ``float()`` also
#: take other scripts' digits and Python's spellings, so ``?year=２０２６``, ``?plan=٣``,
#: ``?limit=1_0`` and ``?year= 2026 `` were read as numbers nothing documents them to be
_QUERY_INTEGER = re.compile(r"-?[0-9]+")
_QUERY_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
INTEGER_REASON = "Not a valid integer: ASCII digits 0-9 only."
NUMBER_REASON = "Not a valid number: ASCII digits 0-9 only."


def _refuse_loose_numbers(args: Any, schema: Any) -> None:
    """422 naming each query parameter of a number field whose value is not written in
    ASCII digits (:data:`_QUERY_INTEGER`, :data:`_QUERY_NUMBER`), before the schema's
    ``int()`` reads it as a number."""
    bad: dict[str, list[str]] = {}
    for name, field in schema.fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if field.dump_only or not isinstance(inner, fields.Number):
            continue
        integer = isinstance(inner, fields.Integer)
        pattern = _QUERY_INTEGER if integer else _QUERY_NUMBER
        key = name if field.data_key is None else field.data_key
        if any(pattern.fullmatch(value) is None for value in args.getlist(key)):
            bad[_shown(key)] = [INTEGER_REASON if integer else NUMBER_REASON]
    if bad:
        raise Unprocessable(
            "the request's query parameters did not validate",
            bad,
            message_zh="查询参数有误：数字须为半角数字 0-9",
        )


def _refuse_query(args: Any, known: set[str], single: set[str]) -> None:
    """422 naming each parameter of ``args`` (a MultiDict) not in ``known``, and each in
    ``single`` given more than once."""
    accepted = ", ".join(sorted(known)) or "none"
    bad: dict[str, list[str]] = {}
    for key, values in args.lists():
        if key not in known:
            if len(bad) < _UNKNOWN_SHOWN:
                bad[_shown(key)[:64]] = [f"unknown parameter; this operation takes: {accepted}"]
        elif len(values) > 1 and key in single:
            bad[_shown(key)] = [REPEATED_REASON]
    if bad:
        raise Unprocessable(
            "the request's query parameters did not validate",
            bad,
            message_zh="查询参数有误：未知参数或重复参数",
        )


def refuse_query_unread_by(view: Any, req: Request) -> None:
    """:func:`_refuse_unread` for an operation with no query schema, which webargs never
    looks at: its query string was dropped whatever it held, so ``GET
    /enterprises/{uscc}/credit?run=5`` answered the latest rating as if it were run 5's.
    It takes only the query parameters its documentation names (an upload's ``mode``);
    an operation with a query schema is checked by :meth:`Parser.load_querystring`."""
    args = query_args(req)
    if not args:
        return
    apidoc = _operation_doc(view, req)
    if any(p.get("in") == "query" for p in apidoc.get("arguments", {}).get("parameters", [])):
        return
    known = {
        p["name"]
        for p in apidoc.get("manual_doc", {}).get("parameters", [])
        if p.get("in") == "query"
    }
    _refuse_nul_fields(args)
    _refuse_query(args, known, known)  # a parameter read by hand takes one value


def _operation_doc(view: Any, req: Request) -> dict[str, Any]:
    """The documentation of the operation ``req`` is routed to, when ``view`` serves it:
    the routed handler's, which every flask-smorest decorator added to.  ``view``'s own
    holds only those beneath it: a query schema or ``@blp.doc`` above ``require`` was
    missed there, and the parameters the document names were refused."""
    handler = current_app.view_functions.get(req.endpoint or "")
    view_class = getattr(handler, "view_class", None)
    if view_class is not None:
        method = req.method.lower()
        handler = getattr(view_class, method, None)
        if handler is None and method == "head":
            handler = getattr(view_class, "get", None)
    fn = handler
    while fn is not None:
        if fn is view:
            return getattr(handler, "_apidoc", {})
        fn = getattr(fn, "__wrapped__", None)
    return getattr(view, "_apidoc", {})


def query_args(req: Request) -> Any:
    """``req.args``, or a 400 naming ``query`` for a query string that is not UTF-8 (raw
    bytes such as ``?\xff=1``: werkzeug decodes it strictly, and raised, a 500)."""
    try:
        return req.args
    except UnicodeDecodeError:
        raise ApiError(
            "the query string is not UTF-8 text",
            {"query": ["not UTF-8 text; percent-encode the parameters"]},
            message_zh="查询字符串不是 UTF-8 文本",
            status_code=400,
        ) from None


class Parser(FlaskParser):
    """webargs' Flask parser, strict about the body's media type."""

    __location_map__ = {
        **FlaskParser.__location_map__,
        "form_and_files": "load_form_and_files",
    }

    def _raw_load_json(self, req: Request) -> Any:
        """webargs' own, reading the body with :func:`parse_json` (a repeated key is a
        400 naming it)."""
        if not is_json_request(req):
            return core.missing
        return parse_json(req.get_data(cache=True))

    def load_querystring(self, req: Request, schema: Any) -> Any:
        """Query parameters; one holding a NUL is a 422 naming it (PostgreSQL answered a
        filter holding one with an error, a 500: on every string filter, and on the
        public results).  Here, after the token is checked, not before.  So is one the
        operation does not know, or one that takes a single value given more than once
        (:func:`_refuse_unread`), and a number not written in ASCII digits
        (:func:`_refuse_loose_numbers`)."""
        _refuse_nul_fields(query_args(req))
        proxy = super().load_querystring(req, schema)  # webargs' MultiDictProxy
        _refuse_unread(proxy, schema)
        _refuse_loose_numbers(proxy.data, schema)
        return proxy

    def load_json(self, req: Request, schema: Any) -> Any:
        if has_body(req) and not is_json_request(req):
            raise unsupported("application/json", req.mimetype)
        if is_json_request(req) and req.content_length is None:
            # a body of unknown length (chunked) can only be measured once read; the app
            # lets one byte past the limit be read (``_json_body_limit``), refused here
            limit = int(current_app.config["MAX_JSON_BYTES"])
            if len(req.get_data(cache=True)) > limit:
                raise json_too_large(limit)
        try:
            data = super().load_json(req, schema)
        except RecursionError:
            raise too_deep() from None
        except ValueError:
            # not a JSONDecodeError (webargs handles those): an integer longer than Python
            # converts (``sys.get_int_max_str_digits``), which escaped as a 500
            raise too_long_number() from None
        if errors := text_errors(data):
            raise Unprocessable(
                "the request's fields did not validate",
                errors,
                message_zh="字段含有 NUL 字节或孤立的代理字符",
            )
        if data is core.missing and req.method == "PATCH":
            raise Unprocessable(
                "send a JSON object of the fields to change",
                {"body": ["empty: a JSON object of the fields to change is expected"]},
                message_zh="请求体为空：请发送要修改字段的 JSON 对象",
            )
        return data

    def _handle_invalid_json_error(
        self,
        error: json.JSONDecodeError | UnicodeDecodeError,
        req: Request,
        *args: Any,
        **kwargs: Any,
    ) -> NoReturn:
        """Where and why the body is not JSON (webargs said only "Invalid JSON body",
        under Werkzeug's message for any 400)."""
        if isinstance(error, json.JSONDecodeError):
            reason = f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            reason_zh = f"不是有效的 JSON：第 {error.lineno} 行第 {error.colno} 列"
        else:
            reason, reason_zh = "not UTF-8 text", "不是 UTF-8 文本"
        raise malformed_json(reason, reason_zh)

    def load_form_and_files(self, req: Request, schema: Any) -> Any:
        """Form fields and files of one multipart body, as one mapping."""
        if has_body(req) and req.mimetype != MULTIPART:
            raise unsupported(MULTIPART, req.mimetype)
        _refuse_nul_fields(req.form, req.files)
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with :class:`Parser` and the multipart location."""

    ARGUMENTS_PARSER = Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "form_and_files": MULTIPART,
    }


class UploadedFile(Upload):
    """A file part of a multipart body (documented as binary); a text field of the same
    name is refused rather than read as a file."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, FileStorage):
            raise ValidationError("a file part is expected, not a text field")
        return value
