"""Recording results and corrections: validated and judged by the sector plugin, stored
once (idempotency), never altered, each write audited.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased
from uuid_utils import uuid7

from inspect_core import idempotency
from inspect_core.audit.service import record as audit
from inspect_core.auth.access import has_permission
from inspect_core.disclosure.calendar import DISCLOSURE_WORKING_DAYS, add_working_days
from inspect_core.enterprises.models import Enterprise
from inspect_core.errors import ApiError, Conflict, Forbidden, NotFound, Unprocessable
from inspect_core.inspectors.models import Inspector
from inspect_core.judging import Judged, Judger, judgement_json, judger_for
from inspect_core.pagination import decode_cursor, encode_cursor
from inspect_core.plans.models import Plan, Task, TaskAssignment
from inspect_core.plugin_api import SEVERITIES
from inspect_core.results.digest import DIGESTED, python_row_digest
from inspect_core.results.models import (
    RESULT_CODES,
    Attachment,
    CalendarDay,
    Disclosure,
    Result,
)
from inspect_core.results.schemas import NOT_INSPECTED, ResultSchema, ResultWithChainSchema
from inspect_core.scope import region_clause

CHINA = ZoneInfo("Asia/Shanghai")
#: magic numbers of the attachment types accepted
SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA).date()


def _on_task(task: Task, user: Any) -> bool:
    return any(
        a.released_at is None and a.inspector.badge == user.inspector_badge
        for a in task.assignments
    )


def _load_task(session: Session, user: Any, task_id: int) -> Task:
    task = session.scalar(
        select(Task)
        .join(Enterprise, Enterprise.id == Task.enterprise_id)
        .where(Task.id == task_id, region_clause(user, Enterprise.region))
    )
    if task is None:
        raise _no_task(task_id)
    return task


def _no_task(task_id: int) -> NotFound:
    """The answer for a task the caller may not see: the same for one that does not
    exist, so its id tells an inspector nothing (GET /tasks/{id} answers alike)."""
    return NotFound(f"no task {task_id}", message_zh="未找到该任务")


def _decode_attachments(items: list[dict[str, Any]]) -> list[Attachment]:
    limit = int(current_app.config["ATTACHMENT_MAX_BYTES"])
    out = []
    for i, item in enumerate(items):
        field = f"attachments.{i}"
        ctype = item["content_type"].split(";")[0].strip().lower()
        if ctype not in SIGNATURES:
            raise Unprocessable(
                "attachment type not allowed",
                {f"{field}.content_type": [f"allowed: {', '.join(SIGNATURES)}"]},
            )
        try:
            content = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise Unprocessable(
                "attachment is not valid base64", {f"{field}.content_base64": ["not base64"]}
            ) from None
        if len(content) > limit:
            raise ApiError(
                f"attachment larger than {limit} bytes",
                {f"{field}.content_base64": [f"{len(content)} bytes; limit {limit}"]},
                status_code=413,
            )
        if not content.startswith(SIGNATURES[ctype]):
            raise Unprocessable(
                "attachment content does not match its type",
                {f"{field}.content_type": [f"content is not {ctype}"]},
            )
        out.append(
            Attachment(
                filename=item["filename"], content_type=ctype, size=len(content),
                sha256=hashlib.sha256(content).hexdigest(), content=content,
            )
        )  # fmt: skip
    return out


def deadline_for(session: Session, recorded_on: dt.date) -> tuple[dt.date, str]:
    horizon = recorded_on + dt.timedelta(days=60)
    loaded = dict(
        session.execute(
            select(CalendarDay.day, CalendarDay.workday).where(
                CalendarDay.day > recorded_on, CalendarDay.day <= horizon
            )
        ).all()
    )
    # a year counts as loaded if any of its days are, even outside this window
    years = {
        d.year
        for (d,) in session.execute(
            select(CalendarDay.day).where(
                CalendarDay.day >= dt.date(recorded_on.year, 1, 1),
                CalendarDay.day < dt.date(horizon.year + 1, 1, 1),
            )
        )
    }
    return add_working_days(recorded_on, DISCLOSURE_WORKING_DAYS, loaded, years)


@dataclass(frozen=True)
class TaskInfo:
    """What judging a result needs to know of its task: plain data, no ORM, so bulk
    uploads can load it once per task and validate rows without touching the session."""

    id: int
    plan_id: int
    sector: str
    plan_created_on: dt.date
    plan_status: str
    status: str
    enterprise_id: int
    uscc: str
    sectors: tuple[str, ...]
    badges: frozenset[str]
    #: the day (China) the draw made the task: no inspection for it can precede it
    drawn_on: dt.date
    established_on: dt.date | None

    @classmethod
    def of(cls, task: Task) -> TaskInfo:
        return cls(
            id=task.id,
            plan_id=task.plan_id,
            sector=task.plan.sector,
            plan_created_on=task.plan.created_at.astimezone(CHINA).date(),
            plan_status=task.plan.status,
            status=task.status,
            enterprise_id=task.enterprise_id,
            uscc=task.enterprise.uscc,
            sectors=tuple(task.enterprise.sectors),
            badges=frozenset(task.inspectors),
            drawn_on=task.created_at.astimezone(CHINA).date(),
            established_on=task.enterprise.established_on,
        )


def prepare_values(
    user: Any,
    task: TaskInfo,
    data: dict[str, Any],
    today: dt.date,
    due: tuple[dt.date, str],
    judger: Judger | None = None,
    judged: Judged | None = None,
    for_json: bool = False,
) -> dict[str, Any]:
    """Validate and judge one result for ``task``; return the row's column values.

    Shared by the JSON API and bulk uploads, so both apply the same schema, the same plugin
    judgement and the same consistency rules.  Raises :class:`Unprocessable` naming fields.
    ``judged`` is the plugin's answer when a bulk upload's fast path already has it;
    ``for_json`` leaves the judgement as the plugin's dataclass for a bulk upload to encode
    straight to JSON text (:func:`inspect_core.db.json_dumps` writes the same text).
    """
    errors: dict[str, list[str]] = {}
    if data["sector"] != task.sector:
        errors["sector"] = [f"this task belongs to a '{task.sector}' plan"]
    inspected_on = data.get("inspected_on") or today
    if inspected_on > today:
        errors["inspected_on"] = ["in the future"]
    elif inspected_on < task.plan_created_on:
        errors["inspected_on"] = ["before the plan was created"]
    elif inspected_on < task.drawn_on:
        errors["inspected_on"] = [f"before the task was drawn ({task.drawn_on})"]
    elif task.established_on is not None and inspected_on < task.established_on:
        errors["inspected_on"] = [f"before the enterprise was established ({task.established_on})"]
    if data["conclusion_code"] in NOT_INSPECTED and data.get("payload") is not None:
        # judged, a "closed" result with a passing sample was stored as passed: it counted
        # in the KPI pass rates and was disclosed as a pass beside "已关闭停业"
        errors["conclusion_code"] = [
            f"'{data['conclusion_code']}' says nothing was inspected, but sample or "
            "inspection data was given: choose the conclusion of what was found, or leave "
            "the data out"
        ]
    if errors:
        raise Unprocessable("the result does not fit its task", errors)

    context = {
        "recorded_on": today,
        "inspected_on": inspected_on,
        "uscc": task.uscc,
        "sectors": list(task.sectors),
    }
    plugin_findings: list[dict[str, Any]] = []
    facts: dict[str, float] | None = None
    if data["conclusion_code"] in NOT_INSPECTED:
        payload, judgement, passed = None, {"not_inspected": True}, None
        plugin = plugin_version = None
    else:
        if judged is None:  # else a bulk upload's fast path judged it already
            judge = judger or judger_for(task.sector)
            judged = judge(data["payload"], context)
        payload, plugin, plugin_version = judged.payload, judged.plugin, judged.plugin_version
        judgement = judged.judgement if for_json else judgement_json(judged.judgement)
        passed = judged.judgement.passed
        # checked by the judger (declared names, finite numbers); NULL when there are none
        facts = {name: float(value) for name, value in judged.judgement.facts if value} or None
        plugin_findings = [
            {"source": "plugin", "code": f.code, "severity": f.severity,
             "description": f.message_en, "description_zh": f.message_zh, "basis": f.basis}
            for f in judged.judgement.findings
        ]  # fmt: skip
    findings = plugin_findings + [
        {"source": "inspector", "code": f.get("code"), "severity": f["severity"],
         "description": f["description"]}
        for f in data.get("findings", [])
    ]  # fmt: skip
    severities = [f["severity"] for f in findings]
    worst = next((s for s in SEVERITIES if s in severities), None)
    if data["conclusion_code"] == "no_problem" and (
        passed is False or worst in ("critical", "major")
    ):
        raise Unprocessable(
            "the conclusion contradicts the judgement",
            {
                "conclusion_code": [
                    "'no_problem' but the rules or the findings show a critical or major problem"
                ]
            },
            message_zh="结论与判定结果矛盾",
        )
    return {
        "task_id": task.id,
        "plan_id": task.plan_id,
        "enterprise_id": task.enterprise_id,
        "sector": task.sector,
        "inspected_on": inspected_on,
        "payload": payload,
        "judgement": judgement,
        "passed": passed,
        "findings": findings,
        "worst_severity": worst,
        "critical_count": severities.count("critical"),
        "major_count": severities.count("major"),
        "minor_count": severities.count("minor"),
        "conclusion_code": data["conclusion_code"],
        "facts": facts,
        "plugin": plugin,
        "plugin_version": plugin_version,
        "recorded_by": user.username,
        "disclosure_due": due[0],
        "disclosure_basis": due[1],
    }


def _build(
    session: Session,
    user: Any,
    task: Task,
    data: dict[str, Any],
    version: int,
    chain: str,
    supersedes: Result | None,
    reason: str | None,
    due: tuple[dt.date, str] | None = None,
) -> Result:
    """Validate, judge and add one result version (not committed); ``due`` is the
    disclosure deadline, by default counted from today."""
    today = today_in_china()
    info = TaskInfo.of(task)
    if session.get_bind().dialect.name == "postgresql":
        # FOR SHARE on the enterprise row: a PATCH moving established_on (which takes FOR
        # NO KEY UPDATE) waits for this result, then sees it; one already under way is
        # waited for here, and its new date read (the loaded task may hold the old one)
        established = session.scalar(
            select(Enterprise.established_on)
            .where(Enterprise.id == task.enterprise_id)
            .with_for_update(read=True)
        )
        info = replace(info, established_on=established)
    values = prepare_values(user, info, data, today, due or deadline_for(session, today))
    result = Result(
        **values,
        chain=chain,
        version=version,
        supersedes_id=supersedes.id if supersedes else None,
        correction_reason=reason,
        attachments=_decode_attachments(data.get("attachments", [])),
    )
    session.add(result)
    session.flush()
    return result


def _dump(session: Session, result: Result) -> dict[str, Any]:
    body = ResultSchema().dump(result)
    return body


def record_result(
    session: Session, user: Any, task_id: int, data: dict[str, Any], key: str | None
) -> tuple[int, dict[str, Any], bool]:
    """An assigned inspector records a result; the idempotency key makes a retry harmless."""

    def work() -> tuple[int, dict[str, Any]]:
        task = _load_task(session, user, task_id)
        _lock_plan(session, task)
        if not _on_task(task, user):
            # only an inspector on the task sees it (plans.service._task_query): to any
            # other it is absent, not forbidden, or its id would tell that it exists
            raise _no_task(task_id)
        _check_open(task)
        result = _build(session, user, task, data, 1, str(uuid7()), None, None)
        task.status = "done"
        audit(session, user, "result.record", "result", result.id, _audit_body(result))
        return 201, _dump(session, result)

    return idempotency.run(session, user, key, f"POST /tasks/{task_id}/results", data, work)


def _lock_plan(session: Session, task: Task) -> None:
    """FOR SHARE on the task's plan (PostgreSQL), then the task and plan read afresh.

    A re-draw (FOR UPDATE on the plan) superseded a task while a result for it was being
    recorded: the result's ``done`` overwrote ``superseded``, so the result stood on a
    draw no longer current and the new draw gave the enterprise a second task.  Now the
    re-draw waits for the result and sees it (results recorded: a 409), or the result
    waits for the re-draw and sees its task superseded; closing the plan likewise.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(select(Plan.id).where(Plan.id == task.plan_id).with_for_update(read=True))
    session.refresh(task.plan)
    session.refresh(task)


