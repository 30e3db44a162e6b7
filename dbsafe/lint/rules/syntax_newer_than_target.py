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


def _always(_kind: str, _fields: Node) -> bool:
    return True


def _field(name: str) -> Test:
    return lambda _kind, fields: bool(fields.get(name))


def _subcommand(subtype: str) -> Test:
    return lambda _kind, fields: fields.get("subtype") == subtype


def _option(name: str) -> Test:
    return lambda _kind, fields: any(
        item.get("DefElem", {}).get("defname") == name
        for item in fields.get("options") or fields.get("params") or ())


def _table_not_null(kind: str, fields: Node) -> bool:
    """`NOT NULL col` as a constraint of its own (not a column's `NOT NULL`)."""
    if kind == "CreateStmt":
        items = fields.get("tableElts") or ()
    elif fields.get("subtype") == "AT_AddConstraint":
        items = [fields.get("def") or {}]
    else:
        return False
    return any(item.get("Constraint", {}).get("contype") == "CONSTR_NOTNULL" for item in items)


def _not_enforced(_kind: str, fields: Node) -> bool:
    # The parse tree leaves a false `is_enforced` out; only CHECK and FOREIGN KEY take it.
    return fields.get("contype") in ("CONSTR_CHECK", "CONSTR_FOREIGN") \
        and not fields.get("is_enforced")


def _returning_old_new(_kind: str, fields: Node) -> bool:
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


_DML = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
_CONSTRAINT = frozenset({"Constraint"})
_ALTER = frozenset({"AlterTableCmd"})

# (version, syntax, the parse-tree nodes that can show it, whether this one does)
_FEATURES: tuple[tuple[int, str, frozenset[str], Test], ...] = (
    (110000, "CREATE PROCEDURE", frozenset({"CreateFunctionStmt"}), _field("is_procedure")),
    (110000, "CALL", frozenset({"CallStmt"}), _always),
    (110000, "INCLUDE in an index", frozenset({"IndexStmt", "Constraint"}),
     lambda _k, f: bool(f.get("indexIncludingParams") or f.get("including"))),
    (120000, "GENERATED ... STORED", _CONSTRAINT,
     lambda _k, f: f.get("contype") == "CONSTR_GENERATED"),
    (120000, "REINDEX CONCURRENTLY", frozenset({"ReindexStmt"}), _option("concurrently")),
    (140000, "CREATE OR REPLACE TRIGGER", frozenset({"CreateTrigStmt"}), _field("replace")),
    (140000, "DETACH PARTITION ... CONCURRENTLY", frozenset({"PartitionCmd"}),
     _field("concurrent")),
    (140000, "SET COMPRESSION", _ALTER, _subcommand("AT_SetCompression")),
    (140000, "a SQL-standard function body", frozenset({"CreateFunctionStmt"}),
     lambda _k, f: "sql_body" in f),
    (150000, "MERGE", frozenset({"MergeStmt"}), _always),
    (150000, "NULLS NOT DISTINCT", frozenset({"IndexStmt", "Constraint"}),
     _field("nulls_not_distinct")),
    (150000, "SET ACCESS METHOD", _ALTER, _subcommand("AT_SetAccessMethod")),
    (160000, "IS JSON", frozenset({"JsonIsPredicate"}), _always),
    (160000, "JSON_OBJECT / JSON_ARRAY", frozenset({
        "JsonObjectConstructor", "JsonArrayConstructor", "JsonArrayQueryConstructor",
        "JsonObjectAgg", "JsonArrayAgg"}), _always),
    (170000, "SET EXPRESSION", _ALTER, _subcommand("AT_SetExpression")),
    (170000, "MERGE ... RETURNING", frozenset({"MergeStmt"}),
     lambda _k, f: bool(f.get("returningClause") or f.get("returningList"))),
    (170000, "JSON_TABLE", frozenset({"JsonTable"}), _always),
    (170000, "JSON_QUERY / JSON_VALUE / JSON_EXISTS", frozenset({"JsonFuncExpr"}), _always),
    (170000, "JSON() / JSON_SCALAR / JSON_SERIALIZE", frozenset({
        "JsonParseExpr", "JsonScalarExpr", "JsonSerializeExpr"}), _always),
    (170000, "COPY ... (ON_ERROR ...)", frozenset({"CopyStmt"}), _option("on_error")),
    (180000, "a VIRTUAL generated column", _CONSTRAINT, lambda _k, f: f.get("contype") ==
     "CONSTR_GENERATED" and f.get("generated_kind") == "v"),
    (180000, "NOT ENFORCED", _CONSTRAINT, _not_enforced),
    (180000, "NOT NULL as a table constraint", frozenset({"CreateStmt", "AlterTableCmd"}),
     _table_not_null),
    (180000, "WITHOUT OVERLAPS", _CONSTRAINT, _field("without_overlaps")),
    (180000, "PERIOD in a foreign key", _CONSTRAINT,
     lambda _k, f: bool(f.get("fk_with_period") or f.get("pk_with_period"))),
    (180000, "RETURNING OLD / NEW", _DML, _returning_old_new),
)


def newer_syntax(statement: Statement, target_version: int) -> list[tuple[int, str]]:
    """(version, syntax) of each syntax in `statement` newer than `target_version`."""
    by_kind: dict[str, list[Node]] = {statement.kind: [statement.node]}
    for kind, fields in walk(statement.node):
        by_kind.setdefault(kind, []).append(fields)
    return [(version, label) for version, label, kinds, test in _FEATURES
            if version > target_version and any(test(kind, fields) for kind in kinds
                                                 for fields in by_kind.get(kind, ()))]


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
