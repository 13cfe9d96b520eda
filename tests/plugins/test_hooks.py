"""Every hook in the contract, exercised through an app's plugin manager, and documented.

``test_every_hook_is_documented_and_tested`` walks ``hookspecs`` (datasette's
``test_plugin_hooks_have_tests``): each hook needs a section in docs/plugin_hooks.md and a
``test_hook_<name>`` here.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from pathlib import Path

import pytest

from inspect_core import hookspecs
from inspect_core.plugin_api import ChecklistItem, Judgement, RiskFactor, Sector, TemplateColumn
from inspect_core.plugin_manager import make_plugin_manager

BUILT_IN = ("food", "drugs", "special_equipment", "construction")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pm():
    """The four built-in plugins, loaded from their entry points as a third party's would be."""
    return make_plugin_manager(BUILT_IN)


def hook_names() -> list[str]:
    return [
        name
        for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("inspect_")
    ]


def test_every_hook_is_documented_and_tested():
    docs = (ROOT / "docs" / "plugin_hooks.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^## (inspect_\w+)$", docs, flags=re.M))
    tests = set(globals())
    for name in hook_names():
        assert name in headings, f"{name} has no section in docs/plugin_hooks.md"
        assert f"test_hook_{name}" in tests, f"{name} has no test_hook_{name}"
    assert headings == set(hook_names()), "docs describe a hook that does not exist"


def test_hook_inspect_sectors(pm):
    sectors = [s for answer in pm.hook.inspect_sectors() for s in answer]
    assert {s.code for s in sectors} == set(BUILT_IN)
    for s in sectors:
        assert isinstance(s, Sector) and s.name_zh and s.name_en and s.version


def test_hook_inspect_payload_schema(pm):
    from marshmallow import Schema, ValidationError

    for code in BUILT_IN:
        schema = pm.hook.inspect_payload_schema(sector=code)
        assert issubclass(schema, Schema)
        with pytest.raises(ValidationError):
            schema().load({"not_a_field": 1})
    assert pm.hook.inspect_payload_schema(sector="nobody") is None


def test_hook_inspect_checklist(pm):
    for code in BUILT_IN:
        items = pm.hook.inspect_checklist(sector=code)
        assert items and all(
            isinstance(i, ChecklistItem) and i.text_zh and i.text_en for i in items
        )
        assert any(i.key for i in items)


def test_hook_inspect_judge(pm):
    schema = pm.hook.inspect_payload_schema(sector="food")
    payload = schema().load(
        {"sample_no": "S1", "food_name": "大米", "food_category": "cereal.rice.milled",
         "sampling_date": "2026-11-01", "stage": "circulation",
         "items": [{"item": "Cd", "value": "0.25", "unit": "mg/kg"}]}
    )  # fmt: skip
    verdict = pm.hook.inspect_judge(
        sector="food", payload=payload,
        context={"recorded_on": dt.date(2026, 11, 25), "uscc": "x", "sectors": ["food"], "config": {}},
    )  # fmt: skip
    assert isinstance(verdict, Judgement)
    assert verdict.passed is False
    assert verdict.findings[0].severity == "major"
    assert pm.hook.inspect_judge(sector="nobody", payload={}, context={}) is None


def test_hook_inspect_risk_factors(pm):
    as_of = dt.date(2026, 11, 25)
    history = [
        {"recorded_on": dt.date(2026, 1, 5), "payload": {}, "judgement": {"passed": False, "conclusion": "fail", "items": [], "findings": [{"code": "food.limit_exceeded", "severity": "major"}]}},
        {"recorded_on": dt.date(2026, 12, 1), "payload": {}, "judgement": {"passed": False, "conclusion": "fail", "items": [], "findings": []}},
    ]  # fmt: skip
    answers = [
        f
        for answer in pm.hook.inspect_risk_factors(sector="food", results=history, as_of=as_of)
        for f in (answer or ())
    ]
    assert answers and all(isinstance(f, RiskFactor) for f in answers)
    rate = {f.name: f.value for f in answers}["food_failed_sample_rate"]
    assert rate == 1.0  # the result dated after as_of is not counted


