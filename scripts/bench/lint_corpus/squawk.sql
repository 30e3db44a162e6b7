-- Reconstructed from the rule descriptions of squawk's documentation (one Bad and one Good
-- migration per rule); see README.md. Each "-- case:" header starts one migration.
-- Unless a header says "no-preamble", the benchmark puts
--   SET lock_timeout = '2s'; SET statement_timeout = '5min';
-- in front of the case, so the timeout rules do not fire on every case.

-- case: adding-field-with-default bad
ALTER TABLE orders ADD COLUMN IF NOT EXISTS token uuid DEFAULT gen_random_uuid();
-- case: adding-field-with-default good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS status text DEFAULT 'new';

-- case: adding-foreign-key-constraint bad
ALTER TABLE orders ADD CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id);
-- case: adding-foreign-key-constraint good
ALTER TABLE orders ADD CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer;

-- case: adding-not-nullable-field bad
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
-- case: adding-not-nullable-field good
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_not_null CHECK (customer_id IS NOT NULL) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_not_null;
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;
ALTER TABLE orders DROP CONSTRAINT orders_customer_id_not_null;

-- case: adding-required-field bad
ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text NOT NULL;
-- case: adding-required-field good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text NOT NULL DEFAULT 'eu';

-- case: adding-serial-primary-key-field bad
ALTER TABLE orders ADD PRIMARY KEY (id);
-- case: adding-serial-primary-key-field good
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_pk_idx ON orders (id);
ALTER TABLE orders ADD CONSTRAINT orders_pk PRIMARY KEY USING INDEX orders_pk_idx;

-- case: ban-alter-domain-with-add-constraint bad
ALTER DOMAIN positive_amount ADD CONSTRAINT amount_positive CHECK (VALUE > 0);
-- case: ban-alter-domain-with-add-constraint good
ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT amount_positive;

-- case: ban-char-field bad
CREATE TABLE IF NOT EXISTS countries (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code char(2) NOT NULL);
-- case: ban-char-field good
CREATE TABLE IF NOT EXISTS countries (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code text NOT NULL);

-- case: ban-concurrent-index-creation-in-transaction bad
BEGIN;
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_customer ON orders (customer_id);
COMMIT;
-- case: ban-concurrent-index-creation-in-transaction good
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_customer ON orders (customer_id);

-- case: ban-create-domain-with-constraint bad
CREATE DOMAIN positive_amount AS numeric CHECK (VALUE > 0);
-- case: ban-create-domain-with-constraint good
CREATE DOMAIN positive_amount AS numeric;

-- case: ban-drop-column bad
ALTER TABLE orders DROP COLUMN IF EXISTS legacy_status;
-- case: ban-drop-column good
COMMENT ON COLUMN orders.legacy_status IS 'deprecated: no longer written, drop in a later release';

-- case: ban-drop-table bad
DROP TABLE IF EXISTS legacy_orders;
-- case: ban-drop-table good
CREATE TABLE IF NOT EXISTS legacy_orders_archive AS SELECT * FROM legacy_orders;

-- case: ban-drop-database bad
DROP DATABASE IF EXISTS analytics;
-- case: ban-drop-database good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS archived_at timestamptz;

-- case: ban-drop-not-null bad
ALTER TABLE orders ALTER COLUMN customer_id DROP NOT NULL;
-- case: ban-drop-not-null good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS guest_customer_id bigint;

-- case: ban-duplicate-column-assignments bad
UPDATE orders SET status = 'paid', status = 'shipped' WHERE id = 1;
-- case: ban-duplicate-column-assignments good
UPDATE orders SET status = 'shipped' WHERE id = 1;

-- case: ban-truncate-cascade bad
TRUNCATE customers CASCADE;
-- case: ban-truncate-cascade good
TRUNCATE import_staging;

-- case: ban-uncommitted-transaction bad no-preamble
BEGIN;
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5min';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
-- case: ban-uncommitted-transaction good no-preamble
BEGIN;
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5min';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
COMMIT;

-- case: changing-column-type bad
ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12, 2);
-- case: changing-column-type good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS amount_v2 numeric(12, 2);

-- case: constraint-missing-not-valid bad
ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0);
-- case: constraint-missing-not-valid good
ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT amount_positive;

