"""Benchmark: the demo schema from the migrations, cold (throwaway server) versus cached.

    python scripts/bench/migrations_cache.py [--repeat 5] [--baseline DIR]

Runs the real CLI in subprocesses, as a developer would, in a copy of the demo with its own
cache directory. Prints best and median wall times. Target: the cached run under 1 s.
With `--baseline DIR` (another checkout of dbsafe, e.g. `git archive REV | tar -x -C DIR`),
the cold dump is also timed with DIR's dbsafe, the two interleaved run by run (baseline,
this, baseline, this, ...), and the ratio of each pair is printed with their median.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall seconds of `python -m dbsafe ARGS` (the dbsafe `env`'s PYTHONPATH names)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "dbsafe", *args], cwd=cwd, env=env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"dbsafe {' '.join(args)} failed:\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another dbsafe checkout to compare "
                        "the cold dump with, run by run")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dbsafe-bench-") as tmp:
        project = Path(tmp) / "demo"
        project.mkdir()
        for name in ("alembic.ini", "migrations", "examples", "pyproject.toml"):
            source = REPO_ROOT / name
            if source.is_dir():
                shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source, project / name)
        env = dict(os.environ, DBSAFE_CACHE_DIR=str(Path(tmp) / "cache"))
        env.pop("DBSAFE_DATABASE_URL", None)
        env["PYTHONPATH"] = str(REPO_ROOT)
        rows = []
        cold_dump = ["schema", "dump", "--from-migrations", "--no-cache"]
        if options.baseline is not None:
            base_env = dict(env, PYTHONPATH=str(options.baseline.resolve()))
            timed(cold_dump, base_env, project)  # warm-up: the page cache, .pyc files
            timed(cold_dump, env, project)
            pairs = [(timed(cold_dump, base_env, project), timed(cold_dump, env, project))
                     for _ in range(options.repeat)]
            ratios = sorted(this / base for base, this in pairs)
            rows.append((f"schema dump, cold, baseline {options.baseline.name}",
                         [base for base, _ in pairs]))
            cold = [this for _, this in pairs]
            print("cold dump, run by run: " + ", ".join(
                f"{base:.2f} -> {this:.2f} s ({this / base:.2f}x)" for base, this in pairs))
            print(f"ratio to the baseline: median {statistics.median(ratios):.2f}x "
                  f"(min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x)")
        else:
            cold = [timed(cold_dump, env, project) for _ in range(options.repeat)]
        rows.append(("schema dump, cold (throwaway server + 5 migrations)", cold))
        timed(["schema", "dump", "--from-migrations"], env, project)  # fill the cache
        warm = [timed(["schema", "dump", "--from-migrations"], env, project)
                for _ in range(options.repeat)]
        rows.append(("schema dump, cached", warm))
        timed(["validate", "examples/clinic"], env, project)  # fill the result cache
        validate_warm = [timed(["validate", "examples/clinic"], env, project)
                         for _ in range(options.repeat)]
        rows.append(("validate examples/clinic, cached (nothing changed)", validate_warm))
        version = subprocess.run([sys.executable, "-m", "dbsafe", "--version"], env=env,
                                 capture_output=True, text=True, cwd=project)
        noop = [timed(["--version"], env, project) for _ in range(options.repeat)]
        rows.append(("dbsafe --version (interpreter start-up floor)", noop))
        print(f"{version.stdout.strip()}, {options.repeat} runs each, wall seconds")
        print(f"{'measurement':55} {'best':>7} {'median':>7}")
        for label, times in rows:
            print(f"{label:55} {min(times):7.3f} {statistics.median(times):7.3f}")


if __name__ == "__main__":
    main()
