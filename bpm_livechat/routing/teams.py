"""Teams: named groups of operators, each with a capacity (most concurrent active sessions)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import (
    STAFF_ROLES,
    LiveChat,
    LiveChatMember,
    MemberRole,
    Team,
    TeamMember,
    User,
)

DEFAULT_CAPACITY = 5
MAX_CAPACITY = 1000


def parse_member(text: str) -> tuple[str, int]:
    """USER or USER:CAPACITY (the CLI's --member); ValidationError naming `member`."""
    name, _, capacity = text.partition(":")
    if not capacity:
        return name.strip(), DEFAULT_CAPACITY
    if not capacity.strip().isdigit():
        raise ValidationError(
            f"--member {text!r}: capacity must be a whole number",
            {"member": "capacity not a number"},
        )
    return name.strip(), int(capacity)


def create_team(db: Session, name: str, members: Sequence[tuple[str, int]]) -> Team:
    """A new team of the named users with their capacities; ValidationError naming the field."""
    name = " ".join(name.split())
    if not name or len(name) > 255:
        raise ValidationError(
            "team name must have 1 to 255 characters", {"name": "1 to 255 characters"}
        )
    if db.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise ValidationError(f"a team named {name!r} exists already", {"name": "taken"})
    team = Team(name=name)
    db.add(team)
    set_members(db, team, members)
    return team


def team_from_live_chat(db: Session, name: str, chat: LiveChat, capacity: int) -> Team:
    """A team of the live chat's operators and supervisors, each with `capacity`."""
    query = (
        select(User.username)
        .join(LiveChatMember, LiveChatMember.user_id == User.id)
        .where(
            LiveChatMember.live_chat_id == chat.id,
            LiveChatMember.role.in_([MemberRole.OPERATOR.value, MemberRole.SUPERVISOR.value]),
        )
        .distinct()
        .order_by(User.username)
    )
    return create_team(db, name, [(username, capacity) for username in db.scalars(query)])


def set_members(db: Session, team: Team, members: Sequence[tuple[str, int]]) -> None:
    """Replace the team's members (turns are kept for those who stay)."""
    wanted: dict[int, int] = {}
    for username, capacity in members:
        try:
            user = get_user(db, username)
        except NotFoundError:
            raise ValidationError(
                f"member: unknown user {username!r}", {"member": "unknown user"}
            ) from None
        if user.role not in STAFF_ROLES:
            raise ValidationError(
                f"member: {username!r} is a {user.role}, not an operator", {"member": "not staff"}
            )
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValidationError(
                f"member {username!r}: capacity must be 1 to {MAX_CAPACITY}",
                {"member": "capacity out of range"},
            )
        wanted[user.id] = capacity
    if not wanted:
        raise ValidationError("a team needs at least one member", {"member": "none given"})
    kept = {m.user_id: m for m in team.members}
    team.members = [
        _member(kept.get(user_id), user_id, capacity)
        for user_id, capacity in sorted(wanted.items())
    ]
    db.flush()


def _member(existing: TeamMember | None, user_id: int, capacity: int) -> TeamMember:
    if existing is None:
        return TeamMember(user_id=user_id, capacity=capacity, last_turn=0)
    existing.capacity = capacity
    return existing


def list_teams(db: Session) -> list[Team]:
    """Every team by name."""
    return list(db.scalars(select(Team).order_by(Team.name)))


def get_team(db: Session, name: str) -> Team:
    """The team called `name`, or NotFoundError."""
    team = db.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFoundError("team", name)
    return team


def team_summary(team: Team) -> dict[str, object]:
    """Plain data for the CLI, the API and the pages."""
    return {
        "id": team.id,
        "name": team.name,
        "members": [
            {"username": m.user.username, "name": m.user.display_name, "capacity": m.capacity}
            for m in team.members
        ],
    }
