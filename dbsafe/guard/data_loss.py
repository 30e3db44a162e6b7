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
from dataclasses import dataclass, replace
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

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
    revision: str | None = None  # whose downgrade() destroys it, where its SQL says so

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


def sql_losses(statements: Iterable[str], current: SchemaSnapshot,
               revisions: Iterable[str | None] = ()) -> list[Loss]:
    """What the downgrade's statements drop or empty of the tables `current` has;
    `revisions`: the revision each statement is of, in step with them (None: unknown).

    >>> from dbsafe.schema.model import Column, Relation, SchemaSnapshot
    >>> now = SchemaSnapshot(relations=(Relation("public", "users", "table", columns=(
    ...     Column("id", "uuid", 1), Column("name", "text", 2))),))
    >>> sql_losses(['ALTER TABLE users ADD COLUMN old_id int',
    ...             'ALTER TABLE users DROP COLUMN id',
    ...             'ALTER TABLE users RENAME old_id TO id'], now, ["r1", "r2", "r2"])
    [Loss(schema='public', table='users', column='id', how='drops', revision='r2')]
    """
    from dbsafe.lint.statement import ParseFailure, parse_statements

    reader = _Reader(current)
    found: list[Loss] = []
    for sql, revision in zip(statements, chain(revisions, repeat(None))):
        for parsed in parse_statements(sql):
            if not isinstance(parsed, ParseFailure):
                found += (replace(loss, revision=revision) for loss in reader.losses(*parsed))
    return found


def attributed(losses: Sequence[Loss], by_sql: Sequence[Loss]) -> list[Loss]:
    """`losses` (read from the schemas), each with the revision the SQL found it dropped in,
    then what only the SQL found."""
    revision = {loss.subject: loss.revision for loss in by_sql if loss.revision}
    return [*(replace(loss, revision=loss.revision or revision.get(loss.subject))
              for loss in losses), *by_sql]


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


@dataclass(frozen=True, slots=True)
class Measured:
    """A loss that holds data, and how much (`3 row(s)`, `2 non-null value(s)`)."""

    loss: Loss
    amount: str


def measured(conn: Any, losses: Sequence[Loss]) -> list[Measured]:
    """The losses that hold data (rows, or a column's non-null values), each subject once:
    a table dropped or emptied is not reported again for its columns."""
    from psycopg import sql

    seen: set[str] = set()
    whole = {f"{loss.schema}.{loss.table}" for loss in losses if loss.column is None}
    found: list[Measured] = []
    for loss in losses:
        if loss.subject in seen or (loss.column and f"{loss.schema}.{loss.table}" in whole):
            continue
        seen.add(loss.subject)
        name = sql.Identifier(loss.schema, loss.table)
        if loss.column is None:
            rows = _scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(name))
            if rows:
                found.append(Measured(loss, f"{rows:,} row(s)"))
            continue
        filled = _scalar(conn, sql.SQL("SELECT count({}) FROM {}").format(
            sql.Identifier(loss.column), name))
        if filled:
            found.append(Measured(loss, f"{filled:,} non-null value(s)"))
    return found


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


# (present, past, participle) of what a loss is, by (a column?, how)
_VERBS = {(True, "drops"): ("drops", "dropped", "dropped"),
          (False, "drops"): ("drops", "dropped", "dropped"),
          (False, "empties"): ("deletes every row of", "deleted every row of", "emptied")}
_BEFORE_HELP = ("Take a backup you have restored before (dbsafe backup --verify-restore), or "
                "copy the data elsewhere first.")


def loss_finding(found: Measured) -> Finding:
    """DBS607 for data the downgrade will destroy.

    >>> loss_finding(Measured(Loss("public", "orders", "memo"), "2 non-null value(s)")).message
    'The downgrade drops column `public.orders.memo`, which holds 2 non-null value(s).'
    """
    loss = found.loss
    present = _VERBS[(loss.column is not None, loss.how)][0]
    return Finding(DATA_LOSS.code,
                   f"The downgrade {present} {_kind(loss)} `{loss.subject}`, which holds "
                   f"{found.amount}.", Severity.WARNING, subject=loss.subject,
                   help=_BEFORE_HELP)


def loss_after_failure(found: Measured, ran: bool | None, *, stopped_at: str,
                       backup: str | None, restore_command: str = "") -> Finding:
    """DBS607 for data a downgrade that failed part-way destroyed (`ran`: the statement
    destroying it ran), kept (`ran` False), or may have (None: unknown). `restore_command`:
    the `dbsafe restore` of `backup` (`RunState.restore_command`).

    >>> lost = Measured(Loss("public", "orders", "note", revision="0005"), "1 non-null value(s)")
    >>> loss_after_failure(lost, False, stopped_at="0005", backup=None).message
    'Column `public.orders.note` (1 non-null value(s)) was not dropped: the downgrade stopped at 0005 before it.'
    >>> loss_after_failure(lost, True, stopped_at="0005", backup="b.dump").message
    'The downgrade dropped column `public.orders.note` (1 non-null value(s); in backup b.dump).'
    """
    loss = found.loss
    _, past, participle = _VERBS[(loss.column is not None, loss.how)]
    kind = _kind(loss)
    if ran is False:
        return Finding(DATA_LOSS.code,
                       f"{kind.capitalize()} `{loss.subject}` ({found.amount}) was not "
                       f"{participle}: the downgrade stopped at {stopped_at} before it.",
                       Severity.WARNING, subject=loss.subject,
                       help="Running the downgrade again destroys it: " + _BEFORE_HELP[0].lower()
                       + _BEFORE_HELP[1:])
    kept = f"in backup {backup}" if backup else "no backup was taken"
    restore = (f"The backup holds it: {restore_command or f'dbsafe restore {backup}'}"
               if backup
               else "No backup was taken (--no-backup): only a copy made elsewhere holds it.")
    if ran is None:
        return Finding(DATA_LOSS.code,
                       f"The downgrade stopped at {stopped_at}; whether it {past} {kind} "
                       f"`{loss.subject}` ({found.amount}; {kept}) is unknown.",
                       Severity.WARNING, subject=loss.subject, help=restore)
    return Finding(DATA_LOSS.code,
                   f"The downgrade {past} {kind} `{loss.subject}` ({found.amount}; {kept}).",
                   Severity.WARNING, subject=loss.subject, help=restore)


