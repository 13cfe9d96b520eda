"""The result-level columns every sector's upload template starts with.

The sector plugin supplies the payload columns after these (``inspect_template_columns``).
"""

from __future__ import annotations

from inspect_core.plugin_api import TemplateColumn
from inspect_core.results.models import RESULT_CODES

RESULT_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("task_id", "任务编号", 1, notes="GET /api/v1/tasks 中的任务 id / the task's id"),
    TemplateColumn("inspected_on", "检查日期", "2026-11-25", required=False,
                   notes="2026-11-25、2026/11/25 或 2026年11月25日"),
    TemplateColumn(
        "conclusion_code", "检查结论", "no_problem",
        notes="; ".join(f"{code} = {zh}" for code, (zh, _) in RESULT_CODES.items()),
    ),
    TemplateColumn("findings", "发现问题", "", required=False,
                   notes="severity:描述 或 severity[编号]:描述; 多条以分号分隔，"
                         "severity 为 critical/major/minor"),
)  # fmt: skip
