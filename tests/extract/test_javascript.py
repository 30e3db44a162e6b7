"""JS/TS reading: which calls are PostgREST requests or SQL, and exact positions."""

from __future__ import annotations

import pytest

from dbsafe.core import Location
from dbsafe.extract.fragment import SqlFragment
from dbsafe.extract.javascript import (
    JsArray,
    JsObject,
    JsOther,
    SqlNames,
    sql_in_javascript,
)

SUPABASE = "import { createClient } from '@supabase/supabase-js';\n"


def _requests(source: str, path: str = "app.ts"):
    return sql_in_javascript(source, path).requests


def _targets(source: str, path: str = "app.ts") -> list[str]:
    return [r.target.sql for r in _requests(source, path) if r.target is not None]


@pytest.mark.parametrize(
    "source",
    [
        "supabase.from('t').select('a')",
        "await supabaseAdmin.from('t').select()",
        "this.supabase.from('t').delete()",
        "getSupabase().from('t').select()",
        "(await createSupabaseServerClient()).from('t').select()",
        SUPABASE + "const db = createClient(url, key);\ndb.from('t').select()",
        "import { createClient } from '@/utils/supabase/server';\n"
        "const c = await createClient();\nc.from('t').select()",
        SUPABASE + "createClient(u, k).from('t').select()",
        "function f(db: SupabaseClient<Database>) { db.from('t').select() }",
        "const db: SupabaseClient = make();\ndb.from('t').select()",
        "supabase.schema('billing').from('t').select()",
        "supabase!.from('t').select()",
        "new PostgrestClient(url).from('t').select()",
        SUPABASE + "const supabaseStorage = createClient(u, k);\nsupabaseStorage.from('t').select()",
        "supabase.from('t').update({ a: 1 })",
        "const supabase = new SupabaseClient(url, key);\nsupabase.from('t').select()",
        # A factory of the project's own (a relative or aliased import) may make a client.
        "import { make } from '@/lib/db';\nconst supabase = make();\nsupabase.from('t').select()",
        "import knex from 'knex';\nfunction f() { const supabase = knex(c); }\n"
        "supabase.from('t').select()",
    ],
)
def test_from_on_a_supabase_client_is_a_request(source: str) -> None:
    assert _targets(source) == ["t"]


@pytest.mark.parametrize(
    "source",
    [
        "Array.from('abc').map(f)",
        "Buffer.from('abc', 'utf8')",
        "supabase.storage.from('avatars').upload(path, file)",
        "knex.from('users').select('id')",
        "db.from('users').select('id')",  # a query builder nobody marked as supabase
        "import { createClient } from 'redis';\nconst r = createClient();\nr.from('x').select('y')",
        "from('t').select('a')",
        # Storage buckets: a client's storage API held in a name, or a bucket's own methods.
        "const supabaseStorage = supabase.storage;\nsupabaseStorage.from('avatars')",
        "const { data } = supabaseStorage.from('avatars').getPublicUrl(path)",
        "supabase_1.supabaseStorage.from(bucket).getPublicUrl(objectPath)",
        "getSupabaseBucket().from('docs')",
        "supabase.from('avatars').list(prefix)",
        "supabase.from('avatars').update('a/b.png', file, { upsert: true })",
        # Named like a client, but holding what another library made.
        "import knex from 'knex';\nconst supabaseKnex = knex(config);\n"
        "supabaseKnex.from('users').select('id')",
        "import { drizzle } from 'drizzle-orm/node-postgres';\n"
        "function f() { const supabase = drizzle(pool); supabase.from('users').select() }",
        "const supabaseUsers = new Map();\nsupabaseUsers.from('users').select('id')",
    ],
)
def test_other_from_calls_are_not_requests(source: str) -> None:
    assert _requests(source) == ()


