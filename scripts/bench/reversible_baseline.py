"""Time `dbsafe verify-reversible` of this checkout against an older tree (`--baseline`).

Each run is `python -m dbsafe verify-reversible --format json` in a process of its own, with
`PYTHONPATH` set to the tree measured, on a throwaway server as users run it; the two trees
alternate, pair by pair, so a machine shared with other work loads both alike. CPU is user +
system time of dbsafe and every process it waited for (its alembic children), and of the
throwaway server's processes (`pg_ctl` daemonises the postmaster: this script makes itself
their subreaper, so the postmaster, with every backend it reaped, ends as its child): what
the walk costs, whatever else runs on the machine. Both trees must
report the same findings (compared as JSON, the `summary`'s timings aside).

The history walked, unless `--project` names a real one: a generated linear history of N
revisions (default 60) where every `--every`th revision (default 6) drops a column its
downgrade adds back at the end of the table (DBS414, column order: the walk cannot undo it
in place and goes on on a fresh database, as on fractal-server's 14 DBS414), and one
revision's downgrade fails (DBS412: the walk rebuilds after it). With `--stairway`, its
second revision is a second root that the third merges, so the history is not linear and
the walk takes the stairway, as on Superset's (whose 19 DBS414 cost 18 rebuilds, each
replaying the revisions before it, or since the last rebuild's checkpoint: task 456).

A folder of SQL migrations instead (`--sql-migrations DIR`, relative to `--project`, e.g.
bionic-gpt's dbmate folder `crates/db/migrations`), or a generated golang-migrate folder of
N files (`--sql-files N`) with the same column orders every `--every`th file, an index a
down migration forgets every `--every`th file after the third (DBS413: the walk repairs it),
and one failing down migration (DBS412: the walk rebuilds the database after it).

Usage:
    git archive <start> | tar -x -C /tmp/base
    python scripts/bench/reversible_baseline.py --baseline /tmp/base
    python scripts/bench/reversible_baseline.py --baseline /tmp/base --revisions 90 --pairs 5
    python scripts/bench/reversible_baseline.py --baseline /tmp/base --stairway --pairs 3
    # a real project (its own Python, environment variables from this shell):
    cd fractal && POSTGRES_DB=fractal POSTGRES_PORT=1 JWT_SECRET_KEY=x python \\
        <checkout>/scripts/bench/reversible_baseline.py --baseline /tmp/base --project . \\
        --alembic-config fractal_server/alembic.ini --python venv/bin/python --pairs 3
    # a folder of SQL migrations (task 422): generated, or a real project's
    python scripts/bench/reversible_baseline.py --baseline /tmp/base --sql-files 100
    python scripts/bench/reversible_baseline.py --baseline /tmp/base --project bionic-gpt \
        --sql-migrations crates/db/migrations
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

ENV_PY = '''\
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
'''


def write_history(root: Path, revisions: int, every: int, stairway: bool = False) -> None:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (root / "migrations" / "env.py").write_text(ENV_PY)
    failing = revisions // 2 + 1
    for i in range(1, revisions + 1):
        up = [f"CREATE TABLE t_{i} (id bigint PRIMARY KEY, a int, b text, c int)",
              f"CREATE INDEX ix_t_{i}_a ON t_{i} (a)"]
        down = [f"DROP TABLE t_{i}"]
        if i > 1 and i % every == 0:
            # drops a column of an earlier table; the downgrade adds it back at the end
            up.append(f"ALTER TABLE t_{i - 1} DROP COLUMN b")
            down.insert(0, f"ALTER TABLE t_{i - 1} ADD COLUMN b text")
        if i == failing:
            down.append("DROP TABLE no_such_table")
        body_up = "\n".join(f"    op.execute({s!r})" for s in up)
        body_down = "\n".join(f"    op.execute({s!r})" for s in down)
        down_revision = repr(f"{i - 1:04d}") if i > 1 else "None"
        if stairway and i == 2:
            down_revision = "None"  # a second root ...
        elif stairway and i == 3:
            down_revision = repr(("0001", "0002"))  # ... merged: not linear
        (versions / f"{i:04d}_step.py").write_text(
            f'"""step {i}"""\nfrom alembic import op\n\nrevision = "{i:04d}"\n'
            f"down_revision = {down_revision}\n\n\ndef upgrade():\n{body_up}\n\n\n"
            f"def downgrade():\n{body_down}\n")


def write_sql_folder(folder: Path, files: int, every: int) -> None:
    folder.mkdir(parents=True)
    failing = files // 2 + 1
    for i in range(1, files + 1):
        up = [f"CREATE TABLE t_{i} (id bigint PRIMARY KEY, a int, b text, c int);",
              f"CREATE INDEX ix_t_{i}_a ON t_{i} (a);"]
        down = [f"DROP TABLE t_{i};"]
        if i > 1 and i % every == 0:
            up.append(f"ALTER TABLE t_{i - 1} DROP COLUMN b;")
            down.insert(0, f"ALTER TABLE t_{i - 1} ADD COLUMN b text;")
        if i > 1 and i % every == 3:
            # an index on an earlier table its down migration forgets
            up.append(f"CREATE INDEX ix_t_{i - 1}_c ON t_{i - 1} (c);")
        if i == failing:
            down.append("DROP TABLE no_such_table;")
        (folder / f"{i:04d}_step.up.sql").write_text("\n".join(up) + "\n")
        (folder / f"{i:04d}_step.down.sql").write_text("\n".join(down) + "\n")


def run(tree: Path, project: Path, args: argparse.Namespace, cache: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "dbsafe"]
    if args.python:
        command += ["--python", args.python]
    command += ["verify-reversible", "--format", "json"]
    if args.alembic_config:
        command += ["--alembic-config", args.alembic_config]
    if args.sql_migrations:
        command += ["--sql-migrations", args.sql_migrations]
    env = {**os.environ, "PYTHONPATH": str(tree), "DBSAFE_CACHE_DIR": str(cache)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - started
    _reap()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{tree}: exit {done.returncode}\n{done.stderr[-2000:]}")
    payload = json.loads(done.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu": cpu, "wall": wall, "findings": payload["findings"],
            "summary": payload["summary"]}


def _subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux): the postmaster
    `pg_ctl` daemonised, so that its CPU (and its backends') counts in RUSAGE_CHILDREN."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _reap(timeout: float = 60.0) -> None:
    """Wait for the orphans adopted during a run (the stopped server's postmaster)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, metavar="DIR",
                        help="an older dbsafe tree (git archive ... | tar -x -C DIR)")
    parser.add_argument("--pairs", type=int, default=3, help="alternating pairs of runs")
    parser.add_argument("--revisions", type=int, default=60)
    parser.add_argument("--every", type=int, default=6,
                        help="every Nth generated revision leaves a column order behind")
    parser.add_argument("--stairway", action="store_true",
                        help="the generated history has a merge: the walk takes the stairway")
    parser.add_argument("--project", type=Path, help="walk this project instead")
    parser.add_argument("--alembic-config", help="its alembic.ini (relative to --project)")
    parser.add_argument("--python", help="the Python that runs its env.py")
    parser.add_argument("--sql-migrations", metavar="DIR",
                        help="walk this folder of SQL migrations (relative to --project)")
    parser.add_argument("--sql-files", type=int, metavar="N",
                        help="walk a generated folder of N golang-migrate files")
    args = parser.parse_args()
    baseline = args.baseline.resolve()
    if not _subreaper():
        print("not a subreaper: the server's CPU is not counted")
    with tempfile.TemporaryDirectory(prefix="dbsafe-bench-rev-") as tmp:
        project = args.project.resolve() if args.project else Path(tmp) / "history"
        if args.project is None and args.sql_files:
            args.sql_migrations = "migrations"
            write_sql_folder(project / "migrations", args.sql_files, args.every)
            print(f"SQL folder: {args.sql_files} generated golang-migrate files, a column order "
                  f"left every {args.every}th, a forgotten index every {args.every}th from the "
                  "third, one failing down migration")
        elif args.project is None:
            write_history(project, args.revisions, args.every, args.stairway)
            print(f"history: {args.revisions} generated revisions, a column order left every "
                  f"{args.every}th, one failing downgrade"
                  + (", a merge of two roots at the third (the stairway)" if args.stairway
                     else ""))
        elif args.sql_migrations:
            print(f"SQL folder: {project / args.sql_migrations}")
        else:
            print(f"history: {project} ({args.alembic_config or 'alembic.ini'})")
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs")
        trees = {"this checkout": ROOT, "baseline": baseline}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        print("| pair | this CPU s | baseline CPU s | CPU ratio | this wall s | baseline wall s |"
              " fresh databases |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for pair in range(1, args.pairs + 1):
            order = list(trees.items())
            if pair % 2 == 0:
                order.reverse()  # who runs first alternates too
            for name, tree in order:
                cache = Path(tmp) / f"cache-{name.replace(' ', '-')}-{pair}"
                runs[name].append(run(tree, project, args, cache))
            new, old = runs["this checkout"][-1], runs["baseline"][-1]
            if new["findings"] != old["findings"]:
                raise SystemExit(f"pair {pair}: the findings differ "
                                 f"({len(new['findings'])} against {len(old['findings'])})")
            print(f"| {pair} | {new['cpu']:.2f} | {old['cpu']:.2f} | "
                  f"{new['cpu'] / old['cpu']:.2f}x | {new['wall']:.1f} | {old['wall']:.1f} | "
                  f"{new['summary'].get('rebuilt', '-')} |")
        ratios = [n["cpu"] / o["cpu"] for n, o in zip(runs["this checkout"], runs["baseline"],
                                                      strict=True)]
        walls = [n["wall"] / o["wall"] for n, o in zip(runs["this checkout"], runs["baseline"],
                                                       strict=True)]
        summary = runs["this checkout"][-1]["summary"]
        walked = (f"{summary.get('migrations')} migrations" if args.sql_migrations else
                  f"{summary.get('revisions_verified')} revisions, {summary.get('rebuilt')} "
                  f"fresh databases, {summary.get('replayed', '-')} revisions replayed by "
                  "rebuilds (baseline: "
                  f"{runs['baseline'][-1]['summary'].get('replayed', 'not counted')})")
        print(f"findings identical in every pair: {len(runs['baseline'][-1]['findings'])} "
              f"({summary.get('findings_by_code')}); {walked}")
        print(f"CPU this / baseline: median {statistics.median(ratios):.2f}x "
              f"({min(ratios):.2f}-{max(ratios):.2f}); wall median "
              f"{statistics.median(walls):.2f}x")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
