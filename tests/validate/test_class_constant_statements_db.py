"""A statement a class binds to an attribute and its methods send (`cur.execute(self.SQL_GET)`,
`cls.SQL_GET`, `Repo.SQL_GET`) is read as a module constant sent by its name is: checked
whatever the case of its keywords, where only a constant clearly SQL on its own (one-case
keywords) was. An attribute bound twice, stored to anywhere in the module, bound by another
class (a subclass's own), annotated (a dataclass's or model's field), or read through the
parameter of a static method stays unknown.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"

_MODULE = '''\
class Repo:
    SQL_MIXED = "select nmae From users where id = %s"
    SQL_LOWER = "select titel from users"
    SQL_CLS = "select nmae"
    SQL_NAMED = "select id from users order by nmae"
    SQL_OVERRIDDEN = "select nmae from users"
    SQL_STORED = "select nmae from users"
    SQL_FIELD: str = "select nmae from users"
    SQL_TWICE = "select nmae from users"
    SQL_TWICE = "select nmae from users"
    SQL_STATIC = "select nmae from users"

    def get(self, cur):
        cur.execute(self.SQL_MIXED, (1,))
        cur.execute(self.SQL_LOWER)
        cur.execute(Repo.SQL_NAMED)
        cur.execute(self.SQL_OVERRIDDEN)
        cur.execute(self.SQL_STORED)
        cur.execute(self.SQL_FIELD)
        cur.execute(self.SQL_TWICE)

    @classmethod
    def first(cls, cur):
        cur.execute(cls.SQL_CLS)

    @staticmethod
    def static(self, cur):
        cur.execute(self.SQL_STATIC)


class Sub(Repo):
    SQL_OVERRIDDEN = "select id from users"


def configure(repo):
    repo.SQL_STORED = "select id from users"
'''


@pytest.mark.db
def test_a_class_constant_sent_by_its_methods_is_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "repo.py", _MODULE)
    found = sorted((f.code, f.location.line, f.subject,
                    dict(f.context).get("PostgreSQL", "")[:5]) for f in report.findings)
    assert found == [
        ("DBS302", 2, "public.users.nmae", "42703"),
        ("DBS302", 3, "public.users.titel", "42703"),
        ("DBS302", 4, "nmae", "42703"),
        ("DBS302", 5, "public.users.nmae", "42703"),
    ]
