"""Plans, pool snapshots, draws, tasks and re-assignment; each write owns its transaction.

The draw itself is the pure :mod:`inspect_core.plans.draw`; this module only gathers its
inputs from the database, stores its outputs, and enforces the protocol that keeps anyone
from choosing the seed: freeze and publish the pool first, then derive the seed from a public
value drawn afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from collections import Counter
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

from inspect_core.audit.service import record as audit
from inspect_core.auth.access import has_permission
from inspect_core.db import utcnow
from inspect_core.enterprises.models import Enterprise, EnterpriseSector
from inspect_core.errors import Conflict, Forbidden, NotFound, Unprocessable
from inspect_core.inspectors.models import ConflictOfInterest, Inspector, InspectorQualification
from inspect_core.pagination import decode_cursor, encode_cursor
from inspect_core.plans import draw as drawlib
from inspect_core.plans.models import Draw, Plan, PoolSnapshot, Task, TaskAssignment
from inspect_core.plans.schemas import check_due_date, ratios_to_json
from inspect_core.scope import region_clause

DEFAULT_TIER = "B"  # until an enterprise has a credit rating (DOMAIN.md §2: no history → B)


# --- plans ---------------------------------------------------------------------------------


def _check_plan_regions(user: Any, regions: list[str]) -> None:
    if user.regions and (not regions or not set(regions) <= set(user.regions)):
        raise Forbidden(
            "a scoped user's plan must name regions within their scope",
            {"scope_regions": [f"choose among: {', '.join(user.regions)}"]},
            message_zh="计划范围超出本账号辖区",
        )


def create_plan(session: Session, user: Any, data: dict[str, Any]) -> Plan:
    _check_plan_regions(user, data["scope_regions"])
    plan = Plan(
        title=data["title"],
        issuing_unit=data["issuing_unit"],
        sector=data["sector"],
        check_items=data["check_items"],
        scope_regions=sorted(set(data["scope_regions"])),
        scope_statuses=sorted(set(data["scope_statuses"])),
        ratios=ratios_to_json(data["ratios"]),
        inspectors_per_task=data["inspectors_per_task"],
        due_date=data["due_date"],
        created_by=user.username,
    )
    session.add(plan)
    session.flush()
    audit(
        session, user, "plan.create", "plan", plan.id, {"title": plan.title, "sector": plan.sector}
    )
    session.commit()
    return plan


def _plan_visible(user: Any, plan: Plan) -> bool:
    return not user.regions or (
        bool(plan.scope_regions) and set(plan.scope_regions) <= set(user.regions)
    )


def get_plan(session: Session, user: Any, plan_id: int, for_update: bool = False) -> Plan:
    stmt = select(Plan).where(Plan.id == plan_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    plan = session.scalar(stmt)
    if plan is None or not _plan_visible(user, plan):
        raise NotFound(f"no plan {plan_id}", message_zh="未找到该抽查计划")
    return plan


TRANSITIONS = {("drawn", "published"), ("published", "closed")}


def update_plan(session: Session, user: Any, plan_id: int, changes: dict[str, Any]) -> Plan:
    plan = get_plan(session, user, plan_id, for_update=True)
    status = changes.pop("status", None)
    if changes and plan.status != "draft":
        raise Conflict(
            f"plan is {plan.status}; only a draft's fields can change",
            {field: ["plan is no longer a draft"] for field in changes},
            message_zh=f"计划状态为 {plan.status}，只有草稿的字段可以修改",
        )
    if "due_date" in changes and changes["due_date"] != plan.due_date:
        check_due_date(changes["due_date"])  # moved: today .. PLAN_MAX_DAYS_AHEAD on
    if "scope_regions" in changes:
        _check_plan_regions(user, changes["scope_regions"])
        changes["scope_regions"] = sorted(set(changes["scope_regions"]))
    if "ratios" in changes:
        changes["ratios"] = ratios_to_json(changes["ratios"])
    for key, value in changes.items():
        setattr(plan, key, value)
    if status is not None and status != plan.status:
        if (plan.status, status) not in TRANSITIONS:
            raise Conflict(
                f"a plan cannot go from {plan.status} to {status}",
                {
                    "status": [
                        "allowed: draft→drawn (by drawing), drawn→published, published→closed"
                    ]
                },
            )
        plan.status = status
        if status == "published":
            plan.published_at = utcnow()
        if status == "closed":
            plan.closed_at = utcnow()
    audit(session, user, "plan.update", "plan", plan.id, {**changes, "status": plan.status})
    session.commit()
    return plan


def list_plans(session: Session, user: Any, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Plan)
    if args.get("status"):
        stmt = stmt.where(Plan.status == args["status"])
    if args.get("sector"):
        stmt = stmt.where(Plan.sector == args["sector"])
    if args.get("cursor"):
        (last,) = decode_cursor("plans:id", args["cursor"], (int,))
        stmt = stmt.where(Plan.id < last)
    rows = []
    limit = args["limit"]
    stmt = stmt.order_by(Plan.id.desc())
    if not user.regions:
        stmt = stmt.limit(limit + 1)
    # newest first; scoped users see plans inside their regions (few plans: filter here).
    # Read on until the page fills: cut at limit·4 + 1 rows, a page behind more of other
    # streets' plans came back empty with no cursor, and the street's own were never listed
    for plan in session.scalars(stmt):
        if _plan_visible(user, plan):
            rows.append(plan)
        if len(rows) > limit:
            break
    next_cursor = encode_cursor("plans:id", [rows[limit - 1].id]) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}


# --- pool snapshots ------------------------------------------------------------------------


def draw_params(plan: Plan, qualification: str | None = None) -> drawlib.DrawParams:
    return drawlib.DrawParams(
        sector=plan.sector,
        ratios=dict(plan.ratios),
        inspectors_per_task=plan.inspectors_per_task,
        regions=tuple(plan.scope_regions),
        qualification=qualification,
    )


def tiers_for(session: Session, enterprise_ids: list[int]) -> dict[int, str]:
    """Current credit tier per enterprise; B for an enterprise without a rating."""
    from inspect_core.credit import current_tiers  # scoring may be absent in a minimal install

    return current_tiers(session, enterprise_ids, DEFAULT_TIER)


def previous_pairs(
    session: Session, plan: Plan, as_of: dt.datetime | None = None
) -> set[tuple[str, str]]:
    """(badge, uscc) of each enterprise's latest check under another drawn plan of the
    sector: no consecutive checks of the same object by the same inspector.

    Per enterprise, not per plan: with a plan per street, the sector's latest other plan was
    another street's, sharing no enterprise, and the crew of the street's own previous
    round was drawn onto the same enterprises again.  ``as_of`` reads the pairs as they
    stood then: a re-assignment keeps to the pairs its draw's pool was frozen with.  Read
    now, a plan of the sector drawn since took their place, and an inspector who had
    checked the enterprise in the plan before was drawn onto it.
    """
    drawn = Draw.drawn_at <= as_of if as_of is not None else true()
    latest = (
        select(Draw.plan_id, func.max(Draw.seq).label("seq"))
        .join(Plan, Plan.id == Draw.plan_id)
        .where(Plan.sector == plan.sector, Plan.id != plan.id, drawn)
        .group_by(Draw.plan_id)
        .subquery()
    )
    current = (  # each other plan's current draw (as of ``as_of``)
        select(Draw.id, Draw.drawn_at)
        .join(latest, and_(Draw.plan_id == latest.c.plan_id, Draw.seq == latest.c.seq))
        .subquery()
    )
    ranked = (  # each enterprise's tasks under those draws, latest draw first
        select(
            Task.id,
            func.row_number()
            .over(
                partition_by=Task.enterprise_id,
                order_by=(current.c.drawn_at.desc(), current.c.id.desc()),
            )
            .label("rank"),
        )
        .join(current, current.c.id == Task.draw_id)
        .subquery()
    )
    on_task = (
        TaskAssignment.released_at.is_(None)
        if as_of is None
        else and_(
            TaskAssignment.assigned_at <= as_of,
            or_(TaskAssignment.released_at.is_(None), TaskAssignment.released_at > as_of),
        )
    )
    rows = session.execute(
        select(Inspector.badge, Enterprise.uscc)
        .select_from(TaskAssignment)
        .join(ranked, and_(ranked.c.id == TaskAssignment.task_id, ranked.c.rank == 1))
        .join(Task, Task.id == TaskAssignment.task_id)
        .join(Inspector, Inspector.id == TaskAssignment.inspector_id)
        .join(Enterprise, Enterprise.id == Task.enterprise_id)
        .where(on_task)
    )
    return {(badge, uscc) for badge, uscc in rows}


def build_pool(session: Session, plan: Plan) -> drawlib.Pool:
    """The pools as they stand now, limited to the plan's sector, regions and statuses."""
    stmt = (
        select(Enterprise.id, Enterprise.uscc, Enterprise.region)
        .where(
            exists().where(
                EnterpriseSector.enterprise_id == Enterprise.id,
                EnterpriseSector.sector == plan.sector,
            )
        )
        .order_by(Enterprise.id)
    )
    if plan.scope_regions:
        stmt = stmt.where(Enterprise.region.in_(plan.scope_regions))
    if plan.scope_statuses:
        stmt = stmt.where(Enterprise.status.in_(plan.scope_statuses))
    rows = session.execute(stmt).all()
    tiers = tiers_for(session, [r.id for r in rows])
    sector = (plan.sector,)
    columns = drawlib.EnterpriseColumns(
        uscc=[r.uscc for r in rows],
        tier=[tiers.get(r.id, DEFAULT_TIER) for r in rows],
        sectors=[sector] * len(rows),
        region=[r.region for r in rows],
    )
    quals: dict[int, list[str]] = {}
    for inspector_id, sector_code in session.execute(
        select(InspectorQualification.inspector_id, InspectorQualification.sector)
    ):
        quals.setdefault(inspector_id, []).append(sector_code)
    inspectors = [
        drawlib.PoolInspector(r.badge, tuple(quals.get(r.id, ())), r.region, bool(r.active))
        for r in session.execute(
            select(Inspector.id, Inspector.badge, Inspector.region, Inspector.active)
        )
    ]
    conflicts = session.execute(
        select(Inspector.badge, Enterprise.uscc)
        .select_from(ConflictOfInterest)
        .join(Inspector, Inspector.id == ConflictOfInterest.inspector_id)
        .join(Enterprise, Enterprise.id == ConflictOfInterest.enterprise_id)
    ).all()
    return drawlib.Pool(
        columns, inspectors, [tuple(c) for c in conflicts], previous_pairs(session, plan)
    )


