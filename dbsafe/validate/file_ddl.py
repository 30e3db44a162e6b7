"""What a file's own DDL changes for the statements after it (scripts, not migrations).

A script may create a table (also with `SELECT ... INTO`; its serial and identity columns
make sequences), a sequence, an index, a schema or an extension, add a column, move or
rename a relation or a schema, set `search_path` (also with `set_config`) or the role whose
name `"$user"` stands for, or do any of this inside a `DO` block, then use what it made:
those statements run against a schema the snapshot does not have. The statements after such
DDL are not checked where it could matter (relations created or altered earlier in the file
have unknown columns; a schema created there exists; after `SET search_path` nothing
unqualified can be placed; after `CREATE EXTENSION` of an extension the schema lacks, any
relation may be one of its own; after a `DO` block whose SQL dbsafe cannot read, anything
may exist), so none of them is a false positive.
Parsed with PostgreSQL's own parser (pglast), `DO` blocks with its PL/pgSQL parser.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from dbsafe.extract.holes import NAME_HOLE
from dbsafe.pg.types import SERIAL_TYPES

T = TypeVar("T")

log = logging.getLogger(__name__)

# Only statements starting with these can change what later ones see; the rest are not
# parsed again here (the resolver has them).
_HEADS = ("CREATE", "ALTER", "SET", "DO")
# `SELECT ... INTO new_table` creates a table too, and `SELECT set_config('search_path', ...)`
# sets the search path (pg_dump writes it so). Queries are most of a file, so they are read
# with pglast's JSON parse tree, a tenth of the cost of its Python one.
_QUERY_HEADS = ("SELECT", "WITH", "(")


@dataclass(frozen=True, slots=True)
class FileDdl:
    """What the statements of a file so far changed (names folded, as PostgreSQL does)."""

    relations: frozenset[str] = frozenset()  # created or altered (unqualified names)
    schemas: frozenset[str] = frozenset()  # created
    search_path: bool = False  # changed by SET search_path or set_config
    extensions: frozenset[str] = frozenset()  # created
    roles: frozenset[str] = frozenset()  # set (SET ROLE): `"$user"` in the path names them
    opaque: bool = False  # ran SQL dbsafe cannot read (dynamic SQL in a DO block)
    # made or renamed a relation whose name is known only at run time (`CREATE TABLE
    # ${sql(name)} (...)`, its name a `NAME_HOLE`): any relation the schema lacks may be it
    unnamed: bool = False
    # made a schema whose name is known only at run time (`CREATE SCHEMA IF NOT EXISTS
    # ${db.schema}`): any schema the database lacks may be it
    unnamed_schema: bool = False
    # functions, procedures and aggregates created (unqualified names)
    functions: frozenset[str] = frozenset()
    # of the relations made under a name known only in part (`users_rank_` and a piece known
    # at run time), those names, the piece a `NAME_HOLE`: what other modules read of a name
    # that fits one may be it (`dbsafe.validate.scan._made_elsewhere`)
    patterns: frozenset[str] = frozenset()
    # types and domains created or renamed to (unqualified names; a relation's row type is
    # its name, in `relations`)
    types: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.relations or self.schemas or self.search_path or self.extensions
                    or self.roles or self.opaque or self.unnamed or self.unnamed_schema
                    or self.functions or self.types)

    def after(self, sql: str, *, unreadable_is_opaque: bool = False) -> FileDdl:
        """These changes, and those `sql` makes.

        `unreadable_is_opaque`: DDL PostgreSQL's parser rejects makes the rest opaque (in a
        script: SQL Server's `CREATE TABLE t (id INT IDENTITY(1,1))` makes the `t` its next
        statement fills), as a migration statement it rejects does. Elsewhere (strings in
        code, which may be prose starting with "create" or "set") it changes nothing but the
        table or view such a `CREATE` makes, as sqlglot reads it: readest's tests run
        `CREATE TABLE bookmarks (id INTEGER PRIMARY KEY AUTOINCREMENT, ...)` on SQLite, then
        read `bookmarks`.

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
        >>> sorted(FileDdl().after("CREATE TEMP TABLE t AS SELECT 1 WHERE 2 > %(n)s").relations)
        ['t']
        >>> FileDdl().after("SELECT pg_catalog.set_config('search_path', '', false)").search_path
        True
        >>> sorted(FileDdl().after("DO $$ BEGIN CREATE TABLE kv (k text); END $$").relations)
        ['kv']
        >>> FileDdl().after("DO $$ BEGIN EXECUTE format('CREATE TABLE %I ()', 'x'); END $$").opaque
        True
        >>> sorted(FileDdl().after("CREATE FUNCTION app.Get_Stats() RETURNS int "
        ...     "LANGUAGE sql AS 'SELECT 1'").after("CREATE AGGREGATE total (int) "
        ...     "(sfunc = int4pl, stype = int)").functions)
        ['get_stats', 'total']
        >>> sorted(FileDdl().after("CREATE EXTENSION IF NOT EXISTS pg_buffercache").extensions)
        ['pg_buffercache']
        >>> FileDdl().after("CREATE TABLE t (id INT IDENTITY(1,1))", unreadable_is_opaque=True).opaque
        True
        >>> ddl = FileDdl().after("CREATE TABLE b (id INTEGER PRIMARY KEY AUTOINCREMENT)")
        >>> sorted(ddl.relations), ddl.opaque
        (['b'], False)
        >>> sorted(FileDdl().after("SET ROLE app").after("SELECT set_config('role', 'x', true)").roles)
        ['app', 'x']
        >>> ddl = FileDdl().after("CREATE TABLE dbsafe_name_known_at_run_time (id serial)")
        >>> sorted(ddl.relations), ddl.unnamed
        ([], True)
        >>> FileDdl().after("SET search_path TO dbsafe_name_known_at_run_time").search_path
        False
        >>> FileDdl().after("CREATE INDEX dbsafe_name_known_at_run_time ON t (a)").unnamed
        False
        >>> FileDdl().after("ALTER TABLE dbsafe_name_known_at_run_time ADD b int").unnamed
        False
        >>> ddl = FileDdl().after("CREATE SCHEMA IF NOT EXISTS dbsafe_name_known_at_run_time")
        >>> sorted(ddl.schemas), ddl.unnamed_schema
        ([], True)
        """
        if NAME_HOLE in sql:
            # DDL with a piece known only at run time (`NAME_HOLE`): only the relations and
            # schemas it makes or renames count, not a search path or role set to that piece
            made = FileDdl()._after(sql, unreadable_is_opaque=False)
            schemas = frozenset(s for s in made.schemas if NAME_HOLE not in s)
            unnamed_schema = len(schemas) != len(made.schemas)
            if not made.relations and not made.unnamed and not made.schemas:
                return self
            return self._with(relations=self.relations | made.relations,
                              patterns=self.patterns | made.patterns,
                              schemas=self.schemas | schemas,
                              unnamed=self.unnamed or made.unnamed,
                              unnamed_schema=self.unnamed_schema or unnamed_schema)
        return self._after(sql, unreadable_is_opaque=unreadable_is_opaque)

    def _after(self, sql: str, *, unreadable_is_opaque: bool) -> FileDdl:
        head = sql.lstrip()[:6].upper()
        if head.startswith(_QUERY_HEADS):
            lowered = sql.lower()
            if "into" not in lowered and "set_config" not in lowered:
                return self  # most queries: no parse at all
            created, sets_path, roles_set = _query_effects(sql)
            if not created and not sets_path and not roles_set:
                return self
            return self._with(relations=self.relations | created,
                              search_path=self.search_path or sets_path,
                              roles=self.roles | roles_set)
        if not head.startswith(_HEADS):
            return self
        if head.startswith("DO") and (len(head) == 2 or not head[2].isalnum()):
            return self._after_do(sql)
        from pglast import ast, parse_sql
        from pglast.parser import ParseError

        try:
            statements = _parsed(parse_sql, sql)
        except (ParseError, ValueError, RecursionError):
            log.debug("pglast could not parse %r", sql[:200])
            made = _created_elsewhere(sql) if head.startswith("CREATE") else frozenset()
            if not unreadable_is_opaque:
                return self._with(relations=self.relations | made) if made else self
            return self._with(opaque=True, relations=self.relations | made)
        relations, schemas, search_path = set(self.relations), set(self.schemas), self.search_path
        extensions, roles = set(self.extensions), set(self.roles)
        functions, types = set(self.functions), set(self.types)
        for raw in statements:
            node = raw.stmt
            types.update(made_types(node))
            named: list[ast.RangeVar | None] = []
            if isinstance(node, ast.AlterTableStmt) and node.relation is not None and \
                    NAME_HOLE in (node.relation.relname or ""):
                pass  # altering a relation named at run time makes none
            elif isinstance(node, ast.CreateStmt | ast.AlterTableStmt | ast.AlterObjectSchemaStmt):
                named.append(node.relation)  # SET SCHEMA: known by its unqualified name
            elif isinstance(node, ast.CreateSeqStmt):
                named.append(node.sequence)
            elif isinstance(node, ast.IndexStmt) and node.idxname:
                if NAME_HOLE not in node.idxname:  # (an index no table is read as)
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
            elif isinstance(node, ast.VariableSetStmt) and node.name in _ROLE_SETTINGS:
                role = _role_set(node)
                if role is None:
                    search_path = True  # a role dbsafe cannot name: anything may be on the path
                elif role:
                    roles.add(role)
            elif isinstance(node, ast.CreateExtensionStmt) and node.extname:
                extensions.add(node.extname)
            elif isinstance(node, ast.CreateFunctionStmt) and node.funcname:
                functions.add(str(node.funcname[-1].sval))
            elif isinstance(node, ast.DefineStmt) and node.kind == _aggregate_object() \
                    and node.defnames:
                functions.add(str(node.defnames[-1].sval))
            relations.update(r.relname for r in named if r is not None and r.relname)
            relations.update(_implied_sequences(node))
        return self._with(relations=frozenset(relations), schemas=frozenset(schemas),
                          search_path=search_path, extensions=frozenset(extensions),
                          roles=frozenset(roles), functions=frozenset(functions),
                          types=frozenset(types))

    def _after_do(self, sql: str) -> FileDdl:
        """These changes, and those the statements of a `DO` block make: its SQL as any
        statement's, `EXECUTE` of a string constant as that string's. SQL built at run time,
        a language other than PL/pgSQL or a body the parser rejects make the rest opaque."""
        import json

        from pglast.parser import ParseError, parse_sql_json

        from dbsafe.pg.plpgsql import (
            DYNAMIC_STATEMENTS,
            expression_text,
            read_do_block,
            string_constant,
        )

        try:
            statement = json.loads(parse_sql_json(sql))["stmts"][0]["stmt"]["DoStmt"]
        except (ParseError, ValueError, RecursionError, KeyError, IndexError):
            statement = None
        functions, unread = (read_do_block(statement) if statement else
                             (None, "is rejected by PostgreSQL's parser"))
        if functions is None:
            log.debug("the DO block %r %s", sql[:200], unread)
            return self._with(opaque=True)
        ddl = self
        stack: list[object] = [functions]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
                continue
            if not isinstance(node, dict):
                continue
            for kind, key in DYNAMIC_STATEMENTS:
                statement = node.get(kind)
                if isinstance(statement, dict) and key in statement:
                    text = string_constant(expression_text(statement[key]))
                    if text is None:
                        return ddl._with(opaque=True)
                    ddl = ddl.after(text)
            expression = node.get("PLpgSQL_expr")
            if isinstance(expression, dict) and isinstance(expression.get("query"), str):
                query, mode = expression["query"], expression.get("parseMode") or 0
                if mode >= _ASSIGNMENT:  # `target := expression`, kept whole by the parser
                    query = query.split(":=", 1)[-1] if ":=" in query else query.split("=", 1)[-1]
                # mode 0: a whole statement; else an expression (`IF ...`, `x := ...`)
                ddl = ddl.after(f"SELECT {query}" if mode else query)
            stack.extend(reversed(list(node.values())))
        return ddl

    def _with(self, **changes: object) -> FileDdl:
        made = replace(self, **changes)  # type: ignore[arg-type]
        named = frozenset(r for r in made.relations if NAME_HOLE not in r)
        if len(named) == len(made.relations):
            return made
        # (and any name holding it: its serial column's sequence, `{prefix}_log`)
        patterns = frozenset(r for r in made.relations
                             if NAME_HOLE in r and r.replace(NAME_HOLE, "").strip("_"))
        return replace(made, relations=named, unnamed=True,
                       patterns=made.patterns | patterns)


def _created_elsewhere(sql: str) -> frozenset[str]:
    """The table or view a `CREATE` PostgreSQL's parser rejects makes in the engine it is
    written for (a script of MySQL's test data: `CREATE TABLE test_broken (...)
    ENGINE=InnoDB`, then another script's `INSERT INTO test_broken`), read by sqlglot, which
    reads other dialects' DDL; none when it cannot say.

    >>> sorted(_created_elsewhere("CREATE TABLE T (id INT AUTO_INCREMENT) ENGINE=InnoDB"))
    ['t']
    >>> _created_elsewhere("CREATE FUNCTION f() RETURNS int")
    frozenset()
    """
    import sqlglot
    from sqlglot import exp

    try:
        statement = sqlglot.parse_one(sql, read="postgres")
    except (sqlglot.errors.SqlglotError, ValueError, RecursionError):
        return frozenset()
    if not isinstance(statement, exp.Create) or statement.kind not in ("TABLE", "VIEW"):
        return frozenset()
    table = statement.find(exp.Table)
    if table is None or not table.name:
        return frozenset()
    name = table.args["this"]
    quoted = isinstance(name, exp.Identifier) and name.quoted
    return frozenset({table.name if quoted else table.name.lower()})


# `SET ROLE` changes what `"$user"` in the search path names.
_ROLE_SETTINGS = frozenset({"role", "session_authorization"})


def _role_set(node: object) -> str | None:
    """The role `SET ROLE name` sets; "" for `RESET ROLE`/`SET ROLE NONE`/`DEFAULT`; None
    when it is not a name."""
    from pglast import ast
    from pglast.enums import VariableSetKind

    assert isinstance(node, ast.VariableSetStmt)
    if node.kind != VariableSetKind.VAR_SET_VALUE:
        return ""
    values = [getattr(getattr(a, "val", None), "sval", None) for a in node.args or ()]
    value = values[0] if len(values) == 1 else None
    if not isinstance(value, str):
        return None
    return "" if value.lower() == "none" else value


# PostgreSQL's RAW_PARSE_PLPGSQL_ASSIGN1 and later modes: an assignment's text.
_ASSIGNMENT = 3




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
        serial = bool(names) and str(getattr(names[-1], "sval", "")) in SERIAL_TYPES
        identity = any(isinstance(c, ast.Constraint) and c.contype == ConstrType.CONSTR_IDENTITY
                       for c in column.constraints or ())
        if (serial or identity) and column.colname:
            identities.append(column.colname)
    return {f"{table}_{column}_seq" for column in identities}


def _parsed(parse: Callable[[str], T], sql: str) -> T:
    """`parse(sql)`, else `parse` of `sql` with its placeholders (a driver's `%s`, psql's
    `:'name'`, read as `:name`) numbered as `$n`: `CREATE TEMP TABLE t AS SELECT ... WHERE
    a = %s`, `SELECT * INTO TEMP r FROM f(:'run_id')` make their tables all the same.

    Raises:
        ParseError, ValueError, RecursionError: PostgreSQL's parser rejects both.
    """
    from pglast.parser import ParseError

    try:
        return parse(sql)
    except (ParseError, ValueError, RecursionError):
        from dbsafe.validate.quick import _numbered

        numbered = _numbered(sql)
        if numbered is None or numbered == sql:
            raise
        return parse(numbered)


def _query_effects(sql: str) -> tuple[frozenset[str], bool, frozenset[str]]:
    """Tables `SELECT ... INTO name` creates (PostgreSQL accepts INTO only where it creates
    one: in the outermost query, or the first branch of its set operation), whether the
    query calls `set_config('search_path', ...)` (or `set_config` of a name or role it
    computes), and the roles `set_config('role', 'name', ...)` sets."""
    import json

    from pglast.parser import ParseError, parse_sql_json

    try:
        text = _parsed(parse_sql_json, sql)
    except (ParseError, ValueError, RecursionError):
        return frozenset(), False, frozenset()
    if '"intoClause"' not in text and '"set_config"' not in text:
        return frozenset(), False, frozenset()
    created: set[str] = set()
    roles: set[str] = set()
    sets_path = False
    stack: list[object] = [json.loads(text)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            into = node.get("intoClause")
            if isinstance(into, dict) and into.get("rel", {}).get("relname"):
                created.add(into["rel"]["relname"])
            call = node.get("FuncCall")
            if isinstance(call, dict):
                setting = _set_config(call)
                if setting is not None and setting[0] == "search_path":
                    sets_path = True
                elif setting is not None and setting[0] in _ROLE_SETTINGS:
                    if setting[1] is None:
                        sets_path = True
                    elif setting[1]:
                        roles.add(setting[1])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(created), sets_path, frozenset(roles)


def _set_config(call: dict[str, object]) -> tuple[str, str | None] | None:
    """(setting, value) of a `set_config(setting, value, is_local)` call; a setting dbsafe
    cannot read counts as `search_path`, a value it cannot read is None."""
    names = [n.get("String", {}).get("sval") for n in call.get("funcname") or ()  # type: ignore[attr-defined]
             if isinstance(n, dict)]
    if names[-1:] != ["set_config"] or names[:-1] not in ([], ["pg_catalog"]):
        return None
    args = call.get("args")
    strings = [a.get("A_Const", {}).get("sval", {}).get("sval") if isinstance(a, dict) else None
               for a in (args if isinstance(args, list) else [])]
    if len(strings) < 2 or strings[0] is None:
        return ("search_path", None)
    value = strings[1]
    return (strings[0].lower(), "" if value is not None and value.lower() == "none" else value)


def made_types(node: object) -> set[str]:
    """The unqualified names of the types (enums, composite, range, base and shell types,
    domains) the statement `node` (pglast's) creates or renames one to.

    >>> from pglast import parse_sql
    >>> sorted(n for sql in ("CREATE TYPE e AS ENUM ('a')", "CREATE DOMAIN s.d AS int",
    ...     "CREATE TYPE c AS (a int)", "CREATE TYPE r AS RANGE (subtype = int4)",
    ...     "CREATE TYPE sh", "ALTER TYPE e RENAME TO e2", "CREATE TABLE t (a e)")
    ...     for n in made_types(parse_sql(sql)[0].stmt))
    ['c', 'd', 'e', 'e2', 'r', 'sh']
    """
    from pglast import ast
    from pglast.enums import ObjectType

    names: list[object] = []
    if isinstance(node, ast.CreateEnumStmt | ast.CreateRangeStmt):
        names = list(node.typeName or ())
    elif isinstance(node, ast.CreateDomainStmt):
        names = list(node.domainname or ())
    elif isinstance(node, ast.DefineStmt) and node.kind == ObjectType.OBJECT_TYPE:
        names = list(node.defnames or ())
    elif isinstance(node, ast.CompositeTypeStmt) and node.typevar is not None:
        return {node.typevar.relname} if node.typevar.relname else set()
    elif isinstance(node, ast.RenameStmt) and node.newname and node.renameType in (
            ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN):
        return {node.newname}
    last = names[-1] if names else None
    return {last.sval} if isinstance(last, ast.String) and last.sval else set()


def named_types(node: object) -> set[str]:
    """The unqualified names of every type the statement `node` (pglast's) names (a
    column's, a cast's, a function's argument's) or makes (`made_types`).

    >>> from pglast import parse_sql
    >>> sorted(named_types(parse_sql("CREATE TABLE x (v vector(3), w s.tag[])")[0].stmt))
    ['tag', 'vector']
    """
    from pglast import ast

    found = made_types(node)
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif isinstance(item, ast.Node):
            if isinstance(item, ast.TypeName) and item.names:
                last = item.names[-1]
                if isinstance(last, ast.String) and last.sval:
                    found.add(last.sval)
            stack.extend(getattr(item, attribute) for attribute in item)
    return found


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


def _aggregate_object() -> object:
    from pglast.enums import ObjectType

    return ObjectType.OBJECT_AGGREGATE
