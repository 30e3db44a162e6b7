"""Benchmark `dbsafe schema dump` as users run it, against `pg_dump --schema-only`.

Starts a throwaway PostgreSQL and builds N tables x 20 columns (a primary key, an index and
a foreign key each; scripts/bench/introspect.py's schema), then, interleaved as whole
processes after a warm-up (scripts/bench/harness.py: medians, min-max, ratios pair by pair,
CPU and peak memory from the kernel, the load average):

  dump         `dbsafe schema dump --database-url URL --output FILE`
  pg_dump      `pg_dump --schema-only --file FILE` (the same server's major version)
  floor        `psql` running dbsafe's own catalog queries in one session, rows discarded:
               reading the catalog, with nothing built or written; and the same queries
               split over as many `psql` sessions at once as dbsafe opens (its lanes)

and, on the snapshot just written (or on `--file FILE`, without a database):

  json.load    `python -c` json.load(open(FILE)) (parsing only, into dicts): the peer
  load         `python -c` SchemaSnapshot.load(FILE).fingerprint() (what a validate does
               first), on the file as dbsafe writes it (closed by its checksum) and on the
               same file without the checksum (as written before issue 11's checksum)

then, in-process (library figures, not commands): encoding and decoding that snapshot with
the standard library, orjson (if installed) and msgspec, median of `--repeat`.

Usage:
    python3 scripts/bench/snapshot.py                 # 10,000 tables; --runs N (default 5)
    python3 scripts/bench/snapshot.py --tables 1000   # a quick run
    python3 scripts/bench/snapshot.py --url URL --bin DIR  # an existing database of that shape
    python3 scripts/bench/snapshot.py --baseline DIR  # + before/after against another checkout
    python3 scripts/bench/snapshot.py --file F.json    # loading an existing snapshot only
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import compare, load, report
from introspect import COLUMNS, build

ROOT = Path(__file__).resolve().parents[2]


def catalog_queries(lane: int = 0, lanes: int = 1) -> str:
    """dbsafe's introspection queries as a psql script (no schema filter): all of them in
    one session (`lanes` 1), or the ones session `lane` of `lanes` runs in dbsafe (without
    the small follow-up queries whose parameters come from earlier answers)."""
    from dbsafe.schema import introspect

    script = ["SET max_parallel_workers_per_gather = 0;\n"]  # as dbsafe's sessions
    for _name, sql in introspect._session_queries(180000, lanes)[lane]:
        sql = sql.replace("%(schemas)s", "NULL::text[]").replace("%%", "%")
        script.append(sql.strip().rstrip(";") + ";\n")
    return "".join(script)


def _part_dict(part: object) -> dict[str, object]:
    """A snapshot part as orjson is handed it: its fields, those at their default left out
    (as the snapshot file has them)."""
    import msgspec

    plain = {}
    for name, default in _defaults(type(part)):
        value = getattr(part, name)
        if default is msgspec.NODEFAULT or value != default:
            plain[name] = value
    return plain


@functools.cache
def _defaults(cls: type) -> tuple[tuple[str, object], ...]:
    import msgspec

    return tuple((f.name, f.default_factory() if f.default is msgspec.NODEFAULT
                  and f.default_factory is not msgspec.NODEFAULT else f.default)
                 for f in msgspec.structs.fields(cls))


def _median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def serializers(path: Path, repeat: int) -> str:
    """In-process encode/decode of the snapshot at `path`: json, orjson, msgspec."""
    import msgspec

    from dbsafe.schema.model import SchemaSnapshot

    snapshot = SchemaSnapshot.load(path)
    raw = snapshot.to_json_bytes()  # closed by its checksum, whatever wrote `path`
    rows = [
        ("json: to_dict + dumps(indent=2, sort_keys)",
         lambda: json.dumps(snapshot.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)),
        ("msgspec: encode(order=sorted) + format(indent=2)", snapshot.to_json_bytes),
        ("json: loads + from_dict (field by field)",
         lambda: SchemaSnapshot.from_dict(json.loads(raw))),
        ("msgspec: decode(type=SchemaSnapshot), gc paused",
         lambda: _no_gc(lambda: msgspec.json.decode(raw, type=SchemaSnapshot))),
        ("dbsafe: load + fingerprint (hash, checksum verified, decode)",
         lambda: SchemaSnapshot.from_json(raw).fingerprint()),
        ("dbsafe: the same without the checksum (hash, decode, write back to compare)",
         lambda: SchemaSnapshot.from_json(without_checksum(raw)).fingerprint()),
        ("json: loads only (dicts)", lambda: json.loads(raw)),
    ]
    with contextlib.suppress(ImportError):
        import orjson

        top = {"format": 2, **{name: getattr(snapshot, name)
                               for name in snapshot.to_dict() if name != "format"}}
        options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
        # orjson does not know msgspec's Structs: it asks `default` for each one (the
        # snapshot leaves fields at their defaults out: `to_dict`'s parts do the same).
        rows[2:2] = [
            ("orjson: dumps(model objects via default=, INDENT_2, SORT_KEYS)",
             lambda: orjson.dumps(top, default=_part_dict, option=options)),
        ]
        rows.append(("orjson: loads only (dicts; no typed decode)", lambda: orjson.loads(raw)))
        same = orjson.dumps(top, default=_part_dict, option=options) + b"\n"
        print(f"orjson {orjson.__version__} bytes identical to the snapshot (without its "
              f"checksum): {same == without_checksum(raw)}")
    print(f"msgspec {msgspec.__version__} bytes identical to the snapshot: "
          f"{snapshot.to_json_bytes() == raw}")
    lines = [f"\nIn-process, {len(raw) / 2**20:.0f} MiB snapshot, median of {repeat}:",
             "| step | seconds |", "| --- | ---: |"]
    lines += [f"| {name} | {_median_seconds(fn, repeat):.2f} |" for name, fn in rows]
    return "\n".join(lines)


def before_after(baseline: Path, url: str | None, snapshot: Path, work: Path,
                 runs: int) -> str:
    """The same dump and load, `python -m dbsafe` of the checkout in `baseline` vs this one.

    Each version loads the file as it writes it: a baseline older than the snapshot checksum
    loads the snapshot without it (it could not read the checksum), a newer one the same
    file as this checkout."""
    def version(path: Path) -> list[str]:
        return ["env", f"PYTHONPATH={path.resolve()}", sys.executable]

    model = (baseline / "dbsafe" / "schema" / "model.py").read_text(encoding="utf-8")
    old_file = snapshot if "_CHECKSUM_ENTRY" in model else work / "without-checksum.json"
    tables = []
    steps: list[tuple[str, Callable[[Path, Path], list[str]]]] = [
        ("load + fingerprint", lambda out, file: ["-c", LOAD_CODE, str(file)])]
    if url is not None:
        steps.insert(0, ("schema dump", lambda out, file: [
            "-m", "dbsafe", "schema", "dump", "--database-url", url, "--output", str(out)]))
    for what, argv in steps:
        figures = compare([
            (f"baseline {what}", [*version(baseline), *argv(work / "baseline.json", old_file)]),
            (f"this {what}", [*version(ROOT), *argv(work / "this.json", snapshot)]),
        ], runs=runs, cwd="/")  # `python -m` puts the working directory before PYTHONPATH
        tables.append(report(figures, title=f"Before/after: {what}"))
    return "\n".join(tables)


LOAD_CODE = ("import sys; from pathlib import Path; from dbsafe.schema.model import "
             "SchemaSnapshot; SchemaSnapshot.load(Path(sys.argv[1])).fingerprint()")


def without_checksum(raw: bytes) -> bytes:
    """A snapshot file as dbsafe wrote it before files closed with their checksum."""
    head, sep, _entry = raw.rpartition(b',\n  "sha256": ')
    return head + b"\n}\n" if sep else raw


def loading(snapshot: Path, work: Path, runs: int, env: dict[str, str]) -> str:
    """Loading `snapshot` as whole processes, against json.load of the same file."""
    written = work / "written.json"  # as this dbsafe writes it, whatever wrote `snapshot`
    old = work / "without-checksum.json"
    # In a child: the most this process ever held counts in every later child's peak memory.
    subprocess.run([sys.executable, "-c", (
        "import sys; from pathlib import Path; from dbsafe.schema.model import SchemaSnapshot; "
        "SchemaSnapshot.load(Path(sys.argv[1])).save(Path(sys.argv[2])); "
        "head = Path(sys.argv[2]).read_bytes().rpartition(b',\\n  \"sha256\": ')[0]; "
        "Path(sys.argv[3]).write_bytes(head + b'\\n}\\n')"),
        str(snapshot), str(written), str(old)], env=env, check=True)
    figures = compare([
        ("json.load (peer)", [sys.executable, "-c",
                              "import json, sys; json.load(open(sys.argv[1]))", str(written)]),
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("load + fingerprint", [sys.executable, "-c", LOAD_CODE, str(written)]),
        ("load + fingerprint, file without checksum", [sys.executable, "-c", LOAD_CODE,
                                                        str(old)]),
    ], runs=runs, env=env)
    return report(figures, title=f"Loading a snapshot ({written.stat().st_size / 2**20:.0f} "
                                 "MiB), whole processes")


def _no_gc(fn: Callable[[], object]) -> object:
    gc.disable()
    try:
        return fn()
    finally:
        gc.enable()


@contextlib.contextmanager
def database(url: str | None, tables: int, bin_dir: str | None,
             ) -> Iterator[tuple[str, list[str], list[str]]]:
    """(url, pg_dump argv prefix, psql argv prefix) for a database of `tables` tables."""
    if url is not None:
        def tool(name: str) -> str:
            return str(Path(bin_dir) / name) if bin_dir else shutil.which(name) or name

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        connect = [*(["--host", query.get("host") or parts.hostname or ""]
                     if query.get("host") or parts.hostname else []),
                   *(["--port", str(query.get("port") or parts.port)]
                     if query.get("port") or parts.port else []),
                   *(["--username", parts.username] if parts.username else [])]
        yield url, [tool("pg_dump"), *connect], [tool("psql"), *connect]
        return
    from dbsafe.pg.throwaway import throwaway_server

    with throwaway_server(database="bench") as server:
        built = build(server.conninfo("bench"), tables)
        print(f"{tables} tables x {COLUMNS} columns built in {built:.1f} s")
        connect = ["--host", str(server.socket_dir), "--port", str(server.port),
                   "--username", server.user]
        yield (server.url("bench"), [str(server.bin_dir / "pg_dump"), *connect],
               [str(server.bin_dir / "psql"), *connect])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="counted runs per contender")
    parser.add_argument("--repeat", type=int, default=3, help="in-process repeats")
    parser.add_argument("--url", help="an existing database instead of a throwaway one")
    parser.add_argument("--bin", help="where pg_dump and psql are, with --url")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also interleave the dbsafe checkout in DIR with this one")
    parser.add_argument("--file", type=Path, help="only load this snapshot (no database)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="dbsafe-bench-snapshot-"))
    # This checkout's dbsafe, whatever an installed `dbsafe` script would run.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if args.file:
        print(f"python {sys.version.split()[0]}; {load()}; {args.runs} runs each after 1 "
              "warm-up, interleaved")
        print(loading(args.file, work, args.runs, env))
        if args.baseline:
            print(before_after(args.baseline, None, work / "written.json", work, args.runs))
        print(serializers(work / "written.json", args.repeat))
        print(f"\n{load()}")
        shutil.rmtree(work)
        return 0
    queries = work / "catalog.sql"
    queries.write_text(catalog_queries(), encoding="utf-8")
    from dbsafe.schema.introspect import HELPERS

    lanes = HELPERS + 1
    for lane in range(lanes):
        (work / f"lane{lane}.sql").write_text(catalog_queries(lane, lanes), encoding="utf-8")
    dbsafe_argv = [sys.executable, "-m", "dbsafe"]
    with database(args.url, args.tables, args.bin) as (url, pg_dump, psql):
        dbname = re.sub(r"\?.*", "", url).rsplit("/", 1)[-1]
        quiet_psql = [*psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null"]
        out = work / "schema.json"
        print(f"python {sys.version.split()[0]}; {load()}; {args.runs} runs each after 1 "
              "warm-up, interleaved")
        dump = compare([
            ("pg_dump --schema-only", [*pg_dump, "--schema-only", "--file",
                                       str(work / "dump.sql"), dbname]),
            ("dbsafe schema dump", [*dbsafe_argv, "schema", "dump", "--database-url", url,
                                    "--output", str(out)]),
            ("catalog queries, one session (floor)", [*quiet_psql, "-f", str(queries), dbname]),
            (f"catalog queries, {lanes} sessions at once (floor)",
             ["sh", "-c", " ".join(
                 f"{shlex.join([*quiet_psql, '-f', str(work / f'lane{lane}.sql'), dbname])} &"
                 for lane in range(lanes)) + " wait"]),
        ], runs=args.runs, env=env)
        if not out.is_file():  # the harness takes exit status 1 (findings) as success
            raise SystemExit(f"dbsafe schema dump wrote no {out}")
        print(report(dump, title=f"Snapshot of {args.tables} tables, to a file"))
        for floor_fig in dump[2:]:
            ratios = [a / b for a, b in zip(dump[1].wall, floor_fig.wall, strict=True)]
            print(f"\ndbsafe ÷ {floor_fig.name}, wall: {statistics.median(ratios):.2f} "
                  f"({min(ratios):.2f}-{max(ratios):.2f})")
        print(loading(out, work, args.runs, env))
        if args.baseline:  # before the in-process part: a child's peak counts its parent's
            print(before_after(args.baseline, url, out, work, args.runs))
        print(serializers(out, args.repeat))
    print(f"\n{load()}")
    shutil.rmtree(work)  # three copies of a 69 MiB snapshot and a dump
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
