"""Upgrade and downgrade targets: relative steps (`-N`, `+N`) on a history with a branch and
a merge, and targets named by branch (`expand@head`) on one with labelled branches."""

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


# Expand/contract (neutron, keystone): r0 <- e1 <- e2 labelled expand, r0 <- c1 <- c2
# labelled contract, c2 depending on e1.
BRANCHES = [Revision("c2", None, "c1", dependencies=("e1",), branch_labels=("contract",)),
            Revision("c1", None, "r0", branch_labels=("contract",)),
            Revision("e2", None, "e1", branch_labels=("expand",)),
            Revision("e1", None, "r0", branch_labels=("expand",)), Revision("r0", None, None)]


@pytest.mark.parametrize(("name", "expected"), [
    ("expand@head", ["e2"]), ("contract@head", ["c2"]), ("e1@head", ["e2"]),
    ("c1@head", ["c2"]), ("expand@e1", ["e1"]), ("heads", ["c2", "e2"]),
])
def test_targets_named_by_branch(name: str, expected: list[str]) -> None:
    from dbsafe.migrate.revisions import relative_target

    assert relative_target(BRANCHES, ["c2", "e2"], ["r0"], name) == expected


@pytest.mark.parametrize(("name", "message"), [
    ("head", r"`head` is ambiguous: .*name one \(`contract@head`, `expand@head`\)"),
    ("r0@head", "'r0@head' names 2 heads"),
    ("expand@c1", "c1 is not on the branch labelled 'expand'"),
    ("contract@-1", "steps along one branch are not supported"),
    ("other@head", "no revision 'other'"),
])
def test_branch_targets_that_name_no_single_revision_are_refused(name: str,
                                                                 message: str) -> None:
    from dbsafe.migrate.revisions import relative_target

    with pytest.raises(DbsafeError, match=message):
        relative_target(BRANCHES, ["c2", "e2"], ["c2", "e2"], name)


def test_what_an_upgrade_applies_includes_depends_on_in_order() -> None:
    from dbsafe.migrate.revisions import pending

    order = [r.revision for r in pending(BRANCHES, ["r0"], ["c2"])]
    assert sorted(order) == ["c1", "c2", "e1"] and order[-1] == "c2"
    assert [r.revision for r in pending(BRANCHES, ["c2"], ["c2", "e2"])] == ["e2"]
