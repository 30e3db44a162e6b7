"""verify-reversible's fast walk (a linear stretch walked up, then down) against real
PostgreSQL: the same findings as the stairway, with a fraction of its alembic requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dbsafe.gates import reversible
from dbsafe.migrate.runner import AlembicProject

pytestmark = pytest.mark.db

ENVS = Path(__file__).parent / "envs"
ROOT = Path(__file__).parents[2]

ENV_PY = '''\
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None,
                  transaction_per_migration=PER_MIGRATION)
with context.begin_transaction():
    connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS kept (id int PRIMARY KEY)")
    context.run_migrations()
'''


def _history(root: Path, count: int, *, leaky: set[int], sticky: set[int],
             per_migration: bool = False, broken: frozenset[int] = frozenset(),
             ) -> AlembicProject:
    """`count` revisions, each a table with an index. `leaky`: the downgrade forgets an index
    kept on t_1 (so revision 1's downgrade removes it again: only a check right after the
    leaky downgrade sees it). `sticky`: the upgrade adds a row to `kept` (env.py's) that the
    downgrade leaves, so upgrading again fails (schema equal, data not). `broken`: the
    upgrade raises."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (root / "migrations" / "env.py").write_text(
        ENV_PY.replace("PER_MIGRATION", str(per_migration)))
    for i in range(1, count + 1):
        up = [f"CREATE TABLE t_{i} (id int PRIMARY KEY, a int)",
              f"CREATE INDEX ix_t_{i}_a ON t_{i} (a)"]
        down = [f"DROP INDEX ix_t_{i}_a", f"DROP TABLE t_{i}"]
        if i in leaky:
            up.append(f"CREATE INDEX ix_left_{i} ON t_1 (a)")
        if i in sticky:
            up.append(f"INSERT INTO kept (id) VALUES ({i})")
        if i in broken:
            up.append("SELECT 1 / 0")
        (versions / f"{i:04d}_step.py").write_text(
            f'"""step {i}"""\nfrom alembic import op\n\nrevision = "{i:04d}"\n'
            f"down_revision = {repr(f'{i - 1:04d}') if i > 1 else None}\n\n\n"
            "def upgrade():\n" + "".join(f"    op.execute({s!r})\n" for s in up) +
            "\n\ndef downgrade():\n" + "".join(f"    op.execute({s!r})\n" for s in down))
    return AlembicProject(root / "alembic.ini")


def _seen(result: reversible.WalkResult) -> list[tuple[object, ...]]:
    return [(f.code, f.subject, f.message, f.context, f.location, f.help)
            for f in result.findings]


def test_the_fast_walk_finds_what_the_stairway_finds_on_every_kind_of_leftover(
        database_url: str, more_databases: Callable[[], str]) -> None:
    # `envs/leaky`: leftovers of every kind, a `pass` downgrade, a raising one, a data
    # migration, a column order; walked fast although it is short.
    project = AlembicProject(ENVS / "leaky" / "alembic.ini")
    stairway = reversible.walk(project, more_databases(), root=ROOT,
                               new_database=more_databases, fast_min=None)
    fast = reversible.walk(project, database_url, root=ROOT, new_database=more_databases,
                           fast_min=1)

    assert _seen(fast) == _seen(stairway)
    assert fast.walked == stairway.walked
    assert fast.summary["revisions_verified"] == 10

    # --from/--to: a stretch in the middle
    part = reversible.walk(project, more_databases(), root=ROOT, new_database=more_databases,
                           start=["0003"], target="0005", fast_min=1)
    assert [(f.code, f.subject) for f in part.findings] == \
        [("DBS413", "0004"), ("DBS413", "0004"), ("DBS413", "0005"), ("DBS413", "0005")]


