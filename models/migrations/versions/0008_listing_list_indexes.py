"""listing list indexes: (status, created_at) for newest-first pages, needs' confidentiality for search scopes

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_offers_status_created_at", "offers", ["status", "created_at"])
    op.create_index("ix_needs_status_created_at", "needs", ["status", "created_at"])
    op.create_index("ix_needs_confidentiality", "needs", ["confidentiality"])


def downgrade() -> None:
    op.drop_index("ix_needs_confidentiality", table_name="needs")
    op.drop_index("ix_needs_status_created_at", table_name="needs")
    op.drop_index("ix_offers_status_created_at", table_name="offers")
