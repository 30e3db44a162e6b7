"""`extract.py_clients`: the project's functions returning another engine's client."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe.extract.py_clients import client_functions


def _index(root: Path, files: dict[str, str]) -> dict[str, str]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return client_functions([(str(root / name), name) for name in files])


def test_a_function_is_known_by_the_tails_no_other_module_has(tmp_path: Path) -> None:
    factory = "import duckdb\n\ndef store():\n    return duckdb.connect()\n"
    assert _index(tmp_path, {"a/utils.py": factory, "b/utils.py": "def store():\n    pass\n",
                             "c/__init__.py": "from a.utils import store as local\n"}) == {
        "a.utils.store": "DuckDB", "c.local": "DuckDB"}


# Tendenci's `corporate_memberships/utils.py` builds a help text by `+=` forty times in a
# module naming Salesforce: each store of the name returned was asked about through
# every other one, eight deep (forty to the eighth).
@pytest.mark.timeout(60)
def test_a_name_built_by_many_augmented_stores_is_read_once(tmp_path: Path) -> None:
    body = "".join(f"    text += 'line {i}'\n" for i in range(40))
    source = f"# salesforce\ndef help_text():\n    text = ''\n{body}    return text\n"
    assert _index(tmp_path, {"app/utils.py": source}) == {}
