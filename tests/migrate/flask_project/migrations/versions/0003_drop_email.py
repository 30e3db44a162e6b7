"""customers lose their e-mail address

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_column("customers", "email")


def downgrade():
    op.add_column("customers", sa.Column("email", sa.Text))
