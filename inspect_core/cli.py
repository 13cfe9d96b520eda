"""``inspect-core``: the Flask CLI with the project's commands.

The same commands work as ``flask --app inspect_core …``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import Engine

from inspect_core import migrate
from inspect_core.db import db
from inspect_core.validators import MAX_ID


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(users_group)
    app.cli.add_command(plugins_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(simulate_command)
    app.cli.add_command(demo_group)
    app.cli.add_command(draws_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(calendar_group)
    app.cli.add_command(import_group)
    app.cli.add_command(score_group)


@click.group("db", help="Database schema (Alembic).")
def db_group() -> None:
    pass


def _migrate(action: Callable[[Engine, str], None], revision: str) -> None:
    """Run a migration and say which revision the database is now at.  An unknown REVISION
    is a one-line error, not a traceback; the migration is one transaction, so nothing
    of it is left."""
    from alembic.util import CommandError

    try:
        action(db.engine, revision)
    except CommandError as exc:
        raise click.ClickException(f"{exc}; the database was not changed") from None
    at = migrate.current_revision(db.engine) or "base (empty)"
    click.echo(f"database at {at}: {db.engine.url.render_as_string(hide_password=True)}")


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: head); one older than the database's
    changes nothing (that is `db downgrade`)."""
    _migrate(migrate.upgrade, revision)


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION."""
    _migrate(migrate.downgrade, revision)


@db_group.command("check")
@with_appcontext
def db_check() -> None:
    """Exit 1 if the models and the migrated schema differ."""
    diff = migrate.pending_diff(db.engine)
    for item in diff:
        click.echo(f"differs: {item}")
    if diff:
        sys.exit(1)
    click.echo("models match the migrated schema")


@db_group.command("grant-app-role")
@click.argument("role")
@click.option("--schema", help="the schema the tables are in (default: the current schema)")
@with_appcontext
def db_grant_app_role(role: str, schema: str | None) -> None:
    """PostgreSQL: give ROLE, the login role the app runs as, just the app's privileges:
    SELECT/INSERT on every table, UPDATE/DELETE only where the table is not append-only,
    sequences' USAGE/SELECT; never TRUNCATE.  Run as the tables' owner after each
    `db upgrade`; running it again changes nothing.  ROLE must exist and own nothing."""
    from inspect_core.grants import GrantError, grant_app_role

    try:
        report = grant_app_role(db.engine, role, schema)
    except GrantError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"role {report.role} on schema {report.schema}:")
    click.echo(
        f"  SELECT, INSERT on {len(report.append_only)} append-only tables (UPDATE, DELETE, "
        f"TRUNCATE revoked): {', '.join(report.append_only)}"
    )
    click.echo(f"  SELECT, INSERT, UPDATE, DELETE on {len(report.mutable)} tables")
    if report.read_only:
        click.echo(f"  SELECT on {', '.join(report.read_only)}")
    click.echo(f"  USAGE, SELECT on {len(report.sequences)} sequences")


@click.group("users", help="Accounts.")
def users_group() -> None:
    pass


@users_group.command("create")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "regulator", "inspector", "sector_admin"])
)
@click.option("--badge", help="inspector badge (required for role inspector)")
@click.option("--region", "regions", multiple=True, help="scope to a region; repeatable")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def users_create(
    username: str, role: str, badge: str | None, regions: tuple[str, ...], password: str
) -> None:
    """Create USERNAME with a role, optionally scoped to regions."""
    from inspect_core.auth import service
    from inspect_core.errors import ApiError

    with db.new_session() as session:
        try:
            service.create_user(session, username, password, role, badge, regions)
            session.commit()
        except ApiError as exc:
            raise click.ClickException(f"{exc.message}: {exc.errors}") from None
    scope = ", ".join(regions) if regions else "district-wide"
    click.echo(f"created {role} '{username}' ({scope})")


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """Every account: role, badge, scope, and whether it may log in."""
    from inspect_core.auth import service

    with db.new_session() as session:
        for user in service.list_users(session):
            scope = ", ".join(user.regions) if user.regions else "district-wide"
            badge = f" badge {user.inspector_badge}" if user.inspector_badge else ""
            state = "" if user.active else "  DISABLED"
            click.echo(f"{user.username}  {user.role}{badge}  ({scope}){state}")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def users_set_password(username: str, password: str) -> None:
    """Give USERNAME a new password and revoke its live tokens."""
    from inspect_core.auth import service
    from inspect_core.errors import ApiError

    with db.new_session() as session:
        try:
            count = service.set_password(session, username, password)
        except ApiError as exc:
            raise click.ClickException(f"{exc.message}: {exc.errors}") from None
    click.echo(f"password of '{username}' changed; revoked {count} token(s)")


@users_group.command("disable")
@click.argument("username")
@with_appcontext
def users_disable(username: str) -> None:
    """Stop USERNAME logging in, and revoke its live tokens."""
    _set_active(username, False)


@users_group.command("enable")
@click.argument("username")
@with_appcontext
def users_enable(username: str) -> None:
    """Let a disabled USERNAME log in again."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    from inspect_core.auth import service
    from inspect_core.errors import ApiError

    with db.new_session() as session:
        try:
            count = service.set_active(session, username, active)
        except ApiError as exc:
            raise click.ClickException(exc.message) from None
    state = "enabled" if active else f"disabled; revoked {count} token(s)"
    click.echo(f"'{username}' {state}")


