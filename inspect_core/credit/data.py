"""Records → data frames for scoring: one code path whatever the database.

``scoring/`` never touches the ORM (DESIGN.md); this module reads what it needs in bulk —
PostgreSQL ``COPY … TO STDOUT`` into pandas (or, for rescoring's integer event log, rows
packed server-side), plain cursor reads on SQLite — and hands over
frames in the open inspection-history layout (``benchmarks/chicago/README.md``): an event
log (``enterprise_id, date, critical_count, serious_count, minor_count, failed,
inspector``) and an enterprise table.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from inspect_core.credit.models import CREDIT_EVENT_TYPES

#: judged, current versions only.  ``n.supersedes_id IS NOT NULL`` is implied by the
#: equality; spelt out, PostgreSQL hashes only the corrections instead of every row's NULL
#: (the plan went from a 16-batch hash anti join spilling to disk to an in-memory one)
CURRENT_JUDGED = """
FROM results r
WHERE r.passed IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM results n
                  WHERE n.supersedes_id = r.id AND n.supersedes_id IS NOT NULL)
"""

#: an event's columns (:data:`EVENTS_SQL`); rescoring leaves out the text ``sector``
SCORING_EVENT_COLUMNS = """
SELECT r.id AS inspection_id, r.enterprise_id, r.inspected_on AS date, r.critical_count,
       r.major_count AS serious_count, r.minor_count,
       CASE WHEN r.passed THEN 0 ELSE 1 END AS failed"""
EVENTS_SQL = SCORING_EVENT_COLUMNS + ", r.sector" + CURRENT_JUDGED

#: who inspected: the inspectors on a judged result's task when it was recorded (the drawn
#: team, or whoever had replaced a member by then).  That assignment is the random one the
#: inspector effect rests on; the recording account may be a clerk uploading a team's
#: workbook.  A result is credited to every member of its team.
TEAMS_SQL = (
    """
SELECT r.id AS inspection_id, i.badge, i.name
FROM task_assignments a
JOIN inspectors i ON i.id = a.inspector_id
JOIN (SELECT r.id, r.task_id, r.recorded_at
"""
    + CURRENT_JUDGED
    + """  AND r.inspected_on >= '{start}' AND r.inspected_on < '{until}'
) r ON r.task_id = a.task_id
WHERE a.assigned_at <= r.recorded_at
  AND (a.released_at IS NULL OR a.released_at > r.recorded_at)
ORDER BY r.id, i.badge
"""
)

#: what rescoring needs of an event: integers only (``date`` as days since 1970-01-01)
EVENT_INTEGERS: dict[str, str] = {
    "inspection_id": "r.id",  # orders same-day events (scoring.features._last_events)
    "enterprise_id": "r.enterprise_id",
    "date": "r.inspected_on - DATE '1970-01-01'",
    "critical_count": "r.critical_count",
    "serious_count": "r.major_count",
    "minor_count": "r.minor_count",
    "failed": "CASE WHEN r.passed THEN 0 ELSE 1 END",
}

#: times as PostgreSQL keeps them: int64 microseconds since 2000-01-01 UTC, which
#: ``timestamptz_send`` packs as is (no arithmetic per row on the server)
STAMP_EPOCH = pd.Timestamp("2000-01-01", tz="UTC")
#: an assignment never released: PostgreSQL's ``infinity``, as ``timestamptz_send`` packs it
NEVER = np.iinfo(np.int64).max
#: what finds an event's team: its task, and when it was recorded (:data:`TEAMS_SQL`'s rule)
EVENT_TEAMS = {"task_id": "r.task_id", "recorded_at": "r.recorded_at"}
#: every inspector's time on every task (:data:`TEAMS_SQL`'s rule, applied in NumPy)
ASSIGNMENTS = {
    "task_id": "a.task_id",
    "inspector_id": "a.inspector_id",
    "assigned_at": "a.assigned_at",
    "released_at": "COALESCE(a.released_at, 'infinity')",
}
ASSIGNMENT_STAMPS = ("assigned_at", "released_at")

#: main sector = the first by name; one grouped join, not a subquery per enterprise
#: (measured on 1,000,000 enterprises: 2.2 s instead of 3.1 s)
ENTERPRISES_SQL = """
SELECT e.id AS enterprise_id, e.region, e.status, e.established_on, s.sector
FROM enterprises e
LEFT JOIN (SELECT enterprise_id, MIN(sector) AS sector FROM enterprise_sectors
           GROUP BY enterprise_id) s ON s.enterprise_id = e.id
