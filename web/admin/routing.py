"""Routing (admins): teams with capacities, ordered rules validated on save, and the tester
that shows for a chosen session which rule would match and why the earlier ones did not."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from bpm_livechat.desk.livechats import list_live_chats
from bpm_livechat.errors import BpmLivechatError, ValidationError
from bpm_livechat.models import LiveChat
from bpm_livechat.params.definitions import definitions
from bpm_livechat.routing.conditions import SYSTEM_SUBJECTS, parse_cli_condition
from bpm_livechat.routing.decision import Decision, preview
from bpm_livechat.routing.rules import (
    RuleSpec,
    Strategy,
    get_rule,
    list_rules,
    remove_rule,
    rule_summary,
    save_rule,
)
from bpm_livechat.routing.teams import create_team, list_teams, parse_member, team_summary
from bpm_livechat.sessions.lifecycle import get_session
from web.admin import admin_blueprint, saved
from web.db import form_post, get_db, writes
from web.engine import process_engine

bp = admin_blueprint("admin_routing", __name__, "/admin/routing")
RULE_FIELDS = ("name", "live_chat", "match", "conditions", "team", "operators", "strategy")


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    db = get_db()
    page = render_template(
        "admin_routing.html",
        teams=[team_summary(t) for t in list_teams(db)],
        rules=[rule_summary(r) for r in list_rules(db)],
        live_chats=list_live_chats(db),
        strategies=[s.value for s in Strategy],
        keys=sorted(SYSTEM_SUBJECTS) + [d.key for d in definitions(db)],
        errors=context.pop("errors", {}),
        form=context.pop("form", {}),
        team_form=context.pop("team_form", {}),
        team_errors=context.pop("team_errors", {}),
        tested=context.pop("tested", None),
        tested_id=context.pop("tested_id", ""),
        test_error=context.pop("test_error", ""),
        **context,
    )
    return page, status


@bp.get("")
def index() -> ResponseReturnValue:
    """Teams, rules in the order they are tried, and the tester (?session=ID)."""
    wanted = request.args.get("session", "").strip()
    if not wanted:
        return _page()
    tested: Decision | None = None
    problem = ""
    if not wanted.isdigit():
        problem = "give a session number"
    else:
        try:
            db = get_db()
            tested = preview(db, process_engine().clock, get_session(db, int(wanted)))
        except BpmLivechatError as exc:
            problem = exc.message
    return _page(200 if tested else 422, tested=tested, tested_id=wanted, test_error=problem)


def _rule_form() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in RULE_FIELDS}


def _chat_id(value: str) -> int | None:
    if not value:
        return None
    chat = get_db().get(LiveChat, int(value)) if value.isdigit() else None
    if chat is None:
        raise ValidationError("choose a live chat", {"live_chat": "choose a live chat"})
    return chat.id


def _rule_refused(exc: ValidationError) -> ResponseReturnValue:
    errors: dict[str, str] = {}
    for field in exc.fields or {"name": exc.message}:
        top = field.split(".")[0]
        top = "conditions" if top == "if" else top
        errors[top if top in RULE_FIELDS else "name"] = exc.message
    return _page(422, errors=errors, form=_rule_form())


@bp.post("/rules")
@form_post(_rule_refused)
def add_rule() -> ResponseReturnValue:
    """Add a rule; an unknown key, a wrong-typed value or a missing option is refused, named."""
    form = _rule_form()
    lines = [line.strip() for line in form["conditions"].splitlines() if line.strip()]
    spec = RuleSpec(
        form["name"],
        [parse_cli_condition(line) for line in lines],
        form["strategy"],
        team=form["team"] or None,
        operators=[o.strip() for o in form["operators"].split(",") if o.strip()],
        live_chat_id=_chat_id(form["live_chat"]),
        match=form["match"] or "all",
    )
    rule = save_rule(get_db(), spec)
    return saved(f"Rule “{rule.name}” added.", ".index")


@bp.post("/rules/<id:rule_id>/delete")
@writes
def delete_rule(rule_id: int) -> ResponseReturnValue:
    """Remove a rule."""
    db = get_db()
    rule = get_rule(db, rule_id)
    name = rule.name
    remove_rule(db, rule)
    return saved(f"Rule “{name}” removed.", ".index")


def _team_form() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in ("team_name", "members")}


def _team_refused(exc: ValidationError) -> ResponseReturnValue:
    field = "team_name" if "name" in exc.fields else "members"
    return _page(422, team_errors={field: exc.message}, team_form=_team_form())


@bp.post("/teams")
@form_post(_team_refused)
def add_team() -> ResponseReturnValue:
    """Create a team from `user:capacity` lines."""
    form = _team_form()
    members = [parse_member(line) for line in form["members"].split() if line.strip()]
    team = create_team(get_db(), form["team_name"], members)
    return saved(f"Team “{team.name}” created.", ".index")