def _qualification(sector: str) -> str:
    """The qualification the sector's tasks need; a plugin that raises or answers no code
    is a 502 naming it, before anything is written."""
    from inspect_core.judging import required_qualification

    return required_qualification(sector)


def _take_snapshot(session: Session, user: Any, plan: Plan) -> PoolSnapshot:
    """Build the pool as it stands, store its canonical bytes and hash (not committed)."""
    params = draw_params(plan, _qualification(plan.sector))
    pool = build_pool(session, plan)
    canonical = drawlib.canonical_pool(pool, params)
    last = session.scalar(select(func.max(PoolSnapshot.seq)).where(PoolSnapshot.plan_id == plan.id))
    snapshot = PoolSnapshot(
        plan_id=plan.id,
        seq=(last or 0) + 1,
        pool_hash=hashlib.sha256(canonical).hexdigest(),
        algorithm_version=drawlib.ALGORITHM_VERSION,
        snapshot=zlib.compress(canonical, 6),
        enterprises=pool.enterprise_count,
        inspectors=len(list(pool.inspectors)),
        frozen_by=user.username,
    )
    session.add(snapshot)
    session.flush()
    audit(
        session, user, "pool.freeze", "plan", plan.id,
        {"snapshot": snapshot.id, "pool_hash": snapshot.pool_hash,
         "enterprises": snapshot.enterprises},
    )  # fmt: skip
    return snapshot


