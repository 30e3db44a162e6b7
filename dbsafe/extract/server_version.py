"""The PostgreSQL major versions a branch of Python code cannot run on, from its `if` on the
server's version.

Tools reading the system catalogs pick each query by the server they talk to:

    if server_version >= 150000 and server_version < 170000:
        query = "SELECT daticulocale FROM pg_database ..."   # renamed datlocale in 17
    else:
        query = "SELECT pid FROM pg_stat_activity ..."

A statement in a branch that cannot run on a major is never sent to a server of it, so that
major's catalog says nothing about it. A test counts when it compares a value named after a
version (`server_version`, `self.pg_version`, `conn.info.server_version`,
`get_server_version(conn)`, pg_view's `self.dbver`) with a number written as
`server_version_num` writes it (`90200`, `150000`), or, for a name saying whose version it is
(`pg_version`, `server_version`, `dbver`), with a major (`10`, `9.6`); tests of other things (`sys.version_info`,
`api_version >= 2`, `Version("15")`) leave a branch possible on every major.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable

# The majors a branch is judged for: 8.x and 9.x each count as one (`server_version // 10000`,
# as the catalogs are keyed), then 10, 11, ...
MAJORS = frozenset(range(8, 41))

_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
# `5 < v` is `v > 5`.
_FLIPPED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
}
_WORDS = re.compile(r"[a-z]+")
# Words naming a version: `ver` only as the database's (`dbver`, `pgver`), since a word
# ending so is more often something else (`server`, `driver`).
_VERSION_WORDS = frozenset({"version", "pgversion", "dbversion", "dbver", "pgver"})
# Words that say the version is the database server's, for a bare major (`pg_version >= 10`,
# pg_view's `self.dbver < 9.2`).
_SERVER_WORDS = frozenset({"server", "pg", "pgsql", "postgres", "postgresql", "pgversion",
                           "dbversion", "dbver", "pgver"})

# (majors on which a test may hold, majors on which it may not)
Judged = tuple[frozenset[int], frozenset[int]]
_EITHER: Judged = (MAJORS, MAJORS)


def not_run_on(test: ast.expr, *, holds: bool) -> frozenset[int]:
    """The majors on which the branch run when `test` is `holds` certainly does not run.

    >>> def test(text): return ast.parse(text, mode="eval").body
    >>> gate = test("server_version >= 150000 and server_version < 170000")
    >>> 16 in not_run_on(gate, holds=True), 18 in not_run_on(gate, holds=True)
    (False, True)
    >>> sorted(not_run_on(test("get_server_version(c) >= 90200"), holds=False))[:3]
    [10, 11, 12]
    >>> not_run_on(test("api_version >= 2"), holds=False)
    frozenset()
    """
    judged = _judge(test)
    if judged is None:
        return frozenset()
    may_hold, may_fail = judged
    return MAJORS - (may_hold if holds else may_fail)


def _judge(test: ast.expr) -> Judged | None:
    """Where `test` may hold and may not, or None when it tests no server version."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _judge(test.operand)
        return None if inner is None else (inner[1], inner[0])
    if isinstance(test, ast.BoolOp):
        parts = [_judge(value) for value in test.values]
        if all(part is None for part in parts):
            return None
        known = [part or _EITHER for part in parts]
        holds, fails = [p[0] for p in known], [p[1] for p in known]
        if isinstance(test.op, ast.And):
            return frozenset.intersection(*holds), frozenset.union(*fails)
        return frozenset.union(*holds), frozenset.intersection(*fails)
    if isinstance(test, ast.Compare):
        # `150000 <= v < 170000` is `150000 <= v and v < 170000`.
        operands = [test.left, *test.comparators]
        pairs = [_judge_pair(operands[i], op, operands[i + 1]) for i, op in enumerate(test.ops)]
        if all(pair is None for pair in pairs):
            return None
        known = [pair or _EITHER for pair in pairs]
        return (frozenset.intersection(*(p[0] for p in known)),
                frozenset.union(*(p[1] for p in known)))
    return None


def _judge_pair(left: ast.expr, op: ast.cmpop, right: ast.expr) -> Judged | None:
    if _number(left) is not None and _version_words(right):
        left, right, op = right, left, _FLIPPED[type(op)]()
    words, number = _version_words(left), _number(right)
    if not words or number is None or type(op) not in _COMPARE:
        return None
    spans: dict[int, tuple[float, float]]
    if 80000 <= number < 1000000 and isinstance(number, int):
        spans = {major: (major * 10000, major * 10000 + 9999) for major in MAJORS}
    elif 8 <= number < 100 and words & _SERVER_WORDS:
        # 9.x is one of the majors here: 9, 9.2 and 9.6 all fall in it.
        spans = {major: (major, major + 0.99 if major < 10 else major) for major in MAJORS}
    else:
        return None
    compare = _COMPARE[type(op)]
    may_hold = frozenset(m for m, span in spans.items() if _somewhere(compare, span, number))
    may_fail = frozenset(m for m, span in spans.items()
                         if _somewhere(lambda a, b: not compare(a, b), span, number))
    return may_hold, may_fail


def _somewhere(compare: Callable[[float, float], bool], span: tuple[float, float],
               number: float) -> bool:
    """Whether `compare(v, number)` holds for some `v` in `span` (its ends, and the number
    itself where it lies inside: enough for the comparisons above)."""
    low, high = span
    points = [low, high] + ([number] if low <= number <= high else [])
    if low < number <= high:
        points.append(number - 1e-9)  # just below it: `v < number` within the span
    if low <= number < high:
        points.append(number + 1e-9)
    return any(compare(point, number) for point in points)


def _number(node: ast.expr) -> int | float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and \
            not isinstance(node.value, bool):
        return node.value
    return None


def _version_words(node: ast.expr) -> frozenset[str]:
    """The words of a value's name when it names a version (`server_version`,
    `self.pg_version`, `get_server_version(conn)`, `conn.info.server_version`, `self.dbver`);
    else none."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        name = node.attr
    elif isinstance(node, ast.Name):
        name = node.id
    else:
        return frozenset()
    words = frozenset(_WORDS.findall(name.lower()))
    return words if words & _VERSION_WORDS else frozenset()
