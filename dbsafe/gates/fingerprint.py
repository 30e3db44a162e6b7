"""A cheap fingerprint of a database's catalog: equal fingerprints mean equal schemas.

`verify-reversible` compares the schema before each upgrade with the schema after its
downgrade. A full snapshot (`dbsafe.schema.introspect`) costs a dozen queries and thousands
of Python objects; this is one query that hashes, on the server, the catalog rows every part
of a snapshot is read from. When two fingerprints are equal the two snapshots are equal, and
the walk moves on; only when they differ does it take snapshots and diff them.

The fingerprint keeps the rows' OIDs: an object dropped and created again identically gets a
new one, so its fingerprint differs although the snapshots do not. That costs a diff that
finds nothing, never a leftover missed. Fields that change without any DDL of the revision's
(statistics, `relfilenode` after a rewrite, the lazily cleared `relhas*` flags, dropped
columns' remains, a column's "missing value") are left out, so an honest round trip gives
equal fingerprints.

Rows are hashed one by one (field by field with `hash_record_extended` on PostgreSQL 14 and
later, a field whose type has no hash function as its text; else `hashtextextended` of the
row's text) and summed into one number, so the query needs no sort, and only rows of user objects are read (OID >= 16384, `FirstNormalObjectId`:
what initdb creates is below it). Extension members are included, unlike in a snapshot; an
extension that stays installed does not change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import psycopg

_USER = 16384  # FirstNormalObjectId

# A relation's ACL is NULL until the first GRANT or REVOKE spells out the default; a GRANT
# undone by its REVOKE leaves the default spelled out. Both are "no grants" (as in a snapshot).
_KIND = """CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END"""
_RELACL = (f"CASE WHEN c.relacl IS NULL OR (c.relacl @> acldefault({_KIND}, c.relowner) "
           f"AND c.relacl <@ acldefault({_KIND}, c.relowner)) THEN NULL ELSE c.relacl END")


def _rows(table: str, alias: str, columns: str, where: str = "", *,
          extra: tuple[str, ...] = (), record: bool = False) -> str:
    fields = [c.strip() for c in columns.split(",") if c.strip()] + list(extra)
    if record:
        # PostgreSQL 14+: the fields' own hash functions, no text made (about half the
        # time); the fields given have hash functions (pg_node_tree and int2vector are cast).
        row = "hash_record_extended(ROW(" + ", ".join(fields) + "), 0)"
    else:
        # concat() with the separators as arguments keeps every field in its place (a NULL
        # becomes an empty field; concat_ws would drop it and shift the others).
        row = "hashtextextended(concat(" + ", '|', ".join(fields) + "), 0)"
    # No `%` in the SQL: the child runs it through whatever driver the project uses,
    # unparametrized.
    condition = f" WHERE {where}" if where else ""
    return f"(SELECT coalesce(sum({row}), 0) FROM {table} AS {alias}{condition})"


def fingerprint_sql(server_version: int,
                    catalog_columns: Mapping[str, Sequence[tuple[str, bool]]] | None = None) -> str:
    """The fingerprint query for a server of this `server_version_num` (one text value).

    `catalog_columns` (`read_catalog_columns()` of that server) lets the catalogs hashed
    whole be hashed field by field, about twice as fast as their rows' text; without it
    (or before PostgreSQL 14) their rows are hashed as text.

    Example:
        >>> sql = fingerprint_sql(180000)
        >>> sql.startswith("SELECT ((SELECT coalesce(sum(") and "pg_attribute" in sql
        True
    """
    attribute = ("a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, "
                 "a.atthasdef, a.attidentity, a.attgenerated, a.attislocal, a.attinhcount, "
                 "a.attcollation, a.attstorage, a.attstattarget, a.attacl, a.attoptions, "
                 "a.attfdwoptions")
    if server_version >= 140000:
        attribute += ", a.attcompression"
    record = server_version >= 140000  # hash_record_extended()
    fields = catalog_columns if record else None

    def _whole(table: str, alias: str, where: str = "",
               outer: tuple[str, str, str] | None = None) -> str:
        return _whole_rows(table, alias, where, outer, fields)

    index = ("i.indexrelid, i.indrelid, i.indnatts, i.indnkeyatts, i.indisunique, "
             "i.indisprimary, i.indisexclusion, i.indimmediate, i.indisclustered, "
             "i.indisvalid, i.indisready, i.indislive, i.indisreplident, i.indkey::int2[], "
             "i.indcollation, i.indclass, i.indoption::int2[], i.indexprs::text, "
             "i.indpred::text")
    if server_version >= 150000:
        index += ", i.indnullsnotdistinct"
    parts = [
        _rows("pg_catalog.pg_class", "c",
              "c.oid, c.relname, c.relnamespace, c.reltype, c.reloftype, c.relowner, c.relam, "
              "c.reltablespace, c.relpersistence, c.relkind, c.relchecks, c.relrowsecurity, "
              "c.relforcerowsecurity, c.relispopulated, c.relreplident, c.relispartition, "
              "c.reloptions, c.relpartbound::text",
              # 99: pg_toast. TOAST tables come and go with columns and hold no schema.
              f"c.oid >= {_USER} AND c.relnamespace <> 99 AND c.relkind <> 't'",
              extra=(_RELACL,), record=record),
        # Columns of relations with columns of their own (an index's, a sequence's and a
        # TOAST table's follow from its definition).
        # Each relation's columns through the (attrelid, attnum) index: a third cheaper than
        # the hash join over every column of the database the planner picks otherwise
        # (OFFSET 0 keeps the subquery from being merged into one).
        _rows("pg_catalog.pg_class AS ac CROSS JOIN LATERAL (SELECT * FROM "
              "pg_catalog.pg_attribute AS a WHERE a.attrelid = ac.oid AND a.attnum > 0 "
              "AND NOT a.attisdropped OFFSET 0)", "a", attribute,
              f"ac.oid >= {_USER} AND ac.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')",
              record=record),
        _rows("pg_catalog.pg_attrdef", "d", "d.adrelid, d.adnum, d.adbin::text",
              f"d.adrelid >= {_USER}", record=record),
        _rows("pg_catalog.pg_class AS ic, pg_catalog.pg_index", "i", index,
              f"i.indexrelid = ic.oid AND ic.oid >= {_USER} AND ic.relnamespace <> 99",
              record=record),
        _whole("pg_constraint", "x", f"x.oid >= {_USER}"),
        _whole("pg_trigger", "t", f"t.oid >= {_USER}"),
        _whole("pg_policy", "p", f"p.oid >= {_USER}"),
        _whole("pg_rewrite", "r", f"r.oid >= {_USER}"),
        _whole("pg_proc", "p", f"p.oid >= {_USER}"),
        # A relation's row type and every array type follow from what they belong to, but
        # for the privileges of a composite type (GRANT USAGE ON TYPE).
        _whole("pg_type", "t", f"t.oid >= {_USER} AND t.typcategory <> 'A' "
                               "AND (t.typrelid = 0 OR t.typacl IS NOT NULL)"),
        _whole("pg_enum", "e", f"e.oid >= {_USER}"),
        _whole("pg_sequence", "s", f"s.seqrelid >= {_USER}"),
        _whole("pg_namespace", "n", f"n.oid >= {_USER} AND left(n.nspname, 3) <> 'pg_'"),
        _whole("pg_description", "d", f"d.objoid >= {_USER}"),
        # Sequence ownership (serial, identity) and extension membership live only here.
        # (from the sequences, through pg_depend's index: a scan of its user rows would
        # cost more)
        _whole("pg_depend", "d", "d.classid = 'pg_catalog.pg_class'::regclass "
               "AND d.objid = sq.seqrelid AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0",
               outer=("pg_sequence", "sq", f"sq.seqrelid >= {_USER}")),
        _whole("pg_depend", "d", "d.refclassid = 'pg_catalog.pg_extension'::regclass "
                                 "AND d.deptype = 'e'"),
        _whole("pg_inherits", "i"),
        _whole("pg_extension", "e"),
        _whole("pg_publication", "p"),
        _whole("pg_publication_rel", "p"),
        _whole("pg_foreign_server", "s"),
        _whole("pg_foreign_table", "f"),
        _whole("pg_event_trigger", "e", f"e.oid >= {_USER}"),
        _whole("pg_collation", "c", f"c.oid >= {_USER}"),
        # Extended statistics objects (not their data: pg_statistic_ext_data, which ANALYZE
        # fills).
        _whole("pg_statistic_ext", "x", f"x.oid >= {_USER}"),
        _whole("pg_default_acl", "d", f"d.oid >= {_USER}"),
        # Casts, foreign-data wrappers, and what a range type, an aggregate or an operator
        # holds beyond its pg_type or pg_proc row (CREATE OR REPLACE AGGREGATE, ALTER
        # OPERATOR ... SET): a snapshot prints them (task 428: a cast left behind passed).
        _whole("pg_cast", "c", f"c.oid >= {_USER}"),
        _whole("pg_foreign_data_wrapper", "w", f"w.oid >= {_USER}"),
        _whole("pg_range", "r", f"r.rngtypid >= {_USER}"),
        _whole("pg_aggregate", "a", f"a.aggfnoid >= {_USER}"),
        _whole("pg_operator", "o", f"o.oid >= {_USER}"),
        # What a new session of this database logs in with (ALTER DATABASE/ROLE ... SET):
        # its search_path decides how a snapshot names types and qualifies definitions.
        _whole("pg_db_role_setting", "s", "s.setdatabase IN (0, (SELECT oid FROM "
               "pg_catalog.pg_database WHERE datname = current_database()))"),
        # Role names, which a snapshot prints as owners and grantees (ALTER ROLE ...
        # RENAME); not pg_authid, which only a superuser may read.
        _rows("pg_catalog.pg_roles", "r", "r.oid, r.rolname", record=record),
    ]
    if server_version >= 150000:  # FOR TABLES IN SCHEMA
        parts.append(_whole("pg_publication_namespace", "p"))
    # One number: the sum of every row's hash. A state with rows added or removed differs
    # from another by the sum of their hashes, an offset that stays while those rows do
    # (the down walk of `verify-reversible` carries such an offset past a difference it
    # has already looked at).
    return "SELECT (" + " + ".join(parts) + ")::text"


def _whole_rows(table: str, alias: str, where: str, outer: tuple[str, str, str] | None,
                catalog_columns: Mapping[str, Sequence[tuple[str, bool]]] | None) -> str:
    """Catalogs whose every column is stable: the whole row, each field by its own hash
    function when the catalog's columns are known (`read_catalog_columns`), else its text.

    `outer` (table, alias, where) drives the scan: for each of its rows, the rows of `table`
    found through an index (OFFSET 0 keeps the planner from merging the two into a hash
    join over all of `table`)."""
    if catalog_columns and table in catalog_columns:
        fields = ", ".join(f"{alias}.{name}" if hashable else f"{alias}.{name}::text"
                           for name, hashable in catalog_columns[table])
        row = f"hash_record_extended(ROW({fields}), 0)"
    else:
        row = f"hashtextextended({alias}::text, 0)"
    source = f"pg_catalog.{table} AS {alias}"
    condition = f" WHERE {where}" if where else ""
    if outer is not None:
        outer_table, outer_alias, outer_where = outer
        source = (f"pg_catalog.{outer_table} AS {outer_alias} CROSS JOIN LATERAL "
                  f"(SELECT * FROM {source}{condition} OFFSET 0) AS {alias}")
        condition = f" WHERE {outer_where}"
    return f"(SELECT coalesce(sum({row}), 0) FROM {source}{condition})"


# Every column of the catalogs hashed whole, and whether its type has a hash function of
# its own (an array: its element's); pg_node_tree, int2vector and the like do not, and are
# hashed as text.
_CATALOG_COLUMNS_SQL = """
SELECT c.relname, a.attname,
       EXISTS (SELECT FROM pg_catalog.pg_opclass AS oc
               JOIN pg_catalog.pg_am AS am ON am.oid = oc.opcmethod
               WHERE am.amname = 'hash' AND oc.opcdefault
                 AND oc.opcintype = CASE WHEN e.typarray = t.oid THEN e.oid ELSE t.oid END)
