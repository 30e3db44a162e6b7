"""What only a Supabase project's seed files make: its tests use it, its application must not.

`supabase db reset` runs `supabase/seed.sql` (or `[db.seed] sql_paths`) after the migrations
on the local database; production never runs it. capgo's `tests/test-utils.ts` calls five
RPCs its seed makes (`reset_and_seed_app_data`, ...), pain-point-studio's
`e2e/helpers/identity.ts` calls `add_fake_oauth_identity` ("Only exists in local dev:
seed.sql is NOT applied in production"), which its types, generated from the seeded local
database, list. Each was a DBS306 (or DBS317) error a team's CI failed on, for test code.
The same call from the application's code fails in production: it stays an error, saying so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import Report

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_MIGRATION = """\
CREATE TABLE apps (id text PRIMARY KEY, owner uuid);
CREATE FUNCTION get_user_id_by_email(lookup_email text) RETURNS uuid
  LANGUAGE sql AS $$ SELECT NULL::uuid $$;
"""
_SEED = """\
-- Seed data for local development
INSERT INTO apps (id) VALUES ('com.demo.app');

-- Helper: lookup user id by email (used by e2e test cleanup); the migrations make it too
CREATE OR REPLACE FUNCTION public.get_user_id_by_email(lookup_email text) RETURNS uuid
  LANGUAGE sql SECURITY DEFINER SET search_path TO '' AS $$ SELECT NULL::uuid $$;

-- E2E helper: only exists in local dev, seed.sql is NOT applied in production
CREATE OR REPLACE FUNCTION public.reset_and_seed_app_data(p_app_id text) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN DELETE FROM apps WHERE id = p_app_id; END $$;

CREATE TABLE test_fixtures (id int, label text);
ALTER TABLE apps ADD COLUMN seeded_at timestamptz;
"""
_TYPES = """\
export type Database = { public: { Tables: { apps: { Row: { id: string; owner: string } } }
  Functions: { reset_and_seed_app_data: { Args: { p_app_id: string }; Returns: undefined } } } }
"""
_CALLS = """\
await supabase.rpc('reset_and_seed_app_data', { p_app_id: appId })
await supabase.from('test_fixtures').select('label')
await supabase.from('apps').select('seeded_at')
await supabase.rpc('get_user_id_by_email', { lookup_email: email })
await supabase.rpc('reset_and_seed_app_dat', { p_app_id: appId })
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _project(root: Path, *, config: str | None = None, seed: str = "seed.sql") -> Path:
    _write(root / "supabase" / "migrations" / "20240101000000_apps.sql", _MIGRATION)
    _write(root / "supabase" / seed, _SEED)
    if config is not None:
        _write(root / "supabase" / "config.toml", config)
    _write(root / "src" / "lib" / "database.types.ts", _TYPES)
    for rel in ("tests/test-utils.ts", "e2e/helpers/identity.ts", "src/lib/apps.spec.ts",
                "src/lib/apps.ts"):
        _write(root / rel, _CALLS)
    # silenced by hand before validate read the seed: the directive is not stale now
    _write(root / "tests" / "ignored.test.ts",
           "await supabase.rpc('reset_and_seed_app_data')  // dbsafe: ignore[DBS306]\n")
    return root


def _validate(root: Path) -> Report:
    return commands.validate(load_settings(root, environ={}), [root])


def _shown(report: Report) -> list[tuple[str, str, int, str | None, str]]:
    return sorted((f.location.path, f.code, f.location.line, f.subject, f.severity.value)
                  for f in report.findings if f.code.startswith("DBS3") and f.location)


def test_a_test_calling_what_only_the_seed_makes_is_not_a_finding_application_code_is(
        tmp_path: Path) -> None:
    report = _validate(_project(tmp_path))

    error = "error"
    misspelt = ("DBS306", 5, "public.reset_and_seed_app_dat", error)
    assert _shown(report) == [
        ("e2e/helpers/identity.ts", *misspelt),  # no seed makes it: a test's error too
        ("src/lib/apps.spec.ts", *misspelt),
        # the application's: the errors they were, not DBS317 though the types list one
        ("src/lib/apps.ts", "DBS301", 2, "public.test_fixtures", error),
        ("src/lib/apps.ts", "DBS302", 3, "public.apps.seeded_at", error),
        ("src/lib/apps.ts", "DBS306", 1, "public.reset_and_seed_app_data", error),
        ("src/lib/apps.ts", *misspelt),
        ("tests/test-utils.ts", *misspelt),
    ]
    assert not [f for f in report.findings if f.code == "DBS002"]
    rpc = next(f for f in report.findings if f.subject == "public.reset_and_seed_app_data")
    assert rpc.message == (
        "no function `reset_and_seed_app_data` in schema `public`: only `supabase/seed.sql` "
        "makes it, a seed file, which Supabase runs on local databases (`supabase db reset`) "
        "but production never runs")
    assert ("Made by the seed", "supabase/seed.sql:9") in rpc.context
    column = next(f for f in report.findings if f.subject == "public.apps.seeded_at")
    assert ("Made by the seed", "supabase/seed.sql:13") in column.context
    # The tests' are listed with -v, saying whose they are.
    reasons = {(s.location.path, s.location.line, s.reason) for s in report.skipped}
    assert ("tests/test-utils.ts", 1,
            "not analysed: reads function `reset_and_seed_app_data`, which only the seed file "
            "supabase/seed.sql:9 makes; a test runs on the seeded local database") in reasons
    assert {(path, line) for path, line, reason in reasons if "seed file" in reason} == {
        (path, line) for path in ("tests/test-utils.ts", "e2e/helpers/identity.ts",
                                  "src/lib/apps.spec.ts") for line in (1, 2, 3)} | {
        ("tests/ignored.test.ts", 1)}


def test_the_seed_files_are_those_config_toml_names(tmp_path: Path) -> None:
    # `sql_paths` globs, relative to the `supabase` folder: `seed.sql` is then no seed file
    # (an unlisted file the CLI never runs), `seeds/helpers.sql` is.
    listed = _project(tmp_path / "listed", seed="seeds/helpers.sql",
                      config='[db.seed]\nenabled = true\nsql_paths = ["./seeds/*.sql"]\n')
    assert [(p, code) for p, code, *_ in _shown(_validate(listed)) if "spec" in p] == [
        ("src/lib/apps.spec.ts", "DBS306")]
    unlisted = _project(tmp_path / "unlisted",
                        config='[db.seed]\nsql_paths = ["./seeds/*.sql"]\n')
    disabled = _project(tmp_path / "disabled", config="[db.seed]\nenabled = false\n")
    for root in (unlisted, disabled):
        report = _validate(root)
        assert [(p, code) for p, code, *_ in _shown(report) if "spec" in p] == [
            ("src/lib/apps.spec.ts", "DBS301"), ("src/lib/apps.spec.ts", "DBS302"),
            ("src/lib/apps.spec.ts", "DBS306"),  # misspelt
            ("src/lib/apps.spec.ts", "DBS317")], root  # as before: no seed file makes it
        assert not any("seed file" in f.message for f in report.findings)
