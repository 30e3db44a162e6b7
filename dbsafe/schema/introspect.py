"""Read a live PostgreSQL database into a `SchemaSnapshot`.

Everything comes from a handful of set-based queries over `pg_catalog` (columns, relations,
constraints, indexes, triggers, rules, functions, types, sequences, policies, extensions, schemas,
publications, event triggers, collations, extended statistics, plus one for session facts and
the database's settings), never one query per table: a 10,000-table database costs the same
round trips as a ten-table one.
`introspect_url` runs them over three sessions sharing one snapshot, each reading its share
of the tables (see `introspect`). `information_schema` is avoided on purpose — its views
hide objects the current role does not own and are an order of magnitude slower.

Objects in system schemas (`pg_catalog`, `information_schema`, `pg_toast`, temporary
schemas) and objects that belong to an extension (`pg_depend.deptype = 'e'`) are left out:
they are not the application's schema, and they differ between servers for reasons no
migration controls.

Definitions are the server's text (`pg_get_viewdef`, `pg_get_functiondef`, ...), except
that plain b-tree indexes, primary keys, unique constraints and foreign keys, which the
server's deparser would cost most of the time on a large catalog, are written from their
catalog rows exactly as it writes them (`_Deparser`).

Only catalog columns present since PostgreSQL 12 are read (column compression, 14+, is
read where the server has it), so the same queries work on every supported server.
"""

from __future__ import annotations

import gc
import logging
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from dbsafe.core import DatabaseError
from dbsafe.pg.names import quote_ident
from dbsafe.pg.urls import redact_text, redact_url, to_libpq_url
from dbsafe.schema import model
from dbsafe.schema.model import (
    Argument,
    Cast,
    Collation,
    Column,
    ColumnDetails,
    CompositeType,
    Constraint,
    DefaultPrivileges,
    Domain,
    DomainConstraint,
    Enum,
    EventTrigger,
    Extension,
    ForeignServer,
    Function,
    Index,
    Namespace,
    Policy,
    Publication,
    RangeType,
    Relation,
    Rule,
    SchemaSnapshot,
    Setting,
    Statistics,
    Trigger,
    no_privileges,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    import psycopg

log = logging.getLogger(__name__)

_by_position = attrgetter("position")
_by_name = attrgetter("name")

STATEMENT_TIMEOUT = "60s"

_RELATION_KINDS = {
    "r": "table",
    "p": "partitioned_table",
    "v": "view",
    "m": "materialized_view",
    "f": "foreign_table",
}
_CONSTRAINT_KINDS = {
    "p": "primary_key",
    "u": "unique",
    "f": "foreign_key",
    "c": "check",
    "x": "exclusion",
}
_IDENTITY = {"a": "always", "d": "by default"}
_GENERATED = {"s": "stored", "v": "virtual"}
_ARGUMENT_MODES = {"i": "in", "o": "out", "b": "inout", "v": "variadic", "t": "table"}
_FUNCTION_KINDS = {"f": "function", "a": "aggregate", "w": "window", "p": "procedure"}
_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
_STORAGE = {"p": "plain", "e": "external", "x": "extended", "m": "main"}
_COMPRESSION = {"p": "pglz", "l": "lz4"}
_TRIGGER_ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}
_REPLICA_IDENTITY = {"d": "default", "n": "nothing", "f": "full"}

# -- catalog queries ------------------------------------------------------------------
#
# `{ns}` is the namespace filter, `{ext}` the "not part of an extension" filter; both are
# plain SQL fragments (no user input). Names starting with "pg_" are reserved for system
# schemas (pg_catalog, pg_toast, pg_temp_N, pg_toast_temp_N), so a prefix test covers them.
# `%(schemas)s` is NULL for "every user schema".

_NAMESPACE_FILTER = """
    left({alias}.nspname, 3) <> 'pg_'
    AND {alias}.nspname <> 'information_schema'
    AND (%(schemas)s::text[] IS NULL OR {alias}.nspname = ANY (%(schemas)s::text[]))
"""

_NOT_EXTENSION_MEMBER = """
    NOT EXISTS (
        SELECT FROM pg_depend AS dep
        WHERE dep.classid = '{catalog}'::regclass AND dep.objid = {oid} AND dep.deptype = 'e'
    )
"""


def _acl_sql(acl: str, kind: str, owner: str) -> str:
    """The ACL as text[], or NULL when it grants exactly the default privileges.

    A default ACL is stored as NULL until the first GRANT or REVOKE spells it out; GRANT
    appends, so the comparison is as sets.
    """
    default = f"acldefault('{kind}', {owner})"
    return f"CASE WHEN NOT ({acl} @> {default} AND {acl} <@ {default}) THEN {acl}::text[] END"


def _filters(alias: str, catalog: str, oid: str) -> str:
    return (
        _NAMESPACE_FILTER.format(alias=alias)
        + " AND "
        + _NOT_EXTENSION_MEMBER.format(catalog=catalog, oid=oid)
    )


# What new sessions of this database start with: `ALTER DATABASE ... SET` (no role) and
# `ALTER ROLE ... IN DATABASE ... SET`, one row a setting. (A role's settings in every
# database, `setdatabase` 0, are the server's.) Read by `_SESSION_SQL`, one array of
# [name, value, role] rows.
_DATABASE_SETTINGS_SQL = """
SELECT split_part(c.item, '=', 1), substr(c.item, strpos(c.item, '=') + 1), r.rolname::text
FROM pg_catalog.pg_db_role_setting AS s
CROSS JOIN unnest(s.setconfig) AS c(item)
LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = s.setrole
WHERE s.setdatabase = (SELECT d.oid FROM pg_catalog.pg_database AS d
                       WHERE d.datname = current_database())
"""

_SESSION_SQL = f"""
SELECT
    current_schemas(false)::text[],
    current_setting('server_version_num')::int,
    ARRAY(
        SELECT n.nspname::text FROM pg_namespace AS n
        WHERE {_filters("n", "pg_namespace", "n.oid")}
    ),
    (SELECT n.nspname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE c.oid = to_regclass('alembic_version')),
    (SELECT c.relname FROM pg_class AS c WHERE c.oid = to_regclass('alembic_version')),
    -- A schema an extension created is left out of `schemas`, so the list is then partial.
    EXISTS (SELECT FROM pg_depend AS d
            WHERE d.classid = 'pg_namespace'::regclass AND d.deptype = 'e'),
    -- What `_Deparser` needs to write definitions as the server's deparser would. Only
    -- built-in default b-tree classes (oid < 16384), none of which takes options (a class
    -- with options is printed even where it is the default).
    current_setting('quote_all_identifiers')::bool,
    ARRAY(SELECT k.word FROM pg_get_keywords() AS k WHERE k.catcode <> 'U'),
    ARRAY(SELECT o.opcintype FROM pg_opclass AS o
          WHERE o.opcmethod = 403 AND o.opcdefault AND o.oid < 16384 ORDER BY o.oid),
    ARRAY(SELECT o.oid FROM pg_opclass AS o
          WHERE o.opcmethod = 403 AND o.opcdefault AND o.oid < 16384 ORDER BY o.oid),
    -- The database's settings, in this round trip rather than one of their own: a few
    -- rows at most, and verify-reversible reads a snapshot three times a migration.
    ARRAY(SELECT ARRAY[s.name, s.value, s.role]
          FROM ({_DATABASE_SETTINGS_SQL}) AS s(name, value, role))
"""

# One row per column. A default cannot read a column, so it is deparsed without its
# relation (`pg_get_expr(adbin, 0)`, as the function's documentation allows when there are
# no Vars): given the relation, pg_get_expr opens it, building its relcache entry, which is
# a hundred times the deparsing for a plain default (0.3 s of server CPU for 20,000 of
# them). A generated column's expression does read columns and gets its relation.
# The format-2 column facts (collation, storage, compression,
# statistics target, comment) are nearly always the type's defaults: they come back as one
# text[] only for a column where one is not, so the usual row carries a single NULL for them
# and the catalog is scanned once, not twice.
_COLUMNS_SQL = f"""
SELECT
    a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnum, a.attnotnull,
    CASE WHEN NOT a.atthasdef THEN NULL
         WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0)
         ELSE pg_get_expr(ad.adbin, ad.adrelid) END,
    a.attidentity::text, a.attgenerated::text,
    CASE WHEN a.attcollation <> t.typcollation OR a.attstorage <> t.typstorage
              OR {{compression}} IS NOT NULL OR a.attstattarget >= 0
              OR d.description IS NOT NULL OR a.attacl IS NOT NULL
              OR (NOT a.attislocal AND NOT c.relispartition)
    THEN ARRAY[
        CASE WHEN a.attcollation <> t.typcollation THEN (
            SELECT format('%%I.%%I', cn.nspname, co.collname)
            FROM pg_collation AS co JOIN pg_namespace AS cn ON cn.oid = co.collnamespace
            WHERE co.oid = a.attcollation
        ) END,
        NULLIF(a.attstorage, t.typstorage)::text, {{compression}}::text,
        CASE WHEN a.attstattarget >= 0 THEN a.attstattarget::text END,
        d.description,
        CASE WHEN NOT a.attislocal AND NOT c.relispartition THEN 'inherited' END
    ] END,
    a.attacl::text[],
    {{not_null}}
FROM (
    -- The relations first, fenced off (OFFSET 0): joined flat, the planner tested each of
    -- the 200,000 columns of the benchmark schema against pg_depend for extension
    -- membership instead of each of its 10,000 relations (0.33 s -> 0.27 s of server time).
    SELECT c.oid, c.relname, c.relispartition FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_filters("n", "pg_class", "c.oid")}
    OFFSET 0
) AS c
JOIN pg_attribute AS a ON a.attrelid = c.oid
JOIN pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_description AS d
    ON d.objoid = a.attrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
{{not_null_join}}
WHERE a.attnum > 0 AND NOT a.attisdropped
"""

# PostgreSQL 18 catalogs NOT NULL as a constraint (contype 'n') with a name, NO INHERIT and
# NOT VALID. Its own copy (not one inherited) is read for a NOT NULL column; it comes back
# only when it is not the plain one `SET NOT NULL` makes, named as PostgreSQL names it
# (pg_dump's test: `<table>_<column>_not_null`), so the usual column carries one NULL.
# One hash join over the NOT NULL rows, the cheap tests first: on 3,000 tables with 21,000
# NOT NULL columns the columns query took 69 -> 75 ms of server time (a subquery per column,
# or format(), cost twice that).
_NOT_NULL_JOIN = """
LEFT JOIN (
    SELECT con.conrelid, con.conkey[1] AS attnum, con.conname, con.connoinherit,
           con.convalidated
    FROM pg_constraint AS con WHERE con.contype = 'n' AND con.coninhcount = 0
) AS nn ON nn.conrelid = a.attrelid AND nn.attnum = a.attnum"""
_NOT_NULL = """CASE WHEN nn.connoinherit OR NOT nn.convalidated
              OR nn.conname::text <> c.relname || '_' || a.attname || '_not_null'
    THEN ARRAY[nn.conname, nn.connoinherit::text, (NOT nn.convalidated)::text] END"""

