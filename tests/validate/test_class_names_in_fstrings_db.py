"""An f-string field reading a name list its own class binds (`f"SELECT {cls.columns} FROM
message ..."` in a method of the class whose body says `columns = "mxid, fbid, ..."` or
`columns: ClassVar[str] = ...`) is that text, as a module constant's or `Cls.NAME`'s is: the
statement is checked. The mautrix Facebook bridge's and maubot's models read every row so
(28 DBS304 notes, none checked). A statement sent whole from a `ClassVar` (`SQL_GET:
ClassVar[str] = "select ..."`, `db.execute(self.SQL_GET)`) is read so too. An attribute annotated otherwise (a dataclass's or attrs'
field, which each instance sets), bound by another class of the module (a subclass's
own), or stored to anywhere in the module stays a hole.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE message (mxid text, fbid text, receiver bigint);\n"

_MODULE = '''\
from typing import ClassVar

import attr


@attr.define
class Message:
    mxid: str
    columns = 'mxid, fbid, "index"'
    typed: ClassVar[str] = "mxid, reciever"
    field: str = "mxid, fbidd"
    overridden = "mxid, fbidd"
    stored = "mxid, fbidd"
    SQL_GET: ClassVar[str] = "select mxid, fbidd From message"

    @classmethod
    async def get(cls, db, fbid):
        await db.fetchrow(f"SELECT {cls.columns} FROM message WHERE fbid=$1", fbid)
        await db.fetchrow(f"SELECT {cls.typed} FROM message WHERE fbid=$1", fbid)
        await db.fetchrow(f"SELECT {cls.field} FROM message WHERE fbid=$1", fbid)
        await db.fetchrow(f"SELECT {cls.overridden} FROM message WHERE fbid=$1", fbid)

    async def insert(self, db):
        await db.execute(f"SELECT {self.stored} FROM message")
        await db.execute(self.SQL_GET)


class Other(Message):
    overridden = "mxid"


def configure(message):
    message.stored = "mxid"
'''


@pytest.mark.db
def test_a_name_list_of_its_own_class_fills_an_fstring(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "message.py", _MODULE)
    found = sorted((f.code, f.location.line, f.subject,
                    dict(f.context).get("PostgreSQL", "")[:5]) for f in report.findings)
    assert found == [
        ("DBS302", 14, "public.message.fbidd", "42703"),
        ("DBS302", 18, "public.message.index", "42703"),
        ("DBS302", 19, "public.message.reciever", "42703"),
        ("DBS304", 20, None, ""),
        ("DBS304", 21, None, ""),
        ("DBS304", 24, None, ""),
    ]