def test_chain_methods_arguments_and_locations() -> None:
    source = (
        SUPABASE
        + "const { data } = await supabase\n"
        "  .from('appointments')\n"
        "  .select(`id,\n    patients(full_name)`)\n"
        "  .eq('patient_id', id)\n"
        "  .order('starts_at', { ascending: false, referencedTable: 'x' });\n"
    )
    (request,) = _requests(source)
    assert request.kind == "from"
    assert [c.method for c in request.calls] == ["from", "select", "eq", "order"]
    assert request.location == Location("app.ts", 3, 4, 3, 7)
    select = request.calls[1].arguments[0]
    assert isinstance(select, SqlFragment)
    assert select.sql == "id,\n    patients(full_name)"
    assert select.location(select.sql.index("patients")) == Location("app.ts", 5, 5)
    options = request.calls[3].arguments[1]
    assert isinstance(options, JsObject) and options.complete
    assert [k.sql for k in options.keys] == ["ascending", "referencedTable"]
    assert isinstance(options.get("referencedTable"), SqlFragment)


def test_columns_count_characters_not_bytes() -> None:
    source = "const é = '€€'; supabase.from('t').select('a, b')"
    (request,) = _requests(source)
    select = request.calls[1].arguments[0]
    assert isinstance(select, SqlFragment)
    assert select.location(3) == Location("app.ts", 1, source.index("a, b") + 4)


def test_a_minified_line_is_indexed_by_its_few_non_ascii_bytes() -> None:
    # A minified bundle is one line. Its columns count characters; the line's index holds
    # the offsets of its UTF-8 continuation bytes, not one entry per character
    # (graphiql.min.js: 950,000 entries, 40 MB of a 120 MB peak, a tenth of its read).
    from dbsafe.extract import javascript

    source = "".join(f"f{i}('{'é€𝄞'[i % 3]}{i}');" for i in range(1000))
    data = source.encode()
    reader = javascript._Reader(data, "bundle.min.js")
    byte, columns, positions = 0, [], []
    for column, char in enumerate(source, 1):
        if char == "'":
            columns.append((1, column))
            positions.append(reader.position(byte))
        byte += len(char.encode())
    assert positions == columns
    (index,) = reader.continuations.values()
    assert index is not None and len(index) == sum(len(c.encode()) - 1 for c in source)
    assert len(index) < len(source) // 3


def test_escapes_map_back_to_the_source() -> None:
    source = r"supabase.from('t').select('a,\tb\u0063')"
    select = _requests(source)[0].calls[1].arguments[0]
    assert isinstance(select, SqlFragment)
    assert select.sql == "a,\tbc"
    assert select.location(4) == Location("app.ts", 1, source.index(r"\u0063") + 1)


def test_payloads_spreads_and_computed_keys() -> None:
    source = "supabase.from('t').insert([{ a: 1, 'b c': 2, d }, { ...row, [k]: 3, e: 4 }])"
    payload = _requests(source)[0].calls[1].arguments[0]
    assert isinstance(payload, JsArray)
    first, second = payload.items
    assert isinstance(first, JsObject) and first.complete
    assert [k.sql for k in first.keys] == ["a", "b c", "d"]
    assert isinstance(second, JsObject) and not second.complete
    assert [k.sql for k in second.keys] == ["e"]


def test_a_constant_is_followed_once_and_only_if_bound_once() -> None:
    source = (
        "const COLS = 'id, name' as const;\nlet other = 'x';\nother = 'y';\n"
        "supabase.from('t').select(COLS); supabase.from('t').select(other)"
    )
    first, second = _requests(source)
    cols = first.calls[1].arguments[0]
    assert isinstance(cols, SqlFragment) and cols.sql == "id, name"
    assert cols.location(0) == Location("app.ts", 1, 15)
    # `let` may be reassigned (here it is): not a constant.
    assert isinstance(second.calls[1].arguments[0], JsOther)