# One row per relation: what it is, and its relation-level facts of format 2.
_RELATIONS_SQL = f"""
SELECT
    c.oid, n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
    pg_get_userbyid(c.relowner), d.description,
    {_acl_sql("c.relacl", "r", "c.relowner")},
    c.reloptions::text[],
    CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
    CASE WHEN c.relispartition THEN (
        SELECT format('%%s.%%s', pn.nspname, pc.relname)
        FROM pg_inherits AS i JOIN pg_class AS pc ON pc.oid = i.inhparent
        JOIN pg_namespace AS pn ON pn.oid = pc.relnamespace
        WHERE i.inhrelid = c.oid
    ) END,
    CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
    CASE WHEN NOT c.relispartition AND c.relkind IN ('r', 'p', 'f') THEN ARRAY(
        SELECT format('%%s.%%s', pn.nspname, pc.relname)
        FROM pg_inherits AS i JOIN pg_class AS pc ON pc.oid = i.inhparent
        JOIN pg_namespace AS pn ON pn.oid = pc.relnamespace
        WHERE i.inhrelid = c.oid ORDER BY i.inhseqno
    ) END,
    CASE WHEN c.relkind IN ('r', 'p') THEN c.relreplident::text ELSE 'd' END,
    CASE WHEN c.relreplident = 'i' THEN (
        SELECT ic.relname FROM pg_index AS x JOIN pg_class AS ic ON ic.oid = x.indexrelid
        WHERE x.indrelid = c.oid AND x.indisreplident
    ) END,
    CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
    c.relispopulated,
    fs.srvname, ft.ftoptions::text[],
    c.relpersistence = 'u'
FROM pg_class AS c
LEFT JOIN pg_foreign_table AS ft ON ft.ftrelid = c.oid
LEFT JOIN pg_foreign_server AS fs ON fs.oid = ft.ftserver
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_description AS d
    ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND {_filters("n", "pg_class", "c.oid")}
"""

# What each view and materialized view reads: relations and functions, through its rewrite
# rule, and the columns of those relations ('c'): PostgreSQL refuses to change the type of,
# or drop, a column a view reads, and only those (a whole-row reference, `count(*)`, pins
# none). Used to order DDL (drop dependents first, create them last). The user's views and
# their dependencies are found once (`v`, `dep`) for the three kinds: each kind joining
# pg_rewrite (a rule per system view) and pg_depend again cost the server 0.45 ms more a
# snapshot of 100 tables without a view, 0.65 ms more with 40 views (task 464:
# verify-reversible reads three snapshots a migration).
_VIEW_DEPENDENCIES_SQL = f"""
WITH v AS MATERIALIZED (
    SELECT r.oid, r.ev_class
    FROM pg_rewrite AS r
    JOIN pg_class AS c ON c.oid = r.ev_class
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('v', 'm') AND {_NAMESPACE_FILTER.format(alias="n")}
), dep AS MATERIALIZED (
    SELECT v.ev_class, d.refclassid, d.refobjid, d.refobjsubid
    FROM v
    JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = v.oid
)
SELECT DISTINCT dep.ev_class, 'r', format('%%s.%%s', dn.nspname, dc.relname)
FROM dep
JOIN pg_class AS dc ON dc.oid = dep.refobjid
JOIN pg_namespace AS dn ON dn.oid = dc.relnamespace
WHERE dep.refclassid = 'pg_class'::regclass AND dep.refobjid <> dep.ev_class
UNION
SELECT DISTINCT dep.ev_class, 'f', format('%%s.%%s(%%s)', pn.nspname, p.proname,
    pg_get_function_identity_arguments(p.oid))
FROM dep
JOIN pg_proc AS p ON p.oid = dep.refobjid
JOIN pg_namespace AS pn ON pn.oid = p.pronamespace
WHERE dep.refclassid = 'pg_proc'::regclass
UNION
SELECT DISTINCT dep.ev_class, 'c', format('%%s.%%s.%%s', dn.nspname, dc.relname, a.attname)
FROM dep
JOIN pg_class AS dc ON dc.oid = dep.refobjid
JOIN pg_namespace AS dn ON dn.oid = dc.relnamespace
JOIN pg_attribute AS a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
WHERE dep.refclassid = 'pg_class'::regclass AND dep.refobjid <> dep.ev_class
    AND dep.refobjsubid > 0
"""

# User triggers; the internal ones that implement foreign keys are part of the constraint.
_TRIGGERS_SQL = f"""
SELECT tg.tgrelid, tg.tgname, pg_get_triggerdef(tg.oid), tg.tgenabled::text, d.description
FROM pg_trigger AS tg
JOIN pg_class AS c ON c.oid = tg.tgrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_description AS d ON d.objoid = tg.oid AND d.classoid = 'pg_trigger'::regclass
WHERE NOT tg.tgisinternal AND tg.tgparentid = 0 AND {_NAMESPACE_FILTER.format(alias="n")}
"""

# Rules on tables and views (CREATE RULE); a view's own `_RETURN` rule is its definition.
_RULES_SQL = f"""
SELECT r.ev_class, r.rulename, pg_get_ruledef(r.oid), d.description, r.ev_enabled::text,
    ARRAY(SELECT DISTINCT format('%%s.%%s', dn.nspname, dc.relname)
          FROM pg_depend AS dep
          JOIN pg_class AS dc ON dc.oid = dep.refobjid
          JOIN pg_namespace AS dn ON dn.oid = dc.relnamespace
          WHERE dep.classid = 'pg_rewrite'::regclass AND dep.objid = r.oid
            AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid <> r.ev_class
          ORDER BY 1)
FROM pg_rewrite AS r
JOIN pg_class AS c ON c.oid = r.ev_class
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_description AS d ON d.objoid = r.oid AND d.classoid = 'pg_rewrite'::regclass
WHERE r.rulename <> '_RETURN' AND {_NAMESPACE_FILTER.format(alias="n")}
"""

# Comments on constraints and indexes, keyed by (relation oid, name).
_SUBOBJECT_COMMENTS_SQL = f"""
SELECT con.conrelid, con.conname, d.description
FROM pg_description AS d
JOIN pg_constraint AS con ON con.oid = d.objoid
JOIN pg_class AS c ON c.oid = con.conrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE d.classoid = 'pg_constraint'::regclass AND {_NAMESPACE_FILTER.format(alias="n")}
UNION ALL
SELECT i.indrelid, ic.relname, d.description
FROM pg_description AS d
JOIN pg_index AS i ON i.indexrelid = d.objoid
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = ic.relnamespace
WHERE d.classoid = 'pg_class'::regclass AND d.objsubid = 0
  AND {_NAMESPACE_FILTER.format(alias="n")}
UNION ALL
SELECT pol.polrelid, pol.polname, d.description
FROM pg_description AS d
JOIN pg_policy AS pol ON pol.oid = d.objoid
JOIN pg_class AS c ON c.oid = pol.polrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE d.classoid = 'pg_policy'::regclass AND {_NAMESPACE_FILTER.format(alias="n")}
"""

_NAMESPACES_SQL = f"""
SELECT n.nspname, pg_get_userbyid(n.nspowner), d.description,
    {_acl_sql("n.nspacl", "n", "n.nspowner")}
FROM pg_namespace AS n
LEFT JOIN pg_description AS d ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass
WHERE {_filters("n", "pg_namespace", "n.oid")}
"""

_EXTENSIONS_SQL = """
SELECT e.extname, n.nspname, e.extversion, d.description,
    ARRAY(SELECT c.relname
          FROM pg_depend AS dep JOIN pg_class AS c ON c.oid = dep.objid
          WHERE dep.refclassid = 'pg_extension'::regclass AND dep.refobjid = e.oid
            AND dep.classid = 'pg_class'::regclass AND dep.deptype = 'e'
            AND c.relnamespace = e.extnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          ORDER BY c.relname COLLATE "C"),
    ARRAY(SELECT DISTINCT p.proname COLLATE "C"
          FROM pg_depend AS dep JOIN pg_proc AS p ON p.oid = dep.objid
          WHERE dep.refclassid = 'pg_extension'::regclass AND dep.refobjid = e.oid
            AND dep.classid = 'pg_proc'::regclass AND dep.deptype = 'e'
            AND p.pronamespace = e.extnamespace
          ORDER BY 1),
    -- The extensions its control file `requires` (earthdistance: cube).
    ARRAY(SELECT r.extname::text
          FROM pg_depend AS dep JOIN pg_extension AS r ON r.oid = dep.refobjid
          WHERE dep.classid = 'pg_extension'::regclass AND dep.objid = e.oid
            AND dep.refclassid = 'pg_extension'::regclass
          ORDER BY r.extname COLLATE "C"),
    -- The versions `ALTER EXTENSION ... UPDATE TO` reaches from the installed one on this
    -- server (its script files); NULL where its control file is gone (the function fails).
    CASE WHEN EXISTS (SELECT FROM pg_available_extensions AS a WHERE a.name = e.extname)
    THEN ARRAY(SELECT u.target FROM pg_extension_update_paths(e.extname) AS u
               WHERE u.source = e.extversion AND u.path IS NOT NULL
               ORDER BY u.target COLLATE "C") END
FROM pg_extension AS e
JOIN pg_namespace AS n ON n.oid = e.extnamespace
LEFT JOIN pg_description AS d ON d.objoid = e.oid AND d.classoid = 'pg_extension'::regclass
WHERE e.extname <> 'plpgsql'
"""

_DOMAINS_SQL = f"""
SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
    t.typdefault,
    CASE WHEN t.typcollation <> bt.typcollation THEN (
        SELECT format('%%I.%%I', cn.nspname, co.collname)
        FROM pg_collation AS co JOIN pg_namespace AS cn ON cn.oid = co.collnamespace
        WHERE co.oid = t.typcollation
    ) END,
    ARRAY(SELECT con.conname::text FROM pg_constraint AS con
          WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname),
    ARRAY(SELECT pg_get_constraintdef(con.oid) FROM pg_constraint AS con
          WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname),
    ARRAY(SELECT con.convalidated FROM pg_constraint AS con
          WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname),
    ARRAY(SELECT obj_description(con.oid, 'pg_constraint') FROM pg_constraint AS con
          WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname),
    pg_get_userbyid(t.typowner), d.description,
    {_acl_sql("t.typacl", "T", "t.typowner")}
FROM pg_type AS t
JOIN pg_type AS bt ON bt.oid = t.typbasetype
JOIN pg_namespace AS n ON n.oid = t.typnamespace
LEFT JOIN pg_description AS d ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass
WHERE t.typtype = 'd' AND {_filters("n", "pg_type", "t.oid")}
"""

_COMPOSITE_TYPES_SQL = f"""
SELECT n.nspname, t.typname,
    ARRAY(SELECT a.attname::text FROM pg_attribute AS a
          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum),
    ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute AS a
          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum),
    ARRAY(SELECT (SELECT format('%%I.%%I', cn.nspname, co.collname)
                  FROM pg_collation AS co JOIN pg_namespace AS cn ON cn.oid = co.collnamespace
                  WHERE co.oid = a.attcollation AND a.attcollation <> at.typcollation)
          FROM pg_attribute AS a JOIN pg_type AS at ON at.oid = a.atttypid
          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum),
    pg_get_userbyid(t.typowner), d.description,
    {_acl_sql("t.typacl", "T", "t.typowner")}
FROM pg_type AS t
JOIN pg_class AS c ON c.oid = t.typrelid AND c.relkind = 'c'
JOIN pg_namespace AS n ON n.oid = t.typnamespace
LEFT JOIN pg_description AS d ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass
WHERE t.typtype = 'c' AND {_filters("n", "pg_type", "t.oid")}
"""

_FOREIGN_SERVERS_SQL = """
SELECT s.srvname, w.fdwname, s.srvoptions::text[], pg_get_userbyid(s.srvowner), d.description
FROM pg_foreign_server AS s
JOIN pg_foreign_data_wrapper AS w ON w.oid = s.srvfdw
LEFT JOIN pg_description AS d
    ON d.objoid = s.oid AND d.classoid = 'pg_foreign_server'::regclass
"""

