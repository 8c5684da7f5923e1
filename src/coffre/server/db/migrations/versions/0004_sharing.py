"""Contacts, invitations, shared folders, and writers' signatures on nodes and versions.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("node_signature", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("uploader_id", sa.String(length=32), nullable=True))
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("from_id", sa.String(length=32), nullable=False),
        sa.Column("to_email", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_id"], ["users.id"], name=op.f("fk_invitations_from_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_from_id"), ["from_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invitations_to_email"), ["to_email"], unique=False)
        batch_op.create_index("uq_invitations_pair", ["from_id", "to_email"], unique=True)
    op.create_table(
        "contacts",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_contacts_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["users.id"],
            name=op.f("fk_contacts_contact_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "contact_id", name=op.f("pk_contacts")),
    )
    op.create_table(
        "shares",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("folder_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("access", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["folder_id"], ["nodes.id"], name=op.f("fk_shares_folder_id_nodes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_shares_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_shares_member_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
    )
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shares_folder_id"), ["folder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shares_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shares_member_id"), ["member_id"], unique=False)
        batch_op.create_index("uq_shares_folder_member", ["folder_id", "member_id"], unique=True)


def downgrade() -> None:
    op.drop_table("shares")
    op.drop_table("contacts")
    op.drop_table("invitations")
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_column("uploader_id")
        batch_op.drop_column("node_signature")
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("signature")
        batch_op.drop_column("author_id")
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_column("signature")
        batch_op.drop_column("author_id")
