"""Alembic histories for the verify-reversible tests, written into a test's `tmp_path`:
one revision a step, each given as its upgrade and downgrade SQL or as a module's body."""

from __future__ import annotations

from pathlib import Path

from dbsafe.migrate.runner import AlembicProject

ENV_PY = '''\
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
'''


def write_history(root: Path, revisions: list[tuple[str, str] | str]) -> AlembicProject:
    """One revision per item: (upgrade SQL, downgrade SQL) statements separated by `;`, or
    a module's whole body after its identifiers."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (root / "migrations" / "env.py").write_text(ENV_PY)
    for i, item in enumerate(revisions, 1):
        head = (f'"""step {i}"""\nrevision = "{i:04d}"\n'
                f"down_revision = {repr(f'{i - 1:04d}') if i > 1 else None}\n\n")
        if isinstance(item, str):
            body = item
        else:
            up, down = ([s for s in part.split(";") if s.strip()] for part in item)
            body = ("from alembic import op\n\n\ndef upgrade():\n"
                    + "".join(f"    op.execute({s!r})\n" for s in up) + "    pass\n"
                    "\n\ndef downgrade():\n"
                    + "".join(f"    op.execute({s!r})\n" for s in down) + "    pass\n")
        (versions / f"{i:04d}_step.py").write_text(head + body)
    return AlembicProject(root / "alembic.ini")


MODES = {
    "stairway": {"fast_min": None},
    "fast": {"fast_min": 1, "split_min": None},
    "split": {"fast_min": 1, "split_min": 2},
}