def _kind(loss: Loss) -> str:
    return "column" if loss.column is not None else "table"


def still_there(conn: Any, loss: Loss) -> bool:
    """Does the table or column `loss` names exist now (a catalog read: no lock taken)?"""
    table = "to_regclass(format('%%I.%%I', %s::text, %s::text))"
    if loss.column is None:
        row = conn.execute(f"SELECT {table} IS NOT NULL", (loss.schema, loss.table)).fetchone()
    else:
        row = conn.execute(
            f"SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = {table} "
            "AND attname = %s AND attnum > 0 AND NOT attisdropped)",
            (loss.schema, loss.table, loss.column)).fetchone()
    return bool(row and row[0])


def _tables(snapshot: SchemaSnapshot) -> Iterator[Relation]:
    return (r for r in snapshot.relations if r.kind in ("table", "partitioned_table"))


def _scalar(conn: Any, query: Any) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


_LENGTH = re.compile(r"(character varying|character)\((\d+)\)")


class Refused(NamedTuple):
    """Where a downgrade fails on the rows (`refused_rows`): `subject` (`schema.table.column`,
    or a key's `schema.table (a, b)`), why, as the schemas say it; `rows`: of a column added
    back NOT NULL with no default, the table's row count (each holds NULL there), which the
    downgrade's own statements may word otherwise (`downgrade_rows.added_back`)."""

    subject: str
    why: str
    rows: int | None = None


def refused_rows(conn: Any, current: SchemaSnapshot,
                 expected: SchemaSnapshot) -> list[Refused]:
    """Where the computed downgrade (the plan from `current` to `expected`) fails on the rows
    the database holds, as (subject, why): a column made shorter holding longer values
    (PostgreSQL refuses them, 22001: only spaces past the length are cut), SET NOT NULL on
    a column holding NULLs (23502), a column added back NOT NULL with no default to a table
    with rows (23502), a unique key made again over values rows share (23505). Part of a
    computed downgrade commits before it fails (each `CONCURRENTLY` statement alone), so
    such a run is refused before anything runs."""
    from psycopg import sql

    expected_tables = {(r.schema, r.name): r for r in _tables(expected)}
    found: list[Refused] = []
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
                    found.append(Refused(subject, f"it is added back NOT NULL with no default "
                                         f"to a table holding {rows:,} row(s)", rows))
                continue
            if before.nullable and not column.nullable and not column.not_null_not_valid:
                nulls = _scalar(conn, sql.SQL("SELECT count(*) FROM {} WHERE {} IS NULL")
                                .format(name, ident))
                if nulls:
                    found.append(Refused(subject, f"it is set NOT NULL and holds {nulls:,} "
                                         "NULL(s)"))
            limit = _LENGTH.fullmatch(column.type)
            had = _LENGTH.fullmatch(before.type)
            if limit is None or not (had or before.type in ("text", "character varying")) \
                    or (had and int(had.group(2)) <= int(limit.group(2))):
                continue
            longer = _scalar(conn, sql.SQL(
                "SELECT count(*) FROM {} WHERE char_length(rtrim({}::text, ' ')) > {}").format(
                name, ident, sql.Literal(int(limit.group(2)))))
            if longer:
                found.append(Refused(subject, f"it becomes {column.type} and {longer:,} of "
                                     "its values are longer"))
        found += _duplicated_keys(conn, relation, target)
    return found


def _unique_keys(relation: Relation) -> set[frozenset[str]]:
    """The column sets a unique index of `relation` (a primary key's, a unique constraint's)
    keeps unique: whole-table indexes over plain columns only."""
    names = {c.name for c in relation.columns}
    return {frozenset(i.columns) for i in relation.indexes
            if i.unique and i.predicate is None and i.columns and set(i.columns) <= names}


def _duplicated_keys(conn: Any, relation: Relation, target: Relation) -> list[Refused]:
    """Unique keys the downgrade makes again that the rows hold twice (23505: mlflow's
    1b5f0d9ad7c1, `experiments.name` unique again once the workspaces are merged). A key
    the table keeps unique already (or a part of it) cannot fail; nor is one over a
    column whose type changes asked (its values are not today's)."""
    from psycopg import sql

    now = {c.name: c.type for c in relation.columns}
    later = {c.name: c.type for c in target.columns}
    kept = _unique_keys(relation)
    found: list[Refused] = []
    for key in sorted(_unique_keys(target) - kept, key=sorted):
        if any(k <= key for k in kept) or any(now.get(c) != later[c] for c in key):
            continue
        columns = sorted(key)
        idents = [sql.Identifier(c) for c in columns]
        duplicated = _scalar(conn, sql.SQL(
            "SELECT count(*) FROM (SELECT 1 FROM {} WHERE {} GROUP BY {} HAVING count(*) > 1)"
            " AS d").format(
            sql.Identifier(relation.schema, relation.name),
            sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(i) for i in idents),
            sql.SQL(", ").join(idents)))
        if duplicated:
            found.append(Refused(f"{relation.schema}.{relation.name} ({', '.join(columns)})",
                                 f"it is made unique again and {duplicated:,} of its values "
                                 "are held by more than one row"))
    return found
