"""Index nodes by (owner, id), so that a page of an account's listing is read in order.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_index("ix_nodes_owner_id")
        batch_op.create_index("ix_nodes_owner_id_id", ["owner_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_index("ix_nodes_owner_id_id")
        batch_op.create_index("ix_nodes_owner_id", ["owner_id"], unique=False)