def _check_open(task: Task) -> None:
    if task.plan.status == "closed":
        raise Conflict(
            "the plan is closed; no more results are recorded",
            {"plan": ["closed"]},
            message_zh="抽查计划已关闭",
        )
    if task.status == "superseded":
        raise Conflict(
            "this task was superseded by a re-draw",
            {"task": ["superseded"]},
            message_zh="该任务已因重新抽取而作废",
        )


def _audit_body(result: Result) -> dict[str, Any]:
    return {
        "chain": result.chain,
        "version": result.version,
        "task": result.task_id,
        "conclusion": result.conclusion_code,
        "passed": result.passed,
        "payload_sha256": hashlib.sha256(
            idempotency.fingerprint("", result.payload).encode()
        ).hexdigest(),
        "attachments": [a.sha256 for a in result.attachments],
        # what a reader is shown of each: checked by ``audit verify --records`` too
        "attachment_files": [
            {
                "sha256": a.sha256,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
            }
            for a in result.attachments
        ],
        # the whole stored row, which ``audit verify --records`` checks it against
        "row_sha256": python_row_digest({name: getattr(result, name) for name in DIGESTED}).hex(),
    }


def _no_result(result_id: int) -> NotFound:
    """The answer for a result the caller may not read: the same as for one that does not
    exist, to the letter (``message_zh`` too), so probing ids tells nothing."""
    return NotFound(f"no result {result_id}", message_zh="未找到该结果")


