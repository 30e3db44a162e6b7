"""SQL Django embeds in the query it builds: `RawSQL(sql, params)` and `.extra(select=...)`.

NetBox annotates prefixes with `RawSQL('SELECT COUNT(DISTINCT U0."prefix") FROM "ipam_prefix"
U0 WHERE U0."prefix" >> "ipam_prefix"."prefix"', ())`: Django sends it in parentheses inside
`SELECT ... FROM "ipam_prefix"`, so `"ipam_prefix"."prefix"` is the outer row. Read as a
statement of its own it was a false DBS302 ("`ipam_prefix` is not a table or alias in scope
here"; 7 in NetBox). Read as a subquery of a query dbsafe does not see, what it names itself
is still checked; the same SQL sent by `cursor.execute` is still a statement. So is a name bound
to the SQL that is read only as `RawSQL`'s (Baserow's teams handler: `subject_sample_sql = "..."`,
then `RawSQL(subject_sample_sql, [size])`, was a false DBS302), unless it is sent too; so is a
dict bound to a name read only as `.extra(select=...)`'s, and a class attribute read only as
`RawSQL(self.attr, ...)`'s, a subclass's own too, and not sent alone by a subclass (NAV:
`cam_query = {"last_cam": "SELECT ... WHERE cam.netboxid=interface.netboxid ..."}`, then
`.extra(select=cam_query)`; a QuerySet's
`chassis_serialnum_sql = "... WHERE ne.netboxid=netbox.netboxid ..."`, then
`RawSQL(self.chassis_serialnum_sql, ...)`: 4 false DBS302); so is what a function of the
module returns where its every call is one, also through a dict of `.extra`'s arguments
spread into it (NAV's `get_netbios_query()`, `extra_args["select"] = {"netbiosname":
get_netbios_query()}`, then `.extra(**extra_args)`: 4 false DBS302). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = """
CREATE TABLE ipam_prefix (id int PRIMARY KEY, prefix cidr, vrf_id int);
CREATE TABLE blog_blog (id int PRIMARY KEY);
CREATE TABLE blog_entry (id int PRIMARY KEY, blog_id int);
CREATE TABLE arp (id int PRIMARY KEY, ip inet);
CREATE TABLE netbios (ip inet, name text);
"""

_DEPTH = ('SELECT COUNT(DISTINCT U0."prefix") AS "c" FROM "ipam_prefix" U0 '
          'WHERE (U0."prefix" >> "ipam_prefix"."prefix" '
          'AND COALESCE(U0."vrf_id", 0) = COALESCE("ipam_prefix"."vrf_id", 0))')
_ENTRIES = "SELECT COUNT(*) FROM blog_entry WHERE blog_entry.blog_id = blog_blog.id"
_NETBIOS = "SELECT string_agg(name, ', ') FROM netbios WHERE netbios.ip = arp.ip"

_APP = f'''\
from django.db import connection
from django.db.models.expressions import RawSQL


def annotated(prefixes, blogs):
    prefixes.annotate(depth=RawSQL(
        {_DEPTH!r},
        (),
    ))
    prefixes.annotate(n=RawSQL(sql="SELECT COUNT(*) FROM ipam_prefix U1 WHERE U1.id = ipam_prefix.id", params=[]))
    blogs.extra(select={{"entry_count": {_ENTRIES!r}}})
    prefixes.annotate(own=RawSQL("SELECT COUNT(U1.nope) FROM ipam_prefix U1 WHERE U1.id = ipam_prefix.id", ()))
    prefixes.annotate(gone=RawSQL("SELECT COUNT(*) FROM ipam_prefixes U1 WHERE U1.id = ipam_prefix.id", ()))


def sent_alone():
    with connection.cursor() as cursor:
        cursor.execute({_ENTRIES!r})


def held(blogs):
    counted = {_ENTRIES!r}
    blogs.annotate(n=RawSQL(counted, []))


def held_and_sent(blogs):
    both = {_ENTRIES!r}
    blogs.annotate(n=RawSQL(both, []))
    with connection.cursor() as cursor:
        cursor.execute(both)


def held_in_a_dict(blogs):
    counts = {{"entry_count": {_ENTRIES!r}}}
    blogs.extra(select=counts)


class BlogQuerySet:
    entries_sql = {_ENTRIES!r}
    sent_sql = {_ENTRIES!r}

    def counted(self):
        return self.annotate(n=RawSQL(self.entries_sql, ()))

    def sent(self):
        with connection.cursor() as cursor:
            cursor.execute(self.sent_sql)
        return self.annotate(n=RawSQL(self.sent_sql, ()))


class OverriddenQuerySet(BlogQuerySet):
    entries_sql = {_ENTRIES!r}


class CountedQuerySet:
    counted_sql = {_ENTRIES!r}

    def counted(self):
        return self.annotate(n=RawSQL(self.counted_sql, ()))


class SendingQuerySet(CountedQuerySet):
    def sent(self):
        with connection.cursor() as cursor:
            cursor.execute(self.counted_sql)


def netbios_query(separator=", "):
    return "SELECT string_agg(name, '%s') FROM netbios WHERE netbios.ip = arp.ip" % separator


def arp_records(arps, netbios):
    extra_args = {{"where": ["ip > %s"], "params": [1]}}
    if netbios:
        extra_args["select"] = {{"netbiosname": netbios_query()}}
    arps = arps.extra(**extra_args)
    return arps.extra(select={{"again": netbios_query()}})


def sent_query():
    return {_NETBIOS!r}


def sent_and_embedded(arps):
    arps.extra(select={{"n": sent_query()}})
    with connection.cursor() as cursor:
        cursor.execute(sent_query())


def spread_elsewhere(arps, log):
    kwargs = {{}}
    kwargs["select"] = {{"n": {_NETBIOS!r}}}
    log(kwargs)
    return arps.extra(**kwargs)
'''


@pytest.mark.db
def test_rawsql_and_extra_select_may_name_the_query_django_embeds_them_in(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "queries.py", _APP)
    found = sorted((f.code, f.location.line, f.location.column, f.subject)
                   for f in report.findings if f.location)
    assert found == [
        ("DBS301", 13, 57, "public.ipam_prefixes"),
        ("DBS302", 12, 51, "public.ipam_prefix.nope"),
        # Sent alone, `blog_blog` is in no FROM: PostgreSQL rejects it (42P01).
        ("DBS302", 18, 84, "blog_blog.id"),
        ("DBS302", 27, 72, "blog_blog.id"),
        # A class attribute also sent alone is a statement, by a subclass too.
        ("DBS302", 40, 76, "blog_blog.id"),
        ("DBS302", 56, 79, "blog_blog.id"),
        # A function's return also sent alone, a dict of `.extra`'s arguments also handed
        # to another call, are statements.
        ("DBS302", 81, 75, "arp.ip"),
        ("DBS302", 92, 93, "arp.ip"),
    ], found
    with psycopg.connect(database_url) as conn:
        # Embedded as Django embeds them, they plan on PostgreSQL.
        conn.execute(f'PREPARE depth AS SELECT "ipam_prefix"."id", ({_DEPTH}) AS "depth" '
                     'FROM "ipam_prefix"')
        conn.execute(f"PREPARE entries AS SELECT ({_ENTRIES}) AS entry_count FROM blog_blog")
        conn.execute(f"PREPARE netbios AS SELECT ({_NETBIOS}) AS netbiosname FROM arp")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(f"PREPARE alone AS {_ENTRIES}")
