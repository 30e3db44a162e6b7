"""The columns a module's run-time DDL can give a table the schema already has.

A module of code whose DDL creates or alters a relation makes it for the project's other
modules (`scan._made_elsewhere`): what they read of it is left unchecked. An application's
migrations in code are such DDL: LNbits' `core/migrations.py` runs `CREATE TABLE IF NOT
EXISTS apipayments (... wallet ...)`, then `ALTER TABLE apipayments RENAME COLUMN wallet TO
wallet_id`, and `core/crud/payments.py` still deletes `... AND wallet = :wallet` (42703 on the
migrated schema). Where the schema has the table, a `CREATE TABLE` of it changes nothing (it
fails, or `IF NOT EXISTS` skips it): only `ADD COLUMN` and `RENAME COLUMN ... TO` can give the
table a column the schema lacks, in whatever order or branch they run. So a column neither
gives is missing there too, and a read of it is judged.

A relation is followed only when every statement of the module naming it is one of these
(parsed with pglast): a permanent `CREATE TABLE` of its unqualified name (one pglast rejects
too, when its head reads so: LNbits' m001 is an f-string with `{db.big_int}` where a type goes,
`_created_table`), `ALTER TABLE` adding a
column or changing one's type, default, nullability or constraints, `RENAME COLUMN`, `CREATE
INDEX`. Anything else (a temporary table of that name shadowing the schema's, `DROP TABLE` then
`CREATE` anew, `CREATE TABLE ... AS`, a rename of the table, a column whose name is known only
at run time, other DDL pglast rejects, `SET search_path`, SQL dbsafe cannot read) leaves it unfollowed,
and what the other modules read of it unchecked, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from dbsafe.extract.holes import NAME_HOLE
from dbsafe.schema.model import SchemaSnapshot
from dbsafe.validate.file_ddl import FileDdl

log = logging.getLogger(__name__)

_HEADS = ("CREATE", "ALTER", "DROP")
_TABLE_KINDS = ("table", "partitioned_table")


def given_columns(statements: Iterable[str], snapshot: SchemaSnapshot
                  ) -> dict[str, tuple[str, ...]]:
    """Of the tables the schema has that `statements` (a module's DDL, any order) create or
    alter, those whose DDL dbsafe follows, each with the columns that DDL can add to it
    (unqualified names, folded; sorted).

    >>> from dbsafe.schema.model import Column, Relation
    >>> schema = SchemaSnapshot(relations=(Relation("public", "pay", "table", (
    ...     Column("id", "int4", 1), Column("wallet_id", "text", 2))),))
    >>> given_columns(["CREATE TABLE IF NOT EXISTS pay (id int, wallet text)",
    ...                "ALTER TABLE pay RENAME COLUMN wallet TO wallet_id",
    ...                "ALTER TABLE pay ADD COLUMN memo text, ALTER COLUMN id SET NOT NULL",
    ...                "CREATE INDEX by_wallet ON pay (wallet_id)"], schema)
    {'pay': ('memo', 'wallet_id')}
    >>> given_columns(["CREATE TEMP TABLE pay (wallet text)"], schema)
    {}
    >>> given_columns(["DROP TABLE pay", "CREATE TABLE pay (wallet text)"], schema)
    {}
    >>> given_columns(["CREATE TABLE other (wallet text)"], schema)
    {}
    """
    from pglast import ast, parse_sql
    from pglast.enums import AlterTableType, ObjectType
    from pglast.parser import ParseError

    # ALTER TABLE actions that give a table no column
    kept = frozenset({AlterTableType.AT_AlterColumnType, AlterTableType.AT_ColumnDefault,
                      AlterTableType.AT_DropNotNull, AlterTableType.AT_SetNotNull,
                      AlterTableType.AT_DropColumn, AlterTableType.AT_AddConstraint,
                      AlterTableType.AT_DropConstraint, AlterTableType.AT_ValidateConstraint,
                      AlterTableType.AT_AddIndex})
    given: dict[str, set[str]] = {}
    lost: set[str] = set()  # named by DDL not followed
    for sql in statements:
        if not sql.lstrip()[:6].upper().startswith(_HEADS):
            continue
        touched = FileDdl().after(sql)
        if touched.opaque or touched.unnamed or touched.search_path:
            return {}
        try:
            parsed = parse_sql(sql)
        except (ParseError, ValueError, RecursionError):
            created = _created_table(sql)
            if created is not None:
                given.setdefault(created, set())
            lost |= touched.relations - {created}
            continue
        for raw in parsed:
            node = raw.stmt
            relation = getattr(node, "relation", None)
            if not isinstance(relation, ast.RangeVar) or relation.relname is None:
                if isinstance(node, ast.DropStmt):
                    # `DROP TABLE t` then `CREATE TABLE t (...)` makes it anew
                    lost.update(str(getattr(part[-1], "sval", ""))
                                for part in node.objects or () if isinstance(part, tuple) and part)
                lost |= touched.relations
                continue
            name = relation.relname
            if isinstance(node, ast.CreateStmt) and relation.relpersistence == "p" and \
                    relation.schemaname is None and not node.inhRelations and \
                    node.ofTypename is None and node.partbound is None:
                given.setdefault(name, set())
            elif isinstance(node, ast.AlterTableStmt) and \
                    node.objtype == ObjectType.OBJECT_TABLE and \
                    all(cmd.subtype in kept or cmd.subtype == AlterTableType.AT_AddColumn
                        for cmd in node.cmds or ()):
                given.setdefault(name, set()).update(
                    str(cmd.def_.colname) for cmd in node.cmds or ()
                    if cmd.subtype == AlterTableType.AT_AddColumn)
            elif isinstance(node, ast.RenameStmt) and \
                    node.renameType == ObjectType.OBJECT_COLUMN and \
                    node.relationType == ObjectType.OBJECT_TABLE:
                given.setdefault(name, set()).add(str(node.newname))
            elif not isinstance(node, ast.IndexStmt):
                lost |= touched.relations | {name}
    followed = {}
    for name, columns in given.items():
        relation = snapshot.find_relation(name)
        if name in lost or relation is None or relation.kind not in _TABLE_KINDS or \
                any(NAME_HOLE in column for column in columns):
            continue
        followed[name] = tuple(sorted(columns))
    return followed


def _created_table(sql: str) -> str | None:
    """The table a `CREATE TABLE` pglast rejects creates, when its head (all before the column
    list) is a permanent `CREATE TABLE` of an unqualified name: one built at run time has its
    holes filled with `NULL` (`amount {db.big_int} NOT NULL` reads `amount NULL NOT NULL`),
    which no column type is. Of a table the schema has it changes nothing whatever its columns
    (it fails, or `IF NOT EXISTS` skips it).

    >>> _created_table("CREATE TABLE IF NOT EXISTS Pay (amount NULL NOT NULL)")
    'pay'
    >>> _created_table("CREATE TEMP TABLE pay (amount NULL)"), _created_table("CREATE TABLE NULL (a int)")
    (None, None)
    >>> _created_table("CREATE TABLE s.pay (amount NULL)"), _created_table("CREATE TABLE pay AS (SELECT NULL NULL)")
    (None, None)
    """
    from pglast import ast, parse_sql
    from pglast.parser import ParseError, scan

    try:
        opening = next((t.start for t in scan(sql) if t.name == "ASCII_40"), None)
        if opening is None:
            return None
        parsed = parse_sql(sql[:opening] + "()")
    except (ParseError, ValueError, RecursionError):
        return None
    node = parsed[0].stmt if len(parsed) == 1 else None
    relation = node.relation if isinstance(node, ast.CreateStmt) else None
    if relation is None or relation.relpersistence != "p" or relation.schemaname is not None \
            or relation.relname is None:
        return None
    return str(relation.relname)

