"""The plugin contract as a sector team meets it: a plugin's answers checked before they
reach a template, a stored judgement or a credit page, and the contract's own promises
(fewer arguments, ``Sector`` fields) kept."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from inspect_core.plugin_api import (
    Fact,
    Finding,
    ItemJudgement,
    Judgement,
    RiskFactor,
    Schema,
    Sector,
    TemplateColumn,
    fields,
    hookimpl,
)
from inspect_core.plugin_manager import PluginConfigError
from inspect_core.results.models import Result
from tests import factories
from tests.api.test_imports import upload
from tests.api.test_plugin_containment import (
    assert_names_the_plugin,
    faulty_app,
    good,
    make_plugin,
    staffed_task,
)
from tests.conftest import identities


def test_downloaded_template_names_each_column_once_and_uploads_back(client, identity):
    """Special equipment reads the result's 检查日期 as a payload column too: the template
    showed it twice, and uploading the template as downloaded was refused (422, "a column
    appears twice")."""
    regulator = identity("regulator")
    template = client.get("/api/v1/sectors/special_equipment/template.xlsx", headers=regulator)
    assert template.status_code == 200
    headers = [c.value for c in openpyxl.load_workbook(io.BytesIO(template.data)).active[1]]
    assert headers.count("检查日期") == 1 and len(headers) == len(set(headers))
    described = client.get("/api/v1/sectors/special_equipment", headers=regulator).json
    names = [c["name"] for c in described["template_columns"]]
    assert names.count("inspected_on") == 1
    uploaded = upload(
        client, "/api/v1/results/import", regulator, template.data, "se.xlsx",
        sector="special_equipment",
    )  # fmt: skip
    assert "columns" not in uploaded.json.get("errors", {}), uploaded.json


def _judgement(**parts):
    return Judgement(True, "pass", "合格", "pass", **parts)


@pytest.mark.parametrize(
    ("judgement", "fragment"),
    [
        (_judgement(items=None), "Judgement.items is NoneType"),
        (_judgement(findings=None), "Judgement.findings is NoneType"),
        (_judgement(items=(ItemJudgement("a", "yes", "r", "GB 1"),)), "malformed item"),
        (_judgement(items=(ItemJudgement("a", True, "r", "GB 1", measured=object()),)),
         "malformed item"),
        (_judgement(items=(ItemJudgement("a", True, "r", "GB 1", measured=float("nan")),)),
         "malformed item"),
        # past 64 bits the JSON column refused it as the result was stored (a 500); past
        # 4,300 digits, writing the item into the message raised
        (_judgement(items=(ItemJudgement("a", True, "r", "GB 1", measured=10**30),)),
         "malformed item"),
        (_judgement(items=(ItemJudgement("a", True, "r", "GB 1", limit=-(2**63) - 1),)),
         "malformed item"),
        (_judgement(items=(ItemJudgement("a", True, "r", "GB 1", measured=10**5000),)),
         "malformed item ItemJudgement holding an integer too long to show"),
        (_judgement(findings=(Finding(object(), "minor", "坏", "bad"),)), "malformed finding"),
        (_judgement(findings=(Finding("x", "minor", None, "bad"),)), "malformed finding"),
        (_judgement(findings=(Finding("x", "minor", "", "bad"),)), "malformed finding"),
        # KPIs count ``passed``: a truthy string is not a verdict
        (Judgement("yes", "pass", "合格", "pass"), "Judgement.passed is not a bool"),
        (_judgement(items=({"item": "a", "passed": True},)), "an item is dict"),
        (_judgement(items=(ItemJudgement("a", True, None, "GB 1"),)), "malformed item"),
        (_judgement(items=(ItemJudgement("a", True, "r", "GB 1", message_en=3),)),
         "malformed item"),
        # the result page shows the conclusion in zh-CN and English: none may be blank
        (Judgement(True, "", "合格", "pass"), "must be non-empty"),
        (Judgement(True, "pass", "", "pass"), "must be non-empty"),
        (Judgement(True, "pass", "合格", None), "must be non-empty"),
    ],
)  # fmt: skip
def test_malformed_items_and_findings_are_a_502_and_nothing_is_stored(
    app_factory, judgement, fragment
):
    """Items or findings that are not a tuple, or whose fields are not text (or, for a
    reading, a finite number) were a 500 (iterating None, the JSON column refusing an
    object), or stored a finding with no message to show."""
    from inspect_core.db import db

    app = app_factory(plugins=(make_plugin("lab_plugin", lambda payload: judgement),))
    client = app.test_client()
    task, me = staffed_task(app, identities(app, client, "contract-"))
    response = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "lab", "payload": {"reading": "1.5"}, "conclusion_code": "corrected"},
        headers={**me, "Idempotency-Key": "lab-contract-1"},
    )
    assert response.status_code == 502, response.json
    assert response.json["errors"]["plugin"] == ["lab_plugin"]
    assert fragment in response.json["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Result)) == 0


class UnbuildableSchema(Schema):
    reading = fields.Decimal(required=True, as_string=True)

    def __init__(self, *args, **kwargs):
        raise RuntimeError("bug in the schema")


def test_a_schema_class_that_cannot_be_built_is_a_502(app_factory):
    """``inspect_payload_schema`` answering a Schema class whose constructor raises was a
    500 when a result was recorded."""
    plugin = make_plugin("lab_plugin", good)
    plugin.inspect_payload_schema = hookimpl(
        lambda sector: UnbuildableSchema if sector == "lab" else None
    )
    app = app_factory(plugins=(plugin,))
    client = app.test_client()
    task, me = staffed_task(app, identities(app, client, "contract-"))
    response = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "lab", "payload": {"reading": "1.5"}, "conclusion_code": "corrected"},
        headers={**me, "Idempotency-Key": "lab-contract-2"},
    )
    assert response.status_code == 502, response.json
    assert "bug in the schema" in response.json["message"]


