"""Benchmark `dbsafe validate` on JS/TS: supabase-js requests and SQL templates, at scale.

Starts a throwaway PostgreSQL, builds a schema of tables with foreign keys between them,
introspects it to a snapshot file, and generates a repository of `--files` files: a
`--js-share` of `.ts` files holding supabase-js requests (`.from(t).select('a, b,
parent(c)')` with filters and orders, inserts, embedded one-to-many resources) and
`sql\\`...\\`` templates, the rest `.py` files with `cur.execute("...")`. About 1% of the
requests reference a column the schema lacks (planted bugs). Everything is seeded.

Measures, each as `python -m dbsafe validate REPO --snapshot FILE --no-confirm --format json`
in a subprocess:

  (a) cold      empty cache: files/s and statements/s
  (b) warm      nothing changed
  (c) changed   `--changed-since HEAD` in the committed repository with one .ts file edited
                (target: under 1 s), interleaved (harness.compare) with its floors: the
                interpreter (`python -c pass`), dbsafe's start-up (`dbsafe --version`) and
                `git status`, each as a whole process; medians and pair-wise ratios

and checks that the findings are exactly the planted bugs (file and line). Every process
runs as installed code does, with bytecode cached (harness.clean_env).

Usage:
    python scripts/bench/validate_js.py                     # 5,000 files, 40% TS
    python scripts/bench/validate_js.py --files 500 --js-share 1.0
    python scripts/bench/validate_js.py --changed-only      # (c) alone, --runs N (default 7)
    python scripts/bench/validate_js.py --changed-only --baseline DIR   # + another checkout
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import clean_env, compare, load, report

SEED = 20261201
_ENV: dict[str, str] = dict(os.environ)  # clean_env() once the work directory exists
TABLES = 120
_COLUMNS = ("name", "email", "status", "title", "amount", "qty", "created_at", "region",
            "label", "score", "due_on", "slug")


def make_schema(rng: random.Random) -> list[tuple[str, list[str], str | None]]:
    """(table, columns, parent table or None); a child's FK column is `<parent>_id`."""
    tables: list[tuple[str, list[str], str | None]] = []
    for i in range(TABLES):
        columns = ["id", *rng.sample(_COLUMNS, rng.randint(4, 9))]
        parent = tables[rng.randrange(len(tables))][0] if tables and rng.random() < 0.6 else None
        if parent:
            columns.append(f"{parent}_id")
        tables.append((f"t{i:03d}", columns, parent))
    return tables


def ddl(tables: list[tuple[str, list[str], str | None]]) -> str:
    out = []
    for name, columns, parent in tables:
        body = ["id bigint PRIMARY KEY"]
        for column in columns[1:]:
            if parent and column == f"{parent}_id":
                body.append(f"{column} bigint REFERENCES {parent}(id)")
            else:
                body.append(f"{column} text")
        out.append(f"CREATE TABLE {name} ({', '.join(body)});")
    return "\n".join(out)


