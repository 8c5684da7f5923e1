"""Staff roles, two-factor authentication, support codes, abuse reports and strikes.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)


def _users_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=8), server_default="user", nullable=False)
        )
        batch.add_column(sa.Column("totp_secret", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("totp_pending", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        _users_fk("recovery_codes"),
        sa.PrimaryKeyConstraint("user_id", "code_hash", name=op.f("pk_recovery_codes")),
    )
    op.create_table(
        "support_codes",
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        _users_fk("support_codes"),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_support_codes")),
    )
    op.create_index(op.f("ix_support_codes_user_id"), "support_codes", ["user_id"])
    op.create_index(op.f("ix_support_codes_expires_at"), "support_codes", ["expires_at"])
    op.create_table(
        "abuse_reports",
        sa.Column("id", _ID, nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("link_id", _ID, nullable=False),
        sa.Column("owner_id", _ID, nullable=True),
        sa.Column("content_id", _ID, nullable=True),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column("reporter_email", sa.String(length=254), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=False),
        sa.Column("work", sa.String(length=2000), nullable=True),
        sa.Column("statements", sa.Boolean(), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=True),
        sa.Column("handled_by", _ID, nullable=True),
        sa.Column("handled_at", sa.Float(), nullable=True),
        sa.Column("restore_at", sa.Float(), nullable=True),
        sa.Column("reporter_acted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abuse_reports")),
    )
    for column in ("created_at", "link_id", "owner_id", "content_id", "restore_at"):
        op.create_index(op.f(f"ix_abuse_reports_{column}"), "abuse_reports", [column])
    op.create_table(
        "link_disablements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("link_id", _ID, nullable=False),
        sa.Column("report_id", _ID, nullable=False),
        sa.Column("owner_id", _ID, nullable=False),
        sa.Column("disabled_at", sa.Float(), nullable=False),
        sa.Column("lifted_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_disablements")),
    )
    for column in ("link_id", "report_id", "owner_id"):
        op.create_index(op.f(f"ix_link_disablements_{column}"), "link_disablements", [column])
    op.create_table(
        "account_notices",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("report_id", _ID, nullable=True),
        sa.Column("links", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        _users_fk("account_notices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_notices")),
    )
    op.create_index(op.f("ix_account_notices_user_id"), "account_notices", ["user_id"])
    op.create_index(op.f("ix_account_notices_report_id"), "account_notices", ["report_id"])
    op.create_table(
        "counter_notices",
        sa.Column("id", _ID, nullable=False),
        sa.Column("notice_id", _ID, nullable=False),
        sa.Column("report_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("statement", sa.String(length=5000), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        _users_fk("counter_notices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_notices")),
        sa.UniqueConstraint("notice_id", name=op.f("uq_counter_notices_notice_id")),
    )
    op.create_index(op.f("ix_counter_notices_report_id"), "counter_notices", ["report_id"])
    op.create_index(op.f("ix_counter_notices_user_id"), "counter_notices", ["user_id"])
    op.create_table(
        "strikes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("report_id", _ID, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        _users_fk("strikes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strikes")),
    )
    op.create_index(op.f("ix_strikes_user_id"), "strikes", ["user_id"])
    op.create_index(op.f("ix_strikes_at"), "strikes", ["at"])
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("staff_id", _ID, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", _ID, nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit")),
    )
    op.create_index(op.f("ix_staff_audit_staff_id"), "staff_audit", ["staff_id"])
    op.create_index(op.f("ix_staff_audit_at"), "staff_audit", ["at"])


def downgrade() -> None:
    for table in (
        "staff_audit",
        "strikes",
        "counter_notices",
        "account_notices",
        "link_disablements",
        "abuse_reports",
        "support_codes",
        "recovery_codes",
    ):
        op.drop_table(table)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_pending")
        batch.drop_column("totp_secret")
        batch.drop_column("role")