"""

#: a withdrawn event (recorded in error, or annulled) never counted, as of any day
CREDIT_SQL = """
SELECT c.enterprise_id, c.type, c.severity, c.occurred_on, c.expires_on, p.effective_on
FROM credit_events c LEFT JOIN credit_repairs p ON p.event_id = c.id
WHERE NOT EXISTS (SELECT 1 FROM credit_withdrawals w WHERE w.event_id = c.id)
"""


#: the facts sector plugins recorded (``results.facts``) of current, judged results, one row
#: per (result, fact), expanded by the server; the partial index ``ix_results_facts``
#: finds the few results that have any
_FACTS_WHERE = """
WHERE r.facts IS NOT NULL AND r.passed IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM results n
                  WHERE n.supersedes_id = r.id AND n.supersedes_id IS NOT NULL)
"""
FACTS_SQL = {
    "postgresql": """
SELECT r.enterprise_id, r.inspected_on AS date, f.key AS fact,
       CAST(f.value AS double precision) AS value
FROM results r CROSS JOIN LATERAL json_each_text(r.facts) AS f(key, value)
"""
    + _FACTS_WHERE,
    "sqlite": """
SELECT r.enterprise_id, r.inspected_on AS date, f.key AS fact, CAST(f.value AS REAL) AS value
FROM results r, json_each(r.facts) AS f
"""
    + _FACTS_WHERE,
}


def read_frame(
    session: Session, sql: str, dates: Sequence[str] = (), texts: Sequence[str] = ()
) -> pd.DataFrame:
    """A query's rows as a frame: COPY on PostgreSQL (the fastest path), a cursor elsewhere.
    ``texts``: columns kept as text (a badge "007" is not the number 7, "NA" is not
    missing)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        buffer = io.BytesIO()
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy,
        ):
            for block in copy:
                buffer.write(block)
        buffer.seek(0)
        # text as text: with pandas' default NA strings a badge "NA" or "null" (both
        # valid) would be read as missing; COPY writes NULL as an empty field
        frame = pd.read_csv(
            buffer,
            parse_dates=list(dates),
            dtype=dict.fromkeys(texts, str),
            keep_default_na=not texts,
            na_values=[""] if texts else None,
        )
    else:
        result = connection.execute(text(sql))
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        for column in dates:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def events_frame(session: Session, *, sector: bool = True, teams: bool = False) -> pd.DataFrame:
    """Every judged result (current version) as an inspection event.

    ``sector=False`` (rescoring, which does not use it) leaves out the text column
    ``sector``; on PostgreSQL the rows then come packed (see
    :func:`read_packed_integers`).  ``teams=True`` adds what finds a result's team
    (:func:`finding_weights`): ``task_id`` and ``recorded_at`` (:data:`STAMP_EPOCH`
    microseconds).
    """
    columns = {**EVENT_INTEGERS, **(EVENT_TEAMS if teams else {})}
    stamps = ("recorded_at",) if teams else ()
    if not sector and _packs(session, "results", _packed_width(columns, stamps)):
        frame = read_packed_integers(
            session, columns, CURRENT_JUDGED, _results_parts(session), stamps
        )
        days = frame["date"].to_numpy().astype("timedelta64[D]")
        frame["date"] = (np.datetime64("1970-01-01", "D") + days).astype("datetime64[us]")
        return frame
    sql = SCORING_EVENT_COLUMNS + (", r.sector" if sector else "")
    if teams:
        sql += "".join(f", {expression} AS {name}" for name, expression in EVENT_TEAMS.items())
    frame = read_frame(session, sql + CURRENT_JUDGED, dates=("date",))
    for column in ("inspection_id", "critical_count", "serious_count", "minor_count", "failed"):
        frame[column] = frame[column].astype("int64")
    if teams:
        frame["task_id"] = frame["task_id"].astype("int64")
        frame["recorded_at"] = _stamps(frame["recorded_at"])
    return frame


