"""``inspect-core score evaluate``: metrics on any inspection history in the open layout."""

from __future__ import annotations

import json

import click
import pandas as pd

from scoring.errors import ScoringError


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
            pd.read_csv(enterprises_path),
            pd.read_csv(inspections_path),
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
