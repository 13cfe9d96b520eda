"""results: one foreign key to the task (with its plan and enterprise); lz4 for big columns

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 02:40:00

Why one key: a result's ``plan_id`` and ``enterprise_id`` are its task's, but three
separate foreign keys (to tasks, plans and enterprises) let a row name a task of one plan
and the plan of another.  ``(task_id, plan_id, enterprise_id) → tasks (id, plan_id,
enterprise_id)`` refuses that, and the plan and enterprise still exist because the task
refers to them.  It is also one check per stored row instead of three: measured with a
server-side ``COPY`` of 30,000 food results into a copy of the table, 380 ms of foreign-key
checks became about 150–270 ms.  The unique index on tasks is what the key refers to.

Why lz4 (PostgreSQL 14+, when the server is built with it): the JSON of a result is about
1.7 kB, so some rows are compressed, and uploads store whole files; pglz was 1.2 µs a row
slower than lz4 on the same COPY.  Only new values are compressed the new way.

On SQLite the results table is rebuilt (``inspect_core.migrate.upgrade`` turns foreign
keys off around migrations, as SQLite's own procedure for schema changes asks, and checks
them afterwards); the rebuilt table gets its append-only triggers back.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMPRESSED = {
    "results": ("payload", "judgement", "findings", "facts"),
    "imports": ("raw",),
}


def _sqlite_results_triggers() -> None:
    for op_name in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS results_no_{op_name.lower()}")
        op.execute(
            f"CREATE TRIGGER results_no_{op_name.lower()} BEFORE {op_name} ON results "
            f"BEGIN SELECT RAISE(ABORT, 'table results is append-only: {op_name} refused');"
            " END"
        )


def _lz4_supported() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return False
    values = bind.exec_driver_sql(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
    ).scalar()
    return "lz4" in (values or [])


def _compression(method: str) -> None:
    for table, columns in _COMPRESSED.items():
        clauses = ", ".join(f"ALTER COLUMN {c} SET COMPRESSION {method}" for c in columns)
        op.execute(f"ALTER TABLE {table} {clauses}")


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "uq_tasks_id_plan_id_enterprise_id", ["id", "plan_id", "enterprise_id"], unique=True
        )
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("results", schema=None, recreate="always" if sqlite else "auto") as b:
        b.drop_constraint("fk_results_task_id_tasks", type_="foreignkey")
        b.drop_constraint("fk_results_plan_id_plans", type_="foreignkey")
        b.drop_constraint("fk_results_enterprise_id_enterprises", type_="foreignkey")
        b.create_foreign_key(
            "fk_results_task_id_tasks",
            "tasks",
            ["task_id", "plan_id", "enterprise_id"],
            ["id", "plan_id", "enterprise_id"],
        )
    if sqlite:
        _sqlite_results_triggers()
    if _lz4_supported():
        _compression("lz4")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if _lz4_supported():
        _compression("DEFAULT")
    with op.batch_alter_table("results", schema=None, recreate="always" if sqlite else "auto") as b:
        b.drop_constraint("fk_results_task_id_tasks", type_="foreignkey")
        b.create_foreign_key("fk_results_task_id_tasks", "tasks", ["task_id"], ["id"])
        b.create_foreign_key("fk_results_plan_id_plans", "plans", ["plan_id"], ["id"])
        b.create_foreign_key(
            "fk_results_enterprise_id_enterprises", "enterprises", ["enterprise_id"], ["id"]
        )
    if sqlite:
        _sqlite_results_triggers()
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("uq_tasks_id_plan_id_enterprise_id")
