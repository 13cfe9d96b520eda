"""Training and running the credit-risk models over the database.

The estimators live in ``scoring/`` (pure: frames in, arrays out); this module gathers
frames from the records (:mod:`inspect_core.credit.data`), stores fitted models with
their version, window, features and metrics, and writes each rescoring as a run of
ratings.  Tiers come from configurable score cut-offs, with the overrides the rules
require (serious-dishonesty list → D, no history → B) recorded as reasons.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspect_core.audit.service import record as audit
from inspect_core.credit import data
from inspect_core.credit.models import (
    CREDIT_EVENT_TYPES,
    CreditRating,
    ScoringModel,
    ScoringRun,
)
from inspect_core.db import utcnow
from inspect_core.errors import Conflict, Unprocessable

Progress = Callable[[str, int, int], None]
#: the tiers a rating may have (scoring.tiers.TIERS)
_TIERS = frozenset(("A", "B", "C", "D"))


@dataclass
class Frames:
    rows: pd.DataFrame  # enterprise_id, as_of
    X: pd.DataFrame
    y: np.ndarray | None
    serious_dishonesty: np.ndarray
    has_history: np.ndarray


def _features(
    session: Session, rows: pd.DataFrame, events: pd.DataFrame, config: Any, facts: pd.DataFrame
) -> pd.DataFrame:
    from scoring.features import build_features

    as_of = pd.to_datetime(rows["as_of"]).max().date()
    enterprises = data.enterprises_frame(session, as_of)
    X = build_features(events, rows, enterprises, config, facts)
    credit = data.credit_features(session, rows.reset_index(drop=True))
    X = pd.concat([X.reset_index(drop=True), credit.reset_index(drop=True)], axis=1)
    return X


def training_frames(
    session: Session,
    until: dt.date,
    window_days: int,
    config: Any,
    facts: pd.DataFrame | None = None,
    weights: pd.Series | None = None,
    events: pd.DataFrame | None = None,
) -> Frames:
    """One row per judged inspection in the window: label = a critical or major finding.
    ``facts``, ``events``: :func:`data.facts_frame`, :func:`data.events_frame`, when
    already read; ``weights``: how much each result's findings count in the history
    features (:func:`data.finding_weights`; the labels count whole)."""
    events = data.events_frame(session) if events is None else events
    facts = data.facts_frame(session) if facts is None else facts
    start = pd.Timestamp(until - dt.timedelta(days=window_days))
    mask = (events["date"] >= start) & (events["date"] < pd.Timestamp(until))
    inspections = events[mask].reset_index(drop=True)
    if inspections.empty:
        raise Unprocessable(
            "no judged results in the training window",
            {"window": [f"no judged results from {start.date()} to {until}"]},
            message_zh="训练期内没有已判定的检查结果",
        )
    y = ((inspections["critical_count"] + inspections["serious_count"]) > 0).to_numpy(int)
    events = data.with_finding_weights(events, weights)
    if y.sum() == 0 or y.sum() == len(y):
        raise Unprocessable(
            "the training window needs inspections with and without critical or major findings",
            {"window": [f"{int(y.sum())} positives of {len(y)}"]},
            message_zh="训练期内须既有发现严重或主要问题的检查，也有未发现的检查",
        )
    rows = pd.DataFrame(
        {"enterprise_id": inspections["enterprise_id"], "as_of": inspections["date"]}
    )
    X = _features(session, rows, events, config, facts)
    # after the features: the result's id (which finds its inspectors) is not one
    rows["inspection_id"] = inspections["inspection_id"].to_numpy()
    return Frames(rows, X, y, X["serious_dishonesty"].to_numpy(), X["has_history"].to_numpy())


@dataclass
class ScoringInputs:
    """What rescoring reads, once; features are then built chunk by chunk of rows."""

    rows: pd.DataFrame  # enterprise_id, as_of: every enterprise
    events: pd.DataFrame  # sorted by enterprise_id, each enterprise's events in read order
    event_ids: np.ndarray  # events["enterprise_id"], for slicing
    enterprises: pd.DataFrame
    credit: pd.DataFrame
    facts: pd.DataFrame  # long form, sorted by enterprise_id
    fact_ids: np.ndarray  # facts["enterprise_id"], for slicing


def scoring_inputs(
    session: Session, as_of: dt.date, strictness: dict[str, float] | None = None
) -> ScoringInputs:
    """Every enterprise on ``as_of``, and everything recorded about them; with
    ``strictness`` (badge → the model's, its ``team_strictness``), each result's
    findings weighed by its team's (:func:`data.finding_weights`)."""
    events = data.events_frame(session, sector=False, teams=bool(strictness))
    if strictness:
        weights = data.finding_weights(session, strictness, events, as_of)
        events = data.with_finding_weights(events, weights)
    by_enterprise = np.argsort(events["enterprise_id"].to_numpy(), kind="stable")
    events = events.iloc[by_enterprise].reset_index(drop=True)
    enterprises = data.enterprises_frame(session, as_of)  # one row per enterprise
    ids = enterprises["enterprise_id"].to_numpy()
    rows = pd.DataFrame({"enterprise_id": ids, "as_of": pd.Timestamp(as_of)})
    facts = data.facts_frame(session)
    return ScoringInputs(
        rows=rows,
        events=events,
        event_ids=events["enterprise_id"].to_numpy(),
        enterprises=enterprises,
        credit=data.credit_frame(session),
        facts=facts,
        fact_ids=facts["enterprise_id"].to_numpy(),
    )


def chunk_features(
    session: Session, inputs: ScoringInputs, start: int, stop: int, config: Any
) -> pd.DataFrame:
    """Features of ``inputs.rows[start:stop]``, from their own enterprises' records only:
    each row's features depend on nothing else, so chunks give what one pass would."""
    from scoring.features import build_features

    rows = inputs.rows.iloc[start:stop].reset_index(drop=True)
    ids = rows["enterprise_id"].to_numpy()
    lo = np.searchsorted(inputs.event_ids, ids, side="left")
    hi = np.searchsorted(inputs.event_ids, ids, side="right")
    counts = hi - lo
    # positions lo[k] … hi[k]-1 for every row k, concatenated
    positions = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    events = inputs.events.iloc[positions]
    enterprises = inputs.enterprises[inputs.enterprises["enterprise_id"].isin(ids)]
    facts = inputs.facts
    if config.facts and len(facts) and len(ids):  # this chunk's enterprises' facts
        lo = np.searchsorted(inputs.fact_ids, ids.min(), side="left")
        hi = np.searchsorted(inputs.fact_ids, ids.max(), side="right")
        facts = facts.iloc[lo:hi]
        facts = facts[facts["enterprise_id"].isin(ids)]
    X = build_features(events, rows, enterprises, config, facts)
    credit = data.credit_features(session, rows, inputs.credit)
    return pd.concat([X.reset_index(drop=True), credit.reset_index(drop=True)], axis=1)


def population_matrix(
    session: Session,
    as_of: dt.date,
    config: Any,
    features: list[str],
    strictness: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The model's columns for every enterprise on ``as_of``, built as a run builds them
    (:func:`run`): the population a run's PSI is measured against; and per enterprise
    whether its score will set its tier (it has a record and no override,
    :func:`scoring.tiers.assign`)."""
    from scoring.scorecard import feature_matrix

    inputs = scoring_inputs(session, as_of, strictness)
    parts, by_score = [], []
    for start in range(0, len(inputs.rows), WRITE_CHUNK):
        chunk = chunk_features(
            session, inputs, start, min(start + WRITE_CHUNK, len(inputs.rows)), config
        )
        parts.append(feature_matrix(chunk, features))
        by_score.append(
            (chunk["has_history"].to_numpy() > 0) & ~(chunk["serious_dishonesty"].to_numpy() > 0)
        )
    if not parts:
        return pd.DataFrame(columns=features, dtype=float), np.zeros(0, dtype=bool)
    return pd.concat(parts, ignore_index=True).astype(float), np.concatenate(by_score)


#: reason-code texts by feature-name prefix: zh-CN and English templates, where ``{v}`` is
#: the row's value (as the range of its scorecard bin, :func:`bin_text`), ``{h}`` a
#: decayed count's half-life in days and ``{g}`` what the count means in days
#: (:func:`_decay_gloss`), and whether the feature counts something adverse.
#: A text states the row's value and claims no
#: direction the scorecard may not have (its bins need not be monotonic: an enterprise
#: with no minor finding at its last check could lose points for it); an adverse count is
#: a reason only where the row has some of it, more than the variable's best bin
#: (:func:`reason_eligible`).  Each half-life has its own text, so no two reasons of a row
#: read the same.
FEATURE_LABELS: tuple[tuple[str, str, str, bool], ...] = (
    ("decay_critical", "严重问题{v}次（按时间远近加权：每{h}天权重减半{g}）",
     "Critical findings, weighted by recency (weight halves every {h} days{g}): {v}", True),
    ("decay_serious", "主要问题{v}次（按时间远近加权：每{h}天权重减半{g}）",
     "Major findings, weighted by recency (weight halves every {h} days{g}): {v}", True),
    ("decay_minor", "一般问题{v}次（按时间远近加权：每{h}天权重减半{g}）",
     "Minor findings, weighted by recency (weight halves every {h} days{g}): {v}", True),
    ("decay_failed", "抽检/检查不合格{v}次（按时间远近加权：每{h}天权重减半{g}）",
     "Failed checks, weighted by recency (weight halves every {h} days{g}): {v}", True),
    ("decay_inspections", "检查{v}次（按时间远近加权：每{h}天权重减半{g}）",
     "Checks, weighted by recency (weight halves every {h} days{g}): {v}", False),
    ("last_critical", "上次检查发现严重问题{v}项", "Critical findings at the last check: {v}",
     True),
    ("last_serious", "上次检查发现主要问题{v}项", "Major findings at the last check: {v}", True),
    ("last_minor", "上次检查发现一般问题{v}项", "Minor findings at the last check: {v}", True),
    ("last_failed", "上次检查不合格", "Failed the last check", True),
    ("last_result", "上次检查结论：{v}", "Outcome of the last check: {v}", False),
    ("days_since_last", "距上次检查{v}天", "Days since the last check: {v}", False),
    ("n_prior", "历史检查{v}次", "Past checks: {v}", False),
    ("has_history", "检查记录情况", "Inspection history", False),
    ("credit_serious_dishonesty", "严重违法失信名单记录{v}条",
     "Serious-dishonesty list entries in force: {v}", True),
    ("credit_abnormal_operations", "经营异常名录记录{v}条",
     "Abnormal-operations list entries in force: {v}", True),
    ("credit_penalty", "有效行政处罚{v}项", "Administrative penalties in force: {v}", True),
    ("credit_complaint", "有效投诉举报{v}件", "Complaints in force: {v}", True),
    ("credit_recall", "有效产品召回记录{v}次", "Recalls in force: {v}", True),
    ("credit_incident", "质量安全事故{v}起", "Quality or safety incidents in force: {v}", True),
    ("credit_certification", "有效质量管理体系认证{v}项",
     "Quality-system certifications in force: {v}", False),
    ("credit_quality_award", "有效质量奖{v}项", "Quality awards in force: {v}", False),
    ("credit_negative", "不良信用记录{v}条", "Adverse credit records in force: {v}", True),
    ("credit_positive", "良好信用记录{v}条", "Positive credit records in force: {v}", False),
    ("serious_dishonesty", "列入严重违法失信名单", "On the serious-dishonesty list", True),
    ("business_age_years", "经营年限{v}年", "Years in business: {v}", False),
    ("area_critical_rate", "所在区域严重问题检出比例", "Share of critical findings in the area",
     False),
    ("sector", "所属行业：{v}", "Sector: {v}", False),
    ("region", "所在街镇：{v}", "Street or town: {v}", False),
    ("status", "经营状态：{v}", "Registration status: {v}", False),
)  # fmt: skip

#: a decayed count of a plugin's fact (``<fact>_<half-life>``): adverse, like the findings
FACT_TEMPLATE = (
    "{zh}{v}次（按时间远近加权：每{h}天权重减半{g}）",
    "{en}, weighted by recency (weight halves every {h} days{g}): {v}",
)


def _decay_gloss(low: float | None, half_life: str) -> tuple[str, str]:
    """What a decayed count's lower bound means, for a reader who does not think in
    half-lives: a count below one is as much as a single event of a certain age (one
    ``d`` days ago weighs ``2 ** (-d / h)``), so "≥0.07 with a 180-day half-life" reads
    "one about 690 days ago counts as 0.07".  Nothing for a bound shown as one or more
    (a count a reader takes as it is), zero, or "<0.01"."""
    if low is None or math.isnan(low) or not half_life or low < 0.005 or float(_shown(low)) >= 1:
        return "", ""
    days = float(half_life) * math.log2(1 / low)
    days = round(days, -1) if days >= 100 else max(round(days), 1)
    shown, unit = _shown(low), "day" if days == 1 else "days"
    return (
        f"，约{days:g}天前的1次计为{shown}次",
        f", so one about {days:g} {unit} ago counts as {shown}",
    )


def _shown(value: float) -> str:
    """A value as a reason text shows it: at most two decimals, never a false zero."""
    if value != value:  # NaN
        return "—"
    if 0 < abs(value) < 0.005:
        return "<0.01"
    return f"{round(value, 2):g}"


#: a decayed count's half-life tag, as ``scoring.features`` names it (``180d``, ``182.5d``,
#: ``1e+06d``): ``last_failed`` or ``credit_quality_award`` end in "d" but have none
_HALF_LIFE_TAG = re.compile(r"(\d+(?:\.\d+)?(?:e[+-]\d+)?)d")


def _template(feature: str, facts: dict[str, tuple[str, str]] | None) -> tuple[str, str, bool, str]:
    """zh-CN and English templates of a feature, whether it is adverse, its half-life
    ("" for none).  A plugin's fact is a feature only with a half-life (``<fact>_180d``):
    a fact named ``last`` does not make ``last_failed`` one."""
    stem, _, tag = feature.rpartition("_")
    tagged = _HALF_LIFE_TAG.fullmatch(tag)
    half_life = tagged[1] if tagged else ""
    fact = (facts or {}).get(stem) if half_life else None
    if fact is not None:
        keep = {"v": "{v}", "h": "{h}", "g": "{g}"}
        zh, en = (t.format(zh=fact[0], en=fact[1], **keep) for t in FACT_TEMPLATE)
        return zh, en, True, half_life
    for prefix, zh, en, adverse in FEATURE_LABELS:
        if feature.startswith(prefix):
            return zh, en, adverse, half_life
    return feature, feature, False, half_life


def label(
    feature: str,
    facts: dict[str, tuple[str, str]] | None = None,
    value: float | str | tuple[str, str] | None = None,
    low: float | None = None,
) -> tuple[str, str]:
    """zh-CN and English reason text of a feature with the row's ``value`` (a number,
    text such as a bin's range, :func:`bin_text`, or a (zh-CN, English) pair such as a
    sector's names); ``facts``: the plugins' declared facts (:func:`fact_labels`), whose
    features are ``<fact>_<half-life>``.  ``low``: the least value the text stands for
    (a bin's lower bound, :func:`bin_low`; a number ``value`` is its own), which a
    decayed count's text explains in days (:func:`_decay_gloss`)."""
    zh, en, _, half_life = _template(feature, facts)
    if isinstance(value, tuple):
        shown_zh, shown_en = value
    else:
        shown_zh = shown_en = (
            value if isinstance(value, str) else _shown(float("nan" if value is None else value))
        )
        if low is None and value is not None and not isinstance(value, str):
            low = float(value)
    gloss_zh, gloss_en = _decay_gloss(low, half_life) if "{g}" in zh else ("", "")
    return (
        zh.format(v=shown_zh, h=half_life, g=gloss_zh),
        en.format(v=shown_en, h=half_life, g=gloss_en),
    )


#: a last result's values in the event log (``scoring.features.prepare_events``)
RESULT_NAMES = {"Fail": ("不合格", "failed"), "Pass": ("合格", "passed")}


def category_names(feature: str, values: list[str]) -> list[tuple[str, str]]:
    """(zh-CN, English) names of a categorical feature's vocabulary, for reason texts:
    sectors as the catalogue names them, statuses and results in words, regions as
    registered (one name in both languages)."""
    from inspect_core.enterprises.models import STATUS_NAMES
    from inspect_core.sectors import catalogue

    if feature == "sector":
        sectors = catalogue()
        return [
            (sectors[v].name_zh, sectors[v].name_en) if v in sectors else (v, v) for v in values
        ]
    names = {"status": STATUS_NAMES, "last_result": RESULT_NAMES}.get(feature, {})
    return [names.get(v, (v, v)) for v in values]


def category_texts(scorecard: Any, vocabulary: dict[str, list[str]]) -> dict[int, list[Any]]:
    """Per categorical variable of the scorecard (by position): the (zh-CN, English) value a
    reason text shows for each of its bins — a category's names, "other", "—" for the
    missing-value bin.  A model saved before categories had bins of their own binned the
    codes by range, which names no category: its bins show "—"."""
    out: dict[int, list[Any]] = {}
    categorical = scorecard.is_categorical_
    for j, name in enumerate(scorecard.feature_names_):
        if name not in vocabulary:
            continue
        if not categorical[j]:
            out[j] = ["—"] * (len(scorecard.edges_[j]) + 2)
            continue
        names = category_names(name, list(vocabulary[name]))
        shown: list[Any] = [
            names[int(code)] if 0 <= int(code) < len(names) else ("其他", "other")
            for code in scorecard.edges_[j]
        ]
        out[j] = [*shown, ("其他", "other"), "—"]
    return out


#: features whose values are whole numbers (counts, days), shown as integer ranges
_WHOLE = ("days_since_last", "n_prior", "last_", "credit_")


def bin_text(feature: str, edges: np.ndarray, code: int, net: bool = False) -> str:
    """The range of a scorecard bin ``[lo, hi)`` as a reason text shows the row's value:
    every row in the bin has a value in it, so the text is true of each (the exact value
    would make nearly every row's reason list different, and building and storing one
    list per row was measured as the larger part of a run after the model).  Values are
    counts or durations, never negative.  In a net-of-inspector model (``net``) the
    finding counts are weighed (:data:`NET_FEATURES`), not whole: one minor finding of a
    lenient team can be 1.33, which "≥2" would misstate."""
    lo = bin_low(edges, code)
    if lo is None:
        return "—"  # the missing-value bin
    hi = float(edges[code]) if code < len(edges) else math.inf
    if feature.startswith(_WHOLE) and not (net and feature.startswith(NET_FEATURES)):
        first, last = math.ceil(lo), (math.ceil(hi) - 1 if math.isfinite(hi) else None)
        if last is None:
            return f"≥{first}" if first > 0 else "≥0"
        return str(first) if last <= first else f"{first}–{last}"
    if not math.isfinite(hi):
        return f"≥{_shown(lo)}"
    return f"{_shown(lo)}–{_shown(hi)}"


def bin_low(edges: np.ndarray, code: int) -> float | None:
    """The least value of scorecard bin ``code`` (values are never negative); None for
    the missing-value bin."""
    bounds = [-np.inf, *np.asarray(edges, dtype=float).tolist(), np.inf]
    if code < 0 or code >= len(bounds) - 1:
        return None
    return max(bounds[code], 0.0)


def bin_shown(
    feature: str,
    j: int,
    code: int,
    edges: list[np.ndarray],
    categories: dict[int, list[Any]] | None,
    net: bool = False,
) -> Any:
    """What a reason text shows for bin ``code`` of variable ``j``: its category
    (``categories``: :func:`category_texts`) or its range (:func:`bin_text`; "—" for the
    missing-value bin)."""
    if categories and j in categories and code >= 0:
        return categories[j][code]
    return bin_text(feature, edges[j], code, net)


def bin_label(
    feature: str,
    j: int,
    code: int,
    edges: list[np.ndarray],
    categories: dict[int, list[Any]] | None,
    facts: dict[str, tuple[str, str]] | None,
    net: bool = False,
) -> tuple[str, str]:
    """zh-CN and English reason text of bin ``code`` of variable ``j``: true of every row
    in the bin (:func:`bin_shown`), a decayed count's bound explained in days, and in a
    net-of-inspector model (``net``) a weighed count said to be so (:func:`net_label`)."""
    shown = bin_shown(feature, j, code, edges, categories, net)
    low = None if isinstance(shown, tuple) else bin_low(edges[j], code)
    return net_label(feature, label(feature, facts, shown, low), net)


#: the variables a net-of-inspector model counts findings in weighed by who found them
#: (``scoring.features.WEIGHTED_COLUMNS``), and what their texts then add
NET_FEATURES = ("decay_critical", "decay_serious", "decay_minor",
                "last_critical", "last_serious", "last_minor")  # fmt: skip
NET_NOTE = (
    "（已按检查组宽严程度折算）",
    " (each weighed by the strictness of the team that found it)",
)


def net_label(feature: str, texts: tuple[str, str], net: bool) -> tuple[str, str]:
    """A reason text of ``feature`` saying, in a net-of-inspector model (``net``), that the
    findings behind it were weighed by the strictness of the team that made them, so a
    regulator reading "major findings ≥0.77" for one finding knows why."""
    if not net or not feature.startswith(NET_FEATURES):
        return texts
    return texts[0] + NET_NOTE[0], texts[1] + NET_NOTE[1]


def reason_eligible(
    names: list[str], values: np.ndarray, bins: np.ndarray, best: np.ndarray
) -> np.ndarray:
    """Rows × variables: may the variable be given as the row's reason?  An adverse count
    only where the row has some (> 0) and sits in a higher bin than the best one (more of
    it than the best-scoring values); a neutral variable whenever it cost points, its text
    stating the row's value (not when that is missing: no true text).
    ``bins``/``best``: :meth:`Scorecard.bins`, :meth:`Scorecard.best_bins` (``finite=True``)."""
    facts = fact_labels()
    adverse = np.array([_template(name, facts)[2] for name in names], dtype=bool)
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        more = (values > 0) & (bins > best[None, :])
    return np.where(adverse[None, :], more, ~np.isnan(values) | ~_has_value(names, facts))


def reason_families(names: list[str]) -> list[str]:
    """Per variable, what it measures: a time-decayed count's name with ``*`` for its
    half-life (``failed_180d`` and ``failed_730d`` both ``failed_*``), else its own name.
    A row's reasons name each family once (:meth:`Scorecard.explain`): the demo's riskiest
    enterprise had two of its three reasons saying "a failed check within two years".
    No variable's name holds a ``*``, so a count is never one thing with the variable its
    stem names: a plugin's fact ``n_prior`` (``n_prior_180d``) is not the past checks.

    The credit record's counts are two families: the adverse (each negative type, their
    total ``credit_negative`` and the serious-dishonesty flag) and the positive
    (certifications, awards, ``credit_positive``).  A total counts its parts again: the
    demo's enterprises with a penalty read "adverse credit records ≥1" and
    "administrative penalties ≥1" (110 of 3,000), and 2,519 spent two of three reasons
    on having no certification ("quality-system certifications 0", "positive credit
    records 0")."""
    out = []
    for name in names:
        stem, _, tag = name.rpartition("_")
        if stem and _HALF_LIFE_TAG.fullmatch(tag):
            out.append(f"{stem}_*")
        else:
            out.append(_CREDIT_FAMILIES.get(name, name))
    return out


#: the credit variables (:func:`inspect_core.credit.data.credit_features`) by family
_CREDIT_FAMILIES: dict[str, str] = {
    **{
        f"credit_{kind}": "credit_negative" if spec[2] > 0 else "credit_positive"
        for kind, spec in CREDIT_EVENT_TYPES.items()
    },
    "serious_dishonesty": "credit_negative",
}


def _has_value(names: list[str], facts: dict[str, tuple[str, str]]) -> np.ndarray:
    """Per variable, whether its text shows the value (a missing value then has no
    true text: the no-history override speaks for it)."""
    return np.array(["{v}" in _template(name, facts)[0] for name in names], dtype=bool)[None, :]


def fact_labels() -> dict[str, tuple[str, str]]:
    """Every fact the sector plugins declare (``Sector.facts``): name → (zh-CN, English)."""
    from inspect_core.plugin_manager import get_pm, sector_owners

    return {
        fact.name: (fact.description_zh, fact.description_en)
        for _, sector in sector_owners(get_pm()).values()
        for fact in sector.facts
    }


def feature_config() -> Any:
    from scoring.features import FeatureConfig

    return FeatureConfig(categorical=("sector", "region", "status", "last_result"))


def _encode(X: pd.DataFrame, vocabulary: dict[str, Any]) -> pd.DataFrame:
    from scoring.features import encode_categoricals

    return encode_categoricals(X, vocabulary)


def _varying(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The numeric columns that vary, as floats, and their names: an all-missing or
    constant column carries no information."""
    features = [
        c
        for c in X.columns
        if pd.api.types.is_numeric_dtype(X[c])
        and X[c].notna().any()
        and (X[c].nunique(dropna=True) > 1 or X[c].isna().any())
    ]
    return X[features].astype(float), features


def inspector_metrics(
    session: Session,
    frames: Frames,
    y: np.ndarray,
    predicted: np.ndarray,
    window: tuple[dt.date, dt.date],
) -> list[dict[str, Any]]:
    """Each inspector's visits, findings, expected findings (``predicted``: out-of-fold
    enterprise-only probabilities of the training rows) and strictness, with the counts per
    region for users scoped to some (see the API view).  A result counts for every member
    of the team on its task (:data:`data.TEAMS_SQL`); partners are drawn at random too, so
    a strict partner only dilutes the estimate, toward 1."""
    from scoring.inspectors import breakdown, effects

    regions = frames.X["region"].to_numpy() if "region" in frames.X else None
    rows = pd.DataFrame(
        {"inspection_id": frames.rows["inspection_id"].to_numpy(), "y": y, "p": predicted,
         "region": regions}
    )  # fmt: skip
    visits = data.teams_frame(session, *window).merge(rows, on="inspection_id")
    if visits.empty:
        return []
    badges, found, expected = (visits[c].to_numpy() for c in ("badge", "y", "p"))
    strictness = effects(badges, found, expected)
    by_region: dict[str, dict[str, list[float]]] = {}
    split = breakdown(badges, visits["region"].to_numpy(), found, expected)
    for r in split.itertuples():
        by_region.setdefault(str(r.inspector), {})[str(r.group)] = [
            int(r.visits), int(r.found), round(float(r.expected), 4)
        ]  # fmt: skip
    names = visits.drop_duplicates("badge").set_index("badge")["name"]
    return [
        {"inspector": str(r.inspector), "name": str(names[r.inspector]), "visits": int(r.visits),
         "found": int(r.found), "expected": round(float(r.expected), 2),
         "strictness": round(float(r.strictness), 3),
         "regions": by_region.get(str(r.inspector), {})}
        for r in strictness.itertuples()
    ]  # fmt: skip


def metrics_line(metrics: dict[str, Any]) -> str:
    """A model's metrics for a terminal: the figures, and how many inspectors were rated
    (the per-inspector, per-region table is the API's, ``/scoring/inspector-effects``)."""
    shown = {k: v for k, v in metrics.items() if k != "inspectors"}
    return f"{shown} inspectors rated: {len(metrics.get('inspectors', []))}"


def train(session: Session, user: Any, until: dt.date, window_days: int = 3 * 365) -> ScoringModel:
    """Fit the scorecard and the ML model on judged results before ``until``; store them.

    AUCs are measured on the latest fifth of the window (fitted on the rest), then both
    models are refitted on the whole window.
    """
    from sklearn.metrics import roc_auc_score

    from scoring import monitoring
    from scoring.features import learn_vocabulary
    from scoring.model import RiskModel
    from scoring.persistence import ModelBundle, dumps
    from scoring.scorecard import Scorecard
    from scoring.tiers import check_shares, cutoffs_for_shares

    facts = data.facts_frame(session)
    # every fact some plugin recorded becomes a feature; one never seen in the window is
    # constant (zero) and dropped below
    config = replace(feature_config(), facts=tuple(sorted(facts["fact"].unique())))
    # read once: a net model builds features twice, the second time with each finding
    # weighed by its team (whose task and recording time the events then carry)
    net = bool(current_app.config.get("SCORING_NET_OF_INSPECTOR", True))
    events = data.events_frame(session, teams=net)
    frames = training_frames(session, until, window_days, config, facts, events=events)
    vocabulary = learn_vocabulary(frames.X, config.categorical)
    X, features = _varying(_encode(frames.X, vocabulary))
    y = frames.y
    # category codes (sector, region, ...) have no order: the scorecard gives each category
    # its own bin, the trees split them as sets (at most 255 categories, their limit; the
    # model splits a column of more as numbers, an unseen category on the missing side)
    categorical = [c for c in features if c in config.categorical]
    # the scorecard's significance level: a variable whose bins differ by chance is left out
    alpha = current_app.config.get("SCORECARD_ALPHA")

    def scorecard_model() -> Scorecard:
        return Scorecard(categorical_features=categorical, random_state=0, alpha=alpha)

    def ml_model() -> RiskModel:
        # one calibrated model, not the average of three: a rescore walks a third of the
        # trees (holdout AUC and Brier score unchanged on the 1M-enterprise bench district)
        return RiskModel(categorical_features=categorical, random_state=0, ensemble=False)

    # inspector strictness against out-of-fold enterprise-only predictions
    from sklearn.model_selection import cross_val_predict

    folds = max(2, min(5, int(min(y.sum(), len(y) - y.sum()))))
    oof = cross_val_predict(scorecard_model(), X, y, cv=folds, method="predict_proba")[:, 1]
    start = until - dt.timedelta(days=window_days)
    inspectors = inspector_metrics(session, frames, y, oof, (start, until))
    # the models learn from history net of the inspector: each finding weighed by the
    # strictness of the team that made it (issue #5), the labels left whole (who visits
    # next is drawn at random, so it is noise there, not bias)
    strictness = None
    if inspectors and net:
        strictness = {item["inspector"]: item["strictness"] for item in inspectors}
        weights = data.finding_weights(session, strictness, events, until)
        frames = training_frames(session, until, window_days, config, facts, weights, events)
        X, features = _varying(_encode(frames.X, vocabulary))
        categorical = [c for c in features if c in config.categorical]
    order = np.argsort(frames.rows["as_of"].to_numpy(), kind="stable")
    cut = int(len(order) * 0.8)
    metrics: dict[str, Any] = {"rows": int(len(y)), "positives": int(y.sum())}
    train_idx, test_idx = order[:cut], order[cut:]
    if len(np.unique(y[train_idx])) == 2 and len(np.unique(y[test_idx])) == 2:
        sc = scorecard_model().fit(X.iloc[train_idx], y[train_idx])
        ml = ml_model().fit(X.iloc[train_idx], y[train_idx])
        metrics["holdout_rows"] = int(len(test_idx))
        metrics["auc_scorecard"] = round(
            float(roc_auc_score(y[test_idx], sc.predict_proba(X.iloc[test_idx])[:, 1])), 4
        )
        metrics["auc_ml"] = round(
            float(roc_auc_score(y[test_idx], ml.predict_proba(X.iloc[test_idx])[:, 1])), 4
        )
    scorecard = scorecard_model().fit(X, y)
    # variables the scorecard left out: not significant (noise), or their coefficient
    # turned negative (collinear with another), which would have scored their riskier
    # bins higher; /scoring/points says which, per variable
    metrics["scorecard_dropped"] = list(scorecard.dropped_)
    ml = ml_model().fit(X, y)
    metrics["inspectors"] = inspectors
    metrics["net_of_inspector"] = strictness is not None
    # PSI reference: the population a run scores (every enterprise, as of one day), here
    # as of ``until`` — not the training rows (inspections at their own dates), which a
    # run never resembles (max PSI ≈ 7 on n_prior, an alarm on every run)
    encoded = replace(config, vocabulary={k: tuple(v) for k, v in vocabulary.items()})
    population, by_score = population_matrix(session, until, encoded, features, strictness)
    if len(population):
        metrics["monitoring_reference"] = f"all {len(population)} enterprises as of {until}"
    else:  # no enterprise registered: the training rows are all there is
        population = X
        metrics["monitoring_reference"] = "training rows"
    scores = scorecard.points(population)
    # the model's tier cut-offs: TIER_SHARES of the enterprises its score will tier (those
    # with a record and no override) in each tier, as of ``until``; a run uses them unless
    # TIER_CUTOFFS is set.  Fixed with the model, so a rescore moves an enterprise only when
    # its own record moves it, not when others' do.
    shares = check_shares(current_app.config.get("TIER_SHARES"))  # type: ignore[arg-type]
    cutoffs = cutoffs_for_shares(scores[by_score] if len(by_score) else np.zeros(0), shares)
    if cutoffs is not None:  # to 4 decimals where that moves no score across one
        metrics["tier_cutoffs"] = cutoffs
        metrics["tier_shares"] = shares
        metrics["tier_population"] = int(by_score.sum())
    reference = {"score": {"edges": monitoring.bin_edges(scores)}}
    reference["score"]["shares"] = monitoring.distribution(scores, reference["score"]["edges"])
    for name in features:
        values = population[name].to_numpy()
        edges = monitoring.bin_edges(values, categorical=name in categorical)
        reference[name] = {"edges": edges, "shares": monitoring.distribution(values, edges)}
    stem = f"credit-{until.isoformat()}-{utcnow():%Y%m%d%H%M%S}"
    # two trainings within one second (a retry, a script, another process): the later
    # gets a suffix (-2, -3, ...) instead of failing on the unique version after all the
    # fitting.  Versions this session can see are skipped; one another process commits
    # meanwhile fails the insert, whose savepoint is rolled back, and the next is tried.
    taken = set(
        session.scalars(select(ScoringModel.version).where(ScoringModel.version.startswith(stem)))
    )
    candidates = (stem if n == 1 else f"{stem}-{n}" for n in range(1, len(taken) + 12))
    for version in (v for v in candidates if v not in taken):
        bundle = ModelBundle(
            estimator={"scorecard": scorecard, "ml": ml},
            kind="scorecard+ml",
            version=version,
            features=features,
            feature_config={
                **config.to_dict(),
                "vocabulary": {k: list(v) for k, v in vocabulary.items()},
                # badge → strictness, by which a run weighs each result's findings
                # (:func:`scoring_inputs`); empty: the findings count whole
                "team_strictness": strictness or {},
            },
            window=(start.isoformat(), until.isoformat()),
            metrics=metrics,
            scaling=scorecard.scaling(),
            monitoring=reference,
        )
        row = ScoringModel(
            version=version,
            kind=bundle.kind,
            blob=dumps(bundle),
            window_start=start,
            window_end=until,
            features=features,
            metrics=metrics,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            if session.scalar(select(ScoringModel.id).where(ScoringModel.version == version)):
                continue  # taken by another process since the query above
            raise
        break
    else:  # pragma: no cover - ten other processes within one second
        raise Conflict(
            "every model version of this second is taken; train again",
            {"version": [stem]},
            message_zh="本秒内的模型版本号均已占用，请重新训练",
        )
    audit(session, user, "model.train", "model", version, {"window": bundle.window, **metrics})
    session.commit()
    return row


def latest_model(session: Session) -> ScoringModel:
    model = session.scalar(select(ScoringModel).order_by(ScoringModel.id.desc()).limit(1))
    if model is None:
        # `score run` printed the English only, and the API's zh-CN said no more than 409
        raise Conflict(
            "no model trained yet: run `inspect-core score train`",
            {"model": ["none"]},
            message_zh="尚未训练模型，请先运行 `inspect-core score train`",
        )
    return model


def points_card(model: ScoringModel) -> dict[str, Any]:
    """The scorecard of ``model`` as a regulator reads it: every variable's bins, each
    with its category (a categorical variable's own bins), the text a reason shows for a
    row in it (zh-CN and English; none where no row's reason comes from it), its training
    rows, WoE and points, and the scaling.  A score is the sum of its bins' points, and a
    reason's points are what its bin scores below the variable's best bin, so this table
    is how every stored score and reason was made (variables the fit dropped score alike
    in every bin).  Points to 4 decimals, as scores are stored."""
    from scoring.persistence import loads

    bundle = loads(model.blob)
    card = bundle.estimator["scorecard"]
    facts = fact_labels()
    vocabulary = bundle.feature_config.get("vocabulary") or {}
    categories = category_texts(card, vocabulary)
    table = card.points_table().to_dict("records")
    counts = getattr(card, "counts_", None)
    dropped = set(getattr(card, "dropped_", ()))
    # a model fitted before the significance test has no p-values or drop reasons
    p_values = getattr(card, "p_values_", None)
    drop_reasons = getattr(card, "drop_reasons_", {})
    best = card.best_bins(finite=True)
    categorical = card.is_categorical_
    net = bool(bundle.feature_config.get("team_strictness"))
    items: list[dict[str, Any]] = []
    for j, name in enumerate(card.feature_names_):
        edges, n_bins = card.edges_[j], len(card.woe_[j])
        template, _, adverse, _ = _template(name, facts)
        for b in range(n_bins):
            row = table[len(items)]
            # reason_eligible's rule, per bin (it judges rows): an adverse variable only
            # where a row has some (> 0) and sits above the best bin; a missing value only
            # when the text shows no value
            if b == n_bins - 1:
                reason = not adverse and "{v}" not in template
            elif adverse:
                upper = np.inf if categorical[j] or b >= len(edges) else edges[b]
                reason = b > best[j] and upper > 0
            else:
                reason = True
            zh = en = None
            if reason:
                zh, en = bin_label(name, j, b, card.edges_, categories, facts, net)
            category = None  # the vocabulary value a category's own bin holds
            if categorical[j] and name in vocabulary and b < len(edges):
                code = int(edges[b])
                category = vocabulary[name][code] if 0 <= code < len(vocabulary[name]) else None
            items.append(
                {"variable": name, "bin": row["bin"], "category": category,
                 "text_zh": zh, "text_en": en,
                 "rows": None if counts is None else int(counts[j][b]),
                 "woe": round(float(row["woe"]), 6), "points": round(float(row["points"]), 4),
                 "dropped": name in dropped,
                 # significant digits, not decimals: 0.0100004 read 0.01, beside a drop
                 # for p above 0.01, and 1e-30 read 0
                 "p_value": None if p_values is None else float(f"{p_values[j]:.6g}"),
                 **_drop_texts(drop_reasons.get(name) if name in dropped else None)}
            )  # fmt: skip
    metrics = model.metrics or {}
    return {
        "model": model.version,
        "trained_at": model.trained_at,
        "window_start": model.window_start,
        "window_end": model.window_end,
        "scaling": card.scaling(),
        "best_score": round(float(card.best_points().sum()), 4),
        "rows": metrics.get("rows"),
        "positives": metrics.get("positives"),
        "auc_scorecard": metrics.get("auc_scorecard"),
        "auc_ml": metrics.get("auc_ml"),
        "net_of_inspector": net,
        "items": items,
    }


#: why the scorecard left a variable out (``Scorecard.drop_reasons_``), for regulators
DROP_REASONS = {
    "not_significant": (
        "各分组不合格率差异不显著（卡方检验 p 值高于显著性水平），得分视为噪声",
        "its bins' failure rates differ no more than chance (chi-squared p above the "
        "significance level): its points would be noise",
    ),
    "negative_coefficient": (
        "与其他变量共线，系数为负，会使风险较高的分组得分更高",
        "collinear with another variable: its coefficient turned negative, which would "
        "have scored its riskier bins higher",
    ),
}


def _drop_texts(code: str | None) -> dict[str, str | None]:
    """A dropped variable's reason, as a code and in zh-CN and English (all None when kept,
    or dropped by a model fitted before reasons were kept)."""
    zh, en = DROP_REASONS.get(code or "", (None, None))
    return {"drop_reason": code, "drop_reason_zh": zh, "drop_reason_en": en}


def _equal_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups of equal rows of ``keys``: each group's first row, and each row's group.

    Hashed column by column (``pd.factorize``), not ``np.unique(axis=0)``: its sort of the
    rows' bytes was 4.9 of the 5.7 s that reasons took per million enterprises (and a
    Python dict of tuples, before it, 0.3 s of every 50,000).  Renumbered after every
    column, the running code stays below rows × (rows + 1), so the products never
    overflow."""
    group = np.zeros(len(keys), dtype=np.int64)
    for column in keys.T:
        values, uniques = pd.factorize(column)  # NaN: -1, all NaN one group
        group, _ = pd.factorize(group * (len(uniques) + 1) + values + 1)
    _, first = np.unique(group, return_index=True)  # codes 0, 1, … in order of first row
    return first, group


def _reason_lists(
    names: list[str],
    order: np.ndarray,
    lost: np.ndarray,
    overrides: list[str | None],
    bins: np.ndarray | None = None,
    edges: list[np.ndarray] | None = None,
    categories: dict[int, list[Any]] | None = None,
    net: bool = False,
) -> list[list[dict[str, Any]]]:
    """Per row, its reasons as stored (``net``: the model weighs findings by who made
    them, :func:`net_label`): the tier override first, then the variables that
    lost the most points (``order``, where ``lost`` > 1e-9) other than those of the
    family the override states (:func:`reason_families`), three at most, each text
    stating the range of the row's bin (``bins``: rows × variables, :meth:`Scorecard.bins`;
    ``edges``: ``Scorecard.edges_``; None: ranges unknown, "—"), or for a categorical
    variable its category (``categories``: :func:`category_texts`).

    Rows with the same override, variables, points and bins share one list: a scorecard
    gives each variable a handful of bins, so a million rows hold a few thousand distinct
    reason lists, and building (and serializing) each once was most of the time spent
    after the model."""
    from scoring.tiers import REASONS

    fixed = {
        code: {"code": code, "feature": code, "points": None, "text_zh": zh, "text_en": en}
        for code, (zh, en) in REASONS.items()
    }
    facts = fact_labels()
    top = np.take_along_axis(lost, order, axis=1)
    if not len(order):
        return []
    # what an override already says: "on the serious-dishonesty list: tier D" is the
    # adverse credit record, which a variable of that family would state again
    families = reason_families(names)
    stated = {code: reason_families([code])[0] for code in REASONS}
    if bins is None:
        codes = np.full(order.shape, -1)
    else:
        codes = np.take_along_axis(np.asarray(bins), order, axis=1)
    # one row of numbers per enterprise; equal rows share a list
    override_codes = {code: float(k + 1) for k, code in enumerate(REASONS)}
    keys = np.column_stack(
        [np.array([override_codes[o] if o else 0.0 for o in overrides]), order, top, codes]
    )
    first, inverse = _equal_rows(keys)
    texts_of: dict[tuple[int, int], tuple[str, str]] = {}  # (variable, bin) → texts
    built: list[list[dict[str, Any]]] = []
    for row in first.tolist():
        override = overrides[row]
        listed = [fixed[override]] if override else []
        texts = {item["text_en"] for item in listed}
        for j, points, code in zip(
            order[row].tolist(), top[row].tolist(), codes[row].tolist(), strict=True
        ):
            if points > 1e-9 and not (override and families[j] == stated[override]):
                name = names[j]
                texts_key = (j, code)
                if texts_key not in texts_of:
                    texts_of[texts_key] = (
                        net_label(name, label(name, facts, "—"), net)
                        if edges is None
                        else bin_label(name, j, code, edges, categories, facts, net)
                    )
                zh, en = texts_of[texts_key]
                if en in texts:  # never the same text twice in one row
                    continue
                texts.add(en)
                listed.append({"code": name, "feature": name, "points": round(-points, 2),
                               "text_zh": zh, "text_en": en})  # fmt: skip
        built.append(listed[:3])
    return [built[k] for k in inverse.reshape(-1).tolist()]


#: enterprises per chunk: featured, scored and sent while the database stores the previous
#: one (and one progress report each)
WRITE_CHUNK = 50_000


class _RatingsWriter:
    """Appends one run's ratings: COPY on PostgreSQL, batched INSERTs elsewhere.

    Why COPY: the batched INSERTs were the largest part of a run (measured: 25 of 65 s
    for 200,000 enterprises).  Each chunk is its own COPY, sent by a writer thread on the
    session's connection (which nothing else uses meanwhile), so the server stores a chunk
    — rows, indexes, and the foreign-key checks PostgreSQL runs when each statement ends —
    while this thread scores the next (measured: with one COPY for the whole run, those
    checks all waited for its end).  The JSON text is made by the engine's own serializer,
    so both paths store the same text."""

    SQL = (
        "COPY credit_ratings (run_id, enterprise_id, score, probability, tier, reasons) FROM STDIN"
    )

    def __init__(self, session: Session, run_id: int) -> None:
        self.session = session
        self.run_id = run_id
        self.connection = session.connection()
        self.copying = self.connection.dialect.name == "postgresql"
        self._error: BaseException | None = None
        self._aborted = False

    def __enter__(self) -> _RatingsWriter:
        if self.copying:
            serializer = getattr(self.connection.dialect, "_json_serializer", None) or json.dumps

            def dumps(value: Any) -> str:
                text = serializer(value)
                return text.decode() if isinstance(text, bytes) else text

            self.dumps = dumps
            self._queue: queue.Queue[str | None] = queue.Queue(maxsize=2)
            self._thread = threading.Thread(target=self._copy, name="ratings-copy", daemon=True)
            self._thread.start()
        return self

    def _copy(self) -> None:
        raw = self.connection.connection.driver_connection
        try:
            with raw.cursor() as cursor:
                while (text := self._queue.get()) is not None:
                    if self._aborted:
                        continue
                    with cursor.copy(self.SQL) as copy:
                        copy.write(text)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the scoring thread
            self._error = exc
            while self._queue.get() is not None:  # keep draining: the producer must not block
                pass

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        if self.copying:
            self._aborted = kind is not None
            self._queue.put(None)
            self._thread.join()
            if self._error is not None and kind is None:
                raise self._error

    def write(
        self,
        ids: list[int],
        scores: list[float],
        probabilities: list[float],
        tiers: list[str],
        reasons: list[list[dict[str, Any]]],
    ) -> None:
        unknown = set(tiers) - _TIERS
        if unknown:  # the ranked list reads tiers D, C, B, A: any other would not be listed
            raise ValueError(f"ratings with unknown tiers {sorted(unknown)!r}; nothing stored")
        rows = zip(ids, scores, probabilities, tiers, reasons, strict=True)
        if not self.copying:
            self.session.execute(
                insert(CreditRating),
                [{"run_id": self.run_id, "enterprise_id": i, "score": s, "probability": p,
                  "tier": t, "reasons": r} for i, s, p, t, r in rows],
            )  # fmt: skip
            return
        if self._error is not None:
            raise self._error
        dumps, run_id = self.dumps, self.run_id
        serialized: dict[int, str] = {}  # by list identity: _reason_lists shares equal lists

        def json_of(reasons: list[dict[str, Any]]) -> str:
            text = serialized.get(id(reasons))
            if text is None:
                text = serialized[id(reasons)] = dumps(reasons)
            return text

        text = "".join(
            [f"{run_id}\t{i}\t{s!r}\t{p!r}\t{t}\t{json_of(r)}\n" for i, s, p, t, r in rows]
        )
        # COPY text format: a backslash (JSON's escapes) must be doubled; JSON text never
        # holds a raw tab or newline
        self._queue.put(text.replace("\\", "\\\\"))


def tier_line(session: Session, scoring_run: ScoringRun) -> str:
    """A run's tiers for a terminal: how many enterprises in each, and the cut-offs."""
    from sqlalchemy import func

    counts = dict(
        session.execute(
            select(CreditRating.tier, func.count())
            .where(CreditRating.run_id == scoring_run.id)
            .group_by(CreditRating.tier)
        ).all()
    )
    cut = scoring_run.cutoffs or {}
    return (
        "tiers: " + ", ".join(f"{t} {counts.get(t, 0)}" for t in ("A", "B", "C", "D"))
        + " (cut-offs: " + ", ".join(f"{t} ≥ {cut[t]:.1f}" for t in ("A", "B", "C") if t in cut)
        + ")"
    )  # fmt: skip


def tier_cutoffs(
    value: Any, model: ScoringModel, run: ScoringRun | None = None
) -> tuple[dict[str, float], str]:
    """The cut-offs a run used (``run``: stored with it), or would use, and where they come
    from: ``run``, ``configured`` (TIER_CUTOFFS), ``model`` (set when it was trained, from
    TIER_SHARES) or ``legacy`` (a model without cut-offs of its own: trained before that,
    or when no enterprise's tier came from its score)."""
    from scoring.tiers import LEGACY_CUTOFFS

    if run is not None and run.cutoffs:
        return dict(run.cutoffs), "run"
    if value is not None:
        return dict(value), "configured"
    stored = (model.metrics or {}).get("tier_cutoffs")
    return (dict(stored), "model") if stored else (dict(LEGACY_CUTOFFS), "legacy")


def _cutoffs(value: Any, model: ScoringModel) -> dict[str, float]:
    """The tier cut-offs of a run: TIER_CUTOFFS when set, else the model's (set from
    TIER_SHARES when it was trained; a model trained before that has none:
    :data:`scoring.tiers.LEGACY_CUTOFFS`).  Checked before any work: a bad setting used
    to surface in the first chunk, after every input had been read, as a traceback."""
    from scoring.tiers import check_cutoffs

    try:
        a, b, c = check_cutoffs(tier_cutoffs(value, model)[0])
    except ValueError as exc:
        raise Unprocessable(
            "the tier cut-offs setting (TIER_CUTOFFS) is invalid; nothing was scored",
            {"TIER_CUTOFFS": [str(exc)]},
            message_zh="分级下限配置（TIER_CUTOFFS）有误，未进行评分",
        ) from None
    return {"A": a, "B": b, "C": c}


def run(
    session: Session, user: Any, as_of: dt.date | None = None, progress: Progress | None = None
) -> ScoringRun:
    """Rescore every enterprise; one run of ratings, with PSI against the model's reference
    population (every enterprise as of its training cut-off; older models: the training rows)."""
    from inspect_core.results.service import today_in_china
    from scoring import monitoring
    from scoring.features import FeatureConfig
    from scoring.persistence import loads
    from scoring.scorecard import feature_matrix
    from scoring.tiers import assign

    today = today_in_china()
    as_of = as_of or today
    if as_of > today:
        # a run as of a later day would be "current" (the newest as_of, :func:`ratings.
        # latest_run`) for the draw and the list until then, over every rescore of today
        raise Unprocessable(
            "a scoring run cannot be as of a day after today; nothing was scored",
            {"as_of": [f"after today ({today})"]},
            message_zh="评分基准日不得晚于今天，未进行评分",
        )
    model_row = latest_model(session)
    cutoffs = _cutoffs(current_app.config.get("TIER_CUTOFFS"), model_row)
    bundle = loads(model_row.blob)
    started = time.perf_counter()
    scoring_run = ScoringRun(
        model_id=model_row.id,
        as_of=as_of,
        started_by=getattr(user, "username", str(user)),
        cutoffs=cutoffs,
    )
    session.add(scoring_run)
    session.flush()
    config = FeatureConfig.from_dict(bundle.feature_config)
    strictness = bundle.feature_config.get("team_strictness") or None
    inputs = scoring_inputs(session, as_of, strictness)
    scorecard, ml = bundle.estimator["scorecard"], bundle.estimator["ml"]
    best_bins = scorecard.best_bins(finite=True)
    families = reason_families(scorecard.feature_names_)
    categories = category_texts(scorecard, bundle.feature_config.get("vocabulary") or {})
    total = len(inputs.rows)
    matrices: list[pd.DataFrame] = []
    scores_parts: list[np.ndarray] = []
    tiers_parts: list[np.ndarray] = []
    with _RatingsWriter(session, scoring_run.id) as writer:
        # chunk by chunk: every row is featured and scored on its own, so chunks change
        # nothing but let the database store one chunk while the next is computed
        for start in range(0, max(total, 1), WRITE_CHUNK):
            stop = min(start + WRITE_CHUNK, total)
            features = chunk_features(session, inputs, start, stop, config)
            X = feature_matrix(features, bundle.features)
            if progress:
                progress("features", stop, total)
            bins = scorecard.bins(X)
            eligible = reason_eligible(
                scorecard.feature_names_, X.to_numpy(dtype=float), bins, best_bins
            )
            scores, order, lost = scorecard.explain(
                X, n=3, eligible=eligible, bins=bins, families=families
            )
            probability = ml.predict_proba(X)[:, 1]
            tiers, overrides = assign(
                scores, cutoffs, features["serious_dishonesty"].to_numpy(),
                features["has_history"].to_numpy(),
            )  # fmt: skip
            writer.write(
                inputs.rows["enterprise_id"].iloc[start:stop].tolist(),
                [round(x, 4) for x in scores.tolist()],
                [round(x, 6) for x in probability.tolist()],
                [str(t) for t in tiers],
                _reason_lists(
                    scorecard.feature_names_,
                    order,
                    lost,
                    overrides,
                    bins,
                    scorecard.edges_,
                    categories,
                    bool(strictness),
                ),
            )
            matrices.append(X)
            scores_parts.append(scores)
            tiers_parts.append(tiers)
            if progress:
                progress("score", stop, total)
    X = pd.concat(matrices, ignore_index=True)
    scores = np.concatenate(scores_parts)
    tiers = np.concatenate(tiers_parts)
    current = {"score": scores, **{name: X[name].to_numpy() for name in bundle.features}}
    report = monitoring.report(bundle.monitoring, current)
    scoring_run.psi = report
    scoring_run.alarm = bool(report["alarm"])
    scoring_run.enterprises = total
    scoring_run.status = "finished"
    scoring_run.finished_at = utcnow()
    counts = {t: int((tiers == t).sum()) for t in ("A", "B", "C", "D")}
    audit(
        session,
        user,
        "scoring.run",
        "scoring_run",
        scoring_run.id,
        {
            "model": model_row.version,
            "as_of": as_of,
            "enterprises": total,
            "tiers": counts,
            "psi_max": report["max"],
            "alarm": scoring_run.alarm,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
    session.commit()
    if progress:
        progress("score", total, total)
    return scoring_run
