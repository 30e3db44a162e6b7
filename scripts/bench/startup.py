"""Benchmark start-up: `dbsafe --help` and `dbsafe validate` of one tiny file with a snapshot.

Whole processes, interleaved with their floors (scripts/bench/harness.py):

  --help      `dbsafe --help` against `python -c "import click"` (target: ≤ 2x) and
              `python -c pass`
  validate    `dbsafe validate --snapshot S one.sql`, cold (`--no-cache`) and cached, against
              `python -c pass` and `python -c "import sqlglot.optimizer.scope"` (what loading
              the resolver costs; a file whose statements all pass the quick check, as this
              one's does, no longer needs it); target ≤ 0.15 s on an idle machine

The snapshot is the demo's schema (`dbsafe schema dump --from-migrations`, made once on a
throwaway server). Python is run as installed packages are: with bytecode caching on
(`PYTHONDONTWRITEBYTECODE` removed, `PYTHONPYCACHEPREFIX` pointed at a temporary folder, so
the checkout gets no `__pycache__`); the warm-up round writes the caches. This checkout
comes first on PYTHONPATH, so the dbsafe measured is this one whatever is installed.

With `--baseline DIR` (another checkout, e.g. `git archive <commit> | tar -x -C DIR`), a
third table interleaves that version's `python -m dbsafe` with this one's, same commands.

With `--snapshot FILE` the validate rows use FILE instead (e.g. the 10,000-table snapshot
of scripts/bench/snapshot.py: what a cached run costs when the schema is large).

Usage:
    python3 scripts/bench/startup.py            # --runs N (default 9), --baseline DIR
    python3 scripts/bench/startup.py --snapshot big.json --runs 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import clean_env, compare, load, report

ROOT = Path(__file__).resolve().parents[2]


def _dbsafe() -> list[str]:
    script = Path(sys.executable).with_name("dbsafe")  # the console script, not a shim
    return [str(script)] if script.is_file() else [sys.executable, "-m", "dbsafe"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="counted runs per contender")
    parser.add_argument("--baseline", metavar="DIR", type=Path,
                        help="also compare with the dbsafe checkout in DIR (interleaved)")
    parser.add_argument("--snapshot", metavar="FILE", type=Path,
                        help="validate against this snapshot instead of the demo's")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="dbsafe-bench-startup-"))
    # This checkout first on PYTHONPATH, bytecode caching on (into `work`), no DBSAFE_*.
    env = clean_env(work / "pycache")
    dbsafe = _dbsafe()
    snapshot = args.snapshot.resolve() if args.snapshot else work / "schema.json"
    if not args.snapshot:
        subprocess.run([*dbsafe, "schema", "dump", "--from-migrations", "--no-cache",
                        "--output", str(snapshot)], cwd=ROOT, env=env, check=True)
    relation = json.loads(snapshot.read_text())["relations"][0]
    app = work / "app"
    app.mkdir()
    column = relation["columns"][0]["name"]
    (app / "one.sql").write_text(
        f'SELECT "{column}" FROM "{relation["schema"]}"."{relation["name"]}";\n')
    python = sys.executable
    validate = [*dbsafe, "validate", "--snapshot", str(snapshot), str(app / "one.sql")]

    print(f"python {sys.version.split()[0]}; {load()}; {args.runs} runs each after 1 warm-up, "
          "interleaved")
    help_figures = compare([
        ("import click", [python, "-c", "import click"]),
        ("dbsafe --help", [*dbsafe, "--help"]),
        ("python -c pass", [python, "-c", "pass"]),
    ], runs=args.runs, env=env, cwd=str(work))
    print(report(help_figures, title="`dbsafe --help` (target: ≤ 2x `import click`)"))
    validate_figures = compare([
        ("python -c pass", [python, "-c", "pass"]),
        ("import sqlglot (the resolver's floor)", [python, "-c", "import sqlglot.optimizer.scope"]),
        ("validate, cold", [*validate, "--no-cache"]),
        ("validate, cached", validate),
    ], runs=args.runs, env=env, cwd=str(work))
    print(report(validate_figures, title="`dbsafe validate --snapshot` of one tiny file "
                                          "(target: ≤ 0.15 s)"))
    if args.baseline:
        def version(path: Path) -> list[str]:
            # Each tree its own cache folder: with different cache versions, each would
            # throw the other's away and "cached" would time a cold run.
            cache = work / f"cache-{'this' if path == ROOT else 'baseline'}"
            return ["env", f"PYTHONPATH={path.resolve()}", f"DBSAFE_CACHE_DIR={cache}", python,
                    "-m", "dbsafe"]

        rest = validate[len(dbsafe):]
        versions = compare([
            ("baseline --help", [*version(args.baseline), "--help"]),
            ("this --help", [*version(ROOT), "--help"]),
            ("baseline validate, cold", [*version(args.baseline), *rest, "--no-cache"]),
            ("this validate, cold", [*version(ROOT), *rest, "--no-cache"]),
            ("baseline validate, cached", [*version(args.baseline), *rest]),
            ("this validate, cached", [*version(ROOT), *rest]),
        ], runs=args.runs, env=env, cwd=str(work))
        for i in range(0, len(versions), 2):
            print(report(versions[i:i + 2], title=f"before/after: {versions[i + 1].name}"))
    print(f"\n{load()}")
    shutil.rmtree(work, ignore_errors=True)  # the snapshot, the file, the bytecode cache
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
