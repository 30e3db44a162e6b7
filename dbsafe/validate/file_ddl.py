"""What a file's own DDL changes for the statements after it (scripts, not migrations).

A script may create a table, add a column, create a schema or set `search_path`, then use
what it made: those statements run against a schema the snapshot does not have. The
statements after such DDL are not checked where it could matter (relations created or
altered earlier in the file have unknown columns; a schema created there exists; after
`SET search_path` nothing unqualified can be placed), so none of them is a false positive.
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
        >>> FileDdl().after("SELECT 1") == FileDdl()
        True
        """
        if not sql.lstrip()[:6].upper().startswith(_HEADS):
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
            if isinstance(node, ast.CreateStmt | ast.AlterTableStmt):
                named.append(node.relation)
            elif isinstance(node, ast.ViewStmt):
                named.append(node.view)
            elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
                named.append(node.into.rel)
            elif isinstance(node, ast.RenameStmt) and node.relation is not None:
                named.append(node.relation)
                if node.newname and node.renameType in _renamed_relations():
                    relations.add(node.newname)
            elif isinstance(node, ast.CreateSchemaStmt) and node.schemaname:
                schemas.add(node.schemaname)
            elif isinstance(node, ast.VariableSetStmt) and node.name == "search_path":
                search_path = True
            relations.update(r.relname for r in named if r is not None and r.relname)
        return FileDdl(frozenset(relations), frozenset(schemas), search_path)


@functools.cache
def _renamed_relations() -> frozenset[object]:
    """Renames whose new name is a relation's (pglast's enums load with pglast)."""
    from pglast.enums import ObjectType

    return frozenset({ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW,
                      ObjectType.OBJECT_MATVIEW, ObjectType.OBJECT_FOREIGN_TABLE})
