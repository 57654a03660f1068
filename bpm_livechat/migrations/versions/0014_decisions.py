"""DMN decisions and their numbered versions

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the decisions and decision_versions tables."""
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_decisions_decision_id")),
    )
    op.create_table(
        "decision_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("hit_policy", sa.String(length=32), nullable=False),
        sa.Column("dmn", sa.LargeBinary(), nullable=False),
        sa.Column("content_hash", sa.String(length=128), nullable=False),
        sa.Column("deployed_by_id", sa.Integer(), nullable=True),
        sa.Column("deployed_at", sa.DateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_versions_decision_id_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["deployed_by_id"], ["users.id"], name=op.f("fk_decision_versions_deployed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_versions")),
        sa.UniqueConstraint("decision_id", "number", name="uq_decision_versions_decision_number"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("decision_versions")
    op.drop_table("decisions")