-- case: disallowed-unique-constraint bad
ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE (ref);
-- case: disallowed-unique-constraint good
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_ref_idx ON orders (ref);
ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE USING INDEX orders_ref_idx;

-- case: identifier-too-long bad
ALTER TABLE orders ADD COLUMN IF NOT EXISTS delivery_window_start_in_the_customers_own_local_time_zone_please timestamptz;
-- case: identifier-too-long good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS delivery_window_start timestamptz;

-- case: prefer-bigint-over-int bad
ALTER TABLE orders ADD COLUMN IF NOT EXISTS quantity integer;
-- case: prefer-bigint-over-int good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS quantity bigint;

-- case: prefer-bigint-over-smallint bad
ALTER TABLE orders ADD COLUMN IF NOT EXISTS priority smallint;
-- case: prefer-bigint-over-smallint good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS priority bigint;

-- case: prefer-identity bad
CREATE TABLE IF NOT EXISTS events (id bigserial PRIMARY KEY, payload jsonb);
-- case: prefer-identity good
CREATE TABLE IF NOT EXISTS events (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, payload jsonb);

-- case: prefer-repack bad
VACUUM FULL orders;
-- case: prefer-repack-cluster bad
CLUSTER orders USING ix_orders_customer;
-- case: prefer-repack good
VACUUM (ANALYZE) orders;

-- case: prefer-robust-stmts bad
ALTER TABLE orders ADD COLUMN note text;
-- case: prefer-robust-stmts good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;

-- case: prefer-text-field bad
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note varchar(255);
-- case: prefer-text-field good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
ALTER TABLE orders ADD CONSTRAINT note_length CHECK (length(note) <= 255) NOT VALID;

-- case: prefer-timestamptz bad
ALTER TABLE orders ADD COLUMN IF NOT EXISTS shipped_at timestamp;
-- case: prefer-timestamptz good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS shipped_at timestamptz;

-- case: renaming-column bad
ALTER TABLE orders RENAME COLUMN ref TO reference;
-- case: renaming-column good
ALTER TABLE orders ADD COLUMN IF NOT EXISTS reference text;

-- case: renaming-table bad
ALTER TABLE orders RENAME TO purchases;
-- case: renaming-table good
CREATE OR REPLACE VIEW purchases AS SELECT * FROM orders;

-- case: require-concurrent-index-creation bad
CREATE INDEX IF NOT EXISTS ix_orders_customer ON orders (customer_id);
-- case: require-concurrent-index-creation good
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_customer ON orders (customer_id);

-- case: require-concurrent-index-deletion bad
DROP INDEX IF EXISTS ix_orders_customer;
-- case: require-concurrent-index-deletion good
DROP INDEX CONCURRENTLY IF EXISTS ix_orders_customer;

-- case: require-concurrent-partition-detach bad
ALTER TABLE measurements DETACH PARTITION measurements_2020;
-- case: require-concurrent-partition-detach good
ALTER TABLE measurements DETACH PARTITION measurements_2020 CONCURRENTLY;

-- case: require-concurrent-reindex bad
REINDEX INDEX ix_orders_customer;
-- case: require-concurrent-reindex good
REINDEX INDEX CONCURRENTLY ix_orders_customer;

-- case: require-enum-value-ordering bad
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded';
-- case: require-enum-value-ordering good
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded' AFTER 'paid';

-- case: require-lock-timeout bad no-preamble
SET statement_timeout = '5min';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
-- case: require-lock-timeout good no-preamble
SET lock_timeout = '2s';
SET statement_timeout = '5min';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;

-- case: require-statement-timeout bad no-preamble
SET lock_timeout = '2s';
ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer;
-- case: require-statement-timeout good no-preamble
SET lock_timeout = '2s';
SET statement_timeout = '5min';
ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer;

-- case: require-table-schema bad
CREATE TABLE IF NOT EXISTS notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);
-- case: require-table-schema good
CREATE TABLE IF NOT EXISTS public.notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);

-- case: transaction-nesting bad
BEGIN;
BEGIN;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
COMMIT;
-- case: transaction-nesting good
BEGIN;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
COMMIT;
