"""``inspect-core score evaluate``: metrics on any inspection history in the open layout."""

from __future__ import annotations

import json

import click
import pandas as pd

from scoring.errors import ScoringError


def _read_csv(path: str, option: str) -> pd.DataFrame:
    """A CSV in UTF-8 (with or without BOM) or GB18030/GBK, as the importer reads them; a
    file that is none of these, or empty, is an error naming the option and the file (it
    was pandas' message alone: "No columns to parse from file")."""
    try:
        try:
            return pd.read_csv(path, encoding="utf-8-sig")
        except UnicodeDecodeError:
            return pd.read_csv(path, encoding="gb18030")
    except UnicodeDecodeError:
        reason, reason_zh = "is neither UTF-8 nor GB18030/GBK text", "编码既非 UTF-8 也非 GBK"
    except pd.errors.EmptyDataError:
        reason, reason_zh = "is empty", "为空文件"
    except pd.errors.ParserError as exc:
        reason, reason_zh = f"is not a readable CSV ({exc})", f"不是可读取的 CSV（{exc}）"
    raise click.ClickException(f"{option} {path} {reason} / {option} {path} {reason_zh}")


@click.command("evaluate")
@click.option(
    "--enterprises", "enterprises_path", required=True, type=click.Path(exists=True, dir_okay=False)
)
@click.option(
    "--inspections", "inspections_path", required=True, type=click.Path(exists=True, dir_okay=False)
)
@click.option("--test-from", required=True, help="first day of the test window (YYYY-MM-DD)")
@click.option("--test-to", required=True, help="last day of the test window (YYYY-MM-DD)")
@click.option("--model", type=click.Choice(["scorecard", "ml"]), default="ml", show_default=True)
@click.option("--with-inspector", is_flag=True, help="use the (assigned) inspector as a feature")
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
def evaluate_command(
    enterprises_path: str,
    inspections_path: str,
    test_from: str,
    test_to: str,
    model: str,
    with_inspector: bool,
    as_json: bool,
) -> None:
    """Fit on inspections before --test-from; print AUC, days earlier and capture."""
    from scoring.evaluate import evaluate

    try:
        result = evaluate(
            _read_csv(enterprises_path, "--enterprises"),
            _read_csv(inspections_path, "--inspections"),
            test_from,
            test_to,
            model=model,
            with_inspector=with_inspector,
        )
    except (ScoringError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        return
    for key, value in result.as_dict().items():
        click.echo(f"{key:>28}: {value}")
