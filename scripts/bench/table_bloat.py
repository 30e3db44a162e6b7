"""Benchmark DBS515 (table bloat) or DBS516 (index bloat) against earlier versions, in one run.

Starts a throwaway PostgreSQL (or uses `--database-url`, an empty database dbsafe may fill),
builds N tables of varied column types and statistics (numeric and text columns of varying
widths, few and many distinct values, NULL shares from none to most, fixed-width columns of
every alignment, long text), `--rows` rows each, ANALYZEd, then runs DBS515's SQL as the
check runner does (a read-only transaction, the thresholds as settings, `bloat-min-size`
low enough that every table counts) for this checkout's `table_bloat.sql` and for the file
at each `--base` revision (`--check index-bloat`: DBS516's `index_bloat.sql`, each table
with an index on each of its first four columns and one on its first two, built before the
rows so that the deletes leave them bloated too), interleaved (A B A B ...) after one uncounted round, and prints
each one's median and best, and its ratio to the first computed run by run, so a machine
shared with other work slows both sides of every ratio alike; the server process's CPU time
(read from /proc when the server runs on this machine, in clock ticks) is summed too, the
figure a loaded machine distorts least. Every version's estimates are compared as well: the
bloat ratio each gives every estimated table or index (`bloat-ratio` set below any, so all
are reported), the largest difference printed.

Usage:
    python scripts/bench/table_bloat.py --tables 200 --base 57e605cc
    python scripts/bench/table_bloat.py --tables 1000 --base 57e605cc --base 9944416e
    python scripts/bench/table_bloat.py --check index-bloat --tables 200 --base b6b15c3d
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import report_on_empty_database

ROOT = Path(__file__).resolve().parents[2]
CHECK_FILES = {"table-bloat": ("DBS515", "dbsafe/checks/builtin/table_bloat.sql"),
               "index-bloat": ("DBS516", "dbsafe/checks/builtin/index_bloat.sql")}
INDEXED_COLUMNS = 4  # index-bloat: an index on each of a table's first columns
BATCH = 50  # tables per transaction

# (column type, value expression over g, the row number): shapes pg_stats describes
# differently (a histogram, most common values, both; NULL shares)
COLUMNS = (
    ("bigint", "g"),
    ("numeric", "g * 1.5"),
    ("text", "left(md5(g::text), g % 33)"),
    ("boolean", "g % 2 = 0"),
    ("numeric(12,2)", "CASE WHEN g % 3 = 0 THEN (g % 97) * 10.25 END"),
    ("varchar(16)", "'code' || (g % 7)"),
    ("integer", "g % 1000"),
    ("timestamptz", "'2026-01-01'::timestamptz + g * interval '1 minute'"),
    ("text", "CASE WHEN g % 10 = 0 THEN repeat(md5(g::text), 5) END"),
    ("smallint", "g % 100"),
    ("numeric", "CASE WHEN g % 5 <> 0 THEN power(10, g % 12) + g END"),
    ("uuid", "md5(g::text)::uuid"),
    ("jsonb", "jsonb_build_object('k', g)"),
    ("date", "'2026-01-01'::date + g % 365"),
    ("float8", "g / 7.0"),
    ("varchar(64)", "CASE WHEN g % 4 = 0 THEN md5(g::text) END"),
)


def table_sql(i: int, rows: int, indexed: bool) -> str:
    """Table i: 6 to 13 of the columns above, which ones and in what order varying with i;
    indexed, an index on each of its first columns and one on its first two."""
    count = 6 + i % 8
    picked = [COLUMNS[(i * 5 + k * (1 + i % 3)) % len(COLUMNS)] for k in range(count)]
    name = f"bloat_{i:05d}"
    columns = ", ".join(f"c{k} {kind}" for k, (kind, _) in enumerate(picked))
    values = ", ".join(expr for _, expr in picked)
    sql = f"CREATE TABLE {name} ({columns});\n"
    if indexed:
        keys = [f"c{k}" for k in range(INDEXED_COLUMNS)] + ["c0, c1"]
        sql += "".join(f"CREATE INDEX ON {name} ({key});\n" for key in keys)
    sql += f"INSERT INTO {name} SELECT {values} FROM generate_series(1, {rows}) AS g;\n"
    if i % 4 == 0:  # a mass delete in one table of four: something to report
        sql += f"DELETE FROM {name} WHERE random() < 0.6;\n"
    return sql


def build(conninfo: str, tables: int, rows: int, indexed: bool) -> float:
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        for first in range(0, tables, BATCH):
            sql = "".join(table_sql(i, rows, indexed)
                          for i in range(first, min(first + BATCH, tables)))
            conn.execute("BEGIN;\n" + sql + "COMMIT;")
        conn.execute("ANALYZE")
    return time.perf_counter() - start


def check_sql(check_file: str, revision: str | None) -> str:
    """The check's SQL in this checkout (None) or at a git revision."""
    if revision is None:
        return (ROOT / check_file).read_text(encoding="utf-8")
    return subprocess.run(["git", "show", f"{revision}:{check_file}"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout


def backend_cpu(pid: int) -> float | None:
    """The server process' user+system CPU seconds, when it runs on this machine (/proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_check(conn, sql: str, ratio: str) -> tuple[float, float | None, list[tuple]]:
    """One run as the check runner runs it: (seconds, the server's CPU seconds, rows)."""
    pid = conn.info.backend_pid
    cpu_before = backend_cpu(pid)
    start = time.perf_counter()
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute("SELECT set_config('dbsafe.bloat_min_size', '8192', true), "
                     "set_config('dbsafe.bloat_ratio', %s, true)", (ratio,))
        rows = conn.execute(sql).fetchall()
    wall = time.perf_counter() - start
    cpu_after = backend_cpu(pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return wall, cpu, rows


def estimates(rows: list[tuple]) -> dict[str, float]:
    return {row[0]: float(row[2]) for row in rows if row[0] is not None}


def report(conninfo: str, args: argparse.Namespace) -> None:
    import psycopg

    code, check_file = CHECK_FILES[args.check]
    indexed = args.check == "index-bloat"
    built = build(conninfo, args.tables, args.rows, indexed)
    contenders = [("this checkout", check_sql(check_file, None))]
    contenders += [(f"at {rev}", check_sql(check_file, rev)) for rev in args.base]
    with psycopg.connect(conninfo) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        print(f"built {args.tables} tables x {args.rows} rows"
              f"{f' ({INDEXED_COLUMNS + 1} indexes each)' if indexed else ''} in {built:.1f}s "
              f"on PostgreSQL {version}")
        found = {name: estimates(run_check(conn, sql, "-1000")[2]) for name, sql in contenders}
        times: dict[str, list[float]] = {name: [] for name, _ in contenders}
        cpus: dict[str, list[float]] = {name: [] for name, _ in contenders}
        for round_ in range(1 + args.repeat):
            for name, sql in contenders:
                seconds, cpu, _ = run_check(conn, sql, "0.5")
                if round_:
                    times[name].append(seconds)
                    if cpu is not None:
                        cpus[name].append(cpu)
    first = contenders[0][0]
    things = args.tables * (INDEXED_COLUMNS + 1 if indexed else 1)
    print(f"\n{code} on {things} {'indexes' if indexed else 'tables'} "
          f"({min(things, 200)} estimated), {args.repeat} runs interleaved:")
    print("| version | median s | best s | ratio to this checkout (median of pairs) "
          "| server CPU s (sum) | CPU ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, _ in contenders:
        ratios = [theirs / ours for theirs, ours in zip(times[name], times[first], strict=True)]
        cpu = (f"{sum(cpus[name]):.2f} | {sum(cpus[name]) / sum(cpus[first]):.2f}"
               if cpus[first] and sum(cpus[first]) else "n/a | n/a")
        print(f"| {name} | {statistics.median(times[name]):.3f} | {min(times[name]):.3f} | "
              f"{statistics.median(ratios):.2f} | {cpu} |")
    print("\nestimates (bloat ratio of every one estimated) against this checkout's:")
    for name, _ in contenders[1:]:
        ours, theirs = found[first], found[name]
        if set(ours) != set(theirs):
            print(f"  {name}: others estimated: {sorted(set(ours) ^ set(theirs))[:5]}")
            continue
        worst = max(ours, key=lambda t: abs(ours[t] - theirs[t]))
        print(f"  {name}: {len(ours)} estimated, largest difference "
              f"{abs(ours[worst] - theirs[worst]):.3f} ({worst}: {theirs[worst]} -> "
              f"{ours[worst]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", choices=sorted(CHECK_FILES), default="table-bloat")
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2000, help="rows per table")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--base", action="append", default=[],
                        help="a git revision whose check file to compare with")
    report_on_empty_database(parser, report)


if __name__ == "__main__":
    main()
