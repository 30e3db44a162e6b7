"""Which built-in casts convert a column from one type to another (PostgreSQL's `pg_cast`).

`ALTER COLUMN ... TYPE` converts the stored values by a cast: without `USING`, one of
assignment context; with `USING col::type`, any cast. Where no cast leads from the old type
to the new one (`bigint` to `timestamp`), the statement fails, whatever the rows hold, and
only a hand-written `USING` expression can say what the values mean.

The table is `pg_cast` between the types of `pg_catalog` on PostgreSQL 18; a database test
compares it with the server's. Besides its rows, PostgreSQL converts
any type to a string type through its text output (assignment context), a string type to
any type through its input function (explicit context), and an array to an array through
its elements (`find_coercion_pathway`). Types of one's own (domains, enums, composite
types, types of extensions) are not in the table: `conversion` says `unknown` for them.
"""

from __future__ import annotations

import re

IMPLICIT = "implicit"
ASSIGNMENT = "assignment"
EXPLICIT = "explicit"  # a cast function PostgreSQL applies only when asked (`::`)
PARSE = "parse"  # explicit too: the value's text read by the new type's input function
UNKNOWN = "unknown"  # a type outside pg_catalog: casts of one's own are not known here

# source, then the targets by castcontext: i(mplicit), a(ssignment), e(xplicit).
_PG_CAST = """\
"char"
  i text
  a character varying, character
  e integer
bigint
  i double precision, numeric, oid, real, regclass, regcollation, regconfig, regdictionary,
    regnamespace, regoperator, regoper, regprocedure, regproc, regrole, regtype
  a integer, money, smallint
  e bit, bytea
bit
  i bit varying, bit
  e bigint, integer
bit varying
  i bit varying, bit
boolean
  a character varying, character, text
  e integer
box
  a polygon
  e circle, lseg, point
bytea
  e bigint, integer, smallint
character
  i character varying, character, name, text
  a "char"
  e xml
character varying
  i character varying, character, name, regclass, text
  a "char"
  e xml
cidr
  i inet
  a character varying, character, text
circle
  e box, point, polygon
date
  i timestamp with time zone, timestamp without time zone
daterange
  e datemultirange
double precision
  a bigint, integer, numeric, real, smallint
inet
  a character varying, character, cidr, text
int4range
  e int4multirange
int8range
  e int8multirange
integer
  i bigint, double precision, numeric, oid, real, regclass, regcollation, regconfig,
    regdictionary, regnamespace, regoperator, regoper, regprocedure, regproc, regrole,
    regtype
  a money, smallint
  e "char", bit, boolean, bytea
interval
  i interval
  a time without time zone
json
  a jsonb
jsonb
  a json
  e bigint, boolean, double precision, integer, numeric, real, smallint
lseg
  e point
macaddr
  i macaddr8
macaddr8
  i macaddr
money
  a numeric
name
  i text
  a character varying, character
numeric
  i double precision, numeric, real
  a bigint, integer, money, smallint
numrange
  e nummultirange
oid
  i regclass, regcollation, regconfig, regdictionary, regnamespace, regoperator, regoper,
    regprocedure, regproc, regrole, regtype
  a bigint, integer
path
  a polygon
pg_dependencies
  i bytea, text
pg_mcv_list
  i bytea, text
pg_ndistinct
  i bytea, text
pg_node_tree
  i text
point
  a box
polygon
  a path
  e box, circle, point
real
  i double precision
  a bigint, integer, numeric, smallint
regclass
  i oid
  a bigint, integer
regcollation
  i oid
  a bigint, integer
regconfig
  i oid
  a bigint, integer
regdictionary
  i oid
  a bigint, integer
regnamespace
  i oid
  a bigint, integer
regoper
  i oid, regoperator
  a bigint, integer
regoperator
  i oid, regoper
  a bigint, integer
regproc
  i oid, regprocedure
  a bigint, integer
regprocedure
  i oid, regproc
  a bigint, integer
regrole
  i oid
  a bigint, integer
regtype
  i oid
  a bigint, integer
smallint
  i bigint, double precision, integer, numeric, oid, real, regclass, regcollation,
    regconfig, regdictionary, regnamespace, regoperator, regoper, regprocedure, regproc,
    regrole, regtype
  e bytea
text
  i character varying, character, name, regclass
  a "char"
  e xml
time with time zone
  i time with time zone
  a time without time zone
time without time zone
  i interval, time with time zone, time without time zone
timestamp with time zone
  i timestamp with time zone
  a date, time with time zone, time without time zone, timestamp without time zone
timestamp without time zone
  i timestamp with time zone, timestamp without time zone
  a date, time without time zone
tsrange
  e tsmultirange
tstzrange
  e tstzmultirange
xid8
  e xid
xml
  a character varying, character, text
"""

