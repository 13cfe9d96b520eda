"""Records → data frames for scoring: one code path whatever the database.

``scoring/`` never touches the ORM (DESIGN.md); this module reads what it needs in bulk —
PostgreSQL ``COPY … TO STDOUT`` into pandas, plain cursor reads on SQLite — and hands over
frames in the open inspection-history layout (``benchmarks/chicago/README.md``): an event
log (``enterprise_id, date, critical_count, serious_count, minor_count, failed,
inspector``) and an enterprise table.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from inspect_core.credit.models import CREDIT_EVENT_TYPES

EVENTS_SQL = """
SELECT r.enterprise_id, r.inspected_on AS date, r.critical_count,
       r.major_count AS serious_count, r.minor_count,
       CASE WHEN r.passed THEN 0 ELSE 1 END AS failed, r.sector, r.recorded_by AS inspector
FROM results r
WHERE r.passed IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM results n WHERE n.supersedes_id = r.id)
"""

ENTERPRISES_SQL = """
SELECT e.id AS enterprise_id, e.region, e.status, e.established_on,
       (SELECT MIN(s.sector) FROM enterprise_sectors s WHERE s.enterprise_id = e.id) AS sector
FROM enterprises e
"""

CREDIT_SQL = """
SELECT c.enterprise_id, c.type, c.severity, c.occurred_on, c.expires_on, p.effective_on
FROM credit_events c LEFT JOIN credit_repairs p ON p.event_id = c.id
"""


def read_frame(session: Session, sql: str, dates: Sequence[str] = ()) -> pd.DataFrame:
    """A query's rows as a frame: COPY on PostgreSQL (the fastest path), a cursor elsewhere."""
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
        frame = pd.read_csv(buffer, parse_dates=list(dates), keep_default_na=True)
    else:
        result = connection.execute(text(sql))
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        for column in dates:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def events_frame(session: Session) -> pd.DataFrame:
    """Every judged result (current version) as an inspection event."""
    frame = read_frame(session, EVENTS_SQL, dates=("date",))
    for column in ("critical_count", "serious_count", "minor_count", "failed"):
        frame[column] = frame[column].astype("int64")
    return frame


def enterprises_frame(session: Session, as_of: dt.date) -> pd.DataFrame:
    """Enterprise attributes: region, status, main sector, age in years on ``as_of``."""
    frame = read_frame(session, ENTERPRISES_SQL, dates=("established_on",))
    age = (pd.Timestamp(as_of) - frame["established_on"]).dt.days / 365.25
    frame["business_age_years"] = age.astype(float)
    return frame.drop(columns=["established_on"])


def credit_features(session: Session, rows: pd.DataFrame) -> pd.DataFrame:
    """Per scoring row, the credit events in force on its ``as_of`` (point in time: only
    events that occurred before it and had not expired or been repaired by then).

    Columns: ``credit_<type>`` counts for each event type, ``credit_negative`` and
    ``credit_positive`` totals, and ``serious_dishonesty`` (0/1, the D-tier override).
    """
    events = read_frame(session, CREDIT_SQL, dates=("occurred_on", "expires_on", "effective_on"))
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
