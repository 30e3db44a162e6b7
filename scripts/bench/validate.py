"""Benchmark `dbsafe validate` as users run it, against PostgreSQL's own PREPARE and sqlglot.

Starts a throwaway PostgreSQL, builds a schema of a few hundred tables (8-20 columns each,
foreign keys between some, a few views), introspects it to a snapshot file, and generates a
repository of `.sql` and `.py` files (SQL in `cur.execute("...")`, `text("...")`, asyncpg
`fetch("...")`, module constants and triple-quoted strings) holding simple selects, joins,
CTEs, aggregates, subqueries, INSERT ... RETURNING, UPDATE ... FROM, DELETE ... USING and
upserts with `%s`, `%(name)s`, `:name` and `$1` placeholders. About 1% of the statements
(`--bug-rate`; 0.5 for the finding-heavy case) reference a column or table the schema lacks
(planted bugs). Everything is seeded.

Then, every contender a whole process (scripts/bench/harness.py: interleaved A B C A B C
after a warm-up round, medians with min-max, ratios run by run, CPU and peak memory from the
kernel, the load average), over the same statements:

  Static (the snapshot), against the bare PREPARE loop:
    bare PREPARE        one process: connect, `pgconn.prepare` each statement (its driver
                        placeholders rewritten to `$n` beforehand, outside every timing)
    validate, cold      `dbsafe validate REPO --snapshot S --no-confirm --no-cache`
    pipelined PREPARE   the floor: every Parse in one libpq pipeline, one round trip
    sqlglot parse       `sqlglot.parse(sql, read="postgres")` of each statement, one core
    validate, cached    the same command with its cache filled (nothing changed)

  Confirmed (the database), against the same command without confirmation:
    validate, no confirm  `dbsafe validate REPO --database-url URL --no-confirm --no-cache`
    validate, confirmed   `dbsafe validate REPO --database-url URL --no-cache`
    bare PREPARE          as above

The findings of one run of each dbsafe command are matched to the planted bugs by file and
line, and PostgreSQL's own verdicts (42703/42P01) the same way, which checks the generator.

Usage:
    python3 scripts/bench/validate.py                          # 5,000 files / 50,000 statements
    python3 scripts/bench/validate.py --files 500 --statements 10000 --bug-rate 0.5
    python3 scripts/bench/validate.py --files 200 --statements 2000 --runs 3
    python3 scripts/bench/validate.py --profile 300            # + cProfile, in-process
    python3 scripts/bench/validate.py --baseline DIR           # + the checkout in DIR, cold,
                                                               #   confirmed and cached
                                                               #   (own cache folders),
                                                               #   interleaved
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED = 20251122
TABLES = 300
VIEWS = 12
BUG_RATE = 0.01

# (column name, type); `id bigint` is always the first column.
_COLUMN_POOL = (
    ("name", "text"), ("email", "text"), ("status", "text"), ("title", "varchar(200)"),
    ("note", "text"), ("code", "varchar(32)"), ("amount", "numeric(12,2)"),
    ("price", "numeric(12,2)"), ("qty", "integer"), ("score", "integer"),
    ("weight", "double precision"), ("is_active", "boolean"), ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"), ("due_on", "date"), ("payload", "jsonb"),
    ("ref_no", "bigint"), ("version", "integer"), ("label", "text"), ("region", "text"),
    ("priority", "smallint"), ("balance", "numeric(14,2)"), ("deleted_at", "timestamptz"),
    ("external_id", "uuid"), ("comment_count", "integer"), ("city", "text"),
    ("country", "char(2)"), ("ratio", "real"), ("flags", "integer"), ("slug", "text"),
)
_NUMERIC = frozenset({"numeric(12,2)", "numeric(14,2)", "integer", "bigint", "smallint",
                      "double precision", "real"})
_NOUNS = ("account", "invoice", "order_line", "shipment", "customer", "product", "ticket",
          "payment", "vendor", "warehouse", "contract", "session", "device", "campaign",
          "project", "task", "review", "coupon", "refund", "address")


# -- schema ------------------------------------------------------------------------------


@dataclass
class Table:
    name: str
    columns: list[tuple[str, str]]  # without id and the foreign-key columns
    fks: list[tuple[str, str]] = field(default_factory=list)  # (column, parent table)
    view: bool = False

    @property
    def names(self) -> list[str]:
        return ["id", *(c for c, _ in self.fks), *(c for c, _ in self.columns)]


def make_schema(rng: random.Random) -> tuple[list[Table], list[Table]]:
    tables: list[Table] = []
    for i in range(TABLES):
        width = rng.randint(7, 17)  # + id (+ 0-2 fks) = 8-20 columns
        table = Table(f"{_NOUNS[i % len(_NOUNS)]}_{i:03d}", rng.sample(_COLUMN_POOL, width))
        if i and rng.random() < 0.5:
            for parent in rng.sample(tables, min(len(tables), rng.randint(1, 2))):
                table.fks.append((f"{parent.name}_id", parent.name))
        tables.append(table)
    views = []
    for base in rng.sample(tables, VIEWS):
        views.append(Table(f"v_{base.name}", base.columns[:4], [], view=True))
    return tables, views


def schema_ddl(tables: list[Table], views: list[Table]) -> str:
    out = []
    for t in tables:
        cols = ["    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"]
        cols += [f"    {c} bigint REFERENCES {p} (id)" for c, p in t.fks]
        cols += [f"    {c} {ty}" for c, ty in t.columns]
        out.append(f"CREATE TABLE {t.name} (\n" + ",\n".join(cols) + "\n);\n")
    base = {t.name: t for t in tables}
    for v in views:
        source = base[v.name[2:]]
        names = ", ".join(["id", *(c for c, _ in v.columns)])
        out.append(f"CREATE VIEW {v.name} AS SELECT {names} FROM {source.name};\n")
    return "".join(out)


def build_database(conninfo: str, ddl: str) -> None:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("BEGIN;\n" + ddl + "COMMIT;")
        conn.execute("ANALYZE")


# -- statements ----------------------------------------------------------------------------


class Params:
    """Placeholders in one style: `%s`, `%(name)s`, `:name` or `$n`."""

    def __init__(self, style: str) -> None:
        self.style = style
        self.n = 0

    def __call__(self, name: str) -> str:
        self.n += 1
        if self.style == "format":
            return "%s"
        if self.style == "pyformat":
            return f"%({name}_{self.n})s"
        if self.style == "named":
            return f":{name}_{self.n}"
        return f"${self.n}"


class Generator:
    """Random statements over the schema; `bug` plants one missing column or table."""

    def __init__(self, rng: random.Random, tables: list[Table], views: list[Table]) -> None:
        self.rng = rng
        self.tables = tables
        self.views = views
        self.by_name = {t.name: t for t in tables}
        self.children = [t for t in tables if t.fks]
        self.shapes = (
            (self.simple_select, 20), (self.join, 14), (self.cte, 8), (self.aggregate, 10),
            (self.subquery, 8), (self.insert_returning, 10), (self.update_from, 8),
            (self.delete_using, 6), (self.upsert, 8), (self.view_select, 8),
        )
        self.weights = [w for _, w in self.shapes]

    def statement(self, style: str, bug: str | None) -> str:
        shape = self.rng.choices(self.shapes, self.weights)[0][0]
        return shape(Params(style), bug)

    # helpers
    def table(self) -> Table:
        return self.rng.choice(self.tables)

    def cols(self, t: Table, k: int) -> list[str]:
        names = [c for c, _ in t.columns]
        return self.rng.sample(names, min(k, len(names)))

    def col(self, t: Table, bug: str | None = None) -> str:
        """A column of `t`, or (bug == "column") a plausible name `t` lacks."""
        name = self.rng.choice([c for c, _ in t.columns])
        if bug != "column":
            return name
        for wrong in (name + "_old", name[:-1], "legacy_" + name):
            if wrong not in t.names:
                return wrong
        raise AssertionError(name)

    def relname(self, t: Table, bug: str | None) -> str:
        return t.name + "_archive" if bug == "table" else t.name

    def numeric(self, t: Table) -> str | None:
        nums = [c for c, ty in t.columns if ty in _NUMERIC]
        return self.rng.choice(nums) if nums else None

    # shapes
    def simple_select(self, p: Params, bug: str | None) -> str:
        t = self.table()
        cols = ", ".join(["id", *self.cols(t, self.rng.randint(1, 5))])
        where = self.col(t, bug)
        order = self.rng.choice(["id", *self.cols(t, 1)])
        return (f"SELECT {cols} FROM {self.relname(t, bug)} WHERE {where} = {p(where)} "
                f"ORDER BY {order} LIMIT {p('limit')}")

    def view_select(self, p: Params, bug: str | None) -> str:
        v = self.rng.choice(self.views)
        cols = ", ".join(["id", *self.cols(v, 2)])
        where = self.col(v, bug)
        return f"SELECT {cols} FROM {self.relname(v, bug)} WHERE {where} = {p(where)}"

    def join(self, p: Params, bug: str | None) -> str:
        child = self.rng.choice(self.children)
        fk, parent_name = self.rng.choice(child.fks)
        parent = self.by_name[parent_name]
        sel = [f"c.{c}" for c in self.cols(child, 2)] + [f"p.{c}" for c in self.cols(parent, 2)]
        where = self.col(parent, bug)
        kind = self.rng.choice(["JOIN", "LEFT JOIN", "INNER JOIN"])
        return (f"SELECT c.id, {', '.join(sel)} FROM {child.name} AS c "
                f"{kind} {self.relname(parent, bug)} AS p ON p.id = c.{fk} "
                f"WHERE p.{where} = {p(where)} ORDER BY c.id")

    def cte(self, p: Params, bug: str | None) -> str:
        t = self.table()
        cols = self.cols(t, 3)
        where = self.col(t, bug)
        outer = ", ".join(f"r.{c}" for c in cols)
        return (f"WITH recent AS (SELECT id, {', '.join(cols)} FROM {self.relname(t, bug)} "
                f"WHERE {where} = {p(where)}) "
                f"SELECT r.id, {outer} FROM recent AS r ORDER BY r.id DESC LIMIT {p('limit')}")

    def aggregate(self, p: Params, bug: str | None) -> str:
        t = self.table()
        group = self.col(t)
        num = self.numeric(t)
        agg = f"SUM({num}) AS total, MAX({num}) AS top" if num else "MAX(id) AS top"
        where = self.col(t, bug)
        return (f"SELECT {group}, COUNT(*) AS n, {agg} FROM {self.relname(t, bug)} "
                f"WHERE {where} = {p(where)} GROUP BY {group} "
                f"HAVING COUNT(*) > {p('min_count')} ORDER BY n DESC")

    def subquery(self, p: Params, bug: str | None) -> str:
        child = self.rng.choice(self.children)
        fk, parent_name = self.rng.choice(child.fks)
        parent = self.by_name[parent_name]
        cols = ", ".join(["id", *self.cols(parent, 3)])
        where = self.col(child, bug)
        if self.rng.random() < 0.5:
            return (f"SELECT {cols} FROM {parent.name} WHERE id IN "
                    f"(SELECT {fk} FROM {self.relname(child, bug)} WHERE {where} = {p(where)})")
        return (f"SELECT {cols} FROM {parent.name} AS p WHERE EXISTS "
                f"(SELECT 1 FROM {self.relname(child, bug)} AS c "
                f"WHERE c.{fk} = p.id AND c.{where} = {p(where)})")

    def insert_returning(self, p: Params, bug: str | None) -> str:
        t = self.table()
        cols = self.cols(t, self.rng.randint(2, 6))
        if bug == "column":
            cols[-1] = self.col(t, bug)
        values = ", ".join(p(c) for c in cols)
        ret = ", ".join(["id", *self.cols(t, 1)])
        return (f"INSERT INTO {self.relname(t, bug)} ({', '.join(cols)}) VALUES ({values}) "
                f"RETURNING {ret}")

    def update_from(self, p: Params, bug: str | None) -> str:
        child = self.rng.choice(self.children)
        fk, parent_name = self.rng.choice(child.fks)
        parent = self.by_name[parent_name]
        target = self.col(child)
        where = self.col(parent, bug)
        return (f"UPDATE {child.name} SET {target} = {p(target)} "
                f"FROM {self.relname(parent, bug)} AS p "
                f"WHERE p.id = {child.name}.{fk} AND p.{where} = {p(where)} "
                f"RETURNING {child.name}.id")

    def delete_using(self, p: Params, bug: str | None) -> str:
        child = self.rng.choice(self.children)
        fk, parent_name = self.rng.choice(child.fks)
        parent = self.by_name[parent_name]
        where = self.col(parent, bug)
        return (f"DELETE FROM {child.name} AS c USING {self.relname(parent, bug)} AS p "
                f"WHERE p.id = c.{fk} AND p.{where} = {p(where)}")

    def upsert(self, p: Params, bug: str | None) -> str:
        t = self.table()
        cols = self.cols(t, self.rng.randint(1, 4))
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
        if bug == "column":  # in the column list only, so the bug is referenced once
            cols.append(self.col(t, bug))
        values = ", ".join(p(c) for c in ["id", *cols])
        return (f"INSERT INTO {self.relname(t, bug)} (id, {', '.join(cols)}) VALUES ({values}) "
                f"ON CONFLICT (id) DO UPDATE SET {sets}")


# -- repository ----------------------------------------------------------------------------


@dataclass
class Planted:
    path: str
    start: int  # first and last line of the statement in the file (1-based)
    end: int
    kind: str  # "column" | "table"
    sql: str


@dataclass
class Repo:
    root: Path
    files: int = 0
    statements: int = 0
    ranges: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)  # path -> (start, end, planted index or -1)
    planted: list[Planted] = field(default_factory=list)

    def statement_at(self, path: str, line: int) -> tuple[int, int, int] | None:
        ranges = self.ranges.get(path, [])
        i = bisect.bisect_right(ranges, (line, 1 << 30, 1 << 30)) - 1
        if i >= 0 and ranges[i][0] <= line <= ranges[i][1]:
            return ranges[i]
        return None


def _wrap(sql: str, indent: str) -> list[str]:
    """Break a one-line statement before its main keywords, for multi-line forms."""
    for word in (" FROM ", " WHERE ", " GROUP BY ", " ORDER BY ", " RETURNING ", " ON CONFLICT ",
                 " USING ", " SET ", " VALUES ", " HAVING "):
        sql = sql.replace(word, "\n" + word.lstrip())
    return [indent + line for line in sql.split("\n")]


class FileWriter:
    """Builds one file line by line, recording which lines each statement covers."""

    def __init__(self, repo: Repo, rel: str) -> None:
        self.repo = repo
        self.rel = rel
        self.lines: list[str] = []
        self.ranges: list[tuple[int, int, int]] = []

    def add(self, lines: list[str], sql: str, bug: str | None, *, first: int = 0,
            last: int | None = None) -> None:
        """Append `lines`; the statement spans lines[first:last]."""
        start = len(self.lines) + 1 + first
        end = len(self.lines) + (len(lines) if last is None else last)
        index = -1
        if bug:
            index = len(self.repo.planted)
            self.repo.planted.append(Planted(self.rel, start, end, bug, sql))
        self.ranges.append((start, end, index))
        self.lines.extend(lines)
        self.repo.statements += 1

    def text(self, lines: list[str]) -> None:
        self.lines.extend(lines)

    def close(self) -> None:
        path = self.repo.root / self.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        self.repo.ranges[self.rel] = self.ranges
        self.repo.files += 1


def write_sql_file(w: FileWriter, gen: Generator, bugs: list[str | None]) -> None:
    w.text([f"-- generated queries, {len(bugs)} statements", ""])
    for bug in bugs:
        style = gen.rng.choice(["numeric", "numeric", "named"])
        sql = gen.statement(style, bug)
        if gen.rng.random() < 0.5:
            w.add([sql + ";"], sql, bug)
        else:
            lines = _wrap(sql, "")
            lines[-1] += ";"
            w.add(lines, sql, bug)
        w.text([""])


def write_py_file(w: FileWriter, gen: Generator, bugs: list[str | None], n: int) -> None:
    rng = gen.rng
    w.text([f'"""Generated data-access module {n}."""', "",
            "from sqlalchemy import text", "", ""])
    for i, bug in enumerate(bugs):
        form = rng.choice(("execute", "execute", "text", "fetch", "constant", "triple"))
        if form == "execute":
            sql = gen.statement(rng.choice(["format", "pyformat"]), bug)
            w.text([f"def query_{i}(cur, params):"])
            w.add([f'    cur.execute("{sql}", params)'], sql, bug)
            w.text(["    return cur.fetchall()", "", ""])
        elif form == "text":
            sql = gen.statement("named", bug)
            w.text([f"def query_{i}(conn, **params):"])
            w.add([f'    return conn.execute(text("{sql}"), params)'], sql, bug)
            w.text(["", ""])
        elif form == "fetch":
            sql = gen.statement("numeric", bug)
            w.text([f"async def query_{i}(conn, *args):"])
            w.add([f'    return await conn.fetch("{sql}", *args)'], sql, bug)
            w.text(["", ""])
        elif form == "constant":
            sql = gen.statement(rng.choice(["format", "pyformat"]), bug)
            lines = [f'QUERY_{i} = """', *_wrap(sql, "    "), '"""']
            w.add(lines, sql, bug)
            w.text(["", ""])
        else:
            sql = gen.statement(rng.choice(["format", "pyformat", "numeric"]), bug)
            w.text([f"def query_{i}(cur, params):"])
            lines = ['    cur.execute(', '        """', *_wrap(sql, "        "),
                     '        """,', '        params,', '    )']
            w.add(lines, sql, bug, first=1, last=len(lines) - 2)
            w.text(["    return cur.fetchall()", "", ""])