def generate(root: Path, tables, files: int, share: float, rng: random.Random,
             per_file: int = 10) -> tuple[set[tuple[str, int]], int]:
    """Write the repository; returns the planted (path, line) and the request count."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n")
    children: dict[str, str] = {}
    for name, _, parent in tables:
        if parent:
            children.setdefault(parent, name)
    planted: set[tuple[str, int]] = set()
    count = 0
    for i in range(files):
        ts = rng.random() < share
        rel = f"src/m{i // 100:02d}/f{i:05d}.{'ts' if ts else 'py'}"
        lines = ["import { supabase } from '@/lib/supabase';", ""] if ts else ["", ""]
        for j in range(per_file):
            name, columns, parent = rng.choice(tables)
            picked = rng.sample(columns, min(3, len(columns)))
            bug = rng.random() < 0.01
            if bug:
                picked[-1] = picked[-1] + "_old"
            if ts:
                select = ", ".join(picked)
                if parent and rng.random() < 0.5:
                    select += f", {parent}(id)"
                if name in children and rng.random() < 0.3:
                    select += f", {children[name]}(id)"
                lines += [f"export async function q{j}(v: string) {{",
                          "  return supabase",
                          f"    .from('{name}')",
                          f"    .select('{select}')",
                          f"    .eq('{columns[0]}', v)",
                          f"    .order('{columns[-1]}', {{ ascending: false }});",
                          "}", ""]
                line = len(lines) - 4
            else:
                lines += [f"def q{j}(cur, v):",
                          f'    cur.execute("SELECT {", ".join(picked)} FROM {name} '
                          f'WHERE id = %s", (v,))', ""]
                line = len(lines) - 1
            count += 1
            if bug:
                planted.add((rel, line))
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    return planted, count


def run(repo: Path, snapshot: Path, cache: Path, *extra: str) -> tuple[float, dict]:
    env = dict(_ENV, DBSAFE_CACHE_DIR=str(cache))
    command = [sys.executable, "-m", "dbsafe", "validate", str(repo), "--snapshot", str(snapshot),
               "--no-confirm", "--format", "json", *extra]
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dbsafe failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, json.loads(proc.stdout)


def changed_since(repo: Path, snapshot: Path, workdir: Path, args: argparse.Namespace) -> None:
    """(c): commit the repository, edit one .ts file, time `--changed-since HEAD`."""
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], cwd=repo, check=True)
    edited = next(iter(sorted(repo.glob("src/*/*.ts"))), None) or next(repo.glob("src/*/*"))
    with edited.open("a") as handle:
        handle.write("\n// edited\n")
    _, document = run(repo, snapshot, workdir / "cache-changed", "--changed-since", "HEAD")
    files = document["summary"]["files"]
    dbsafe = [sys.executable, "-m", "dbsafe"]
    contenders = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("dbsafe --version", [*dbsafe, "--version"]),
        ("git status", ["git", "status", "--porcelain"]),
        ("dbsafe validate --changed-since HEAD",
         [*dbsafe, "validate", str(repo), "--snapshot", str(snapshot), "--no-confirm",
          "--no-cache", "--format", "json", "--changed-since", "HEAD"]),
    ]
    if args.baseline is not None:
        # `env` puts the other checkout first on PYTHONPATH for that contender only.
        path = os.pathsep.join([str(args.baseline.resolve()), _ENV.get("PYTHONPATH", "")])
        command = [str(workdir / "snapshot-baseline.json") if part == str(snapshot) else part
                   for part in contenders[-1][1]]
        contenders.insert(-1, ("baseline (--baseline DIR)",
                               ["env", f"PYTHONPATH={path}", *command]))
    figures = compare(contenders, runs=args.runs, warmup=1, env=_ENV, cwd=str(repo))
    ours = statistics.median(figures[-1].wall)
    flag = "" if ours < 1 else "  (target < 1 s not met)"
    print(f"(c) changed {ours:7.2f}s  --changed-since HEAD, {files} file read of "
          f"{args.files} ({edited.relative_to(repo)}), no cache{flag}")
    print(report(figures, title="(c) --changed-since HEAD, one .ts file edited"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--js-share", type=float, default=0.4)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--changed-only", action="store_true",
                        help="measure (c) only, skipping the cold and warm runs")
    parser.add_argument("--runs", type=int, default=7, help="counted rounds of (c)")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="another checkout of dbsafe (git archive REV | tar -x -C DIR) "
                             "timed in (c) next to this one: before/after in the same run")
    args = parser.parse_args()

    import psycopg

    from dbsafe.pg.throwaway import throwaway_server
    from dbsafe.schema.introspect import introspect_url

    rng = random.Random(SEED)
    tables = make_schema(rng)
    workdir = Path(tempfile.mkdtemp(prefix="dbsafe-bench-js-"))
    _ENV.update(clean_env(workdir / "pycache"))
    print(load())
    ok = True
    try:
        with throwaway_server(database="bench") as server:
            with psycopg.connect(server.conninfo("bench"), autocommit=True) as conn:
                conn.execute(ddl(tables))
            snapshot = workdir / "snapshot.json"
            introspect_url(server.url("bench")).save(snapshot)
            if args.baseline is not None:
                # A snapshot is read by the dbsafe that writes its format: an older one
                # refuses fields it does not know, so the baseline reads its own dump.
                subprocess.run(["env", f"PYTHONPATH={args.baseline.resolve()}", sys.executable,
                                "-m", "dbsafe", "schema", "dump", "--database-url",
                                server.url("bench"), "--output",
                                str(workdir / "snapshot-baseline.json")],
                               check=True, cwd=str(workdir), stdout=subprocess.DEVNULL)
        repo = workdir / "repo"
        planted, requests = generate(repo, tables, args.files, args.js_share, rng)
        print(f"repository: {args.files} files ({args.js_share:.0%} TypeScript), {requests} "
              f"statements/requests, {len(planted)} planted bugs")
        cache = workdir / "cache"
        if args.changed_only:
            changed_since(repo, snapshot, workdir, args)
            return 0
        cold, document = run(repo, snapshot, cache)
        warm, warm_document = run(repo, snapshot, cache)
        found = {(f["path"], f["line"]) for f in document["findings"] if f["code"] == "DBS302"}
        other = [f for f in document["findings"] if f["code"] != "DBS302"]
        print(f"(a) cold    {cold:7.2f}s  {args.files / cold:9,.0f} files/s  "
              f"{requests / cold:9,.0f} statements/s")
        print(f"(b) warm    {warm:7.2f}s  {args.files / warm:9,.0f} files/s")
        if found != planted or other:
            ok = False
            print(f"MISMATCH: missed {sorted(planted - found)[:5]}, "
                  f"false positives {sorted(found - planted)[:5]}, other {other[:3]}")
        else:
            print(f"findings: exactly the {len(planted)} planted bugs  OK")
        if warm_document["findings"] != document["findings"]:
            ok = False
            print("MISMATCH: the warm run differs from the cold run")

        changed_since(repo, snapshot, workdir, args)
        print(load())
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