def test_hook_inspect_required_qualification(pm):
    for code in BUILT_IN:
        assert pm.hook.inspect_required_qualification(sector=code) == code
    assert pm.hook.inspect_required_qualification(sector="nobody") is None


def test_hook_inspect_template_columns(pm):
    for code in BUILT_IN:
        columns = pm.hook.inspect_template_columns(sector=code)
        assert columns and all(isinstance(c, TemplateColumn) and c.header_zh for c in columns)
        names = [c.name for c in columns]
        assert len(names) == len(set(names))


def test_hook_inspect_payload_from_row(pm):
    """Each sector's template example row turns into a payload its schema accepts."""
    for code in BUILT_IN:
        columns = pm.hook.inspect_template_columns(sector=code)
        row = {c.name: c.example for c in columns if c.example not in (None, "")}
        payload = pm.hook.inspect_payload_from_row(sector=code, row=row)
        schema = pm.hook.inspect_payload_schema(sector=code)
        schema().load(payload)


def test_hook_inspect_row_from_payload(pm):
    """Each sector's template example survives payload → row → payload (what an export needs)."""
    from inspect_core.judging import _jsonable

    for code in BUILT_IN:
        columns = pm.hook.inspect_template_columns(sector=code)
        schema = pm.hook.inspect_payload_schema(sector=code)
        row = {c.name: c.example for c in columns if c.example not in (None, "")}
        loaded = schema().load(pm.hook.inspect_payload_from_row(sector=code, row=row))
        stored = _jsonable(loaded)
        back = pm.hook.inspect_row_from_payload(sector=code, payload=stored)
        assert back is not None, code
        assert schema().load(pm.hook.inspect_payload_from_row(sector=code, row=back)) == loaded, (
            code
        )
    assert pm.hook.inspect_row_from_payload(sector="nobody", payload={}) is None


@pytest.mark.parametrize("code", BUILT_IN)
def test_plugins_import_only_the_plugin_api(code):
    """No Flask, SQLAlchemy or core internals in a plugin: only ``inspect_core.plugin_api``."""
    import ast
    import importlib

    package = Path(importlib.import_module(f"plugins.{code}").__file__).parent
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top not in {"flask", "flask_smorest", "sqlalchemy"}, (source, module)
                if top == "inspect_core":
                    assert module == "inspect_core.plugin_api", (source, module)


def test_hook_inspect_judge_rows(pm):
    """The food fast path answers the template example exactly as the per-row path does and
    declines a row the schema rejects; sectors without a fast path answer None."""
    from inspect_core.testing import assert_fast_path_agrees

    columns = pm.hook.inspect_template_columns(sector="food")
    row = {c.name: c.example for c in columns if c.example not in (None, "")}
    bad = {**row, "items.0.value": "-1"}
    accepted, declined = assert_fast_path_agrees(pm, "food", [row, bad])
    assert (accepted, declined) == (1, 1)
    for code in ("drugs", "special_equipment", "construction"):
        assert pm.hook.inspect_judge_rows(sector=code, rows=[row], context={}) is None


def test_hook_inspect_messages(pm):
    """Each built-in plugin translates its own reasons: one its rules give, loaded the way
    the API loads the catalogue, reads in zh-CN."""
    from inspect_core.i18n import Catalogue
    from inspect_core.plugin_api import Message

    answers = pm.hook.inspect_messages()
    assert len(answers) == len(BUILT_IN)
    messages = [m for answer in answers for m in answer]
    assert all(isinstance(m, Message) for m in messages)
    catalogue = Catalogue(messages)
    assert (
        catalogue.zh("unknown unit 'furlong'; known: mg/kg")
        == "未知的计量单位 'furlong'；可用：mg/kg"
    )