def generate_repo(root: Path, gen: Generator, files: int, statements: int,
                  bug_rate: float = BUG_RATE) -> Repo:
    rng = gen.rng
    repo = Repo(root)
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "bench-app"\n\n[tool.dbsafe]\n')
    bugs: list[str | None] = [None] * statements
    for i in rng.sample(range(statements), max(1, round(statements * bug_rate))):
        bugs[i] = "column" if rng.random() < 0.7 else "table"
    per_file = [statements // files + (1 if i < statements % files else 0) for i in range(files)]
    offset = 0
    for i, count in enumerate(per_file):
        chunk = bugs[offset:offset + count]
        offset += count
        package = f"app/pkg{i // 100:02d}"
        if rng.random() < 0.4:
            w = FileWriter(repo, f"{package}/queries_{i:05d}.sql")
            write_sql_file(w, gen, chunk)
        else:
            w = FileWriter(repo, f"{package}/repo_{i:05d}.py")
            write_py_file(w, gen, chunk, i)
        w.close()
    return repo


# -- measurements --------------------------------------------------------------------------


def dbsafe_json(repo: Path, source: list[str], env: dict[str, str]) -> dict:
    """One uncached run's JSON report, for the accuracy check (outside every timing)."""
    command = [sys.executable, "-m", "dbsafe", "validate", str(repo), *source, "--no-cache",
               "--format", "json"]
    proc = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"dbsafe failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout)


def extract_statements(repo: Repo) -> list[tuple[str, int, str]]:
    """(path, line, sql) of every fragment dbsafe's extractor finds, in file order."""
    from dbsafe.extract.files import discover, extract_file

    out = []
    for path in discover([repo.root], root=repo.root):
        for fragment in extract_file(path, root=repo.root).fragments:
            out.append((fragment.path, fragment.line, fragment.sql))
    return out


def peer(kind: str, statements_file: str, url: str = "") -> None:
    """A peer as its own process (`validate.py peer KIND FILE [URL]`): the statements are a
    JSON list, read before the work starts, as a checker reads its files."""
    statements = json.loads(Path(statements_file).read_text(encoding="utf-8"))
    if kind == "sqlglot":
        import sqlglot

        for sql in statements:
            with contextlib.suppress(Exception):  # a checker catches whatever it raises
                sqlglot.parse(sql, read="postgres")
        return
    import psycopg

    encoded = [sql.encode() for sql in statements]
    with psycopg.connect(url, autocommit=True) as conn:
        pg = conn.pgconn
        if kind == "bare":
            for sql in encoded:
                pg.prepare(b"", sql)
            return
        assert kind == "pipelined"
        pg.enter_pipeline_mode()
        # Bounded, as dbsafe's confirm() batches: nothing reads the replies (an error is a
        # few hundred bytes) while a chunk is sent, so they must fit the socket buffers.
        for first in range(0, len(encoded), 100):
            chunk = encoded[first:first + 100]
            for sql in chunk:
                pg.send_prepare(b"", sql)
                pg.pipeline_sync()  # an error aborts only up to its Sync, as PREPARE alone
            for _ in chunk:
                while pg.get_result() is not None:
                    pass
                pg.get_result()  # the Sync
        pg.exit_pipeline_mode()


def time_confirm(url: str, statements: list[str]) -> list:
    from dbsafe.validate.confirm import confirm

    return confirm(url, statements)


def rates(figures, statements: int) -> str:
    import statistics

    return "\n".join(f"  {fig.name}: {statements / statistics.median(fig.wall):,.0f} "
                     "statements/s" for fig in figures)


# -- checking findings against the planted bugs ---------------------------------------------


def match(repo: Repo, located: list[tuple[str, int, str]]) -> tuple[Counter, list, list]:
    """Per planted bug, how many of `located` (path, line, label) fall in it; plus strays."""
    hits: Counter = Counter()
    strays = []
    for path, line, label in located:
        where = repo.statement_at(path, line)
        if where is None or where[2] < 0:
            strays.append((path, line, label))
        else:
            hits[where[2]] += 1
    misses = [p for i, p in enumerate(repo.planted) if hits[i] == 0]
    return hits, strays, misses


def report_check(title: str, repo: Repo, located: list[tuple[str, int, str]],
                 sql_at: dict[tuple[str, int], str]) -> bool:
    hits, strays, misses = match(repo, located)
    doubles = sum(1 for n in hits.values() if n > 1)
    ok = not strays and not misses and not doubles
    print(f"{title}: planted {len(repo.planted)}, reported {len(located)}, "
          f"matched {len(hits)}, false positives {len(strays)}, misses {len(misses)}, "
          f"planted bugs reported more than once {doubles}" + ("  OK" if ok else "  MISMATCH"))
    for path, line, label in strays[:8]:
        where = repo.statement_at(path, line)
        sql = sql_at.get((path, where[0])) if where else None
        print(f"  false positive {path}:{line}: {label}")
        if sql:
            print(f"      {sql[:300]}")
    for p in misses[:8]:
        print(f"  missed ({p.kind}) {p.path}:{p.start}: {p.sql[:300]}")
    shown = 0
    for index, count in hits.items():
        if count > 1 and shown < 4:
            shown += 1
            p = repo.planted[index]
            labels = [label for path, line, label in located
                      if path == p.path and p.start <= line <= p.end]
            print(f"  {count} reports for one planted {p.kind} bug at {p.path}:{p.start}: "
                  f"{p.sql[:300]}")
            for label in labels:
                print(f"      {label}")
    return ok


# -- main ----------------------------------------------------------------------------------


def profile(repo: Path, snapshot: Path, files: int) -> None:
    """cProfile an in-process `commands.validate` (jobs=1, no cache) over the first files."""
    import cProfile
    import pstats

    from dbsafe import commands
    from dbsafe.config import load_settings
    from dbsafe.extract.files import discover

    paths = discover([repo], root=repo)[:files]
    settings = load_settings(repo, {"snapshot": str(snapshot), "confirm": False, "jobs": 1,
                                    "cache": False})
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    report = commands.validate(settings, paths)
    profiler.disable()
    elapsed = time.perf_counter() - start
    n = int(str(report.summary["statements"]))
    print(f"\ncProfile: {len(paths)} files, {n} statements, {elapsed:.2f}s under the profiler "
          f"({n / elapsed:,.0f} statements/s)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(30)


def main() -> int:
    if sys.argv[1:2] == ["peer"]:
        peer(*sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--statements", type=int, default=50000)
    parser.add_argument("--runs", type=int, default=3, help="counted runs per contender")
    parser.add_argument("--keep", action="store_true", help="keep the generated repository")
    parser.add_argument("--bug-rate", type=float, default=BUG_RATE, metavar="RATE",
                        help="share of statements with a planted bug (0.5: finding-heavy)")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also run the dbsafe checkout in DIR (git archive COMMIT | tar -x)")
    parser.add_argument("--profile", type=int, metavar="FILES", default=0,
                        help="also cProfile an in-process validate over this many files")
    args = parser.parse_args()
    if args.statements < args.files:
        parser.error("--statements must be at least --files")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from harness import clean_env, compare, load, report

    from dbsafe.pg.throwaway import throwaway_server
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.validate.confirm import to_numbered_parameters

    rng = random.Random(SEED)
    tables, views = make_schema(rng)
    workdir = Path(tempfile.mkdtemp(prefix="dbsafe-bench-validate-"))
    env = clean_env(workdir / "pycache")
    ok = True
    try:
        with throwaway_server(database="bench") as server:
            url = server.url("bench")
            t0 = time.perf_counter()
            build_database(server.conninfo("bench"), schema_ddl(tables, views))
            snapshot = introspect_url(url)
            snapshot_file = workdir / "snapshot.json"
            snapshot.save(snapshot_file)
            print(f"schema: {len(tables)} tables ({sum(len(t.names) for t in tables)} columns, "
                  f"{sum(len(t.fks) for t in tables)} foreign keys), {len(views)} views; "
                  f"built and introspected in {time.perf_counter() - t0:.1f}s")

            t0 = time.perf_counter()
            repo = generate_repo(workdir / "repo", Generator(rng, tables, views),
                                 args.files, args.statements, args.bug_rate)
            kinds = Counter(p.kind for p in repo.planted)
            print(f"repository: {repo.files} files, {repo.statements} statements, "
                  f"{len(repo.planted)} planted bugs ({kinds['column']} missing column, "
                  f"{kinds['table']} missing table), generated in "
                  f"{time.perf_counter() - t0:.1f}s at {repo.root}")

            extracted = extract_statements(repo)
            sql_at = {(path, found[0]): sql for path, line, sql in extracted
                      if (found := repo.statement_at(path, line)) is not None}
            statements = [sql for _, _, sql in extracted]
            numbered = [to_numbered_parameters(sql) for sql in statements]
            statements_file = workdir / "statements.json"
            statements_file.write_text(json.dumps(numbered), encoding="utf-8")
            print(f"extractor: {len(statements)} statements (generated {repo.statements}); "
                  "placeholders rewritten to $n for the PREPARE peers, outside every timing")
            if len(statements) != repo.statements:
                print("  WARNING: the extractor does not see every generated statement")
                ok = False

            # Accuracy, once each, outside the timings.
            document = dbsafe_json(repo.root, ["--snapshot", str(snapshot_file),
                                               "--no-confirm"], env)
            confirmed_document = dbsafe_json(repo.root, ["--database-url", url], env)
            verdicts = time_confirm(url, numbered)

            dbsafe = [sys.executable, "-m", "dbsafe", "validate", str(repo.root)]
            this = [sys.executable, __file__, "peer"]
            static = [*dbsafe, "--snapshot", str(snapshot_file), "--no-confirm"]
            live = [*dbsafe, "--database-url", url]
            print(f"\npython {sys.version.split()[0]}; {load()}; {args.runs} runs each after 1 "
                  "warm-up, interleaved")
            first = compare([
                ("bare PREPARE loop", [*this, "bare", str(statements_file), url]),
                ("dbsafe validate, cold", [*static, "--no-cache"]),
                ("pipelined PREPARE (floor)", [*this, "pipelined", str(statements_file), url]),
                ("sqlglot parse alone", [*this, "sqlglot", str(statements_file)]),
                ("dbsafe validate, cached", static),
            ], runs=args.runs, env=env, cwd=str(repo.root))
            print(report(first, title=f"Static: {len(statements)} statements in {repo.files} "
                                      "files against the snapshot"))
            print(rates(first, len(statements)))
            second = compare([
                ("validate --database-url --no-confirm", [*live, "--no-confirm", "--no-cache"]),
                ("validate --database-url (confirmed)", [*live, "--no-cache"]),
                ("bare PREPARE loop", [*this, "bare", str(statements_file), url]),
            ], runs=args.runs, env=env, cwd=str(repo.root))
            print(report(second, title=f"Confirmed by PostgreSQL: "
                                       f"{len(confirmed_document['findings'])} findings"))
            print(rates(second, len(statements)))
            if args.baseline:
                # `python -m` puts the working directory first: run both from the workdir.
                def version(root: Path, cache: str = "") -> list[str]:
                    # Each tree its own cache folder: their cache versions may differ, and
                    # each would throw the other's away.
                    folder = [f"DBSAFE_CACHE_DIR={workdir / ('cache-' + cache)}"] if cache else []
                    return ["env", f"PYTHONPATH={root.resolve()}", *folder, sys.executable,
                            "-m", "dbsafe", "validate", str(repo.root)]

                # A snapshot is read by the dbsafe that writes its format: an older one
                # refuses fields it does not know, so the baseline reads its own dump.
                baseline_snapshot = workdir / "snapshot-baseline.json"
                subprocess.run(["env", f"PYTHONPATH={args.baseline.resolve()}", sys.executable,
                                "-m", "dbsafe", "schema", "dump", "--database-url", url,
                                "--output", str(baseline_snapshot)],
                               check=True, cwd=str(workdir), env=env,
                               stdout=subprocess.DEVNULL)
                static_baseline = [str(baseline_snapshot) if part == str(snapshot_file)
                                   else part for part in static]
                third = compare([
                    ("baseline: cold", [*version(args.baseline), *static_baseline[len(dbsafe):],
                                        "--no-cache"]),
                    ("this: cold", [*version(ROOT), *static[len(dbsafe):], "--no-cache"]),
                    ("baseline: confirmed", [*version(args.baseline), *live[len(dbsafe):],
                                             "--no-cache"]),
                    ("this: confirmed", [*version(ROOT), *live[len(dbsafe):], "--no-cache"]),
                    ("baseline: cached", [*version(args.baseline, "baseline"),
                                          *static_baseline[len(dbsafe):]]),
                    ("this: cached", [*version(ROOT, "this"), *static[len(dbsafe):]]),
                ], runs=args.runs, env=env, cwd=str(workdir))
                print(report(third[:2], title="Before/after: cold, static"))
                print(report(third[2:4], title="Before/after: confirmed"))
                print(report(third[4:], title="Before/after: cached (nothing changed)"))

        summary = document["summary"]
        print("\ndbsafe summary (static): " + ", ".join(
            f"{k} {summary.get(k)}" for k in ("files", "statements", "statements_analysed",
                                              "statements_not_analysed", "statements_unparsed",
                                              "statements_dynamic")))
        located = [(f["path"], f["line"], f"{f['code']} {f['message']}")
                   for f in document["findings"]]
        ok &= report_check("dbsafe findings", repo, located, sql_at)
        confirmed_located = [(f["path"], f["line"], f"{f['code']} {f['message']}")
                             for f in confirmed_document["findings"]]
        ok &= report_check("dbsafe findings, confirmed", repo, confirmed_located, sql_at)
        pg_located = [(path, line, f"{v.sqlstate} {v.message}")
                      for (path, line, _), v in zip(extracted, verdicts) if v.rejected]
        ok &= report_check("PostgreSQL 42703/42P01", repo, pg_located, sql_at)
        other = Counter(v.sqlstate for v in verdicts if v.sqlstate and not v.rejected)
        if other:
            print(f"PostgreSQL rejected other statements (generator bugs): {dict(other)}")
            for (path, line, sql), v in zip(extracted, verdicts):
                if v.sqlstate and not v.rejected:
                    print(f"  {path}:{line}: {v.sqlstate} {v.message}\n      {sql[:200]}")
                    break

        if args.profile:
            profile(repo.root, snapshot_file, args.profile)
        print(f"\n{load()}")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