def teams_frame(session: Session, start: dt.date, until: dt.date) -> pd.DataFrame:
    """``inspection_id, badge, name``: the team (:data:`TEAMS_SQL`) of each judged result
    inspected in [``start``, ``until``) — a training window, not every result ever (ten
    million results are twenty million team rows)."""
    sql = TEAMS_SQL.format(start=start.isoformat(), until=until.isoformat())
    frame = read_frame(session, sql, texts=("badge", "name"))
    frame["inspection_id"] = frame["inspection_id"].astype("int64")
    return frame


def _stamps(values: pd.Series) -> np.ndarray:
    """Timestamps read as text or datetimes (a cursor, COPY) → :data:`STAMP_EPOCH`
    microseconds; a missing one (never released) is :data:`NEVER`."""
    stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    micros = np.full(len(stamps), NEVER, dtype=np.int64)
    known = stamps.notna().to_numpy()
    micros[known] = (stamps[known] - STAMP_EPOCH).to_numpy() // np.timedelta64(1, "us")
    return micros


def _no_weights() -> pd.Series:
    return pd.Series(
        [], dtype=float, index=pd.Index([], dtype="int64", name="inspection_id"),
        name="finding_weight",
    )  # fmt: skip


def finding_weights(
    session: Session, strictness: dict[str, float], events: pd.DataFrame, until: dt.date
) -> pd.Series:
    """How much each event's findings count, by ``inspection_id`` (ascending): 1 / the
    mean strictness of the team on its task when it was recorded (an inspector the table
    does not rate counts as 1, the average).  Inspectors are drawn at random, so a
    finding of a team that finds 30 % more than the enterprises' risk predicts counts
    1/1.3: the enterprise's risk net of who happened to visit (issue #5).  Only events
    dated before ``until`` that found something are weighed; the others (and results
    with no team) weigh 1.

    ``events``: :func:`events_frame` with ``teams=True``.  The teams come from the
    assignments alone (one row per inspector on a task), matched to the events in NumPy:
    on ten million results (bench_scoring --teams) 1.4–2.0 s, plus 2–3 s for the event
    read's two columns, where joining the results to the assignments on the server
    took 5–6 s (8–11 s on a slower day)."""
    # a strictness that is not a positive number (a hand-edited model) counts as average
    strictness = {
        str(badge): float(s) for badge, s in strictness.items()
        if isinstance(s, int | float) and math.isfinite(s) and s > 0
    }  # fmt: skip
    if not strictness:
        return _no_weights()
    people = read_frame(session, "SELECT id, badge FROM inspectors", texts=("badge",))
    if people.empty:
        return _no_weights()
    ids = people["id"].to_numpy(dtype=np.int64)
    lookup = np.ones(int(ids.max()) + 1)
    lookup[ids] = people["badge"].map(strictness).fillna(1.0).to_numpy(dtype=float)
    found = (
        events["critical_count"].to_numpy() + events["serious_count"].to_numpy()
        + events["minor_count"].to_numpy()
    ) > 0  # fmt: skip
    found &= events["date"].to_numpy() < np.datetime64(until)
    team = assignments_frame(session)
    weight = team_weights(
        events["task_id"].to_numpy(dtype=np.int64)[found],
        events["recorded_at"].to_numpy(dtype=np.int64)[found],
        team["task_id"].to_numpy(dtype=np.int64),
        lookup[team["inspector_id"].to_numpy(dtype=np.int64)],
        team["assigned_at"].to_numpy(dtype=np.int64),
        team["released_at"].to_numpy(dtype=np.int64),
    )
    results = events["inspection_id"].to_numpy(dtype=np.int64)[found]
    known = ~np.isnan(weight)
    order = np.argsort(results[known], kind="stable")
    return pd.Series(
        weight[known][order],
        index=pd.Index(results[known][order], name="inspection_id"),
        name="finding_weight",
    )