def test_a_constant_is_followed_only_where_the_name_reads_it() -> None:
    source = (
        "const TOP = 'a';\n"
        "function f() { const c = 'b'; return supabase.from('t').select(c) }\n"
        "function g(c) { return supabase.from('t').select(c) }\n"
        "function h() { const c = 'd'; { const c = 'e'; supabase.from('t').select(c) } }\n"
        "for (const c of rows) { supabase.from('t').insert(c) }\n"
        "const k = ({ c }) => supabase.from('t').select(c);\n"
        "function m() { supabase.from('t').select(TOP) }\n"
        "function n() { supabase.from('t').select(X) } function o() { const X = 'x' }\n"
    )
    selected = [r.calls[1].arguments[0] for r in _requests(source)]
    read = [s.sql if isinstance(s, SqlFragment) else None for s in selected]
    # A parameter, a destructured name, a loop variable or another function's `const` of the
    # same name is not the `const`: reading it would check the wrong columns.
    assert read == ["b", None, "e", None, None, "a", None]


def test_a_constant_read_for_sql_is_the_one_in_scope() -> None:
    source = (
        "function f() { const q = 'SELECT a FROM t'; return pool.query(q) }\n"
        "function g(q) { return pool.query(q) }\n"
    )
    (fragment,) = sql_in_javascript(source, "app.ts").fragments
    assert fragment.sql == "SELECT a FROM t" and fragment.location(0).line == 1


def test_dynamic_table_name_is_recorded() -> None:
    (request,) = _requests("supabase.from(`${prefix}_items`).select()")
    assert request.target is None
    assert request.dynamic is not None and "prefix" in request.dynamic


def test_rpc_is_a_request() -> None:
    (request,) = _requests("supabase.rpc('search', { term: 'x' }).select('id')")
    assert request.kind == "rpc"
    assert request.target is not None and request.target.sql == "search"
    assert [c.method for c in request.calls] == ["rpc", "select"]


@pytest.mark.parametrize("path", ["a.js", "a.jsx", "a.mjs", "a.cjs", "a.ts", "a.tsx"])
def test_every_suffix_parses_with_its_grammar(path: str) -> None:
    jsx = "const v = <div className='x'>{items.length}</div>;\n" if path.endswith("x") else ""
    types = "type Row = { id: number };\nconst n = <Row>x;\n" if path.endswith(".ts") else ""
    source = jsx + types + "supabase.from('t').select('a')\n"
    assert _targets(source, path) == ["t"]


def test_sql_in_tagged_templates_and_query_calls() -> None:
    source = (
        "const a = await sql`SELECT id FROM users WHERE id = ${id}`;\n"
        "const b = await prisma.$queryRaw`SELECT name FROM ${table}`;\n"
        "await client.query('SELECT email FROM users WHERE id = $1', [id]);\n"
        "const c = Prisma.sql`UPDATE users SET name = ${n} WHERE id = ${i}`;\n"
        "await client.query('div.selected');\n"
        "const d = html`<p>select from the list</p>`;\n"
    )
    fragments = sql_in_javascript(source, "db.ts").fragments
    assert [(f.sql, f.dynamic) for f in fragments] == [
        ("SELECT id FROM users WHERE id = NULL", None),
        ("SELECT name FROM NULL", "`${table}` is not in a value position (after FROM)"),
        ("SELECT email FROM users WHERE id = $1", None),
        ("UPDATE users SET name = NULL WHERE id = NULL", None),
    ]
    first = fragments[0]
    assert first.location(first.sql.index("users")) == Location("db.ts", 1, 36)
    assert fragments[2].location(7) == Location("db.ts", 3, 28)



