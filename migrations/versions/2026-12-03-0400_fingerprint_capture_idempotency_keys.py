"""fingerprint capture idempotency keys

Revision ID: 5d1f0c7a9e21
Revises: 7f3b2c9d4e10
Create Date: 2026-12-03 04:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "5d1f0c7a9e21"
down_revision: str | None = "7f3b2c9d4e10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    # Nullable: keys claimed before fingerprints were kept replay as they always did.
    with op.batch_alter_table("capture_idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '30s'")
    with op.batch_alter_table("capture_idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("request_hash")
