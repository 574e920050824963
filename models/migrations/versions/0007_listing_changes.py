"""listing changes: updated_at indexes and deletion tombstones, so API workers can follow the store

Revision ID: 0007
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_offers_updated_at", "offers", ["updated_at"])
    op.create_index("ix_needs_updated_at", "needs", ["updated_at"])
    op.create_table(
        "listing_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_deletions")),
    )
    op.create_index("ix_listing_deletions_deleted_at", "listing_deletions", ["deleted_at"])


def downgrade() -> None:
    op.drop_index("ix_listing_deletions_deleted_at", table_name="listing_deletions")
    op.drop_table("listing_deletions")
    op.drop_index("ix_needs_updated_at", table_name="needs")
    op.drop_index("ix_offers_updated_at", table_name="offers")
