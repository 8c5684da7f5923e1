"""Public links, the transfer quota's hourly counts, and rate-limit events.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("auth_hash", sa.LargeBinary(), nullable=False),
        sa.Column("kdf_time_cost", sa.Integer(), nullable=True),
        sa.Column("kdf_memory_kib", sa.Integer(), nullable=True),
        sa.Column("kdf_lanes", sa.Integer(), nullable=True),
        sa.Column("kdf_salt", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_links_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
    )
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_links_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_links_node_id"), ["node_id"], unique=False)
    op.create_table(
        "transfer_usage",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_transfer_usage_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "hour", name=op.f("pk_transfer_usage")),
    )
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_events")),
    )
    with op.batch_alter_table("rate_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_events_scope"), ["scope"], unique=False)
        batch_op.create_index(batch_op.f("ix_rate_events_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("rate_events")
    op.drop_table("transfer_usage")
    op.drop_table("links")
