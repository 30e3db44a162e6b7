"""What a downgrade destroys: tables and columns that hold data now and will not after it.

Two readings, merged: the schemas (what exists now and not at the target) and the
downgrade's own SQL as alembic renders it offline (`alembic downgrade START:TARGET --sql`),
read with PostgreSQL's parser. The SQL sees what the schemas cannot: a column dropped and
added again under its name (an id changed from uuid back to integer keeps the name, not the
values), a table dropped and created again, `TRUNCATE`, a `DELETE` without `WHERE`. Renames
in the SQL are followed, so a drop names what the database holds today.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from dbsafe.core import DatabaseError, Finding, RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Callable

    from dbsafe.schema.model import Relation, SchemaSnapshot

_T = TypeVar("_T")

DATA_LOSS = RuleInfo(
    "DBS607", "downgrade-drops-data",
    "The downgrade drops a table or column that holds data.",
    Severity.WARNING, "0.2.0")


@dataclass(frozen=True, slots=True)
class Loss:
    """Data the downgrade destroys: a whole table's rows, or one column's values."""

    schema: str
    table: str
    column: str | None = None
    how: str = "drops"  # "drops" | "empties" (TRUNCATE, DELETE without WHERE)

    @property
    def subject(self) -> str:
        table = f"{self.schema}.{self.table}"
        return f"{table}.{self.column}" if self.column else table


def schema_losses(current: SchemaSnapshot, expected: SchemaSnapshot | None) -> list[Loss]:
    """Tables and columns that exist now but not at the target."""
    expected_tables = {(r.schema, r.name): r for r in (expected.relations if expected else ())}
    found: list[Loss] = []
    for relation in _tables(current):
        target = expected_tables.get((relation.schema, relation.name))
        if target is None:
            if expected is not None:
                found.append(Loss(relation.schema, relation.name))
            continue
        kept = {c.name for c in target.columns}
        found += [Loss(relation.schema, relation.name, c.name)
                  for c in relation.columns if c.name not in kept]
    return found


_GONE = object()  # a name the SQL dropped or renamed away: nothing of today's is under it


def sql_losses(statements: Iterable[str], current: SchemaSnapshot) -> list[Loss]:
    """What the downgrade's statements drop or empty of the tables `current` has.

    >>> from dbsafe.schema.model import Column, Relation, SchemaSnapshot
    >>> now = SchemaSnapshot(relations=(Relation("public", "users", "table", columns=(
    ...     Column("id", "uuid", 1), Column("name", "text", 2))),))
    >>> sql_losses(['ALTER TABLE users ADD COLUMN old_id int',
    ...             'ALTER TABLE users DROP COLUMN id',
    ...             'ALTER TABLE users RENAME old_id TO id'], now)
    [Loss(schema='public', table='users', column='id', how='drops')]
    """
    from dbsafe.lint.statement import ParseFailure, parse_statements

    reader = _Reader(current)
    found: list[Loss] = []
    for sql in statements:
        for parsed in parse_statements(sql):
            if not isinstance(parsed, ParseFailure):
                found += reader.losses(*parsed)
    return found


class _Reader:
    """The downgrade's statements in order, with the names they reach today's tables and
    columns by, as renames, drops and additions change them."""

    def __init__(self, current: SchemaSnapshot) -> None:
        self.tables = {(r.schema, r.name): r for r in _tables(current)}
        self.search_path = current.search_path or ("public",)
        # A name as the SQL reaches it -> today's table, or _GONE ...
        self.names: dict[tuple[str, str], Any] = {}
        # ... and per today's table, a column name as the SQL reaches it -> today's
        # column, or _GONE.
        self.columns: dict[tuple[str, str], dict[str, Any]] = {}

    def table(self, node: dict[str, Any]) -> tuple[str, str] | None:
        """Today's table a RangeVar reaches; None for one the downgrade made or unknown."""
        relname = node.get("relname", "")
        schema = node.get("schemaname")
        candidates = [(schema, relname)] if schema else [(s, relname) for s in self.search_path]
        for key in candidates:
            if key in self.names:
                found = self.names[key]
                return None if found is _GONE else found
            if key in self.tables:
                return key
        return None

    def column(self, key: tuple[str, str], name: str) -> str | None:
        """Today's column of table `key` the name reaches; None for one the downgrade made."""
        reached = self.columns.setdefault(key, {})
        if name in reached:
            found = reached[name]
            return None if found is _GONE else found
        return name if any(c.name == name for c in self.tables[key].columns) else None

    def losses(self, kind: str, node: Any) -> Iterator[Loss]:
        """What one statement drops or empties, following what it renames."""
        if kind == "AlterTableStmt" and node.get("objtype") == "OBJECT_TABLE":
            key = self.table(node.get("relation") or {})
            if key is None:
                return
            for cmd in node.get("cmds", ()):
                sub = cmd.get("AlterTableCmd", {})
                name = sub.get("name")
                if sub.get("subtype") == "AT_DropColumn" and name:
                    today = self.column(key, name)
                    if today is not None:
                        yield Loss(key[0], key[1], today)
                    self.columns.setdefault(key, {})[name] = _GONE
                elif sub.get("subtype") == "AT_AddColumn":
                    added = (sub.get("def") or {}).get("ColumnDef", {}).get("colname")
                    if added:
                        self.columns.setdefault(key, {})[added] = _GONE
        elif kind == "RenameStmt" and node.get("renameType") == "OBJECT_COLUMN":
            key = self.table(node.get("relation") or {})
            old, new = node.get("subname"), node.get("newname")
            if key is not None and old and new:
                today = self.column(key, old)
                self.columns.setdefault(key, {})[new] = today if today is not None else _GONE
                self.columns[key][old] = _GONE
        elif kind == "RenameStmt" and node.get("renameType") == "OBJECT_TABLE":
            relation = node.get("relation") or {}
            key = self.table(relation)
            schema = relation.get("schemaname") or (key[0] if key else self.search_path[0])
            if node.get("newname"):
                self.names[(schema, node["newname"])] = key if key is not None else _GONE
            if key is not None:
                self.names[key] = _GONE
        elif kind == "DropStmt" and node.get("removeType") == "OBJECT_TABLE":
            for obj in node.get("objects", ()):
                parts = [i.get("String", {}).get("sval", "")
                         for i in obj.get("List", {}).get("items", ())]
                key = self.table({"relname": parts[-1],
                                  "schemaname": parts[-2] if len(parts) > 1 else None})
                if key is not None:
                    yield Loss(*key)
                    self.names[key] = _GONE
        elif kind == "TruncateStmt":
            for item in node.get("relations", ()):
                key = self.table(item.get("RangeVar", {}))
                if key is not None:
                    yield Loss(key[0], key[1], how="empties")
        elif kind == "DeleteStmt" and "whereClause" not in node and not node.get("withClause"):
            key = self.table(node.get("relation") or {})
            if key is not None:
                yield Loss(key[0], key[1], how="empties")


