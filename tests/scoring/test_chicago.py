"""The evaluation command on the real Chicago inspection history (shared benchmark data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
        # each was a message from scikit-learn or none at all
        (lambda e, i: (e, i.assign(critical_count=[1] * 6 + [1, 0])), "no negatives in training"),
        (
            lambda e, i: (e, i.assign(inspection_id=[0, 1, 2, 3, 4, 5, 6, 6])),
            "column 'inspection_id' has duplicate ids, e.g. ['6']",
        ),
        (
            lambda e, i: (e, i.assign(critical_count=["1", "0", "two", "1", "0", "1", "1", "0"])),
            "column 'critical_count' has values that are not numbers, e.g. ['two']",
        ),
        (
            lambda e, i: (e, i.assign(heat_garbage=[1.0, np.inf, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0])),
            "column(s) with infinite values: heat_garbage",
        ),
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


def small_history(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sixty enterprises inspected six times each, 2013-01 … 2014-10: enough to fit on."""
    rng = np.random.default_rng(seed)
    ents = pd.DataFrame(
        {"enterprise_id": range(1, 61), "facility_type": rng.choice(["餐馆", "超市"], 60)}
    )
    rows = [
        {
            "inspection_id": len(ents) * k + e,
            "enterprise_id": e,
            "date": (day + pd.Timedelta(days=int(rng.integers(0, 20)))).date().isoformat(),
            "critical_count": int(rng.random() < 0.3),
            "temperature_max": float(rng.normal(20, 5)),
        }
        for k, day in enumerate(pd.date_range("2013-01-01", "2014-10-20", periods=6))
        for e in ents["enterprise_id"]
    ]
    return ents, pd.DataFrame(rows)


def evaluate_files(tmp_path, ents, insp, *extra, test_from="2014-09-01", encoding="utf-8"):
    ents.to_csv(tmp_path / "e.csv", index=False, encoding=encoding)
    insp.to_csv(tmp_path / "i.csv", index=False, encoding=encoding)
    return CliRunner().invoke(
        evaluate_command,
        ["--enterprises", str(tmp_path / "e.csv"), "--inspections", str(tmp_path / "i.csv"),
         "--test-from", test_from, "--test-to", "2014-10-31", "--json", *extra],
    )  # fmt: skip


def test_a_test_window_of_one_class_is_refused_not_printed_as_nan(tmp_path):
    """No positive (or no negative) in the test window printed ``"auc": NaN`` — not JSON —
    and a days-earlier of NaN, with numpy warnings."""
    ents, insp = small_history()
    in_window = pd.to_datetime(insp["date"]) >= "2014-09-01"
    for value in (0, 1):
        result = evaluate_files(
            tmp_path,
            ents,
            insp.assign(critical_count=insp["critical_count"].where(~in_window, value)),
        )
        assert result.exit_code != 0, result.output
        assert "the test window needs positives and negatives" in result.output
        assert "测试期内须同时有阳性与阴性检查" in result.output


def test_dates_with_a_utc_offset_keep_their_day(tmp_path):
    """``2014-09-02T10:00:00+08:00`` (an ISO export) was a TypeError traceback; now the same
    figures as the plain dates.  Offsets of two zones in one column are a named error."""
    ents, insp = small_history()
    plain = evaluate_files(tmp_path, ents, insp)
    assert plain.exit_code == 0, plain.output
    zoned = evaluate_files(tmp_path, ents, insp.assign(date=insp["date"] + "T10:00:00+08:00"))
    assert zoned.exit_code == 0, zoned.output
    assert json.loads(zoned.output) == json.loads(plain.output)
    mixed = insp.assign(date=insp["date"] + "T10:00:00+08:00")
    mixed.loc[::2, "date"] = insp["date"] + "T10:00:00Z"
    result = evaluate_files(tmp_path, ents, mixed)
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a traceback
    assert "column 'date' mixes time zones" in result.output


def test_with_inspector_needs_inspectors_named_in_training(tmp_path):
    """``--with-inspector`` on a log without an ``inspector`` column, or with one blank
    before the test window, printed the enterprise-only figures as if with the inspector
    (exit 0, identical JSON).  Now a named error; with inspectors named it still runs."""
    ents, insp = small_history()
    in_window = pd.to_datetime(insp["date"]) >= "2014-09-01"
    named = insp.assign(inspector=np.where(insp.index % 2, "blue", "red"))
    for frame, message in (
        (insp, "--with-inspector needs an 'inspector' column in the inspections"),
        (named.assign(inspector=named["inspector"].where(in_window)),
         "column 'inspector' names no inspector before the test window"),
    ):  # fmt: skip
        result = evaluate_files(tmp_path, ents, frame, "--with-inspector")
        assert isinstance(result.exception, SystemExit), result.output  # not printed figures
        assert message in result.output and "--with-inspector 时" in result.output
    result = evaluate_files(tmp_path, ents, named, "--with-inspector")
    assert result.exit_code == 0, result.output


def test_a_window_start_with_a_time_is_that_whole_day(tmp_path):
    """``--test-from "2014-09-01 12:00"`` sent the inspections of 2014-09-01 to training."""
    ents, insp = small_history()
    insp.loc[insp.index[-5:], "date"] = "2014-09-01"
    plain = evaluate_files(tmp_path, ents, insp)
    timed = evaluate_files(tmp_path, ents, insp, test_from="2014-09-01 12:00")
    assert plain.exit_code == 0 and timed.exit_code == 0, timed.output
    assert json.loads(timed.output) == json.loads(plain.output)


@pytest.mark.parametrize("value", ["", "2014-13-01", "next monday"])
def test_an_unreadable_window_date_names_the_option(tmp_path, value):
    """An empty --test-from matched no row ("no inspections in the test window"); others
    gave pandas' message naming nothing."""
    ents, insp = small_history()
    result = evaluate_files(tmp_path, ents, insp, test_from=value)
    assert result.exit_code != 0
    assert f"--test-from is not a date: {value!r}" in result.output


def test_gbk_files_are_read_and_an_empty_file_is_named(tmp_path):
    """A GBK CSV (as Excel saves it in zh-CN) was "'utf-8' codec can't decode byte"; an
    empty file "No columns to parse from file", naming no file."""
    ents, insp = small_history()
    plain = evaluate_files(tmp_path, ents, insp)
    gbk = evaluate_files(tmp_path, ents, insp, encoding="gbk")
    assert gbk.exit_code == 0, gbk.output
    assert json.loads(gbk.output) == json.loads(plain.output)
    (tmp_path / "empty.csv").write_text("")
    result = CliRunner().invoke(
        evaluate_command,
        ["--enterprises", str(tmp_path / "e.csv"), "--inspections", str(tmp_path / "empty.csv"),
         "--test-from", "2014-09-01", "--test-to", "2014-10-31"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert f"--inspections {tmp_path / 'empty.csv'} is empty" in result.output
