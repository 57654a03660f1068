"""quick replies (response templates for operators)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the quick_replies table."""
    op.create_table(
        "quick_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("live_chat_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["live_chat_id"],
            ["live_chats.id"],
            name=op.f("fk_quick_replies_live_chat_id_live_chats"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quick_replies")),
    )
    with op.batch_alter_table("quick_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quick_replies_live_chat_id"), ["live_chat_id"], unique=False
        )


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("quick_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quick_replies_live_chat_id"))
    op.drop_table("quick_replies")
