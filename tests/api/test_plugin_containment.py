"""A plugin that raises or returns malformed data is contained: a clear error naming the
plugin, nothing stored.  A plugin set that cannot load refuses to start."""

from __future__ import annotations

import types

import pytest
from sqlalchemy import func, select

from inspect_core.plugin_api import (
    Finding,
    Judgement,
    Message,
    RuleInputError,
    Schema,
    Sector,
    TemplateColumn,
    fields,
    hookimpl,
)
from inspect_core.plugin_manager import PluginConfigError
from inspect_core.results.models import Result
from tests import factories
from tests.conftest import identities


class LabSchema(Schema):
    reading = fields.Decimal(required=True, as_string=True)


def make_plugin(name: str, judge) -> types.SimpleNamespace:
    """A tiny plugin owning sector ``lab``, whose judge is ``judge``."""

    class Plugin:
        __name__ = name
        __version__ = "9.9.9"

        @hookimpl
        def inspect_sectors(self):
            return [Sector("lab", "实验室", "Laboratory", "9.9.9")]

        @hookimpl
        def inspect_payload_schema(self, sector):
            return LabSchema if sector == "lab" else None

        @hookimpl
        def inspect_judge(self, sector, payload, context):
            return judge(payload) if sector == "lab" else None

        @hookimpl
        def inspect_messages(self):
            return [Message("outside the instrument's range", "超出仪器量程")]

    return Plugin()


def raises(payload):
    raise ZeroDivisionError("bug in the plugin")


def not_a_judgement(payload):
    return {"passed": True}


def bad_severity(payload):
    return Judgement(
        passed=False, conclusion="fail", conclusion_zh="不合格", conclusion_en="fail",
        findings=(Finding("x", "catastrophic", "坏", "bad"),),
    )  # fmt: skip


def rule_input_error(payload):
    raise RuleInputError("reading", "outside the instrument's range")


def good(payload):
    return Judgement(passed=True, conclusion="pass", conclusion_zh="合格", conclusion_en="pass")


def lab_plan(app, identity) -> tuple[int, dict]:
    """A lab plan, not drawn yet (two enterprises, two qualified inspectors), and the
    headers of the admin who made it."""
    client = app.test_client()
    admin = identity("admin")
    for _ in range(2):
        ent = factories.enterprise(sectors=["lab"], region="含谷镇")
        assert client.post("/api/v1/enterprises", json=ent, headers=admin).status_code == 201
    badges = []
    for _ in range(2):
        insp = factories.inspector(qualifications=["lab"], region="含谷镇")
        assert client.post("/api/v1/inspectors", json=insp, headers=admin).status_code == 201
        badges.append(insp["badge"])
    plan = client.post(
        "/api/v1/plans",
        json={"title": "实验室比对", "issuing_unit": "区局", "sector": "lab",
              "check_items": [{"code": "L1", "name_zh": "读数", "name_en": "Reading"}],
              "scope_regions": ["含谷镇"], "ratios": {"A": "1", "B": "1", "C": "1", "D": "1"},
              "due_date": factories.plan_body()["due_date"]},
        headers=admin,
    )  # fmt: skip
    assert plan.status_code == 201, plan.json
    return plan.json["id"], admin


def staffed_task(app, identity) -> tuple[dict, dict]:
    """A drawn lab task and its inspector's headers."""
    client = app.test_client()
    plan, admin = lab_plan(app, identity)
    assert (
        client.post(f"/api/v1/plans/{plan}/draw", json={"seed": 1}, headers=admin).status_code
        == 201
    )
    task = client.get("/api/v1/tasks?limit=1", headers=admin).json["items"][0]
    return task, identity("inspector", badge=task["inspectors"][0])


@pytest.mark.parametrize(
    ("judge", "status", "fragment"),
    [
        (raises, 502, "ZeroDivisionError"),
        (not_a_judgement, 502, "not a Judgement"),
        (bad_severity, 502, "malformed finding"),
        (rule_input_error, 422, "outside the instrument's range"),
    ],
)
def test_misbehaving_plugin_is_contained(app_factory, judge, status, fragment):
    app = app_factory(plugins=(make_plugin("lab_plugin", judge),))
    client = app.test_client()

    from inspect_core.db import db
    from tests.conftest import identities

    identity = identities(app, client, "lab-")

    task, me = staffed_task(app, identity)
    response = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "lab", "payload": {"reading": "1.5"}, "conclusion_code": "corrected"},
        headers={**me, "Idempotency-Key": "lab-1"},
    )
    assert response.status_code == status, response.json
    text = response.json["message"] + str(response.json["errors"])
    assert fragment in text
    if status == 502:
        assert response.json["errors"]["plugin"] == ["lab_plugin"]
        assert "lab_plugin" in response.json["message"]
    else:
        assert "payload.reading" in response.json["errors"]
        # the plugin's own zh-CN for its reason, from its inspect_messages
        assert response.json["errors_zh"]["payload.reading"] == ["超出仪器量程"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Result)) == 0