def freeze_pool(session: Session, user: Any, plan_id: int) -> PoolSnapshot:
    """Freeze and publish the pool (its hash) before any seed exists."""
    plan = get_plan(session, user, plan_id, for_update=True)
    if plan.status == "closed":
        raise Conflict("plan is closed", {"plan": ["closed plans are not drawn"]})
    snapshot = _take_snapshot(session, user, plan)
    session.commit()
    return snapshot


def latest_snapshot(session: Session, plan_id: int) -> PoolSnapshot | None:
    return session.scalar(
        select(PoolSnapshot)
        .where(PoolSnapshot.plan_id == plan_id)
        .order_by(PoolSnapshot.seq.desc())
        .limit(1)
    )


def load_snapshot(snapshot: PoolSnapshot) -> tuple[drawlib.Pool, drawlib.DrawParams]:
    return drawlib.parse_canonical_pool(zlib.decompress(snapshot.snapshot))


# --- draws ---------------------------------------------------------------------------------


def current_draw(session: Session, plan_id: int) -> Draw | None:
    return session.scalar(
        select(Draw).where(Draw.plan_id == plan_id).order_by(Draw.seq.desc()).limit(1)
    )


def _check_snapshot_fits(plan: Plan, snapshot: PoolSnapshot, frozen: drawlib.DrawParams) -> None:
    """Refuse a public draw from a pool frozen before the draft was edited.

    The draw follows the parameters hashed into the frozen pool, and ``/public/plans`` shows
    the plan's own: drawn from a stale pool, a plan published with ratio 1 for every tier over
    one street had been drawn at its earlier ratios over two.  The enterprise statuses in
    scope (``scope_statuses``) shape the pool without being hashed as a parameter: a draft
    moved to other statuses after the freeze was drawn from the old ones, so any edit of a
    draft after its freeze is refused too.  Freeze the pool again, then take a public value
    drawn after that.
    """
    if draw_params(plan, frozen.qualification) != frozen:
        reason = "frozen before the plan's ratios, regions or inspectors per task changed"
    elif plan.status == "draft" and plan.updated_at > snapshot.frozen_at:
        reason = "frozen before the draft was last edited"
    else:
        return
    raise Conflict(
        "the plan was edited after its pool was frozen: freeze the pool again, then draw "
        "from a public value drawn after that",
        {"pool": [reason]},
        message_zh="抽取名录冻结后计划参数已修改，请重新冻结名录后再抽取",
    )