def measured(conn: Any, losses: Sequence[Loss]) -> list[Finding]:
    """One DBS607 per loss that holds data (rows, or a column's non-null values), each
    subject once: a table dropped or emptied is not reported again for its columns."""
    from psycopg import sql

    seen: set[str] = set()
    whole = {f"{loss.schema}.{loss.table}" for loss in losses if loss.column is None}
    findings: list[Finding] = []
    for loss in losses:
        if loss.subject in seen or (loss.column and f"{loss.schema}.{loss.table}" in whole):
            continue
        seen.add(loss.subject)
        name = sql.Identifier(loss.schema, loss.table)
        if loss.column is None:
            rows = _scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(name))
            if rows:
                verb = "drops" if loss.how == "drops" else "deletes every row of"
                findings.append(_finding(f"{verb} table `{loss.subject}`", loss.subject,
                                         f"{rows} row(s)"))
            continue
        filled = _scalar(conn, sql.SQL("SELECT count({}) FROM {}").format(
            sql.Identifier(loss.column), name))
        if filled:
            findings.append(_finding(f"drops column `{loss.subject}`", loss.subject,
                                     f"{filled} non-null value(s)"))
    return findings


def counted(url: str, lock_timeout: str, count: Callable[[Any], _T], failure: str) -> _T:
    """`count(conn)` (rows a guarded run counts: what a downgrade destroys, what the way
    back did not bring back) on a session waiting for a lock at most `lock_timeout`.

    Raises:
        DatabaseError: a query failed, said after `failure` (its SQLSTATE kept: a lock
            timeout is retried by `upgrade.waited`).
    """
    import psycopg

    from dbsafe.pg.connect import connect, one_line

    with connect(url) as conn:
        try:
            conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, false)",
                         (lock_timeout,))
            return count(conn)
        except psycopg.Error as exc:
            error = DatabaseError(f"{failure}: {one_line(exc, url)}")
            error.sqlstate = exc.sqlstate
            raise error from None