_PUBLICATIONS_SQL = """
SELECT p.pubname, p.puballtables,
    ARRAY_REMOVE(ARRAY[CASE WHEN p.pubinsert THEN 'insert' END,
                       CASE WHEN p.pubupdate THEN 'update' END,
                       CASE WHEN p.pubdelete THEN 'delete' END,
                       CASE WHEN p.pubtruncate THEN 'truncate' END], NULL),
    ARRAY(SELECT format('%%s.%%s', n.nspname, c.relname)
          FROM pg_publication_rel AS pr JOIN pg_class AS c ON c.oid = pr.prrelid
          JOIN pg_namespace AS n ON n.oid = c.relnamespace
          WHERE pr.prpubid = p.oid ORDER BY 1),
    pg_get_userbyid(p.pubowner), d.description, {publication_schemas}
FROM pg_publication AS p
LEFT JOIN pg_description AS d ON d.objoid = p.oid AND d.classoid = 'pg_publication'::regclass
"""

# Entries for every schema (namespace 0) hold in the schemas read too.
_DEFAULT_PRIVILEGES_SQL = f"""
SELECT pg_get_userbyid(d.defaclrole), d.defaclobjtype::text, n.nspname, d.defaclacl::text[]
FROM pg_default_acl AS d
LEFT JOIN pg_namespace AS n ON n.oid = d.defaclnamespace
WHERE d.defaclnamespace = 0 OR ({_NAMESPACE_FILTER.format(alias="n")})
"""
_DEFAULT_PRIVILEGE_OBJECTS = {"r": "tables", "S": "sequences", "f": "functions", "T": "types",
                              "n": "schemas", "L": "large objects"}

# Event triggers belong to the database, not to a schema: read whatever schemas are read.
# Their function takes no arguments (CREATE EVENT TRIGGER requires it).
_EVENT_TRIGGERS_SQL = f"""
SELECT e.evtname, e.evtevent, n.nspname, p.proname,
    ARRAY(SELECT t FROM unnest(e.evttags) AS t ORDER BY 1), e.evtenabled::text,
    pg_get_userbyid(e.evtowner), d.description
FROM pg_event_trigger AS e
JOIN pg_proc AS p ON p.oid = e.evtfoid
JOIN pg_namespace AS n ON n.oid = p.pronamespace
LEFT JOIN pg_description AS d
    ON d.objoid = e.oid AND d.classoid = 'pg_event_trigger'::regclass
WHERE {_NOT_EXTENSION_MEMBER.format(catalog="pg_event_trigger", oid="e.oid")}
"""
# Casts of one's own (`CREATE CAST`): database-wide, whatever schemas are read; those of
# PostgreSQL itself have oids below FirstNormalObjectId (16384), and those `CREATE TYPE ... AS
# RANGE` makes (to its multirange type) depend on it internally ('i'): its to make and drop.
_CASTS_SQL = """
SELECT format_type(c.castsource, NULL), format_type(c.casttarget, NULL),
    CASE WHEN NOT pg_function_is_visible(p.oid) THEN n.nspname END, p.proname,
    (SELECT string_agg(format_type(a.type, NULL), ',' ORDER BY a.i)
     FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(type, i)),
    c.castcontext::text, c.castmethod::text, d.description
FROM pg_cast AS c
LEFT JOIN pg_proc AS p ON p.oid = c.castfunc
LEFT JOIN pg_namespace AS n ON n.oid = p.pronamespace
LEFT JOIN pg_description AS d ON d.objoid = c.oid AND d.classoid = 'pg_cast'::regclass
WHERE c.oid >= 16384 AND NOT EXISTS (
    SELECT FROM pg_depend AS dep
    WHERE dep.classid = 'pg_cast'::regclass AND dep.objid = c.oid AND dep.deptype IN ('e', 'i')
)
"""


def _cast_function(schema: str | None, name: str | None, arguments: str | None) -> str | None:
    """A cast's function as `regprocedure` prints it (schema-qualified only where the
    search path does not find it), its names quoted as the newest grammar needs: 15 prints
    `json(b64)`, which PostgreSQL 16 and later (and pglast) read as the JSON constructor.

    >>> _cast_function(None, "json", "b64"), _cast_function("Util", "to_b", None)
    ('"json"(b64)', '"Util".to_b()')
    """
    if name is None:
        return None
    qualified = quote_ident(name) if schema is None else f"{quote_ident(schema)}.{quote_ident(name)}"
    return f"{qualified}({arguments or ''})"


# Range types (`CREATE TYPE ... AS RANGE`); the multirange type's name from PostgreSQL 14.
_RANGE_TYPES_SQL = f"""
SELECT n.nspname, t.typname, format_type(r.rngsubtype, NULL), {{range_multirange}},
    CASE WHEN NOT oc.opcdefault THEN format('%%I.%%I', ocn.nspname, oc.opcname) END,
    (SELECT format('%%I.%%I', cn.nspname, co.collname)
     FROM pg_collation AS co JOIN pg_namespace AS cn ON cn.oid = co.collnamespace
     WHERE co.oid = r.rngcollation AND r.rngcollation <> st.typcollation),
    (SELECT format('%%I.%%I', pn.nspname, p.proname) FROM pg_proc AS p
     JOIN pg_namespace AS pn ON pn.oid = p.pronamespace WHERE p.oid = r.rngcanonical),
    (SELECT format('%%I.%%I', pn.nspname, p.proname) FROM pg_proc AS p
     JOIN pg_namespace AS pn ON pn.oid = p.pronamespace WHERE p.oid = r.rngsubdiff),
    pg_get_userbyid(t.typowner), d.description,
    {_acl_sql("t.typacl", "T", "t.typowner")}
FROM pg_range AS r
JOIN pg_type AS t ON t.oid = r.rngtypid
JOIN pg_namespace AS n ON n.oid = t.typnamespace
JOIN pg_type AS st ON st.oid = r.rngsubtype
JOIN pg_opclass AS oc ON oc.oid = r.rngsubopc
JOIN pg_namespace AS ocn ON ocn.oid = oc.opcnamespace
LEFT JOIN pg_description AS d ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass
WHERE {_filters("n", "pg_type", "t.oid")}
"""
_CAST_CONTEXTS = {"e": "explicit", "a": "assignment", "i": "implicit"}
_CAST_METHODS = {"f": "function", "b": "binary", "i": "inout"}
# Collations of the schemas read. The ICU or builtin locale is `colllocale` from 17,
# `colliculocale` on 15 and 16 (before 15, ICU's was in `collcollate`), the rules
# `collicurules` from 16: read from the row as JSON, one query for every version.
_COLLATIONS_SQL = f"""
SELECT n.nspname, co.collname, co.collprovider::text,
    coalesce(to_jsonb(co) ->> 'colllocale', to_jsonb(co) ->> 'colliculocale',
             CASE WHEN co.collprovider = 'i' THEN co.collcollate END),
    CASE WHEN co.collprovider = 'c' THEN co.collcollate END,
    CASE WHEN co.collprovider = 'c' THEN co.collctype END,
    co.collisdeterministic, to_jsonb(co) ->> 'collicurules',
    pg_get_userbyid(co.collowner), d.description
FROM pg_collation AS co
JOIN pg_namespace AS n ON n.oid = co.collnamespace
LEFT JOIN pg_description AS d
    ON d.objoid = co.oid AND d.classoid = 'pg_collation'::regclass
WHERE {_filters("n", "pg_collation", "co.oid")}
"""
_COLLATION_PROVIDERS = {"c": "libc", "i": "icu", "b": "builtin", "d": "default"}
# Extended statistics objects of the schemas read. Their statistics target is NULL by
# default from 17, -1 before.
_STATISTICS_SQL = f"""
SELECT n.nspname, s.stxname, tn.nspname || '.' || c.relname, pg_get_statisticsobjdef(s.oid),
    nullif(s.stxstattarget::int, -1), pg_get_userbyid(s.stxowner), d.description
FROM pg_statistic_ext AS s
JOIN pg_namespace AS n ON n.oid = s.stxnamespace
JOIN pg_class AS c ON c.oid = s.stxrelid
JOIN pg_namespace AS tn ON tn.oid = c.relnamespace
LEFT JOIN pg_description AS d
    ON d.objoid = s.oid AND d.classoid = 'pg_statistic_ext'::regclass
WHERE {_filters("n", "pg_statistic_ext", "s.oid")}
"""

_EVENT_TRIGGER_ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}

# A foreign key that references a partitioned table is stored as one row per partition,
# all on the referencing table, under names that differ between server versions; only
# the parent row is the constraint users wrote (and see in psql's \\d), so the
# children are skipped.
# Column numbers on both sides are named in Python from the columns already read, which
# is much cheaper than a per-constraint subquery over pg_attribute.
# Primary keys, unique constraints and foreign keys come back as their catalog facts and
# `_Deparser` writes their definitions; the server deparses the rest (`{server_constraint}`:
# clauses of newer servers `_Deparser` does not write). In a fresh session the server
# needs 15-35 microseconds per `pg_get_constraintdef`, mostly reading the catalog rows it
# looks up one by one, where this query already has them joined.
_CONSTRAINTS_SQL = f"""
SELECT
    con.conrelid, con.conname, con.contype,
    CASE WHEN con.contype NOT IN ('p', 'u', 'f') OR {{server_constraint}}
         THEN pg_get_constraintdef(con.oid) END,
    con.convalidated, con.conkey, rn.nspname, rc.relname, con.confrelid, con.confkey,
    con.condeferrable, con.condeferred, con.confmatchtype, con.confupdtype, con.confdeltype,
    ci.indkey::int2[], {{nulls_not_distinct:ci}}, con.oid
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_class AS rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace AS rn ON rn.oid = rc.relnamespace
LEFT JOIN pg_index AS ci ON ci.indexrelid = con.conindid AND con.contype IN ('p', 'u')
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
  AND {_NAMESPACE_FILTER.format(alias="n")}
  -- Most constraints have no parent: without the first test, the anti-join hashed every
  -- row of pg_constraint (40,000 with PostgreSQL 18's NOT NULL rows) to find none.
  AND (con.conparentid = 0 OR NOT EXISTS (
      SELECT FROM pg_constraint AS parent
      WHERE parent.oid = con.conparentid AND parent.conrelid = con.conrelid
  ))
"""

# Plain key columns come back as attribute numbers (named in Python); only indexes with
# expressions pay for the per-column pg_get_indexdef calls. A plain b-tree index (no
# expressions, predicate, storage options or DESC/NULLS FIRST keys) comes back as its
# catalog facts and `_Deparser` writes its definition: `pg_get_indexdef` costs the server
# 40-90 microseconds an index in a fresh session, the largest part of reading a large
# catalog.
_INDEXES_SQL = f"""
SELECT
    i.indrelid, ic.relname,
    CASE WHEN i.indexprs IS NOT NULL OR i.indpred IS NOT NULL OR ic.reloptions IS NOT NULL
              OR ic.relam <> 403 OR NOT 0 = ALL (i.indoption::int2[])
         THEN pg_get_indexdef(i.indexrelid) END,
    i.indisunique, i.indisprimary,
    i.indisvalid, i.indisready, pg_get_expr(i.indpred, i.indrelid), i.indnkeyatts,
    i.indkey::int2[],
    CASE WHEN i.indexprs IS NOT NULL THEN ARRAY(
        SELECT pg_get_indexdef(i.indexrelid, k, true)
        FROM generate_series(1, i.indnkeyatts::int) AS k
        ORDER BY k
    ) END,
    i.indexrelid, ic.relkind, i.indclass::oid[], i.indcollation::oid[],
    {{nulls_not_distinct:i}}, i.indisclustered,
    -- Statistics targets set on its expression columns (`ALTER INDEX ... ALTER COLUMN 1
    -- SET STATISTICS 500`); PostgreSQL refuses them on a plain column's.
    CASE WHEN i.indexprs IS NOT NULL THEN ARRAY(
        SELECT a.attnum || '=' || a.attstattarget FROM pg_attribute AS a
        WHERE a.attrelid = i.indexrelid AND a.attnum > 0 AND a.attstattarget >= 0
        ORDER BY a.attnum
    ) END,
    -- the parent's partitioned index a partition's is attached to
    CASE WHEN ic.relispartition THEN (
        SELECT pc.relname FROM pg_inherits AS h JOIN pg_class AS pc ON pc.oid = h.inhparent
        WHERE h.inhrelid = i.indexrelid
    ) END
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = ic.relnamespace
WHERE {_NAMESPACE_FILTER.format(alias="n")}
"""

