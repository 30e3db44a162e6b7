"""verify-reversible's stairway rebuilds from a checkpoint (task 456): each database it
rebuilt after a downgrade it cannot undo (a column order) is kept as a copy, and the next
rebuild starts from that copy, upgrading only the revisions applied since, instead of the
whole history again (Superset 5.0.0: 18 rebuilds of up to 300 revisions). Real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dbsafe.gates import reversible
from tests.gates.histories import MODES, write_history

pytestmark = pytest.mark.db


def _history(root: Path, log: Path) -> None:
    """Eight revisions, each writing its id to `log` as it upgrades; the downgrades of
    0003 and 0006 add back the column their upgrade dropped at the table's end (DBS414),
    so the walk goes on from a rebuilt database after each; 0007's leaves an index
    (DBS413, repaired in place)."""
    steps = {3: ("ALTER TABLE t1 DROP COLUMN b", "ALTER TABLE t1 ADD COLUMN b text"),
             6: ("ALTER TABLE t4 DROP COLUMN b", "ALTER TABLE t4 ADD COLUMN b text"),
             7: ("CREATE INDEX ix_t2_a ON t2 (a)", "")}
    revisions: list[tuple[str, str] | str] = []
    for i in range(1, 9):
        extra_up, extra_down = steps.get(i, ("", ""))
        up = [f"CREATE TABLE t{i} (id int, b text, a int)", *filter(None, [extra_up])]
        down = [*filter(None, [extra_down]), f"DROP TABLE t{i}"]
        revisions.append(
            "from alembic import op\n\n\ndef upgrade():\n"
            f"    with open({str(log)!r}, 'a') as f:\n"
            f"        f.write('{i:04d}\\n')\n"
            + "".join(f"    op.execute({s!r})\n" for s in up)
            + "\n\ndef downgrade():\n"
            + "".join(f"    op.execute({s!r})\n" for s in down))
    write_history(root, revisions)


def _walk(tmp_path: Path, name: str, database_url: str, new_database: Callable[[], str],
          copy: Callable[[str], str] | None) -> tuple[reversible.WalkResult, list[str]]:
    root, log = tmp_path / name, tmp_path / f"{name}.log"
    _history(root, log)
    from dbsafe.migrate.runner import AlembicProject

    result = reversible.walk(AlembicProject(root / "alembic.ini"), database_url, root=root,
                             new_database=new_database, copy_database=copy,
                             **MODES["stairway"])  # type: ignore[arg-type]
    return result, log.read_text().split()


def test_the_findings_of_a_walk_rebuilt_from_checkpoints_are_those_of_a_full_replay(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        copies: Callable[[str], str]) -> None:
    full, full_upgrades = _walk(tmp_path, "full", database_url, more_databases, None)
    kept, kept_upgrades = _walk(tmp_path, "kept", more_databases(), more_databases, copies)

    def seen(result: reversible.WalkResult) -> list[tuple[str, str | None, str]]:
        return [(f.code, f.subject, f.message) for f in result.findings]

    assert seen(kept) == seen(full)
    assert [(code, subject) for code, subject, _ in seen(kept)] == [
        ("DBS414", "0003"), ("DBS414", "0006"), ("DBS413", "0007")]
    assert kept.walked == full.walked == tuple(f"{i:04d}" for i in range(1, 9))
    assert kept.summary["rebuilt"] == full.summary["rebuilt"] == 2
    # The first rebuild replays 0001-0003 either way; the second, from the copy kept
    # then, only 0004-0006 (without: 0001-0006 again).
    assert full.summary["replayed"] == 3 + 6
    assert kept.summary["replayed"] == 3 + 3
    assert len(kept_upgrades) == len(full_upgrades) - 3


def test_a_rebuild_upgrades_only_the_revisions_after_the_checkpoint(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        copies: Callable[[str], str]) -> None:
    """Counted where the child runs them: each revision's upgrade() writes its id."""
    result, upgrades = _walk(tmp_path, "kept", database_url, more_databases, copies)

    assert not result.not_verified
    # Each of 0001-0006: its walk's upgrade and re-upgrade, once on the twin (the schema
    # before 0003, 0006 and 0007, whose fingerprints differed) and once replayed: 0001-0003
    # by the first rebuild, 0004-0006 by the second, from the first's copy (without it,
    # 0001-0003 a fifth time). 0007 and 0008: the walk's two upgrades.
    assert {rid: upgrades.count(rid) for rid in dict.fromkeys(upgrades)} == {
        "0001": 4, "0002": 4, "0003": 4, "0004": 4, "0005": 4, "0006": 4,
        "0007": 2, "0008": 2}
    assert result.summary["replayed"] == 3 + 3
