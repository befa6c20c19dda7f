"""index captures by visitor id, for a browser's own captures in next-best-content

Revision ID: 3b7c1e5a2f90
Revises: 9dd2d203b799
Create Date: 2026-12-03 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b7c1e5a2f90"
down_revision: str | None = "9dd2d203b799"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME, TABLE = "ix_captures_visitor_id", "captures"
POSTED = sa.text("visitor_id IS NOT NULL")


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # Built without blocking captures on a live database: outside a transaction.
        with op.get_context().autocommit_block():
            op.create_index(
                NAME, TABLE, ["visitor_id"], postgresql_where=POSTED,
                postgresql_concurrently=True, if_not_exists=True,
            )  # fmt: skip
        return
    op.create_index(NAME, TABLE, ["visitor_id"], sqlite_where=POSTED)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(NAME, table_name=TABLE, postgresql_concurrently=True)
        return
    op.drop_index(NAME, table_name=TABLE)