# An aggregate's definition, which PostgreSQL does not print (pg_get_functiondef refuses
# aggregates): `CREATE OR REPLACE AGGREGATE` with the options of its pg_aggregate row, those
# at their defaults left out, as pg_dump writes it (dumpAgg). Functions by name alone
# (regproc: qualified where the search path does not find them), as CREATE AGGREGATE finds
# them by the state type and arguments; a FINALFUNC_MODIFY other than the kind's default
# (READ_ONLY for a plain aggregate, READ_WRITE for an ordered-set one).
_AGGREGATE_MODIFY = ("CASE {column} WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' "
                     "ELSE 'READ_WRITE' END")
_AGGREGATE_DEFINITION = f"""'CREATE OR REPLACE AGGREGATE ' || quote_ident(n.nspname) || '.'
        || quote_ident(p.proname) || '('
        || CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_get_function_arguments(p.oid) END
        || ') (' || concat_ws(', ',
            'SFUNC = ' || a.aggtransfn::regproc,
            'STYPE = ' || format_type(a.aggtranstype, NULL),
            CASE WHEN a.aggtransspace <> 0 THEN 'SSPACE = ' || a.aggtransspace END,
            CASE WHEN a.aggfinalfn <> 0 THEN 'FINALFUNC = ' || a.aggfinalfn::regproc END,
            CASE WHEN a.aggfinalextra THEN 'FINALFUNC_EXTRA' END,
            CASE WHEN a.aggfinalmodify <> CASE a.aggkind WHEN 'n' THEN 'r' ELSE 'w' END
                 THEN 'FINALFUNC_MODIFY = '
                      || {_AGGREGATE_MODIFY.format(column="a.aggfinalmodify")} END,
            CASE WHEN a.aggcombinefn <> 0 THEN 'COMBINEFUNC = ' || a.aggcombinefn::regproc END,
            CASE WHEN a.aggserialfn <> 0 THEN 'SERIALFUNC = ' || a.aggserialfn::regproc END,
            CASE WHEN a.aggdeserialfn <> 0
                 THEN 'DESERIALFUNC = ' || a.aggdeserialfn::regproc END,
            CASE WHEN a.agginitval IS NOT NULL
                 THEN 'INITCOND = ' || quote_literal(a.agginitval) END,
            CASE WHEN a.aggmtransfn <> 0 THEN 'MSFUNC = ' || a.aggmtransfn::regproc END,
            CASE WHEN a.aggminvtransfn <> 0
                 THEN 'MINVFUNC = ' || a.aggminvtransfn::regproc END,
            CASE WHEN a.aggmtransfn <> 0
                 THEN 'MSTYPE = ' || format_type(a.aggmtranstype, NULL) END,
            CASE WHEN a.aggmtransspace <> 0 THEN 'MSSPACE = ' || a.aggmtransspace END,
            CASE WHEN a.aggmfinalfn <> 0 THEN 'MFINALFUNC = ' || a.aggmfinalfn::regproc END,
            CASE WHEN a.aggmfinalextra THEN 'MFINALFUNC_EXTRA' END,
            CASE WHEN a.aggmtransfn <> 0
                      AND a.aggmfinalmodify <> CASE a.aggkind WHEN 'n' THEN 'r' ELSE 'w' END
                 THEN 'MFINALFUNC_MODIFY = '
                      || {_AGGREGATE_MODIFY.format(column="a.aggmfinalmodify")} END,
            CASE WHEN a.aggminitval IS NOT NULL
                 THEN 'MINITCOND = ' || quote_literal(a.aggminitval) END,
            (SELECT 'SORTOP = OPERATOR(' || quote_ident(opn.nspname) || '.' || o.oprname || ')'
             FROM pg_operator AS o JOIN pg_namespace AS opn ON opn.oid = o.oprnamespace
             WHERE o.oid = a.aggsortop),
            CASE p.proparallel WHEN 's' THEN 'PARALLEL = SAFE'
                               WHEN 'r' THEN 'PARALLEL = RESTRICTED' END,
            CASE WHEN a.aggkind = 'h' THEN 'HYPOTHETICAL' END) || ')'"""
_FUNCTIONS_SQL = f"""
SELECT
    n.nspname, p.proname, p.prokind, p.proretset, pg_get_function_result(p.oid),
    ARRAY(
        SELECT format_type(u.typ, NULL)
        FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY
            AS u(typ, ord)
        ORDER BY u.ord
    ),
    p.proargmodes::text[], p.proargnames, p.pronargdefaults,
    rt.typtype, rt.oid = 'record'::regtype,
    ARRAY(
        SELECT ra.attname::text
        FROM pg_attribute AS ra
        WHERE ra.attrelid = rt.typrelid AND ra.attnum > 0 AND NOT ra.attisdropped
        ORDER BY ra.attnum
    ),
    ARRAY(
        SELECT format_type(ra.atttypid, ra.atttypmod)
        FROM pg_attribute AS ra
        WHERE ra.attrelid = rt.typrelid AND ra.attnum > 0 AND NOT ra.attisdropped
        ORDER BY ra.attnum
    ),
    pg_get_function_identity_arguments(p.oid),
    CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid)
         ELSE (SELECT {_AGGREGATE_DEFINITION} FROM pg_aggregate AS a WHERE a.aggfnoid = p.oid)
    END,
    pg_get_userbyid(p.proowner), d.description,
    {_acl_sql("p.proacl", "f", "p.proowner")}
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_type AS rt ON rt.oid = p.prorettype
LEFT JOIN pg_description AS d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass
WHERE {_filters("n", "pg_proc", "p.oid")}
    -- (not a range type's constructors: PostgreSQL makes and drops them with it)
    AND NOT EXISTS (SELECT FROM pg_depend AS dep WHERE dep.classid = 'pg_proc'::regclass
                    AND dep.objid = p.oid AND dep.deptype = 'i')
"""

_ENUMS_SQL = f"""
SELECT
    n.nspname, t.typname,
    ARRAY(SELECT e.enumlabel::text FROM pg_enum AS e WHERE e.enumtypid = t.oid
          ORDER BY e.enumsortorder),
    pg_get_userbyid(t.typowner), d.description,
    {_acl_sql("t.typacl", "T", "t.typowner")}
FROM pg_type AS t
JOIN pg_namespace AS n ON n.oid = t.typnamespace
LEFT JOIN pg_description AS d ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass
WHERE t.typtype = 'e'
  AND {_filters("n", "pg_type", "t.oid")}
"""

# Serial columns own their sequence with an 'a' dependency, identity columns with 'i'.
_SEQUENCES_SQL = f"""
SELECT
    n.nspname, c.relname, format_type(s.seqtypid, NULL), own_n.nspname, own_c.relname,
    own_a.attname, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
    pg_get_userbyid(c.relowner), dsc.description,
    {_acl_sql("c.relacl", "s", "c.relowner")}
FROM pg_sequence AS s
JOIN pg_class AS c ON c.oid = s.seqrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_depend AS d
    ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
    AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class AS own_c ON own_c.oid = d.refobjid
LEFT JOIN pg_namespace AS own_n ON own_n.oid = own_c.relnamespace
LEFT JOIN pg_attribute AS own_a ON own_a.attrelid = d.refobjid AND own_a.attnum = d.refobjsubid
LEFT JOIN pg_description AS dsc
    ON dsc.objoid = c.oid AND dsc.classoid = 'pg_class'::regclass AND dsc.objsubid = 0
WHERE {_filters("n", "pg_class", "c.oid")}
"""

# Column names of relations a foreign key references outside the schemas being read.
_REFERENCED_COLUMNS_SQL = """
SELECT a.attrelid, a.attnum, a.attname
FROM pg_attribute AS a
WHERE a.attrelid = ANY (%(relids)s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
"""

# Role oid 0 in polroles means PUBLIC.
_POLICIES_SQL = f"""
SELECT
    pol.polrelid, pol.polname, pol.polcmd::text, pol.polpermissive,
    ARRAY(
        SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE rol.rolname::text END
        FROM unnest(pol.polroles) AS r(oid)
        LEFT JOIN pg_roles AS rol ON rol.oid = r.oid
    ),
    pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid)
FROM pg_policy AS pol
JOIN pg_class AS c ON c.oid = pol.polrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE {_NAMESPACE_FILTER.format(alias="n")}
"""


