"""The evaluation command on the real Chicago inspection history (shared benchmark data)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from scoring.cli import evaluate_command

DATA = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "chicago"
needs_data = pytest.mark.skipif(
    not DATA.exists(), reason="shared/benchmarks/chicago not beside the repo"
)


def run(*extra: str) -> dict:
    result = CliRunner().invoke(
        evaluate_command,
        [
            "--enterprises",
            str(DATA / "enterprises.csv"),
            "--inspections",
            str(DATA / "inspections.csv"),
            "--test-from",
            "2014-09-02",
            "--test-to",
            "2014-10-31",
            "--json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@needs_data
def test_enterprise_only_model_finds_critical_violations_five_days_earlier():
    """Issue #5 target: >= 5.0 days earlier without the inspector (published LR: about 2.3)."""
    metrics = run()
    assert set(metrics) == {
        "auc",
        "days_earlier",
        "first_half_capture",
        "baseline_first_half_capture",
        "n_test",
        "positives",
    }
    assert metrics["days_earlier"] >= 5.0
    assert metrics["first_half_capture"] > metrics["baseline_first_half_capture"]
    assert metrics["n_test"] > 1500 and metrics["positives"] > 200


@needs_data
def test_the_inspector_adds_information():
    """With the inspector the ranking improves (the issue's >= 9.0 target is not met yet)."""
    assert run("--with-inspector")["days_earlier"] > run()["days_earlier"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e, i: (e, i.drop(columns=["critical_count"])), "critical_count"),
        (
            lambda e, i: (e, i.assign(date=i["date"].where(i.index != 5, "not a date"))),
            "unparseable",
        ),
        (lambda e, i: (e, i.assign(critical_count=0)), "no positives"),
    ],
)
def test_bad_evaluation_files_get_clear_errors(tmp_path, mutate, message):
    ents = pd.DataFrame({"enterprise_id": [1, 2], "facility_type": ["Restaurant", "Grocery"]})
    insp = pd.DataFrame(
        {
            "inspection_id": range(8),
            "enterprise_id": [1, 2] * 4,
            "date": [
                "2014-01-01",
                "2014-02-01",
                "2014-03-01",
                "2014-04-01",
                "2014-05-01",
                "2014-06-01",
                "2014-09-03",
                "2014-09-04",
            ],
            "critical_count": [1, 0, 0, 1, 0, 1, 1, 0],
        }
    )
    ents, insp = mutate(ents, insp)
    ents.to_csv(tmp_path / "e.csv", index=False)
    insp.to_csv(tmp_path / "i.csv", index=False)
    result = CliRunner().invoke(
        evaluate_command,
        [
            "--enterprises",
            str(tmp_path / "e.csv"),
            "--inspections",
            str(tmp_path / "i.csv"),
            "--test-from",
            "2014-09-02",
            "--test-to",
            "2014-10-31",
        ],
    )
    assert result.exit_code != 0
    assert message in result.output


def test_an_empty_test_window_is_refused(tmp_path):
    pd.DataFrame({"enterprise_id": [1]}).to_csv(tmp_path / "e.csv", index=False)
    pd.DataFrame(
        {
            "inspection_id": [1, 2],
            "enterprise_id": [1, 1],
            "date": ["2014-01-01", "2014-02-01"],
            "critical_count": [1, 0],
        }
    ).to_csv(tmp_path / "i.csv", index=False)
    result = CliRunner().invoke(
        evaluate_command,
        [
            "--enterprises",
            str(tmp_path / "e.csv"),
            "--inspections",
            str(tmp_path / "i.csv"),
            "--test-from",
            "2014-09-02",
            "--test-to",
            "2014-10-31",
        ],
    )
    assert result.exit_code != 0 and "no inspections in the test window" in result.output
