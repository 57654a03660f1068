"""parameter constraints (ranges, lengths, a pattern) and option labels

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Give every parameter definition an empty set of constraints and of option labels."""
    with op.batch_alter_table("param_definitions") as batch:
        batch.add_column(sa.Column("constraints", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("option_labels", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("param_definitions") as batch:
        batch.drop_column("option_labels")
        batch.drop_column("constraints")
