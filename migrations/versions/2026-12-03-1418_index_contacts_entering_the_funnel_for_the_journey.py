"""index contacts by the time they entered the funnel, holding what the journey's cohort reads

Revision ID: 7b3f1c9a2d64
Revises: c949036beb2c
Create Date: 2026-12-03 14:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b3f1c9a2d64"
down_revision: str | None = "c949036beb2c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "contacts"
OLD, NEW = "ix_contacts_subscriber_at", "ix_contacts_subscriber_at_cohort"
# The journey's cohort (everyone who entered the funnel in the period) counted at every stage,
# per persona and site, from the index alone (PostgreSQL): a year of 1,000,000 contacts took
# 0.55 s instead of 3.9 s for the table's rows (680 MB), on a shared machine at load 4.
INCLUDED = ["persona_id", "first_asset_id", "first_site_id", "lead_at", "mql_at", "sql_at",
            "opportunity_at", "customer_at", "evangelist_at"]  # fmt: skip
REACHED = sa.text("subscriber_at IS NOT NULL")


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # Built beside the old one without blocking captures on a live database.
        with op.get_context().autocommit_block():
            op.create_index(
                NEW, TABLE, ["subscriber_at"], postgresql_include=INCLUDED,
                postgresql_where=REACHED, postgresql_concurrently=True, if_not_exists=True,
            )  # fmt: skip
            op.drop_index(OLD, table_name=TABLE, postgresql_concurrently=True, if_exists=True)
        return
    op.drop_index(OLD, table_name=TABLE)
    op.create_index(NEW, TABLE, ["subscriber_at"], sqlite_where=REACHED)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                OLD, TABLE, ["subscriber_at"], postgresql_where=REACHED,
                postgresql_concurrently=True, if_not_exists=True,
            )  # fmt: skip
            op.drop_index(NEW, table_name=TABLE, postgresql_concurrently=True, if_exists=True)
        return
    op.drop_index(NEW, table_name=TABLE)
    op.create_index(OLD, TABLE, ["subscriber_at"], sqlite_where=REACHED)
