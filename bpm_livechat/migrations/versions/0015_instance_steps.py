"""the step log of process instances (who or which job moved an instance, when, what ran)

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each logged step announces itself to open pages (the instance page, the session page) in the
# statement that logged it, as the messages trigger of 0010 does: a step that changes no
# parameter (a timer, a cancel) is seen live too, at no extra round trip.
_SQLITE_STEP_TRIGGER = """
CREATE TRIGGER process_steps_live AFTER INSERT ON process_instance_steps BEGIN
  INSERT INTO live_events (kind, session_id, live_chat_id, data, created_at)
  SELECT 'process_step', sessions.id, sessions.live_chat_id,
         json_object('instance_id', NEW.instance_id, 'step', NEW.kind, 'status', NEW.status),
         NEW.at
  FROM process_instances JOIN sessions ON sessions.id = process_instances.session_id
  WHERE process_instances.id = NEW.instance_id;
END
"""
_PG_STEP_FUNCTION = """
CREATE FUNCTION bpm_livechat_live_step() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  INSERT INTO live_events (kind, session_id, live_chat_id, data, created_at)
  SELECT 'process_step', sessions.id, sessions.live_chat_id,
         json_build_object('instance_id', NEW.instance_id, 'step', NEW.kind,
                           'status', NEW.status),
         NEW.at
  FROM process_instances JOIN sessions ON sessions.id = process_instances.session_id
  WHERE process_instances.id = NEW.instance_id;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    """Create process_instance_steps (empty: earlier steps were not logged) and the trigger that
    announces each step on the live feed."""
    op.create_table(
        "process_instance_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("elements", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instances.id"],
            name=op.f("fk_process_instance_steps_instance_id_process_instances"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_process_instance_steps_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_instance_steps")),
    )
    with op.batch_alter_table("process_instance_steps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_process_instance_steps_instance", ["instance_id", "id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_STEP_FUNCTION)
        op.execute(
            "CREATE TRIGGER process_steps_live AFTER INSERT ON process_instance_steps "
            "FOR EACH ROW EXECUTE FUNCTION bpm_livechat_live_step()"
        )
    else:
        op.execute(_SQLITE_STEP_TRIGGER)


def downgrade() -> None:
    """Drop process_instance_steps and its trigger."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS process_steps_live ON process_instance_steps")
        op.execute("DROP FUNCTION IF EXISTS bpm_livechat_live_step()")
    else:
        op.execute("DROP TRIGGER IF EXISTS process_steps_live")
    with op.batch_alter_table("process_instance_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instance_steps_instance")
    op.drop_table("process_instance_steps")
