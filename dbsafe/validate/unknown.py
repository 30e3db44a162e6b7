"""What the schema cannot describe, for every file: validate leaves it unchecked.

Two things make a schema built from migrations incomplete, where production is not:

* a migration statement that failed on the throwaway server (an extension the embedded
  PostgreSQL lacks, then every table using its types): production has what it made;
* a stand-in for a platform's own objects (the supabase one, `dbsafe.migrate.sqlfiles`),
  whose schemas hold only some of the platform's tables: the others exist in production.

A reference to such a thing is unknown, never missing: reporting it would be a false
positive, which blocks a merge. `Unknown` holds what they may have made, as DDL that ran
before every file (`FileDdl`: a relation created or altered has unknown columns, a schema
created may hold any relation), plus the functions, indexes and publications a failed
statement would have made, for supabase-js requests (`hides`).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from dbsafe.validate.file_ddl import FileDdl, named_types

if TYPE_CHECKING:
    from dbsafe.core import Finding
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.validate.resolver import Problem

log = logging.getLogger(__name__)

# What an extension makes that queries name: (its own schemas, relations in the schema it
# is installed in). An extension not listed may make any relation, so after it failed no
# table is reported missing; these make none, or only these.
_EXTENSIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    **{name: ((), ()) for name in (
        "uuid-ossp", "pgcrypto", "vector", "pg_trgm", "citext", "hstore", "ltree", "unaccent",
        "fuzzystrmatch", "btree_gist", "btree_gin", "pgjwt", "pg_jsonschema", "moddatetime",
        "pg_hashids", "http", "intarray", "cube", "earthdistance", "tablefunc", "isn",
        "plpgsql", "pgtap", "plpgsql_check", "index_advisor", "wrappers", "postgres_fdw",
        "dblink", "pg_stat_monitor", "pgroonga", "rum", "pgaudit", "pg_walinspect")},
    "pg_graphql": (("graphql",), ()),
    "pg_net": (("net",), ()),
    "pg_cron": (("cron",), ()),
    # Supabase's queues API: the dashboard wraps pgmq's functions in `pgmq_public` (its
    # "expose queues via PostgREST"), outside the migrations and only where pgmq is.
    "pgmq": (("pgmq", "pgmq_public"), ()),
    "pgsodium": (("pgsodium", "pgsodium_masks"), ()),
    "supabase_vault": (("vault",), ()),
    "timescaledb": (("_timescaledb_catalog", "timescaledb_information"), ()),
    "pg_stat_statements": ((), ("pg_stat_statements", "pg_stat_statements_info")),
    # (index_advisor requires it; `supabase db dump` writes both)
    "hypopg": ((), ("hypopg_list_indexes", "hypopg_hidden_indexes")),
    "postgis": ((), ("spatial_ref_sys", "geometry_columns", "geography_columns")),
}

# Functions an extension makes, by the name a call writes (folded): prefixes, then names; those
# where other engines' built-ins share names (MySQL's `ST_AsText`, SQLite's and MySQL's
# `soundex`, MySQL's `ENCRYPT`), so that a call of one beside that extension's failed `CREATE
# EXTENSION` is said to be the extension's, not another engine's. With the extension's name
# as its documentation writes it.
_EXTENSION_FUNCTIONS: dict[str, tuple[str, tuple[str, ...], frozenset[str]]] = {
    "postgis": ("PostGIS", ("st_", "_st_", "postgis_"), frozenset({
        "geometrytype", "addgeometrycolumn", "dropgeometrycolumn", "dropgeometrytable",
        "updategeometrysrid", "find_srid", "populate_geometry_columns"})),
    "fuzzystrmatch": ("fuzzystrmatch", (), frozenset({
        "soundex", "difference", "levenshtein", "levenshtein_less_equal", "metaphone",
        "dmetaphone", "dmetaphone_alt", "daitch_mokotoff"})),
    "pgcrypto": ("pgcrypto", ("pgp_",), frozenset({
        "digest", "hmac", "crypt", "gen_salt", "gen_random_bytes", "encrypt", "decrypt",
        "encrypt_iv", "decrypt_iv", "armor", "dearmor"})),
}

# supabase-js findings a failed statement can cause: a table, column, relationship,
# function, unique index or publication entry it would have made.
_REQUEST_CODES = frozenset({"DBS301", "DBS302", "DBS305", "DBS306", "DBS307", "DBS308",
                            "DBS309", "DBS310"})
# A relation or function missing: an extension that failed may have made it.
_NEW_NAME_CODES = frozenset({"DBS301", "DBS305", "DBS306", "DBS309"})
_NAME_SEPARATORS = re.compile(r"[.(),>!:\- ]+")


@dataclass(frozen=True, slots=True)
class Unknown:
    """What validate does not know, as DDL run before every file; see the module docstring."""

    ddl: FileDdl = field(default_factory=FileDdl)
    functions: frozenset[str] = frozenset()  # names (unqualified, folded) of functions
    # schemas a failed `CREATE EXTENSION` of an extension `_EXTENSIONS` lists would have
    # put its functions in ("*": the one it is created in is not written)
    function_schemas: frozenset[str] = frozenset()
    # names (unqualified) of the types a failed or unrun statement makes or names (a type
    # one refers to that the throwaway lacked, 42704, production has)
    types: frozenset[str] = frozenset()
    # the extensions whose `CREATE EXTENSION` failed
    failed_extensions: frozenset[str] = frozenset()
    # relations (unqualified names) the application's runner makes at run time in a schema
    # its code names, which may be one the database lacks: drizzle-orm's history table,
    # which `migrate()` makes in the schema its `migrationsSchema` names
    # (`SqlFolder.history_tables`)
    anywhere: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.ddl or self.functions or self.function_schemas or self.types
                    or self.anywhere)

    def made_anywhere(self, problem: Problem) -> bool:
        """Whether `problem` is a relation missing (or the schema named for it) that is one
        of the relations the runner makes in a schema the code names (`anywhere`).

        >>> from dbsafe.validate.resolver import Problem
        >>> unknown = Unknown(anywhere=frozenset({"__drizzle_migrations"}))
        >>> [unknown.made_anywhere(Problem("DBS301", "", subject, 0, 1, relation=relation))
        ...  for subject, relation in (("drizzle_admin", "__drizzle_migrations"),
        ...                            ("public.__drizzle_migrations", None),
        ...                            ("drizzle_admin", "users"), ("public.users", None))]
        [True, True, False, False]
        """
        if problem.code != "DBS301" or not self.anywhere:
            return False
        name = problem.relation if problem.relation is not None \
            else problem.subject.rsplit(".", 1)[-1]
        return name in self.anywhere

    @classmethod
    def of(cls, failed: Iterable[str], snapshot: SchemaSnapshot,
           unrun: Iterable[str] = (), absent: Iterable[str] = (),
           existing: Iterable[str] = (), refusals: Iterable[str] = ()) -> Unknown:
        """What the `failed` statements would have made, and the schemas of `snapshot` that
        are stand-ins; and what the `unrun` ones would make: the statements of the files
        of the folder its runner does not run (`unrun_files`), which may have been run some
        other way, so production may have what they make (one dbsafe cannot read changes
        nothing: it is no migration that failed). A file its runner ran that is `absent`
        from the folder (`absent_listed_files`) may have made anything. The `existing`
        statements failed only because what they make exists already (`exists_already`):
        they made nothing, and leave unknown only the relations they read that the schema
        lacks, or lacking a column they name. `refusals` are the failed statements'
        messages: one saying an extension's object is missing (`made_outside`) leaves
        unknown every function production may have, as a failed `CREATE EXTENSION` does.

        >>> from dbsafe.schema.model import SchemaSnapshot
        >>> unknown = Unknown.of(["CREATE UNIQUE INDEX u ON t (a)", "CREATE TABLE x (v vec)",
        ...     "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        ...     "CREATE EXTENSION pg_net", "CREATE EXTENSION vector"], SchemaSnapshot())
        >>> sorted(unknown.ddl.relations), sorted(unknown.functions), sorted(unknown.ddl.schemas)
        (['t', 'u', 'x'], ['f'], ['net'])
        >>> unknown.ddl.extensions
        frozenset()
        """
        schemas = set(snapshot.stand_in_schemas())
        # An extension dbsafe stands in for (its schema a stand-in) leaves unknown what it
        # leaves unknown when it fails: Supabase's `pgmq_public` beside `pgmq`.
        for own, _ in _EXTENSIONS.values():
            if schemas.intersection(own):
                schemas.update(own)
        ddl = FileDdl(schemas=frozenset(schemas), opaque=bool(list(absent)))
        relations: set[str] = set()
        functions: set[str] = set()
        types: set[str] = set()
        function_schemas: set[str] = set()
        extensions: set[str] = set()
        failed, unrun, existing = list(failed), list(unrun), list(existing)
        if failed or unrun or existing:  # (PostgreSQL's parser is not loaded for the usual run)
            from pglast import ast, parse_sql
            from pglast.parser import ParseError
        made = FileDdl()
        for sql in unrun:
            made = made.after(sql)
            try:
                statements = parse_sql(sql)
            except (ParseError, ValueError, RecursionError):
                continue
            for raw in statements:
                _add_made(raw.stmt, relations, functions)
                types.update(named_types(raw.stmt))
        relations.update(made.relations)
        schemas.update(made.schemas)
        for sql in existing:
            with contextlib.suppress(ParseError, ValueError, RecursionError):
                statements = parse_sql(sql)
                relations.update(name for schema, name in _relations_named(statements)
                                 if snapshot.find_relation(name, schema) is None)
                relations.update(_lacking_a_column(statements, snapshot))
        for sql in failed:
            ddl = ddl.after(sql)
            try:
                statements = parse_sql(sql)
            except (ParseError, ValueError, RecursionError):
                # Refused by PostgreSQL's parser: what it meant to make cannot be known.
                ddl = replace(ddl, opaque=True)
                continue
            # A relation it reads that the schema lacks: the migration ran in production,
            # so production has it (made outside the migrations, by hand or the platform).
            # So is a schema it names: made outside them (a runner's `CREATE SCHEMA` before
            # the files), it may hold anything.
            named = _relations_named(statements)
            relations.update(name for schema, name in named
                             if snapshot.find_relation(name, schema) is None)
            schemas.update(schema for schema, _ in named
                           if schema and schema not in snapshot.schemas)
            # A column it gives a relation the schema has, that the schema's relation lacks:
            # production's relation has it, so it was made or altered outside the migrations.
            relations.update(_lacking_a_column(statements, snapshot))
            for raw in statements:
                node = raw.stmt
                _add_made(node, relations, functions)
                types.update(named_types(node))
                if isinstance(node, ast.CreateExtensionStmt) and node.extname:
                    extensions.add(node.extname)
                    known = _EXTENSIONS.get(node.extname)
                    if known is not None:
                        schemas.update(known[0])
                        relations.update(known[1])
                        # its functions (`http_get`, `index_advisor`): none is listed
                        function_schemas.add(next(
                            (o.arg.sval or "*" for o in node.options or ()
                             if o.defname == "schema" and isinstance(o.arg, ast.String)),
                            "*"))
        for message in refusals:
            outside = made_outside(message)
            if outside == "*":
                function_schemas.add("*")
            elif outside:
                functions.add(outside)
        known_extensions = {e for e in ddl.extensions if e in _EXTENSIONS}
        return cls(replace(ddl, relations=ddl.relations | relations,
                           schemas=ddl.schemas | schemas,
                           extensions=ddl.extensions - known_extensions),
                   frozenset(functions), frozenset(function_schemas), frozenset(types),
                   frozenset(extensions))

    def extension_making(self, name: str) -> str | None:
        """The extension whose `CREATE EXTENSION` failed that makes a function of this
        (folded) name, as `_EXTENSION_FUNCTIONS` knows its functions; None when none does.

        >>> from dbsafe.schema.model import SchemaSnapshot
        >>> unknown = Unknown.of(["CREATE EXTENSION postgis"], SchemaSnapshot())
        >>> unknown.extension_making("st_astext"), unknown.extension_making("soundex")
        ('postgis', None)
        """
        for extension in sorted(self.failed_extensions & _EXTENSION_FUNCTIONS.keys()):
            _, prefixes, names = _EXTENSION_FUNCTIONS[extension]
            if name in names or name.startswith(prefixes):
                return extension
        return None

    def call_reason(self, name: str) -> str | None:
        """Why a statement calling `name` (folded, unqualified or not) is not analysed when
        an extension that failed makes it: what dbsafe found; None when none makes it.

        >>> from dbsafe.schema.model import SchemaSnapshot
        >>> Unknown.of(["CREATE EXTENSION postgis"], SchemaSnapshot()).call_reason("st_astext")
        'calls `st_astext`, which PostGIS makes, and `CREATE EXTENSION postgis` failed where the schema was built'
        """
        extension = self.extension_making(name)
        if extension is None:
            return None
        return (f"calls `{name}`, which {_EXTENSION_FUNCTIONS[extension][0]} makes, and "
                f"`CREATE EXTENSION {extension}` failed where the schema was built")

    def hides(self, finding: Finding) -> bool:
        """Whether a supabase-js finding may be about something unknown: its subject
        (`public.t.c`, `public.t->rel`, `public.t(a,b)`, `public.f`) is in a schema a failed
        statement would have made or a stand-in's, or names a relation or function a failed
        statement would have made or changed.

        >>> from dbsafe.core import Finding, Severity
        >>> unknown = Unknown(FileDdl(relations=frozenset({"rooms"}),
        ...                           schemas=frozenset({"storage"})))
        >>> [unknown.hides(Finding("DBS302", "", Severity.ERROR, subject=s)) for s in
        ...  ("public.rooms.slug", "storage.objects.x", "public.files.storage", "public.t.c")]
        [True, True, False, False]
        """
        if finding.code not in _REQUEST_CODES:
            return False
        ddl = self.ddl
        if ddl.opaque or ddl.search_path:
            return True
        if ddl.extensions and finding.code in _NEW_NAME_CODES:
            return True  # the missing relation or function may be the extension's
        schema, *names = _NAME_SEPARATORS.split(finding.subject or "")
        if finding.code == "DBS306" and self.function_schemas & {"*", schema}:
            return True  # a function an extension that failed there would have made
        return schema in ddl.schemas or bool(set(names) & (ddl.relations | self.functions))


# Types extensions make, by the name a migration writes (pgvector's, citext's, hstore's,
# ltree's, cube's and earthdistance's, PostGIS's, seg's, isn's).
_EXTENSION_TYPES = frozenset({
    "vector", "halfvec", "sparsevec", "citext", "hstore", "ltree", "lquery", "ltxtquery",
    "cube", "earth", "geometry", "geography", "box2d", "box3d", "seg", "isbn", "isbn13",
    "ismn", "ismn13", "issn", "issn13", "ean13", "upc"})
# PostgreSQL's messages for a missing operator class, type or function (42704, 42883).
_MISSING_OBJECT = re.compile(
    r'(?P<state>42704|42883): (?P<kind>operator class|type|function) "?(?P<name>[^"(]+)')


def made_outside(message: str) -> str | None:
    """What a migration statement refused with `message` shows production has, made
    outside the migrations (the statement ran there): "*" for an extension, whose
    functions are then unknown (an operator class, which only an extension or a hand-made
    `CREATE OPERATOR CLASS` gives: pg_trgm's `gin_trgm_ops` says `similarity()` and
    `word_similarity()` are there; a type an extension makes, `vector`, `citext`); a
    function's name for a function it calls (`DEFAULT uuid_generate_v4()`); None for
    anything else (a type of a name no extension makes may be an enum an earlier failed
    statement would have made).

    >>> [made_outside(m) for m in (
    ...     '42704: operator class "gin_trgm_ops" does not exist for access method "gin"',
    ...     '42704: type "public.vector" does not exist', '42704: type "mood" does not exist',
    ...     "42883: function uuid_generate_v4() does not exist",
    ...     '42P01: relation "t" does not exist')]
    ['*', '*', None, 'uuid_generate_v4', None]
    """
    match = _MISSING_OBJECT.match(message)
    if match is None:
        return None
    kind, name = match["kind"], match["name"].strip().rsplit(".", 1)[-1]
    if match["state"] == "42883":
        return name if kind == "function" and name else None
    if kind == "operator class" or (kind == "type" and name.lower() in _EXTENSION_TYPES):
        return "*"
    return None


# SQLSTATE classes of an error about the data a statement met: cardinality (21), data
# exception (22), integrity constraint violation (23).
_DATA_ERRORS = ("21", "22", "23")


def changes_nothing_read(sql: str, message: str, snapshot: SchemaSnapshot) -> bool:
    """Whether a migration statement that failed on the throwaway server, with `message`
    (`"23503: ..."`), would have changed nothing validate reads, so it needs no DBS006 note:

    * rows (`INSERT`/`UPDATE`/`DELETE`/`MERGE`) refused for the data they met: a foreign key
      to a user production has, a row an earlier failed insert would have made;
    * a materialized view's rows (`REFRESH MATERIALIZED VIEW`), whatever refused them;
    * rows or privileges (`GRANT`/`REVOKE`) of relations that are missing only because they
      lie in a schema a platform's stand-in describes in part (`auth.refresh_tokens`,
      `auth.flow_state`, which `supabase db diff` writes grants on): production has them.

    >>> from dbsafe.schema.model import SchemaSnapshot
    >>> [changes_nothing_read(sql, message, SchemaSnapshot()) for sql, message in (
    ...     ("insert into t values (1)", "23505: duplicate key value"),
    ...     ("insert into t values (1)", "42P01: relation t does not exist"),
    ...     ("create table t (a int references u)", "23503: insert or update"),
    ...     ("GRANT CONNECT ON DATABASE d TO r", "3D000: database d does not exist"),
    ...     ("REFRESH MATERIALIZED VIEW v", '42P01: relation "users" does not exist'))]
    [True, False, False, True, True]
    """
    from pglast import ast
    from pglast.enums import ObjectType

    from dbsafe.pg.parse import sole_statement

    node = sole_statement(sql)
    if node is None:
        return False
    if isinstance(node, ast.GrantStmt) and node.objtype == ObjectType.OBJECT_DATABASE:
        return True  # CONNECT, TEMP, CREATE on a database: no relation, column or function
    if isinstance(node, ast.RefreshMatViewStmt):
        return True  # a materialized view's rows only: its columns are its CREATE's
    rows = isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt | ast.MergeStmt)
    state = message.split(":", 1)[0]
    if rows and state.startswith(_DATA_ERRORS):
        return True
    if not (rows or isinstance(node, ast.GrantStmt)) or state != "42P01":
        return False
    stand_ins = snapshot.stand_in_schemas()
    missing = [(schema, name) for schema, name in _relations_named([node])
               if snapshot.find_relation(name, schema) is None]
    return bool(missing) and all(schema in stand_ins for schema, _ in missing)


# SQLSTATEs of a statement refused because what it makes exists already: duplicate_table
# (42P07: a table, view, sequence or index of that name) and duplicate_object (42710: a
# type, constraint, trigger, policy, extension, ...).
_EXISTS_ALREADY = frozenset({"42P07", "42710"})


def exists_already(sql: str, message: str, snapshot: SchemaSnapshot) -> bool:
    """Whether a migration statement that failed on the throwaway server, with `message`,
    failed only because what it makes exists already, and so changed nothing validate reads,
    even where production ran it: one statement (PostgreSQL runs it whole or not at all)
    refused with 42P07 or 42710 that is

    * a `CREATE TABLE` of a relation the schema has with every column it declares (had
      production made the table with it, its columns would be these; one declaring a
      column the schema's relation lacks leaves it unknown);
    * an index, sequence, type, domain, trigger, policy or extension, or an `ALTER TABLE`
      that only adds constraints: none gives a relation columns;
    * an `ALTER PUBLICATION ... ADD TABLE` of one table, already in the publication.

    Parsec's `datamodel.sql`, its whole schema kept beside its numbered migrations, is all
    such statements once they ran. A view (its columns are its query's) or a publication made
    (the tables it names) is not.

    >>> from dbsafe.schema.model import Column, Relation, SchemaSnapshot
    >>> snapshot = SchemaSnapshot(relations=(Relation("public", "t", "table",
    ...     (Column("a", "int", 1), Column("b", "int", 2))),))
    >>> [exists_already(sql, message, snapshot) for sql, message in (
    ...     ("CREATE TABLE t (a int)", '42P07: relation "t" already exists'),
    ...     ("CREATE TABLE t (a int, c int)", '42P07: relation "t" already exists'),
    ...     ("CREATE TABLE u (id serial)", '42P07: relation "u_id_seq" already exists'),
    ...     ("CREATE TYPE e AS ENUM ('x')", '42710: type "e" already exists'),
    ...     ("ALTER TABLE t ADD CONSTRAINT k UNIQUE (a)", '42P07: relation "k" already exists'),
    ...     ("ALTER TABLE t ADD COLUMN c int, ADD CONSTRAINT k CHECK (a > 0)", "42710: ..."),
    ...     ("CREATE VIEW t AS SELECT 1 AS a", '42P07: relation "t" already exists'),
    ...     ("CREATE TABLE t (a int)", '42P01: relation "x" does not exist'),
    ...     ("ALTER PUBLICATION p ADD TABLE t", '42710: relation "t" is already member of '
    ...      'publication "p"'),
    ...     ("ALTER PUBLICATION p ADD TABLE t, u", '42710: relation "t" is already member'))]
    [True, False, False, True, True, False, False, False, True, False]
    """
    if message.partition(":")[0] not in _EXISTS_ALREADY:
        return False
    from pglast import ast
    from pglast.enums import AlterPublicationAction, AlterTableType, PublicationObjSpecType

    from dbsafe.pg.parse import sole_statement

    node = sole_statement(sql)
    if isinstance(node, ast.CreateStmt):
        made = node.relation
        relation = snapshot.find_relation(made.relname, made.schemaname) \
            if made is not None and made.relname else None
        declared = {e.colname for e in node.tableElts or () if isinstance(e, ast.ColumnDef)}
        return relation is not None and declared <= {c.name for c in relation.columns}
    if isinstance(node, ast.AlterTableStmt):
        return all(isinstance(cmd, ast.AlterTableCmd)
                   and cmd.subtype == AlterTableType.AT_AddConstraint
                   for cmd in node.cmds or ())
    if isinstance(node, ast.AlterPublicationStmt):
        # `ADD TABLE t` of one table refused as "already member of publication": t is in
        # it (TarkovTracker's `enable_realtime_user_progress_dup_1`); of several, the
        # others may not be.
        objects = node.pubobjects or ()
        return node.action == AlterPublicationAction.AP_AddObjects and len(objects) == 1 and (
            objects[0].pubobjtype == PublicationObjSpecType.PUBLICATIONOBJ_TABLE)
    return isinstance(node, ast.IndexStmt | ast.CreateSeqStmt | ast.CreateEnumStmt
                      | ast.CompositeTypeStmt | ast.CreateDomainStmt | ast.CreateRangeStmt
                      | ast.CreateTrigStmt | ast.CreatePolicyStmt | ast.CreateExtensionStmt)


def _add_made(node: Any, relations: set[str], functions: set[str]) -> None:
    """Add to `relations` and `functions` what the statement `node` (pglast's) makes that a
    request may use beyond its relations' DDL (`FileDdl`): a unique index's table (an
    upsert's `onConflict`), a function (`rpc()`), a publication's tables (Realtime)."""
    from pglast import ast

    if isinstance(node, ast.IndexStmt) and node.relation is not None and node.relation.relname:
        relations.add(node.relation.relname)
    elif isinstance(node, ast.CreateFunctionStmt) and node.funcname:
        functions.add(str(node.funcname[-1].sval))
    elif isinstance(node, ast.CreatePublicationStmt | ast.AlterPublicationStmt):
        for item in node.pubobjects or ():
            table = getattr(getattr(item, "pubtable", None), "relation", None)
            if table is not None and table.relname:
                relations.add(table.relname)


def _lacking_a_column(statements: Iterable[Any], snapshot: SchemaSnapshot) -> set[str]:
    """The relations of `snapshot` that lack a column `statements` (pglast's) give them by
    name: the target of an `UPDATE ... SET`, an `INSERT`'s column list, `ALTER TABLE ...
    ALTER/DROP COLUMN` (not `IF EXISTS`) and `RENAME COLUMN`. (A column of an expression
    belongs to whichever relation resolution finds: no proof about one relation.)

    >>> from pglast import parse_sql
    >>> from dbsafe.schema.model import Column, Relation, SchemaSnapshot
    >>> snapshot = SchemaSnapshot(relations=(Relation("public", "t", "table",
    ...     (Column("a", "int", 1),)),))
    >>> [sorted(_lacking_a_column(parse_sql(sql), snapshot)) for sql in (
    ...     "UPDATE t SET a = 1, b = 2", "INSERT INTO t (a) VALUES (1)",
    ...     "ALTER TABLE t ALTER COLUMN c TYPE text", "ALTER TABLE t RENAME COLUMN d TO e",
    ...     "ALTER TABLE t DROP COLUMN IF EXISTS f", "UPDATE t SET a = 1 WHERE z = 2",
    ...     "UPDATE u SET b = 1")]
    [['t'], [], ['t'], ['t'], [], [], []]
    """
    from pglast import ast
    from pglast.enums import AlterTableType, ObjectType

    named_columns = (AlterTableType.AT_AlterColumnType, AlterTableType.AT_DropColumn,
                     AlterTableType.AT_ColumnDefault, AlterTableType.AT_SetNotNull,
                     AlterTableType.AT_DropNotNull)
    found: set[str] = set()
    for raw in statements:
        node = raw.stmt
        columns: list[str] = []
        if isinstance(node, ast.UpdateStmt):
            columns = [t.name for t in node.targetList or () if t.name]
        elif isinstance(node, ast.InsertStmt):
            columns = [t.name for t in node.cols or () if t.name]
        elif isinstance(node, ast.AlterTableStmt):
            columns = [cmd.name for cmd in node.cmds or ()
                       if isinstance(cmd, ast.AlterTableCmd) and cmd.name
                       and cmd.subtype in named_columns and not cmd.missing_ok]
        elif isinstance(node, ast.RenameStmt) and node.renameType == ObjectType.OBJECT_COLUMN \
                and node.subname and not node.missing_ok:
            columns = [node.subname]
        relation = getattr(node, "relation", None)
        if not columns or relation is None or not relation.relname:
            continue
        known = snapshot.find_relation(relation.relname, relation.schemaname)
        if known is not None and not set(columns) <= {c.name for c in known.columns}:
            found.add(relation.relname)
    return found


def _relations_named(statements: Iterable[Any]) -> list[tuple[str | None, str]]:
    """(schema or None, name) of every relation `statements` (pglast's) name."""
    from pglast.visitors import Visitor

    found: list[tuple[str | None, str]] = []

    class _Names(Visitor):
        def visit_RangeVar(self, ancestors: Any, node: Any) -> None:
            if node.relname:
                found.append((node.schemaname, node.relname))

    _Names()(tuple(statements))
    return found


# Schemas every database has: never made by a migration, never unknown.
_BUILT_IN_SCHEMAS = frozenset({"public", "pg_catalog", "information_schema", "pg_temp",
                               "pg_toast"})


def schemas_made_elsewhere(statements: Iterable[str]) -> list[str]:
    """The schemas migration `statements` name -- a relation or a function in them,
    also in the statements of a PL/pgSQL body or `DO` block -- that none of them creates
    (`CREATE SCHEMA`, `CREATE EXTENSION ... SCHEMA`), by name: made by
    something else before the migrations, such as the command graphile/starter's .gmrc
    runs after a reset (`install-db-schema`: graphile-worker's `graphile_worker`, which its
    trigger functions call).

    >>> schemas_made_elsewhere(["CREATE SCHEMA app; CREATE TABLE app.t (id int)",
    ...     "CREATE FUNCTION app.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    ...     "PERFORM graphile_worker.add_job('x'); RETURN NEW; END $$",
    ...     "SELECT * FROM public.t, pg_catalog.pg_class"])
    ['graphile_worker']
    """
    import pglast
    from pglast import ast
    from pglast.parser import ParseError
    from pglast.visitors import Visitor

    from dbsafe.pg.plpgsql import executed_sql

    named: set[str] = set()
    made: set[str] = set()

    class _Schemas(Visitor):
        def visit_RangeVar(self, ancestors: Any, node: Any) -> None:
            if node.schemaname:
                named.add(node.schemaname)

        def visit_FuncCall(self, ancestors: Any, node: Any) -> None:
            if len(node.funcname) == 2:
                named.add(node.funcname[0].sval)

        def visit_CreateSchemaStmt(self, ancestors: Any, node: Any) -> None:
            if node.schemaname:
                made.add(node.schemaname)

        def visit_CreateExtensionStmt(self, ancestors: Any, node: Any) -> None:
            made.update(str(option.arg.sval) for option in node.options or ()
                        if option.defname == "schema" and isinstance(option.arg, ast.String))

    pending = list(statements)
    while pending:
        sql = pending.pop()
        try:
            parsed = pglast.parse_sql(sql)
        except (ParseError, ValueError, RecursionError):
            continue
        _Schemas()(parsed)
        if any(isinstance(raw.stmt, (ast.CreateFunctionStmt, ast.DoStmt)) for raw in parsed):
            # (not PL/pgSQL, or a body its parser rejects: nothing more is named)
            with contextlib.suppress(Exception):
                pending.extend(s for s in executed_sql(pglast.parse_plpgsql(sql)) if s)
    return sorted(schema for schema in named if schema not in made | _BUILT_IN_SCHEMAS)
