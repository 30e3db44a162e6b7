"""Relative downgrade targets (`-N`) on a history with a branch and a merge."""

from __future__ import annotations

import pytest

from dbsafe.core import DbsafeError
from dbsafe.migrate.revisions import steps_down
from dbsafe.migrate.runner import Revision

# a <- b <- c, a <- d, (c, d) <- m <- e
HISTORY = [Revision("e", None, "m"), Revision("m", None, ("c", "d")), Revision("d", None, "a"),
           Revision("c", None, "b"), Revision("b", None, "a"), Revision("a", None, None)]


def test_steps_down_a_straight_line() -> None:
    assert steps_down(HISTORY, ["c"], 1) == ["b"]
    assert steps_down(HISTORY, ["c"], 3) == []  # base
    assert steps_down(HISTORY, ["e"], 1) == ["m"]


@pytest.mark.parametrize(("current", "steps", "message"), [
    (["c"], 4, "-4 goes below base"),
    (["e"], 2, "m merges c, d: -2 names no single revision"),
    (["c", "d"], 1, "the database is at 2 revisions"),
    (["zz"], 1, "the database's revision zz is not in the history"),
])
def test_steps_that_name_no_single_revision_are_refused(current: list[str], steps: int,
                                                        message: str) -> None:
    with pytest.raises(DbsafeError, match=message):
        steps_down(HISTORY, current, steps)


def test_steps_up_a_straight_line_and_refuses_a_branch() -> None:
    from dbsafe.migrate.revisions import relative_target, steps_up

    assert steps_up(HISTORY, [], 1) == ["a"]
    assert steps_up(HISTORY, ["b"], 1) == ["c"]
    assert steps_up(HISTORY, ["c"], 2) == ["e"]
    assert relative_target(HISTORY, ["e"], ["c"], "+1") == ["m"]
    assert relative_target(HISTORY, ["e"], ["c"], "-1") == ["b"]
    assert relative_target(HISTORY, ["e"], ["c"], "e") == ["e"]
    with pytest.raises(DbsafeError, match="a branches to b, d: \\+1 names no single revision"):
        steps_up(HISTORY, ["a"], 1)
    with pytest.raises(DbsafeError, match="\\+3 goes past the head"):
        steps_up(HISTORY, ["m"], 3)
