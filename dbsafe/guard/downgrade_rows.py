"""Rows that refuse the revisions' own downgrade (DBS617): before anything runs, `dbsafe
downgrade` asks the database whether a row it holds fails the schema the downgrade goes back
to (a column made shorter holding longer values, SET NOT NULL over NULLs, a column added back
NOT NULL with no default to a table with rows: `guard.data_loss.refused_rows`, the questions
asked of the computed downgrade for DBS608).

The revisions' downgrade() reaches that schema too, or its verification fails; but one may
change the rows first (an `UPDATE ... SET c = left(c, 30)`, a `USING` cutting them): its SQL,
rendered offline, is read for a statement writing the table, retyping the column with
`USING`, dropping the table or the column, adding the column with a DEFAULT (filling every
row) or renaming a table or column to its name, and where there is one, or the SQL could not be read, the rows "cannot tell". Before,
Apache Airflow's d75389605139 `downgrade()` (`log.event` back to `varchar(30)`) was planned
and failed half way (22001) on 25 longer values, six revisions undone before it.

The downgrade's own statements are asked too, as `upgrade` asks the pending revisions' (one
path: `lint.row_checks` reads the rendered SQL, `guard.row_refusals` asks the rows, DBS615's
probes): a `SET NOT NULL` over NULLs, a CHECK, a key or a type the rows refuse, where TARGET's
recorded schema says nothing (Airflow's d75389605139 sets `log.event` NOT NULL, nullable at
TARGET, over 400 NULLs). A column the schema questions already named is said once
(`not_named`), but for a statement's refusal of one they could not tell of.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbsafe.core import Finding, RuleInfo, Severity, shortened
from dbsafe.lint.statement import Statement, last

if TYPE_CHECKING:
    from dbsafe.guard.row_refusals import Verdict

ROWS_REFUSE_DOWNGRADE = RuleInfo(
    "DBS617", "rows-refuse-downgrade",
    "The database holds rows the schema a downgrade goes back to refuses (a value longer than "
    "a column becomes, a NULL in a column set NOT NULL), and the revisions' downgrade() does "
    "not change them first: it would fail half way, the revisions before it undone.",
    Severity.ERROR, "0.2.0")

# Statements that may change any table's rows.
_ANY_ROWS = frozenset({"DoStmt", "CallStmt"})
# Data statements whose calls are not counted: they name the tables they write.
_NAMED_WRITES = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt",
                           "TruncateStmt"})


def cannot_tell(subject: str, statements: Sequence[Statement] | None) -> str | None:
    """Why the rows of `subject` (`schema.table.column`, or a key's `schema.table (a, b)`)
    that the schema refuses may not refuse the downgrade running `statements` (None: its
    SQL is unknown); None: they do."""
    from dbsafe.lint.row_changes import Runs

    if statements is None:
        return "its SQL could not be read offline"
    table, columns = _columns(subject)
    name = last(table)
    runs = Runs()  # (what each statement runs over rows: an EXECUTE's PREPARE, ...)
    for statement in statements:
        if not statement.parsed:
            return f"`{_sql(statement)}` did not parse"
        run = runs.of(statement)
        if statement.kind in _ANY_ROWS or (run is not None and (
                run.unknown is not None or any(last(r) == name for r in run.tables))):
            return f"it changes rows of {name} first: `{_sql(statement)}`"
        if run is not None and run.views:
            return (f"it refreshes {run.views[0]}, whose query may change rows of {name}: "
                    f"`{_sql(statement)}`")
        # (a SELECT's, a query's run for a table, an EXPLAIN ANALYZE's: not followed on the
        # database here, so PostgreSQL's now() counts too)
        called = next(iter(run.calls), None) \
            if run is not None and statement.kind not in _NAMED_WRITES else None
        if called is not None:
            return f"it calls {called}(), which may change rows of {name}: `{_sql(statement)}`"
        if statement.kind == "DropStmt" and statement.object_kind == "table" and any(
                last(d) == name for d in statement.dropped):
            return f"it drops {name} first: `{_sql(statement)}`"
        rename = statement.rename
        if rename is not None and (
                rename.new in columns if rename.object == "column"
                and last(rename.relation or "") == name else rename.new == name):
            return f"it renames to {rename.new} first: `{_sql(statement)}`"
        if statement.relation is None or last(statement.relation) != name:
            continue
        for action in statement.actions:
            if action.name not in columns:
                continue
            if action.subtype == "AlterColumnType" and action.using is not None:
                return f"it retypes {action.name} with USING: `{_sql(statement)}`"
            # the column's rows go with it; one added with a DEFAULT gets it in every row
            if action.subtype == "DropColumn" or (
                    action.subtype == "AddColumn" and action.column is not None
                    and action.column.default is not None):
                how = (f"drops {action.name}" if action.subtype == "DropColumn"
                       else f"adds {action.name} with a DEFAULT")
                return f"it {how} first: `{_sql(statement)}`"
    return None


@dataclass(frozen=True, slots=True)
class Read:
    """A statement of a captured downgrade reading an application table's rows: the copy it
    ran on holds none, so what the downgrade() does with rows it reads is in no statement
    after it (`index`, in the captured SQL)."""

    index: int
    why: str


# Tables whose rows are no application's (the catalogs; alembic's version table)
_NOT_APPLICATION = ("pg_catalog.", "information_schema.", "pg_")


def first_read(rendered: Sequence[tuple[str, str | None]]) -> Read | None:
    """The first statement of a revision in `rendered` (a captured downgrade's SQL, each
    with its revision) that reads rows of an application table, a `SELECT` (a loop filling
    a column from another table, a guard counting rows): on the copy it was captured on,
    which holds no rows, it read none, and what the downgrade() does for each row it reads
    is not in what it ran there. None: no revision reads rows.

    >>> first_read([("SELECT 1", "0007"), ("SELECT id FROM patients", "0007")]).index
    1
    >>> first_read([("SELECT version_num FROM alembic_version", None),
    ...             ("SELECT relname FROM pg_class", "0007")]) is None
    True
    """
    from dbsafe.lint.row_changes import Runs
    from dbsafe.lint.statement import parse_statement

    runs = Runs()  # (in order: an EXECUTE runs what its PREPARE holds)
    for index, (sql, revision) in enumerate(rendered):
        statement = parse_statement(sql)
        run = runs.of(statement) if statement.parsed else None
        if revision is None or run is None or not run.select:
            continue
        tables = [t for t in run.tables if not t.startswith(_NOT_APPLICATION)
                  and last(t) != "alembic_version"]
        if tables:
            return Read(index, f"{revision} reads rows of {last(tables[0])} (`{_shown(sql, 60)}`)"
                        ", and the copy the downgrade was captured on holds none: what it does "
                        "with the rows it reads is not in the statements read")
    return None


def added_back(subject: str, rows: int, rendered: Sequence[tuple[str, str | None]]
               ) -> str | None:
    """Why a column the downgrade adds back fails on a table holding `rows` rows, as the
    downgrade's statements (`rendered`, each with its revision) do it: added `NOT NULL`
    with no default (Open-Assistant's 160ac010efcc), or added nullable and set `NOT NULL`
    later, with nothing filling it between (fractal-server's 7910eed4cf97 after
    b7477cc98f45). None where they do neither (the schema's words stand).

    >>> print(added_back("public.orders.note", 2, [
    ...     ("ALTER TABLE orders ADD COLUMN note TEXT", "0007"),
    ...     ("ALTER TABLE orders ALTER COLUMN note SET NOT NULL", "0006")]))
    0007's `ALTER TABLE orders ADD COLUMN note TEXT` adds it back nullable with no default, \
and 0006's `ALTER TABLE orders ALTER COLUMN note SET NOT NULL` sets it NOT NULL over the NULL \
that leaves in each of the table's 2 row(s)
    >>> print(added_back("public.orders.kind", 1, [
    ...     ("ALTER TABLE orders ADD COLUMN kind TEXT NOT NULL", "0006")]))
    0006's `ALTER TABLE orders ADD COLUMN kind TEXT NOT NULL` adds it back NOT NULL with no \
default to a table holding 1 row(s)
    >>> added_back("public.orders.kind", 1, [("ALTER TABLE orders DROP COLUMN id", "0006")])
    """
    from dbsafe.lint.statement import parse_statement

    table, (column,) = _columns(subject)
    added: tuple[str, str] | None = None  # (sql, revision) adding it nullable
    for sql, revision in rendered:
        statement = parse_statement(sql)
        if revision is None or statement.relation is None \
                or last(statement.relation) != last(table):
            continue
        for action in statement.actions:
            key = action.constraint
            if action.subtype == "AddColumn" and action.column is not None \
                    and action.column.name == column:
                if action.column.not_null:
                    return (f"{revision}'s `{_shown(sql, 120)}` adds it back NOT NULL with no "
                            f"default to a table holding {rows:,} row(s)")
                added = (sql, revision)
            elif added is not None and (
                    (action.subtype == "SetNotNull" and action.name == column)
                    or (key is not None and key.kind in ("not_null", "primary")
                        and column in key.columns)):
                return (f"{added[1]}'s `{_shown(added[0], 120)}` adds it back nullable with no "
                        f"default, and {revision}'s `{_shown(sql, 120)}` sets it NOT NULL over "
                        f"the NULL that leaves in each of the table's {rows:,} row(s)")
    return None


def _columns(subject: str) -> tuple[str, tuple[str, ...]]:
    """The table and columns of a refusal's subject: `schema.table.column`, or a unique
    key's `schema.table (a, b)`.

    >>> _columns("public.log.event"), _columns("public.experiments (name, workspace)")
    (('public.log', ('event',)), ('public.experiments', ('name', 'workspace')))
    """
    if subject.endswith(")"):
        table, _, key = subject[:-1].partition(" (")
        return table, tuple(key.split(", "))
    table, _, column = subject.rpartition(".")
    return table, (column,)


def _sql(statement: Statement) -> str:
    return _shown(statement.sql, 60)


def _shown(sql: str, length: int) -> str:
    return shortened(sql.strip().rstrip(";"), length)


_STOPS = ("until then the downgrade would stop half way (the backup the run takes first is "
          "the way back).")


def refusal_finding(subject: str, why: str, *, added: bool = False) -> Finding:
    """DBS617 of `subject`; `added`: a column the downgrade adds NOT NULL without a DEFAULT,
    which holds NULL in every row: no row can be changed first, the downgrade() gives it a
    value (Open-Assistant's 160ac010efcc adds `message.lang` back, task 475: its help said
    "Change those rows first").

    >>> print(refusal_finding("public.t.c", "why", added=True).help)
    Give the column a default in the downgrade() (`op.add_column(..., server_default=...)`), or add it nullable, fill it and then set it NOT NULL; until then the downgrade would stop half way (the backup the run takes first is the way back).
    """
    return Finding(
        ROWS_REFUSE_DOWNGRADE.code,
        f"The downgrade fails on `{subject}`: {why}.", Severity.ERROR, subject=subject,
        help=("Give the column a default in the downgrade() (`op.add_column(..., "
              "server_default=...)`), or add it nullable, fill it and then set it NOT NULL; "
              if added else "Change those rows first, or write the downgrade() to change them "
              "before the schema does; ") + _STOPS)


def own_checks(rendered: Sequence[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """The statements of the downgrade's rendered SQL (each with its revision; None: alembic's
    version table's) that validate rows, as lint hands the upgrade's on (`lint.row_checks`)."""
    from dbsafe.lint.row_checks import RowChecks
    from dbsafe.lint.statement import parse_statement

    checks = RowChecks()
    for sql, revision in rendered:
        if revision is not None:
            checks.add(revision, [parse_statement(sql)])
    return checks.summary()


def not_named(verdicts: Sequence[Verdict], refused: Sequence[str],
              untold: Sequence[str] = ()) -> list[Verdict]:
    """`verdicts` less what the schema questions said already: one column or key, one line.
    `refused`: the subjects they refused, `untold`: those they could not tell of (a column's
    `schema.table.column`, a unique key's `schema.table (a, b)`).

    A verdict of such a column, or of a unique key over the columns of such a key, is left
    out; so is one that is no refusal (`cannot tell`, `not checked`) of a statement every
    column of which they named (its subject the table: a data statement before it). A
    statement's refusal of a column they could not tell of stays: it may run before what
    changes the rows (`SET NOT NULL` of a column holding NULLs before the `UPDATE` filling
    them fails)."""
    return [v for v in verdicts
            if not _said(v, refused if v.outcome == "refused" else [*refused, *untold])]


def _said(verdict: Verdict, named: Sequence[str]) -> bool:
    """Whether `named` (the schema questions' subjects) says what `verdict` says."""
    said = {_last_two(subject) for subject in named if not subject.endswith(")")}
    keys = {(last(table), frozenset(columns))
            for table, columns in map(_columns, (s for s in named if s.endswith(")")))}
    if _last_two(verdict.subject) in said or _unique_key(verdict.sql) in keys:
        return True
    if verdict.outcome == "refused":
        return False
    table, columns = _validated(verdict.sql)
    return bool(columns) and all((table, column) in said for column in columns)


def _validated(sql: str) -> tuple[str, frozenset[str]]:
    """The table and the columns `sql` validates the rows of (`lint.row_checks`); none: any
    column, or not known (`VALIDATE CONSTRAINT`)."""
    from dbsafe.lint.row_checks import validated_columns
    from dbsafe.lint.statement import parse_statement

    statement = parse_statement(sql)
    if statement.kind == "UpdateStmt" and statement.relation is not None:
        # (its rows asked of what constrains the columns it sets: `guard.updated_rows`)
        targets = [t.get("ResTarget", t) for t in statement.node.get("targetList") or ()]
        names = frozenset(str(t.get("name") or "") for t in targets)
        return last(statement.relation).strip('"'), names - {""}
    columns = validated_columns(statement)
    if statement.relation is None or columns is None:
        return "", frozenset()
    return last(statement.relation).strip('"'), columns


def _unique_key(sql: str) -> tuple[str, frozenset[str]] | None:
    """The table and columns of the unique index or key `sql` makes, if it makes one."""
    from dbsafe.lint.statement import parse_statement

    statement = parse_statement(sql)
    if statement.relation is None:
        return None
    index = statement.index_def
    if statement.kind == "IndexStmt" and index is not None and index.unique:
        return last(statement.relation), frozenset(index.columns)
    for action in statement.actions:
        key = action.constraint
        if key is not None and key.kind in ("unique", "primary"):
            return last(statement.relation), frozenset(key.columns)
    return None


def _last_two(subject: str) -> tuple[str, ...]:
    return tuple(part.strip('"') for part in subject.split(".")[-2:])


def verdict_finding(verdict: Verdict) -> Finding:
    """DBS617 for a statement of the downgrade the rows refuse."""
    from dbsafe.lint.statement import parse_statement

    column = verdict.subject.rpartition(".")[2].strip('"')
    added = any(a.subtype == "AddColumn" and a.column is not None and a.column.name == column
                and a.column.default is None for a in parse_statement(verdict.sql).actions)
    return refusal_finding(verdict.subject, f"{verdict.revision}'s "
                           f"`{_shown(verdict.sql, 120)}` refuses it: it {verdict.detail}",
                           added=added)