def run_draw(session: Session, user: Any, plan_id: int, data: dict[str, Any]) -> tuple[Draw, int]:
    """Draw the plan; returns the stored draw and the number of tasks created."""
    plan = get_plan(session, user, plan_id, for_update=True)
    if plan.status == "closed":
        raise Conflict("plan is closed", {"plan": ["closed plans are not drawn"]})
    earlier = current_draw(session, plan.id)
    if earlier is None:
        from inspect_core.results.service import today_in_china

        today = today_in_china()
        if plan.due_date < today:  # every task would be overdue, every disclosure late
            raise Conflict(
                f"the plan fell due on {plan.due_date}; move its due date before drawing",
                {"due_date": [f"passed ({plan.due_date}, today {today}); PATCH a new one"]},
                message_zh="计划截止日期已过，请先修改截止日期再抽取",
            )
    else:
        if not data.get("reason"):
            raise Unprocessable(
                "this plan was drawn already; a re-draw needs a reason and keeps the earlier draw",
                {"reason": ["required for a re-draw"]},
                message_zh="重新抽取须说明理由",
            )
        recorded = session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.draw_id == earlier.id, Task.status == "done")
        )
        if recorded:
            raise Conflict(
                f"{recorded} task(s) of the current draw have results; it cannot be redrawn",
                {"plan": ["results recorded"]},
            )

    if "seed" in data:
        seed_kind = "explicit"
        snapshot = _take_snapshot(session, user, plan)
        seed = int(data["seed"])
    else:
        seed_kind = "public"
        snapshot = latest_snapshot(session, plan.id)
        if snapshot is None:
            raise Conflict(
                "freeze and publish the pool first (POST /api/v1/plans/{id}/pool)",
                {"pool": ["no frozen pool"]},
                message_zh="请先冻结并公布抽取名录",
            )
        drawn_at = data["public_drawn_at"]
        not_before = [snapshot.frozen_at] + ([earlier.drawn_at] if earlier else [])
        if drawn_at <= max(not_before):
            raise Unprocessable(
                "the public value must come from a draw held after the pool was frozen"
                + (" and after the earlier draw" if earlier else ""),
                {"public_drawn_at": [f"must be after {max(not_before).isoformat()}"]},
            )
        if drawn_at > utcnow() + dt.timedelta(minutes=5):
            raise Unprocessable(
                "the public value's draw is in the future", {"public_drawn_at": ["in the future"]}
            )
        seed = drawlib.derive_seed(snapshot.pool_hash, data["public_value"])

    pool, params = load_snapshot(snapshot)
    if seed_kind == "public":
        _check_snapshot_fits(plan, snapshot, params)
    try:
        outcome = drawlib.draw(pool, params, seed, expected_pool_hash=snapshot.pool_hash)
    except drawlib.DrawInfeasible as exc:
        session.rollback()
        raise Unprocessable(
            f"the draw cannot meet its constraints: {exc}",
            {
                "draw": [
                    {
                        "uscc": p.uscc,
                        "code": p.code,
                        "message": p.message_en,
                        "message_zh": p.message_zh,
                    }
                    for p in exc.problems
                ]
            },  # fmt: skip
            message_zh="抽取约束无法满足",
        ) from None

    if earlier is not None:
        session.execute(
            Task.__table__.update().where(Task.draw_id == earlier.id).values(status="superseded")
        )
    new = Draw(
        plan_id=plan.id,
        snapshot_id=snapshot.id,
        seq=(earlier.seq + 1) if earlier else 1,
        seed=str(seed),
        seed_kind=seed_kind,
        public_value=data.get("public_value"),
        public_source=data.get("public_source"),
        public_drawn_at=data.get("public_drawn_at"),
        algorithm_version=outcome.algorithm_version,
        pool_hash=outcome.pool_hash,
        params={
            "sector": params.sector,
            "qualification": params.qualification,
            "ratios": {t: str(r) for t, r in params.ratios.items()},
            "inspectors_per_task": params.inspectors_per_task,
            "regions": list(params.regions),
        },
        tiers=[
            {
                "tier": t.tier,
                "ratio": None if t.ratio is None else str(t.ratio),
                "eligible": t.eligible,
                "selected": t.selected,
            }
            for t in outcome.tiers
        ],  # fmt: skip
        workload_cap=outcome.workload_cap,
        reason=data.get("reason"),
        drawn_by=user.username,
    )
    session.add(new)
    session.flush()
    _store_tasks(session, plan, new, outcome)
    plan.status = "drawn" if plan.status == "draft" else plan.status
    audit(
        session, user, "draw.run", "plan", plan.id,
        {"draw": new.id, "seq": new.seq, "seed": new.seed, "seed_kind": seed_kind,
         "pool_hash": new.pool_hash, "tasks": len(outcome.tasks), "reason": new.reason},
    )  # fmt: skip
    session.commit()
    return new, len(outcome.tasks)


