"""How env.py's child process ends: without the interpreter's teardown (it cost each child a
quarter of a second or more, which dbsafe waits for), yet as a normal exit for the project:
its atexit handlers run and its output is flushed."""

from __future__ import annotations

from pathlib import Path

from dbsafe.migrate import AlembicProject
from dbsafe.migrate.runner import describe
from tests.migrate.projects import write_project

# Imported by the child with the history: an atexit handler and buffered output the project
# expects at exit, and an object whose finalizer only the interpreter's teardown would call.
ENDINGS = '''
import atexit
import sys
import types
from pathlib import Path

_HERE = Path(__file__).resolve().parent


class _FreedAtTeardown:
    def __init__(self, path):
        self.marker = open(path, "w")  # the teardown has no builtins left to open it

    def __del__(self):
        self.marker.write("freed one by one")
        self.marker.close()


# Held by a module in sys.modules: the teardown clears those and frees what they hold.
_holder = types.ModuleType("_dbsafe_test_holder")
_holder.kept = _FreedAtTeardown(str(_HERE / "torn_down"))
sys.modules[_holder.__name__] = _holder
atexit.register(lambda: (_HERE / "atexit_ran").write_text("yes"))
sys.stdout.write("written at import, never flushed by the project")
'''


def test_the_child_runs_the_projects_atexit_handlers_without_the_teardown(
        tmp_path: Path) -> None:
    ini = write_project(tmp_path / "p", "well_behaved")
    versions = ini.parent / "migrations" / "versions"
    first = versions / "0001_patients.py"
    first.write_text(first.read_text() + ENDINGS)

    result = describe(AlembicProject(ini))

    assert "0001" in {r.revision for r in result.revisions}
    assert (versions / "atexit_ran").read_text() == "yes"
    assert "never flushed by the project" in result.output
    assert (versions / "torn_down").read_text() == ""


def test_a_revision_message_of_two_lines_is_described_on_one(tmp_path: Path) -> None:
    # alembic's Script.doc keeps the line breaks of the docstring's first paragraph (tacker's
    # 70df18f71ba2): the `apply:` progress line, `status` and `plan` broke in two (task 544)
    ini = write_project(tmp_path / "p", "well_behaved")
    first = ini.parent / "migrations" / "versions" / "0001_patients.py"
    first.write_text(first.read_text().replace(
        '"""patients"""', '"""alter vnfd_ids, vnf_instance_ids\ncolumns of vnf_lcm_filters\n\n'
        'More words."""', 1))

    result = describe(AlembicProject(ini))

    [doc] = [r.doc for r in result.revisions if r.revision == "0001"]
    assert doc == "alter vnfd_ids, vnf_instance_ids columns of vnf_lcm_filters"
