"""Routing: teams, ordered rules (admins), the tester and a supervisor's Route again."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.errors import AccessDeniedError, NotFoundError, ValidationError
from bpm_livechat.models import Role, User
from bpm_livechat.routing.decision import preview
from bpm_livechat.routing.rules import (
    RuleSpec,
    get_rule,
    list_rules,
    remove_rule,
    rule_summary,
    save_rule,
)
from bpm_livechat.routing.teams import create_team, list_teams, team_summary
from bpm_livechat.routing.triggers import route_again
from bpm_livechat.sessions.lifecycle import get_session
from web.engine import process_engine

from .routing_schemas import (
    DecisionOut,
    RuleCreate,
    RuleList,
    RuleOut,
    TeamCreate,
    TeamList,
    TeamOut,
)
from .spec import Registry

api = Registry()
TAG = "routing"


def _require_admin(user: User) -> None:
    if user.role != Role.ADMIN.value:
        raise AccessDeniedError("only admins change teams and routing rules")


@api.operation(
    "GET", "/teams", summary="Teams and their members' capacities", tag=TAG, response=TeamList
)
def list_teams_api(db: Session) -> TeamList:
    """Every team by name."""
    return TeamList(items=[TeamOut.model_validate(team_summary(t)) for t in list_teams(db)])


@api.operation(
    "POST", "/teams", summary="Create a team (admins; 422 naming an unknown member)", tag=TAG,
    body=TeamCreate, response=TeamOut, status=201,
)  # fmt: skip
def create_team_api(db: Session, user: User, body: TeamCreate) -> TeamOut:
    """A new team of operators with their capacities."""
    _require_admin(user)
    team = create_team(db, body.name, [(m.username, m.capacity) for m in body.members])
    return TeamOut.model_validate(team_summary(team))


@api.operation(
    "GET",
    "/routing/rules",
    summary="Routing rules in the order they are tried",
    tag=TAG,
    response=RuleList,
)
def list_rules_api(db: Session) -> RuleList:
    """Every rule: each live chat's own in order, then the global ones."""
    return RuleList(items=[RuleOut.model_validate(rule_summary(r)) for r in list_rules(db)])


@api.operation(
    "POST", "/routing/rules", tag=TAG, body=RuleCreate, response=RuleOut, status=201,
    summary="Add a rule (admins; 422 naming the field: an unknown key, a wrong-typed value, a missing option)",
)  # fmt: skip
def create_rule_api(db: Session, user: User, body: RuleCreate) -> RuleOut:
    """Validate and store a routing rule."""
    _require_admin(user)
    chat_id = None
    if body.live_chat is not None:
        try:
            chat_id = get_live_chat(db, body.live_chat).id
        except NotFoundError:
            raise ValidationError(
                f"unknown live chat {body.live_chat!r}", {"live_chat": "unknown live chat"}
            ) from None
    spec = RuleSpec(
        body.name,
        [c.model_dump() for c in body.conditions],
        body.strategy,
        team=body.team,
        operators=body.operators,
        live_chat_id=chat_id,
        match=body.match,
        position=body.position,
    )
    return RuleOut.model_validate(rule_summary(save_rule(db, spec)))


@api.operation(
    "DELETE", "/routing/rules/<int:rule_id>", summary="Remove a rule (admins)", tag=TAG, response=RuleOut,
)  # fmt: skip
def remove_rule_api(db: Session, user: User, rule_id: int) -> RuleOut:
    """Delete the rule; sessions keep the explanations it gave."""
    _require_admin(user)
    rule = get_rule(db, rule_id)
    out = RuleOut.model_validate(rule_summary(rule))
    remove_rule(db, rule)
    return out


@api.operation(
    "GET", "/sessions/<int:session_id>/routing", tag=TAG, response=DecisionOut,
    summary="Test routing on a session: which rule matches, why the earlier ones did not, who would get it",
)  # fmt: skip
def routing_test_api(db: Session, user: User, session_id: int) -> DecisionOut:
    """What routing would decide for the session now; nothing changes."""
    session = get_session(db, session_id, user)
    return DecisionOut.model_validate(preview(db, process_engine().clock, session).as_dict())


@api.operation(
    "POST", "/sessions/<int:session_id>/route-again", tag=TAG, response=DecisionOut,
    summary="Route a queued session again (supervisors of its live chat; 422 when someone has it)",
)  # fmt: skip
def route_again_api(db: Session, user: User, session_id: int) -> DecisionOut:
    """Route the session by today's rules and presence, as the session page's Route again."""
    session = get_session(db, session_id, user)
    return DecisionOut.model_validate(
        route_again(db, process_engine().clock, session, user).as_dict()
    )
