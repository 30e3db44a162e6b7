"""The quick check (`dbsafe.validate.quick`) may only say "clean" where the resolver and
PostgreSQL both find nothing wrong with a name.

Judged over every statement of the test corpora, each of them with every word replaced in
turn by a name from elsewhere (mutants), and over generated statements that mix known and
unknown tables and columns, aliases that hide table names, joins whose ON names tables
outside the join, placeholders of every driver style and output columns in ORDER BY.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from dbsafe.schema.model import SchemaSnapshot
from dbsafe.validate.confirm import to_numbered_parameters
from dbsafe.validate.resolver import ANALYSED, UNPARSED, Resolver
from tests.validate.test_join_scope_db import _statements as join_shapes

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMAS = ("clinic_schema", "constructs_schema")


def _snapshot(name: str) -> SchemaSnapshot:
    return SchemaSnapshot.load(FIXTURES / f"{name}.json")


def _corpus(name: str) -> list[str]:
    files = {"clinic_schema": ["cases.json", "extra_cases.json"],
             "constructs_schema": ["constructs_cases.json"]}[name]
    statements = [case["sql"] for file in files
                  for case in json.loads((FIXTURES / file).read_text(encoding="utf-8"))]
    if name == "clinic_schema":
        for code in ("DBS301", "DBS302"):
            text = (FIXTURES / f"{code}.sql").read_text(encoding="utf-8")
            statements += [s.strip() for s in text.split(";") if s.strip()]
    else:
        statements += join_shapes()
    return statements


_WORD = re.compile(r"\b[A-Za-z_][A-Za-z_0-9]*\b")


def _mutants(sql: str, names: list[str], rng: random.Random) -> list[str]:
    """`sql` with each word replaced in turn by a name of the schema or a missing one."""
    out = []
    for match in _WORD.finditer(sql):
        out.append(sql[:match.start()] + rng.choice(names) + sql[match.end():])
    return out


class _Generator:
    """Plain statements over a snapshot, right and wrong in every way the quick check
    reads: tables, qualifiers, columns, scopes, placeholders."""

    def __init__(self, snapshot: SchemaSnapshot, rng: random.Random) -> None:
        self.rng = rng
        self.relations = {r.name if r.schema == "public" else f"{r.schema}.{r.name}":
                          [c.name for c in r.columns] for r in snapshot.relations}
        self.tables = [*self.relations, "public.a", "zz_missing", "pg_class"]
        self.columns = sorted({c.name for r in snapshot.relations for c in r.columns}
                              | {"zz_nope", "ctid", "user"})
        self.aliases = ["t", "u", "a", "b", "x", "o", "old"]
        self.ctes: dict[str, list[str]] = {}  # those of the statement being generated

    def placeholder(self) -> str:
        return self.rng.choice(["%s", "%(v)s", ":v", "$1", "1", "'x'", "'a:b %s'", "NULL"])

    def column(self, visible: list[tuple[str, list[str]]]) -> str:
        """Mostly a column of a visible item, by its name or alone; else any name."""
        if visible and self.rng.random() < 0.8:
            qualifier, columns = self.rng.choice(visible)
            name = self.rng.choice(columns or self.columns)
        else:
            qualifier, name = self.rng.choice(self.aliases + ["zz"]), self.rng.choice(self.columns)
        name = f'"{name}"' if name != name.lower() or name in ("user", "order") else name
        return f"{qualifier}.{name}" if self.rng.random() < 0.6 else name

    def condition(self, visible: list[tuple[str, list[str]]], depth: int = 0) -> str:
        column = self.column(visible)
        choices = [
            f"{column} = {self.placeholder()}", f"{column} IS NULL", f"{column} IN (1, 2)",
            f"lower({column}::text) LIKE {self.placeholder()}", f"{column} = {self.column(visible)}",
            f"coalesce({column}, {self.placeholder()}) IS NOT NULL",
            f"CASE WHEN {column} IS NULL THEN true ELSE false END",
        ]
        if depth < 2 and self.rng.random() < 0.3:
            # A subquery: its own items, and the outer ones (correlated) behind them.
            from_list, inner = self.from_list()
            where = self.condition(inner + visible if self.rng.random() < 0.7 else inner, depth + 1)
            choices = [
                f"EXISTS (SELECT 1 FROM {from_list} WHERE {where})",
                f"{column} IN (SELECT {self.column(inner)} FROM {from_list} WHERE {where})",
                f"{column} = (SELECT max({self.column(inner + visible)}) FROM {from_list})",
            ]
        return self.rng.choice(choices)

    def item(self) -> tuple[str, tuple[str, list[str]]]:
        """(FROM item, (the name it is visible by, its columns))."""
        if self.ctes and self.rng.random() < 0.6:
            table = self.rng.choice(list(self.ctes))
        else:
            table = self.rng.choice(self.tables)
        columns = self.ctes.get(table) or self.relations.get(table.removeprefix("public."), [])
        if self.rng.random() < 0.4:
            alias = self.rng.choice(self.aliases)
            return f"{table} AS {alias}", (alias, columns)
        return table, (table.split(".")[-1], columns)

    def from_list(self) -> tuple[str, list[tuple[str, list[str]]]]:
        first, seen = self.item()
        parts, visible = [first], [seen]
        for _ in range(self.rng.randint(0, 2)):
            item, seen = self.item()
            if self.rng.random() < 0.6:
                joined = [visible[-1], seen] if self.rng.random() < 0.7 else [*visible, seen]
                parts[-1] += f" JOIN {item} ON {self.condition(joined)}"
            else:
                parts.append(item)
            visible.append(seen)
        return ", ".join(parts), visible

    def statement(self) -> str:
        self.ctes = {}
        kind = self.rng.choice(["select"] * 5 + ["insert", "update", "delete"])
        if kind == "select" and self.rng.random() < 0.3:
            # WITH: the CTE's columns are its query's output names; it may hide a table.
            from_list, inner = self.from_list()
            picked = [self.column(inner) for _ in range(self.rng.randint(1, 3))]
            name = self.rng.choice(["w", "a", "recent", "patients"])
            body = f"SELECT {', '.join(picked)} FROM {from_list} WHERE {self.condition(inner)}"
            self.ctes = {name: [p.split(".")[-1].strip('"') for p in picked]}
            return f"WITH {name} AS ({body}) {self.select()}"
        if kind == "select":
            return self.select()
        return self.dml(kind)

    def select(self) -> str:
        from_list, visible = self.from_list()
        outputs = [self.column(visible) for _ in range(self.rng.randint(1, 3))]
        if self.rng.random() < 0.2:
            outputs.append("count(*) AS n")
        if self.rng.random() < 0.3:
            outputs.append(f"{self.column(visible)} AS {self.rng.choice(['n', 'label', 'v'])}")
        sql = f"SELECT {', '.join(outputs)} FROM {from_list} WHERE {self.condition(visible)}"
        if self.rng.random() < 0.2:
            sql += f" GROUP BY {self.rng.choice([self.column(visible), 'n', 'v', '1'])}"
            sql += f" HAVING count(*) > {self.placeholder()}"
        if self.rng.random() < 0.3:
            sql += f" ORDER BY {self.rng.choice([self.column(visible), 'n', 'v', '1'])}"
        return sql + self.rng.choice(["", " LIMIT %s", " LIMIT 10"])

    def dml(self, kind: str) -> str:
        target, seen = self.item()
        columns = seen[1] or self.columns
        if kind == "insert":
            names = ", ".join(self.rng.choice(columns if self.rng.random() < 0.8 else self.columns)
                              for _ in range(2))
            sql = f"INSERT INTO {target} ({names}) VALUES ({self.placeholder()}, {self.placeholder()})"
            if self.rng.random() < 0.4:
                key = self.rng.choice(columns if self.rng.random() < 0.8 else self.columns)
                update = self.rng.choice(columns if self.rng.random() < 0.8 else self.columns)
                sql += self.rng.choice([
                    " ON CONFLICT DO NOTHING", f" ON CONFLICT ({key}) DO NOTHING",
                    f" ON CONFLICT ({key}) DO UPDATE SET {update} = excluded.{update}",
                    f" ON CONFLICT ({key}) DO UPDATE SET {update} = "
                    f"{self.column([seen, ('excluded', columns)])} WHERE {self.condition([seen])}",
                ])
            return sql + f" RETURNING {self.column([seen])}"
        visible = [seen]
        extra = ""
        if self.rng.random() < 0.4:
            from_list, more = self.from_list()
            extra, visible = f" {'FROM' if kind == 'update' else 'USING'} {from_list}", [seen, *more]
        if kind == "update":
            column = self.rng.choice(columns if self.rng.random() < 0.8 else self.columns)
            return (f"UPDATE {target} SET {column} = {self.placeholder()}{extra} "
                    f"WHERE {self.condition(visible)} RETURNING {self.column(visible)}")
        return f"DELETE FROM {target}{extra} WHERE {self.condition(visible)}"


def _judged(name: str) -> list[str]:
    """Every statement of the corpus, its mutants and generated ones."""
    snapshot = _snapshot(name)
    rng = random.Random(20261202)
    names = sorted({c.name for r in snapshot.relations for c in r.columns}
                   | {r.name for r in snapshot.relations} | {"zz_missing", "ctid", "sales"})
    corpus = _corpus(name)
    statements = list(corpus)
    for sql in corpus:
        statements += _mutants(sql, names, rng)
    generator = _Generator(snapshot, rng)
    statements += [generator.statement() for _ in range(6000)]
    return statements


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_statement_the_quick_check_passes_the_resolver_finds_clean(name: str) -> None:
    snapshot = _snapshot(name)
    quick, full = Resolver(snapshot), Resolver(snapshot, quick=False)
    assert quick.quick is not None
    passed, disagreements = 0, []
    for sql in _judged(name):
        if not quick.quick.clean(sql):
            continue
        passed += 1
        resolution = full.resolve(sql)
        # sqlglot cannot read a few forms PostgreSQL's parser reads (`interval '1' HOUR TO
        # MINUTE`, `overlay(... PLACING ...)`): there the quick check is the only full check.
        if resolution.problems or resolution.status not in (ANALYSED, UNPARSED):
            disagreements.append(f"{sql}\n    resolver: {resolution}")
    assert not disagreements, "\n".join(disagreements[:20])
    # Not vacuous: a good share of the plain statements take the quick way.
    assert passed > 1000, passed


@pytest.mark.parametrize("sql", [
    "SELECT a.id FROM a JOIN b ON b.a_id = a.id",
    "SELECT t.label, b.y FROM a AS t, b WHERE t.id = b.a_id AND y = %s ORDER BY t.x",
    "INSERT INTO b (a_id, y) VALUES (%(a)s, :y) RETURNING id",
    # psycopg2's execute_values: the rows go where `%s` stands (ListenBrainz)
    "INSERT INTO b (a_id, y) VALUES %(rows)s RETURNING id",
    "UPDATE nodes SET parent_id = $1 WHERE id = $2 RETURNING nodes.parent_id",
    "DELETE FROM b USING c WHERE c.b_id = b.id",
    "SELECT count(*) AS n, max(total) FROM sales.orders WHERE total > 0",
    "SELECT label FROM a WHERE label = 'it''s :not %s a placeholder'",
    "SELECT label AS l, count(*) AS n FROM a GROUP BY l HAVING count(*) > 1 ORDER BY n",
    "SELECT id FROM a WHERE id = ANY (SELECT a_id FROM b WHERE b.y = a.x)",  # correlated
    "SELECT (SELECT max(total) FROM sales.orders o WHERE o.a_id = t.id) FROM a t",
    "INSERT INTO a (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET x = excluded.x WHERE a.x < 0",
    "INSERT INTO a AS t (id) VALUES (1) ON CONFLICT DO NOTHING RETURNING t.id",
    "WITH w AS (SELECT id, label AS l FROM a) SELECT w.l, y FROM w JOIN b ON b.a_id = w.id",
    "WITH a AS (SELECT 1 AS one) SELECT one FROM a",  # the CTE hides the table
    "WITH v AS (SELECT id FROM a), w AS (SELECT id FROM v) SELECT * FROM w ORDER BY id",
    "SELECT id FROM b WHERE a_id IN (WITH w AS (SELECT id FROM a) SELECT id FROM w)",
])
def test_plain_statements_take_the_quick_way(sql: str) -> None:
    quick = Resolver(_snapshot("constructs_schema")).quick
    assert quick is not None and quick.clean(sql)


@pytest.mark.parametrize("sql", [
    "SELECT nope FROM a",  # unknown column
    "SELECT id FROM missing",  # unknown table
    "SELECT a.id FROM a AS t",  # the alias hides the table's name
    "SELECT id FROM a, b",  # ambiguous
    "SELECT 1 FROM a, b JOIN c ON a.id = c.b_id",  # ON sees only its join
    "UPDATE b SET y = 1 FROM c JOIN nodes ON b.id = nodes.id",  # nor the UPDATE target
    "WITH w AS (SELECT 1) SELECT * FROM w",  # a CTE
    "SELECT 'b'::regclass",  # a relation named by a string
    "SELECT nextval('s')",
    "SELECT ctid FROM a",  # a system column
    "SELECT id FROM a -- a comment: %s",
    "SELECT $$x$$ FROM a",
    "SELECT id FROM a WHERE doc ? 'k'",  # `?`: a jsonb operator or a placeholder
    "UPDATE a SET x = 1 RETURNING old.x",  # PostgreSQL 18's
    "UPDATE a SET a.x = 1",  # SET takes the column alone
    "SELECT id FROM a; SELECT id FROM b",  # two statements
    "SELECT * FROM pg_custom",  # pg_catalog is searched first
    "SELECT id FROM a WHERE id IN (SELECT nope FROM b)",  # unknown inside a subquery
    # The inner `a` (b) decides, although the outer `a` has `label`.
    "SELECT id FROM a WHERE EXISTS (SELECT 1 FROM b AS a WHERE a.label = 'x')",
    "SELECT x AS n, label AS n FROM a ORDER BY n",  # two outputs named n: ambiguous
    "SELECT id AS l FROM a WHERE l = 1",  # WHERE cannot see output columns
    "INSERT INTO a (id) VALUES (1) ON CONFLICT (nope) DO NOTHING",
    "INSERT INTO a (id) VALUES (1) ON CONFLICT ON CONSTRAINT a_pkey DO NOTHING",
    "INSERT INTO a (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET x = excluded.nope",
    "INSERT INTO a AS t (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET x = a.x",
    "SELECT id FROM a UNION SELECT id FROM b",  # a set operation
    "WITH a AS (SELECT 1 AS one) SELECT label FROM a",  # the CTE hides the table's columns
    "WITH w AS (SELECT id FROM v), v AS (SELECT id FROM a) SELECT id FROM w",  # not yet
    "WITH w AS (SELECT * FROM a) SELECT label FROM w",  # a star: columns not counted here
    "WITH w AS (SELECT id, id FROM a) SELECT id FROM w",  # two columns named id
    "WITH w AS (SELECT lower(label) FROM a) SELECT lower FROM w",  # a made-up name
    "WITH RECURSIVE w AS (SELECT 1 AS n) SELECT n FROM w",
    "SELECT id FROM b WHERE a_id IN (WITH w AS (SELECT id FROM a) SELECT id FROM w) "
    "AND EXISTS (SELECT 1 FROM w)",  # a CTE of a subquery is not seen outside it
    "WITH w AS (SELECT id FROM a) UPDATE b SET y = 1 FROM w WHERE w.id = b.a_id",
])
def test_anything_else_goes_to_the_resolver(sql: str) -> None:
    quick = Resolver(_snapshot("constructs_schema")).quick
    assert quick is not None and not quick.clean(sql)


_NAME_ERRORS = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn,
                psycopg.errors.AmbiguousColumn, psycopg.errors.DuplicateAlias)


@pytest.mark.db
@pytest.mark.parametrize("name", SCHEMAS)
def test_postgresql_finds_every_name_the_quick_check_passes(
    name: str, postgresql: psycopg.Connection
) -> None:
    postgresql.prepare_threshold = None
    postgresql.execute((FIXTURES / f"{name}.sql").read_text(encoding="utf-8"))
    postgresql.commit()
    postgresql.autocommit = True
    quick = Resolver(_snapshot(name)).quick
    assert quick is not None
    rejected, prepared, others = [], 0, Counter[str]()
    for sql in _judged(name):
        if not quick.clean(sql):
            continue
        try:
            # PREPARE analyses without running; a prepared statement outlives a rollback.
            postgresql.execute(f"PREPARE quick AS {to_numbered_parameters(sql)}")
            postgresql.execute("DEALLOCATE quick")
            prepared += 1
        except _NAME_ERRORS as exc:
            rejected.append(f"{sql}\n    PostgreSQL: {exc.sqlstate}: {exc}")
        except psycopg.Error as exc:
            others[type(exc).__name__] += 1  # a type or grouping error: not validate's
    assert not rejected, "\n".join(rejected[:20])
    # Most of them PostgreSQL prepares outright (the rest fail on types, after their names).
    assert prepared > 500, (prepared, others)
