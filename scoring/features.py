"""Point-in-time features from an inspection event log.

Every scoring row is a pair (enterprise, ``as_of``).  Its history features use only events
dated *strictly before* ``as_of`` (and before an optional per-row ``history_cutoff``), so a
model trained on past rows never sees the outcome it is asked to predict.  The same function
serves CSV files and database rows: both arrive as a :class:`pandas.DataFrame` in the open
inspection-history layout (see ``benchmarks/chicago/README.md``).

The computation is vectorised: events are joined to rows on the enterprise, filtered by date
and aggregated with one ``groupby``; there is no Python loop per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.errors import ScoringDataError

#: columns an event log must have; counts may be absent and are then taken as zero.
EVENT_REQUIRED = ("enterprise_id", "date")
#: severity columns, in the order critical / serious (major) / minor.
SEVERITY_COLUMNS = ("critical_count", "serious_count", "minor_count")
#: event columns that are outcomes or identifiers, never passed through as row features.
RESERVED_COLUMNS = frozenset(
    {
        "inspection_id",
        "enterprise_id",
        "date",
        "as_of",
        "history_cutoff",
        "critical_count",
        "serious_count",
        "minor_count",
        "result",
        "failed",
        "split",
        "inspector",
        "zip",
        "finding_weight",
    }
)
#: the event columns ``finding_weight`` scales: the findings, which an inspector's
#: strictness drives; whether the check failed stays a fact (a failed sample is the
#: laboratory's verdict, and "failed the last check" must stay true of the row)
WEIGHTED_COLUMNS = SEVERITY_COLUMNS


#: the code of a category the vocabulary does not hold (first seen after training)
UNSEEN = -1.0


@dataclass(frozen=True)
class FeatureConfig:
    """How history is summarised; persisted with a model so scoring repeats training.

    ``half_lives_days``: one decayed count per severity and half-life (a finding ``h`` days
    old weighs one half).  ``fail_results``: values of ``result`` that mean a failed
    inspection when the log has no boolean ``failed`` column.  ``categorical``: enterprise /
    row columns encoded as integer codes (vocabulary learned by :func:`learn_vocabulary`).
    ``passthrough``: extra numeric row columns to keep; ``None`` keeps every numeric column
    that is not reserved.  ``facts``: per-event numbers (a sector plugin's
    ``Judgement.facts``, or event-log columns of those names in a CSV) summarised like the
    severity counts, one decayed sum per half-life (``<fact>_<half-life>``).  ``area``: an
    enterprise column (such as ``zip``) whose past inspections give ``area_critical_rate``,
    the share of them with a critical finding (decayed with ``area_half_life_days``, shrunk
    toward the city-wide share by :data:`AREA_PRIOR` inspections): the neighbourhood's
    record, for enterprises with little of their own.
    """

    half_lives_days: tuple[float, ...] = (180.0, 730.0)
    fail_results: tuple[str, ...] = ("Fail",)
    categorical: tuple[str, ...] = ("facility_type", "risk_category", "last_result")
    passthrough: tuple[str, ...] | None = None
    vocabulary: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    facts: tuple[str, ...] = ()
    area: str | None = None
    area_half_life_days: float = 365.0
    #: the code of a category the vocabulary does not hold (:func:`encode_categoricals`);
    #: a model stored before such categories had a code of their own coded them as
    #: missing (NaN), and its PSI reference and bins expect that: ``from_dict`` of a
    #: config without the key gives NaN
    unseen: float = UNSEEN

    def __post_init__(self) -> None:
        if (
            not self.half_lives_days
            or any(h <= 0 for h in self.half_lives_days)
            or self.area_half_life_days <= 0
        ):
            raise ValueError(
                "half-lives must be positive numbers / 半衰期必须为正数: "
                f"{self.half_lives_days!r}, {self.area_half_life_days!r}"
            )

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form, stored next to the model."""
        return {
            "half_lives_days": list(self.half_lives_days),
            "fail_results": list(self.fail_results),
            "categorical": list(self.categorical),
            "passthrough": None if self.passthrough is None else list(self.passthrough),
            "vocabulary": {k: list(v) for k, v in self.vocabulary.items()},
            "facts": list(self.facts),
            "area": self.area,
            "area_half_life_days": self.area_half_life_days,
            "unseen": self.unseen,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> FeatureConfig:
        """Inverse of :meth:`to_dict`."""
        passthrough = data.get("passthrough")
        vocab = data.get("vocabulary") or {}
        return cls(
            half_lives_days=tuple(float(h) for h in data["half_lives_days"]),  # type: ignore[union-attr]
            fail_results=tuple(data["fail_results"]),  # type: ignore[arg-type]
            categorical=tuple(data["categorical"]),  # type: ignore[arg-type]
            passthrough=None if passthrough is None else tuple(passthrough),  # type: ignore[arg-type]
            vocabulary={k: tuple(v) for k, v in vocab.items()},  # type: ignore[union-attr]
            facts=tuple(data.get("facts") or ()),  # type: ignore[arg-type]
            area=data.get("area"),  # type: ignore[arg-type]
            area_half_life_days=float(data.get("area_half_life_days", 365.0)),  # type: ignore[arg-type]
            unseen=float(data.get("unseen", np.nan)),  # type: ignore[arg-type]
        )


def _hl_tag(half_life: float) -> str:
    return f"{half_life:g}d"


def history_feature_names(config: FeatureConfig) -> list[str]:
    """Names of the history columns :func:`build_features` produces, in order."""
    names = ["n_prior", "has_history", "days_since_last"]
    for h in config.half_lives_days:
        tag = _hl_tag(h)
        names += [
            f"decay_critical_{tag}",
            f"decay_serious_{tag}",
            f"decay_minor_{tag}",
            f"decay_failed_{tag}",
            f"decay_inspections_{tag}",
        ]
    names += ["last_critical", "last_serious", "last_minor", "last_failed", "last_result"]
    names += fact_feature_names(config)
    if config.area:
        names.append("area_critical_rate")
    return names


def fact_feature_names(config: FeatureConfig) -> list[str]:
    """The columns :func:`build_features` makes of ``config.facts``, in order."""
    return [f"{fact}_{_hl_tag(h)}" for fact in config.facts for h in config.half_lives_days]


#: pseudo-inspections at the city-wide share that shrink an area's critical share, so a
#: zip code with three visits is not called risky on luck
AREA_PRIOR = 20.0

#: the long form of facts: one row per (event, fact) with a value
FACT_COLUMNS = ("enterprise_id", "date", "fact", "value")


def facts_from_events(events: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Event-log columns named in ``names`` in the long form (nonzero values only), so an
    inspection-history CSV feeds facts through the same code as the database."""
    present = [n for n in names if n in events.columns]
    if not present:
        return pd.DataFrame({c: [] for c in FACT_COLUMNS})
    long = events[["enterprise_id", "date", *present]].melt(
        id_vars=["enterprise_id", "date"], var_name="fact", value_name="value"
    )
    long["value"] = pd.to_numeric(long["value"], errors="coerce").fillna(0.0).astype(float)
    return long[long["value"] != 0].reset_index(drop=True)


def prepare_events(events: pd.DataFrame, config: FeatureConfig | None = None) -> pd.DataFrame:
    """Validate and normalise an event log (dates parsed, counts numeric, ``failed`` 0/1).

    Raises :class:`ScoringDataError` naming missing columns or unparseable dates, so a bad
    upload fails with a message rather than a pandas traceback.
    """
    config = config or FeatureConfig()
    missing = [c for c in EVENT_REQUIRED if c not in events.columns]
    if missing:
        raise ScoringDataError(
            f"event log is missing column(s): {', '.join(missing)}",
            message_zh=f"检查记录缺少列: {', '.join(missing)}",
        )
    out = events.copy()
    out["date"] = parse_dates(out["date"], "date")
    for col in SEVERITY_COLUMNS:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").fillna(0.0).astype(float)
        else:
            out[col] = 0.0
    if "failed" in out.columns:
        out["failed"] = out["failed"].astype(float).fillna(0.0)
    elif "result" in out.columns:
        out["failed"] = out["result"].isin(config.fail_results).astype(float)
    else:
        out["failed"] = 0.0
    if "result" not in out.columns:
        out["result"] = np.where(out["failed"] > 0, "Fail", "Pass")
    if "finding_weight" in out.columns:
        out = _weighted(out)
    return out


def _weighted(events: pd.DataFrame) -> pd.DataFrame:
    """Scale each event's finding counts by its ``finding_weight``: how much a finding
    counts given who found it (1 / the team's strictness, ``credit.data.finding_weights``),
    so a strict team's findings do not make an enterprise look riskier than a lenient
    team's would have.  The check itself and whether it failed still count whole."""
    weight = pd.to_numeric(events["finding_weight"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(weight) | (weight < 0)
    if bad.any():
        first, count = events["finding_weight"].iloc[int(np.flatnonzero(bad)[0])], int(bad.sum())
        raise ScoringDataError(
            f"finding_weight must be a number of at least 0 in every event; {count} "
            f"are not (first: {first!r})",
            message_zh=f"finding_weight 须为不小于0的数，有{count}条不是（首条：{first!r}）",
        )
    for column in WEIGHTED_COLUMNS:
        events[column] = events[column].to_numpy(dtype=float) * weight
    return events


def parse_dates(values: pd.Series, column: str) -> pd.Series:
    """Parse a date column; any unparseable non-empty value is an error naming examples.

    Dates with a UTC offset (``2014-09-02T10:00:00+08:00``) keep their local day, as
    recorded: converting to naive dates raised a TypeError traceback."""
    try:
        parsed = pd.to_datetime(values, errors="coerce")
    except (TypeError, ValueError):  # offsets of more than one time zone in the column
        raise ScoringDataError(
            f"column {column!r} mixes time zones; give its dates as YYYY-MM-DD",
            message_zh=f"列 {column!r} 的日期含多个时区，请以 YYYY-MM-DD 格式给出",
        ) from None
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    bad = parsed.isna() & values.notna()
    if bad.any() or parsed.isna().any():
        examples = values[parsed.isna()].astype(str).head(3).tolist()
        raise ScoringDataError(
            f"column {column!r} has unparseable or empty dates, e.g. {examples}",
            message_zh=f"列 {column!r} 含无法解析或为空的日期，例如 {examples}",
        )
    return parsed.dt.normalize().astype("datetime64[ns]")


def learn_vocabulary(
    frame: pd.DataFrame, columns: Sequence[str], *, min_count: int = 1
) -> dict[str, tuple[str, ...]]:
    """Category vocabularies for ``columns`` (sorted, values seen ≥ ``min_count`` times).

    Learned once on training rows and persisted, so codes mean the same at scoring time.
    """
    vocab: dict[str, tuple[str, ...]] = {}
    for col in columns:
        if col not in frame.columns:
            continue
        counts = frame[col].dropna().astype(str).value_counts()
        vocab[col] = tuple(sorted(counts[counts >= min_count].index))
    return vocab


def encode_categoricals(
    frame: pd.DataFrame, vocabulary: Mapping[str, Sequence[str]], unseen: float = UNSEEN
) -> pd.DataFrame:
    """Replace each vocabulary column by its integer code: a missing value → NaN, a value
    the vocabulary does not hold → :data:`UNSEEN`.  The two differ to the scorecard: a
    region or sector first seen after training is *some* category, and belongs in its
    "other" bin with the rare ones, not in the missing-value bin (neutral when training
    had no missing values).  The trees treat a negative category code as missing and the
    ensemble's linear member imputes missing codes as -1, so neither sees a difference
    (a variable of over 255 categories, which the trees take as a number, sees the code
    sort before every other).  ``unseen``: another code for them (NaN for a model stored
    before they had one, :attr:`FeatureConfig.unseen`)."""
    out = frame.copy()
    for col, values in vocabulary.items():
        if col not in out.columns:
            continue
        mapping = {v: float(i) for i, v in enumerate(values)}
        out[col] = _codes(out[col], mapping, unseen)
    return out


def _codes(column: pd.Series, mapping: Mapping[str, float], unseen: float = UNSEEN) -> np.ndarray:
    """``mapping[str(v)]`` per value (missing → NaN, unknown → :data:`UNSEEN`), looked up
    once per distinct value: a million rows hold a few dozen regions or sectors, and a
    lambda per row was most of the feature time (measured: 2.5 of 4 s for 200,000
    enterprises).  Distinct values are found by hashing, so when they are not all text
    (``1`` and ``1.0`` are equal but print differently) each value is looked up on its
    own instead."""
    values = column.astype("object").to_numpy()
    present = pd.notna(values)
    codes = np.full(len(values), np.nan)
    if not present.any():
        return codes
    kept = values[present]
    positions, uniques = pd.factorize(kept)
    if all(isinstance(u, str) for u in uniques):
        table = np.array([mapping.get(u, unseen) for u in uniques], dtype=float)
        codes[present] = table[positions]
    else:
        codes[present] = [mapping.get(str(v), unseen) for v in kept]
    return codes


def build_features(
    events: pd.DataFrame,
    rows: pd.DataFrame,
    enterprises: pd.DataFrame | None = None,
    config: FeatureConfig | None = None,
    facts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features for each scoring row, from events strictly before the row's ``as_of``.

    ``rows`` needs ``enterprise_id`` and ``as_of``; an optional ``history_cutoff`` column
    further limits history to events before it (used to score a whole window from what was
    known at its start).  Other numeric columns of ``rows`` (context such as weather or
    complaint density) pass through; categorical columns named in ``config.categorical``
    (from ``rows`` or ``enterprises``) are kept as text, or encoded when ``config.vocabulary``
    is set.  ``facts`` (long form, :data:`FACT_COLUMNS`; default: the event-log columns
    named in ``config.facts``) obey the same cut-off as the events.  The result is indexed
    like ``rows``.
    """
    config = config or FeatureConfig()
    ev = prepare_events(events, config)
    for col in ("enterprise_id", "as_of"):
        if col not in rows.columns:
            raise ScoringDataError(
                f"scoring rows are missing column {col!r}",
                message_zh=f"评分行缺少列 {col!r}",
            )
    r = rows.copy()
    r["as_of"] = parse_dates(r["as_of"], "as_of")
    limit = r["as_of"]
    if "history_cutoff" in r.columns:
        cutoff = parse_dates(r["history_cutoff"], "history_cutoff")
        limit = limit.where(limit <= cutoff, cutoff)
    key = pd.DataFrame(
        {
            "_row": np.arange(len(r)),
            "enterprise_id": r["enterprise_id"].to_numpy(),
            "_as_of": r["as_of"].to_numpy(),
            "_limit": limit.to_numpy(),
        }
    )
    ev_cols = ["enterprise_id", "date", *SEVERITY_COLUMNS, "failed", "result"]
    if "inspection_id" in ev.columns and pd.api.types.is_numeric_dtype(ev["inspection_id"]):
        ev_cols.append("inspection_id")  # the last tie-breaker of the last event
    pairs = key.merge(ev[ev_cols], on="enterprise_id", how="inner")
    pairs = pairs[pairs["date"] < pairs["_limit"]]
    age = (pairs["_as_of"] - pairs["date"]).dt.days.to_numpy(dtype=float)

    hist = pd.DataFrame(index=pd.RangeIndex(len(r)))
    grouped = pairs.groupby("_row", sort=False)
    hist["n_prior"] = grouped.size().reindex(hist.index, fill_value=0).astype(float)
    hist["has_history"] = (hist["n_prior"] > 0).astype(float)
    last_date = grouped["date"].max().reindex(hist.index)
    hist["days_since_last"] = (r["as_of"].reset_index(drop=True) - last_date).dt.days.astype(float)
    values = {
        "critical": pairs["critical_count"].to_numpy(dtype=float),
        "serious": pairs["serious_count"].to_numpy(dtype=float),
        "minor": pairs["minor_count"].to_numpy(dtype=float),
        "failed": pairs["failed"].to_numpy(dtype=float),
        "inspections": np.ones(len(pairs)),
    }
    for h in config.half_lives_days:
        weight = np.exp2(-age / h)
        tag = _hl_tag(h)
        sums = pd.DataFrame({name: v * weight for name, v in values.items()})
        sums["_row"] = pairs["_row"].to_numpy()
        agg = sums.groupby("_row").sum().reindex(hist.index, fill_value=0.0)
        for name in values:
            hist[f"decay_{name}_{tag}"] = agg[name].to_numpy()
    # last event before the limit: the latest date, ties broken by the larger count row
    rows_with, at = _last_events(pairs)
    for name, column in (("last_critical", "critical_count"), ("last_serious", "serious_count"),
                         ("last_minor", "minor_count"), ("last_failed", "failed")):  # fmt: skip
        values = np.full(len(hist), np.nan)
        values[rows_with] = pairs[column].to_numpy(dtype=float)[at]
        hist[name] = values
    results = np.full(len(hist), np.nan, dtype=object)
    results[rows_with] = pairs["result"].astype("object").to_numpy()[at]
    hist["last_result"] = results
    if config.facts:
        if facts is None:
            facts = facts_from_events(ev, config.facts)
        hist = pd.concat([hist, _fact_sums(facts, key, config)], axis=1)
    if config.area:
        hist["area_critical_rate"] = _area_rates(ev, key, enterprises, config)
    hist.index = r.index

    out = hist
    extra = _row_extras(r, config)
    if len(extra.columns):
        out = pd.concat([out, extra], axis=1)
    if enterprises is not None:
        ent = _enterprise_attributes(enterprises, config)
        attrs = (
            r[["enterprise_id"]]
            .merge(ent, on="enterprise_id", how="left")
            .drop(columns="enterprise_id")
        )
        attrs.index = r.index
        out = pd.concat([out, attrs.loc[:, ~attrs.columns.isin(out.columns)]], axis=1)
    if config.vocabulary:
        out = encode_categoricals(out, config.vocabulary, config.unseen)
    return out


def _fact_sums(facts: pd.DataFrame, key: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """Per row and fact: decayed sums of the fact's values dated before the row's limit
    (zero when there are none).  Facts are few (most results have none), so this joins
    the rows to them, not to every event."""
    names = fact_feature_names(config)
    out = pd.DataFrame(0.0, index=pd.RangeIndex(len(key)), columns=names)
    wanted = facts[facts["fact"].isin(config.facts)]
    if wanted.empty or key.empty:
        return out
    wanted = wanted.assign(date=parse_dates(wanted["date"], "date"))
    pairs = key.merge(wanted[list(FACT_COLUMNS)], on="enterprise_id", how="inner")
    pairs = pairs[pairs["date"] < pairs["_limit"]]
    if pairs.empty:
        return out
    age = (pairs["_as_of"] - pairs["date"]).dt.days.to_numpy(dtype=float)
    value = pairs["value"].to_numpy(dtype=float)
    row = pairs["_row"].to_numpy()
    fact = pairs["fact"].to_numpy()
    for h in config.half_lives_days:
        tag = _hl_tag(h)
        sums = (
            pd.DataFrame({"_row": row, "fact": fact, "v": value * np.exp2(-age / h)})
            .groupby(["_row", "fact"])["v"]
            .sum()
        )
        for name in config.facts:
            if name in sums.index.get_level_values("fact"):
                part = sums.xs(name, level="fact")
                out.loc[part.index, f"{name}_{tag}"] = part.to_numpy()
    return out


def _area_rates(
    ev: pd.DataFrame, key: pd.DataFrame, enterprises: pd.DataFrame | None, config: FeatureConfig
) -> np.ndarray:
    """Per row: the decayed share of past inspections in its enterprise's area (events
    before the row's limit only) with a critical finding, shrunk toward the city-wide
    share before the same limit; NaN when the area is unknown or nothing came before.

    Decayed sums before a limit are differences of cumulative sums of ``2**(t / h)``
    (``t`` in days from the first event), one sorted pass per area instead of joining
    every row to every event of its area; float64 holds ``2**(t / h)`` for spans up to
    about 1,000 half-lives."""
    out = np.full(len(key), np.nan)
    if enterprises is None or config.area not in enterprises.columns or ev.empty:
        return out
    areas = enterprises.drop_duplicates("enterprise_id", keep="last").set_index("enterprise_id")[
        config.area
    ]
    ev_area = ev["enterprise_id"].map(areas).to_numpy(dtype=object)
    row_area = key["enterprise_id"].map(areas).to_numpy(dtype=object)
    origin = ev["date"].min()
    h = config.area_half_life_days
    t_event = (ev["date"] - origin).dt.days.to_numpy(dtype=float)
    t_limit = (key["_limit"] - origin).dt.days.to_numpy(dtype=float)
    t_as_of = (key["_as_of"] - origin).dt.days.to_numpy(dtype=float)
    critical = (ev["critical_count"].to_numpy(dtype=float) > 0).astype(float)

    def decayed(select: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decayed (critical, inspections) of the selected events before each row's limit."""
        order = np.argsort(t_event[select], kind="stable")
        t = t_event[select][order]
        weight = np.exp2(t / h)
        found = np.concatenate([[0.0], np.cumsum(critical[select][order] * weight)])
        seen = np.concatenate([[0.0], np.cumsum(weight)])
        k = np.searchsorted(t, t_limit[rows], side="left")
        scale = np.exp2(-t_as_of[rows] / h)
        return found[k] * scale, seen[k] * scale

    everywhere = np.ones(len(ev), dtype=bool)
    city_found, city_seen = decayed(everywhere, np.arange(len(key)))
    # no inspection anywhere before the limit: no share to shrink toward, the rate is unknown
    city = np.divide(city_found, city_seen, out=np.full(len(key), np.nan), where=city_seen > 0)
    known = pd.notna(row_area)
    for area in pd.unique(row_area[known]):
        rows = np.flatnonzero(row_area == area)
        found, seen = decayed(ev_area == area, rows)
        out[rows] = (found + AREA_PRIOR * city[rows]) / (seen + AREA_PRIOR)
    return out


def _last_events(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per ``_row`` that has events: the position in ``pairs`` of its last event — the
    greatest (date, critical_count, serious_count, inspection_id), and of equal ones the
    latest in ``pairs``, which is what a stable sort on those keys keeping the last row
    gives.  ``inspection_id`` (when the log has a numeric one: the database's result id)
    makes the answer independent of the order rows were read in; without it two events
    of one day with equal counts are told apart by their order in the log.

    Narrowed key by key (a running maximum over the candidates left) instead of sorting
    every pair on four keys and carrying all its columns along."""
    row = pairs["_row"].to_numpy(dtype=np.int64)
    n = int(row.max()) + 1 if len(row) else 0
    candidate = np.arange(len(pairs))
    keys = ["date", "critical_count", "serious_count"]
    if "inspection_id" in pairs.columns:
        keys.append("inspection_id")
    for column in keys:
        values = pairs[column].to_numpy()
        values = values.view("i8") if values.dtype.kind == "M" else values.astype(float)
        values = values[candidate]
        best = np.full(n, -np.inf if values.dtype.kind == "f" else np.iinfo(np.int64).min,
                       dtype=values.dtype)  # fmt: skip
        np.maximum.at(best, row[candidate], values)
        candidate = candidate[values == best[row[candidate]]]
    last = np.full(n, -1)
    np.maximum.at(last, row[candidate], candidate)
    rows_with = np.flatnonzero(last >= 0)
    return rows_with, last[rows_with]


def _row_extras(rows: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """Numeric context columns of the scoring rows, plus categorical row columns."""
    cols: list[str] = []
    for col in rows.columns:
        if col in RESERVED_COLUMNS and col not in config.categorical:
            continue
        if col in config.categorical:
            cols.append(col)
        elif config.passthrough is None:
            if pd.api.types.is_numeric_dtype(rows[col]) or pd.api.types.is_bool_dtype(rows[col]):
                cols.append(col)
        elif col in config.passthrough:
            cols.append(col)
    out = rows[cols].copy()
    for col in cols:
        if col not in config.categorical:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out


def _enterprise_attributes(enterprises: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """Enterprise attributes: categorical columns as text, numeric ones as floats."""
    if "enterprise_id" not in enterprises.columns:
        raise ScoringDataError(
            "enterprise table is missing column 'enterprise_id'",
            message_zh="企业表缺少列 'enterprise_id'",
        )
    ent = enterprises.drop_duplicates("enterprise_id", keep="last")
    keep = ["enterprise_id"]
    for col in ent.columns:
        if col == "enterprise_id" or (col in RESERVED_COLUMNS and col not in config.categorical):
            continue
        if (
            col in config.categorical
            or (config.passthrough is None and pd.api.types.is_numeric_dtype(ent[col]))
            or (config.passthrough is not None and col in config.passthrough)
        ):
            keep.append(col)
    return ent[keep]
