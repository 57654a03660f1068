"""event bindings: processes started automatically on session events

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the process_event_bindings table."""
    op.create_table(
        "process_event_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("input_mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["processes.id"],
            name=op.f("fk_process_event_bindings_process_id_processes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_event_bindings")),
        sa.UniqueConstraint("process_id", "event", name="uq_process_event_bindings_process_event"),
    )
    with op.batch_alter_table("process_event_bindings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_process_event_bindings_event"), ["event"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_process_event_bindings_process_id"), ["process_id"], unique=False
        )


def downgrade() -> None:
    """Drop the process_event_bindings table."""
    with op.batch_alter_table("process_event_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_event_bindings_process_id"))
        batch_op.drop_index(batch_op.f("ix_process_event_bindings_event"))
    op.drop_table("process_event_bindings")
