"""`dbsafe upgrade`'s health checks and validate's PREPAREs behind a session holding ACCESS
EXCLUSIVE on a table they read.

A check whose statement waited past `--lock-timeout` was reported as one that could not run
(DBS004): in the postflight a problem the upgrade made, so a session holding a table for a
moment rolled a good upgrade back. A PREPARE validate's confirmation sent was cut the same
way, and the finding it was to confirm or drop was kept, unconfirmed. Both are now made
again after the backoff, as the run's other reads are (`upgrade.waited`), each retry and
the give-up naming the holder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.core import DatabaseError
from tests.guard.test_backup_lock_wait import _unblocked_if_unbounded
from tests.guard.test_schema_read_lock_wait import _vacuuming
from tests.guard.test_upgrade import _at, _options, _project, _settings, _state

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# A project check reading a table: its statement takes ACCESS SHARE on `patients`.
PATIENT_NAMES = """\
-- dbsafe:check DBS560 patients-named
-- severity: error
-- since: 0.1.0
-- summary: Every patient has a name.
-- help: Name them.
--
SELECT id::text AS subject, 'patient without a name' AS message
FROM patients WHERE name = ''
"""


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_a_postflight_check_cut_by_a_lock_timeout_is_run_again_not_rolled_back(
        database_url: str, tmp_path: Path, released: bool) -> None:
    root = _project(tmp_path / "p", app_sql="SELECT id FROM orders;\n")
    (root / "checks").mkdir()
    (root / "checks" / "patients_named.sql").write_text(PATIENT_NAMES)
    _at(database_url, "0003", root)
    holder, named = _vacuuming(database_url)
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if message.startswith("0004 applied in"):
            holder.execute("LOCK TABLE patients")  # the revision is in: the check waits
        elif "retrying in" in message and released:
            holder.rollback()  # a moment, shorter than the retries

    settings = _settings(root, database_url, **{"check-paths": ["checks"]})
    options = _options(tmp_path, backup=False, lock_timeout="300ms", retries=1)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.upgrade(settings, options, progress)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.upgrade(settings, options, progress)
    finally:
        holder.close()

    assert not ended, "the check waited for the lock unbounded"
    retries = [s for s in said if "retrying in" in s]
    assert retries, said
    for retry in retries:
        assert retry.startswith("postflight: could not run check DBS560 patients-named: "
                                "canceling statement due to lock timeout; "), retry
        assert named in retry and "holding ACCESS EXCLUSIVE on public.patients" in retry, retry
    assert not any(s.startswith("way back") for s in said), said
    assert _state(database_url)["version"] == ["0004"]
    if released:
        assert len(retries) == 1, said
        assert report.summary["outcome"] == "applied", report.summary["what_happened"]
        assert not [f for f in report.findings if f.code in ("DBS004", "DBS604")]
    else:
        message = str(failure.value)
        assert message.startswith("could not run check DBS560 patients-named: canceling "
                                  "statement due to lock timeout; "), message
        assert named in message and "\n" not in message, message
        assert message.endswith("; the revisions are applied, the postflight was not "
                                "completed"), message


@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_a_preflight_check_cut_by_a_lock_timeout_is_run_again(
        database_url: str, tmp_path: Path, released: bool) -> None:
    root = _project(tmp_path / "p", app_sql="SELECT id FROM orders;\n")
    (root / "checks").mkdir()
    (root / "checks" / "patients_named.sql").write_text(PATIENT_NAMES)
    _at(database_url, "0003", root)
    holder, named = _vacuuming(database_url)
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if message == "lint: the pending revisions pass":
            holder.execute("LOCK TABLE patients")  # lint has read the schema: the check waits
        elif "retrying in" in message and released:
            holder.rollback()

    settings = _settings(root, database_url, **{"check-paths": ["checks"]})
    options = _options(tmp_path, backup=False, lock_timeout="300ms", retries=1)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.upgrade(settings, options, progress)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.upgrade(settings, options, progress)
    finally:
        holder.close()

    assert not ended, "the check waited for the lock unbounded"
    retries = [s for s in said if "retrying in" in s]
    assert retries, said
    for retry in retries:
        assert retry.startswith("preflight: could not run check DBS560 patients-named: "
                                "canceling statement due to lock timeout; "), retry
        assert named in retry, retry
    if released:
        assert len(retries) == 1, said
        assert report.summary["outcome"] == "applied", report.summary["what_happened"]
        assert _state(database_url)["version"] == ["0004"]
    else:
        message = str(failure.value)
        assert named in message and "\n" not in message, message
        assert message.endswith("; nothing was applied"), message
        assert _state(database_url)["version"] == ["0003"]



@pytest.mark.parametrize("released", [True, False], ids=["released", "held"])
def test_a_postflight_prepare_cut_by_a_lock_timeout_is_sent_again_naming_the_holder(
        database_url: str, tmp_path: Path, released: bool) -> None:
    # A query failing before the upgrade as after it (42703): validate prepares it, and
    # parse analysis takes ACCESS SHARE on `patients`.
    root = _project(tmp_path / "p", app_sql="SELECT nosuch FROM patients;\n")
    _at(database_url, "0003", root)
    holder, named = _vacuuming(database_url)
    said: list[str] = []

    def progress(step: str, message: str) -> None:
        said.append(f"{step}: {message}")
        if message.startswith("0004 applied in"):
            holder.execute("LOCK TABLE patients")
        elif "retrying in" in message and released:
            holder.rollback()

    options = _options(tmp_path, backup=False, lock_timeout="300ms", retries=1)
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            if released:
                report = commands.upgrade(_settings(root, database_url), options, progress)
            else:
                with pytest.raises(DatabaseError) as failure:
                    commands.upgrade(_settings(root, database_url), options, progress)
    finally:
        holder.close()

    assert not ended, "the PREPARE waited for the lock unbounded"
    retries = [s for s in said if "retrying in" in s]
    assert retries, said
    for retry in retries:
        assert retry.startswith("postflight: could not confirm app/queries.sql:1 with "
                                "PostgreSQL: canceling statement due to lock timeout; "), retry
        assert named in retry and "holding ACCESS EXCLUSIVE on public.patients" in retry, retry
    assert _state(database_url)["version"] == ["0004"]
    if released:
        assert len(retries) == 1, said
        assert report.summary["outcome"] == "applied", report.summary["what_happened"]
    else:
        message = str(failure.value)
        assert named in message and "\n" not in message, message
        assert message.endswith("; the revisions are applied, the postflight was not "
                                "completed"), message
