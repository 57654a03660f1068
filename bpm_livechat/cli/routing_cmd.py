"""`bpm-livechat team` and `bpm-livechat routing`: teams with capacities, ordered rules, and
the tester that says which rule matches a session and why the earlier ones did not."""

from __future__ import annotations

from typing import Any

import click

from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.routing.conditions import parse_cli_condition
from bpm_livechat.routing.decision import preview
from bpm_livechat.routing.rules import (
    RuleSpec,
    Strategy,
    get_rule,
    list_rules,
    remove_rule,
    rule_summary,
    save_rule,
)
from bpm_livechat.routing.teams import (
    create_team,
    list_teams,
    parse_member,
    team_from_live_chat,
    team_summary,
)
from bpm_livechat.routing.triggers import route_again
from bpm_livechat.sessions.lifecycle import get_session

from .common import cli_state, emit, handles_errors, json_option, transaction


@click.group()
def team() -> None:
    """Teams of operators that routing rules send sessions to."""


@team.command("create")
@click.argument("name")
@click.option(
    "--member", "members", multiple=True, help="USER or USER:CAPACITY (default capacity 5)."
)
@click.option("--from-live-chat", help="Every operator and supervisor of this live chat.")
@click.option("--capacity", default=5, show_default=True, help="Capacity with --from-live-chat.")
@json_option
@handles_errors
def team_create(
    name: str, members: tuple[str, ...], from_live_chat: str | None, capacity: int, as_json: bool
) -> None:
    """Create a team of operators, each with a capacity (most concurrent active sessions)."""
    with transaction() as db:
        if from_live_chat:
            made = team_from_live_chat(db, name, get_live_chat(db, from_live_chat), capacity)
        else:
            made = create_team(db, name, [parse_member(m) for m in members])
        data = team_summary(made)
    emit(data, as_json, f"team {data['name']!r} created with {len(data['members'])} members")  # type: ignore[arg-type]


@team.command("list")
@json_option
@handles_errors
def team_list(as_json: bool) -> None:
    """List teams with their members and capacities."""
    with transaction() as db:
        data = [team_summary(t) for t in list_teams(db)]

    def text() -> str:
        lines = []
        for t in data:
            members = ", ".join(f"{m['username']}:{m['capacity']}" for m in t["members"])  # type: ignore[attr-defined]
            lines.append(f"{t['name']}: {members}")
        return "\n".join(lines) or "(no teams)"

    emit(data, as_json, text)


@click.group()
def routing() -> None:
    """Routing rules: which team or operators get a session, by its parameters."""


@routing.command("add")
@click.argument("name")
@click.option("--live-chat", help="The live chat whose sessions the rule routes (default: global).")
@click.option(
    "--if",
    "conditions",
    multiple=True,
    help="KEY=VALUE, KEY=A|B, KEY=LOW..HIGH, KEY~TEXT, KEY=, KEY!=",
)
@click.option(
    "--any", "match_any", is_flag=True, help="Match when any condition holds (default: all)."
)
@click.option("--to-team", help="The team that gets the sessions.")
@click.option("--to-operator", "operators", multiple=True, help="A named operator (repeat).")
@click.option(
    "--strategy",
    type=click.Choice([s.value for s in Strategy]),
    default=Strategy.ROUND_ROBIN.value,
    show_default=True,
)
@click.option("--position", type=int, help="Where in the order (default: last).")
@json_option
@handles_errors
def routing_add(
    name: str,
    live_chat: str | None,
    conditions: tuple[str, ...],
    match_any: bool,
    to_team: str | None,
    operators: tuple[str, ...],
    strategy: str,
    position: int | None,
    as_json: bool,
) -> None:
    """Add a rule; it is validated (keys, value types, options) before anything is saved."""
    with transaction() as db:
        chat_id = get_live_chat(db, live_chat).id if live_chat else None
        spec = RuleSpec(
            name,
            [parse_cli_condition(c) for c in conditions],
            strategy,
            team=to_team,
            operators=operators,
            live_chat_id=chat_id,
            match="any" if match_any else "all",
            position=position,
        )
        data = rule_summary(save_rule(db, spec))
    emit(data, as_json, f"rule {data['id']} {data['name']!r} added")


@routing.command("list")
@click.option("--live-chat", help="Only the rules tried for this live chat (its own, then global).")
@json_option
@handles_errors
def routing_list(live_chat: str | None, as_json: bool) -> None:
    """List rules in the order they are tried."""
    with transaction() as db:
        chat_id = get_live_chat(db, live_chat).id if live_chat else None
        data = [rule_summary(r) for r in list_rules(db, chat_id, every=live_chat is None)]

    def text() -> str:
        lines = []
        for r in data:
            where = r["live_chat"] or "global"
            target = f"team {r['team']}" if r["team"] else "operators"
            when = (
                f" {r['match']} of: " + "; ".join(r["described"]) if r["described"] else " always"
            )
            lines.append(
                f"{r['id']:>4}  [{where} #{r['position']}] {r['name']}:{when} -> {target}, {r['strategy']}"
            )
        return "\n".join(lines) or "(no rules)"

    emit(data, as_json, text)


@routing.command("remove")
@click.argument("rule")
@json_option
@handles_errors
def routing_remove(rule: str, as_json: bool) -> None:
    """Remove a rule (by id, or by name when only one has it)."""
    with transaction() as db:
        found = get_rule(db, rule)
        data = rule_summary(found)
        remove_rule(db, found)
    emit(data, as_json, f"rule {data['id']} {data['name']!r} removed")


@routing.command("test")
@click.argument("session_id", type=int)
@json_option
@handles_errors
def routing_test(session_id: int, as_json: bool) -> None:
    """Which rule matches the session now, why the earlier ones did not, and who would get it."""
    with transaction() as db:
        data = preview(db, cli_state().clock, get_session(db, session_id)).as_dict()
        db.rollback()
    emit(data, as_json, lambda: _tested(data))


def _tested(data: dict[str, Any]) -> str:
    lines = []
    for check in data["checks"]:
        if check["matched"]:
            lines.append(f"MATCH  {check['rule']}")
        else:
            lines.append(f"no     {check['rule']}: " + "; ".join(check["reasons"]))
    lines.extend(f"(not tried) {name}" for name in data["not_tried"])
    lines.append(data["explanation"])
    return "\n".join(lines)


@routing.command("again")
@click.argument("session_id", type=int)
@click.option(
    "--as", "as_user", default="admin", show_default=True, help="The supervisor routing it."
)
@json_option
@handles_errors
def routing_again(session_id: int, as_user: str, as_json: bool) -> None:
    """Route a queued session again by today's rules and presence (a supervisor's Route again)."""
    with transaction() as db:
        actor = get_user(db, as_user)
        decision = route_again(db, cli_state().clock, get_session(db, session_id, actor), actor)
        data = decision.as_dict()
    emit(data, as_json, data["explanation"])
