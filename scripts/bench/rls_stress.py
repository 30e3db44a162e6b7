"""The row-level-security stress schema DBS518 and DBS519 are timed on (`checks_scale.py
--schema rls`): 200 tables with row-level security (`USING (owner = current_user)`; every
tenth also a permissive `USING (true)` for a chain's role and a restrictive one for another),
4 views and 4 materialized views over each, a superuser's, 540 roles (13 chains of 40, each
role inheriting the next, and 20 on their own), each view and materialized view granted to
two chains' heads or to PUBLIC; one role in `pg_read_all_data` (PostgreSQL 14 and later)
and one member inheriting a `BYPASSRLS` owner of 40 views without `SET` (16 and later).

Roles are the server's: their names start with `rls_stress_` and `build` drops any left by
an earlier run on the same server first.
"""

from __future__ import annotations

import time

TABLES = 200
CHAINS, DEPTH, LONE = 13, 40, 20


def _role(chain: int, depth: int) -> str:
    return f"rls_stress_c{chain:02d}_{depth:02d}"


def build(conninfo: str) -> float:
    """Fill the (empty) database at `conninfo`; the seconds it took."""
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        version = conn.info.server_version
        for (name,) in conn.execute("SELECT rolname FROM pg_roles "
                                    "WHERE rolname LIKE 'rls\\_stress\\_%'").fetchall():
            conn.execute(f"DROP OWNED BY {name}")
            conn.execute(f"DROP ROLE {name}")
        ddl = []
        for chain in range(CHAINS):
            for depth in range(DEPTH):
                ddl.append(f"CREATE ROLE {_role(chain, depth)};")
                if depth:
                    ddl.append(f"GRANT {_role(chain, depth - 1)} TO {_role(chain, depth)};")
        ddl += [f"CREATE ROLE rls_stress_lone_{i:02d};" for i in range(LONE)]
        ddl.append("CREATE ROLE rls_stress_owner BYPASSRLS;")
        ddl.append("CREATE ROLE rls_stress_heir;")
        if version >= 160000:
            ddl.append("GRANT rls_stress_owner TO rls_stress_heir WITH INHERIT TRUE, SET FALSE;")
        if version >= 140000:
            ddl.append("GRANT pg_read_all_data TO rls_stress_lone_00;")
        for t in range(TABLES):
            heads = [_role(t % CHAINS, 0), _role((t + 1) % CHAINS, 0)]
            ddl += [f"CREATE TABLE rls_t{t:03d} (id int PRIMARY KEY, owner text);",
                    f"ALTER TABLE rls_t{t:03d} ENABLE ROW LEVEL SECURITY;",
                    f"CREATE POLICY own ON rls_t{t:03d} USING (owner = current_user);",
                    f"GRANT SELECT ON rls_t{t:03d} TO rls_stress_owner;"]
            if t % 10 == 0:
                ddl += [f"CREATE POLICY open ON rls_t{t:03d} FOR SELECT TO {heads[0]} "
                        "USING (true);",
                        f"CREATE POLICY narrow ON rls_t{t:03d} AS RESTRICTIVE FOR SELECT TO "
                        f"{heads[1]} USING (id > 1);"]
            for k in range(4):
                grantees = "PUBLIC" if k == 3 else ", ".join(heads)
                ddl += [f"CREATE VIEW rls_v{t:03d}_{k} AS SELECT id, owner FROM rls_t{t:03d};",
                        f"CREATE MATERIALIZED VIEW rls_m{t:03d}_{k} AS "
                        f"SELECT id FROM rls_t{t:03d} WITH NO DATA;",
                        f"GRANT SELECT ON rls_v{t:03d}_{k}, rls_m{t:03d}_{k} TO {grantees};"]
            if t % 5 == 0:
                ddl.append(f"ALTER VIEW rls_v{t:03d}_0 OWNER TO rls_stress_owner;")
        conn.execute("BEGIN;\n" + "\n".join(ddl) + "\nCOMMIT;")
    return time.perf_counter() - start