@pytest.mark.parametrize(("template", "dynamic"), [
    # a function's argument, a time zone: values (inbox-zero, AFFiNE, papermark)
    ('WHERE lower("email") = lower(${email})', None),
    ("WHERE id = 1 AND pg_advisory_xact_lock(7, hashtext(${id})) IS NOT NULL", None),
    ("WHERE date_trunc(${period}, created) > now() - coalesce(${d}, interval '1 day')", None),
    ("WHERE created AT TIME ZONE ${tz} > now()", None),
    # operands of full text search's, regular expressions' and `^`'s operators: values
    ("WHERE search @@ websearch_to_tsquery('english', ${q})", None),
    ("WHERE name ~ ${pattern} AND name !~ ${other} AND name ^@ ${prefix}", None),
    ("WHERE score ^ ${power} > 1", None),
    # parentheses that do not call a function: a name, a clause or a subquery goes there
    ("WHERE EXISTS (${sub})", "`${sub}` is not in a value position (after ()"),
    ("WHERE x = 1 AND (${filter})", "`${filter}` is not in a value position (after ()"),
    ("WHERE ARRAY(${sub}) = '{}'", "`${sub}` is not in a value position (after ()"),
    ("WHERE EXTRACT(${field} FROM created) = 1",
     "`${field}` is not in a value position (after ()"),
    ("WHERE CAST(id AS varchar(${n})) = '1'", "`${n}` is not in a value position (after ()"),
    ("WHERE count(${col}) OVER (${window}) = 1",
     "`${window}` is not in a value position (after ()"),
])
def test_function_arguments_are_values(template: str, dynamic: str | None) -> None:
    fragment, = sql_in_javascript(f"await prisma.$queryRaw`SELECT id FROM users {template}`;\n",
                                  "db.ts").fragments
    assert fragment.dynamic == dynamic


@pytest.mark.parametrize(("statement", "dynamic"), [
    # a table function's arguments, a schema-qualified function's: values
    ("SELECT * FROM pgmq.send('q', ${msg})", None),
    ("SELECT * FROM unnest(${ids}::int[]) AS u(id)", None),
    ("SELECT * FROM t JOIN LATERAL jsonb_to_recordset(${rows}) AS r(a int) ON true", None),
    ("SELECT id FROM t WHERE extract(epoch FROM age(${at})) > 0", None),
    ("SELECT id FROM t WHERE app.allowed(${user_id}, id)", None),
    # a procedure's arguments (`CALL`, taken from a `sql` tag)
    ("CALL archive(${id}, 2)", None),
    ("call app.archive(${id})", None),
    # a subquery or a column list: not values
    ("SELECT * FROM (${query}) AS s", "`${query}` is not in a value position (after ()"),
    ("INSERT INTO app.users (${columns}) VALUES (1)",
     "`${columns}` is not in a value position (after ()"),
])
def test_values_given_to_table_and_qualified_functions(statement: str,
                                                       dynamic: str | None) -> None:
    fragment, = sql_in_javascript(f"await sql`{statement}`;\n", "db.ts").fragments
    assert fragment.dynamic == dynamic


def test_parentheses_after_a_table_or_a_cte_name_are_not_arguments() -> None:
    source = ("await sql`INSERT INTO users (${columns}) VALUES (1)`;\n"
              "await sql`WITH recent (${columns}) AS (SELECT 1) SELECT * FROM recent`;\n"
              "await sql`WITH recent AS (${query}) SELECT * FROM recent`;\n")
    assert [f.dynamic for f in sql_in_javascript(source, "db.ts").fragments] == [
        "`${columns}` is not in a value position (after ()",
        "`${columns}` is not in a value position (after ()",
        "`${query}` is not in a value position (after ()"]

def test_ddl_the_file_may_use_later_is_taken_without_holes_only() -> None:
    # Validation must know what a file's own DDL makes (a temp table, a column): it is read,
    # not checked. With a hole it says nothing reliable, and prose is never DDL.
    source = (
        "await client.query('CREATE TEMP TABLE scratch AS SELECT id FROM users');\n"
        "await sql`ALTER TABLE users ADD COLUMN nick text`;\n"
        "await sql`SET search_path TO app, public`;\n"
        "await sql`CREATE TABLE ${name} (id int)`;\n"
        "await client.query('DROP TABLE scratch');\n"
        "await client.query('Create a new user');\n"
    )
    fragments = sql_in_javascript(source, "db.ts").fragments
    assert [f.sql for f in fragments] == [
        "CREATE TEMP TABLE scratch AS SELECT id FROM users",
        "ALTER TABLE users ADD COLUMN nick text",
        "SET search_path TO app, public",
    ]