# A command stopped on a differing fingerprint is rolled back whole (one transaction), or
# only its last revision (a transaction per revision): either way the walk lands on the
# state that differed.
@pytest.mark.parametrize("per_migration", [False, True])
def test_a_long_linear_history_is_walked_up_then_down_with_the_stairways_verdict(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        per_migration: bool) -> None:
    project = _history(tmp_path, 30, leaky={12, 25}, sticky={7}, per_migration=per_migration)
    shown: list[tuple[int, int, str]] = []
    fast = reversible.walk(project, database_url, root=tmp_path, new_database=more_databases,
                           progress=lambda *step: shown.append(step))
    stairway = reversible.walk(project, more_databases(), root=tmp_path,
                               new_database=more_databases, fast_min=None)

    assert [(f.code, f.subject) for f in fast.findings] == [
        ("DBS415", "0007"),  # its row stays: upgrading again fails
        ("DBS413", "0012"), ("DBS413", "0025")]  # the index each leaves on t_1
    assert _seen(fast) == _seen(stairway)
    assert "ix_left_12" in fast.findings[1].message
    # env.py, up, down in commands of 20 revisions (each stop: one or two more), up again
    # in three (snapshots before 0012 and 0025), 0007's failure: a fresh database
    assert fast.summary["alembic_requests"] < 15 < stairway.summary["alembic_requests"]
    assert fast.summary["revisions_verified"] == 30
    # the bar moves down the history and ends on its first revision
    assert shown[0] == (0, 30, "0030") and shown[-1] == (29, 30, "0001")


@pytest.mark.parametrize(("broken", "early"), [
    (frozenset(), True), (frozenset({9}), True), (frozenset({41}), False)])
def test_a_long_history_split_in_two_halves_walked_side_by_side_gets_the_same_verdict(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        monkeypatch: pytest.MonkeyPatch, broken: frozenset[int], early: bool) -> None:
    # Leftovers, and a row that makes the re-upgrade fail, in both halves (the cut is at
    # 30 of 45); an upgrade that raises in the lower half, in the upper half, or none. The
    # second child starts with the first (45 revision files), or once the history is known
    # to be long (files elsewhere).
    monkeypatch.setattr(reversible, "usable_cores", lambda: 2)  # split on any machine
    if not early:
        monkeypatch.setattr(reversible, "_has_files", lambda project, count: False)
    project = _history(tmp_path, 45, leaky={12, 40}, sticky={7, 38}, broken=broken)
    shown: list[tuple[int, int, str]] = []
    split = reversible.walk(project, database_url, root=tmp_path, new_database=more_databases,
                            split_min=40, progress=lambda *step: shown.append(step))
    stairway = reversible.walk(project, more_databases(), root=tmp_path,
                               new_database=more_databases, fast_min=None)

    assert _seen(split) == _seen(stairway)
    assert split.walked == stairway.walked
    assert split.not_verified == stairway.not_verified
    if not broken:
        assert [(f.code, f.subject) for f in split.findings] == [
            ("DBS415", "0007"), ("DBS413", "0012"), ("DBS415", "0038"), ("DBS413", "0040")]
        # in one piece: 0038's failing re-upgrade is found above 0007's fresh database
        one = reversible.walk(project, more_databases(), root=tmp_path,
                              new_database=more_databases, split_min=None)
        assert _seen(one) == _seen(stairway)
        # both halves' requests are counted; the bar counts down to the first revision
        assert one.summary["alembic_requests"] < split.summary["alembic_requests"] \
            < stairway.summary["alembic_requests"]
        assert [s[0] for s in shown] == sorted({s[0] for s in shown})  # each step once
        assert shown[-1][:2] == (44, 45)
        # Each line names the part its revision belongs to, the first both, a last one
        # after both parts the whole walk; no revision is named twice (the base was: its
        # part's last line and the walk's; the head never, its part's first line counting
        # as the lower part's).
        assert shown[0] == (0, 45, "0001..0030 and 0031..0045, side by side")
        parts = {"0001..0030": range(1, 31), "0031..0045": range(31, 46)}
        for _step, _total, label in shown[1:]:
            if label == "0001..0045":
                assert label == shown[-1][2]
                continue
            revision, _, named = label.removesuffix(")").partition(" (of ")
            assert int(revision) in parts[named], label
        assert len({label for *_, label in shown}) == len(shown)
    else:
        assert split.findings[-1].subject == f"{min(broken):04d}"
        assert split.not_verified[0] == f"{min(broken):04d}"