def test_duplicate_sector_refuses_to_start(app_factory):
    plugin = make_plugin("food_again", good)
    plugin.inspect_sectors = hookimpl(lambda: [Sector("food", "食品", "Food", "0")])
    with pytest.raises(PluginConfigError, match="declared by both"):
        app_factory(plugins=(plugin,))


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ([Message("over {limit}", "超过 {maximum}")], "shows a placeholder it lacks"),
        ([Message("over {0}", "超过 {0}")], "is not a name"),
        (["over the limit"], "not a plugin_api.Message"),
    ],
)
def test_malformed_messages_refuse_to_start(app_factory, answer, fragment):
    """A bad zh-CN entry would break the first error response that met it: refused when
    the plugins load, naming the plugin."""
    plugin = make_plugin("lab_words", good)
    plugin.inspect_messages = hookimpl(lambda: answer)
    with pytest.raises(PluginConfigError, match=f"'lab_words' inspect_messages: .*{fragment}"):
        app_factory(plugins=(plugin,))


def test_enabled_but_not_installed_refuses_to_start(app_factory):
    with pytest.raises(PluginConfigError, match="not installed"):
        app_factory(PLUGINS=["food", "no_such_plugin"])


def test_installed_but_not_enabled_is_not_loaded(app_factory):
    from inspect_core.plugin_manager import get_pm

    app = app_factory(PLUGINS=["food"])
    names = {name for name, _ in get_pm(app).list_name_plugin()}
    assert "food" in names and "drugs" not in names


# --- hooks other than the judge: a fault is named, never a 500 ----------------------------


def boom(**_):
    raise ZeroDivisionError("bug in the plugin")


def lab_only(hook: str, answer):
    """An implementation of ``hook``: ``answer`` of the hook's arguments for ``lab``, None
    elsewhere (pluggy passes an implementation only the arguments its signature names)."""

    def ask(sector, **kwargs):
        return answer(**kwargs) if sector == "lab" else None

    with_args = {
        "inspect_row_from_payload": lambda sector, payload: ask(sector, payload=payload),
        "inspect_payload_from_row": lambda sector, row: ask(sector, row=row),
        "inspect_judge_rows": lambda sector, rows, context: ask(sector, rows=rows, context=context),
    }
    return hookimpl(with_args.get(hook, lambda sector: ask(sector)))


LAB_COLUMNS = [TemplateColumn("reading", "读数", "1.5")]


def faulty_plugin(hook: str, answer) -> types.SimpleNamespace:
    """The lab plugin (its template: one reading column) with ``hook`` answering ``answer``."""
    plugin = make_plugin("lab_plugin", good)
    plugin.inspect_template_columns = lab_only("inspect_template_columns", lambda: LAB_COLUMNS)
    plugin.inspect_payload_from_row = lab_only(
        "inspect_payload_from_row", lambda row: {"reading": row.get("reading")}
    )
    setattr(plugin, hook, lab_only(hook, answer))
    return plugin


def faulty_app(app_factory, hook: str, answer):
    app = app_factory(plugins=(faulty_plugin(hook, answer),))
    client = app.test_client()
    from tests.conftest import identities

    return app, client, identities(app, client, "faulty-")


def assert_names_the_plugin(response, hook: str) -> None:
    """A 502 in the error shape, naming the plugin and the hook, in English and zh-CN."""
    assert response.status_code == 502, response.json
    assert response.json["errors"]["plugin"] == ["lab_plugin"]
    assert "sector plugin 'lab_plugin' 9.9.9 failed" in response.json["message"]
    assert hook in response.json["message"]
    assert "lab_plugin" in response.json["message_zh"]


