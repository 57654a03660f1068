"""logins that end: server-side login records (logins) and users.active

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the logins table and users.active (true for existing users)."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table(
        "logins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_logins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logins")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_logins_secret_hash")),
    )
    op.create_index(op.f("ix_logins_user_id"), "logins", ["user_id"], unique=False)


def downgrade() -> None:
    """Drop the logins table and users.active."""
    op.drop_index(op.f("ix_logins_user_id"), table_name="logins")
    op.drop_table("logins")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("active")
