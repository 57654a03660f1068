"""round-robin turns from the members alone: drop teams.turns, index team_members by turn

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A turn is one after the team's latest `last_turn` (read from the new index), so the
    team's own counter goes."""
    op.create_index("ix_team_members_team_turn", "team_members", ["team_id", "last_turn"])
    op.drop_column("teams", "turns")


def downgrade() -> None:
    """Bring teams.turns back (each team's latest turn) and drop the index."""
    op.add_column("teams", sa.Column("turns", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE teams SET turns = (SELECT coalesce(max(last_turn), 0) FROM team_members"
        " WHERE team_members.team_id = teams.id)"
    )
    op.drop_index("ix_team_members_team_turn", table_name="team_members")
