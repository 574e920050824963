"""listing refs unique per organization

A ref names a listing within its organization; unique across the exchange, a taken ref
told members that a listing they could not see existed.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("offers", "needs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_external_ref", type_="unique")
            batch_op.create_unique_constraint(
                f"uq_{table}_organization_id_external_ref", ["organization_id", "external_ref"]
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_organization_id_external_ref", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table}_external_ref", ["external_ref"])
