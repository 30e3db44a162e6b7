"""Measure `dbsafe validate` on supabase projects it has never seen: what it reads, what it flags.

For each project directory given (a checkout of an open-source app with supabase-js code and
`supabase/migrations/*.sql`): start a throwaway PostgreSQL, create what a supabase database
has before the project's migrations run (the roles `anon`, `authenticated`, `service_role`;
`auth.users`, `auth.uid()`, `auth.role()`, `auth.jwt()`; `storage.buckets`/`storage.objects`;
the `extensions` schema with `uuid_generate_v4()`), apply the migrations statement by statement in file order,
introspect the result to a snapshot, and run

    dbsafe validate PROJECT --snapshot SNAPSHOT --no-confirm --format json --exclude /supabase/

Prints per project how many supabase-js requests and SQL statements were read and how each
was counted (analysed, not analysed, dynamic), the migration statements that failed (a
missing extension: the tables they create are missing too, so their findings are not to be
trusted), and every finding with its source line, to be judged by hand: a finding on a
request PostgREST serves is a false positive. The figures and the verdicts go in
docs/benchmarks.md.

Usage:
    git clone https://github.com/vercel/nextjs-subscription-payments /tmp/corpus/nsp
    python scripts/bench/supabase_corpus.py /tmp/corpus/nsp [more projects...]
    # a type an extension provides, replaced in the migrations (pgvector is not bundled):
    python scripts/bench/supabase_corpus.py /tmp/corpus/chatbot-ui \
        --replace 'vector\\(\\d+\\)' 'real[]'
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import clean_env, load

# What the supabase platform creates before a project's first migration.
PLATFORM = """
DO $$ BEGIN
  CREATE ROLE anon NOLOGIN; CREATE ROLE authenticated NOLOGIN; CREATE ROLE service_role NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE auth.users (
  id uuid PRIMARY KEY, email text, phone text, raw_user_meta_data jsonb,
  raw_app_meta_data jsonb, created_at timestamptz, updated_at timestamptz
);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$ SELECT NULL::uuid $f$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $f$ SELECT NULL::text $f$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $f$ SELECT NULL::jsonb $f$;
CREATE SCHEMA IF NOT EXISTS storage;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text, owner uuid, public boolean,
  created_at timestamptz, updated_at timestamptz);
CREATE TABLE storage.objects (id uuid PRIMARY KEY, bucket_id text REFERENCES storage.buckets,
  name text, owner uuid, owner_id text, metadata jsonb, created_at timestamptz,
  updated_at timestamptz, path_tokens text[]);
CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE sql
  AS $f$ SELECT string_to_array(name, '/') $f$;
CREATE FUNCTION extensions.uuid_generate_v4() RETURNS uuid LANGUAGE sql
  AS $f$ SELECT gen_random_uuid() $f$;
ALTER DATABASE corpus SET search_path = public, extensions;
"""


def apply_migrations(conninfo: str, project: Path,
                     replacements: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """Run every migration statement in its own transaction; (applied, failures)."""
    import psycopg

    from dbsafe.extract.sqlfile import split_sql

    applied, failed = 0, []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(PLATFORM)
    files = sorted((project / "supabase" / "migrations").glob("*.sql"))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for path in files:
            text = path.read_text(encoding="utf-8")
            for pattern, replacement in replacements:
                text = re.sub(pattern, replacement, text)
            for statement in split_sql(text, path.name):
                try:
                    conn.execute(statement.sql.encode())
                    applied += 1
                except psycopg.Error as exc:
                    first = str(exc).splitlines()[0]
                    failed.append(f"{path.name}:{statement.line}: {first}")
    return applied, failed


def measure(project: Path, workdir: Path, replacements: list[tuple[str, str]],
            env: dict[str, str]) -> None:
    from dbsafe.pg.throwaway import throwaway_server
    from dbsafe.schema.introspect import introspect_url

    snapshot = workdir / f"{project.name}.json"
    with throwaway_server(database="corpus") as server:
        applied, failed = apply_migrations(server.conninfo("corpus"), project, replacements)
        introspect_url(server.url("corpus")).save(snapshot)
    command = [sys.executable, "-m", "dbsafe", "validate", str(project), "--snapshot",
               str(snapshot), "--no-confirm", "--no-cache", "--format", "json", "-v",
               "--exclude", "/supabase/"]
    proc = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dbsafe failed on {project}: {proc.stderr[-2000:]}")
    document = json.loads(proc.stdout)
    summary = document["summary"]
    print(f"\n## {project.name}")
    print(f"migrations: {applied} statements applied, {len(failed)} failed")
    for line in failed[:10]:
        print(f"  failed: {line}")
    print("validate: " + ", ".join(f"{k} {v}" for k, v in summary.items()
                                   if k.startswith(("files", "statements"))))
    requests = sum(1 for _ in _requests(project))
    print(f"supabase-js calls (.from/.rpc on a client) read: {requests}")
    for skipped in document.get("skipped", [])[:40]:
        print(f"  not analysed: {skipped}")
    print(f"findings: {len(document['findings'])}")
    for finding in document["findings"]:
        path, line = finding["path"], finding["line"]
        source = (project / path).read_text(encoding="utf-8", errors="replace").splitlines()[line - 1].strip()
        print(f"  {finding['code']} {path}:{line}:{finding['column']} {finding['message']}\n"
              f"      {source[:140]}")


def _requests(project: Path):
    from dbsafe.extract.files import SCRIPT_SUFFIXES, discover
    from dbsafe.extract.javascript import sql_in_javascript

    for path in discover([project], root=project, exclude=["/supabase/"]):
        if path.suffix in SCRIPT_SUFFIXES:
            rel = path.relative_to(project).as_posix()
            yield from sql_in_javascript(path.read_text(encoding="utf-8", errors="replace"), rel).requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("projects", nargs="+", type=Path)
    parser.add_argument("--replace", nargs=2, action="append", default=[],
                        metavar=("PATTERN", "REPLACEMENT"),
                        help="rewrite the migrations before applying them (regex)")
    args = parser.parse_args()
    print(load())
    with tempfile.TemporaryDirectory(prefix="dbsafe-corpus-") as tmp:
        env = clean_env(Path(tmp) / "pycache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for project in args.projects:
            measure(project.resolve(), Path(tmp), [tuple(r) for r in args.replace], env)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
