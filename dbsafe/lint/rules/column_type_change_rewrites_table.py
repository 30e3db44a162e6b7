"""Column type changed in place, rewriting the table under an ACCESS EXCLUSIVE lock.

## Why
`ALTER TABLE ... ALTER COLUMN ... TYPE` holds an ACCESS EXCLUSIVE lock — no reads, no
writes — while PostgreSQL rewrites every row and rebuilds every index of the table, unless
the old type converts to the new one without changing the stored bytes. Only a few changes
are that cheap (verified on PostgreSQL 18 by comparing `pg_relation_filenode` before and
after):

| from | to | rewrite? |
| --- | --- | --- |
| `varchar(n)` | `varchar(m)`, m ≥ n; `varchar`; `text` | no |
| `text`, `varchar` | `varchar` (no length), `text` | no |
| `numeric(p,s)` | `numeric(q,s)`, q ≥ p; `numeric` | no |
| `bit varying(n)`, `bit(n)` | `bit varying(m)`, m ≥ n; `bit varying` (from `bit(n)` only unlimited) | no |
| `timestamp(p)`, `timestamptz(p)`, `time(p)`, `timetz(p)`, `interval(p)` | same type, more or unlimited precision | no |
| `cidr` | `inet` | no |
| `text`, `varchar(n)` | `citext` (contrib); `citext` to `text`, `varchar` | no (its indexes are rebuilt: DBS122) |
| any type with a modifier (`vector(1536)`, `varchar(10)[]`) | the same type without it (`vector`, `varchar[]`) | no |
| `timestamp` | `timestamptz` (or back) | only when the session's TimeZone is UTC — flagged |
| `char(n)` | `text`, `varchar`, `char(m)` | **yes** |
| shorter length, smaller precision or scale change, `int` → `bigint`, `json` → `jsonb` | | **yes** |

A `USING` expression other than the column itself (optionally cast) always rewrites. A
domain type counts as its base type, unless it has a constraint (`CHECK`, `NOT NULL`):
changing a column to such a domain rewrites the table to check every row. Which domain a
name is goes by its schema: the one written, else the first schema of the `search_path` in
force holding a domain of the name, made earlier in the migrations or the database's
(`CREATE DOMAIN app.code AS text` says nothing of the database's `public.code`).

When other tables' foreign keys reference the column, PostgreSQL drops and re-adds them,
and with the table rewritten it checks every row of those tables again, each held ACCESS
EXCLUSIVE meanwhile (vaultwarden's `users.uuid` `char(36)` → `varchar(40)` scanned the six
tables keyed to it; verified on PostgreSQL 18 with `pg_stat_get_xact_numscans`): the
finding names them. A key added NOT VALID and not validated since is re-added NOT VALID,
and a NOT ENFORCED one has nothing to check: neither is named.

`ALTER TABLE` without `ONLY` changes the column in every table that inherits from the one
named, or is one of its partitions, at any depth: each is locked and rewritten the same way
(pg_locks and relfilenodes, PostgreSQL 18), and the finding names those the migrations
made or the database has. With inheritance the rows often live in a child (opentdf's
`key_access_server_keys INHERITS (asym_key)`, changed through `ALTER TABLE asym_key`). A
partitioned table has no storage of its own (its relfilenode is 0): the finding says its
partitions are what is rewritten, while the table named is locked ACCESS EXCLUSIVE with them.

## Bad
```sql
ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;
```

## Good
```sql
ALTER TABLE orders ADD COLUMN note varchar(50);
ALTER TABLE orders ALTER COLUMN note TYPE varchar(200);
```

## In Alembic
`op.alter_column("orders", "quantity", type_=sa.BigInteger())` rewrites the table. Instead
add a new column, backfill it in batches, switch the application over, then drop the old
column (expand/contract) — or make the change in a maintenance window.

## Not flagged
* Changes known not to rewrite (the table above), when dbsafe knows the old type — from the
  database snapshot taken before the migration, or from an earlier `ADD COLUMN` / type
  change in the same migration; a rename of the column or its table since is followed, and
  a DEFAULT set or dropped since keeps it.
* Tables created earlier in the same migration, and a table a `TRUNCATE` earlier in the
  same transaction emptied (no row added since: the rewrite reads the new, empty file,
  under the ACCESS EXCLUSIVE lock TRUNCATE already holds).

When the old type is unknown (no snapshot), dbsafe says it could not tell. The finding is an
**error** when the new type is one no other type reaches without a rewrite (`bigint`,
`uuid`, `jsonb`, ...), and a **warning** when the new type could be a cheap widening
(`text`, `varchar(n)`, `numeric`, `inet`, `citext`, ...): pass the database (`--database`)
so dbsafe can decide.

## References
https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement, is_plain_column, same_relation
from dbsafe.lint.transactions import truncated_first
from dbsafe.pg.types import stored_as

# New types some other type reaches without a rewrite (besides the same type).
_CHEAP_TARGETS = {"varchar", "text", "numeric", "varbit", "timestamp", "timestamptz", "time",
                  "timetz", "interval", "inet", "citext"}


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.relation:
        return
    table = statement.relation
    if ctx.created_before(table) or truncated_first(statement, ctx, table):
        return
    below = tuple(child for child, _how in statement.descendants)
    rewritten = f"`{table}`"
    partitioned = ctx.partitioned(table)
    if partitioned:
        # It has no storage: its partitions' rows are what is rewritten, and they are named
        # there rather than as tables changed too.
        listed = "".join(f"`{name}`, " for name in below).removesuffix(", ")
        rewritten = (f"the partitions of `{table}` ({listed}{'; ' if listed else ''}a "
                     "partitioned table has no rows of its own)")
        below = ()
    for action in statement.actions:
        if action.subtype != "AlterColumnType" or action.column is None:
            continue
        new = action.column.type
        column = action.name or ""
        if new is None:
            continue
        referencing = _checked_again(statement, table, column)
        if action.using is not None and not is_plain_column(action.using, column):
            yield _finding(ctx, table, column, f"The USING expression for `{table}.{column}` "
                           f"rewrites {rewritten} under an ACCESS EXCLUSIVE lock", referencing,
                           below, partitioned=partitioned)
            continue
        domain = ctx.domain(new)
        if domain is not None and domain.constrained:
            yield _finding(ctx, table, column, f"Changing `{table}.{column}` to the constrained "
                           f"domain type `{new}` (a CHECK or NOT NULL) rewrites {rewritten} "
                           "under an ACCESS EXCLUSIVE lock", referencing, below,
                           partitioned=partitioned)
            continue
        new = ctx.stored_type(new)
        known = ctx.column(table, column)
        old = ctx.stored_type(known.type) if known is not None and known.type else None
        if old is None:
            severity = Severity.WARNING if stored_as(new)[0] in _CHEAP_TARGETS else Severity.ERROR
            yield ctx.finding(
                RULE,
                f"Changing `{table}.{column}` to `{new}` may rewrite {rewritten}"
                f"{_below(below)} under an ACCESS EXCLUSIVE lock; dbsafe could not tell "
                "because the column's current type is unknown.",
                help="Lint with the database (or a schema snapshot) so dbsafe knows the old "
                     "type, or add a new column and backfill it instead.",
                subject=f"{table}.{column}", severity=severity)
            continue
        verdict = ctx.type_change_rewrites(old, new)
        if verdict is False:
            continue
        if verdict is None:
            yield _finding(ctx, table, column,
                           f"Changing `{table}.{column}` from `{stored_as(old)[0]}` to "
                           f"`{stored_as(new)[0]}` "
                           f"rewrites {rewritten} under an ACCESS EXCLUSIVE lock unless the "
                           "session's TimeZone is UTC", below=below,
                           partitioned=partitioned)
            continue
        # A serial column is stored as integer: name the type PostgreSQL changes.
        shown = dataclasses.replace(old, name=stored_as(old)[0])
        yield _finding(ctx, table, column, f"Changing `{table}.{column}` from "
                       f"`{shown}` to `{new}` rewrites {rewritten} under an ACCESS "
                       "EXCLUSIVE lock", referencing, below,
                       partitioned=partitioned)


def _checked_again(statement: Statement, table: str, column: str) -> list[str]:
    """The other tables whose foreign keys to `table.column` PostgreSQL checks again, every
    row, when the type change rewrites `table`: it drops and re-adds them, and reuses a
    key's validity only when neither of its tables is rewritten (ATPostAlterTypeParse).
    Not a NOT ENFORCED key, nor one NOT VALID (re-added NOT VALID, no row checked)."""
    return list(dict.fromkeys(
        fk.table for fk in statement.keys_to
        if column in fk.referenced_columns and fk.enforced and fk.validated
        and not same_relation(fk.table, table)))


def _below(below: Sequence[str]) -> str:
    """The words naming the tables below the one altered, which ALTER TABLE changes too."""
    if not below:
        return ""
    listed = ", ".join(f"`{name}`" for name in below)
    return f" and {listed} (which inherit from it or are its partitions: ALTER TABLE " \
           "without ONLY changes them too)"


def _finding(ctx: LintContext, table: str, column: str, what: str,
             referencing: Sequence[str] = (), below: Sequence[str] = (), *,
             partitioned: bool = False) -> Finding:
    if below:
        what = f"{what}, and the same for{_below(below).removeprefix(' and')}"
        table_words = f"`{table}` and the tables below it"
    elif partitioned:
        table_words = f"`{table}` and its partitions"
    else:
        table_words = f"`{table}`"
    if referencing:
        listed = ", ".join(f"`{name}`" for name in referencing)
        return ctx.finding(
            RULE,
            f"{what}, and every row of {listed} is checked again against it (their foreign "
            f"keys to `{column}`), each locked ACCESS EXCLUSIVE too; reads and writes on "
            "them all wait until it is done.",
            help="Add a new column, backfill it in batches and switch over, or run the change "
                 "in a maintenance window.",
            subject=f"{table}.{column}")
    return ctx.finding(
        RULE,
        f"{what}; reads and writes on {table_words} wait until every row is rewritten.",
        help="Add a new column, backfill it in batches and switch over, or run the change "
             "in a maintenance window.",
        subject=f"{table}.{column}")


RULE = Rule(
    code="DBS110",
    name="column-type-change-rewrites-table",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterTableStmt"}),
    claim="rewrite",
    weighed_by="size",
)
