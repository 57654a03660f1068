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


# Every stored message announces itself: a trigger adds its `message` event in the statement
# that inserted it, so no writer (the API's ingest, a process's reply, the demo) spends a
# round trip on it or can forget it.
_SQLITE_MESSAGE_TRIGGER = """
CREATE TRIGGER messages_live AFTER INSERT ON messages BEGIN
  INSERT INTO live_events (kind, session_id, live_chat_id, data, created_at)
  SELECT 'message', NEW.session_id, sessions.live_chat_id,
         json_object('message_ids', json_array(NEW.id), 'author_kind', NEW.author_kind),
         NEW.sent_at
  FROM sessions WHERE sessions.id = NEW.session_id;
END
"""
_PG_MESSAGE_FUNCTION = """
CREATE FUNCTION bpm_livechat_live_message() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  INSERT INTO live_events (kind, session_id, live_chat_id, data, created_at)
  SELECT 'message', NEW.session_id, sessions.live_chat_id,
         json_build_object('message_ids', json_build_array(NEW.id), 'author_kind', NEW.author_kind),
         NEW.sent_at
  FROM sessions WHERE sessions.id = NEW.session_id;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    """Add the live_events table and the trigger that announces each message; on PostgreSQL
    another trigger notifies listeners at commit."""
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
        op.execute(_PG_MESSAGE_FUNCTION)
        op.execute(
            "CREATE TRIGGER messages_live AFTER INSERT ON messages "
            "FOR EACH ROW EXECUTE FUNCTION bpm_livechat_live_message()"
        )
    else:
        op.execute(_SQLITE_MESSAGE_TRIGGER)


def downgrade() -> None:
    """Drop it again."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS messages_live ON messages")
        op.execute("DROP FUNCTION IF EXISTS bpm_livechat_live_message()")
        op.execute("DROP TRIGGER IF EXISTS live_events_notify ON live_events")
        op.execute("DROP FUNCTION IF EXISTS bpm_livechat_live_notify()")
    else:
        op.execute("DROP TRIGGER IF EXISTS messages_live")
    with op.batch_alter_table("live_events", schema=None) as batch_op:
        batch_op.drop_index("ix_live_events_created_at")
    op.drop_table("live_events")