def _finding(what: str, subject: str, amount: str) -> Finding:
    return Finding(DATA_LOSS.code, f"The downgrade {what}, which holds {amount}.",
                   Severity.WARNING, subject=subject,
                   help="Take a backup you have restored before (dbsafe backup "
                        "--verify-restore), or copy the data elsewhere first.")


def _tables(snapshot: SchemaSnapshot) -> Iterator[Relation]:
    return (r for r in snapshot.relations if r.kind in ("table", "partitioned_table"))


def _scalar(conn: Any, query: Any) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


_LENGTH = re.compile(r"(character varying|character)\((\d+)\)")


def refused_rows(conn: Any, current: SchemaSnapshot,
                 expected: SchemaSnapshot) -> list[tuple[str, str]]:
    """Where the computed downgrade (the plan from `current` to `expected`) fails on the rows
    the database holds, as (subject, why): a column made shorter holding longer values
    (PostgreSQL refuses them, 22001: only spaces past the length are cut), SET NOT NULL on
    a column holding NULLs (23502), a column added back NOT NULL with no default to a table
    with rows (23502). Part of a computed downgrade commits before it fails (each
    `CONCURRENTLY` statement alone), so such a run is refused before anything runs."""
    from psycopg import sql

    expected_tables = {(r.schema, r.name): r for r in _tables(expected)}
    found: list[tuple[str, str]] = []
    for relation in _tables(current):
        target = expected_tables.get((relation.schema, relation.name))
        if target is None:
            continue
        name = sql.Identifier(relation.schema, relation.name)
        now = {c.name: c for c in relation.columns}
        for column in target.columns:
            subject = f"{relation.schema}.{relation.name}.{column.name}"
            ident = sql.Identifier(column.name)
            before = now.get(column.name)
            if before is None:
                if column.nullable or column.default is not None or column.identity \
                        or column.generated or column.not_null_not_valid:
                    continue
                rows = _scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(name))
                if rows:
                    found.append((subject, f"it is added back NOT NULL with no default to a "
                                  f"table holding {rows} row(s)"))
                continue
            if before.nullable and not column.nullable and not column.not_null_not_valid:
                nulls = _scalar(conn, sql.SQL("SELECT count(*) FROM {} WHERE {} IS NULL")
                                .format(name, ident))
                if nulls:
                    found.append((subject, f"it is set NOT NULL and holds {nulls} NULL(s)"))
            limit = _LENGTH.fullmatch(column.type)
            had = _LENGTH.fullmatch(before.type)
            if limit is None or not (had or before.type in ("text", "character varying")) \
                    or (had and int(had.group(2)) <= int(limit.group(2))):
                continue
            longer = _scalar(conn, sql.SQL(
                "SELECT count(*) FROM {} WHERE char_length(rtrim({}::text, ' ')) > {}").format(
                name, ident, sql.Literal(int(limit.group(2)))))
            if longer:
                found.append((subject, f"it becomes {column.type} and {longer} of its "
                              f"values are longer"))
    return found