def introspect(
    conn: psycopg.Connection,
    *,
    schemas: Sequence[str] | None = None,
    helpers: Sequence[psycopg.Connection] = (),
) -> SchemaSnapshot:
    """Read the schema of the database `conn` is connected to.

    All queries run inside one transaction block on `conn` (a savepoint if a transaction
    is already open), so they see one consistent catalog when the connection uses
    REPEATABLE READ, as `introspect_url` does.

    Type names come from `format_type` and therefore depend on the session's
    `search_path` (a type in a schema on the path is shown unqualified); the snapshot
    records that path in `search_path`.

    Args:
        conn: an open psycopg connection; nothing is written through it.
        schemas: read only these schemas; None reads every non-system schema.
        helpers: other idle connections to the same database with the same settings
            (`introspect_url` opens two). The queries are split into groups
            (`_SESSIONS`); the helpers run the second and third in the very snapshot `conn`
            sees (`pg_export_snapshot`) while `conn` runs the first: several server
            processes share the work, and Python builds objects while they answer.

    Returns:
        A deterministic snapshot: relations sorted by (schema, name), columns by position,
        constraints, indexes and policies by name, functions by (schema, name, input types).

    Raises:
        psycopg.Error: a catalog query failed (`introspect_url` turns it into DatabaseError).
    """
    from psycopg import pq
    from psycopg.rows import tuple_row

    params = {"schemas": list(schemas) if schemas is not None else None}
    # Building a few hundred thousand small objects triggers the cyclic garbage collector
    # over and over although none of them can form a cycle; pausing it saves a third of
    # the Python time on large schemas.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with (
            conn.transaction(),
            conn.cursor(row_factory=tuple_row) as cur,
            ThreadPoolExecutor(max_workers=len(helpers) + 2,
                               thread_name_prefix="dbsafe-introspect") as pool,
        ):

            def rows(query: str) -> list[tuple[Any, ...]]:
                cur.execute(query, params)
                return cur.fetchall()

            session = rows(_SESSION_SQL)[0]
            (search_path, server_version, schema_names, version_schema, version_table,
             extension_schemas, quote_all, keywords, default_types, default_classes,
             settings) = session
            groups = _session_queries(server_version, len(helpers) + 1)
            side = []
            if helpers:
                snapshot_id = rows("SELECT pg_export_snapshot()")[0][0]
                side = [pool.submit(_run_lane, helper, snapshot_id, params, group)
                        for helper, group in zip(helpers, groups[1:], strict=True)]
            # This session's queries (the columns first, see `_SESSIONS`); the helpers run
            # theirs meanwhile, and psycopg releases the GIL while it waits for them.
            found: dict[str, list[tuple[Any, ...]]] = {}
            for name, query in groups[0]:
                if name == "columns":
                    # Built as they arrive, a chunk at a time where libpq can (17+): all
                    # 200,000 rows of the benchmark schema at once would be 60 MiB more.
                    # In binary: numbers and flags cost the server and psycopg less than
                    # their text (a sixth of the query's time); every value's type has a
                    # binary form ("char" is read as text: its binary '' is a NUL).
                    with conn.cursor(binary=True) as binary:
                        if pq.version() >= 170000:
                            found_rows: Iterable[tuple[Any, ...]] = binary.stream(
                                query, params, size=5000)
                        else:
                            found_rows = binary.execute(query, params).fetchall()
                        columns, attnames = _columns(found_rows)
                else:
                    found[name] = rows(query)
                    if name == "indexes":
                        found["key_columns"] = _key_columns(cur, found[name])
            revision = _read_revision(cur, version_schema, version_table)
            for future in side:
                found.update(future.result())
            outside = {row[8] for row in found["constraints"]
                       if row[8] and row[8] not in attnames}
            if outside:
                cur.execute(_REFERENCED_COLUMNS_SQL, {"relids": sorted(outside)})
                for relid, attnum, attname in cur.fetchall():
                    attnames.setdefault(relid, {})[attnum] = attname
            _definitions(found, _Deparser(
                quote_all, keywords, default_types, default_classes,
                {row[0]: (row[1], row[2]) for row in found["relations"]}, attnames,
                found["key_columns"],
            ), cur)
        snapshot = SchemaSnapshot(
            schemas=tuple(sorted(schema_names)),
            relations=_relations(found, columns, attnames),
            functions=tuple(sorted((_function(row) for row in found["functions"]),
                                   key=_function_key)),
            enums=tuple(
                sorted(
                    (Enum(schema, name, tuple(labels), owner, comment,
                          _object_acl(acl, owner))
                     for schema, name, labels, owner, comment, acl in found["enums"]),
                    key=lambda e: (e.schema, e.name),
                )
            ),
            sequences=tuple(
                sorted((_sequence(row) for row in found["sequences"]),
                       key=lambda s: (s.schema, s.name))
            ),
            search_path=tuple(search_path),
            server_version=server_version,
            revision=revision,
            covers_all_schemas=schemas is None and not extension_schemas,
            namespaces=tuple(
                sorted((Namespace(name, owner, comment, _object_acl(acl, owner))
                        for name, owner, comment, acl in found["namespaces"]), key=_by_name)
            ),
            domains=tuple(sorted((_domain(row) for row in found["domains"]),
                                 key=lambda d: (d.schema, d.name))),
            composite_types=tuple(sorted((_composite(row) for row in found["composites"]),
                                         key=lambda t: (t.schema, t.name))),
            extensions=tuple(sorted((Extension(name, schema, version, comment, tuple(relations),
                                               tuple(functions), tuple(requires),
                                               None if updates is None else tuple(updates))
                                     for name, schema, version, comment, relations, functions,
                                     requires, updates in found["extensions"]),
                                    key=_by_name)),
            publications=tuple(sorted(
                (Publication(name, all_tables, tuple(ops), tuple(tables), owner, comment,
                             tuple(schemas))
                 for name, all_tables, ops, tables, owner, comment, schemas
                 in found["publications"]),
                key=_by_name,
            )),
            foreign_servers=tuple(sorted(
                (ForeignServer(name, wrapper, tuple(options or ()), owner, comment)
                 for name, wrapper, options, owner, comment in found["servers"]),
                key=_by_name,
            )),
            default_privileges=tuple(sorted(
                (DefaultPrivileges(role, _DEFAULT_PRIVILEGE_OBJECTS.get(kind, kind), schema,
                                   _acl(acl))
                 for role, kind, schema, acl in found["default_privileges"]),
                key=lambda d: (d.schema or "", d.role, d.object_type),
            )),
            event_triggers=tuple(sorted(
                (EventTrigger(name, event, f"{quote_ident(schema)}.{quote_ident(function)}()",
                              tuple(tags), _EVENT_TRIGGER_ENABLED.get(enabled, enabled), owner,
                              comment)
                 for name, event, schema, function, tags, enabled, owner, comment
                 in found["event_triggers"]),
                key=_by_name,
            )),
            range_types=tuple(sorted(
                (RangeType(schema, name, subtype, multirange, opclass, collation, canonical,
                           subtype_diff, owner, comment, _object_acl(acl, owner))
                 for schema, name, subtype, multirange, opclass, collation, canonical,
                 subtype_diff, owner, comment, acl in found["range_types"]),
                key=lambda t: (t.schema, t.name),
            )),
            casts=tuple(sorted(
                (Cast(source, target, _cast_function(schema, function, arguments),
                      _CAST_CONTEXTS.get(context, context), _CAST_METHODS.get(method, method),
                      comment)
                 for source, target, schema, function, arguments, context, method, comment
                 in found["casts"]),
                key=lambda c: (c.source, c.target),
            )),
            collations=tuple(sorted(
                (Collation(schema, name, _COLLATION_PROVIDERS.get(provider, provider), locale,
                           lc_collate, lc_ctype, deterministic, rules, owner, comment)
                 for schema, name, provider, locale, lc_collate, lc_ctype, deterministic,
                 rules, owner, comment in found["collations"]),
                key=lambda c: (c.schema, c.name),
            )),
            extended_statistics=tuple(sorted(
                (Statistics(*row) for row in found["statistics"]),
                key=lambda s: (s.schema, s.name),
            )),
            database_settings=tuple(sorted(
                (Setting(name, value, role) for name, value, role in settings),
                key=lambda s: (s.role is not None, s.role or "", s.name),
            )),
        )
        # Hand the new objects to the oldest generation without a collection: left young,
        # they would be traversed by the next two collections (a tenth of a second each
        # for 10,000 tables), although none of them can be part of a cycle.
        gc.freeze()
        gc.unfreeze()
    finally:
        if gc_was_enabled:
            gc.enable()
    return snapshot


# What `pg_table_is_visible` would say of a foreign key's table (written unqualified by
# `pg_get_constraintdef` when it is), for all of them at once: the search path (implicit
# schemas included) and, for each name that more than one of its schemas hold, the first of
# those. Calling the function for each of 10,000 foreign keys cost a third of their query.
_PATH_SQL = """
SELECT NULL::text, current_schemas(true)::text[]
UNION ALL
SELECT c.relname::text, ARRAY[(array_agg(n.nspname::text ORDER BY p.position))[1]]
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN unnest(current_schemas(true)) WITH ORDINALITY AS p(name, position) ON p.name = n.nspname
GROUP BY c.relname
HAVING count(*) > 1
"""


# The catalog queries by name.
_PER_TABLE = (
    ("columns", _COLUMNS_SQL),
    ("relations", _RELATIONS_SQL),
    ("indexes", _INDEXES_SQL),
    ("constraints", _CONSTRAINTS_SQL),
    ("triggers", _TRIGGERS_SQL),
    ("rules", _RULES_SQL),
    ("policies", _POLICIES_SQL),
    ("sequences", _SEQUENCES_SQL),
)
_GLOBAL = (
    ("functions", _FUNCTIONS_SQL),
    ("enums", _ENUMS_SQL),
    ("namespaces", _NAMESPACES_SQL),
    ("extensions", _EXTENSIONS_SQL),
    ("domains", _DOMAINS_SQL),
    ("composites", _COMPOSITE_TYPES_SQL),
    ("publications", _PUBLICATIONS_SQL),
    ("servers", _FOREIGN_SERVERS_SQL),
    ("default_privileges", _DEFAULT_PRIVILEGES_SQL),
    ("event_triggers", _EVENT_TRIGGERS_SQL),
    ("casts", _CASTS_SQL),
    ("range_types", _RANGE_TYPES_SQL),
    ("collations", _COLLATIONS_SQL),
    ("statistics", _STATISTICS_SQL),
    ("view_dependencies", _VIEW_DEPENDENCIES_SQL),
    ("comments", _SUBOBJECT_COMMENTS_SQL),
    ("search_path", _PATH_SQL),
)
# Which session runs which queries (`introspect`: the first group on `conn`, the others on
# the helpers; with fewer sessions the groups are dealt out in turn). Each query runs once:
# splitting the tables over the sessions instead (as dbsafe did while the server deparsed
# every index and constraint, so that each session's catalog cache served its own tables)
# makes every session scan the catalogs again, 0.5 s of server CPU a session for 10,000
# tables. The column query is the longest (0.4 s of the 1.2 s the server spends on that
# schema) and its 200,000 rows are built as they stream in while the helpers answer the
# other two groups, which cost about as much as it does.
_SESSIONS = (
    ("columns",),
    ("constraints", "indexes", "triggers", "rules", "policies"),
    ("relations", "sequences", *(name for name, _sql in _GLOBAL)),
)
_NULLS_NOT_DISTINCT = re.compile(r"\{nulls_not_distinct:([a-z]+)\}")


def _session_queries(server_version: int, sessions: int) -> list[list[tuple[str, str]]]:
    """The queries each of `sessions` sessions runs (`_SESSIONS`), the first for `conn`."""
    queries = dict(_queries(server_version, _PER_TABLE + _GLOBAL))
    groups: list[list[tuple[str, str]]] = [[] for _ in range(sessions)]
    for number, names in enumerate(_SESSIONS):
        groups[number % sessions] += [(name, queries[name]) for name in names]
    return groups


