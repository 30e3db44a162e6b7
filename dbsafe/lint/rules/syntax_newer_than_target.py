"""Statement uses syntax the target PostgreSQL version does not have.

## Why
dbsafe reads migrations with the newest PostgreSQL grammar, and runs alembic revisions on a
throwaway PostgreSQL 18; a migration that uses newer syntax passes both, then fails on the
production server: a syntax error, and the deployment stops half-way when the migrations
do not run in one transaction. The target is what `--target-version` (or `target-version`
in the configuration) says, else the version of the database lint was given.

| since | syntax |
| --- | --- |
| 11 | `CREATE PROCEDURE`, `CALL`, `INCLUDE` columns of an index |
| 12 | `GENERATED ALWAYS AS (...) STORED`, `REINDEX CONCURRENTLY` |
| 14 | `CREATE OR REPLACE TRIGGER`, `DETACH PARTITION ... CONCURRENTLY`, `SET COMPRESSION`, SQL-standard function bodies (`RETURN`, `BEGIN ATOMIC`) |
| 15 | `MERGE`, `NULLS NOT DISTINCT`, `SET ACCESS METHOD` |
| 16 | `IS JSON`, `JSON_OBJECT`, `JSON_ARRAY` and their aggregates |
| 17 | `SET EXPRESSION`, `MERGE ... RETURNING`, `JSON_TABLE`, `JSON_QUERY`, `JSON_VALUE`, `JSON_EXISTS`, `JSON()`, `JSON_SCALAR`, `JSON_SERIALIZE`, `COPY ... (ON_ERROR ...)` |
| 18 | `VIRTUAL` generated columns, `NOT ENFORCED`, `NOT NULL` as a table constraint, `WITHOUT OVERLAPS`, `PERIOD` in a foreign key, `RETURNING` `OLD`/`NEW` |

Each was checked against PostgreSQL 15 and 18 (the suite refuses every syntax newer than 15
on a PostgreSQL 15 server).

## Bad
```sql
-- target-version = 15
ALTER TABLE orders ALTER COLUMN total_cents SET EXPRESSION AS (total * 100);
```

## Good
```sql
-- target-version = 15
ALTER TABLE orders DROP COLUMN total_cents;
ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (total * 100) STORED;
```

## In Alembic
Write what the target server knows in `op.execute(...)`, or set `target-version` to the
version production runs.

## Not flagged
* Anything, when the target is not known: without `--target-version`, `target-version` or a
  database, dbsafe does not guess the production version for this rule.
* Functions and types added by newer versions (`gen_random_uuid()` before 13, `uuidv7()`
  before 18): they are names, not syntax, and an extension may provide them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Node, Statement, walk

Test = Callable[[str, Node], bool]


def _node(kind: str) -> Test:
    return lambda k, _fields: k == kind


def _subcommand(subtype: str) -> Test:
    return lambda k, fields: k == "AlterTableCmd" and fields.get("subtype") == subtype


def _option(kind: str, name: str) -> Test:
    return lambda k, fields: k == kind and any(
        item.get("DefElem", {}).get("defname") == name
        for item in fields.get("options") or fields.get("params") or ())


def _table_not_null(kind: str, fields: Node) -> bool:
    """`NOT NULL col` as a constraint of its own (not a column's `NOT NULL`)."""
    if kind == "CreateStmt":
        items = fields.get("tableElts") or ()
    elif kind == "AlterTableCmd" and fields.get("subtype") == "AT_AddConstraint":
        items = [fields.get("def") or {}]
    else:
        return False
    return any(item.get("Constraint", {}).get("contype") == "CONSTR_NOTNULL" for item in items)


def _not_enforced(kind: str, fields: Node) -> bool:
    # The parse tree leaves a false `is_enforced` out; only CHECK and FOREIGN KEY take it.
    return kind == "Constraint" and fields.get("contype") in ("CONSTR_CHECK", "CONSTR_FOREIGN") \
        and not fields.get("is_enforced")


def _returning_old_new(kind: str, fields: Node) -> bool:
    clause = fields.get("returningClause") or {}
    if clause.get("options"):
        return True  # RETURNING WITH (OLD AS o, NEW AS n)
    tables = {name for k, item in walk(fields) if k == "RangeVar" or "relname" in item
              for name in (item.get("relname"), (item.get("alias") or {}).get("aliasname"))}
    if fields.get("relation"):
        relation = fields["relation"]
        tables |= {relation.get("relname"), (relation.get("alias") or {}).get("aliasname")}
    if tables & {"old", "new"}:
        return False  # old.x names a table called old, as it did before 18
    return any(k == "ColumnRef" and [f.get("String", {}).get("sval") for f in
                                     (item.get("fields") or ())][:1] in (["old"], ["new"])
               for k, item in walk(clause.get("exprs")))


_FEATURES: tuple[tuple[int, str, Test], ...] = (
    (110000, "CREATE PROCEDURE", lambda k, f: k == "CreateFunctionStmt" and
     bool(f.get("is_procedure"))),
    (110000, "CALL", _node("CallStmt")),
    (110000, "INCLUDE in an index", lambda k, f: k in ("IndexStmt", "Constraint") and
     bool(f.get("indexIncludingParams") or f.get("including"))),
    (120000, "GENERATED ... STORED", lambda k, f: k == "Constraint" and
     f.get("contype") == "CONSTR_GENERATED"),
    (120000, "REINDEX CONCURRENTLY", _option("ReindexStmt", "concurrently")),
    (140000, "CREATE OR REPLACE TRIGGER", lambda k, f: k == "CreateTrigStmt" and
     bool(f.get("replace"))),
    (140000, "DETACH PARTITION ... CONCURRENTLY", lambda k, f: k == "PartitionCmd" and
     bool(f.get("concurrent"))),
    (140000, "SET COMPRESSION", _subcommand("AT_SetCompression")),
    (140000, "a SQL-standard function body", lambda k, f: k == "CreateFunctionStmt" and
     "sql_body" in f),
    (150000, "MERGE", _node("MergeStmt")),
    (150000, "NULLS NOT DISTINCT", lambda k, f: k in ("IndexStmt", "Constraint") and
     bool(f.get("nulls_not_distinct"))),
    (150000, "SET ACCESS METHOD", _subcommand("AT_SetAccessMethod")),
    (160000, "IS JSON", _node("JsonIsPredicate")),
    (160000, "JSON_OBJECT / JSON_ARRAY", lambda k, _f: k in (
        "JsonObjectConstructor", "JsonArrayConstructor", "JsonArrayQueryConstructor",
        "JsonObjectAgg", "JsonArrayAgg")),
    (170000, "SET EXPRESSION", _subcommand("AT_SetExpression")),
    (170000, "MERGE ... RETURNING", lambda k, f: k == "MergeStmt" and
     bool(f.get("returningClause") or f.get("returningList"))),
    (170000, "JSON_TABLE", _node("JsonTable")),
    (170000, "JSON_QUERY / JSON_VALUE / JSON_EXISTS", _node("JsonFuncExpr")),
    (170000, "JSON() / JSON_SCALAR / JSON_SERIALIZE", lambda k, _f: k in (
        "JsonParseExpr", "JsonScalarExpr", "JsonSerializeExpr")),
    (170000, "COPY ... (ON_ERROR ...)", _option("CopyStmt", "on_error")),
    (180000, "a VIRTUAL generated column", lambda k, f: k == "Constraint" and
     f.get("contype") == "CONSTR_GENERATED" and f.get("generated_kind") == "v"),
    (180000, "NOT ENFORCED", _not_enforced),
    (180000, "NOT NULL as a table constraint", _table_not_null),
    (180000, "WITHOUT OVERLAPS", lambda k, f: k == "Constraint" and
     bool(f.get("without_overlaps"))),
    (180000, "PERIOD in a foreign key", lambda k, f: k == "Constraint" and
     bool(f.get("fk_with_period") or f.get("pk_with_period"))),
    (180000, "RETURNING OLD / NEW", lambda k, f: k in (
        "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt") and _returning_old_new(k, f)),
)


def newer_syntax(statement: Statement, target_version: int) -> list[tuple[int, str]]:
    """(version, syntax) of each syntax in `statement` newer than `target_version`."""
    nodes = [(statement.kind, statement.node), *walk(statement.node)]
    found = []
    for version, label, test in _FEATURES:
        if version > target_version and any(test(kind, fields) for kind, fields in nodes):
            found.append((version, label))
    return found


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if not ctx.target_version_given:
        return
    for version, label in newer_syntax(statement, ctx.target_version):
        yield ctx.finding(
            RULE,
            f"{label} is PostgreSQL {version // 10000} syntax; the target is PostgreSQL "
            f"{_version(ctx.target_version)}, where this statement fails.",
            help="Write it with what the target version has, or set target-version to the "
                 "version production runs.",
        )


def _version(number: int) -> str:
    return str(number // 10000) if number >= 100000 else f"{number // 10000}.{number // 100 % 100}"


RULE = Rule(
    code="DBS124",
    name="syntax-newer-than-target",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)
