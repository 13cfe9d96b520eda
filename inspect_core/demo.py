"""The demo district: registries, one account per role, printed credentials.

Loading is idempotent: a database that already has the demo users is left as it is,
so ``make demo`` can be run again without duplicating anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from inspect_core.auth.models import User
from inspect_core.auth.service import create_user
from inspect_core.db import db
from inspect_core.inspectors.models import Inspector
from inspect_core.plans.models import Task, TaskAssignment
from inspect_core.simulate import simulate


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    badge: str | None = None
    regions: tuple[str, ...] = ()


def demo_accounts(first_badge: str) -> list[DemoAccount]:
    return [
        DemoAccount("admin", "demo-admin-pass", "admin"),
        DemoAccount("regulator", "demo-regulator-pass", "regulator"),
        DemoAccount("huayan", "demo-huayan-pass", "regulator", regions=("华岩镇",)),
        DemoAccount("inspector", "demo-inspector-pass", "inspector", badge=first_badge),
        DemoAccount("food_team", "demo-sector-pass", "sector_admin"),
    ]


@dataclass(frozen=True)
class Actor:
    """A service-layer caller for the demo's scripted steps (not a login)."""

    username: str
    role: str
    id: int | None = None
    inspector_badge: str | None = None
    regions: tuple[str, ...] = ()