def assignments_frame(session: Session) -> pd.DataFrame:
    """``task_id, inspector_id, assigned_at, released_at`` of every assignment, times as
    :data:`STAMP_EPOCH` microseconds (:data:`NEVER`: not released); packed on PostgreSQL."""
    if _packs(session, "task_assignments", _packed_width(ASSIGNMENTS, ASSIGNMENT_STAMPS)):
        return read_packed_integers(
            session, ASSIGNMENTS, "FROM task_assignments a", stamps=ASSIGNMENT_STAMPS
        )
    frame = read_frame(
        session,
        "SELECT a.task_id, a.inspector_id, a.assigned_at, a.released_at FROM task_assignments a",
    )
    for column in ("task_id", "inspector_id"):
        frame[column] = frame[column].astype("int64")
    for column in ASSIGNMENT_STAMPS:
        frame[column] = _stamps(frame[column])
    return frame


def team_weights(
    task: np.ndarray,
    recorded: np.ndarray,
    a_task: np.ndarray,
    a_strictness: np.ndarray,
    a_start: np.ndarray,
    a_end: np.ndarray,
) -> np.ndarray:
    """Per event (its ``task`` and when it was ``recorded``), 1 / the mean strictness of
    the assignments on its task that had begun and not ended by then (:data:`TEAMS_SQL`:
    ``assigned_at <= recorded_at < released_at``); NaN where there were none.

    Most tasks keep their drawn team, assigned before any result: their events take the
    task's mean, looked up by task id (tasks are numbered from 1, so arrays indexed by
    id stay the size of the tasks table).  The rest (a recusal, or an assignment after
    the result) are matched assignment by assignment."""
    weight = np.full(len(task), np.nan)
    if not len(task) or not len(a_task):
        return weight
    size = int(max(task.max(), a_task.max())) + 1
    members = np.bincount(a_task, minlength=size)
    total = np.bincount(a_task, weights=a_strictness, minlength=size)
    latest_start = np.full(size, np.iinfo(np.int64).min)
    np.maximum.at(latest_start, a_task, a_start)
    earliest_end = np.full(size, NEVER)
    np.minimum.at(earliest_end, a_task, a_end)
    # a task whose team never changed: its mean, for results recorded once all were on it
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = np.where((members > 0) & (earliest_end == NEVER), members / total, np.nan)
    mean = kept[task]
    whole = ~np.isnan(mean) & (latest_start[task] <= recorded)
    weight[whole] = mean[whole]
    rest = np.flatnonzero(~whole & (members[task] > 0))
    if len(rest):
        order = np.argsort(a_task, kind="stable")
        first = np.searchsorted(a_task[order], task[rest])
        n = members[task[rest]]
        row = np.repeat(np.arange(len(rest)), n)
        pos = order[np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(first, n)]
        when = recorded[rest][row]
        on = (a_start[pos] <= when) & (a_end[pos] > when)
        count = np.bincount(row[on], minlength=len(rest))
        strict = np.bincount(row[on], weights=a_strictness[pos[on]], minlength=len(rest))
        with np.errstate(divide="ignore", invalid="ignore"):
            weight[rest] = np.where(count > 0, count / strict, np.nan)
    return weight


def with_finding_weights(events: pd.DataFrame, weights: pd.Series | None) -> pd.DataFrame:
    """``events`` with a ``finding_weight`` column (:func:`finding_weights`, whose index
    ascends; 1 where a result has none), which ``scoring.features`` applies; none for
    ``None``.  The columns that found the teams (:data:`EVENT_TEAMS`) are dropped: they
    are not features."""
    events = events.drop(columns=list(EVENT_TEAMS), errors="ignore")
    if weights is None:
        return events
    ids = events["inspection_id"].to_numpy(dtype=np.int64)
    weight = np.ones(len(events))
    if len(weights):
        known = weights.index.to_numpy(dtype=np.int64)
        at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
        hit = known[at] == ids
        weight[hit] = weights.to_numpy(dtype=float)[at[hit]]
    return events.assign(finding_weight=weight)


#: the server builds the packed value in memory, and one value may not exceed 1 GB: above
#: this estimate, read with COPY instead
PACKED_MAX_BYTES = 512 * 1024 * 1024


