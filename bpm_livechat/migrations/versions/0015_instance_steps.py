"""the step log of process instances (who or which job moved an instance, when, what ran)

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create process_instance_steps (empty: earlier steps were not logged)."""
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


def downgrade() -> None:
    """Drop process_instance_steps."""
    with op.batch_alter_table("process_instance_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instance_steps_instance")
    op.drop_table("process_instance_steps")
