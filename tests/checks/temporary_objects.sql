-- Another session's temporary objects (schemas pg_temp_N, pg_toast_temp_N), each shaped to
-- draw one check: they live as long as that session, no other session may read their rows
-- (0A000), and every check must leave them alone.
-- settings: unused-index-min-age = "0 seconds"
-- settings: bloat-min-size = "256KB"
-- settings: require-rls = ["scratch_*"]
CREATE TEMP TABLE scratch_orders (id bigserial PRIMARY KEY, customer_id bigint, status text, total numeric, note text);
INSERT INTO scratch_orders (id, customer_id, status, total) VALUES (1, 99, 'new', -1), (2, 98, 'new', 5);
-- DBS501: an index left invalid
CREATE INDEX scratch_orders_total ON scratch_orders (total);
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'scratch_orders_total'::regclass;
-- DBS505, DBS506, DBS514: duplicate, redundant and never scanned indexes
CREATE INDEX scratch_orders_status ON scratch_orders (status);
CREATE INDEX scratch_orders_status_again ON scratch_orders (status);
CREATE INDEX scratch_orders_status_total ON scratch_orders (status, customer_id);
-- DBS504, DBS512, DBS513: a NOT VALID foreign key on an unindexed column with orphans,
-- a NOT VALID check that a row violates
CREATE TEMP TABLE scratch_customers (id bigint PRIMARY KEY);
ALTER TABLE scratch_orders ADD CONSTRAINT scratch_orders_customer_fk FOREIGN KEY (customer_id) REFERENCES scratch_customers NOT VALID;
ALTER TABLE scratch_orders ADD CONSTRAINT scratch_orders_total_positive CHECK (total > 0) NOT VALID;
-- DBS507, DBS508, DBS509, DBS510: no primary key, a policy without row-level security and
-- row-level security without a policy, on tables require-rls names
CREATE TEMP TABLE scratch_notes (body text);
CREATE POLICY scratch_notes_all ON scratch_notes USING (true);
CREATE TEMP TABLE scratch_secrets (id bigint PRIMARY KEY);
ALTER TABLE scratch_secrets ENABLE ROW LEVEL SECURITY;
-- DBS518: a view every role may read, over that table, read with its owner's rights
CREATE TEMP VIEW scratch_secret_ids AS SELECT id FROM scratch_secrets;
GRANT SELECT ON scratch_secret_ids TO PUBLIC;
-- DBS511, DBS517: a sequence near its end, a sequence behind its column (rows inserted
-- with their ids above)
CREATE TEMP SEQUENCE scratch_numbers MAXVALUE 10;
SELECT setval('scratch_numbers', 9);
-- DBS515, DBS516: a bloated table and index
CREATE TEMP TABLE scratch_events (id bigint, payload text);
CREATE INDEX scratch_events_payload ON scratch_events (payload);
INSERT INTO scratch_events SELECT g, md5(g::text) || repeat('x', 100) FROM generate_series(1, 20000) AS g;
DELETE FROM scratch_events WHERE id % 10 <> 0;
VACUUM scratch_events;
ANALYZE scratch_events;
