"""crm: what was last sent of HubSpot's own properties; erasures found by email

Revision ID: 7f3b2c9d4e10
Revises: cac8d26a87d9
Create Date: 2026-12-03 03:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7f3b2c9d4e10"
down_revision: str | None = "cac8d26a87d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    with op.batch_alter_table("crm_contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_sent", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
            )
        )
    with op.batch_alter_table("crm_erasures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_erasures_email",
            ["email"],
            unique=False,
            postgresql_where=sa.text("done_at IS NULL"),
            sqlite_where=sa.text("done_at IS NULL"),
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    # Contacts unlinked after a deletion in HubSpot go back to the plain states: their next
    # change is sent again, as before this revision.
    op.execute("UPDATE crm_contacts SET state = 'synced' WHERE state = 'unlinked'")
    with op.batch_alter_table("crm_erasures", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_crm_erasures_email",
            postgresql_where=sa.text("done_at IS NULL"),
            sqlite_where=sa.text("done_at IS NULL"),
        )
    with op.batch_alter_table("crm_contacts", schema=None) as batch_op:
        batch_op.drop_column("last_sent")
