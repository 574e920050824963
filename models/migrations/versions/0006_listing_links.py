"""listing links: near-duplicates and translations between listings of one kind

Revision ID: 0006
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listing_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("listing_a_id", sa.Integer(), nullable=False),
        sa.Column("listing_b_id", sa.Integer(), nullable=False),
        sa.Column(
            "link_type",
            sa.Enum("duplicate", "translation", name="linktype", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("proposed", "confirmed", "dismissed", name="linkstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("listing_a_id < listing_b_id", name=op.f("ck_listing_links_ordered_pair")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_links")),
        sa.UniqueConstraint("kind", "listing_a_id", "listing_b_id", name="uq_listing_links_pair"),
    )
    with op.batch_alter_table("listing_links") as batch_op:
        batch_op.create_index(batch_op.f("ix_listing_links_listing_a_id"), ["listing_a_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_listing_links_listing_b_id"), ["listing_b_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_listing_links_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("listing_links")