def test_a_syntax_error_hides_only_what_it_breaks() -> None:
    source = "const x = ;\nsupabase.from('t').select('a')\n"
    assert _targets(source, "broken.js") == ["t"]


CUSTOM = (
    "const a = await db.sql.raw`SELECT nope FROM t`;\n"
    "const b = await q`SELECT nope2 FROM t`;\n"
    "await pool.run('SELECT nope3 FROM t');\n"
    "await other.raw2`SELECT nope4 FROM t`;\n"
)


def test_configured_sql_tags_and_calls_are_read() -> None:
    assert sql_in_javascript(CUSTOM, "a.ts").fragments == ()
    names = SqlNames(tags=frozenset({"sql.raw", "q"}), calls=frozenset({"run"}))
    fragments = sql_in_javascript(CUSTOM, "a.ts", names=names).fragments
    assert [(f.sql, f.line, f.column) for f in fragments] == [
        ("SELECT nope FROM t", 1, 28),
        ("SELECT nope2 FROM t", 2, 19),
        ("SELECT nope3 FROM t", 3, 17),
    ]
    # A dotted name matches expressions ending with those names, not any `.raw`.
    dotted = SqlNames(tags=frozenset({"db.sql.raw", "other.raw"}))
    assert [f.sql for f in sql_in_javascript(CUSTOM, "a.ts", names=dotted).fragments] == [
        "SELECT nope FROM t"]


def test_configured_names_must_be_javascript_names() -> None:
    with pytest.raises(ValueError, match="not a JavaScript name"):
        SqlNames(tags=frozenset({"sql raw"}))


@pytest.mark.parametrize(
    ("source", "schema"),
    [
        ("const db = createClient(u, k, { db: { schema: 'api' } });\ndb.from('t').select()",
         "api"),
        ("const S = 'api';\nconst db = createClient(u, k, { auth: {}, db: { schema: S } });\n"
         "db.from('t').select()", "api"),
        # `.schema()` wins over the client's option.
        ("const db = createClient(u, k, { db: { schema: 'api' } });\n"
         "db.schema('x').from('t').select()", "x"),
        ("const db = createClient(u, k);\ndb.from('t').select()", None),
        ("const db = createClient(u, k, { db: { schema: name } });\ndb.from('t').select()", None),
        # Two clients of one name in two scopes: which one a request uses is not known.
        ("function a() { const db = createClient(u, k, { db: { schema: 'api' } }); }\n"
         "function b() { const db = createClient(u, k); db.from('t').select() }", None),
        # A parameter (or another function's variable) of the same name is another client.
        ("function a() { const supabase = createClient(u, k, { db: { schema: 'api' } }); }\n"
         "function b(supabase: SupabaseClient) { supabase.from('t').select() }", None),
        ("function a() { const supabase = createClient(u, k, { db: { schema: 'api' } }); }\n"
         "const b = async (supabase) => supabase.from('t').select()", None),
        ("let db = createClient(u, k, { db: { schema: 'api' } });\ndb.from('t').select()",
         "api"),
        ("const db = supabase.schema('api');\ndb.from('t').select()", "api"),
    ],
)
def test_a_client_created_with_a_db_schema_reads_that_schema(source: str,
                                                             schema: str | None) -> None:
    (request,) = _requests(SUPABASE + source)
    assert (request.schema.sql if request.schema is not None else None) == schema


def test_a_payload_in_a_const_is_read_through_its_binding() -> None:
    (request,) = _requests("const a: Row = { x: a, y: [a], ...rest };\n"
                           "supabase.from('t').insert(a)")
    payload = request.calls[1].arguments[0]
    assert isinstance(payload, JsObject)
    assert [k.sql for k in payload.keys] == ["x", "y"]
    assert payload.bound and not payload.complete
    # A binding is followed once: `a` inside it is not read again.
    assert isinstance(payload.values[0], JsOther)