class FewerArguments:
    """Owns sector ``lab``; its ``inspect_risk_factors`` takes two of the three arguments,
    as the contract allows."""

    __name__ = "lab_fewer"
    __version__ = "0.1"

    @hookimpl
    def inspect_sectors(self):
        return [Sector("lab", "实验室", "Laboratory", "0.1")]

    @hookimpl
    def inspect_risk_factors(self, sector, results):
        return [RiskFactor("lab_results", float(len(results)), "结果数", "Results")]


def test_risk_factors_hook_may_take_fewer_arguments(app_factory):
    """The credit page called the implementation with all three arguments: one taking
    fewer (pluggy's rule, stated in the hookspecs) got a TypeError as its section."""
    app = app_factory(plugins=(FewerArguments(),))
    client = app.test_client()
    admin = identities(app, client, "fewer-")("admin")
    body = factories.enterprise(sectors=["lab"])
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    page = client.get(f"/api/v1/enterprises/{body['uscc']}/credit", headers=admin)
    assert page.status_code == 200, page.json
    (lab,) = [s for s in page.json["sector_factors"] if s["sector"] == "lab"]
    assert lab["error"] is None, lab["error"]
    assert [f["name"] for f in lab["factors"]] == ["lab_results"]


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (lambda: [Sector("lab", "", "Laboratory", "1.0")], "must be non-empty text"),
        (lambda: [Sector("lab", "实验室", None, "1.0")], "must be non-empty text"),
        (lambda: [Sector("lab", "实验室", "Laboratory", 1)], "must be non-empty text"),
        (lambda: Sector("lab", "实验室", "Laboratory", "1.0"), "not a list of plugin_api.Sector"),
        (lambda: 1 / 0, "inspect_sectors raised ZeroDivisionError"),
        # a code or version the stores cannot hold: registrations refused as the user's
        # error, a 500 on every draw, a 500 on every result written on PostgreSQL
        (lambda: [Sector("l" * 41, "实验室", "Laboratory", "1.0")], "longer than 40 characters"),
        (lambda: [Sector("lab,chem", "实验室", "Laboratory", "1.0")], "a control character or"),
        (lambda: [Sector("lab/chem", "实验室", "Laboratory", "1.0")], "a control character or"),
        (
            lambda: [
                Sector("lab", "实验室", "Laboratory", "1.0.dev20260101+g0123456789abcdef.d20260101")
            ],
            "the version is longer than 40",
        ),
        # facts a judgement could never name: each judgement was refused as "not declared"
        (
            lambda: [
                Sector("lab", "实验室", "Laboratory", "1.0", facts=(("lab_hits", "命中", "hits"),))
            ],
            "facts holding .* not a plugin_api.Fact",
        ),
        (
            lambda: [
                Sector(
                    "lab", "实验室", "Laboratory", "1.0", facts=(Fact("Lab-Hits", "命中", "hits"),)
                )
            ],
            "facts holding the name 'Lab-Hits', not of the form",
        ),
        (
            lambda: [
                Sector(
                    "lab",
                    "实验室",
                    "Laboratory",
                    "1.0",
                    facts=(Fact("lab_hits", "命中", "hits"),) * 2,
                )
            ],
            "facts holding the name 'lab_hits' twice",
        ),
        (
            lambda: [
                Sector("lab", "实验室", "Laboratory", "1.0", facts=(Fact("lab_hits", "", "hits"),))
            ],
            "descriptions must be non-empty text",
        ),
    ],
)
def test_a_malformed_sector_declaration_refuses_to_start_naming_the_plugin(
    app_factory, answer, fragment
):
    """A sector without zh-CN or English names (or version) loaded and showed blank in the
    catalogue; an answer that was not a list, or raised, stopped the app with a bare
    TypeError or ZeroDivisionError naming no plugin."""
    plugin = make_plugin("lab_sectors", good)
    plugin.inspect_sectors = hookimpl(answer)
    with pytest.raises(PluginConfigError, match=f"'lab_sectors'.*{fragment}"):
        app_factory(plugins=(plugin,))