def _store_tasks(session: Session, plan: Plan, new: Draw, outcome: drawlib.DrawOutcome) -> None:
    usccs = [t.uscc for t in outcome.tasks]
    ent_ids: dict[str, int] = {}
    for chunk in range(0, len(usccs), 5000):
        part = usccs[chunk : chunk + 5000]
        ent_ids.update(
            session.execute(
                select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_(part))
            ).all()
        )
    badge_ids = dict(session.execute(select(Inspector.badge, Inspector.id)).all())
    now = utcnow()
    task_rows = [
        {"plan_id": plan.id, "draw_id": new.id, "enterprise_id": ent_ids[t.uscc],
         "due_date": plan.due_date, "status": "open", "created_at": now}
        for t in outcome.tasks
    ]  # fmt: skip
    if not task_rows:
        return
    session.execute(Task.__table__.insert(), task_rows)
    task_ids = dict(
        session.execute(select(Task.enterprise_id, Task.id).where(Task.draw_id == new.id)).all()
    )
    session.execute(
        TaskAssignment.__table__.insert(),
        [
            {
                "task_id": task_ids[ent_ids[t.uscc]],
                "inspector_id": badge_ids[b],
                "assigned_at": now,
                "how": "draw",
            }
            for t in outcome.tasks
            for b in t.inspectors
        ],  # fmt: skip
    )