def test_statements_a_test_expects_to_fail_are_not_taken() -> None:
    source = (
        "import assert from 'node:assert';\n"
        "test('unknown column', async () => {\n"
        "  await expect(pool.query('SELECT nope1 FROM users')).rejects.toThrow('no');\n"
        "  expect(() => db.prepare('SELECT nope2 FROM users')).toThrow();\n"
        "  await assert.rejects(pool.query('SELECT nope3 FROM users'));\n"
        "  await expect(pool.query('SELECT kept1 FROM users')).resolves.toBeDefined();\n"
        "  const r = await pool.query('SELECT kept2 FROM users');\n"
        "  expect(r.rows).toHaveLength(1);\n"
        "});\n")
    fragments = sql_in_javascript(source, "db.test.ts").fragments
    assert [f.sql for f in fragments] == ["SELECT kept1 FROM users", "SELECT kept2 FROM users"]


@pytest.mark.parametrize(
    "source",
    [
        "await supabase.from<'t', Row>('t').select('a')",
        "await supabase.from('t').select<'a', Row>('a')",
        "const { data } = await supabase.from('t').select<'a', Row>('a').returns<Row[]>()",
    ],
)
def test_generic_calls_after_await_are_read(source: str) -> None:
    # tree-sitter's TypeScript grammar reads `await a.b<T>(x)` as `(await a.b)<T>(x)`.
    (request,) = _requests(source)
    assert [(c.method, [getattr(a, "sql", None) for a in c.arguments])
            for c in request.calls[:2]] == [("from", ["t"]), ("select", ["a"])]


def test_a_query_held_in_a_variable_is_followed_in_its_scope() -> None:
    source = SUPABASE + (
        "const supabase = createClient(u, k);\n"
        "async function f(x) {\n"
        "  let q = supabase.from('t').select('a');\n"
        "  if (x) q = q.eq('b', 1);\n"
        "  const next = [1].map((q) => q + 1);\n"  # another binding of the name
        "  const { data } = await q.order('c');\n"
        "}\n")
    requests = _requests(source)
    assert [([c.method for c in r.calls], r.inherited, r.location.line, r.location.column)
            for r in requests] == [
        (["from", "select"], 0, 4, 20),
        (["from", "select", "eq"], 2, 5, 16),
        (["from", "select", "eq", "order"], 3, 7, 28),
    ]
    assert {r.target.sql for r in requests if r.target is not None} == {"t"}


@pytest.mark.parametrize(
    "use",
    [
        "q = wrap(q);",  # passed to a function, and assigned what it returns
        "list.push(q);",  # stored
        "q = other;",
        "q += 1;",
        "({ q } = other);",  # destructured into
        "[q] = others;",
        "const { q: r } = { q };",  # stored in an object
        "setTimeout(() => { q = q.eq('b', 1) });",  # reassigned in a closure
        "q = q.select('b');",  # a select that holds only where that line ran
    ],
)
def test_a_query_held_in_a_variable_is_not_followed_where_it_may_hold_another(
        use: str) -> None:
    source = ("async function f() {\n  let q = supabase.from('t').select('a');\n"
              f"  {use}\n  await q.eq('c', 1);\n}}\n")
    requests = _requests(source)
    assert [[c.method for c in r.calls] for r in requests] == [["from", "select"]]


def test_following_a_query_reads_only_the_names_in_its_scope(monkeypatch) -> None:
    # A minified bundle reuses one short name in every function: following each query must
    # not resolve every `e` of the file (that was quadratic, minutes on a real bundle).
    from dbsafe.extract import javascript

    functions = 100
    source = "import{createClient as c}from'@supabase/supabase-js';const s=c(u,k);" + "".join(
        f"function f{i}(t){{let e=s.from('t').select('a');if(t)e=e.eq('b',t);return e}}"
        for i in range(functions))
    resolved = 0
    declarator = javascript._Reader._declarator

    def counted(self, identifier):
        nonlocal resolved
        resolved += 1
        return declarator(self, identifier)

    monkeypatch.setattr(javascript._Reader, "_declarator", counted)
    requests = sql_in_javascript(source, "bundle.min.js").requests
    assert len(requests) == 2 * functions
    assert resolved < 20 * functions  # about ten a function; every `e` of the file each: 400


