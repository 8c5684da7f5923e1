"""Support tickets: messages, attachments, audit trail, canned replies, mail threading.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_tickets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("assignee_id", sa.String(length=32), nullable=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=True),
        sa.Column("merged_into", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("first_response_at", sa.Float(), nullable=True),
        sa.Column("solved_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_support_tickets_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_support_tickets_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_support_tickets_number")),
    )
    with op.batch_alter_table("support_tickets", schema=None) as batch_op:
        for column in ("user_id", "email", "category", "state", "assignee_id"):
            batch_op.create_index(
                batch_op.f(f"ix_support_tickets_{column}"), [column], unique=False
            )

    op.create_table(
        "support_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("author_email", sa.String(length=254), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("mail_id", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_support_messages_ticket_id_support_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_messages")),
    )
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_messages_mail_id"), ["mail_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_support_messages_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "support_attachments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["support_messages.id"],
            name=op.f("fk_support_attachments_message_id_support_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_support_attachments_ticket_id_support_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_attachments")),
    )
    with op.batch_alter_table("support_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_attachments_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_attachments_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "support_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_support_audit_ticket_id_support_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_audit")),
    )
    with op.batch_alter_table("support_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_audit_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "support_canned",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_canned")),
        sa.UniqueConstraint("title", name=op.f("uq_support_canned_title")),
    )
    op.create_table(
        "support_mail_refs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mail_id", sa.String(length=300), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_support_mail_refs_ticket_id_support_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_mail_refs")),
    )
    with op.batch_alter_table("support_mail_refs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_mail_refs_mail_id"), ["mail_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_support_mail_refs_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("support_mail_refs")
    op.drop_table("support_canned")
    op.drop_table("support_audit")
    op.drop_table("support_attachments")
    op.drop_table("support_messages")
    op.drop_table("support_tickets")
