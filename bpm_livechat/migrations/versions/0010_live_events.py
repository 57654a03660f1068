"""live_events: the feed open pages follow (issue 16, live updates)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the live_events table; on PostgreSQL a trigger notifies listeners at commit."""
    op.create_table(
        "live_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("live_chat_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_events")),
    )
    with op.batch_alter_table("live_events", schema=None) as batch_op:
        batch_op.create_index("ix_live_events_created_at", ["created_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Web processes LISTEN on this channel: a transaction that adds events wakes them at
        # commit (a notification is delivered only if its transaction commits).
        op.execute(
            "CREATE FUNCTION bpm_livechat_live_notify() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('bpm_livechat_live', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER live_events_notify AFTER INSERT ON live_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION bpm_livechat_live_notify()"
        )


def downgrade() -> None:
    """Drop it again."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS live_events_notify ON live_events")
        op.execute("DROP FUNCTION IF EXISTS bpm_livechat_live_notify()")
    with op.batch_alter_table("live_events", schema=None) as batch_op:
        batch_op.drop_index("ix_live_events_created_at")
    op.drop_table("live_events")
