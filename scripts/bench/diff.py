"""Benchmark `dbsafe diff` against `pg_dump -s` of both databases plus `diff -u`.

Starts a throwaway PostgreSQL, builds database `a` of N tables x 20 columns (each with a
primary key, a secondary index and a foreign key to the previous table, as
scripts/bench/introspect.py does), copies it to `b` (CREATE DATABASE ... TEMPLATE a), and
changes 1 % of b's tables (a column added, a column type widened, an index dropped and
another created, in turn). Then, as whole processes interleaved after a warm-up
(scripts/bench/harness.py: medians, min-max, ratios pair by pair, CPU and peak memory from
the kernel, the load average):

  pg_dump + diff   `pg_dump -s` of a, then of b, then `diff -u` of the two files (what a
                   shell user runs; two pg_dumps of 10,000 tables cannot run at once on a
                   default server: each locks every table, and the lock table overflows)
  dbsafe diff      `python -m dbsafe diff URL_A URL_B` (reads both sides at once)
  dbsafe --sql     `python -m dbsafe diff --sql URL_A URL_B` (the DDL, linted)

Before timing, dbsafe's JSON report is checked: one difference per altered table.
Afterwards, in-process: where dbsafe's time goes (reading both catalogs, `diff`, `plan`),
median of `--repeat`.

Usage:
    python3 scripts/bench/diff.py                # 10,000 tables, 1 % changed, 5 runs
    python3 scripts/bench/diff.py --tables 500   # a quick run
    python3 scripts/bench/diff.py --url-a URL --url-b URL --bin DIR --expected N
                                                 # two existing databases of that shape
    python3 scripts/bench/diff.py --baseline DIR # + `dbsafe diff` of the checkout in DIR
                                                 # (`git archive REV dbsafe | tar -x -C DIR`)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import compare, load, report
from introspect import build  # the sibling benchmark's schema builder

ROOT = Path(__file__).resolve().parents[2]


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
            elif kind == 1:
                conn.execute(f"ALTER TABLE {table} ALTER COLUMN c06 TYPE varchar(128)")
            elif kind == 2:
                conn.execute(f"DROP INDEX {table}_parent_id_idx")
            else:
                conn.execute(f"CREATE INDEX {table}_c02_idx ON {table} (c02)")
            changed += 1
    return changed


@contextlib.contextmanager
def databases(args: argparse.Namespace) -> Iterator[tuple[str, str, Path, int]]:
    """(url of a, url of b, directory of pg_dump, expected differences)."""
    if args.url_a:
        yield args.url_a, args.url_b, Path(args.bin), args.expected
        return
    import psycopg

    from dbsafe.pg.throwaway import throwaway_server

    with throwaway_server(database="a") as server:
        built = build(server.conninfo("a"), args.tables)
        with psycopg.connect(server.conninfo("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE b TEMPLATE a")
        expected = mutate(server.conninfo("b"), args.tables, args.percent)
        # Settled catalogs, as a database that has been running has: building 10,000 tables
        # leaves dead catalog rows that autovacuum would otherwise be clearing (and scans
        # wading through) during the first timed runs, of every contender.
        for name in ("a", "b"):
            with psycopg.connect(server.conninfo(name), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        print(f"two databases of {args.tables} tables x 20 columns (built in {built:.1f} s), "
              f"{expected} tables changed in b")
        yield server.url("a"), server.url("b"), server.bin_dir, expected


def pg_dump_argv(bin_dir: Path, url: str, out: Path) -> list[str]:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    argv = [str(bin_dir / "pg_dump"), "--schema-only", "--file", str(out)]
    if query.get("host") or parts.hostname:
        argv += ["--host", query.get("host") or parts.hostname or ""]
    if query.get("port") or parts.port:
        argv += ["--port", str(query.get("port") or parts.port)]
    if parts.username:
        argv += ["--username", parts.username]
    return [*argv, parts.path.lstrip("/")]


def breakdown(url_a: str, url_b: str, repeat: int) -> str:
    """In-process: both catalogs read at once, then `diff`, then `plan`."""
    from concurrent.futures import ThreadPoolExecutor

    from dbsafe.schema.ddl import plan
    from dbsafe.schema.diff import diff
    from dbsafe.schema.introspect import introspect_url

    steps: dict[str, list[float]] = {"read both catalogs (introspect_url x 2, at once)": [],
                                     "diff": [], "plan (the DDL)": []}
    for _ in range(repeat):
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(introspect_url, url_a)
            b = introspect_url(url_b)
            a = future.result()
        read = time.perf_counter()
        changes = diff(a, b)
        diffed = time.perf_counter()
        plan(a, b, changes)
        planned = time.perf_counter()
        for name, seconds in zip(steps, (read - start, diffed - read, planned - diffed),
                                 strict=True):
            steps[name].append(seconds)
    lines = [f"\nIn-process, median of {repeat}:", "| step | seconds |", "| --- | ---: |"]
    lines += [f"| {name} | {statistics.median(times):.2f} |" for name, times in steps.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", type=int, default=10_000, help="tables in each database")
    parser.add_argument("--percent", type=float, default=1.0, help="share of tables changed")
    parser.add_argument("--runs", type=int, default=5, help="counted runs per contender")
    parser.add_argument("--repeat", type=int, default=3, help="in-process repeats")
    parser.add_argument("--url-a", help="an existing database instead of a throwaway one")
    parser.add_argument("--url-b", help="with --url-a: the changed copy")
    parser.add_argument("--bin", help="with --url-a: where pg_dump is")
    parser.add_argument("--expected", type=int, help="with --url-a: differences expected")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also interleave `dbsafe diff` of the checkout in DIR")
    parser.add_argument("--no-breakdown", action="store_true",
                        help="skip the in-process breakdown")
    args = parser.parse_args(argv)

    # This checkout's dbsafe, whatever an installed `dbsafe` script would run.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    dbsafe = [sys.executable, "-m", "dbsafe", "diff"]
    with databases(args) as (url_a, url_b, bin_dir, expected), \
            tempfile.TemporaryDirectory(prefix="dbsafe-bench-diff-") as tmp:
        work = Path(tmp)
        found = subprocess.run([*dbsafe, url_a, url_b, "--format", "json"], env=env,
                               capture_output=True, text=True, check=False)
        assert found.returncode == 1, found.stderr
        differences = json.loads(found.stdout)["summary"]["differences"]
        assert differences == expected, (differences, expected)
        dump_a = shlex.join(pg_dump_argv(bin_dir, url_a, work / "a.sql"))
        dump_b = shlex.join(pg_dump_argv(bin_dir, url_b, work / "b.sql"))
        diff_u = f"diff -u {work / 'a.sql'} {work / 'b.sql'} > {work / 'dumps.diff'}"
        print(f"python {sys.version.split()[0]}; {load()}; {args.runs} runs each after 1 "
              f"warm-up, interleaved; {differences} differences")
        contenders = [
            ("pg_dump -s x2 + diff -u", ["sh", "-c", f"{dump_a} && {dump_b} && {diff_u}"]),
            ("dbsafe diff", [*dbsafe, url_a, url_b, "--output-file", str(work / "diff.txt")]),
            ("dbsafe diff --sql", ["sh", "-c", f"{shlex.join([*dbsafe, '--sql', url_a, url_b])}"
                                               f" > {work / 'diff.sql'}"]),
        ]
        if args.baseline:
            # Its output must be this checkout's, byte for byte.
            baseline = ["env", f"PYTHONPATH={args.baseline.resolve()}", *dbsafe]
            contenders.append(("baseline dbsafe diff", [
                *baseline, url_a, url_b, "--output-file", str(work / "baseline.txt")]))
        # From `/`: `python -m` puts the working directory before PYTHONPATH.
        figures = compare(contenders, runs=args.runs, env=env, cwd="/")
        print(report(figures, title="Both schemas read and compared, as whole processes"))
        if args.baseline:
            def report_text(path: Path) -> list[str]:  # all but the summary's "(8.12s)"
                return re.sub(r"\(\d+\.\d+s\)", "", path.read_text()).splitlines()

            same = report_text(work / "diff.txt") == report_text(work / "baseline.txt")
            print(f"baseline output identical (but for the time taken): {same}")
        if not args.no_breakdown:
            print(breakdown(url_a, url_b, args.repeat))
    print(f"\n{load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
