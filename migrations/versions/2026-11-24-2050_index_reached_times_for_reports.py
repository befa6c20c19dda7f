"""index reached times for reports

Revision ID: 5d2e8f3a9c41
Revises: c34c223e8fa7
Create Date: 2026-11-24 20:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d2e8f3a9c41"
down_revision: str | None = "c34c223e8fa7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANGED_STAGES = ("subscriber", "mql", "sql", "opportunity", "customer", "evangelist")
COHORT_COLUMNS = ["persona_id", "first_asset_id", "first_site_id", "mql_at", "sql_at",
                  "opportunity_at", "customer_at", "evangelist_at"]  # fmt: skip


def _indexes() -> list[tuple[str, str, list[str], dict[str, object]]]:
    """(name, table, columns, options) of every index this revision adds."""
    found: list[tuple[str, str, list[str], dict[str, object]]] = [
        ("ix_contacts_lead_at", "contacts", ["lead_at"], {"postgresql_include": COHORT_COLUMNS}),
        ("ix_contacts_created_at", "contacts", ["created_at"],
         {"postgresql_include": ["first_asset_id"]}),
        ("ix_captures_created_at", "captures", ["created_at"],
         {"postgresql_include": ["asset_id"]}),
    ]  # fmt: skip
    for stage in RANGED_STAGES:
        reached = sa.text(f"{stage}_at IS NOT NULL")
        found.append((f"ix_contacts_{stage}_at", "contacts", [f"{stage}_at"],
                      {"postgresql_where": reached, "sqlite_where": reached}))  # fmt: skip
    return found


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # Built without blocking captures on a live database: outside a transaction.
        with op.get_context().autocommit_block():
            for name, table, columns, options in _indexes():
                op.create_index(
                    name, table, columns, postgresql_concurrently=True, if_not_exists=True,
                    **options,
                )  # fmt: skip
        return
    for name, table, columns, options in _indexes():
        op.create_index(name, table, columns, **options)


def downgrade() -> None:
    concurrently = op.get_context().dialect.name == "postgresql"
    for name, table, _, _ in reversed(_indexes()):
        if concurrently:
            with op.get_context().autocommit_block():
                op.drop_index(name, table_name=table, postgresql_concurrently=True)
        else:
            op.drop_index(name, table_name=table)