def test_sector_qualification_is_the_one_the_sector_declares(app_factory):
    """``Sector.qualification`` (documented as the qualification its tasks need) was
    ignored: with no ``inspect_required_qualification`` the sector code was used."""
    plugin = make_plugin("lab_plugin", good)
    plugin.inspect_sectors = hookimpl(
        lambda: [Sector("lab", "实验室", "Laboratory", "9.9.9", qualification="lab_chem")]
    )
    app = app_factory(plugins=(plugin,))
    client = app.test_client()
    regulator = identities(app, client, "qual-")("regulator")
    described = client.get("/api/v1/sectors/lab", headers=regulator)
    assert described.status_code == 200, described.json
    assert described.json["qualification"] == "lab_chem"


@pytest.mark.parametrize(
    ("columns", "fragment"),
    [
        ([TemplateColumn("reading", "读数"), TemplateColumn("reading", "读数2")], "name 'reading'"),
        ([TemplateColumn("reading", "读数"), TemplateColumn("note", "读数")], "header '读数'"),
    ],
)
def test_template_columns_given_twice_are_a_502_naming_the_plugin(app_factory, columns, fragment):
    """A column name or zh-CN header given twice made a template that, uploaded as
    downloaded, was refused as the user's error (422, "a column appears twice")."""
    app, client, identity = faulty_app(app_factory, "inspect_template_columns", lambda: columns)
    template = client.get("/api/v1/sectors/lab/template.xlsx", headers=identity("regulator"))
    assert_names_the_plugin(template, "inspect_template_columns")
    assert fragment in template.json["message"]


def test_a_decimal_reading_is_stored_as_written(app_factory):
    """A reading may be a Decimal (a rule compares exact numbers): it is accepted and kept
    as its text, trailing zeros and all, not refused as malformed."""
    from decimal import Decimal

    judgement = _judgement(
        items=(ItemJudgement("铅", True, "r", "GB 2762", measured=Decimal("0.050"),
                             limit=Decimal("0.1"), unit="mg/kg"),)
    )  # fmt: skip
    app = app_factory(plugins=(make_plugin("lab_plugin", lambda payload: judgement),))
    client = app.test_client()
    task, me = staffed_task(app, identities(app, client, "decimal-"))
    response = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "lab", "payload": {"reading": "1.5"}, "conclusion_code": "corrected"},
        headers={**me, "Idempotency-Key": "lab-decimal-1"},
    )
    assert response.status_code == 201, response.json
    item = response.json["judgement"]["items"][0]
    assert (item["measured"], item["limit"]) == ("0.050", "0.1")