@users_group.command("revoke-tokens")
@click.argument("username")
@with_appcontext
def users_revoke(username: str) -> None:
    """Revoke every live token of USERNAME."""
    from inspect_core.auth import service
    from inspect_core.errors import ApiError

    with db.new_session() as session:
        try:
            count = service.revoke_all(session, username)
        except ApiError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"revoked {count} token(s)")


@click.command("plugins")
@with_appcontext
def plugins_command() -> None:
    """List enabled plugins: name, version, hooks implemented."""
    from inspect_core.plugin_manager import get_pm, plugin_infos, sector_owners

    pm = get_pm()
    owners = sector_owners(pm)
    for info in plugin_infos(pm):
        sectors = [code for code, (plugin, _) in owners.items() if plugin == info.name]
        installed = (
            f"  distribution: {info.distribution} {info.distribution_version}"
            if info.distribution
            else ""
        )
        click.echo(f"{info.name} {info.version}  sectors: {', '.join(sectors) or '-'}{installed}")
        click.echo(f"    hooks: {', '.join(info.hooks)}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve the API (threaded Werkzeug server; put gunicorn in front for production)."""
    click.echo(
        f"API docs: http://{host}:{port}/api/docs  spec: http://{host}:{port}/api/openapi.json"
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    from werkzeug.serving import run_simple

    from inspect_core.config import Config

    if app.config.get("SECRET_KEY") == Config.SECRET_KEY:
        # it signs the page cursors: with the published default anyone can forge one
        click.echo(
            "warning: INSPECT_SECRET_KEY is not set; page cursors are signed with the public "
            "development default. Set it in any real deployment / 警告：未设置 "
            "INSPECT_SECRET_KEY，分页游标使用公开的开发默认密钥签名，正式部署必须设置",
            err=True,
        )

    from inspect_core.imports.service import warm_workers

    warm_workers(app)  # the first large upload then finds its workers ready
    # not app.run(): under Flask's own command line it returns at once without serving
    run_simple(host, port, app, threaded=True, use_reloader=False)


#: a count of rows to make: a negative one was a traceback deep in the loader
_COUNT = click.IntRange(min=1)


@click.command("simulate")
@click.option("--enterprises", "n_enterprises", default=2000, show_default=True, type=_COUNT)
@click.option("--inspectors", "n_inspectors", default=80, show_default=True, type=_COUNT)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--batch", default=20000, show_default=True, type=_COUNT)
@click.option("--quiet", is_flag=True, help="no progress bar")
@with_appcontext
def simulate_command(
    n_enterprises: int, n_inspectors: int, seed: int, batch: int, quiet: bool
) -> None:
    """Fill the registries with a realistic simulated district."""
    from inspect_core.simulate import simulate

    stats = simulate(db.engine, n_enterprises, n_inspectors, seed, batch=batch, progress=not quiet)
    click.echo(
        f"inserted {stats.enterprises} enterprises and {stats.inspectors} inspectors "
        f"in {stats.seconds:.2f} s "
        f"({stats.enterprises / max(stats.seconds, 1e-9):,.0f} enterprises/s, {stats.method})"
    )


@click.group("demo", help="The demo district.")
def demo_group() -> None:
    pass


def _demo_scoring() -> None:
    """Train on the demo history, rescore everyone, print the top of the risk-ranked list."""
    from inspect_core.credit import jobs
    from inspect_core.credit.ratings import ranked_page
    from inspect_core.results.service import today_in_china

    session = db.session
    model = jobs.train(session, "demo", today_in_china(), window_days=3 * 365)
    scoring_run = jobs.run(session, "demo", today_in_china())
    click.echo(
        f"scored {scoring_run.enterprises} enterprises with {model.version} "
        f"{jobs.metrics_line(model.metrics)}"
    )
    click.echo(jobs.tier_line(session, scoring_run))

    class Everyone:
        regions: list[str] = []

    page = ranked_page(session, Everyone(), {"limit": 10, "cursor": None})
    click.echo("riskiest 10 (GET /api/v1/enterprises?order=risk):")
    for i, item in enumerate(page["items"], start=1):
        why = "; ".join(r["text_zh"] for r in item["reasons"])
        click.echo(f"  {i:>2}. {item['tier']} {item['score']:7.1f} {item['name']}  {why}")


@demo_group.command("load")
@click.option("--enterprises", "n_enterprises", default=3000, show_default=True, type=_COUNT)
@click.option("--inspectors", "n_inspectors", default=80, show_default=True, type=_COUNT)
@click.option("--seed", default=2026, show_default=True, type=int)
@with_appcontext
def demo_load(n_enterprises: int, n_inspectors: int, seed: int) -> None:
    """Load the demo district into an empty database and print the demo accounts."""
    from inspect_core.demo import load_demo, run_demo_loop, seed_credit_record, seed_history

    loaded, accounts = load_demo(n_enterprises, n_inspectors, seed)
    if loaded:
        click.echo(f"demo district loaded: {n_enterprises} enterprises, {n_inspectors} inspectors")
        history = seed_history(seed)
        click.echo(f"simulated history: {history.results} earlier results")
        credit = seed_credit_record(seed, history)
        db.session.commit()
        kinds = ", ".join(f"{kind} {n}" for kind, n in credit.events.items())
        click.echo(
            f"simulated credit record: {sum(credit.events.values())} events ({kinds}), "
            f"{credit.repaired} repaired, {credit.withdrawn} withdrawn "
            f"({credit.corrected} of them corrected)"
        )
        _demo_scoring()
        loop = run_demo_loop(seed)
        click.echo(
            f"spot check: plan {loop['plan']} drawn (draw {loop['draw']}, {loop['tasks']} tasks), "
            f"{loop['results']} results recorded, {loop['disclosed']} disclosed at "
            "/api/v1/public/results"
        )
    else:
        click.echo("demo district already present; nothing loaded")
    click.echo("demo accounts (POST /api/v1/auth/token with username and password):")
    for a in accounts:
        extra = f" badge {a.badge}" if a.badge else ""
        extra += f" regions {', '.join(a.regions)}" if a.regions else ""
        click.echo(f"  {a.role:<13} {a.username:<10} {a.password}{extra}")


@click.group("draws", help="Double-random draws.")
def draws_group() -> None:
    pass


@draws_group.command("verify")
@click.argument("draw_id", type=click.IntRange(1, MAX_ID))
@with_appcontext
def draws_verify(draw_id: int) -> None:
    """Replay draw DRAW_ID from its stored snapshot and seed; exit 1 unless identical."""
    import json

    from inspect_core.errors import ApiError
    from inspect_core.plans.service import verify_draw

    with db.new_session() as session:
        try:
            report = verify_draw(session, draw_id)
        except ApiError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if not report["identical"]:
        sys.exit(1)


@click.group("audit", help="The hash-chained audit log.")
def audit_group() -> None:
    pass


_KEY_FILE = click.option(
    "--key-file",
    type=click.Path(dir_okay=False),
    help="the Ed25519 private key (default: INSPECT_AUDIT_CHECKPOINT_KEY_FILE)",
)


@audit_group.command("keygen")
@click.option(
    "--private-key-out",
    required=True,
    type=click.Path(dir_okay=False),
    help="new file for the private key (PEM, mode 0600); never overwritten",
)
@click.option(
    "--public-key-out",
    type=click.Path(dir_okay=False),
    help="new file for the public key (PEM; default: print it)",
)
def audit_keygen(private_key_out: str, public_key_out: str | None) -> None:
    """Make an Ed25519 key pair for signing checkpoints.  Keep the private key where the
    checkpoint job runs, never with the database; give the public key to whoever checks
    the checkpoints."""
    from inspect_core.audit import checkpoint

    try:
        key = checkpoint.generate(private_key_out, public_key_out)
    except checkpoint.CheckpointError as exc:
        raise click.ClickException(str(exc)) from None
    public = key.public_key()
    click.echo(f"private key written to {private_key_out} (mode 0600)")
    if public_key_out:
        click.echo(f"public key written to {public_key_out}")
    else:
        click.echo(checkpoint.public_pem(public).decode(), nl=False)
    click.echo(f"key id {checkpoint.key_id(public)}")


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(exists=True, dir_okay=False),
    help="also check the chain still holds this file's signed checkpoints (its last line)",
)
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(dir_okay=False),
    help="the signer's Ed25519 public key (default: INSPECT_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE, "
    "else the private key's public half)",
)
@click.option(
    "--records",
    is_flag=True,
    help="also check every stored result row against the digest its audit event holds "
    "(reads the whole results table)",
)
@_KEY_FILE
@with_appcontext
def audit_verify(
    checkpoint_path: str | None,
    public_key_file: str | None,
    records: bool,
    key_file: str | None,
) -> None:
    """Recompute the chain; exit 1 and name the first broken link if any.  With
    --checkpoint, exit 1 as well unless every checkpoint in the file is signed by the key
    (the first that is not is named by its line) and the chain still has the last one's
    event with the same hash (a cut-off tail or a re-hashed chain).  With --records, exit
    1 as well if a result row differs from its event's digest, is missing, or is in no
    event (each named, the first 20)."""
    from inspect_core.audit import checkpoint
    from inspect_core.audit.records import verify_records
    from inspect_core.audit.service import verify

    signed, lines = None, []
    if checkpoint_path:
        try:
            public_key = checkpoint.load_public_key(current_app.config, public_key_file, key_file)
            lines = checkpoint.read(checkpoint_path)
            checkpoint.check_lines(lines, public_key)
        except checkpoint.CheckpointError as exc:
            raise click.ClickException(str(exc)) from None
        signed = lines[-1].checkpoint
    with db.new_session() as session:
        report = verify(session)
        problem = checkpoint.check(session, signed) if signed is not None else None
    rows = None
    if records:
        with db.new_session() as session:  # its own transaction, one snapshot
            rows = verify_records(session)
    failed = False
    if report.ok:
        click.echo(f"audit chain intact: {report.events} events, head {report.head}")
    else:
        failed = True
        click.echo(
            f"audit chain BROKEN at event {report.first_broken}: {report.problem} "
            f"({report.events} events verified before it)"
        )
    if problem:
        failed = True
        click.echo(f"checkpoint NOT HELD: {problem}")
    elif signed is not None:
        click.echo(
            f"checkpoint of {signed['created_at']} held: event {signed['last_id']} "
            f"hash {signed['hash']} ({len(lines)} checkpoint(s) signed by key {signed['key_id']})"
        )
    if rows is not None:
        unchecked = (
            f"; {rows.unverifiable} stored before row digests, not checked"
            if rows.unverifiable
            else ""
        )
        if rows.ok:
            click.echo(
                f"result rows intact: {rows.verified} of {rows.rows} match their audit "
                f"events, and {rows.attachments} attachments{unchecked}"
            )
        else:
            failed = True
            click.echo(
                f"result rows NOT INTACT: {rows.n_problems} problem(s) in {rows.rows} "
                f"rows{unchecked}"
            )
            for line in rows.problems:
                click.echo(f"  {line}")
            if rows.n_problems > len(rows.problems):
                click.echo(f"  ... and {rows.n_problems - len(rows.problems)} more")
    if failed:
        sys.exit(1)


