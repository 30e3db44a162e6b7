"""A shop: every column type, constraint and index kind the op.* fix can write."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("CREATE TABLE parent (id bigint PRIMARY KEY)")
    op.execute("""
        CREATE TABLE items (
            id bigint NOT NULL,
            parent_id bigint,
            code varchar(20),
            price numeric(10, 2) NOT NULL DEFAULT 0,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            payload jsonb,
            ref uuid,
            born date,
            note text,
            qty int,
            big bigint NOT NULL,
            tags text[],
            CONSTRAINT items_pkey PRIMARY KEY (id),
            CONSTRAINT uq_items_code UNIQUE (code),
            CONSTRAINT ck_price CHECK (price >= 0),
            CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id)
                ON DELETE CASCADE
        )""")
    op.execute("CREATE INDEX ix_items_parent ON items (parent_id)")
    op.execute("CREATE UNIQUE INDEX ux_items_active_code ON items (code) WHERE active")
    op.execute("CREATE INDEX ix_items_lower_note ON items (lower(note))")
    op.execute("CREATE TABLE tags (id int PRIMARY KEY, name text NOT NULL DEFAULT '', "
               "CONSTRAINT ck_name CHECK (length(name) < 50))")


def downgrade() -> None:
    op.execute("DROP TABLE tags")
    op.execute("DROP TABLE items")
    op.execute("DROP TABLE parent")
