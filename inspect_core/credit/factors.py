"""The sector risk factors plugins contribute (``inspect_risk_factors``), for one enterprise.

Shown on the enterprise's credit page, computed on request from its current stored
results, so a regulator sees what each sector's rules make of the record (e.g. limit
exceedances in food samples, special equipment overdue for its periodic inspection)
beside the model's reasons.

The hook reads every result's payload and judgement; that is cheap for one enterprise,
but not for a whole district's rescoring (ten million stored food results are about
19 GB of JSON), so the credit models use the compact ``Judgement.facts`` each result
stores instead.

Each sector's answer comes from the plugin that owns the sector, called on its own and
checked like any untrusted input (OWASP API10): a plugin that raises or answers in the
wrong shape costs its own section an error message, never the page.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from inspect_core.enterprises.models import Enterprise
from inspect_core.plugin_api import RiskFactor
from inspect_core.plugin_manager import get_pm, sector_owners
from inspect_core.results.models import Result
from inspect_core.results.service import CHINA

log = logging.getLogger(__name__)

#: bounds on what one plugin may put on a page
MAX_FACTORS = 50
MAX_TEXT = 200


def _history(session: Session, enterprise_id: int, as_of: dt.date) -> dict[str, list[dict]]:
    """Current versions of the enterprise's results recorded before ``as_of``, by sector,
    in the shape the hook documents (``recorded_on``, ``payload``, ``judgement``)."""
    newer = aliased(Result)
    rows = session.execute(
        select(Result.sector, Result.recorded_at, Result.inspected_on, Result.payload,
               Result.judgement)
        .where(Result.enterprise_id == enterprise_id,
               ~exists().where(newer.supersedes_id == Result.id))
        .order_by(Result.recorded_at, Result.id)
    ).all()  # fmt: skip
    by_sector: dict[str, list[dict]] = {}
    for sector, recorded_at, inspected_on, payload, judgement in rows:
        recorded_on = recorded_at.astimezone(CHINA).date()
        if recorded_on >= as_of:
            continue  # the hook must not see anything dated on or after as_of
        by_sector.setdefault(sector, []).append(
            {"recorded_on": recorded_on, "inspected_on": inspected_on, "payload": payload,
             "judgement": judgement}
        )  # fmt: skip
    return by_sector


def _checked(answer: Any) -> list[dict[str, Any]]:
    """The plugin's factors as plain data, or ``ValueError`` saying what is wrong."""
    if answer is None:
        return []
    if isinstance(answer, str | bytes) or not isinstance(answer, Sequence):
        raise ValueError(f"answered {type(answer).__name__}, not a list of RiskFactor")
    if len(answer) > MAX_FACTORS:
        raise ValueError(f"answered {len(answer)} factors, more than {MAX_FACTORS}")
    out = []
    for factor in answer:
        if not isinstance(factor, RiskFactor):
            raise ValueError(f"answered {type(factor).__name__}, not a RiskFactor")
        value = factor.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"factor {factor.name!r} has a non-numeric value")
        if not math.isfinite(float(value)):
            raise ValueError(f"factor {factor.name!r} is not a finite number")
        texts = (factor.name, factor.description_zh, factor.description_en)
        if not all(isinstance(t, str) and len(t) <= MAX_TEXT for t in texts) or not factor.name:
            raise ValueError("a factor's name or description is missing, not text or too long")
        out.append(
            {"name": factor.name, "value": float(value),
             "text_zh": factor.description_zh or factor.name,
             "text_en": factor.description_en or factor.name}
        )  # fmt: skip
    return out


def sector_factors(
    session: Session, enterprise: Enterprise, as_of: dt.date
) -> list[dict[str, Any]]:
    """Per sector of the enterprise (registered or with results) whose plugin implements
    ``inspect_risk_factors``: ``{sector, plugin, factors, error, error_zh}``."""
    pm = get_pm()
    owners = sector_owners(pm)
    impls = {impl.plugin_name: impl for impl in pm.hook.inspect_risk_factors.get_hookimpls()}
    history = _history(session, enterprise.id, as_of)
    out = []
    for sector in sorted(set(enterprise.sectors) | set(history)):
        owner = owners.get(sector)
        impl = impls.get(owner[0]) if owner else None
        if owner is None or impl is None:
            continue
        plugin = owner[0]
        entry: dict[str, Any] = {"sector": sector, "plugin": plugin, "factors": [],
                                 "error": None, "error_zh": None}  # fmt: skip
        try:
            # as pluggy calls a hook: only the arguments the implementation names (the
            # contract lets it take fewer; passing all three was a TypeError on its page)
            given = {"sector": sector, "results": history.get(sector, []), "as_of": as_of}
            answer = impl.function(**{k: v for k, v in given.items() if k in impl.argnames})
            entry["factors"] = _checked(answer)
        except Exception as exc:  # noqa: BLE001 - a plugin fault costs its section only
            log.warning("plugin %s failed on inspect_risk_factors(%s)", plugin, sector,
                        exc_info=True)  # fmt: skip
            reason = f"{type(exc).__name__}: {exc}"[:MAX_TEXT]
            entry["error"] = f"plugin {plugin} could not compute its risk factors ({reason})"
            entry["error_zh"] = f"插件 {plugin} 未能计算风险因素（{reason}）"
        out.append(entry)
    return out
