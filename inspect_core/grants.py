"""The application's database role: what it may do to each table (PostgreSQL).

The append-only tables refuse UPDATE, DELETE and TRUNCATE by trigger, but a trigger binds
only a role that cannot drop or disable it: the tables' owner (the role migrations run as)
and a superuser can.  So the app runs as a login role of its own that owns nothing, and
:func:`grant_app_role`, run by the owner after each ``db upgrade``, gives it just what the
app does (RELIABILITY.md §1.4):

* ``USAGE`` on the schema (not ``CREATE``);
* ``SELECT, INSERT`` on every table; ``UPDATE, DELETE`` too on those that are not
  append-only; never ``TRUNCATE``, ``REFERENCES`` or ``TRIGGER``; only ``SELECT`` on
  ``alembic_version`` (the schema's version is the migrator's to write);
* ``USAGE, SELECT`` on every sequence (``nextval``; not ``setval``).

The append-only tables are read from the schema itself: those with a trigger that runs
``inspect_refuse_change()`` on UPDATE or DELETE, the function every migration that makes
a table append-only attaches (0002, 0004, 0010).  So a table a later migration makes
append-only loses UPDATE and DELETE at the next grant, with no list here to keep.

Each run first revokes everything the role holds on the schema, its tables and sequences,
then grants the above, in one transaction: running it again changes nothing, and a table
that became append-only since loses what it had.  It then checks the role's effective
privileges, which also come from ``PUBLIC`` and the roles it is a member of, and rolls
everything back if the role could still change an append-only table.  It never creates
the role (an operator does, with its password) and refuses one that owns a table or the
schema, or is a member of a role that does, or is a superuser: privileges do not bind an
owner, who may also drop the triggers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

#: the function the append-only triggers run (migration 0002 creates it)
REFUSE_CHANGE = "inspect_refuse_change"
#: the schema's version: the app reads it at most
MIGRATOR_ONLY = ("alembic_version",)
APPEND_ONLY_PRIVILEGES = ("SELECT", "INSERT")
MUTABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
REFUSED_ON_APPEND_ONLY = ("UPDATE", "DELETE", "TRUNCATE")

# pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h)
_TRIGGER_TYPE_DELETE = 1 << 3
_TRIGGER_TYPE_UPDATE = 1 << 4


class GrantError(Exception):
    """The role cannot be granted safely, or the database is not PostgreSQL; says why."""


@dataclass(frozen=True)
class GrantReport:
    role: str
    schema: str
    append_only: list[str]
    mutable: list[str]
    read_only: list[str]
    sequences: list[str]


def append_only_tables(conn: Connection, schema: str) -> list[str]:
    """The tables of ``schema`` with a trigger refusing UPDATE or DELETE."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT c.relname FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE n.nspname = :schema AND NOT t.tgisinternal AND p.proname = :function "
            "AND (t.tgtype::int & :verbs) <> 0 ORDER BY c.relname"
        ),
        {
            "schema": schema,
            "function": REFUSE_CHANGE,
            "verbs": _TRIGGER_TYPE_UPDATE | _TRIGGER_TYPE_DELETE,
        },
    )
    return list(rows.scalars())


def _names(conn: Connection, schema: str, kinds: tuple[str, ...]) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind::text = ANY(:kinds) ORDER BY c.relname"
        ),
        {"schema": schema, "kinds": list(kinds)},
    )
    return list(rows.scalars())


def _refuse_unsafe_role(conn: Connection, role: str, schema: str) -> None:
    found = conn.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).first()
    if found is None:
        raise GrantError(
            f"role {role!r} does not exist; this command does not create it: an operator "
            f"does, e.g. CREATE ROLE \"{role}\" LOGIN PASSWORD '...' (a name is case-sensitive "
            "here: CREATE ROLE App makes app)"
        )
    if found.rolsuper:
        raise GrantError(f"role {role!r} is a superuser: no privilege binds it; use a plain role")
    if conn.scalar(text("SELECT current_user")) == role:
        raise GrantError(
            f"role {role!r} is the role running this command, which owns the schema's tables; "
            "run the app as another role"
        )
    owned = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'S', 'v', 'm') "
            "AND pg_has_role(:role, c.relowner, 'MEMBER') ORDER BY c.relname"
        ),
        {"schema": schema, "role": role},
    ).scalars()
    owned = list(owned)
    schema_owner = conn.scalar(
        text(
            "SELECT pg_has_role(:role, nspowner, 'MEMBER') FROM pg_namespace "
            "WHERE nspname = :schema"
        ),
        {"schema": schema, "role": role},
    )
    if owned or schema_owner:
        what = f"schema {schema}" if schema_owner else ", ".join(owned[:5])
        raise GrantError(
            f"role {role!r} owns {what}, or is a member of the role that does: an owner keeps "
            "every privilege and may drop the append-only triggers; run the app as a role "
            "that owns nothing"
        )