def no_draw(draw_id: int) -> NotFound:
    """The answer for a draw that does not exist, and for one the caller may not read
    (an unpublished plan's): the same to the letter, so its id tells nothing."""
    return NotFound(f"no draw {draw_id}", message_zh="未找到该次抽取")


def get_draw(session: Session, draw_id: int) -> Draw:
    found = session.get(Draw, draw_id)
    if found is None:
        raise no_draw(draw_id)
    return found


def stored_assignments(session: Session, draw_id: int) -> list[tuple[str, list[str]]]:
    """The draw as stored: each task's enterprise and the inspectors the draw gave it."""
    rows = session.execute(
        select(Enterprise.uscc, Inspector.badge)
        .select_from(TaskAssignment)
        .join(Task, Task.id == TaskAssignment.task_id)
        .join(Enterprise, Enterprise.id == Task.enterprise_id)
        .join(Inspector, Inspector.id == TaskAssignment.inspector_id)
        .where(Task.draw_id == draw_id, TaskAssignment.how == "draw")
    )
    tasks: dict[str, list[str]] = {}
    for uscc, badge in rows:
        tasks.setdefault(uscc, []).append(badge)
    # tasks without any drawn inspector row still count (they would show as changed)
    for (uscc,) in session.execute(
        select(Enterprise.uscc)
        .join(Task, Task.enterprise_id == Enterprise.id)
        .where(Task.draw_id == draw_id)
    ):
        tasks.setdefault(uscc, [])
    return sorted(tasks.items())


def _problem(code: str, en: str, zh: str) -> dict[str, str]:
    return {"code": code, "message": en, "message_zh": zh}


def _published_inputs(found: Draw, snapshot: PoolSnapshot, digest: str) -> list[dict[str, str]]:
    """What the replay alone cannot see: the snapshot is the one whose hash was published,
    and a public draw's seed is the one that hash and the public value give (a seed swapped
    for a cherry-picked one replays to its own tasks)."""
    problems = []
    if digest != snapshot.pool_hash:
        problems.append(
            _problem(
                "snapshot_hash",
                f"The stored snapshot hashes to {digest}, not to its published"
                f" {snapshot.pool_hash}.",
                f"存储的名录库快照哈希值为 {digest}，与已公布的 {snapshot.pool_hash} 不一致。",
            )
        )
    if found.seed_kind == "public":
        try:
            expected = str(drawlib.derive_seed(snapshot.pool_hash, found.public_value or ""))
        except ValueError:
            expected = None
        if expected != found.seed:
            problems.append(
                _problem(
                    "seed_not_derived",
                    f"The seed is not the one the published pool hash and the public value"
                    f" {found.public_value!r} give.",
                    f"种子与已公布的名录库哈希值和公开随机值 {found.public_value!r} 推导出的"
                    "种子不一致。",
                )
            )
    return problems


