"""What a file's own DDL changes for the statements after it (scripts, not migrations).

A script may create a table (also with `SELECT ... INTO`; its serial and identity columns
make sequences), a sequence, an index or a schema, add a column, move or rename a relation
or a schema, or set `search_path`, then use what it made:
those statements run against a schema the snapshot does not have. The statements after such
DDL are not checked where it could matter (relations created or altered earlier in the file
have unknown columns; a schema created there exists; after `SET search_path` nothing
unqualified can be placed), so none of them is a false positive.
Parsed with PostgreSQL's own parser (pglast).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Only statements starting with these can change what later ones see; the rest are not
# parsed again here (the resolver has them).
_HEADS = ("CREATE", "ALTER", "SET")
# `SELECT ... INTO new_table` creates a table too. Queries are most of a file, so they are
# read with pglast's JSON parse tree, a tenth of the cost of its Python one.
_QUERY_HEADS = ("SELECT", "WITH", "(")


@dataclass(frozen=True, slots=True)
class FileDdl:
    """What the statements of a file so far changed (names folded, as PostgreSQL does)."""

    relations: frozenset[str] = frozenset()  # created or altered (unqualified names)
    schemas: frozenset[str] = frozenset()  # created
    search_path: bool = False  # changed by SET search_path

    def __bool__(self) -> bool:
        return bool(self.relations or self.schemas or self.search_path)

    def after(self, sql: str) -> FileDdl:
        """These changes, and those `sql` makes.

        >>> ddl = FileDdl().after("CREATE SCHEMA crm").after("CREATE TABLE crm.Leads (id int)")
        >>> sorted(ddl.relations), sorted(ddl.schemas)
        (['leads'], ['crm'])
        >>> sorted(FileDdl().after("ALTER TABLE t RENAME TO u").relations)
        ['t', 'u']
        >>> FileDdl().after("SET search_path TO auth, public").search_path
        True
        >>> sorted(FileDdl().after("SELECT id INTO TEMP Scratch FROM t").relations)
        ['scratch']
        >>> sorted(FileDdl().after("ALTER SCHEMA sales RENAME TO crm").schemas)
        ['crm']
        >>> FileDdl().after("SELECT 1") == FileDdl()
        True
        """
        head = sql.lstrip()[:6].upper()
        if head.startswith(_QUERY_HEADS):
            if "into" not in sql.lower():
                return self  # most queries: no parse at all
            created = _selected_into(sql)
            return FileDdl(self.relations | created, self.schemas, self.search_path) if created else self
        if not head.startswith(_HEADS):
            return self
        from pglast import ast, parse_sql
        from pglast.parser import ParseError

        try:
            statements = parse_sql(sql)
        except (ParseError, ValueError, RecursionError):
            log.debug("pglast could not parse %r", sql[:200])
            return self
        relations, schemas, search_path = set(self.relations), set(self.schemas), self.search_path
        for raw in statements:
            node = raw.stmt
            named: list[ast.RangeVar | None] = []
            if isinstance(node, ast.CreateStmt | ast.AlterTableStmt | ast.AlterObjectSchemaStmt):
                named.append(node.relation)  # SET SCHEMA: known by its unqualified name
            elif isinstance(node, ast.CreateSeqStmt):
                named.append(node.sequence)
            elif isinstance(node, ast.IndexStmt) and node.idxname:
                relations.add(node.idxname)  # `'ix'::regclass` names it
            elif isinstance(node, ast.CreateForeignTableStmt) and node.base is not None:
                named.append(node.base.relation)
            elif isinstance(node, ast.ViewStmt):
                named.append(node.view)
            elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
                named.append(node.into.rel)
            elif isinstance(node, ast.RenameStmt) and node.relation is not None:
                named.append(node.relation)
                if node.newname and node.renameType in _renamed_relations():
                    relations.add(node.newname)
            elif isinstance(node, ast.RenameStmt) and node.renameType == _schema_object():
                if node.newname:
                    schemas.add(node.newname)
            elif isinstance(node, ast.CreateSchemaStmt) and node.schemaname:
                schemas.add(node.schemaname)
            elif isinstance(node, ast.VariableSetStmt) and node.name == "search_path":
                search_path = True
            relations.update(r.relname for r in named if r is not None and r.relname)
            relations.update(_implied_sequences(node))
        return FileDdl(frozenset(relations), frozenset(schemas), search_path)


_SERIALS = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"})


def _implied_sequences(node: object) -> set[str]:
    """The sequences a serial or identity column of CREATE/ALTER TABLE makes, by the name
    PostgreSQL gives them when it needs no shortening: `<table>_<column>_seq`.

    >>> from pglast import parse_sql
    >>> sorted(_implied_sequences(parse_sql("CREATE TABLE t (id serial, n int "
    ...     "GENERATED ALWAYS AS IDENTITY, x int)")[0].stmt))
    ['t_id_seq', 't_n_seq']
    """
    from pglast import ast
    from pglast.enums import AlterTableType, ConstrType

    if isinstance(node, ast.CreateStmt):
        columns = [e for e in node.tableElts or () if isinstance(e, ast.ColumnDef)]
        identities: list[str] = []
    elif isinstance(node, ast.AlterTableStmt):
        commands = [c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd)]
        columns = [c.def_ for c in commands if c.subtype == AlterTableType.AT_AddColumn
                   and isinstance(c.def_, ast.ColumnDef)]
        identities = [c.name for c in commands
                      if c.subtype == AlterTableType.AT_AddIdentity and c.name]
    else:
        return set()
    table = node.relation.relname if node.relation is not None else None
    if not table:
        return set()
    for column in columns:
        names = (column.typeName.names if column.typeName is not None else None) or ()
        serial = bool(names) and str(getattr(names[-1], "sval", "")) in _SERIALS
        identity = any(isinstance(c, ast.Constraint) and c.contype == ConstrType.CONSTR_IDENTITY
                       for c in column.constraints or ())
        if (serial or identity) and column.colname:
            identities.append(column.colname)
    return {f"{table}_{column}_seq" for column in identities}


def _selected_into(sql: str) -> frozenset[str]:
    """Tables `SELECT ... INTO name` creates (PostgreSQL accepts INTO only where it creates
    one: in the outermost query, or the first branch of its set operation)."""
    import json

    from pglast.parser import ParseError, parse_sql_json

    try:
        text = parse_sql_json(sql)
    except (ParseError, ValueError, RecursionError):
        return frozenset()
    if '"intoClause"' not in text:
        return frozenset()
    created: set[str] = set()
    stack: list[object] = [json.loads(text)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            into = node.get("intoClause")
            if isinstance(into, dict) and into.get("rel", {}).get("relname"):
                created.add(into["rel"]["relname"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(created)


@functools.cache
def _renamed_relations() -> frozenset[object]:
    """Renames whose new name is a relation's (pglast's enums load with pglast)."""
    from pglast.enums import ObjectType

    return frozenset({ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW,
                      ObjectType.OBJECT_MATVIEW, ObjectType.OBJECT_FOREIGN_TABLE,
                      ObjectType.OBJECT_SEQUENCE})


@functools.cache
def _schema_object() -> object:
    from pglast.enums import ObjectType

    return ObjectType.OBJECT_SCHEMA
