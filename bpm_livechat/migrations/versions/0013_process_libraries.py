"""process libraries: call activities across deployments

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add process_versions.calls (its call activities) and process_instances.called_versions
    (the versions of other processes an instance runs), empty for existing rows."""
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calls", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("called_versions", sa.JSON(), server_default="{}", nullable=False)
        )


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.drop_column("called_versions")
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.drop_column("calls")