def verify_draw(session: Session, draw_id: int) -> dict[str, Any]:
    """Replay the draw from its stored snapshot and seed; compare with the stored tasks and
    with what was published.  ``problems`` names each check that failed."""
    found = get_draw(session, draw_id)
    snapshot = session.get(PoolSnapshot, found.snapshot_id)
    stored = stored_assignments(session, found.id)
    report: dict[str, Any] = {
        "identical": False,
        "draw_id": found.id,
        "pool_hash_matches": None,
        "algorithm_matches": found.algorithm_version == drawlib.ALGORITHM_VERSION,
        "algorithm_version": found.algorithm_version,
        "tasks": len(stored),
        "error": None,
        "missing": [],
        "unexpected": [],
        "changed": [],
        "problems": [],
    }
    try:  # a corrupt row is a failed verification to report, not a 500
        canonical = zlib.decompress(snapshot.snapshot)
        pool, params = drawlib.parse_canonical_pool(canonical)
        seed = int(found.seed)
        if seed < 0:
            raise ValueError(f"seed {seed} is negative")
    # UnicodeDecodeError is a ValueError; a ratio that is no number, an ArithmeticError
    except (zlib.error, ValueError, ArithmeticError) as exc:
        problem = _problem(
            "snapshot_unreadable",
            f"The stored snapshot or seed cannot be read: {exc}",
            f"存储的名录库快照或种子无法读取：{exc}",
        )
        return {**report, "error": problem["message"], "problems": [problem]}
    problems = _published_inputs(found, snapshot, hashlib.sha256(canonical).hexdigest())
    result = drawlib.verify(
        pool, params, seed, stored,
        stored_pool_hash=found.pool_hash, stored_algorithm_version=found.algorithm_version,
    )  # fmt: skip
    snapshot_ok = not any(p["code"] == "snapshot_hash" for p in problems)
    return {
        **report,
        "identical": result.identical and not problems,
        "pool_hash_matches": result.pool_hash_matches is not False and snapshot_ok,
        "algorithm_matches": result.algorithm_matches,
        "error": result.error,
        "missing": list(result.missing),
        "unexpected": list(result.unexpected),
        "changed": list(result.changed),
        "problems": problems,
    }


# --- tasks ---------------------------------------------------------------------------------


def _task_query(user: Any):  # type: ignore[no-untyped-def]
    stmt = select(Task).join(Enterprise, Enterprise.id == Task.enterprise_id)
    if not has_permission(user, "tasks:read"):
        # an inspector sees only tasks they are currently on
        stmt = stmt.where(
            exists().where(
                TaskAssignment.task_id == Task.id,
                TaskAssignment.released_at.is_(None),
                TaskAssignment.inspector_id
                == select(Inspector.id)
                .where(Inspector.badge == user.inspector_badge)
                .scalar_subquery(),
            )
        )
    return stmt.where(region_clause(user, Enterprise.region))


def list_tasks(session: Session, user: Any, args: dict[str, Any]) -> dict[str, Any]:
    stmt = _task_query(user)
    if args.get("plan"):
        stmt = stmt.where(Task.plan_id == args["plan"])
    if args.get("status"):
        stmt = stmt.where(Task.status == args["status"])
    if args.get("region"):
        stmt = stmt.where(Enterprise.region == args["region"])
    if args.get("badge"):
        stmt = stmt.where(
            exists().where(
                TaskAssignment.task_id == Task.id,
                TaskAssignment.released_at.is_(None),
                TaskAssignment.inspector_id
                == select(Inspector.id).where(Inspector.badge == args["badge"]).scalar_subquery(),
            )
        )
    if args.get("cursor"):
        (last,) = decode_cursor("tasks:id", args["cursor"], (int,))
        stmt = stmt.where(Task.id > last)
    limit = args["limit"]
    rows = list(session.scalars(stmt.order_by(Task.id).limit(limit + 1)).unique())
    next_cursor = encode_cursor("tasks:id", [rows[limit - 1].id]) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}


