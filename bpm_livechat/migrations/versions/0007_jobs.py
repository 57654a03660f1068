"""jobs, process waits, webhooks and session history (timers, messages, outbound webhooks)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the jobs, process_waits, webhooks and session_history tables, instances' waits."""
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("on_message", sa.Boolean(), nullable=False),
        sa.Column("on_created", sa.Boolean(), nullable=False),
        sa.Column("on_closed", sa.Boolean(), nullable=False),
        sa.Column("on_assigned", sa.Boolean(), nullable=False),
        sa.Column("on_parameter_changed", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_webhooks_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhooks_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "session_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_session_history_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_session_history_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_history")),
    )
    with op.batch_alter_table("session_history", schema=None) as batch_op:
        batch_op.create_index("ix_session_history_session", ["session_id", "id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instances.id"],
            name=op.f("fk_jobs_instance_id_process_instances"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_jobs_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_session_id"), ["session_id"], unique=False)
        batch_op.create_index("ix_jobs_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "process_waits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("element_id", sa.String(length=255), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instances.id"],
            name=op.f("fk_process_waits_instance_id_process_instances"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_process_waits_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_waits")),
    )
    with op.batch_alter_table("process_waits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_process_waits_instance_id"), ["instance_id"], unique=False
        )
        batch_op.create_index(
            "ix_process_waits_session_kind_name", ["session_id", "kind", "name"], unique=False
        )

    # The built-in account automation acts as (timers, messages, automatic starts): it exists
    # before any job runs, so a failed step's record can always name it. It cannot log in.
    users = sa.table(
        "users",
        sa.column("username", sa.String),
        sa.column("display_name", sa.String),
        sa.column("role", sa.String),
        sa.column("password_hash", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    exists = op.get_bind().execute(sa.text("SELECT 1 FROM users WHERE username = 'system'"))
    if exists.first() is None:
        op.bulk_insert(
            users,
            [
                {
                    "username": "system",
                    "display_name": "Automation",
                    "role": "admin",
                    "password_hash": "!",
                    "created_at": datetime.now(UTC).replace(tzinfo=None),
                }
            ],
        )

    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waiting_for", sa.JSON(), nullable=False, server_default="[]")
        )

    if op.get_bind().dialect.name == "postgresql":
        # Workers LISTEN on this channel: a transaction that adds jobs wakes them at commit.
        op.execute(
            "CREATE FUNCTION bpm_livechat_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('bpm_livechat_jobs', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER jobs_notify AFTER INSERT ON jobs "
            "FOR EACH STATEMENT EXECUTE FUNCTION bpm_livechat_jobs_notify()"
        )


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.drop_column("waiting_for")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS jobs_notify ON jobs")
        op.execute("DROP FUNCTION IF EXISTS bpm_livechat_jobs_notify()")
    with op.batch_alter_table("process_waits", schema=None) as batch_op:
        batch_op.drop_index("ix_process_waits_session_kind_name")
        batch_op.drop_index(batch_op.f("ix_process_waits_instance_id"))

    op.drop_table("process_waits")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_due")
        batch_op.drop_index(batch_op.f("ix_jobs_session_id"))
        batch_op.drop_index(batch_op.f("ix_jobs_instance_id"))

    op.drop_table("jobs")
    with op.batch_alter_table("session_history", schema=None) as batch_op:
        batch_op.drop_index("ix_session_history_session")

    op.drop_table("session_history")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhooks_channel_id"))

    op.drop_table("webhooks")
