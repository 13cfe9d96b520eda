"""Reading ratings: the current tiers the draw uses, the risk-ranked list, one
enterprise's credit page, and the rankings export.

Regulators page through one fixed scoring run (the cursor names it), so a rescore never
reshuffles a list being read (RELIABILITY.md §2.3).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from inspect_core.credit.models import CreditRating, ScoringRun
from inspect_core.enterprises import service as enterprises
from inspect_core.enterprises.models import Enterprise, EnterpriseSector
from inspect_core.errors import BadRequest, NotFound
from inspect_core.pagination import decode_cursor, encode_cursor
from inspect_core.scope import region_clause

#: cursors carry (run, filters, tier, score, id); one of the score-only order that came
#: before ("ranked") is refused as unknown: start again without one
CURSOR_KIND = "ranked:v2"
#: (run, filters digest, tier, score, enterprise id)
_CURSOR_SHAPE = (int, str, str, float, int)
#: the filters a page is read under: a cursor is only valid with the same ones (a cursor
#: of ``tier=B`` used without the filter would start the list in B, skipping D and C)
_FILTERS = ("tier", "sector", "region", "status", "q")
#: riskiest first: the tier decides (an override puts an enterprise on the serious-
#: dishonesty list in D whatever its score), then the lowest credit score
RISKIEST_FIRST = ("D", "C", "B", "A")


#: "current" is the finished run that looks furthest ahead: the newest ``as_of``, then
#: the one finished last, then the highest id.  Ordering by ``finished_at`` alone made a
#: backdated run (``score run --as-of <past date>``, a retrospective) replace today's tiers.
_CURRENT_FIRST = (ScoringRun.as_of.desc(), ScoringRun.finished_at.desc(), ScoringRun.id.desc())


def latest_run(session: Session) -> ScoringRun | None:
    """The current run: what the draw, the default ranked list and credit pages use.
    A run as of a day still to come (stored before :func:`jobs.run` refused one) is not
    current: it would hide every rescore until that day."""
    from inspect_core.results.service import today_in_china

    return session.scalar(
        select(ScoringRun)
        .where(ScoringRun.status == "finished", ScoringRun.as_of <= today_in_china())
        .order_by(*_CURRENT_FIRST)
        .limit(1)
    )


def current_tiers(session: Session, enterprise_ids: list[int], default: str) -> dict[int, str]:
    """Tier per enterprise from the current run (:func:`latest_run`); ``default``
    for the unrated."""
    tiers = dict.fromkeys(enterprise_ids, default)
    run = latest_run(session)
    if run is None or not enterprise_ids:
        return tiers
    wanted = set(enterprise_ids)
    for enterprise_id, tier in session.execute(
        select(CreditRating.enterprise_id, CreditRating.tier).where(CreditRating.run_id == run.id)
    ):
        if enterprise_id in wanted:
            tiers[enterprise_id] = tier
    return tiers


def _item(rating: CreditRating, enterprise: Enterprise) -> dict[str, Any]:
    return {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "region": enterprise.region,
        "address": enterprise.address,
        "status": enterprise.status,
        "sectors": enterprise.sectors,
        "score": rating.score,
        "probability": rating.probability,
        "tier": rating.tier,
        "reasons": rating.reasons,
        "run_id": rating.run_id,
    }


#: what a ranked item shows, read as plain columns: loading ORM objects (and every
#: enterprise's ``licences`` JSON, which the list does not show) was most of a page's time
_RANKED_COLUMNS = (
    CreditRating.enterprise_id,
    CreditRating.score,
    CreditRating.probability,
    CreditRating.tier,
    CreditRating.reasons,
    CreditRating.run_id,
    Enterprise.uscc,
    Enterprise.name,
    Enterprise.region,
    Enterprise.address,
    Enterprise.status,
)


#: an enterprise's sectors in the page's own query (a second query per page was a
#: round trip), joined by the unit separator U+001F: a control character, which sector
#: codes (identifiers such as ``special_equipment``) do not contain
_SEPARATOR = "\x1f"
_SECTORS = (
    select(func.aggregate_strings(EnterpriseSector.sector, _SEPARATOR))
    .where(EnterpriseSector.enterprise_id == Enterprise.id)
    .correlate(Enterprise)
    .scalar_subquery()
)


def _ranked_where(user: Any, args: dict[str, Any], run_id: int) -> list[Any]:
    """One run's ratings in the user's regions, under the list's enterprise filters:
    sector, region, status and q as the plain list reads them, plain conditions on the
    joined enterprise, so the keyset on (tier, score, id) is unchanged."""
    return [
        CreditRating.run_id == run_id,
        region_clause(user, Enterprise.region),
        *enterprises.filters(args),
    ]


def ranked_page(session: Session, user: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Riskiest first: tier D, C, B then A, and within a tier the lowest credit score,
    ties by enterprise id; keyset within one run.

    A tier decides before the score: the overrides (the serious-dishonesty list → D) give
    an enterprise a tier its score alone would not, and a list ordered by score put such
    an enterprise below better-scored C and B ones.  Each tier is one range of the index
    on (run, tier, score, enterprise): a page reads the cursor's tier from its key on,
    and the next tiers from their start while the page is not full (at most four index
    range scans, nearly always one).
    """
    cursor = (
        decode_cursor(CURSOR_KIND, args["cursor"], _CURSOR_SHAPE) if args.get("cursor") else None
    )
    if cursor is not None:
        run_id = cursor[0]
        if args.get("run") is not None and int(args["run"]) != run_id:
            # the cursor names its run: a page of another one than ``run`` asks for
            raise BadRequest(
                "the cursor belongs to another scoring run",
                {"cursor": [f"made for scoring run {run_id}, not run {int(args['run'])}; "
                            "start again without one"]},
                message_zh="分页游标属于另一评分批次，请不带游标重新开始",
            )  # fmt: skip
    elif args.get("run") is not None:
        run_id = get_run(session, int(args["run"])).id  # an unknown run is a 404, not []
    else:
        run = latest_run(session)
        if run is None:
            return {"items": [], "next_cursor": None}
        run_id = run.id
    stmt = (
        select(*_RANKED_COLUMNS)
        .join(Enterprise, Enterprise.id == CreditRating.enterprise_id)
        .where(*_ranked_where(user, args, run_id))
        .add_columns(_SECTORS.label("sectors"))
        .order_by(CreditRating.score, CreditRating.enterprise_id)
    )
    tiers = [args["tier"]] if args.get("tier") else list(RISKIEST_FIRST)
    filters = _filters_digest(args)
    if cursor is not None:
        if cursor[1] != filters or cursor[2] not in tiers:
            raise BadRequest(
                "the cursor belongs to a list with other filters",
                {"cursor": ["made with other filters (tier, sector, region, status, q); "
                            "start again without one"]},
                message_zh="分页游标与筛选条件不符，请不带游标重新开始",
            )  # fmt: skip
        tiers = tiers[tiers.index(cursor[2]) :]
    limit = args["limit"]
    rows: list[Any] = []
    for tier in tiers:
        query = stmt.where(CreditRating.tier == tier)
        if cursor is not None and tier == cursor[2]:
            score, last_id = cursor[3], cursor[4]
            query = query.where(
                tuple_(CreditRating.score, CreditRating.enterprise_id) > tuple_(score, last_id)
            )
        rows += session.execute(query.limit(limit + 1 - len(rows))).all()
        if len(rows) > limit:
            break
    page = rows[:limit]
    items = [
        {
            "uscc": r.uscc,
            "name": r.name,
            "region": r.region,
            "address": r.address,
            "status": r.status,
            "sectors": sorted(r.sectors.split(_SEPARATOR)) if r.sectors else [],
            "score": r.score,
            "probability": r.probability,
            "tier": r.tier,
            "reasons": r.reasons,
            "run_id": r.run_id,
        }
        for r in page
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(
            CURSOR_KIND, [run_id, filters, last.tier, last.score, last.enterprise_id]
        )
    return {"items": items, "next_cursor": next_cursor}


def _filters_digest(args: dict[str, Any]) -> str:
    """A short digest of the page's filters, carried in its cursor."""
    named = json.dumps([args.get(name) for name in _FILTERS], ensure_ascii=False, default=str)
    return hashlib.sha256(named.encode()).hexdigest()[:16]


def credit_page(session: Session, user: Any, uscc: str) -> dict[str, Any]:
    """Current rating with reasons, the rating history, the credit events, and what each
    sector plugin's rules make of the stored results (``inspect_risk_factors``)."""
    from inspect_core.credit.factors import sector_factors
    from inspect_core.credit.service import list_events
    from inspect_core.results.service import today_in_china

    enterprise = enterprises.get(session, user, uscc)
    history_rows = session.execute(
        select(CreditRating, ScoringRun)
        .join(ScoringRun, ScoringRun.id == CreditRating.run_id)
        .where(CreditRating.enterprise_id == enterprise.id, ScoringRun.status == "finished")
        .order_by(*_CURRENT_FIRST)
    ).all()
    latest = latest_run(session)
    current = next((r for r, run in history_rows if latest and run.id == latest.id), None)
    return {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "current": _item(current, enterprise) if current else None,
        "history": [
            {
                "run_id": run.id,
                "as_of": run.as_of,
                "score": r.score,
                "probability": r.probability,
                "tier": r.tier,
            }
            for r, run in history_rows
        ],  # fmt: skip
        "events": list_events(session, user, uscc),
        "sector_factors": sector_factors(session, enterprise, today_in_china()),
    }


#: ranked rows read per query by an export
EXPORT_PAGE = 5000


def export_page(
    session: Session, user: Any, args: dict[str, Any], cursor: str | None, rank: int
) -> tuple[list[list[Any]], str | None]:
    """:data:`EXPORT_PAGE` rows of the ranked list (same filters) from ``cursor``, ranked
    from ``rank`` + 1, and the next page's cursor (``None``: the last page).  The first
    page names the run and the rest follow its cursor, so a rescore meanwhile does not
    change the export."""
    page = ranked_page(session, user, {**args, "limit": EXPORT_PAGE, "cursor": cursor})
    rows: list[list[Any]] = []
    for i in page["items"]:
        reasons = "; ".join(
            f"{r.get('text_zh', '')} / {r.get('text_en', '')}" for r in i["reasons"]
        )
        probability = None if i["probability"] is None else round(i["probability"], 4)
        rows.append(
            [
                rank + len(rows) + 1,
                i["uscc"],
                i["name"],
                i["region"],
                ",".join(i["sectors"]),
                round(i["score"], 2),
                probability,
                i["tier"],
                reasons,
                i["run_id"],
            ]
        )
    return rows, page["next_cursor"]


def export_pages(
    session: Session, user: Any, args: dict[str, Any], first: tuple[list[list[Any]], str | None]
) -> Iterator[list[list[Any]]]:
    """``first`` (the page :func:`export_page` read from the start, in the view, so that
    a bad run or filter is a 4xx before anything is sent) and every page after it.

    Each page's transaction ends before the page is handed on: a slow client reading a
    streamed file holds no snapshot open (which would hold back vacuum), and the next
    page follows the cursor, which names the run, whose ratings never change."""
    (rows, cursor), rank = first, 0
    while True:
        rank += len(rows)
        session.rollback()
        yield rows
        if not cursor:
            return
        rows, cursor = export_page(session, user, args, cursor, rank)


def export_count(session: Session, user: Any, args: dict[str, Any], cursor: str) -> int:
    """How many rows the export under ``args`` holds, in the run its first page's
    ``cursor`` names: one count, so an Excel export past a sheet is refused before a
    million rows are read and written."""
    run_id = decode_cursor(CURSOR_KIND, cursor, _CURSOR_SHAPE)[0]
    stmt = (
        select(func.count())
        .select_from(CreditRating)
        .join(Enterprise, Enterprise.id == CreditRating.enterprise_id)
        .where(*_ranked_where(user, args, run_id))
    )
    if args.get("tier"):
        stmt = stmt.where(CreditRating.tier == args["tier"])
    return session.scalar(stmt) or 0


EXPORT_HEADERS = ["排名 rank", "统一社会信用代码 uscc", "企业名称 name", "所属街镇 region",
                  "监管行业 sectors", "信用分 score", "风险概率 probability", "风险等级 tier",
                  "主要原因 reasons", "评分批次 run"]  # fmt: skip


def run_summary(session: Session, run: ScoringRun, full: bool = False) -> dict[str, Any]:
    """A run as ``/scoring/runs`` shows it: its model, whether it is the current one, and
    its population-stability check (PSI against the training population; above the
    threshold, the scores may no longer mean what they did when the model was fitted).
    The alarm was only printed by ``score run`` and written to the audit log, where no
    regulator reads it.  ``full``: every variable's PSI, not only those over the line."""
    from inspect_core.credit.models import ScoringModel

    report = run.psi or {}
    values = report.get("psi") or {}
    threshold = report.get("threshold")
    shifted = sorted(
        (
            (name, value)
            for name, value in values.items()
            if threshold is not None and value > threshold
        ),
        key=lambda nv: (-nv[1], nv[0]),
    )
    current = latest_run(session)
    model = session.get(ScoringModel, run.model_id) if run.model_id else None
    out: dict[str, Any] = {
        "id": run.id,
        "as_of": run.as_of,
        "status": run.status,
        "current": current is not None and current.id == run.id,
        "model_version": model.version if model else None,
        "enterprises": run.enterprises,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "psi_max": report.get("max"),
        "psi_threshold": threshold,
        "alarm": run.alarm,
        "shifted": [{"variable": name, "psi": value} for name, value in shifted],
    }
    if full:
        out["psi"] = dict(sorted(values.items()))
    return out


def list_runs(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """Finished runs, newest first, a page at a time."""
    stmt = select(ScoringRun).where(ScoringRun.status == "finished")
    if args.get("cursor"):
        (last,) = decode_cursor("scoring-runs:id", args["cursor"], (int,))
        stmt = stmt.where(ScoringRun.id < last)
    limit = args["limit"]
    runs = list(session.scalars(stmt.order_by(ScoringRun.id.desc()).limit(limit + 1)))
    next_cursor = (
        encode_cursor("scoring-runs:id", [runs[limit - 1].id]) if len(runs) > limit else None
    )
    return {"items": [run_summary(session, r) for r in runs[:limit]], "next_cursor": next_cursor}


def get_run(session: Session, run_id: int) -> ScoringRun:
    """A finished run by id; 404 naming ``run`` otherwise (one still running, or one
    that failed, has no complete list to page through)."""
    run = session.get(ScoringRun, run_id)
    if run is None or run.status != "finished":
        raise NotFound(
            f"no finished scoring run {run_id}",
            {"run": [f"no finished scoring run {run_id}"]},
            message_zh=f"不存在已完成的评分批次 {run_id}",
        )
    return run