FROM pg_catalog.pg_attribute AS a
JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type AS e ON e.oid = t.typelem
WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relname = ANY (%s)
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

# The catalogs `fingerprint_sql` hashes whole (one missing here is hashed as text: slower,
# not wrong).
_WHOLE = ("pg_constraint", "pg_trigger", "pg_policy", "pg_rewrite", "pg_proc", "pg_type",
          "pg_enum", "pg_sequence", "pg_namespace", "pg_description", "pg_depend",
          "pg_inherits", "pg_extension", "pg_publication", "pg_publication_rel",
          "pg_foreign_server", "pg_foreign_table", "pg_event_trigger", "pg_collation",
          "pg_default_acl", "pg_statistic_ext", "pg_cast", "pg_foreign_data_wrapper",
          "pg_range", "pg_aggregate", "pg_operator", "pg_db_role_setting",
          "pg_publication_namespace")


# The catalogs `dbsafe.schema.introspect` names that the fingerprint does not hash, and
# why no migration's change to them can change a snapshot. Every other one it reads is
# hashed (tests/gates/test_reversible.py holds the two lists together): a catalog a
# snapshot reads and the fingerprint does not is a leftover the walk skips unseen.
NOT_HASHED = {
    "pg_opclass": "only PostgreSQL's own default b-tree classes are read (oid < 16384)",
    "pg_available_extensions": "the extension files installed on the server",
    "pg_database": "names the database in a lock wait's message",
    "pg_locks": "a lock wait's message",
    "pg_stat_activity": "a lock wait's message",
}


def read_catalog_columns(conn: psycopg.Connection) -> dict[str, list[tuple[str, bool]]]:
    """{catalog: [(column, has a hash function)]} of the catalogs `fingerprint_sql` hashes
    whole, on the server `conn` is connected to."""
    columns: dict[str, list[tuple[str, bool]]] = {}
    for table, column, hashable in conn.execute(_CATALOG_COLUMNS_SQL, (list(_WHOLE),)):
        columns.setdefault(table, []).append((column, hashable))
    return columns


def fingerprint(conn: psycopg.Connection) -> str:
    """The fingerprint of the database `conn` is connected to."""
    row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert row is not None
    sql = fingerprint_sql(int(row[0]), read_catalog_columns(conn))
    row = conn.execute(sql.encode()).fetchone()
    assert row is not None
    return str(row[0])
