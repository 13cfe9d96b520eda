"""Payload factories for the registries (valid by construction)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from inspect_core.results import service as results_service
from inspect_core.simulate import make_uscc

_seq = itertools.count(900_000)


def uscc() -> str:
    """A fresh valid USCC."""
    return make_uscc(next(_seq))


def enterprise(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uscc": uscc(),
        "name": "重庆渝味火锅有限公司",
        "sectors": ["food"],
        "region": "杨家坪街道",
        "address": "重庆市九龙坡区杨家坪步行街1号",
    }
    body.update(overrides)
    return body


def inspector(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "badge": f"T-{next(_seq)}",
        "name": "张伟",
        "unit": "九龙坡区市场监督管理局杨家坪市场监督管理所",
        "region": "杨家坪街道",
        "qualifications": ["food"],
    }
    body.update(overrides)
    return body


REGIONS = ("华岩镇", "走马镇")


def food_payload(value: str = "0.1") -> dict:
    return {
        "sample_no": "JLP-2026-001",
        "food_name": "大米",
        "food_category": "cereal.rice.milled",
        "batch": "20261101",
        "sampling_date": "2026-11-20",
        "stage": "circulation",
        "items": [{"item": "Cd", "value": value, "unit": "mg/kg"}],
    }


def history_result(task: Any, day: Any, major: int, **overrides: Any) -> dict[str, Any]:
    """A judged food result row of ``task`` (a Task) on ``day``, for inserting past
    history straight into ``results`` (scoring tests need years of it)."""
    import datetime as dt
    import uuid

    return {
        "chain": str(uuid.uuid4()), "version": 1, "task_id": task.id, "plan_id": task.plan_id,
        "enterprise_id": task.enterprise_id, "sector": "food", "inspected_on": day,
        "payload": {}, "judgement": {}, "passed": not major, "findings": [],
        "worst_severity": "major" if major else None, "critical_count": 0,
        "major_count": major, "minor_count": 0, "facts": None,
        "conclusion_code": "corrected" if major else "no_problem", "recorded_by": "seed",
        "recorded_at": dt.datetime.now(dt.UTC), "disclosure_due": day,
        "disclosure_basis": "calendar", **overrides,
    }  # fmt: skip


def plan_body(**overrides) -> dict:
    body = {
        "title": "2026年第四季度大米镉专项抽查",
        "issuing_unit": "九龙坡区市场监督管理局",
        "sector": "food",
        "check_items": [
            {"code": "F-1", "name_zh": "重金属污染物", "name_en": "Heavy metals", "key": True}
        ],
        "scope_regions": list(REGIONS),
        "ratios": {"A": "0.05", "B": "0.5", "C": "0.6", "D": "1"},
        "inspectors_per_task": 2,
        # looked up when called: a test that moves today moves the due date with it
        "due_date": str(results_service.today_in_china() + dt.timedelta(days=35)),
    }
    body.update(overrides)
    return body


def committed_user(app, username: str, role: str, badge: str | None = None) -> dict[str, str]:
    """A user of a ``committed_app`` (its own schema, real commits) and auth headers for it:
    the concurrency tests' requests run on threads, outside any test transaction."""
    from inspect_core.auth import service as auth
    from inspect_core.db import db

    with app.app_context():
        auth.create_user(db.session, username, "correct horse", role, badge, ())
        db.session.commit()
    response = app.test_client().post(
        "/api/v1/auth/token", json={"username": username, "password": "correct horse"}
    )
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def create_plan(client, headers, **overrides) -> int:
    response = client.post("/api/v1/plans", json=plan_body(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json["id"]


def xlsx_with_sheet(
    rows: list[list[object]],
    edit: Callable[[str], str],
    formats: dict[str, str] | None = None,
) -> bytes:
    """An .xlsx of ``rows`` (written by openpyxl), its cells' number ``formats`` by
    reference (``{"C2": "0.0%"}``), whose first sheet's XML is passed through ``edit``:
    files as other tools write them (a wrong dimension, cells out of order, a formula's
    computed value)."""
    import io
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    for ref, number_format in (formats or {}).items():
        wb.active[ref].number_format = number_format
    buffer = io.BytesIO()
    wb.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode()).encode()
            dst.writestr(info, data)
    return out.getvalue()


def declaring(dimension: str | None) -> Callable[[str], str]:
    """A sheet edit: the declared dimension replaced (None: removed)."""
    import re

    tag = "" if dimension is None else f'<dimension ref="{dimension}"/>'
    return lambda xml: re.sub(r"<dimension [^>]*/>", tag, xml)


#: upload headers as the templates name them: the enterprise registry's, and a food
#: results sheet with one test item (zh-CN core headers, English item columns)
ENTERPRISE_HEADER = [
    "统一社会信用代码",
    "企业名称",
    "监管行业",
    "所属街镇",
    "地址",
    "经营状态",
    "成立日期",
]
FOOD_HEADER = ["任务编号", "检查结论", "样品编号", "食品名称", "食品类别（代码）", "抽样日期", "抽样环节",
               "items.0.item", "items.0.value", "items.0.unit"]  # fmt: skip