def _queries(server_version: int,
             queries: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """`queries` as a server of `server_version` runs them."""
    compression = ("nullif(a.attcompression, '')" if server_version >= 140000
                   else "NULL::\"char\"")
    server_constraint = " OR ".join(
        ["false"]
        + (["con.confdelsetcols IS NOT NULL"] if server_version >= 150000 else [])
        + (["con.conperiod", "NOT con.conenforced"] if server_version >= 180000 else []))

    def nulls_not_distinct(match: re.Match[str]) -> str:
        return f"{match[1]}.indnullsnotdistinct" if server_version >= 150000 else "false"

    publication_schemas = (
        "ARRAY(SELECT n.nspname::text FROM pg_publication_namespace AS pn JOIN pg_namespace AS n "
        "ON n.oid = pn.pnnspid WHERE pn.pnpubid = p.oid ORDER BY 1)"
        if server_version >= 150000 else "'{}'::text[]")
    range_multirange = (
        "(SELECT format('%%I.%%I', mn.nspname, mt.typname) FROM pg_type AS mt "
        "JOIN pg_namespace AS mn ON mn.oid = mt.typnamespace WHERE mt.oid = r.rngmultitypid)"
        if server_version >= 140000 else "NULL::text")
    return [(name, _NULLS_NOT_DISTINCT.sub(nulls_not_distinct, query
             .replace("{publication_schemas}", publication_schemas)
             .replace("{range_multirange}", range_multirange)
             .replace("{compression}", compression)
             .replace("{not_null_join}", _NOT_NULL_JOIN if server_version >= 180000 else "")
             .replace("{not_null}", _NOT_NULL if server_version >= 180000 else "NULL::text[]")
             .replace("{server_constraint}", server_constraint)))
            for name, query in queries]


def _run_lane(helper: psycopg.Connection, snapshot_id: str, params: dict[str, Any],
              queries: list[tuple[str, str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Run `queries` (never the columns, which `conn` reads) on `helper` in the snapshot
    `snapshot_id`."""
    import psycopg
    from psycopg import sql
    from psycopg.rows import tuple_row

    helper.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    helper.read_only = True
    with helper.transaction(), helper.cursor(row_factory=tuple_row) as cur:
        cur.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id)))
        out = {}
        for name, query in queries:
            cur.execute(query, params)
            out[name] = cur.fetchall()
            if name == "indexes":
                out["key_columns"] = _key_columns(cur, out[name])
        return out


def _acl(items: list[str] | None) -> tuple[str, ...]:
    return tuple(sorted(items)) if items else ()


def _object_acl(items: list[str] | None, owner: str | None) -> tuple[str, ...]:
    """An object's ACL: `()` for its default privileges (`_acl_sql` gives NULL), but `{}`,
    every privilege revoked from everyone, its owner too, as the owner holding nothing."""
    if items is not None and not items and owner:
        return no_privileges(owner)
    return _acl(items)


def _domain(row: tuple[Any, ...]) -> Domain:
    (schema, name, base, notnull, default, collation, con_names, con_defs, con_valid,
     con_comments, owner, comment, acl) = row
    return Domain(
        schema=schema, name=name, type=base, nullable=not notnull, default=default,
        collation=collation,
        constraints=tuple(DomainConstraint(n, d, v, k) for n, d, v, k
                          in zip(con_names, con_defs, con_valid, con_comments, strict=True)),
        owner=owner, comment=comment, acl=_object_acl(acl, owner),
    )


def _composite(row: tuple[Any, ...]) -> CompositeType:
    schema, name, names, types, collations, owner, comment, acl = row
    return CompositeType(
        schema=schema, name=name,
        attributes=tuple(Column(n, t, i, details=ColumnDetails(collation=k) if k else None)
                         for i, (n, t, k) in
                         enumerate(zip(names, types, collations, strict=True), start=1)),
        owner=owner, comment=comment, acl=_object_acl(acl, owner),
    )


def introspect_url(
    url: str,
    *,
    schemas: Sequence[str] | None = None,
    statement_timeout: str = STATEMENT_TIMEOUT,
    search_path: Sequence[str] | None = None,
    lock_timeout: str | None = None,
) -> SchemaSnapshot:
    """Connect to `url`, read its schema in a read-only transaction, and disconnect.

    The session is tagged `application_name=dbsafe` (visible in `pg_stat_activity`) and
    every query is bounded by `statement_timeout`, so introspecting a busy production
    database cannot hang or change anything.

    Args:
        url: a libpq URL or key/value conninfo string.
        schemas: read only these schemas; None reads every non-system schema.
        statement_timeout: a PostgreSQL duration such as "60s".
        search_path: read as a session with this search path (instead of the one the
            database, role or URL gives it): definitions and type names qualify what is
            off the path, so two databases compare equal only when read with one path.
        lock_timeout: how long a query waits for a lock (None: as long as the session's
            setting, else the statement timeout). pg_get_viewdef takes ACCESS SHARE on what
            a view reads; a guarded run reads with its `--lock-timeout` and retries.

    Returns:
        The snapshot, as `introspect` builds it.

    Raises:
        DatabaseError: the server is unreachable, refused the login, the database does not
            exist, or a catalog query failed. The message is one line and never contains
            the password.
    """
    import psycopg

    from dbsafe.pg.connect import connect

    url = to_libpq_url(url)  # `postgresql+psycopg://` from alembic.ini works too
    target = redact_url(url)
    conn = connect(url)
    with conn, ThreadPoolExecutor(max_workers=max(HELPERS, 1)) as pool:
        # The helper sessions log in while this one is set up.
        pending = [pool.submit(_helper, url, statement_timeout, search_path, lock_timeout)
                   for _ in range(HELPERS)]
        try:
            _set_up(conn, statement_timeout, search_path=search_path, lock_timeout=lock_timeout)
            conn.autocommit = False
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            helpers = [h for h in (f.result() for f in pending) if h is not None]
            return introspect(conn, schemas=schemas, helpers=helpers)
        except psycopg.Error as exc:
            held = _held_for_views(url) if exc.sqlstate in _CANCELLED else ""
            error = DatabaseError(
                f"could not read the schema of {target}: {_one_line(redact_text(str(exc), url))}"
                + held)
            error.sqlstate = exc.sqlstate
            raise error from None
        finally:
            for future in pending:
                helper = future.result()
                if helper is not None:
                    helper.close()


HELPERS = 2  # sessions `introspect_url` opens besides its own (see `introspect`)

# A lock timeout (a role's `lock_timeout`), a statement timeout.
_CANCELLED = ("55P03", "57014")

# pg_get_viewdef (and pg_get_ruledef) take ACCESS SHARE on every relation a view or rule
# reads: behind a session holding ACCESS EXCLUSIVE on one (`LOCK TABLE` left open, VACUUM
# FULL, a plain REFRESH MATERIALIZED VIEW of a materialized view a view reads, another
# tool's uncommitted ALTER) the read waits until the statement timeout, and said only
# "canceling statement due to statement timeout". These are the sessions it waited for.
_HELD_FOR_VIEWS_SQL = """
SELECT DISTINCT a.pid, a.application_name, a.usename, a.state,
       extract(epoch FROM now() - a.xact_start)::float8,
       format('%s.%s', n.nspname, c.relname)
FROM pg_catalog.pg_locks AS l
JOIN pg_catalog.pg_class AS c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.granted
  AND l.pid <> pg_catalog.pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_catalog.pg_database
                    WHERE datname = pg_catalog.current_database())
  AND l.relation IN (
      SELECT d.refobjid FROM pg_catalog.pg_depend AS d
      WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass
        AND d.refclassid = 'pg_catalog.pg_class'::regclass
      UNION SELECT r.ev_class FROM pg_catalog.pg_rewrite AS r)
ORDER BY 1, 6
"""


def _held_for_views(url: str) -> str:
    """"; reading view definitions waits for ... held by pid N (...)", naming the sessions
    holding ACCESS EXCLUSIVE on what a view reads, when the read was cancelled; "" when
    none (or they cannot be looked up: the error says what it says)."""
    import psycopg

    from dbsafe.pg.connect import connect

    try:
        with connect(url, application_name="dbsafe introspect") as conn:
            rows = conn.execute(_HELD_FOR_VIEWS_SQL).fetchall()
    except (psycopg.Error, DatabaseError) as exc:
        log.debug("who holds what the views read: %s", exc)
        return ""
    if not rows:
        return ""
    holders = []
    for pid, application, user, state, seconds, relation in rows:
        facts = [f"application_name '{' '.join((application or '').split())}'"]
        if user:
            facts.append(f"user {user}")
        facts.append(state or "state hidden without pg_read_all_stats")
        if seconds is not None:
            facts.append(f"transaction open {seconds:.1f}s")
        holders.append(f"pid {pid} ({', '.join(facts)}) holding ACCESS EXCLUSIVE on "
                       f"{relation}")
    return ("; reading view definitions (pg_get_viewdef) waits for ACCESS SHARE on what the "
            "views read: " + "; ".join(holders))


def introspect_session(
    conn: psycopg.Connection, *, statement_timeout: str = STATEMENT_TIMEOUT,
    search_path: Sequence[str] | None = None,
) -> SchemaSnapshot:
    """`introspect` on an open connection of the caller's, with the settings
    `introspect_url` gives its sessions, for this transaction only (`search_path`: read
    with this path instead of the session's, as `introspect_url`'s).

    For a small schema read again and again (verify-reversible snapshots a database
    between migration steps): a new session costs more than the snapshot, as a new
    server process has to load every catalog entry it touches. One session, no helpers.

    Raises:
        DatabaseError: a catalog query failed; one line, without the password.
    """
    import psycopg
    from psycopg import pq

    try:
        fresh = conn.info.transaction_status == pq.TransactionStatus.IDLE
        with conn.transaction():
            if fresh:  # one consistent view, and nothing written, as `introspect_url` reads
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            _set_up(conn, statement_timeout, local=True, search_path=search_path)
            return introspect(conn)
    except psycopg.Error as exc:
        raise DatabaseError(f"could not read the schema of {redact_url(conn.info.dsn)}: "
                            f"{_one_line(str(exc))}") from None


class KeptSession:
    """Snapshots of the database at `url`, read again and again on one kept session, each
    the snapshot `introspect_url` would read on new sessions at that moment.

    For a database read between steps that change it (verify-reversible of a SQL folder
    reads it three times a migration): a new session costs more than the snapshot of a
    small schema (three server processes to start, each loading every catalog entry it
    touches). What a new session takes from the catalog when it logs in and a kept one
    does not see change (a migration's `ALTER DATABASE ... SET search_path`, which decides
    how type names and definitions are qualified; `ALTER ROLE ... SET`) makes it start a
    new session: the settings of `pg_db_role_setting` are compared before each read.

    Nothing else may hold the database in between that a new session would not see: the
    caller closes it (`close`) before dropping the database.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection | None = None
        self._logged_in_with = ""

    def snapshot(self, *, like: SchemaSnapshot | None = None) -> SchemaSnapshot:
        """The database's schema, as `introspect_url(url)` reads it.

        `like`: a snapshot this one is compared with. Where new sessions now start with
        another search path than it was read with (a database setting left behind: `ALTER
        DATABASE ... SET search_path`), the schema is read again with its path, as `dbsafe
        diff` reads two databases: the path names the types and qualifies the definitions,
        so every column of a type on it would differ too, when the setting (which the
        snapshot holds) is the one difference.

        Raises:
            DatabaseError: the server cannot be reached, or a catalog query failed; one
                line, without the password.
        """
        snapshot = introspect_session(self.connection())
        if like is not None and snapshot.search_path != like.search_path:
            snapshot = introspect_session(self.connection(as_new=False),
                                          search_path=like.search_path)
        return snapshot

    def connection(self, *, as_new: bool = True) -> psycopg.Connection:
        """The kept session (autocommit, idle), for other reads too (verify-reversible of
        an alembic history reads its fingerprints and version table on it).

        `as_new`: a new session first where one would log in with other settings than the
        kept one did; else the kept one as it is (a read that no login setting changes).

        Raises:
            DatabaseError: the server cannot be reached; one line, without the password.
        """
        import psycopg

        from dbsafe.pg.connect import connect

        conn = self._conn
        try:
            if conn is not None and as_new \
                    and self._login_settings(conn) != self._logged_in_with:
                self.close()  # a new session logs in with the new settings
                conn = None
            if conn is None:
                conn = connect(self.url)
                self._conn = conn
                self._logged_in_with = self._login_settings(conn)
        except psycopg.Error as exc:
            self.close()
            raise DatabaseError(f"could not read the schema of {redact_url(self.url)}: "
                                f"{_one_line(redact_text(str(exc), self.url))}") from None
        return conn

    @staticmethod
    def _login_settings(conn: psycopg.Connection) -> str:
        row = conn.execute(_LOGIN_SETTINGS_SQL).fetchone()
        return str(row[0]) if row else ""

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> KeptSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# The settings a session takes when it logs in (`ALTER DATABASE/ROLE ... SET`), every
# database's and role's: the table is small, and any change is worth a new session.
_LOGIN_SETTINGS_SQL = """
SELECT coalesce(array_agg(s::text ORDER BY s.setdatabase, s.setrole)::text, '')
FROM pg_catalog.pg_db_role_setting AS s
"""


def _set_up(conn: psycopg.Connection, statement_timeout: str, *, local: bool = False,
            search_path: Sequence[str] | None = None, lock_timeout: str | None = None) -> None:
    """Session settings for introspection, in one round trip (`local`: for the current
    transaction only).

    Timestamps in defaults and partition bounds print in the session's zone: UTC makes the
    snapshot the same whoever takes it. Parallel workers are turned off: the catalog
    queries are split over dbsafe's own sessions already, and on a production server the
    workers belong to the application. `search_path`, when given, replaces the session's.
    `idle_in_transaction_session_timeout` is turned off: the reading transaction stays open
    while Python builds what one query returned and the helper sessions answer theirs, and a
    database or role setting it ended the session mid-read (a checkpoint between two
    revisions of `dbsafe upgrade` failed, exit 2, with the revisions applied).
    `lock_timeout`, when given, replaces the session's.
    """
    path = search_path_setting(search_path) if search_path is not None else None
    conn.execute(
        "SELECT set_config('statement_timeout', %(t)s, %(l)s), "
        "CASE WHEN %(w)s::text IS NOT NULL THEN set_config('lock_timeout', %(w)s, %(l)s) END, "
        "set_config('idle_in_transaction_session_timeout', '0', %(l)s), "
        "set_config('TimeZone', 'UTC', %(l)s), "
        "set_config('max_parallel_workers_per_gather', '0', %(l)s), "
        "CASE WHEN %(p)s::text IS NOT NULL THEN set_config('search_path', %(p)s, %(l)s) END",
        {"t": statement_timeout, "l": local, "p": path, "w": lock_timeout})


def search_path_setting(schemas: Sequence[str]) -> str:
    """The value of `search_path` that names exactly `schemas`, each quoted.

    >>> print(search_path_setting(["musicbrainz", "public", 'a"b']))
    "musicbrainz", "public", "a""b"
    >>> search_path_setting([])
    ''
    """
    # An empty list: only the implicit pg_catalog (and pg_temp), as `SET search_path = ''`.
    return ", ".join('"' + s.replace('"', '""') + '"' for s in schemas)


def _helper(url: str, statement_timeout: str, search_path: Sequence[str] | None = None,
            lock_timeout: str | None = None) -> psycopg.Connection | None:
    """Another session for `introspect`'s queries, or None if the server says no (e.g. a
    connection limit): introspection then runs on fewer connections, only slower."""
    import psycopg

    from dbsafe.pg.connect import connect

    try:
        helper = connect(url)
    except DatabaseError as exc:
        log.info("introspecting on fewer connections: %s", exc)
        return None
    try:
        _set_up(helper, statement_timeout, search_path=search_path, lock_timeout=lock_timeout)
        helper.autocommit = False
        return helper
    except psycopg.Error as exc:
        helper.close()
        log.info("introspecting on fewer connections: %s", _one_line(redact_text(str(exc), url)))
        return None


# -- row -> model ---------------------------------------------------------------------


_Columns = tuple[dict[int, list[Column]], dict[int, dict[int, str]]]
_NO_NAMES: dict[int, str] = {}  # a relation without columns (all dropped, or none made)


def _columns(rows: Iterable[tuple[Any, ...]]) -> _Columns:
    """Columns (in catalog order) and attnum -> name maps, keyed by relation oid."""
    make = Column
    columns: dict[int, list[Column]] = {}
    attnames: dict[int, dict[int, str]] = {}
    for oid, name, typ, num, notnull, default, ident, gen, facts, acl, not_null in rows:
        cols = columns.get(oid)
        if cols is None:
            cols = columns[oid] = []
            names = attnames[oid] = {}
        else:
            names = attnames[oid]
        details = None
        if facts is not None:
            collation, storage, compression, statistics, comment, inherited = facts
            details = ColumnDetails(inherited=inherited is not None,
                collation=collation, storage=_STORAGE[storage] if storage else None,
                compression=_COMPRESSION.get(compression or ""),
                statistics=int(statistics) if statistics is not None else None,
                comment=comment, acl=tuple(sorted(acl)) if acl else ())
        if not_null is not None:
            details = _with_not_null(details, not_null)
        # Positional arguments: this runs once per column of the database.
        cols.append(make(name, typ, num, not notnull, default, _IDENTITY.get(ident),
                         _GENERATED.get(gen), details))
        names[num] = name
    return columns, attnames


def _with_not_null(details: ColumnDetails | None, not_null: list[str]) -> ColumnDetails:
    """`details` with the column's NOT NULL constraint (PostgreSQL 18) where it is not the
    plain one: its name, NO INHERIT and NOT VALID (`_NOT_NULL`)."""
    name, no_inherit, not_valid = not_null
    return model.replace(details or ColumnDetails(), not_null_name=name,
                         not_null_no_inherit=no_inherit == "true",
                         not_null_not_valid=not_valid == "true")


# The type and collation of the key columns of the indexes `_Deparser` may write, read
# right after the indexes in the same session: 20,000 lookups cost the server a few
# milliseconds, where carrying both for every column of the database would cost the
# client a tenth of a second and 20 MiB on the benchmark schema.
#
# One index probe per key column, forced by the LATERAL ... OFFSET 0: as a plain join the
# planner hashes all of pg_attribute (480,000 rows for 10,000 tables with their sequences
# and indexes, spilling to disk) to find 20,000 of them, 0.33 s against 0.05 s.
_KEY_COLUMNS_SQL = """
SELECT k.relid, k.attnum, a.atttypid, a.attcollation
FROM unnest(%s::oid[], %s::int2[]) AS k(relid, attnum)
CROSS JOIN LATERAL (
    SELECT a.atttypid, a.attcollation FROM pg_attribute AS a
    WHERE a.attrelid = k.relid AND a.attnum = k.attnum
    OFFSET 0
) AS a
"""


def _key_columns(cur: psycopg.Cursor, index_rows: list[tuple[Any, ...]],
                 ) -> list[tuple[Any, ...]]:
    """(relid, attnum, type oid, collation oid) of the key columns of `index_rows` that
    the server did not deparse."""
    relids: list[int] = []
    attnums: list[int] = []
    for row in index_rows:
        if row[2] is None:  # no definition: `_Deparser` will try
            relid = row[0]
            for attnum in row[9][:row[8]]:
                relids.append(relid)
                attnums.append(attnum)
    if not relids:
        return []
    cur.execute(_KEY_COLUMNS_SQL, (relids, attnums))
    return cur.fetchall()


_FK_MATCH = {"f": " MATCH FULL", "p": " MATCH PARTIAL", "s": ""}
_FK_ACTION = {"a": "", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_SAFE_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")


class _Deparser:
    """Index and constraint definitions written as PostgreSQL's own deparser writes them
    (`pg_get_indexdef`, `pg_get_constraintdef` in ruleutils.c), for the common shapes the
    catalog queries leave to it: plain b-tree indexes, primary keys, unique constraints,
    foreign keys. Anything it is not sure of (a key column whose operator class or
    collation might be printed, a name it cannot resolve) it leaves to the server, so a
    definition is always the server's text. tests/schema/test_introspect.py compares every
    shape against the server's output.
    """

    def __init__(self, quote_all: bool, keywords: Sequence[str],
                 default_types: Sequence[int], default_classes: Sequence[int],
                 relations: dict[int, tuple[str, str]], attnames: dict[int, dict[int, str]],
                 key_columns: list[tuple[Any, ...]]) -> None:
        self.quote_all = quote_all
        self.keywords = frozenset(keywords)
        # The default b-tree operator class of each type (at most one per type).
        self.default_class = dict(zip(default_types, default_classes, strict=True))
        self.relations = relations
        self.attnames = attnames
        self.key_types = {(relid, attnum): (typid, collation)
                          for relid, attnum, typid, collation in key_columns}
        self.quoted: dict[str, str] = {}

    def quote(self, name: str) -> str:
        """`quote_identifier` (ruleutils.c): quoted unless lower-case, plain and not a
        keyword other than an unreserved one."""
        try:
            return self.quoted[name]
        except KeyError:
            pass
        if not self.quote_all and _SAFE_IDENTIFIER.match(name) and name not in self.keywords:
            quoted = name
        else:
            quoted = '"' + name.replace('"', '""') + '"'
        self.quoted[name] = quoted
        return quoted

    def columns(self, relid: int, attnums: Sequence[int]) -> str | None:
        """The quoted names of `attnums`, comma-separated, or None if one is unknown."""
        names = self.attnames.get(relid)
        if names is None:
            return None
        quote = self.quote
        try:
            if len(attnums) == 1:
                return quote(names[attnums[0]])
            return ", ".join([quote(names[n]) for n in attnums])
        except KeyError:
            return None

    def index(self, relid: int, name: str, kind: str, unique: bool, nkeys: int,
              indkey: Sequence[int], classes: Sequence[int], collations: Sequence[int],
              nulls_not_distinct: bool) -> str | None:
        """A b-tree index without expressions, predicate, options or sort options (the
        query hands the others to the server), or None when a key column would show an
        operator class or a collation."""
        table = self.relations.get(relid)
        names = self.attnames.get(relid)
        if table is None or names is None:
            return None
        key_types = self.key_types
        default_class = self.default_class
        quote = self.quote
        keys = []
        try:
            for position in range(nkeys):
                attnum = indkey[position]
                typid, column_collation = key_types[relid, attnum]
                # Printed unless it is the column type's default class (GetDefaultOpClass;
                # a binary-coercible match or a domain is left to the server).
                if default_class.get(typid) != classes[position]:
                    return None
                collation = collations[position]
                if collation and collation != column_collation:  # COLLATE unless its own
                    return None
                keys.append(quote(names[attnum]))
            included = [quote(names[attnum]) for attnum in indkey[nkeys:]]
        except KeyError:
            return None
        return "".join((
            "CREATE UNIQUE INDEX " if unique else "CREATE INDEX ",
            quote(name),
            " ON ONLY " if kind == "I" else " ON ",
            quote(table[0]), ".", quote(table[1]),
            " USING ", quote("btree"), " (", ", ".join(keys), ")",
            f" INCLUDE ({', '.join(included)})" if included else "",
            " NULLS NOT DISTINCT" if nulls_not_distinct else "",
        ))

    def constraint(self, relid: int, kind: str, conkey: Sequence[int] | None,
                   confrelid: int, confkey: Sequence[int] | None, ref_schema: str | None,
                   ref_table: str | None, ref_visible: bool | None, deferrable: bool,
                   deferred: bool, validated: bool, match: str, on_update: str,
                   on_delete: str, indkey: Sequence[int] | None,
                   nulls_not_distinct: bool | None) -> str | None:
        """A primary key, unique constraint or foreign key (the query hands the others,
        and clauses of newer servers, to the server), or None if a name is unknown."""
        keys = self.columns(relid, conkey or ())
        if keys is None:
            return None
        if kind == "f":
            referenced = self.columns(confrelid, confkey or ())
            if referenced is None or ref_table is None or ref_schema is None:
                return None
            target = (self.quote(ref_table) if ref_visible
                      else f"{self.quote(ref_schema)}.{self.quote(ref_table)}")
            update, delete = _FK_ACTION[on_update], _FK_ACTION[on_delete]
            text = "".join((
                "FOREIGN KEY (", keys, ") REFERENCES ", target, "(", referenced, ")",
                _FK_MATCH[match],
                f" ON UPDATE {update}" if update else "",
                f" ON DELETE {delete}" if delete else "",
            ))
        else:
            if indkey is None:
                return None
            nkeys = len(conkey or ())
            included = self.columns(relid, indkey[nkeys:]) if len(indkey) > nkeys else ""
            if included is None:
                return None
            text = "".join((
                "PRIMARY KEY " if kind == "p" else "UNIQUE ",
                "NULLS NOT DISTINCT " if kind == "u" and nulls_not_distinct else "",
                "(", keys, ")",
                f" INCLUDE ({included})" if included else "",
            ))
        return "".join((
            text,
            " DEFERRABLE" if deferrable else "",
            " INITIALLY DEFERRED" if deferred else "",
            "" if validated else " NOT VALID",
        ))


def _definitions(found: dict[str, list[tuple[Any, ...]]], deparser: _Deparser,
                 cur: psycopg.Cursor) -> None:
    """Fill in the index and constraint definitions the queries left to `deparser`,
    asking the server for those it declines; the rows get the shape `_relations` reads."""
    indexes: list[tuple[Any, ...]] = []
    server: list[tuple[int, int]] = []  # (position, oid) for pg_get_indexdef
    write_index = deparser.index
    for (relid, name, definition, unique, primary, valid, ready, predicate, nkeys, indkey,
         expressions, indexrelid, kind, classes, collations, nnd, clustered, statistics,
         attached_to) in found["indexes"]:
        if definition is None:
            definition = write_index(relid, name, kind, unique, nkeys, indkey, classes,
                                     collations, nnd)
            if definition is None:
                server.append((len(indexes), indexrelid))
        indexes.append((relid, name, definition, unique, primary, valid, ready, predicate,
                        nkeys, indkey, expressions, clustered, statistics, attached_to))
    _server_definitions(cur, "pg_get_indexdef", indexes, 2, server)
    log.debug("index definitions: %d written, %d deparsed by the server",
              len(indexes) - len(server), len(server))
    found["indexes"] = indexes

    constraints: list[tuple[Any, ...]] = []
    server = []
    write_constraint = deparser.constraint
    path = next(schemas for name, schemas in found["search_path"] if name is None)
    on_path, first = frozenset(path), {name: s[0] for name, s in found["search_path"] if name}
    for (relid, name, kind, definition, validated, conkey, ref_schema, ref_table, ref_relid,
         confkey, deferrable, deferred, match, on_update, on_delete, indkey,
         nnd, oid) in found["constraints"]:
        if definition is None:
            # pg_table_is_visible: on the path, and the first relation of its name there
            ref_visible = ref_schema in on_path and first.get(ref_table, ref_schema) == ref_schema
            definition = write_constraint(
                relid, kind, conkey, ref_relid, confkey, ref_schema, ref_table, ref_visible,
                deferrable, deferred, validated, match, on_update, on_delete, indkey, nnd)
            if definition is None:
                server.append((len(constraints), oid))
        constraints.append((relid, name, kind, definition, validated, conkey, ref_schema,
                            ref_table, ref_relid, confkey))
    _server_definitions(cur, "pg_get_constraintdef", constraints, 3, server)
    log.debug("constraint definitions: %d written, %d deparsed by the server",
              len(constraints) - len(server), len(server))
    found["constraints"] = constraints


def _server_definitions(cur: psycopg.Cursor, function: str, rows: list[tuple[Any, ...]],
                        place: int, wanted: list[tuple[int, int]]) -> None:
    """Put the server's definition (`function` of each oid in `wanted`) in field `place`
    of the rows at those positions."""
    if not wanted:
        return
    cur.execute(f"SELECT {function}(x) FROM unnest(%s::oid[]) WITH ORDINALITY AS u(x, n)"
                " ORDER BY n", ([oid for _position, oid in wanted],))
    for (position, _oid), (definition,) in zip(wanted, cur.fetchall(), strict=True):
        row = rows[position]
        rows[position] = (*row[:place], definition, *row[place + 1:])


def _relations(
    found: dict[str, list[tuple[Any, ...]]],
    columns: dict[int, list[Column]],
    attnames: dict[int, dict[int, str]],
) -> tuple[Relation, ...]:
    """The relations, from the rows of the sessions' queries, by relation oid."""
    heads = {row[0]: row for row in found["relations"]}
    comments = {(relid, name): text for relid, name, text in found["comments"]}
    constraints: dict[int, list[Constraint]] = defaultdict(list)
    for (relid, name, kind, definition, validated, conkey, ref_schema, ref_table, ref_relid,
         confkey) in found["constraints"]:
        if relid not in heads:  # an extension's table, or a relkind we do not read
            continue
        names = attnames.get(relid, _NO_NAMES)
        ref_names = attnames.get(ref_relid, _NO_NAMES)
        constraints[relid].append(Constraint(  # every field, in order
            name,
            _CONSTRAINT_KINDS[kind],
            tuple(names[n] for n in conkey or () if n in names),
            definition,
            validated,
            f"{ref_schema}.{ref_table}" if ref_table is not None else None,
            tuple(ref_names[n] for n in confkey or () if n in ref_names),
            comments.get((relid, name)) if comments else None,
        ))

    indexes: dict[int, list[Index]] = defaultdict(list)
    for (relid, name, definition, unique, primary, valid, ready, predicate, nkeys, indkey,
         expressions, clustered, statistics, attached_to) in found["indexes"]:
        if relid not in heads:
            continue
        names = attnames.get(relid, _NO_NAMES)
        keys = tuple(
            names[attnum] if attnum else expressions[position]
            for position, attnum in enumerate(indkey[:nkeys])
        )
        indexes[relid].append(Index(  # every field, in order
            name, definition, keys, unique, primary, valid, ready, predicate,
            comments.get((relid, name)) if comments else None,
            clustered,
            tuple(statistics) if statistics else (),
            attached_to,
        ))

    policies: dict[int, list[Policy]] = defaultdict(list)
    for relid, name, command, permissive, roles, using, with_check in found["policies"]:
        if relid not in heads:
            continue
        policies[relid].append(
            Policy(
                name=name,
                command=_POLICY_COMMANDS[command],
                permissive=permissive,
                roles=tuple(sorted(roles)),
                using=using,
                with_check=with_check,
                comment=comments.get((relid, name)),
            )
        )

    triggers: dict[int, list[Trigger]] = defaultdict(list)
    for relid, name, definition, enabled, comment in found["triggers"]:
        triggers[relid].append(Trigger(name, definition, _TRIGGER_ENABLED[enabled], comment))
    rules: dict[int, list[Rule]] = defaultdict(list)
    for relid, name, definition, comment, enabled, reads in found["rules"]:
        rules[relid].append(Rule(name, definition, comment, tuple(reads),
                                 _TRIGGER_ENABLED[enabled]))
    depends: dict[int, list[str]] = defaultdict(list)
    reads_columns: dict[int, list[str]] = defaultdict(list)
    for relid, dependency, target in found["view_dependencies"]:
        (reads_columns if dependency == "c" else depends)[relid].append(target)

    no_columns: list[Column] = []
    relations = [
        Relation(  # every field, in order
            schema,
            name,
            _RELATION_KINDS[kind],
            _sorted(columns.get(oid, no_columns), _by_position),
            _sorted(constraints.get(oid), _by_name),
            _sorted(indexes.get(oid), _by_name),
            rls,
            forced,
            _sorted(policies.get(oid), _by_name),
            definition,
            tuple(sorted(depends[oid])) if oid in depends else (),
            _sorted(triggers.get(oid), _by_name),
            owner,
            comment,
            _object_acl(acl, owner),
            tuple(options) if options else (),
            partition_key,
            partition_of,
            bound,
            tuple(inherits) if inherits else (),
            (f"index {replindex}" if replident == "i"
             else _REPLICA_IDENTITY.get(replident, "default")),
            populated,
            server,
            tuple(foreign_options) if foreign_options else (),
            unlogged,
            tuple(sorted(reads_columns[oid])) if oid in reads_columns
            else (() if kind in ("v", "m") else None),
            _sorted(rules.get(oid), _by_name),
        )
        for (oid, schema, name, kind, rls, forced, owner, comment, acl, options, partition_key,
             partition_of, bound, inherits, replident, replindex, definition, populated, server,
             foreign_options, unlogged) in heads.values()
    ]
    relations.sort(key=lambda r: (r.schema, r.name))
    return tuple(relations)


def _sorted(items: list[Any] | None, key: Callable[[Any], Any]) -> tuple[Any, ...]:
    """`tuple(sorted(items, key=key))`, without the call for the common none or one."""
    if not items:
        return ()
    if len(items) == 1:
        return (items[0],)
    return tuple(sorted(items, key=key))


def _function(row: tuple[Any, ...]) -> Function:
    (schema, name, kind, returns_set, result, types, modes, names, ndefaults, ret_typtype,
     ret_is_record, ret_names, ret_types, identity_arguments, definition, owner, comment,
     acl) = row
    modes = modes or ["i"] * len(types)
    names = names or [None] * len(types)
    # The last `pronargdefaults` input arguments are the ones with defaults.
    inputs = [i for i, mode in enumerate(modes) if mode in ("i", "b", "v")]
    defaulted = set(inputs[len(inputs) - ndefaults :]) if ndefaults else set()
    arguments = tuple(
        Argument(
            name=names[i] or None,  # unnamed arguments are stored as ""
            type=types[i],
            mode=_ARGUMENT_MODES[modes[i]],
            has_default=i in defaulted,
        )
        for i in range(len(types))
    )
    outputs = [a for a in arguments if a.mode in ("out", "inout", "table")]
    if outputs:
        # RETURNS TABLE / OUT parameters: the output arguments are the result columns.
        result_columns = tuple(
            Column(name=a.name or f"column{n}", type=a.type, position=n)
            for n, a in enumerate(outputs, start=1)
        )
    elif ret_typtype == "c":
        result_columns = tuple(
            Column(name=col, type=typ, position=n)
            for n, (col, typ) in enumerate(zip(ret_names, ret_types, strict=True), start=1)
        )
    else:
        result_columns = ()
    return Function(
        schema=schema,
        name=name,
        arguments=arguments,
        returns=result or "",
        returns_set=returns_set,
        returns_composite=ret_typtype == "c" or (ret_is_record and bool(outputs)),
        result_columns=result_columns,
        kind=_FUNCTION_KINDS.get(kind, "function"),
        identity_arguments=identity_arguments or "",
        definition=definition,
        owner=owner,
        comment=comment,
        acl=_object_acl(acl, owner),
    )


def _function_key(function: Function) -> tuple[str, str, tuple[str, ...]]:
    return (function.schema, function.name, tuple(a.type for a in function.input_arguments))


def _sequence(row: tuple[Any, ...]) -> model.Sequence:
    (schema, name, data_type, owner_schema, owner_table, owner_column, start, increment,
     min_value, max_value, cache, cycle, owner, comment, acl) = row
    owned_by = f"{owner_schema}.{owner_table}.{owner_column}" if owner_column else None
    return model.Sequence(schema=schema, name=name, data_type=data_type, owned_by=owned_by,
                          start=start, increment=increment, min_value=min_value,
                          max_value=max_value, cache=cache, cycle=cycle, owner=owner,
                          comment=comment, acl=_object_acl(acl, owner))


def _read_revision(cur: psycopg.Cursor, schema: str | None, table: str | None) -> str | None:
    """The alembic revision(s) in the `alembic_version` table on the search path, if any."""
    if table is None or schema is None:
        return None
    from psycopg import sql

    cur.execute(
        sql.SQL("SELECT version_num::text FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
    )
    versions = sorted(row[0] for row in cur.fetchall() if row[0])
    return ",".join(versions) or None


def _one_line(message: str) -> str:
    """Driver messages span lines (one per host tried, DETAIL/HINT); reports want one."""
    return "; ".join(line.strip() for line in message.strip().splitlines() if line.strip())