def grant_app_role(engine: Engine, role: str, schema: str | None = None) -> GrantReport:
    """Give ``role`` exactly the app's privileges on ``schema`` (default: the connection's
    current schema), in one transaction; see the module's docstring."""
    if engine.dialect.name != "postgresql":
        raise GrantError(
            f"grant-app-role is for PostgreSQL; this database is {engine.dialect.name}, which "
            "has no roles (SQLite: whoever can write the file can change every row)"
        )
    quote = engine.dialect.identifier_preparer.quote_identifier
    with engine.begin() as conn:
        schema = schema or conn.scalar(text("SELECT current_schema()"))
        if schema is None or not conn.scalar(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        ):
            raise GrantError(f"no schema {schema!r} in this database")
        _refuse_unsafe_role(conn, role, schema)
        tables = _names(conn, schema, ("r", "p"))
        if not tables:
            raise GrantError(f"schema {schema} has no tables: run `inspect-core db upgrade` first")
        append_only = [t for t in append_only_tables(conn, schema) if t in tables]
        read_only = [t for t in tables if t in MIGRATOR_ONLY]
        mutable = [t for t in tables if t not in append_only and t not in read_only]
        sequences = _names(conn, schema, ("S",))
        who, ns = quote(role), quote(schema)

        def on(name: str) -> str:
            return f"{ns}.{quote(name)}"

        conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA {ns} FROM {who}")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {ns} TO {who}")
        for table in tables:
            conn.exec_driver_sql(f"REVOKE ALL ON {on(table)} FROM {who}")
        for table in append_only:
            conn.exec_driver_sql(
                f"GRANT {', '.join(APPEND_ONLY_PRIVILEGES)} ON {on(table)} TO {who}"
            )
            conn.exec_driver_sql(
                f"REVOKE {', '.join(REFUSED_ON_APPEND_ONLY)} ON {on(table)} FROM {who}"
            )
        for table in mutable:
            conn.exec_driver_sql(f"GRANT {', '.join(MUTABLE_PRIVILEGES)} ON {on(table)} TO {who}")
        for table in read_only:
            conn.exec_driver_sql(f"GRANT SELECT ON {on(table)} TO {who}")
        for sequence in sequences:
            conn.exec_driver_sql(f"REVOKE ALL ON SEQUENCE {on(sequence)} FROM {who}")
            conn.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {on(sequence)} TO {who}")
        _check_effective(conn, role, schema, append_only)
    return GrantReport(role, schema, append_only, mutable, read_only, sequences)


def _check_effective(conn: Connection, role: str, schema: str, append_only: list[str]) -> None:
    """What the role can really do to an append-only table, whoever granted it (PUBLIC,
    a role it is a member of, a grant on a column): any change is a GrantError, which
    rolls the grants back."""
    rows = conn.execute(
        text(
            "SELECT c.relname, has_any_column_privilege(:role, c.oid, 'UPDATE'), "
            "has_table_privilege(:role, c.oid, 'DELETE'), "
            "has_table_privilege(:role, c.oid, 'TRUNCATE') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = ANY(:tables) ORDER BY c.relname"
        ),
        {"role": role, "schema": schema, "tables": append_only},
    ).all()
    leaks = [
        f"{privilege} {table}"
        for table, *held in rows
        for privilege, has in zip(REFUSED_ON_APPEND_ONLY, held, strict=True)
        if has
    ]
    if leaks:
        raise GrantError(
            f"role {role!r} could still {', '.join(leaks)} (append-only), through PUBLIC or a "
            "role it is a member of, or a grant on a column; revoke it there. Nothing was "
            "granted"
        )
