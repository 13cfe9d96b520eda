"""Helpers for plugin authors' own test suites."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from inspect_core import i18n
from inspect_core.db import json_dumps
from inspect_core.judging import _jsonable
from inspect_core.plugin_api import RuleInputError


def assert_fast_path_agrees(
    pm: Any,
    sector: str,
    rows: Iterable[Mapping[str, Any]],
    config: Mapping[str, Any] | None = None,
) -> tuple[int, int]:
    """Check a plugin's ``inspect_judge_rows`` against its per-row path.

    Every row the fast path accepts must give the payload the schema loads from
    ``inspect_payload_from_row(row)`` and the judgement ``inspect_judge`` gives for it;
    a row the per-row path rejects must be declined.  Returns ``(accepted, declined)`` so
    a test can also insist that ordinary rows do take the fast path.
    """
    rows = list(rows)
    config = dict(config or {})
    answers = pm.hook.inspect_judge_rows(
        sector=sector, rows=rows, context={"config": config, "recorded_on": None}
    )
    assert answers is not None, f"no inspect_judge_rows for {sector}"
    assert len(answers) == len(rows), "one answer per row"
    schema = pm.hook.inspect_payload_schema(sector=sector)()
    accepted = 0
    for n, (row, answer) in enumerate(zip(rows, answers, strict=True)):
        try:
            payload = schema.load(pm.hook.inspect_payload_from_row(sector=sector, row=row))
            judgement = pm.hook.inspect_judge(
                sector=sector, payload=payload, context={"config": config}
            )
        except (ValidationError, RuleInputError) as exc:
            assert answer is None, (
                f"row {n}: the fast path accepted a row the schema or rules reject ({exc}): {row!r}"
            )
            continue
        if answer is None:
            continue
        accepted += 1
        fast_payload, fast_judgement = answer
        # as stored: exact digits (Decimal("0.10") == Decimal("0.1")), types and key order
        stored, expected = json_dumps(_jsonable(fast_payload)), json_dumps(_jsonable(payload))
        assert stored == expected, f"row {n}: payload {stored} != {expected}"
        assert fast_judgement == judgement, f"row {n}: judgement differs"
    return accepted, len(rows) - accepted


@contextmanager
def untranslated_reasons() -> Iterator[list[str]]:
    """Record every field-level reason shown without a zh-CN entry while the block runs
    (``inspect_messages``): a plugin's tests can assert the list is empty after
    exercising its schema's bad input, as the core's suite does after every test."""
    found: list[str] = []
    i18n.MISSING_HOOKS.append(found.append)
    try:
        yield found
    finally:
        i18n.MISSING_HOOKS.remove(found.append)


#: what stands for an f-string's replacement field when :func:`source_reasons` gives a
#: reason; a catalogue pattern's ``{name}`` matches it as it matches any text
FILLED = "…"


def _literal(node: ast.AST) -> str | None:
    """A string literal's text, or an f-string's with each field shown as :data:`FILLED`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else FILLED for v in node.values)
    return None


def source_reasons(path: str | Path) -> list[tuple[int, str]]:
    """The field-level reasons written as literals in one Python file, with their lines:
    ``ValidationError("…")``'s message, ``RuleInputError(field, "…")``'s, a validator's
    ``error="…"``, and the one-reason lists of an errors mapping (``{"field": ["…"]}``,
    ``errors[name] = ["…"]``).

    A reason passed in a variable is not found; the values of one-item lists that are not
    reasons (``{"sectors": ["food"]}``) are, and a caller skips them by name.
    """
    found: list[tuple[int, str]] = []
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        candidates: list[ast.AST] = []
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name == "ValidationError" and node.args:
                candidates.append(node.args[0])
            elif name == "RuleInputError" and len(node.args) > 1:
                candidates.append(node.args[1])
            # a validator's own message: validate.Range(..., error="…")
            candidates += [k.value for k in node.keywords if k.arg == "error"]
        elif isinstance(node, ast.Dict):
            candidates += [
                v.elts[0] for v in node.values if isinstance(v, ast.List) and len(v.elts) == 1
            ]
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Subscript)
            and isinstance(node.value, ast.List)
            and len(node.value.elts) == 1
        ):
            candidates.append(node.value.elts[0])
        for candidate in candidates:
            if (text := _literal(candidate)) is not None:
                found.append((candidate.lineno, text))
    return sorted(found)


def untranslated_in_source(
    pm: Any, paths: Iterable[str | Path], ignore: Iterable[str] = ()
) -> list[str]:
    """``path:line: reason`` for each reason in the source files ``paths``
    (:func:`source_reasons`) that the catalogue of the plugins in ``pm`` and the core's
    cannot translate; ``ignore`` names literals that are not reasons.

    An f-string's reason is translated only by an entry each of whose placeholders stands
    for one of its fields (:data:`FILLED`): ``f"cannot exceed {n} items"`` read as
    ``"cannot exceed … items"`` fits ``"{first} … {last}"``, but that entry does not
    translate ``"cannot exceed 5 items"``."""
    catalogue = i18n.catalogue_of(pm)
    skip = set(ignore)
    return [
        f"{path}:{line}: {text!r}"
        for path in paths
        for line, text in source_reasons(path)
        if text not in skip and not _translated(catalogue, text)
    ]


def _translated(catalogue: i18n.Catalogue, text: str) -> bool:
    found = catalogue.match(text)
    if found is None:
        return False
    return FILLED not in text or all(FILLED in value for value in found[1].values())