def get_task(session: Session, user: Any, task_id: int, for_update: bool = False) -> Task:
    stmt = _task_query(user).where(Task.id == task_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Task)
    task = session.scalars(stmt).unique().first()
    if task is None:
        raise NotFound(f"no task {task_id}", message_zh="未找到该任务")
    return task


def reassign(session: Session, user: Any, task_id: int, data: dict[str, Any]) -> Task:
    """Replace an inspector after a late recusal, drawing the replacement by the draw's rules.

    The task's row is locked first (PostgreSQL): two recusals from one task at once both
    read the same team and drew the same replacement, who then stood on it twice.
    """
    task = get_task(session, user, task_id, for_update=True)
    if task.status != "open":
        raise Conflict(f"task is {task.status}", {"task": ["only open tasks are re-assigned"]})
    leaving = next(
        (
            a
            for a in task.assignments
            if a.released_at is None and a.inspector.badge == data["badge"]
        ),
        None,
    )
    if leaving is None:
        raise Unprocessable(
            "not on this task", {"badge": [f"{data['badge']} is not on task {task.id}"]}
        )
    plan = task.plan
    the_draw = session.get(Draw, task.draw_id)
    qualification = the_draw.params.get("qualification") or plan.sector
    on_task = {a.inspector_id for a in task.assignments if a.released_at is None}
    ever_on_task = {a.inspector_id for a in task.assignments}
    conflicted = set(
        session.scalars(
            select(ConflictOfInterest.inspector_id).where(
                ConflictOfInterest.enterprise_id == task.enterprise_id
            )
        )
    )
    frozen_at = the_draw.snapshot_row.frozen_at
    previous = {b for b, u in previous_pairs(session, plan, frozen_at) if u == task.enterprise.uscc}
    stmt = select(Inspector).where(
        Inspector.active,
        exists().where(
            InspectorQualification.inspector_id == Inspector.id,
            InspectorQualification.sector == qualification,
        ),
    )
    if plan.scope_regions:
        stmt = stmt.where(Inspector.region.in_(plan.scope_regions))
    candidates = [
        i for i in session.scalars(stmt.order_by(Inspector.badge))
        if i.id not in ever_on_task and i.id not in conflicted and i.badge not in previous
    ]  # fmt: skip
    load = Counter(
        session.scalars(
            select(TaskAssignment.inspector_id)
            .join(Task, Task.id == TaskAssignment.task_id)
            .where(Task.draw_id == the_draw.id, TaskAssignment.released_at.is_(None))
        )
    )
    candidates = [c for c in candidates if load[c.id] < the_draw.workload_cap]
    if not candidates:
        raise Unprocessable(
            "no eligible inspector is free to replace them",
            {"badge": ["no active, qualified, unconflicted inspector below the workload cap"]},
            message_zh="无符合条件的替换人员",
        )
    least = min(load[c.id] for c in candidates)
    lightest = [c for c in candidates if load[c.id] == least]
    # deterministic and replayable: the draw's seed, the task and how many changes it had
    digest = hashlib.sha256(f"{the_draw.seed}|reassign|{task.id}|{len(task.assignments)}".encode())
    chosen = lightest[int.from_bytes(digest.digest()[:8], "big") % len(lightest)]
    leaving.released_at = utcnow()
    leaving.release_reason = data["reason"]
    session.add(TaskAssignment(task_id=task.id, inspector_id=chosen.id, how="reassign"))
    audit(
        session, user, "task.reassign", "task", task.id,
        {"leaving": data["badge"], "joining": chosen.badge, "reason": data["reason"]},
    )  # fmt: skip
    assert chosen.id not in on_task
    session.commit()
    session.refresh(task)
    return task
