"""Drop ix_versions_node_id: uq_versions_node_number (node_id, number) serves every lookup
of a node's versions, and the foreign key's checks, and each index keyed by a random id
costs every new version a write at a random place (docs/performance-history.md).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_versions_node_id", table_name="versions")


def downgrade() -> None:
    op.create_index("ix_versions_node_id", "versions", ["node_id"], unique=False)