def run_demo_loop(seed: int) -> dict[str, int]:
    """Plan a rice-cadmium spot check, freeze the pool, draw it from a public value, record
    results for about half the tasks, publish and disclose them: the whole loop once."""
    import datetime as dt
    import random

    from inspect_core.disclosure.service import disclose_plan
    from inspect_core.plans import service as plans
    from inspect_core.results import service as results
    from inspect_core.results.service import today_in_china

    session = db.session
    regulator = Actor("regulator", "regulator")
    plan = plans.create_plan(
        session,
        regulator,
        {
            "title": "2026年大米及其制品镉含量专项抽查（演示）",
            "issuing_unit": "重庆市九龙坡区市场监督管理局",
            "sector": "food",
            "check_items": [
                {
                    "code": "F-CD",
                    "name_zh": "镉（以Cd计）",
                    "name_en": "Cadmium (as Cd)",
                    "key": True,
                },
                {"code": "F-PB", "name_zh": "铅（以Pb计）", "name_en": "Lead (as Pb)", "key": True},
            ],
            "scope_regions": [],
            "scope_statuses": ["active"],
            "ratios": {"A": "0.03", "B": "0.05", "C": "0.3", "D": "0.8"},
            "inspectors_per_task": 2,
            "due_date": today_in_china() + dt.timedelta(days=45),
        },
    )
    snapshot = plans.freeze_pool(session, regulator, plan.id)
    drawn, n_tasks = plans.run_draw(
        session,
        regulator,
        plan.id,
        {
            "public_value": "3 1 7",
            "public_source": "演示数据：模拟的公开开奖号码（真实抽取须填写彩票期号与开奖号码）",
            "public_drawn_at": snapshot.frozen_at + dt.timedelta(seconds=1),
        },
    )
    rng = random.Random(seed)
    recorded = 0
    tasks = session.scalars(select(Task).where(Task.draw_id == drawn.id).order_by(Task.id)).all()
    today = today_in_china()
    for task in tasks[: max(1, len(tasks) // 2)]:
        badge = task.inspectors[0]
        inspector = Actor(f"inspector-{badge}", "inspector", inspector_badge=badge)
        value = rng.choice(["0.03", "0.06", "0.08", "0.11", "0.15", "0.19", "0.24", "0.31"])
        failed = value in ("0.24", "0.31")
        payload = {
            "sample_no": f"DEMO-{task.id:05d}",
            "food_name": "大米",
            "food_category": "cereal.rice.milled",
            "batch": today.strftime("%Y%m%d"),
            "sampling_date": today.isoformat(),
            "stage": "circulation",
            "items": [
                {"item": "Cd", "value": value, "unit": "mg/kg", "method": "GB 5009.15-2023"},
                {"item": "Pb", "value": None, "qualifier": "ND", "lod": "0.02", "unit": "mg/kg"},
            ],
        }
        results.record_result(
            session, inspector, task.id,
            {"sector": "food", "payload": payload, "inspected_on": today,
             "conclusion_code": "corrected" if failed else "no_problem", "findings": [],
             "attachments": []},
            None,
        )  # fmt: skip
        recorded += 1
    plans.update_plan(session, regulator, plan.id, {"status": "published"})
    disclosed = disclose_plan(session, regulator, plan.id)
    return {"plan": plan.id, "draw": drawn.id, "tasks": n_tasks, "results": recorded,
            "disclosed": disclosed}  # fmt: skip


@dataclass(frozen=True)
class History:
    """What :func:`seed_history` made: the results, and each inspector's simulated
    strictness (by badge), which ``/scoring/inspector-effects`` should recover."""

    results: int
    strictness: dict[str, float]
    #: enterprise ids the simulation made risky (the credit record follows them)
    risky: frozenset[int] = frozenset()


def seed_history(seed: int, years: int = 2, rounds_a_year: int = 2) -> History:
    """Two years of earlier food spot checks for the demo, so scoring has history to learn
    from: a closed plan a round (twice a year), each drawn as the real ones are (half the
    enterprises, two random inspectors a task), with one result a task dated in its round.
    A third of the enterprises are risky: frequent major findings, and more minor ones (as
    in real checks; minor counts unrelated to risk left most clean records tied on one
    score, and tier A, 30 % of a top that held 71 %, empty), and inspectors differ
    in how much they find (a strictness factor each, log-normal, applied through the mean
    of the drawn team's), so ``/scoring/inspector-effects`` has something to measure: a
    new team every round, as in a double-random programme, keeps an enterprise's record
    from carrying one team's strictness into the next check.  Simulated data, marked as
    such."""
    import datetime as dt
    import uuid

    import numpy as np

    from inspect_core.audit.records import store_loaded
    from inspect_core.enterprises.models import Enterprise
    from inspect_core.plans import service as plans
    from inspect_core.results.service import today_in_china

    session = db.session
    regulator = Actor("regulator", "regulator")
    today = today_in_china()
    # a stream of its own: simulate() draws the registry (who is in food) from
    # default_rng(seed), and the same numbers here made food enterprises 56 % risky
    rng = np.random.default_rng([seed, 1])
    ids = session.scalars(select(Enterprise.id).order_by(Enterprise.id)).all()
    risky = dict(zip(ids, rng.random(len(ids)) < 0.3, strict=True))
    # relative to the average inspector (mean 1), so the district's finding rate is the
    # enterprises' and only who finds it varies
    everyone = session.scalars(select(Inspector.id).order_by(Inspector.id)).all()
    factors = rng.lognormal(0.0, 0.4, len(everyone))
    strictness = dict(zip(everyone, (factors / factors.mean()).tolist(), strict=True))
    drawn: set[int] = set()
    rows = []
    rounds = years * rounds_a_year
    span = 365 // rounds_a_year
    for k in range(rounds):
        plan = plans.create_plan(
            session,
            regulator,
            {
                "title": f"历史抽查记录第{k + 1}轮（模拟数据，供信用评分演示）",
                "issuing_unit": "重庆市九龙坡区市场监督管理局",
                "sector": "food",
                "check_items": [
                    {
                        "code": "F-HIST",
                        "name_zh": "综合检查",
                        "name_en": "General check",
                        "key": True,
                    }
                ],
                "scope_regions": [],
                "scope_statuses": ["active"],
                "ratios": {"A": "0.5", "B": "0.5", "C": "0.5", "D": "0.5"},
                "inspectors_per_task": 2,
                "due_date": today,
            },
        )
        plans.run_draw(session, regulator, plan.id, {"seed": seed * 100 + k})
        teams: dict[int, list[int]] = {}
        for task_id, inspector_id in session.execute(
            select(TaskAssignment.task_id, TaskAssignment.inspector_id)
            .join(Task, Task.id == TaskAssignment.task_id)
            .where(Task.plan_id == plan.id)
            .order_by(TaskAssignment.task_id, TaskAssignment.inspector_id)
        ):
            teams.setdefault(task_id, []).append(inspector_id)
        drawn.update(i for team in teams.values() for i in team)
        # round k covers the span ending 30 + (rounds - 1 - k) spans before today
        newest = 30 + (rounds - 1 - k) * span
        tasks = session.scalars(select(Task).where(Task.plan_id == plan.id).order_by(Task.id))
        for task in tasks:
            finds = float(np.mean([strictness[i] for i in teams.get(task.id, [])] or [1.0]))
            base = 0.55 if risky[task.enterprise_id] else 0.08
            major = int(rng.random() < min(0.95, base * finds))
            critical = int(major and rng.random() < 0.2)
            minors = int(rng.poisson((1.6 if risky[task.enterprise_id] else 0.5) * finds))
            day = today - dt.timedelta(days=int(newest + rng.integers(0, span)))
            # what the food plugin would remember of such a sample (Judgement.facts)
            facts = {
                name: 1.0
                for name, hit in (("food_banned_hits", critical),
                                  ("food_limit_exceedances", major and not critical))
                if hit
            }  # fmt: skip
            rows.append({
                "chain": str(uuid.uuid4()), "version": 1, "task_id": task.id, "plan_id": plan.id,
                "enterprise_id": task.enterprise_id, "sector": "food", "inspected_on": day,
                "payload": {"simulated": True}, "judgement": {"simulated": True},
                "passed": not major, "findings": [], "worst_severity": "major" if major else None,
                "critical_count": critical, "major_count": major - critical,
                "minor_count": minors,
                "conclusion_code": "corrected" if major else "no_problem",
                "facts": facts or None, "recorded_by": "history-import",
                "recorded_at": dt.datetime.now(dt.UTC),
                "disclosure_due": day, "disclosure_basis": "calendar",
            })  # fmt: skip
        session.execute(
            Task.__table__.update().where(Task.plan_id == plan.id).values(status="done")
        )
        plans.update_plan(session, regulator, plan.id, {"status": "published"})
        plans.update_plan(session, regulator, plan.id, {"status": "closed"})
    store_loaded(session, "history-import", rows, simulated=True)
    badges = dict(
        session.execute(select(Inspector.id, Inspector.badge).where(Inspector.id.in_(drawn))).all()
    )
    return History(
        len(rows),
        {badges[i]: strictness[i] for i in drawn},
        frozenset(i for i, r in risky.items() if r),
    )


@dataclass(frozen=True)
class CreditSpec:
    """How the demo simulates one credit event type: its chance per enterprise over
    ``span`` days for a risky enterprise and for the others, its severities (weighted),
    the sectors it can concern (empty: any), a source's pattern and descriptions, each
    with the sector it needs ("": any)."""

    risky: float
    other: float
    severities: tuple[tuple[str, float], ...]
    span: int
    sectors: tuple[str, ...]
    source: str
    descriptions: tuple[tuple[str, str], ...]
    #: chance that an event the rules let be repaired was repaired
    repaired: float = 0.0
    #: share of the unrepaired events withdrawn (更正/撤销; rounded up), and the reason; a
    #: withdrawn penalty of a severity ``CORRECTED`` lowers was corrected, not annulled
    withdrawn: float = 0.0
    withdrawal_reason: str = ""


#: a district's credit record beside its checks: penalties, complaints and listings fall
#: mostly on the risky, certifications mostly on the others, and the serious-dishonesty
#: list about 0.4 % of the businesses (simulated shares, not a published figure)
CREDIT_SPECS: dict[str, CreditSpec] = {
    "penalty": CreditSpec(
        0.18, 0.03, (("minor", 0.5), ("major", 0.4), ("critical", 0.1)), 3 * 365, (),
        "九龙坡市监处罚〔{y}〕{n}号",
        (("food", "销售超过保质期的食品"), ("food", "未按规定查验、记录进货"),
         ("", "经营标签不符合规定的产品"), ("special_equipment", "使用未经定期检验的特种设备"),
         ("drugs", "未按规定执行药品追溯制度"), ("construction", "未按规定组织竣工验收")),
        repaired=0.25, withdrawn=0.05,
        withdrawal_reason="经行政复议，原处罚决定的违法情节认定有误，予以更正（模拟数据）",
    ),
    "complaint": CreditSpec(
        0.12, 0.04, (("minor", 0.8), ("major", 0.2)), 2 * 365, (),
        "12315平台投诉举报 {y}{n:06d}",
        (("food", "消费者反映商品变质"), ("", "消费者反映价格不实"),
         ("", "消费者反映售后服务问题")),
        withdrawn=0.03, withdrawal_reason="经核查投诉举报不实，予以撤销（模拟数据）",
    ),
    "abnormal_operations": CreditSpec(
        0.03, 0.02, (("minor", 1.0),), 3 * 365, (),
        "九龙坡市监异常〔{y}〕{n}号",
        (("", "未按规定期限公示年度报告"), ("", "通过登记的住所或经营场所无法联系")),
        repaired=0.6,
    ),
    "recall": CreditSpec(
        0.04, 0.005, (("major", 1.0),), 2 * 365, ("food", "drugs", "industrial_products"),
        "产品召回公告〔{y}〕{n}号",
        (("", "主动召回标签标识不符合规定的批次"), ("", "召回检验不合格批次")),
    ),
    "incident": CreditSpec(
        0.01, 0.001, (("major", 0.7), ("critical", 0.3)), 3 * 365, (),
        "九龙坡区质量安全事故调查报告〔{y}〕{n}号",
        (("special_equipment", "电梯困人事故"), ("food", "群体性食源性疾病事件"),
         ("", "产品质量安全事故")),
    ),
    "serious_dishonesty": CreditSpec(
        0.012, 0.001, (("critical", 1.0),), 3 * 365, (),
        "渝市监失信〔{y}〕{n}号",
        (("", "因严重违法行为受到较重行政处罚，列入严重违法失信名单"),),
        repaired=0.5, withdrawn=0.1,
        withdrawal_reason="据以列入的行政处罚决定经行政诉讼被撤销，移出名单（模拟数据）",
    ),
    "certification": CreditSpec(
        0.04, 0.10, (("positive", 1.0),), 3 * 365, (),
        "认证证书 CQC-{y}-{n:05d}",
        (("", "GB/T 19001 质量管理体系认证"), ("food", "HACCP 体系认证")),
    ),
    "quality_award": CreditSpec(
        0.0, 0.005, (("positive", 1.0),), 3 * 365, (),
        "九龙坡区人民政府质量奖（{y}年度）第{n}号",
        (("", "区长质量奖"),),
    ),
}  # fmt: skip


#: a withdrawn penalty of this severity was corrected to the next lower one (recorded in
#: its place); of any other, annulled outright
CORRECTED = {"critical": "major", "major": "minor"}


def _description(spec: CreditSpec, held: set[str], rng: Any) -> str:
    """One of the spec's descriptions that fits the enterprise's sectors."""
    fitting = [text for sector, text in spec.descriptions if not sector or sector in held]
    return str(fitting[int(rng.integers(0, len(fitting)))])


@dataclass(frozen=True)
class CreditRecord:
    """What :func:`seed_credit_record` made: events by type (the corrected ones among
    them), how many were repaired, withdrawn, and withdrawn with a corrected event."""

    events: dict[str, int]
    repaired: int
    withdrawn: int = 0
    corrected: int = 0


def seed_credit_record(seed: int, history: History) -> CreditRecord:
    """Three years of the district's credit record (penalties, complaints, listings,
    recalls, incidents, certifications, awards), some repairs and some withdrawals
    (penalties corrected on review, complaints found unfounded, listings annulled), so the
    demo shows what a regulator's district holds: credit reasons in the ranked list, the
    serious-dishonesty list's tier D, events with repairs and withdrawn events on an
    enterprise's credit page.  Risky enterprises
    (``history.risky``) draw most of the negative events.  Each event is dated after its
    enterprise was established, with the expiry and repair wait the credit rules give;
    marked simulated, as the history is."""
    import datetime as dt

    import numpy as np
    from flask import current_app

    from inspect_core.credit import rules
    from inspect_core.credit.models import CreditEvent, CreditRepair, CreditWithdrawal
    from inspect_core.enterprises.models import Enterprise, EnterpriseSector
    from inspect_core.results.service import today_in_china

    session = db.session
    config = current_app.config
    today = today_in_china()
    rng = np.random.default_rng([seed, 2])
    founded = dict(session.execute(select(Enterprise.id, Enterprise.established_on)).all())
    sectors: dict[int, set[str]] = {}
    for enterprise_id, sector in session.execute(
        select(EnterpriseSector.enterprise_id, EnterpriseSector.sector)
    ):
        sectors.setdefault(enterprise_id, set()).add(sector)
    ids = np.array(sorted(founded))
    risky = np.isin(ids, list(history.risky))
    numbers: dict[tuple[str, int], int] = {}
    events: list[CreditEvent] = []
    for kind, spec in CREDIT_SPECS.items():
        chance = np.where(risky, spec.risky, spec.other)
        levels, weights = zip(*spec.severities, strict=True)
        for enterprise_id in ids[rng.random(len(ids)) < chance].tolist():
            held = sectors.get(enterprise_id, set())
            if spec.sectors and not held & set(spec.sectors):
                continue
            start = max(today - dt.timedelta(days=spec.span), founded[enterprise_id] or today)
            if start >= today:
                continue
            occurred = start + dt.timedelta(days=int(rng.integers(0, (today - start).days)))
            severity = str(rng.choice(levels, p=np.array(weights) / sum(weights)))
            numbers[kind, occurred.year] = numbers.get((kind, occurred.year), 0) + 1
            events.append(CreditEvent(
                enterprise_id=enterprise_id, type=kind, occurred_on=occurred, severity=severity,
                source=spec.source.format(y=occurred.year, n=numbers[kind, occurred.year]),
                description=f"{_description(spec, held, rng)}（模拟数据）",
                expires_on=rules.default_expiry(config, kind, severity, occurred),
                recorded_by="history-import",
            ))  # fmt: skip
    session.add_all(events)
    session.flush()
    repairs = []
    for event in events:
        spec = CREDIT_SPECS[event.type]
        earliest = rules.repairable_from(
            config, event.type, event.severity, event.occurred_on,
            sectors.get(event.enterprise_id, ()), event.expires_on,
        )  # fmt: skip
        if earliest is None or earliest > today or rng.random() >= spec.repaired:
            continue
        effective = min(today, earliest + dt.timedelta(days=int(rng.integers(0, 120))))
        if event.expires_on is not None and effective >= event.expires_on:
            continue
        repairs.append(CreditRepair(
            event_id=event.id, effective_on=effective, recorded_by="history-import",
            reason="已履行法定义务并完成整改，经申请予以信用修复（模拟数据）",
        ))  # fmt: skip
    session.add_all(repairs)
    session.flush()
    repaired = {r.event_id for r in repairs}
    withdrawn: list[tuple[CreditEvent, CreditEvent | None]] = []
    for kind, spec in CREDIT_SPECS.items():
        open_events = [e for e in events if e.type == kind and e.id not in repaired]
        count = math.ceil(spec.withdrawn * len(open_events))  # each kind shows at least one
        for n in sorted(rng.choice(len(open_events), size=count, replace=False).tolist()):
            event = open_events[n]
            lower = CORRECTED.get(event.severity) if kind == "penalty" else None
            corrected = None
            if lower is not None:  # the same decision, its severity corrected
                corrected = CreditEvent(
                    enterprise_id=event.enterprise_id, type=kind,
                    occurred_on=event.occurred_on, severity=lower, source=event.source,
                    description=event.description, recorded_by="history-import",
                    expires_on=rules.default_expiry(config, kind, lower, event.occurred_on),
                )  # fmt: skip
            withdrawn.append((event, corrected))
    session.add_all([corrected for _, corrected in withdrawn if corrected is not None])
    session.flush()
    session.add_all([
        CreditWithdrawal(
            event_id=event.id, replaced_by_id=corrected.id if corrected else None,
            reason=CREDIT_SPECS[event.type].withdrawal_reason, recorded_by="history-import",
        )
        for event, corrected in withdrawn
    ])  # fmt: skip
    session.flush()
    counts = {kind: sum(e.type == kind for e in events) for kind in CREDIT_SPECS}
    counts["penalty"] += sum(corrected is not None for _, corrected in withdrawn)
    return CreditRecord(
        counts, len(repairs), len(withdrawn), sum(c is not None for _, c in withdrawn)
    )


def load_demo(n_enterprises: int, n_inspectors: int, seed: int) -> tuple[bool, list[DemoAccount]]:
    """Fill an empty database; returns (loaded_now, accounts)."""
    session = db.session
    if session.scalar(select(User.id).where(User.username == "admin")) is not None:
        badge = session.scalar(select(User.inspector_badge).where(User.username == "inspector"))
        return False, demo_accounts(badge or "")
    session.rollback()  # end the read before the bulk load takes the write lock
    simulate(db.engine, n_enterprises, n_inspectors, seed, progress=False)
    badge = session.scalar(select(Inspector.badge).where(Inspector.active).order_by(Inspector.id))
    accounts = demo_accounts(badge or "")
    for account in accounts:
        create_user(
            session, account.username, account.password, account.role, account.badge,
            account.regions,
        )  # fmt: skip
    session.commit()
    return True, accounts
