"""index api keys by revocation

Revision ID: b6714144c09b
Revises: 85489161a709
Create Date: 2026-11-24 07:15:20.181012+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b6714144c09b"
down_revision: str | None = "85489161a709"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_revoked_at_id", ["revoked_at", "id"], unique=False)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_revoked_at_id")