def _packs(session: Session, table: str, width: int) -> bool:
    """PostgreSQL, and ``table``'s packed rows fit in :data:`PACKED_MAX_BYTES` by the
    planner's estimate (-1, never analysed: unknown, so no)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return False
    estimate = connection.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
    )
    return estimate is not None and 0 <= float(estimate) * width <= PACKED_MAX_BYTES


#: rows above which the packed read is split by table position between connections:
#: the packing is single-threaded on the server (measured on 10M results: 12.5 s, of
#: which the scan and anti join are 7 s); below it a second connection is not worth it
PARALLEL_MIN_ROWS = 2_000_000
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?$")


def _results_parts(session: Session) -> int:
    """How many connections a packed read of ``results`` is split between: two above
    :data:`PARALLEL_MIN_ROWS` rows by the planner's estimate, else one."""
    rows = session.connection().scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST('results' AS regclass)")
    )
    return 2 if float(rows or 0) >= PARALLEL_MIN_ROWS else 1


def _packed_width(columns: dict[str, str], stamps: Sequence[str] = ()) -> int:
    """Bytes a packed row takes (:func:`read_packed_integers`)."""
    return sum(8 if name in stamps else 4 for name in columns)


def read_packed_integers(
    session: Session,
    columns: dict[str, str],
    from_where: str,
    parts: int = 1,
    stamps: Sequence[str] = (),
) -> pd.DataFrame:
    """Integer (int4, NOT NULL) expressions of a query as an int64 frame, on PostgreSQL;
    ``stamps``, the names of timestamptz ones, come as PostgreSQL keeps them
    (``timestamptz_send``: :data:`STAMP_EPOCH` microseconds, ``infinity`` as
    :data:`NEVER`).

    Why: reading ten million rows, one protocol message and one Python iteration per row
    cost more than the query itself (measured: COPY of 2 M events 3–6 s, the scan under
    1 s).  Here the server packs the rows, in scan order (as COPY would send them), into
    one ``bytea`` of big-endian int4s (``int4send``), which NumPy unpacks.  A NULL would
    drop a row silently, so the row count is checked against the length.

    ``parts`` > 1 splits the table ``results r`` (which ``from_where`` must read, ending
    in its WHERE clause) into that many ranges of pages, each packed at once on a
    connection of its own that imports a snapshot this session exports, so together
    they read the table exactly once, as it was at one moment.
    """
    packed = " || ".join(
        f"timestamptz_send({expression})" if name in stamps else f"int4send({expression})"
        for name, expression in columns.items()
    )
    sql = f"SELECT count(*), string_agg({packed}, ''::bytea) {from_where}"
    connection = session.connection()
    raw = connection.connection.driver_connection
    if parts <= 1:
        blobs = [_packed_part(raw, sql)]
    else:
        snapshot = raw.execute("SELECT pg_export_snapshot()").fetchone()[0]
        if not _SNAPSHOT_ID.match(str(snapshot)):
            raise ValueError(f"unexpected snapshot id {snapshot!r}")
        pages = raw.execute(
            "SELECT pg_relation_size('results') / current_setting('block_size')::int"
        ).fetchone()[0]
        bounds = [int(pages) * k // parts for k in range(parts)]
        # the last range is open: rows the snapshot sees lie in pages that existed then
        sqls = [
            f"{sql} AND r.ctid >= '({lo},0)'::tid"
            + (f" AND r.ctid < '({bounds[k + 1]},0)'::tid" if k + 1 < parts else "")
            for k, lo in enumerate(bounds)
        ]
        engine = session.get_bind()

        def other(part_sql: str) -> tuple[int, bytes]:
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                answer = _packed_part(conn.connection.driver_connection, part_sql)
                conn.rollback()
                return answer

        # every part on its own connection, so all of them read the exported snapshot
        # (this session, in READ COMMITTED, would take a newer one for each statement)
        with ThreadPoolExecutor(max_workers=parts) as pool:
            blobs = list(pool.map(other, sqls))
    count = sum(n for n, _ in blobs)
    data = b"".join(blob for _, blob in blobs)
    row = np.dtype([(name, ">i8" if name in stamps else ">i4") for name in columns])
    if len(data) != count * row.itemsize:
        raise ValueError(f"packed read: {len(data)} bytes for {count} rows of {len(columns)}")
    values = np.frombuffer(data, dtype=row)
    return pd.DataFrame(  # copy=False: the arrays are new (copying them cost seconds)
        {name: values[name].astype(np.int64) for name in columns}, copy=False
    )


def _packed_part(raw: Any, sql: str) -> tuple[int, bytes]:
    with raw.cursor(binary=True) as cursor:
        cursor.execute(sql)
        count, blob = cursor.fetchone()
    return int(count), bytes(blob or b"")


def facts_frame(session: Session) -> pd.DataFrame:
    """Every fact of every current judged result, long form (``enterprise_id, date, fact,
    value``; :data:`scoring.features.FACT_COLUMNS`), sorted by enterprise."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # the planner guesses 100 facts per result and compiles the query (JIT): 1.8 of
        # its 2.9 s on 10M results.  Off for this query only, then as it was.
        # (a failed read aborts the transaction, whose rollback undoes the SET LOCAL)
        was = connection.scalar(text("SELECT current_setting('jit')"))
        connection.execute(text("SELECT set_config('jit', 'off', true)"))
        frame = read_frame(session, FACTS_SQL[dialect], dates=("date",))
        connection.execute(text("SELECT set_config('jit', :was, true)"), {"was": was})
    else:
        frame = read_frame(session, FACTS_SQL["sqlite"], dates=("date",))
    if frame.empty:
        frame = pd.DataFrame(
            {"enterprise_id": pd.Series(dtype="int64"), "date": pd.Series(dtype="datetime64[ns]"),
             "fact": pd.Series(dtype="object"), "value": pd.Series(dtype="float64")}
        )  # fmt: skip
    frame["value"] = frame["value"].astype(float)
    order = np.argsort(frame["enterprise_id"].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def enterprises_frame(session: Session, as_of: dt.date) -> pd.DataFrame:
    """Enterprise attributes: region, status, main sector, age in years on ``as_of``."""
    frame = read_frame(session, ENTERPRISES_SQL, dates=("established_on",))
    age = (pd.Timestamp(as_of) - frame["established_on"]).dt.days / 365.25
    frame["business_age_years"] = age.astype(float)
    return frame.drop(columns=["established_on"])


def credit_frame(session: Session) -> pd.DataFrame:
    """Every credit event not withdrawn, with its repair date, if any."""
    return read_frame(session, CREDIT_SQL, dates=("occurred_on", "expires_on", "effective_on"))


def credit_features(
    session: Session, rows: pd.DataFrame, events: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per scoring row, the credit events in force on its ``as_of`` (point in time: only
    events that occurred before it and had not expired or been repaired by then).

    Columns: ``credit_<type>`` counts for each event type, ``credit_negative`` and
    ``credit_positive`` totals, and ``serious_dishonesty`` (0/1, the D-tier override).
    ``events``: :func:`credit_frame`, when already read (rescoring reads it once for
    every chunk of rows).
    """
    if events is None:
        events = credit_frame(session)
    out = pd.DataFrame(index=rows.index)
    types = list(CREDIT_EVENT_TYPES)
    for name in types:
        out[f"credit_{name}"] = 0.0
    if events.empty or rows.empty:
        out["credit_negative"] = 0.0
        out["credit_positive"] = 0.0
        out["serious_dishonesty"] = 0.0
        return out
    key = pd.DataFrame(
        {"_row": np.arange(len(rows)), "enterprise_id": rows["enterprise_id"].to_numpy(),
         "as_of": pd.to_datetime(rows["as_of"]).to_numpy()}
    )  # fmt: skip
    pairs = key.merge(events, on="enterprise_id", how="inner")
    end = pairs[["expires_on", "effective_on"]].min(axis=1)
    active = (pairs["occurred_on"] < pairs["as_of"]) & (end.isna() | (pairs["as_of"] < end))
    pairs = pairs[active]
    counts = pairs.pivot_table(
        index="_row", columns="type", values="enterprise_id", aggfunc="count"
    )
    counts = counts.reindex(index=range(len(rows)), columns=types, fill_value=0).fillna(0)
    for name in types:
        out[f"credit_{name}"] = counts[name].to_numpy(dtype=float)
    negative = [t for t in types if CREDIT_EVENT_TYPES[t][2] > 0]
    positive = [t for t in types if CREDIT_EVENT_TYPES[t][2] < 0]
    out["credit_negative"] = out[[f"credit_{t}" for t in negative]].sum(axis=1)
    out["credit_positive"] = out[[f"credit_{t}" for t in positive]].sum(axis=1)
    out["serious_dishonesty"] = (out["credit_serious_dishonesty"] > 0).astype(float)
    return out
