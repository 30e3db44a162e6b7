"""Which yoyo Python migrations are SQL dbsafe runs (`dbsafe.extract.yoyo_steps`), checked
against what yoyo 9 itself does with them (`yoyo/migrations.py`: `step`, `group`,
`StepCollector`): every step a string written in the file, or the module stays code."""

from __future__ import annotations

import pytest

from dbsafe.extract.yoyo_steps import read_steps


def _sql(source: str) -> tuple[list[list[str]], list[list[str]], bool] | None:
    steps = read_steps(source, "m.py")
    if steps is None:
        return None
    return ([[s.sql for s in step] for step in steps.apply],
            [[s.sql for s in step] for step in steps.rollback], steps.transactional)


def test_steps_run_in_order_and_roll_back_last_first() -> None:
    assert _sql('from yoyo import step\nsteps = [\n'
                '    step("CREATE TABLE a (id int)", "DROP TABLE a"),\n'
                '    step(apply="ALTER TABLE a ADD b int; CREATE INDEX ON a (b)",\n'
                '         rollback="ALTER TABLE a DROP b"),\n'
                '    step("SELECT 1", None),\n]\n') == (
        [["CREATE TABLE a (id int)"], ["ALTER TABLE a ADD b int", "CREATE INDEX ON a (b)"],
         ["SELECT 1"]],
        [["ALTER TABLE a DROP b"], ["DROP TABLE a"]], True)


def test_a_group_s_steps_take_its_place_and_constants_are_read() -> None:
    source = ('import yoyo\nfrom yoyo import group, step, transaction\n'
              'UP = """CREATE TABLE b (id int)"""\n'
              'step("CREATE TABLE a (id int)")\n'
              'group(step(UP), transaction(step("CREATE TABLE c (id int)")))\n'
              'yoyo.step("CREATE TABLE d (id int)")\n'
              '__transactional__ = False\n')
    assert _sql(source) == ([["CREATE TABLE a (id int)"], ["CREATE TABLE b (id int)"],
                             ["CREATE TABLE c (id int)"], ["CREATE TABLE d (id int)"]], [], False)


def test_a_statement_is_shown_where_it_is_written() -> None:
    steps = read_steps('from yoyo import step\nstep(\n    "CREATE TABLE a (id int); "\n'
                       '    "CREATE INDEX ON a (id)")\n', "m.py")
    assert steps is not None
    [[first, second]] = steps.apply
    assert (first.line, first.column, second.line, second.column) == (3, 6, 4, 6)


@pytest.mark.parametrize("source", [
    # a function: yoyo calls it with the connection
    'from yoyo import step\ndef up(conn):\n    conn.cursor().execute("CREATE TABLE a (id int)")\n'
    'steps = [step(up)]\n',
    'from yoyo import step\nstep(lambda conn: None, "DROP TABLE a")\n',
    # built at run time
    'from yoyo import step\nimport os\nstep(f"CREATE TABLE {os.environ[\'T\']} (id int)")\n',
    'from yoyo import step\nstep("CREATE TABLE " + "a (id int)")\n',
    # a constant bound twice, or bound elsewhere
    'from yoyo import step\nUP = "CREATE TABLE a (id int)"\nUP = "CREATE TABLE b (id int)"\n'
    'step(UP)\n',
    'from yoyo import step\nfrom .shared import UP\nstep(UP)\n',
    # steps made in a loop, a comprehension, a function, a condition
    'from yoyo import step\nfor t in ("a", "b"):\n    step("CREATE TABLE x (id int)")\n',
    'from yoyo import step\nsteps = [step(s) for s in ("CREATE TABLE a (id int)",)]\n',
    'from yoyo import step\ndef make():\n    step("CREATE TABLE a (id int)")\nmake()\n',
    'from yoyo import step\nimport os\nif os.environ.get("X"):\n'
    '    step("CREATE TABLE a (id int)")\n',
    # errors passed over: not what the migration's SQL says happens
    'from yoyo import step\nstep("CREATE TABLE a (id int)", ignore_errors="apply")\n',
    'from yoyo import group, step\ngroup(step("CREATE TABLE a (id int)"), ignore_errors="all")\n',
    # a group of steps held in names (registered where they were made)
    'from yoyo import group, step\na = step("CREATE TABLE a (id int)")\ngroup(a)\n',
    # not yoyo's step
    'from mylib import step\nstep("CREATE TABLE a (id int)")\n',
    'def step(sql):\n    pass\nstep("CREATE TABLE a (id int)")\n',
    # no step at all (steps from another module), bytes, a syntax error
    'from yoyo import step\nfrom .common import steps\n',
    'from yoyo import step\nstep(b"CREATE TABLE a (id int)")\n',
    'from yoyo import step\nstep("CREATE TABLE a (id int)"\n',
    'from yoyo import step\n__transactional__ = os.environ.get("TX") == "1"\n'
    'step("CREATE TABLE a (id int)")\n',
])
def test_a_migration_whose_steps_are_code_is_not_read(source: str) -> None:
    assert read_steps(source, "m.py") is None
