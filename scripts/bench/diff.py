"""Benchmark `dbsafe diff` against `pg_dump -s` of both databases plus `diff -u`.

Starts a throwaway PostgreSQL, builds database `a` of N tables x 20 columns (each with a
primary key, a secondary index and a foreign key to the previous table, as
scripts/bench/introspect.py does), copies it to `b` (CREATE DATABASE ... TEMPLATE a), and
changes 1 % of b's tables (a column added, a column type widened, an index dropped and
another created, in turn). Then times, in the same run and against the same databases:

  (a) dbsafe library   `introspect_url` of both (at once, as the CLI does) + `diff` +
                       `plan` (the DDL), in process
  (b) dbsafe CLI       `python -m dbsafe diff URL_A URL_B` (interpreter start included)
  (c) dbsafe --sql     `python -m dbsafe diff --sql URL_A URL_B`
  (d) pg_dump + diff   `pg_dump -s` of both (one after the other), then `diff -u`

Each runs `--repeat` times; the table shows the best time, the median, and the best time
relative to (a). The dbsafe runs also check what they found: one change per altered
table (the dropped and created index count as two).

Usage:
    python3 scripts/bench/diff.py               # 10,000 tables, 1 % changed
    python3 scripts/bench/diff.py --tables 500  # a quick run
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from introspect import build  # the sibling benchmark's schema builder


def mutate(conninfo: str, tables: int, percent: float) -> int:
    """Change `percent` % of the tables in four different ways; returns the change count."""
    import psycopg

    step = max(1, round(100 / percent))
    changed = 0
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for n, i in enumerate(range(0, tables, step)):
            table = f"t{i:05d}"
            kind = n % 4
            if kind == 0:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN extra text")
                changed += 1
            elif kind == 1:
                conn.execute(f"ALTER TABLE {table} ALTER COLUMN c06 TYPE varchar(128)")
                changed += 1
            elif kind == 2:
                conn.execute(f"DROP INDEX {table}_parent_id_idx")
                changed += 1
            else:
                conn.execute(f"CREATE INDEX {table}_c02_idx ON {table} (c02)")
                changed += 1
    return changed


def run_library(url_a: str, url_b: str, expected: int) -> Callable[[], object]:
    from concurrent.futures import ThreadPoolExecutor

    from dbsafe.schema.ddl import plan, render_sql
    from dbsafe.schema.diff import diff
    from dbsafe.schema.introspect import introspect_url

    def go() -> object:
        # As `dbsafe diff` does: both sides read at once.
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(introspect_url, url_a)
            b = introspect_url(url_b)
            a = future.result()
        changes = diff(a, b)
        assert len(changes) == expected, (len(changes), expected)
        return render_sql(plan(a, b, changes)).text

    return go


def run_cli(url_a: str, url_b: str, *extra: str) -> Callable[[], object]:
    command = [sys.executable, "-m", "dbsafe", "diff", *extra, url_a, url_b]

    def go() -> object:
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 1, result.stderr
        return result.stdout

    return go


def run_pg_dump(server: object, databases: tuple[str, str], out: Path) -> Callable[[], object]:
    def dump(database: str) -> list[str]:
        return [
            str(server.bin_dir / "pg_dump"),  # type: ignore[attr-defined]
            "--schema-only",
            "--host", str(server.socket_dir),  # type: ignore[attr-defined]
            "--port", str(server.port),  # type: ignore[attr-defined]
            "--username", server.user,  # type: ignore[attr-defined]
            "--file", str(out / f"{database}.sql"),
            database,
        ]

    def go() -> object:
        for database in databases:
            subprocess.run(dump(database), check=True, capture_output=True)
        result = subprocess.run(["diff", "-u", str(out / "a.sql"), str(out / "b.sql")],
                                capture_output=True)
        assert result.returncode == 1
        return result.stdout

    return go


def measure(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", type=int, default=10_000, help="tables in each database")
    parser.add_argument("--percent", type=float, default=1.0, help="share of tables changed")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender")
    args = parser.parse_args(argv)

    import tempfile

    import psycopg

    from dbsafe.pg.throwaway import throwaway_server

    with throwaway_server(database="a") as server, \
            tempfile.TemporaryDirectory(prefix="dbsafe-bench-diff-") as tmp:
        built = build(server.conninfo("a"), args.tables)
        with psycopg.connect(server.conninfo("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE b TEMPLATE a")
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        expected = mutate(server.conninfo("b"), args.tables, args.percent)
        url_a, url_b = server.url("a"), server.url("b")
        print(
            f"PostgreSQL {version}: two databases of {args.tables} tables x 20 columns "
            f"(built in {built:.1f} s), {expected} tables changed in b"
        )
        contenders = (
            ("dbsafe diff (library)", run_library(url_a, url_b, expected)),
            ("dbsafe diff (CLI)", run_cli(url_a, url_b)),
            ("dbsafe diff --sql (CLI)", run_cli(url_a, url_b, "--sql")),
            ("pg_dump -s x2 + diff -u", run_pg_dump(server, ("a", "b"), Path(tmp))),
        )
        results = [(name, measure(fn, args.repeat)) for name, fn in contenders]

    baseline = min(results[0][1])
    print(f"\n{'contender':<26} {'best s':>8} {'median s':>9} {'x library':>10}")
    for name, times in results:
        best = min(times)
        print(f"{name:<26} {best:>8.2f} {statistics.median(times):>9.2f} "
              f"{best / baseline:>10.1f}")
    print(f"\n(best and median of {args.repeat} runs each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