@pytest.mark.parametrize(
    ("hook", "answer", "part"),
    [
        ("inspect_checklist", boom, "checklist"),
        ("inspect_checklist", lambda: ["L1 读数"], "checklist"),
        ("inspect_required_qualification", boom, "qualification"),
        ("inspect_required_qualification", lambda: 42, "qualification"),
        ("inspect_template_columns", lambda: "reading", "template_columns"),
        ("inspect_payload_schema", boom, "payload_schema"),
    ],
)
def test_catalogue_lists_every_sector_when_one_plugin_part_is_faulty(
    app_factory, hook, answer, part
):
    """One sector's faulty hook cost the whole catalogue (a 500, or a 502 for a schema):
    now that sector's part is empty and named in ``errors``/``errors_zh``, the rest stands,
    in the shape the OpenAPI document gives."""
    import schemathesis

    app, client, identity = faulty_app(app_factory, hook, answer)
    document = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = identity("regulator")
    listed = client.get("/api/v1/sectors", headers=headers)
    assert listed.status_code == 200, listed.json
    by_code = {s["code"]: s for s in listed.json["items"]}
    assert {"food", "drugs", "special_equipment", "construction", "lab"} <= set(by_code)
    assert by_code["food"]["errors"] == {} and by_code["food"]["checklist"]
    one = client.get("/api/v1/sectors/lab", headers=headers)
    assert one.status_code == 200, one.json
    document["/api/v1/sectors"]["GET"].validate_response(listed)
    document["/api/v1/sectors/{code}"]["GET"].validate_response(one)
    for lab in (by_code["lab"], one.json):
        assert list(lab["errors"]) == list(lab["errors_zh"]) == [part]
        (reason,) = lab["errors"][part]
        assert "sector plugin 'lab_plugin' 9.9.9 failed" in reason and hook in reason
        (reason_zh,) = lab["errors_zh"][part]
        assert reason_zh.startswith("行业插件 lab_plugin 出错")
        assert lab[part] in (None, [])
        assert lab["name_zh"] == "实验室" and lab["plugin"] == "lab_plugin"
        if part != "payload_schema":
            assert lab["payload_schema"]["$defs"]


@pytest.mark.parametrize("answer", [boom, lambda: 42, lambda: "lab,chem", lambda: ""])
def test_draw_and_pool_freeze_refuse_with_502_when_the_qualification_is_faulty(app_factory, answer):
    """The draw asked the plugin unguarded (a 500, or a TypeError/ValueError building the
    pool snapshot from a non-code): now a 502 naming the plugin, and nothing written."""
    from inspect_core.db import db
    from inspect_core.plans.models import Draw, PoolSnapshot, Task

    app, client, identity = faulty_app(app_factory, "inspect_required_qualification", answer)
    plan, admin = lab_plan(app, identity)
    drawn = client.post(f"/api/v1/plans/{plan}/draw", json={"seed": 1}, headers=admin)
    assert_names_the_plugin(drawn, "inspect_required_qualification")
    assert "所需的检查员资质" in drawn.json["message_zh"]
    frozen = client.post(f"/api/v1/plans/{plan}/pool", headers=admin)
    assert_names_the_plugin(frozen, "inspect_required_qualification")
    with app.app_context():
        for model in (PoolSnapshot, Draw, Task):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0


@pytest.mark.parametrize(
    ("answer", "fmt"),
    [
        (boom, "csv"),
        (lambda payload: ["1.5"], "csv"),
        (lambda payload: {"reading": ["1.5"]}, "xlsx"),
        (lambda payload: {"reading": "1.5", 7: "x"}, "csv"),
    ],
)
def test_export_with_a_faulty_row_from_payload_is_a_502_naming_plugin_and_result(
    app_factory, answer, fmt
):
    """``inspect_row_from_payload`` raising, answering a non-mapping, a cell a spreadsheet
    cannot hold or a column name that is not text was a 500: now a 502 naming the plugin
    and the result, and no file."""
    app, client, identity = faulty_app(app_factory, "inspect_row_from_payload", answer)
    task, me = staffed_task(app, identity)
    recorded = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "lab", "payload": {"reading": "1.5"}, "conclusion_code": "no_problem"},
        headers={**me, "Idempotency-Key": "lab-export-1"},
    )
    assert recorded.status_code == 201, recorded.json
    result = recorded.json["id"]
    exported = client.get(
        f"/api/v1/results/export?sector=lab&format={fmt}", headers=identity("regulator")
    )
    assert_names_the_plugin(exported, "inspect_row_from_payload")
    assert f"on result {result}" in exported.json["message"]
    assert f"未能导出结果 {result}" in exported.json["message_zh"]