def _readable(session: Session, user: Any, result_id: int) -> Result:
    result = session.scalar(
        select(Result)
        .join(Enterprise, Enterprise.id == Result.enterprise_id)
        .where(Result.id == result_id, region_clause(user, Enterprise.region))
    )
    if result is None:
        raise _no_result(result_id)
    # only an inspector now on the task, as for the task itself: one released (回避, a
    # conflict of interest with the enterprise) read what the new team recorded
    if not has_permission(user, "results:read") and not _on_task(
        session.get(Task, result.task_id), user
    ):
        raise _no_result(result_id)
    return result


def current_of_chain(session: Session, chain: str) -> Result:
    newer = aliased(Result)
    return session.scalar(
        select(Result).where(
            Result.chain == chain, ~exists().where(newer.supersedes_id == Result.id)
        )
    )


def correct(
    session: Session, user: Any, result_id: int, data: dict[str, Any], key: str | None
) -> tuple[int, dict[str, Any], bool]:
    """A correction: a new version superseding the current one, with a reason."""

    def work() -> tuple[int, dict[str, Any]]:
        old = _readable(session, user, result_id)
        task = session.get(Task, old.task_id)
        _lock_plan(session, task)
        if not (has_permission(user, "results:correct") or _on_task(task, user)):
            raise Forbidden("only the task's inspectors or a regulator may correct a result")
        if session.get_bind().dialect.name == "postgresql":
            # two corrections of one version at once both found it current, and the second
            # insert broke the unique version (a 500); the task's row (the results table
            # takes no row locks: no UPDATE privilege) makes the second wait, then see the
            # first and get the 409, or, sent with the same key, its replay
            session.execute(
                select(Task.id).where(Task.id == task.id).with_for_update(key_share=True)
            )
        current = current_of_chain(session, old.chain)
        if current.id != old.id:
            raise Conflict(
                f"result {old.id} was superseded by {current.id}; correct the current version",
                {"result": [f"current version is {current.id}"]},
                message_zh=f"结果 {old.id} 已被 {current.id} 更正取代，请更正当前版本",
            )
        if task.plan.status == "closed":
            raise Conflict("the plan is closed", {"plan": ["closed"]}, message_zh="抽查计划已关闭")
        fields = {k: v for k, v in data.items() if k != "reason"}
        if fields.get("inspected_on") is None:
            # a correction restates what was found on that inspection: left out, its day
            # defaulted to today, and a December result corrected in January moved to the
            # next year's KPIs (and out of its own year's)
            fields["inspected_on"] = old.inspected_on
        # the deadline is the result's, not the correction's: counted again from the
        # correction, a result overdue for disclosure left the overdue list once corrected
        due = (old.disclosure_due, old.disclosure_basis)
        new = _build(
            session, user, task, fields, old.version + 1, old.chain, old, data["reason"], due
        )
        audit(
            session,
            user,
            "result.correct",
            "result",
            new.id,
            {**_audit_body(new), "supersedes": old.id, "reason": data["reason"]},
        )
        return 201, _dump(session, new)

    return idempotency.run(session, user, key, f"POST /results/{result_id}/corrections", data, work)


