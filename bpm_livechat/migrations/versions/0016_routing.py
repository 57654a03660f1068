"""routing: teams with capacities, ordered routing rules, where each session was routed

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create teams, team_members, routing_rules and session_routes; index sessions by operator and status."""
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", name=op.f("fk_team_members_team_id_teams")), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", name=op.f("fk_team_members_user_id_users")), primary_key=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("last_turn", sa.Integer(), nullable=False),
    )  # fmt: skip
    op.create_index(op.f("ix_team_members_user_id"), "team_members", ["user_id"])
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("live_chat_id", sa.Integer(), sa.ForeignKey("live_chats.id", name=op.f("fk_routing_rules_live_chat_id_live_chats")), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("match", sa.String(8), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", name=op.f("fk_routing_rules_team_id_teams")), nullable=True),
        sa.Column("operator_ids", sa.JSON(), nullable=False),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )  # fmt: skip
    op.create_index(op.f("ix_routing_rules_live_chat_id"), "routing_rules", ["live_chat_id"])
    op.create_table(
        "session_routes",
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id", name=op.f("fk_session_routes_session_id_sessions")), primary_key=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", name=op.f("fk_session_routes_team_id_teams")), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("routed_at", sa.DateTime(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_session_routes_team_waiting", "session_routes", ["team_id", "waiting"])
    op.create_index("ix_sessions_operator_status", "sessions", ["operator_id", "status"])


def downgrade() -> None:
    """Drop the routing tables."""
    op.drop_index("ix_sessions_operator_status", table_name="sessions")
    op.drop_index("ix_session_routes_team_waiting", table_name="session_routes")
    op.drop_table("session_routes")
    op.drop_index(op.f("ix_routing_rules_live_chat_id"), table_name="routing_rules")
    op.drop_table("routing_rules")
    op.drop_index(op.f("ix_team_members_user_id"), table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("teams")
