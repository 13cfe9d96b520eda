"""The installed plugin as the core sees it: entry-point loading, enabling, judging, the CLI.

These tests use inspect-core's application, not its test suite, so they run from this
folder alone.  The database is an in-memory SQLite that is never touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask
from inspect_core.app import create_app
from inspect_core.errors import Unprocessable
from inspect_core.judging import validate_and_judge
from inspect_core.plugin_manager import make_plugin_manager, plugin_infos, sector_owners

import inspect_metrology


@pytest.fixture()
def app() -> Iterator[Flask]:
    """An inspect-core app with only this plugin enabled and one district override."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": "sqlite://",
            "PLUGINS": ["metrology"],
            "PLUGIN_CONFIG": {"metrology": {"interval_months": {"fuel_dispenser": 12}}},
        }
    )
    with app.app_context():
        yield app


def test_installed_is_not_enabled() -> None:
    """The entry point is found only when 'metrology' is listed in the enabled plugins."""
    assert "metrology" not in sector_owners(make_plugin_manager([]))
    pm = make_plugin_manager(["metrology"])
    name, sector = sector_owners(pm)["metrology"]
    assert (name, sector) == ("metrology", inspect_metrology.SECTOR)
    (info,) = plugin_infos(pm)
    assert (info.name, info.version) == ("metrology", inspect_metrology.__version__)
    assert set(info.hooks) == {name for name in dir(pm.hook) if name.startswith("inspect_")}


def test_core_judges_with_district_config_and_stores_the_version(app: Flask) -> None:
    """validate_and_judge loads with our schema, judges with PLUGIN_CONFIG, names the plugin."""
    raw = {
        "instruments": [
            {"kind": "加油机", "serial_no": "FD-1", "verified_on": "2024-01-10", "error_pct": "0.1"}
        ]
    }
    judged = validate_and_judge("metrology", raw, {"recorded_on": dt.date(2024, 8, 1)})
    assert judged.judgement.passed  # 12-month override; the default 6 months would fail
    assert (judged.plugin, judged.plugin_version) == ("metrology", inspect_metrology.__version__)
    assert judged.payload["instruments"][0] == {
        "kind": "fuel_dispenser",
        "serial_no": "FD-1",
        "verification_certificate_no": None,
        "verified_on": "2024-01-10",
        "error_pct": "0.1",
    }


def test_core_answers_422_naming_the_payload_field(app: Flask) -> None:
    """Schema errors and RuleInputError both come back as 422 under ``payload.…``."""
    with pytest.raises(Unprocessable) as exc:
        validate_and_judge(
            "metrology",
            {"instruments": [{"kind": "gas_meter", "serial_no": "G", "verified_on": None}]},
            {"recorded_on": dt.date(2024, 8, 1)},
        )
    assert exc.value.status_code == 422
    assert "kind" in exc.value.errors["payload.instruments"][0]
    with pytest.raises(Unprocessable) as exc:
        validate_and_judge(
            "metrology",
            {"instruments": [{"kind": "计价秤", "serial_no": "S", "verified_on": "2024-09-01"}]},
            {"recorded_on": dt.date(2024, 8, 1)},
        )
    assert list(exc.value.errors) == ["payload.instruments.0.verified_on"]


def test_cli_plugins_lists_the_plugin(app: Flask) -> None:
    """``inspect-core plugins`` shows name, version, sector and hooks."""
    result = app.test_cli_runner().invoke(args=["plugins"])
    assert result.exit_code == 0, result.output
    assert f"metrology {inspect_metrology.__version__}  sectors: metrology" in result.output
    assert "inspect_payload_from_row" in result.output


def test_every_reason_has_a_zh_cn_entry(pm) -> None:
    """Each reason the schema and rules write has a zh-CN entry (``inspect_messages``), so
    the core shows it in zh-CN beside the English; a new reason without one fails here."""
    from pathlib import Path

    from inspect_core.testing import untranslated_in_source

    sources = sorted(Path(inspect_metrology.__file__).parent.glob("*.py"))
    assert untranslated_in_source(pm, sources) == []


def test_core_shows_the_plugins_reason_in_zh_cn(app: Flask) -> None:
    """A payload the rules refuse: the 422's ``errors_zh`` carries this plugin's zh-CN."""
    from inspect_core.errors import error_body
    from inspect_core.testing import untranslated_reasons

    payload = {"instruments": [{"kind": "计价秤", "serial_no": "S", "verified_on": "2024-09-01"}]}
    with pytest.raises(Unprocessable) as caught:
        validate_and_judge("metrology", payload, {"recorded_on": dt.date(2024, 8, 1)})
    with untranslated_reasons() as missing:
        body = error_body(422, caught.value.message, caught.value.errors)
    assert body["errors_zh"] == {
        "payload.instruments.0.verified_on": ["检定日期 2024-09-01 晚于检查日期 2024-08-01"]
    }
    assert missing == []