def with_chain(session: Session, user: Any, result_id: int) -> dict[str, Any]:
    """The current version of the result's chain, plus every version (oldest first)."""
    asked = _readable(session, user, result_id)
    versions = list(
        session.scalars(select(Result).where(Result.chain == asked.chain).order_by(Result.version))
    )
    current = current_of_chain(session, asked.chain)
    disclosed = session.scalar(
        select(Disclosure.disclosed_at).where(Disclosure.chain == asked.chain)
    )
    body = ResultWithChainSchema().dump(current)
    body["current"] = True
    body["versions"] = [
        {"id": v.id, "version": v.version, "recorded_at": v.recorded_at.isoformat(),
         "recorded_by": v.recorded_by, "correction_reason": v.correction_reason,
         "conclusion_code": v.conclusion_code, "passed": v.passed}
        for v in versions
    ]  # fmt: skip
    body["disclosed_at"] = disclosed.isoformat() if disclosed else None
    return body


def list_results(session: Session, user: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Current versions only, newest result first, by its first version's id.

    Paged by the current version's id, a result corrected while a reader paged took a new,
    higher id, jumped ahead of the cursor and was never listed (``/public/results`` alike).
    """
    newer = aliased(Result)
    first = aliased(Result)
    stmt = (
        select(Result, first.id)
        .join(first, and_(first.chain == Result.chain, first.version == 1))
        .join(Enterprise, Enterprise.id == Result.enterprise_id)
        .where(
            region_clause(user, Enterprise.region),
            ~exists().where(newer.supersedes_id == Result.id),
        )
    )
    if not has_permission(user, "results:read"):
        stmt = stmt.where(
            exists().where(
                TaskAssignment.task_id == Result.task_id,
                TaskAssignment.released_at.is_(None),
                TaskAssignment.inspector_id
                == select(Inspector.id)
                .where(Inspector.badge == user.inspector_badge)
                .scalar_subquery(),
            )
        )
    if args.get("plan"):
        stmt = stmt.where(Result.plan_id == args["plan"])
    if args.get("uscc"):
        stmt = stmt.where(Enterprise.uscc == args["uscc"])
    if args.get("sector"):
        stmt = stmt.where(Result.sector == args["sector"])
    if "passed" in args:
        stmt = stmt.where(Result.passed == args["passed"])
    if args.get("cursor"):
        (last,) = decode_cursor("results:first", args["cursor"], (int,))
        stmt = stmt.where(first.id < last)
    limit = args["limit"]
    rows = session.execute(stmt.order_by(first.id.desc()).limit(limit + 1)).all()
    next_cursor = (
        encode_cursor("results:first", [rows[limit - 1][1]]) if len(rows) > limit else None
    )
    return {"items": [result for result, _ in rows[:limit]], "next_cursor": next_cursor}


def conclusion_labels(code: str) -> tuple[str, str]:
    return RESULT_CODES[code]
