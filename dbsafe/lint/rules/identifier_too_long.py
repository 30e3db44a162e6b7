"""Identifier longer than 63 bytes.

## Why
PostgreSQL keeps at most 63 bytes (UTF-8) of an identifier and silently cuts the rest off —
a NOTICE is all it says. The object then exists under a name that appears nowhere in your
code: an ORM or `alembic autogenerate` comparing names sees a difference on every run, code
reading the catalogs does not find it, and two long names that share their first 63 bytes
collide (`relation "..." already exists`), e.g. generated index or constraint names of
similar tables.

## Bad
```sql
CREATE INDEX ix_customer_subscription_renewals_customer_id_and_scheduled_renewal_date
    ON customer_subscription_renewals (customer_id, scheduled_renewal_date);
```

## Good
```sql
CREATE INDEX ix_renewals_customer_scheduled
    ON customer_subscription_renewals (customer_id, scheduled_renewal_date);
```

## In Alembic
Give long generated names an explicit short name (`op.create_index("ix_...", ...)`,
`sa.UniqueConstraint(..., name="uq_...")`), or set a `naming_convention` on the
`MetaData` whose templates stay under 63 bytes.

## Not flagged
Long names that are only referenced (the object was named elsewhere: it has already been
truncated). Enum labels (PostgreSQL rejects long ones with an error rather than truncating
them). Names the statement creates inside function bodies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlglot import exp

from dbsafe.core import Finding, Severity
from dbsafe.lint.alter import Word, statement_words
from dbsafe.lint.engine import LintContext, Rule, Statement

MAX_BYTES = 63  # NAMEDATALEN - 1

# The object kinds a CREATE statement names; the modifiers that may precede them.
_CREATE_KINDS = {
    "TABLE", "INDEX", "SEQUENCE", "VIEW", "TYPE", "FUNCTION", "PROCEDURE", "SCHEMA",
    "TRIGGER", "POLICY", "DOMAIN", "AGGREGATE", "COLLATION", "STATISTICS", "RULE",
    "PUBLICATION", "SUBSCRIPTION", "SERVER", "CONVERSION",
}
_CREATE_MODIFIERS = {
    "OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE",
    "MATERIALIZED", "RECURSIVE", "CONSTRAINT", "FOREIGN", "EVENT", "TRUSTED", "PROCEDURAL",
    "DEFAULT",
}
_ADD_NOT_A_COLUMN = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE",
                     "VALUE"}


def truncated(name: str) -> str:
    """`name` cut to 63 bytes at a character boundary, as PostgreSQL stores it.

    >>> truncated("t_" + "é" * 40) == "t_" + "é" * 30
    True
    """
    data = name.encode("utf-8")[:MAX_BYTES]
    return data.decode("utf-8", errors="ignore")


def _too_long(name: str) -> bool:
    return len(name.encode("utf-8")) > MAX_BYTES


# -- names defined by a parsed CREATE --------------------------------------------------


def _created_names(node: exp.Create) -> Iterator[exp.Identifier]:
    kind = str(node.kind or "").upper()
    target = node.this
    if kind == "INDEX" and isinstance(target, exp.Index):
        if isinstance(target.this, exp.Identifier):
            yield target.this
        return
    if kind == "TRIGGER" and isinstance(target, exp.Identifier):
        yield target
        return
    if isinstance(target, exp.UserDefinedFunction):
        target = target.this
    schema = target if isinstance(target, exp.Schema) else None
    table = schema.this if schema is not None else target
    if isinstance(table, exp.Table):
        part = table.args.get("db") if kind == "SCHEMA" else table.this
        if isinstance(part, exp.Identifier):
            yield part
    if schema is not None:
        for item in schema.expressions:
            if isinstance(item, exp.Identifier):  # CREATE VIEW v (col, ...)
                yield item
            elif isinstance(item, exp.ColumnDef) and isinstance(item.this, exp.Identifier):
                yield item.this
                yield from _constraint_names(item.args.get("constraints") or ())
            elif isinstance(item, exp.Constraint) and isinstance(item.this, exp.Identifier):
                yield item.this
    query = node.expression
    if isinstance(query, exp.Query) and (kind in ("VIEW", "TABLE") or "VIEW" in kind):
        # CREATE VIEW / CREATE TABLE AS: output column names come from the select list
        for projection in query.selects if schema is None else ():
            if isinstance(projection, exp.Alias) and isinstance(projection.args.get("alias"),
                                                                exp.Identifier):
                yield projection.args["alias"]


def _constraint_names(constraints: Iterable[exp.Expression]) -> Iterator[exp.Identifier]:
    for constraint in constraints:
        if isinstance(constraint.this, exp.Identifier):
            yield constraint.this


# -- names defined by statements read from their words -----------------------------------


def _name_at(words: Sequence[Word], i: int) -> tuple[str, int]:
    """The last part of the (possibly dotted) name starting at `i`, and the index after it."""
    if i >= len(words):
        return "", i
    name = words[i].text
    i += 1
    while i + 1 < len(words) and words[i].text == "." and not words[i].string:
        name = words[i + 1].text
        i += 2
    return name, i


def _word_names(words: Sequence[Word]) -> Iterator[str]:
    keys = [w.keyword for w in words]
    if keys[:1] == ["CREATE"]:
        i = 1
        while i < len(keys) and keys[i] in _CREATE_MODIFIERS:
            i += 1
        if i < len(keys) and keys[i] in _CREATE_KINDS:
            i += 1
            if keys[i:i + 1] == ["CONCURRENTLY"]:
                i += 1
            if keys[i:i + 3] == ["IF", "NOT", "EXISTS"]:
                i += 3
            if keys[i:i + 1] not in (["AUTHORIZATION"], ["ON"]):
                yield _name_at(words, i)[0]
    depth = 0
    renaming = False
    for i, (word, key) in enumerate(zip(words, keys)):
        if key == "(":
            depth += 1
        elif key == ")":
            depth -= 1
        previous = keys[i - 1] if i else ""
        if key == "RENAME" and depth == 0:
            renaming = True
        elif key == "TO" and renaming and depth == 0:
            renaming = False
            if i + 1 < len(words) and not words[i + 1].string:
                yield _name_at(words, i + 1)[0]
        elif key == "CONSTRAINT" and previous not in ("DROP", "VALIDATE", "ALTER", "RENAME",
                                                       "CREATE", "ON"):
            if i + 1 < len(words):
                yield words[i + 1].text
        elif key == "ADD" and keys[1:2] in (["TABLE"], ["FOREIGN"], ["TYPE"]) and depth == 0:
            j = i + 1
            if keys[j:j + 1] in (["COLUMN"], ["ATTRIBUTE"]):
                j += 1
            if keys[j:j + 3] == ["IF", "NOT", "EXISTS"]:
                j += 3
            if j < len(words) and keys[j] not in _ADD_NOT_A_COLUMN and not words[j].string:
                yield words[j].text


def defined_names(statement: Statement) -> list[str]:
    """Names (as written) that the statement gives to new or renamed objects."""
    node = statement.node
    names: list[str] = []
    if isinstance(node, exp.Create):
        names.extend(identifier.name for identifier in _created_names(node))
    elif statement.starts_with("CREATE") or statement.starts_with("ALTER"):
        names.extend(_word_names(statement_words(statement.sql)))
    return names


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if not (statement.starts_with("CREATE") or statement.starts_with("ALTER")):
        return
    seen = set()
    for name in defined_names(statement):
        if not _too_long(name) or name in seen:
            continue
        seen.add(name)
        yield ctx.finding(
            RULE,
            f"Identifier `{name}` is {len(name.encode('utf-8'))} bytes long; PostgreSQL "
            f"silently truncates it to `{truncated(name)}`, so the name in the database no "
            "longer matches the one in your code.",
            help="Choose a name of at most 63 bytes.",
            subject=name,
        )


RULE = Rule(
    code="DBS206",
    name="identifier-too-long",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)