@audit_group.command("baseline-records")
@with_appcontext
def audit_baseline_records() -> None:
    """Record in the chain, once, the result rows of a database from before row digests
    (revision 0012) that no event covers, so that ``verify --records`` checks them from
    now on.  Refuses if any row already differs from or is missing from its event."""
    from inspect_core.audit.records import BaselineRefused, baseline
    from inspect_core.audit.service import verify

    with db.new_session() as session:
        chain = verify(session)
        if not chain.ok:
            raise click.ClickException(
                f"audit chain BROKEN at event {chain.first_broken}: {chain.problem}; "
                "nothing recorded"
            )
        try:
            count, report = baseline(session)
        except BaselineRefused as exc:
            raise click.ClickException(f"result rows NOT INTACT, nothing recorded: {exc}") from None
        session.commit()
    if count:
        click.echo(
            f"recorded {count} of {report.rows} result rows, which no audit event covered, "
            "in one result.load event; verify --records checks them from now on"
        )
    else:
        click.echo(f"nothing to record: every one of {report.rows} result rows is covered")


@audit_group.command("checkpoint")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="append the checkpoint to this JSON-lines file (default: print it)",
)
@_KEY_FILE
@with_appcontext
def audit_checkpoint(out: str | None, key_file: str | None) -> None:
    """Verify the chain and print (or append to --out) its head signed with an Ed25519
    private key kept outside the database.  Keep the file elsewhere, write-once."""
    import json

    from inspect_core.audit import checkpoint

    try:
        key = checkpoint.load_private_key(current_app.config, key_file)
        previous = checkpoint.last_in(out) if out else None
        with db.new_session() as session:
            signed = checkpoint.make(session, key, previous)
    except checkpoint.CheckpointError as exc:
        raise click.ClickException(str(exc)) from None
    if out:
        checkpoint.append(out, signed)
        click.echo(
            f"checkpoint appended to {out}: {signed['events']} events, head {signed['hash']}"
        )
    else:
        click.echo(json.dumps(signed, sort_keys=True))