_BUILTIN_TYPES = frozenset(name.strip() for name in """\
"char"; aclitem; bigint; bit; bit varying; boolean; box; bytea; character; character
varying; cid; cidr; circle; date; datemultirange; daterange; double precision; gtsvector;
inet; int4multirange; int4range; int8multirange; int8range; integer; interval; json; jsonb;
jsonpath; line; lseg; macaddr; macaddr8; money; name; numeric; nummultirange; numrange; oid;
path; pg_brin_bloom_summary; pg_brin_minmax_multi_summary; pg_dependencies; pg_lsn;
pg_mcv_list; pg_ndistinct; pg_node_tree; pg_snapshot; point; polygon; real; refcursor;
regclass; regcollation; regconfig; regdictionary; regnamespace; regoper; regoperator;
regproc; regprocedure; regrole; regtype; smallint; text; tid; time with time zone; time
without time zone; timestamp with time zone; timestamp without time zone; tsmultirange;
tsquery; tsrange; tstzmultirange; tstzrange; tsvector; txid_snapshot; uuid; xid; xid8; xml
""".replace("\n", " ").split(";"))

_STRING_TYPES = frozenset({"text", "character varying", "character", "name"})
_CONTEXTS = {"i": IMPLICIT, "a": ASSIGNMENT, "e": EXPLICIT}
_TYPMOD = re.compile(r"\(\d+(?:,\d+)?\)")


def _casts() -> dict[tuple[str, str], str]:
    casts: dict[tuple[str, str], str] = {}
    source = context = ""
    for line in _PG_CAST.splitlines():
        if not line.startswith(" "):
            source = line
            continue
        if not line.startswith("    "):
            context, line = _CONTEXTS[line[2]], line[4:]
        for target in line.split(","):
            if target.strip():
                casts[source, target.strip()] = context
    return casts


_CASTS = _casts()


def is_string_type(type_text: str) -> bool:
    """Whether values of the type are strings (`text`, `varchar(n)`, ...): any type reads
    them by its input function (`'x'::myenum`), the one cast a user type always has.

    >>> is_string_type("character varying(20)"), is_string_type("integer")
    (True, False)
    """
    return base_type(type_text) in _STRING_TYPES


def base_type(type_text: str) -> str:
    """The type `format_type` names, without its modifiers (length, precision, fields).

    >>> base_type("character varying(20)"), base_type("timestamp(3) with time zone")
    ('character varying', 'timestamp with time zone')
    >>> base_type("interval day to second(3)"), base_type("numeric(8,2)[]")
    ('interval', 'numeric[]')
    """
    text = " ".join(_TYPMOD.sub("", type_text).split())
    if text.startswith("interval"):
        text = "interval" + "[]" * text.count("[]")
    return {"bpchar": "character"}.get(text, text)


def conversion(old: str, new: str) -> str | None:
    """How PostgreSQL converts a value of type `old` to type `new` (as `format_type` spells
    them): `implicit` or `assignment` (what `ALTER COLUMN ... TYPE` applies without
    `USING`), `explicit` (a cast function applied only by `::`), `parse` (a string read by
    the new type's input function, by `::` only), `unknown` for types not of pg_catalog,
    or None: no cast at all, so `USING col::new` fails.

    >>> conversion("integer", "bigint"), conversion("bigint", "integer")
    ('implicit', 'assignment')
    >>> conversion("integer", "boolean"), conversion("text", "uuid")
    ('explicit', 'parse')
    >>> conversion("bigint", "timestamp without time zone") is None
    True
    >>> conversion("integer[]", "bigint[]"), conversion("public.money2", "integer")
    ('implicit', 'unknown')
    """
    old, new = base_type(old), base_type(new)
    if old == new:
        return IMPLICIT  # another length or precision: a length coercion
    if old.endswith("[]") and new.endswith("[]"):
        element = conversion(old[:-2], new[:-2])
        if element is not None:
            return element
    elif not old.endswith("[]") and not new.endswith("[]"):
        if old not in _BUILTIN_TYPES or new not in _BUILTIN_TYPES:
            return UNKNOWN
        found = _CASTS.get((old, new))
        if found is not None:
            return found
    for side in (old, new):
        if side.removesuffix("[]") not in _BUILTIN_TYPES:
            return UNKNOWN
    if new in _STRING_TYPES:
        return ASSIGNMENT  # the text output of any type
    if old in _STRING_TYPES:
        return PARSE
    return None
