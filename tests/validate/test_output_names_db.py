"""The names PostgreSQL gives unaliased select-list items, which a derived table or CTE
exposes as its columns: where dbsafe says a name, it is PostgreSQL's (asked here of the
server), else it says it does not know (`None`), never a wrong one."""

from __future__ import annotations

import psycopg
import pytest
import sqlglot
import sqlglot.errors

from dbsafe.validate.resolver import _output_name

pytestmark = pytest.mark.db

_TABLE = ("CREATE TABLE t (a int, b int, n text, d timestamptz, j jsonb, arr int[], "
          "x bytea)")

# Calls of built-ins (as written, in SQL's own forms, qualified, quoted) and the other kinds
# of item PostgreSQL names, separated by `;`.
EXPRESSIONS = """
lower(n) ; "lower"(n) ; LOWER(n) ; lower (n) ; upper(n) ; pg_catalog.lower(n) ; initcap(n)
trim(n) ; trim(both 'x' from n) ; trim(leading from n) ; ltrim(n) ; rtrim(n) ; btrim(n)
extract(year from d) ; extract(epoch from d) ; date_part('year', d) ; date_trunc('day', d)
position('a' in n) ; strpos(n, 'a') ; substring(n from 1) ; substring(n, 1, 2) ; substr(n, 1)
overlay(n placing 'x' from 1) ; normalize(n) ; collation for (n) ; char_length(n)
character_length(n) ; length(n) ; octet_length(n) ; bit_length(n) ; left(n, 2) ; right(n, 2)
coalesce(a, b) ; nullif(a, b) ; greatest(a, b) ; least(a, b) ; COALESCE(a, b)::text
now() ; now()::date ; current_timestamp ; current_timestamp(3) ; current_date ; localtimestamp
localtime ; current_time ; current_user ; session_user ; user ; current_schema
current_schema() ; current_catalog ; current_role
count(*) ; count(distinct a) ; count(a) filter (where a > 0) ; sum(a) filter (where a > 0)
max(a) ; min(a) ; avg(a) ; sum(a) ; array_agg(a order by a) ; string_agg(n, ',')
json_agg(a) ; jsonb_agg(a) ; bool_and(a > 0) ; every(a > 0) ; stddev(a) ; variance(a)
any_value(a) ; percentile_cont(0.5) within group (order by a) ; mode() within group (order by a)
row_number() over () ; rank() over (order by a) ; dense_rank() over (order by a)
first_value(a) over () ; lag(a) over (order by a) ; ntile(2) over () ; sum(a) over ()
cast(a as int) ; a::text ; upper(n)::text ; cast(upper(n) as text) ; a::int::text
json_build_object('a', a) ; jsonb_build_object('a', a) ; to_jsonb(n) ; to_json(a)
row_to_json(row(a)) ; jsonb_typeof(j) ; jsonb_extract_path(j, 'a') ; jsonb_array_length(j)
j->>'a' ; j->'a' ; j #> '{a}' ; j ? 'a'
format('%s', n) ; concat(a, b) ; concat_ws(',', a, b) ; md5(n) ; repeat(n, 2)
replace(n, 'a', 'b') ; reverse(n) ; split_part(n, ',', 1) ; starts_with(n, 'a') ; lpad(n, 3)
rpad(n, 3) ; quote_ident(n) ; encode(x, 'hex') ; decode(n, 'hex') ; chr(65) ; ascii(n)
regexp_replace(n, 'a', 'b') ; to_char(d, 'YYYY') ; to_hex(a) ; to_timestamp(a)
to_date(n, 'YYYY') ; age(d) ; date(d) ; isfinite(d) ; timezone('UTC', d)
d at time zone 'UTC' ; mod(a, b) ; a % b ; div(a, b) ; gcd(a, b) ; round(a) ; trunc(a)
abs(a) ; ceil(a) ; ceiling(a) ; floor(a) ; sign(a) ; sqrt(a) ; ln(a + 1) ; log(a + 1)
exp(a) ; power(a, 2) ; pow(a, 2) ; random() ; width_bucket(a, 0, 10, 5)
array_length(arr, 1) ; cardinality(arr) ; array_to_string(arr, ',') ; string_to_array(n, ',')
array_position(arr, 1) ; unnest(arr) ; generate_series(1, 2) ; gen_random_uuid() ; hashtext(n)
array[a] ; array(select 1) ; row(a, b) ; (select 1) ; exists(select 1)
case when a > 0 then 1 end ; a + b ; a || n ; n like 'x' ; a is null ; a between 1 and 2
a in (1, 2) ; not true ; true ; 1 ; 'x' ; null ; -a ; a
"""


def _items() -> list[str]:
    return [e.strip() for line in EXPRESSIONS.strip().splitlines() for e in line.split(";")]


# What only a later server than the oldest supported (15) has.
_SINCE = {"any_value(a)": 160000}


def test_a_name_dbsafe_gives_is_postgresqls(postgresql: psycopg.Connection) -> None:
    postgresql.execute(_TABLE)
    known = {}
    for expression in _items():
        if expression in _SINCE and postgresql.info.server_version < _SINCE[expression]:
            continue  # not on the older server DBSAFE_TEST_DATABASE_URL names
        sql = f"SELECT {expression} FROM t"
        cursor = postgresql.execute(sql + " LIMIT 0")
        assert cursor.description, expression
        on_server = cursor.description[0].name
        try:
            (item,) = sqlglot.parse_one(sql, read="postgres").expressions
        except sqlglot.errors.ParseError:  # such a statement is not resolved at all
            continue
        ours = _output_name(item, sql)
        assert ours in (None, on_server), expression
        if ours is not None:
            known[expression] = ours
    # Most calls are named; among them those sqlglot reads as other functions.
    for expression, name in {"lower(n)": "lower", '"lower"(n)': "lower", "lower (n)": "lower",
                             "now()": "now", "char_length(n)": "char_length",
                             "coalesce(a, b)": "coalesce", "sum(a) over ()": "sum",
                             "count(a) filter (where a > 0)": "count"}.items():
        assert known.get(expression) == name, expression
    assert len(known) > len(_items()) // 2


def test_a_derived_tables_call_columns_are_checked(postgresql: psycopg.Connection,
                                                   database_url: str) -> None:
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.validate.resolver import Resolver

    postgresql.execute(_TABLE)
    postgresql.commit()
    resolver = Resolver(introspect_url(database_url), quick=False)
    good = "SELECT s.lower, s.now, s.n FROM (SELECT lower(n), now(), n FROM t) AS s"
    postgresql.execute(f"PREPARE good AS {good}")
    resolution = resolver.resolve(good)
    assert (resolution.status, resolution.problems) == ("analysed", ())

    typo = "SELECT s.lower, s.nn FROM (SELECT lower(n), n FROM t) AS s"
    with pytest.raises(psycopg.errors.UndefinedColumn):
        postgresql.execute(f"PREPARE typo AS {typo}")
    postgresql.rollback()
    assert [p.subject for p in resolver.resolve(typo).problems] == ["s.nn"]