@click.group("calendar", help="Working-day calendar for disclosure deadlines.")
def calendar_group() -> None:
    pass


@calendar_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def calendar_load(path: str) -> None:
    """Load a year's holidays: JSON {"year": Y, "holidays": [...], "workdays": [...]}.

    Checked as ``PUT /api/v1/calendar/{year}`` checks its body: without that, a misspelt
    ``holidays`` loaded the year with no holidays (its deadlines then "loaded", not
    flagged as weekdays), and a day listed as both, or a year past 9998, was a traceback."""
    import json

    from marshmallow import ValidationError

    from inspect_core.disclosure.api import CalendarSchema
    from inspect_core.disclosure.service import load_calendar

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        year = int(data.pop("year"))
        notice = CalendarSchema().load(data)
    except ValidationError as exc:
        raise click.ClickException(f"{path}: {exc.messages}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    if not 2000 <= year <= 2100:
        raise click.ClickException(f"{path}: year {year} is not in 2000-2100")
    holidays, workdays = notice["holidays"], notice["workdays"]
    wrong = [d for d in holidays + workdays if d.year != year]
    if wrong:
        raise click.ClickException(f"{path}: {wrong[0]} is not in {year}")
    with db.new_session() as session:
        days = load_calendar(session, "cli", year, holidays, workdays)
    click.echo(f"calendar {year}: {days} day(s) loaded")


@click.group("import", help="Bulk uploads from .xlsx or .csv files.")
def import_group() -> None:
    pass


def _import(
    kind: str, path: str, as_user: str, sector: str | None, mode: str, key: str | None
) -> None:
    import json

    from sqlalchemy import select
    from tqdm import tqdm

    from inspect_core.auth.models import User
    from inspect_core.errors import ApiError
    from inspect_core.imports.service import run_import

    content = Path(path).read_bytes()
    bars: dict[str, tqdm] = {}

    def progress(phase: str, done: int, total: int) -> None:
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = tqdm(total=total, desc=phase, unit="row", leave=True)
        if bar.total != total:  # a file's rows are counted as it is read: an estimate first
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    with db.new_session() as session:
        user = session.scalar(select(User).where(User.username == as_user, User.active))
        if user is None:
            raise click.ClickException(f"no active user '{as_user}'")
        try:
            status, body, _ = run_import(
                session, user, kind, Path(path).name, "", content, mode, sector, key, progress
            )
        except ApiError as exc:
            raise click.ClickException(
                f"{exc.message} {json.dumps(exc.errors, ensure_ascii=False)}"
            ) from None
        finally:
            for bar in bars.values():
                bar.close()
    click.echo(
        f"import {body['import_id']}: received {body['received']}, accepted {body['accepted']}, "
        f"rejected {body['rejected']} ({body.get('import_status', body['status'])})"
    )
    for error in body["errors"][:20]:
        click.echo(f"  row {error['row']} {error['column']}: {error['message']}")
    if len(body["errors"]) > 20:
        click.echo(
            f"  … {len(body['errors']) - 20} more: "
            f"GET /api/v1/imports/{body['import_id']}/errors.xlsx"
        )
    if status >= 400:
        sys.exit(1)


_MODE = click.option(
    "--mode",
    type=click.Choice(["all_or_nothing", "partial"]),
    default="all_or_nothing",
    show_default=True,
)
_AS = click.option("--as", "as_user", required=True, help="the account the rows are recorded under")


def _idempotency_key(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--key`` checked as the API checks its header: one past the column's 255
    characters was a traceback on PostgreSQL (and stored whole on SQLite), and an empty
    key or one with a control character was taken."""
    if value is None:
        return None
    from inspect_core.errors import ApiError
    from inspect_core.idempotency import check_key

    try:
        return check_key(value)
    except ApiError:
        raise click.BadParameter("1-255 printable characters / 1 至 255 个可打印字符") from None


_KEY = click.option(
    "--key",
    callback=_idempotency_key,
    help="idempotency key (1-255 printable characters): rerunning with it returns the first answer",
)


@import_group.command("results")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--sector", required=True, help="the template's sector code")
@_AS
@_MODE
@_KEY
@with_appcontext
def import_results(path: str, sector: str, as_user: str, mode: str, key: str | None) -> None:
    """Import results from PATH (a sector template, .xlsx or .csv)."""
    _import("results", path, as_user, sector, mode, key)


@import_group.command("enterprises")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_AS
@_MODE
@_KEY
@with_appcontext
def import_enterprises(path: str, as_user: str, mode: str, key: str | None) -> None:
    """Import enterprise registry rows from PATH."""
    _import("enterprises", path, as_user, None, mode, key)


@import_group.command("inspectors")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_AS
@_MODE
@_KEY
@with_appcontext
def import_inspectors(path: str, as_user: str, mode: str, key: str | None) -> None:
    """Import inspector registry rows from PATH."""
    _import("inspectors", path, as_user, None, mode, key)


@click.group("score", help="Credit-risk models, rescoring and evaluation.")
def score_group() -> None:
    pass


def _date(value: str | None) -> Any:
    """An ISO date option, or a usage error (not a traceback)."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date YYYY-MM-DD / 日期格式应为YYYY-MM-DD"
        ) from None


#: the longest training window: a century; a million days was an OverflowError traceback
#: (a date before year 1), and no record a model learns from is older
MAX_WINDOW_DAYS = 36_525


def _window_days(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """At least one day: 0 or less read "no judged results from <after> to <before>", as
    if the record were empty; at most :data:`MAX_WINDOW_DAYS`."""
    if value < 1:
        raise click.BadParameter(f"{value} — at least 1 day / 训练窗口至少为1天")
    if value > MAX_WINDOW_DAYS:
        raise click.BadParameter(
            f"{value} — at most {MAX_WINDOW_DAYS} days / 训练窗口至多为{MAX_WINDOW_DAYS}天"
        )
    return value


@score_group.command("train")
@click.option("--until", help="train on results before this date (default: today)")
@click.option("--window-days", default=3 * 365, show_default=True, type=int, callback=_window_days)
@with_appcontext
def score_train(until: str | None, window_days: int) -> None:
    """Fit the scorecard and the ML model on the recorded results; store them."""
    import json

    from inspect_core.credit.jobs import metrics_line, train
    from inspect_core.errors import ApiError
    from inspect_core.results.service import today_in_china

    with db.new_session() as session:
        try:
            model = train(session, "cli", _date(until) or today_in_china(), window_days)
        except ApiError as exc:
            zh = f" / {exc.message_zh}" if exc.message_zh else ""
            raise click.ClickException(
                f"{exc.message}{zh} {json.dumps(exc.errors, ensure_ascii=False)}"
            ) from None
        click.echo(f"model {model.version}: {metrics_line(model.metrics)}")


@score_group.command("run")
@click.option("--as-of", help="score as of this date (default: today)")
@click.option("--quiet", is_flag=True)
@with_appcontext
def score_run(as_of: str | None, quiet: bool) -> None:
    """Rescore every enterprise into a new run (regulators page through one fixed run)."""
    import json

    from tqdm import tqdm

    from inspect_core.credit.jobs import run, tier_line
    from inspect_core.errors import ApiError

    bars: dict[str, Any] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if quiet:
            return
        bar = bars.get(phase) or bars.setdefault(phase, tqdm(total=total, desc=phase, unit="ent"))
        bar.update(done - bar.n)

    with db.new_session() as session:
        try:
            scoring_run = run(session, "cli", _date(as_of), progress)
        except ApiError as exc:
            zh = f" / {exc.message_zh}" if exc.message_zh else ""
            raise click.ClickException(
                f"{exc.message}{zh} {json.dumps(exc.errors, ensure_ascii=False)}"
            ) from None
        finally:
            for bar in bars.values():
                bar.close()
        alarm = ""
        if scoring_run.alarm:  # which variables shifted, as GET /scoring/runs/{id} shows
            from inspect_core.credit.ratings import run_summary

            shifted = run_summary(session, scoring_run)["shifted"]
            alarm = " PSI ALARM: " + ", ".join(f"{s['variable']} {s['psi']}" for s in shifted[:5])
        click.echo(
            f"run {scoring_run.id}: {scoring_run.enterprises} enterprises scored as of "
            f"{scoring_run.as_of}; max PSI {scoring_run.psi.get('max')}{alarm}"
        )
        click.echo(tier_line(session, scoring_run))


try:  # the Chicago-style evaluation command, when the scoring package provides it
    from scoring.cli import evaluate_command as _evaluate

    score_group.add_command(_evaluate, "evaluate")
except ImportError:  # pragma: no cover - depends on the installed scoring package
    pass


def _factory() -> Flask:
    from inspect_core.app import create_app

    return create_app()


cli = FlaskGroup(
    create_app=_factory, help="inspect-core: double-random spot checks and risk tiers."
)


def main() -> None:
    cli(prog_name="inspect-core")
