"""user tasks offered to named users (camunda:candidateUsers)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add process_user_tasks.candidate_user_ids (an empty list for existing tasks)."""
    with op.batch_alter_table("process_user_tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("candidate_user_ids", sa.JSON(), server_default="[]", nullable=False)
        )


def downgrade() -> None:
    """Drop process_user_tasks.candidate_user_ids."""
    with op.batch_alter_table("process_user_tasks", schema=None) as batch_op:
        batch_op.drop_column("candidate_user_ids")