def test_tags_with_type_arguments_are_read() -> None:
    """tree-sitter's TypeScript grammar misreads `tag<T>`...``: as a call of `tag<T>!` or
    as comparisons, or in a conditional's last branch as the whole conditional tagging the
    template. The tag is read before its balanced type arguments; an arrow's `=>`,
    a comparison and another tag are not SQL tags, and JavaScript has no type arguments."""
    source = (
        "const a = await prisma.$queryRaw<{ v: string }[]>`SELECT a1 FROM t WHERE x = ${x}`;\n"
        "const b = tx.$queryRaw<Array<{ d: Date; f: () => void }>>`SELECT b1 FROM t`;\n"
        "const c = await sql<Array<Row>>`SELECT c1 FROM t`;\n"
        "const d = (await getDb()).sql<\n  R[]\n>`SELECT d1 FROM t`;\n"
        "const e = sql<number>`count(*)`;\n"
        "const f = (x: Array<string>) => `SELECT f1 FROM t`;\n"
        "const g = html<T>`SELECT g1 FROM t`;\n"
        "const h = a < b > `SELECT h1 FROM t`;\n"
        # read as the whole conditional tagging the last template (formbricks' pages)
        "const i = (after) => after ? tx.$queryRaw<R[]>`SELECT i1 FROM t`\n"
        "  : tx.$queryRaw<R[]>`SELECT j1 FROM t`;\n"
        "const k = c ? x : html<T>`SELECT k1 FROM t`;\n"
    )
    fragments = sql_in_javascript(source, "db.ts").fragments
    assert [(f.sql.split()[1], f.line, f.column) for f in fragments] == [
        ("a1", 1, 51), ("b1", 2, 59), ("c1", 3, 33), ("d1", 6, 3), ("i1", 11, 48),
        ("j1", 12, 23)]
    assert fragments[0].sql == "SELECT a1 FROM t WHERE x = NULL"
    assert [f.sql for f in sql_in_javascript(source, "db.tsx").fragments] == [
        f.sql for f in fragments]
    assert sql_in_javascript(source, "db.js").fragments == ()


def test_pg_promise_calls_and_slonik_tags_are_read() -> None:
    source = (
        "await db.oneOrNone('SELECT a1 FROM t WHERE id = $1', [id]);\n"
        "await t.none('UPDATE t SET b1 = $1', [v]);\n"
        "await db.any('SELECT c1 FROM t');\n"
        "await pool.one(sql.type(Row)`SELECT d1 FROM t WHERE id = ${id}`);\n"
        "await pool.any(sql.typeAlias('id')`SELECT e1 FROM t`);\n"
        "await pool.query(sql.unsafe`SELECT f1 FROM t`);\n"
        "await pool.query(other.type(Row)`SELECT g1 FROM t`);\n"
        "await pool.query(html.unsafe`SELECT h1 FROM t`);\n"
        "items.any('not a statement');\n"
    )
    fragments = sql_in_javascript(source, "db.ts").fragments
    assert [(f.sql.split()[1], f.line) for f in fragments] == [
        ("a1", 1), ("t", 2), ("c1", 3), ("d1", 4), ("e1", 5), ("f1", 6)]


def test_only_a_knex_raw_is_a_piece_of_the_builder_method_it_is_given_to() -> None:
    # A query call handed to a method that a knex builder also has is sent by itself: only
    # `raw` builds a piece of the builder's statement.
    source = (
        "db('t').select('*', db.raw('SELECT a1 FROM t'));\n"
        "pending.insert(client.query('SELECT b1 FROM t'));\n"
        "Array.from(pool.query('SELECT c1 FROM t'));\n"
        "q.with('r', pool.query('SELECT d1 FROM t'));\n"
    )
    fragments = sql_in_javascript(source, "db.ts").fragments
    assert [(f.sql.split()[1], f.line) for f in fragments] == [("b1", 2), ("c1", 3), ("d1", 4)]
