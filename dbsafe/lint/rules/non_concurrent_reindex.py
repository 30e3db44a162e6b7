"""REINDEX without `CONCURRENTLY`.

## Why
A plain `REINDEX` locks the table against writes (SHARE) for the whole rebuild and takes
ACCESS EXCLUSIVE on the index itself, so queries that would use it wait too. `REINDEX
SCHEMA` / `DATABASE` do that table after table. `REINDEX ... CONCURRENTLY`
(PostgreSQL 12+) builds a fresh copy beside the old one and swaps them, blocking neither
reads nor writes.

## Bad
```sql
REINDEX INDEX ix_orders_customer;
```

## Good
```sql
REINDEX INDEX CONCURRENTLY ix_orders_customer;
```

## In Alembic
```python
with op.get_context().autocommit_block():
    op.execute("REINDEX INDEX CONCURRENTLY ix_orders_customer")
```
`CONCURRENTLY` cannot run inside a transaction block, hence the `autocommit_block()`.
A failed concurrent reindex leaves an invalid `*_ccnew` index behind: drop it and retry.

## Not flagged
`REINDEX (CONCURRENTLY) ...` in the option list; tables and indexes created earlier in the
same migration. `REINDEX SYSTEM` is flagged, but it cannot run concurrently at all: the help
says so.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from dbsafe.core import Finding, Severity
from dbsafe.lint.actions import qualified_name
from dbsafe.lint.engine import LintContext, Rule, Statement, _words

_KINDS = ("INDEX", "TABLE", "SCHEMA", "DATABASE", "SYSTEM")


def reindex_words(statement: Statement) -> tuple[str, ...] | None:
    """The words of a REINDEX statement, or None for any other statement.

    sqlglot's tokenizer swallows everything after `REINDEX` as one string, so
    `statement.words` is only `("REINDEX", "'")`: tokenize the remainder again.
    """
    if statement.words[:1] != ("REINDEX",):
        return None
    node = statement.node
    if isinstance(node, exp.Command) and node.expression is not None:
        return ("REINDEX", *_words(node.expression.name))
    return statement.words


def parse_reindex(words: tuple[str, ...]) -> tuple[str, str, bool] | None:
    """(kind, name, concurrently) of `REINDEX [(options)] kind [CONCURRENTLY] name`."""
    i = 1
    concurrently = False
    if words[i : i + 1] == ("(",):
        end = words.index(")", i) if ")" in words[i:] else len(words)
        options = words[i + 1 : end]
        for j, word in enumerate(options):
            if word == "CONCURRENTLY":
                value = options[j + 1] if j + 1 < len(options) else ","
                concurrently = value not in ("FALSE", "OFF", "0")
        i = end + 1
    if i >= len(words) or words[i] not in _KINDS:
        return None
    kind = words[i]
    i += 1
    if words[i : i + 1] == ("CONCURRENTLY",):
        concurrently = True
        i += 1
    name = qualified_name(words, i)[0] if i < len(words) else ""
    return kind, name, concurrently


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    words = reindex_words(statement)
    parsed = parse_reindex(words) if words else None
    if parsed is None:
        return
    kind, name, concurrently = parsed
    if concurrently:
        return
    if kind in ("INDEX", "TABLE") and name and ctx.created_before(name):
        return
    what = f"{kind.lower()} `{name}`" if name else kind.lower()
    if kind == "SYSTEM":
        help = ("REINDEX SYSTEM cannot run concurrently; run it in a maintenance window, "
                "not in a migration.")
    elif ctx.target_version < 120000:
        help = ("Upgrade to PostgreSQL 12+ for REINDEX CONCURRENTLY, or build a replacement "
                "with CREATE INDEX CONCURRENTLY and drop the old index concurrently.")
    else:
        help = "Use REINDEX ... CONCURRENTLY, outside a transaction."
    if kind == "INDEX":
        blocked = "writes to its table, and queries that use it, wait until it finishes"
    elif kind == "TABLE":
        blocked = f"writes to `{name}` wait until it finishes"
    else:
        blocked = "writes to each table wait while its indexes are rebuilt"
    yield ctx.finding(
        RULE,
        f"REINDEX of {what} runs without CONCURRENTLY; {blocked}.",
        help=help,
        subject=name or None,
    )


RULE = Rule(
    code="DBS104",
    name="non-concurrent-reindex",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)
