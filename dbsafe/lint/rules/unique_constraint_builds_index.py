"""Unique or primary key constraint added to an existing table, building its index under an ACCESS EXCLUSIVE lock.

## Why
`ALTER TABLE ... ADD UNIQUE (...)` and `ADD PRIMARY KEY (...)` build a unique index while
holding an ACCESS EXCLUSIVE lock: no reads and no writes on the table until the whole
index is built. The same holds for a column added with `UNIQUE` or `PRIMARY KEY`, and for
`ADD CONSTRAINT ... EXCLUDE USING gist (...)`, whose index cannot be built beforehand.

A primary key over a column that is not `NOT NULL` also sets it NOT NULL, without saying
so: under the same lock PostgreSQL reads every row for a NULL (a second scan besides the
index build, `pg_stat_get_xact_numscans` on PostgreSQL 18), and fails with 23502 ("column
... contains null values") if it finds one. Where the history or `--database-url` shows
the column nullable, the finding says so (skipped on PostgreSQL 12+ when a validated
`CHECK (col IS NOT NULL)` proves it).

Rows sharing a key make the build fail (23505, "could not create unique index"), the
`CONCURRENTLY` one too (leaving an INVALID index behind): the help gives the query that
lists them (`SELECT ref, count(*) FROM orders WHERE ref IS NOT NULL GROUP BY ref HAVING
count(*) > 1`; rows with a NULL in the key never conflict, unless `NULLS NOT DISTINCT`).
Where the migration itself wrote the key twice before — an `INSERT ... VALUES` of two rows
with the same constants in every key column (in one statement or two), or an `UPDATE`
without `WHERE` giving every key column one constant after it inserted two rows, with no
statement since that may change or remove rows, nor a trigger or rule the migration made
on the table — the message says the build fails. Whether rows the table already had
repeat is not guessed (nor a trigger an earlier migration made: lint does not follow them).

## Bad
```sql
ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE (ref);
```

## Good
```sql
CREATE UNIQUE INDEX CONCURRENTLY orders_ref_key ON orders (ref);
ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE USING INDEX orders_ref_key;
```

## In Alembic
```python
with op.get_context().autocommit_block():
    op.create_index("orders_ref_key", "orders", ["ref"], unique=True,
                    postgresql_concurrently=True)
op.execute("ALTER TABLE orders ADD CONSTRAINT orders_ref_key "
           "UNIQUE USING INDEX orders_ref_key")
```
Attaching the index takes ACCESS EXCLUSIVE only briefly (catalog change). For a primary
key, the columns must already be `NOT NULL`, or PostgreSQL scans the table to check.

## Not flagged
* `ADD CONSTRAINT ... UNIQUE USING INDEX` / `PRIMARY KEY USING INDEX`.
* Tables created earlier in the same migration, and a table a `TRUNCATE` earlier in the
  same transaction emptied (no row added since: the build reads the new, empty file, under
  the ACCESS EXCLUSIVE lock TRUNCATE already holds).

Exclusion constraints (`EXCLUDE`) are flagged too, though no index can be built for them
beforehand: add them where a pause in reads and writes is acceptable.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.locks import locks_for
from dbsafe.lint.statement import Statement, same_relation, strings
from dbsafe.lint.transactions import truncated_first

_KINDS = {"primary": "primary key", "unique": "unique constraint",
          "exclusion": "exclusion constraint"}


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.relation:
        return
    table = statement.relation
    if ctx.created_before(table) or truncated_first(statement, ctx, table):
        return
    added = [(c.kind, c.columns) for c in statement.constraints if c.using_index is None]
    added += [(c.kind, ()) for column in statement.columns for c in column.constraints]
    for kind, columns in ((_KINDS[k], columns) for k, columns in added if k in _KINDS):
        nullable = _nullable(statement, ctx, columns) if kind == "primary key" else []
        if kind == "exclusion constraint":
            # PostgreSQL cannot attach an exclusion constraint to a prebuilt index.
            help_text = ("Add exclusion constraints while the table is small or in a "
                         "maintenance window; there is no USING INDEX form for them.")
        elif nullable:
            help_text = (f"Prove {_named(nullable)} NOT NULL first (CHECK (... IS NOT NULL) "
                         "NOT VALID, VALIDATE it, SET NOT NULL), then build a unique index "
                         "with CREATE UNIQUE INDEX CONCURRENTLY and add the primary key with "
                         "USING INDEX.")
        else:
            help_text = ("Build a unique index with CREATE UNIQUE INDEX CONCURRENTLY, then add "
                         "the constraint with USING INDEX.")
        repeated = ""
        if columns and kind != "exclusion constraint":
            # Rows sharing a key make the build fail, the concurrent one too (leaving its
            # index INVALID): the query finds them first.
            help_text += (f" Two rows with the same {_named(list(columns))} make the build "
                          f"fail (23505): look for them first with `"
                          f"{_duplicates_query(statement, table, columns, kind)}`.")
            repeated = _repeated(statement, ctx, table, columns)
        article = "an" if kind[0] in "aeio" else "a"  # a unique, an exclusion
        also = (f" It also sets {_named(nullable)} NOT NULL, reading every row under that "
                "lock, and fails (23502) if one is NULL." if nullable else "")
        yield ctx.finding(
            RULE,
            f"Adding {article} {kind} to `{table}` builds its index under an ACCESS EXCLUSIVE "
            f"lock; reads and writes on `{table}` wait until the index is built.{also}"
            f"{repeated}",
            help=help_text,
            subject=table,
        )


def _duplicates_query(statement: Statement, table: str, columns: tuple[str, ...],
                      kind: str) -> str:
    """The SELECT listing the key values more than one row holds. Rows with a NULL in the
    key never conflict in a unique constraint (unless NULLS NOT DISTINCT): they are left
    out; a primary key refuses NULLs anyway (23502)."""
    from dbsafe.schema.ddl import quote

    key = ", ".join(quote(c) for c in columns)
    name = ".".join(quote(part) for part in table.split("."))
    where = ""
    if kind == "unique constraint" and not _nulls_not_distinct(statement, columns):
        where = f" WHERE {key if len(columns) == 1 else f'({key})'} IS NOT NULL"
    return f"SELECT {key}, count(*) FROM {name}{where} GROUP BY {key} HAVING count(*) > 1"


def _nulls_not_distinct(statement: Statement, columns: tuple[str, ...]) -> bool:
    for cmd in statement.node.get("cmds") or ():
        con = (cmd.get("AlterTableCmd", {}).get("def") or {}).get("Constraint") or {}
        if con.get("nulls_not_distinct") and strings(con.get("keys")) == columns:
            return True
    return False


# Statements that may change or remove a table's rows, besides those naming it: a cascade
# from another table's, a procedure, a DO block, a function a SELECT calls.
_CHANGES_ROWS = frozenset({"DeleteStmt", "UpdateStmt", "MergeStmt", "TruncateStmt",
                           "CallStmt", "DoStmt", "CopyStmt", "SelectStmt", "ExecuteStmt"})


def _repeated(statement: Statement, ctx: LintContext, table: str,
              columns: tuple[str, ...]) -> str:
    """What says the key repeats, when this migration wrote it so: `INSERT ... VALUES` of
    two rows with the same constants in every key column (in one statement or two), or one
    UPDATE (no WHERE) setting them to constants after it inserted two rows, with nothing
    since that may change or remove rows, and no trigger or rule on the table made in the
    migration (it may change what an INSERT writes). Anything else is unknown: ""."""
    said = _written_twice(statement, ctx, table, columns)
    if said and any(s.kind in ("CreateTrigStmt", "RuleStmt") and same_relation(s.relation, table)
                    for s in ctx.earlier(statement)):
        return ""
    return said


def _written_twice(statement: Statement, ctx: LintContext, table: str,
                   columns: tuple[str, ...]) -> str:
    updated: Statement | None = None
    inserted = 0
    seen: dict[tuple, int] = {}  # the key of each row inserted after, by its line
    for s in reversed(ctx.earlier(statement)):
        if s.deferred:
            continue
        if s.transaction in ("rollback", "rollback_to", "prepare") or not s.parsed or \
                s.unread is not None:
            return ""
        if s.kind == "InsertStmt" and same_relation(s.relation, table):
            rows = _inserted_keys(s, columns)
            if rows is None:
                return ""
            inserted += len(rows) if updated is not None else 0  # rows the UPDATE set
            if updated is not None and inserted > 1:
                return (f" The UPDATE on line {updated.location.line} gives every row the "
                        f"same {_named(list(columns))}, and this migration inserted "
                        f"{inserted} rows: the build fails (23505).")
            if updated is not None:
                continue
            line = s.location.line
            for key in rows:
                if key is None:
                    continue
                if key in seen:
                    rows_written = "two rows with the same" if seen[key] == line else \
                        "a row with the same"
                    also = "" if seen[key] == line else f" as the one on line {seen[key]}"
                    return (f" The INSERT on line {line} writes {rows_written} "
                            f"{_named(list(columns))}{also}: the build fails (23505).")
                seen[key] = line
            continue
        if s.kind == "UpdateStmt" and same_relation(s.relation, table) and updated is None \
                and _sets_constants(s, columns):
            updated = s
            continue
        if s.kind in _CHANGES_ROWS or (s.kind == "InsertStmt" and s.node.get("withClause")) \
                or any(same_relation(lock.relation, table) for lock in locks_for(s)):
            return ""
    return ""


def _constant(node: dict) -> str | None:
    """A non-NULL constant (cast or not), as text to compare; None for anything else."""
    if "TypeCast" in node:
        cast = node["TypeCast"]
        inner = _constant(cast.get("arg") or {})
        names = strings((cast.get("typeName") or {}).get("names"))
        return None if inner is None else f"{inner}::{'.'.join(names)}"
    const = node.get("A_Const")
    if const is None or const.get("isnull"):
        return None
    return repr(sorted((k, v) for k, v in const.items() if k != "location"))


def _inserted_keys(s: Statement, columns: tuple[str, ...]) -> list[tuple | None] | None:
    """Each row's key an `INSERT INTO t (cols) VALUES ...` writes (None: a row whose key
    holds a NULL or no constant); None when its rows are unknown (a SELECT, no column
    list, ON CONFLICT, RETURNING into a CTE)."""
    node = s.node
    select = (node.get("selectStmt") or {}).get("SelectStmt") or {}
    names = [(c.get("ResTarget") or {}).get("name") for c in node.get("cols") or ()]
    if not names or node.get("onConflictClause") or node.get("withClause") or \
            not select.get("valuesLists") or any(c not in names for c in columns):
        return None
    keys: list[tuple | None] = []
    for row in select["valuesLists"]:
        items = (row.get("List") or {}).get("items") or []
        if len(items) != len(names):
            return None
        key = tuple(_constant(items[names.index(c)]) for c in columns)
        keys.append(None if None in key else key)
    return keys


def _sets_constants(s: Statement, columns: tuple[str, ...]) -> bool:
    """Does an UPDATE without WHERE or FROM set every key column to a constant?"""
    if s.node.get("whereClause") or s.node.get("fromClause") or s.node.get("withClause"):
        return False
    set_to = {(t.get("ResTarget") or {}).get("name"): (t.get("ResTarget") or {}).get("val")
              for t in s.node.get("targetList") or ()}
    return all(_constant(set_to.get(c) or {}) is not None for c in columns)


def _nullable(statement: Statement, ctx: LintContext, columns: tuple[str, ...]) -> list[str]:
    """The primary key's columns known to be nullable before the statement: PostgreSQL
    sets them NOT NULL as it adds the key, scanning the table for NULLs (skipped on 12+
    where a validated `CHECK (col IS NOT NULL)` proves it). A column whose NULLs are
    unknown, or that the statement itself sets NOT NULL (DBS107 says so), is left out."""
    set_here = {a.name for a in statement.actions if a.subtype == "SetNotNull"}
    table = statement.relation or ""
    found = []
    for column in columns:
        known = ctx.column(table, column)
        if known is None or known.not_null is not False or column in set_here:
            continue
        if ctx.target_version >= 120000 and ctx.proven_not_null(table, column):
            continue
        found.append(column)
    return found


def _named(columns: list[str]) -> str:
    return ", ".join(f"`{c}`" for c in columns)


RULE = Rule(
    code="DBS111",
    name="unique-constraint-builds-index",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    claim="lock",
    kinds=frozenset({"AlterTableStmt"}),
    weighed_by="size",
)