@pytest.mark.parametrize(
    "answer",
    [
        boom,
        lambda: "reading",
        lambda: [("reading", "读数")],
        lambda: [TemplateColumn("reading", None)],
        lambda: [TemplateColumn("reading", "读数", example=["1.5"])],
        lambda: [TemplateColumn("reading", "读数\x0b")],
    ],
)
def test_faulty_template_columns_refuse_template_upload_and_export_with_a_502(app_factory, answer):
    """The template download, an upload and an export each read the columns unguarded:
    a raising hook, a non-list, items that are not ``TemplateColumn`` or a column a
    spreadsheet cannot hold was a 500 (openpyxl, ``len(None)``, ``c.name`` of a tuple).
    Now each is a 502 naming the plugin, and the upload stores nothing, not even the file."""
    from inspect_core.db import db
    from inspect_core.imports.models import Import
    from tests.api.test_imports import csv_bytes, upload

    app, client, identity = faulty_app(app_factory, "inspect_template_columns", answer)
    regulator = identity("regulator")
    template = client.get("/api/v1/sectors/lab/template.xlsx", headers=regulator)
    assert_names_the_plugin(template, "inspect_template_columns")
    assert "未能给出上传模板的列" in template.json["message_zh"]
    rows = [["任务编号", "检查结论", "读数"], [1, "no_problem", "1.5"]]
    uploaded = upload(
        client, "/api/v1/results/import", regulator, csv_bytes(rows), "lab.csv", sector="lab"
    )
    assert_names_the_plugin(uploaded, "inspect_template_columns")
    exported = client.get("/api/v1/results/export?sector=lab", headers=regulator)
    assert_names_the_plugin(exported, "inspect_template_columns")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Import)) == 0


@pytest.mark.parametrize("answer", [lambda rows, context: 7, lambda rows, context: iter(rows)])
def test_upload_takes_the_per_row_path_when_the_fast_path_answers_no_list(app_factory, answer):
    """``inspect_judge_rows`` answering something without a length (an int, a generator)
    failed the whole upload; as for any malformed fast-path answer, each row now takes
    the per-row path and is stored."""
    from tests.api.test_imports import csv_bytes, upload

    app, client, identity = faulty_app(app_factory, "inspect_judge_rows", answer)
    task, me = staffed_task(app, identity)
    rows = [["任务编号", "检查结论", "读数"], [task["id"], "no_problem", "1.5"]]
    uploaded = upload(
        client, "/api/v1/results/import", me, csv_bytes(rows), "lab.csv", sector="lab"
    )
    assert uploaded.status_code == 201, uploaded.json
    assert (uploaded.json["accepted"], uploaded.json["rejected"]) == (1, 0)
    stored = client.get("/api/v1/results?sector=lab", headers=identity("regulator"))
    assert [r["payload"] for r in stored.json["items"]] == [{"reading": "1.5"}]


def test_an_upload_row_a_faulty_judge_refuses_shows_the_fault_in_zh_cn(app_factory):
    """A plugin fault met by one row of an upload is that row's error: its ``message_zh``
    (and the rejected-rows workbook) showed the English fault as it was."""
    from tests.api.test_imports import csv_bytes, upload

    plugin = faulty_plugin("inspect_judge_rows", lambda rows, context: None)
    plugin.inspect_judge = hookimpl(
        lambda sector, payload: raises(payload) if sector == "lab" else None
    )
    app = app_factory(plugins=(plugin,))
    client = app.test_client()
    identity = identities(app, client, "row-fault-")
    task, me = staffed_task(app, identity)
    rows = [["任务编号", "检查结论", "读数"], [task["id"], "no_problem", "1.5"]]
    uploaded = upload(
        client, "/api/v1/results/import", me, csv_bytes(rows), "lab.csv", sector="lab"
    )
    assert uploaded.status_code == 422, uploaded.json  # all or nothing: nothing stored
    (error,) = uploaded.json["errors"]
    assert error["message"].startswith("sector plugin 'lab_plugin' 9.9.9 failed: inspect_judge")
    assert error["message_zh"].startswith("行业插件 lab_plugin 9.9.9 出错：inspect_judge raised")
