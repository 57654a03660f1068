"""`bpm-livechat user ...`: create users, put them into live chats, show or set presence."""

from __future__ import annotations

import sys

import click

from bpm_livechat.desk.livechats import add_member, get_live_chat
from bpm_livechat.desk.logins import end_logins
from bpm_livechat.desk.presence import presence_of, set_presence
from bpm_livechat.desk.users import create_user, get_user, set_active
from bpm_livechat.models import MemberRole, Presence, Role
from bpm_livechat.routing.triggers import Reason, operator_available

from .common import cli_state, emit, fail, handles_errors, json_option, transaction


@click.group()
def user() -> None:
    """Users and their live chats."""


@user.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", help="The password (prefer --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--name", "display_name", help="Display name.")
@click.option("--live-chat", "live_chats", multiple=True, help="A live chat the user works in.")
@json_option
@handles_errors
def create(
    username: str,
    role: str,
    password: str | None,
    password_stdin: bool,
    display_name: str | None,
    live_chats: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create a user; operators, supervisors and channel accounts join the given live chats in
    that role (others as readers)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        fail("a password is needed: --password or --password-stdin")
    membership = {
        Role.OPERATOR.value: MemberRole.OPERATOR,
        Role.SUPERVISOR.value: MemberRole.SUPERVISOR,
        Role.CHANNEL.value: MemberRole.CHANNEL,
    }.get(role, MemberRole.READER)
    with transaction() as db:
        new = create_user(db, username, role, password, display_name)
        for name in live_chats:
            add_member(db, get_live_chat(db, name), new, membership)
        data = {
            "id": new.id,
            "username": new.username,
            "role": new.role,
            "live_chats": list(live_chats),
        }
    emit(data, as_json, f"user {new.username!r} created ({new.role})")


@user.command("presence")
@click.argument("username")
@click.argument("presence", required=False, type=click.Choice([p.value for p in Presence]))
@json_option
@handles_errors
def presence(username: str, presence: str | None, as_json: bool) -> None:
    """Show a user's presence (as routing reads it now), or set it: online, away or offline."""
    with transaction() as db:
        person = get_user(db, username)
        now = cli_state().clock.now()
        if presence is not None and set_presence(db, person, presence, now) is Presence.ONLINE:
            operator_available(db, cli_state().clock, person, Reason.ONLINE)
        data = {
            "username": person.username,
            "presence": presence_of(person, now).value,
            "chosen": person.presence,
            "last_seen_at": person.last_seen_at,
        }
    emit(data, as_json, f"{person.username} is {data['presence']}")


@user.command("signout-all")
@click.argument("username")
@json_option
@handles_errors
def signout_all(username: str, as_json: bool) -> None:
    """End every web login of the user at once (their API tokens are not touched)."""
    with transaction() as db:
        person = get_user(db, username)
        ended = end_logins(db, person)
        data = {"username": person.username, "logins_ended": ended}
    emit(data, as_json, f"{person.username} is signed out everywhere")


@user.command("deactivate")
@click.argument("username")
@json_option
@handles_errors
def deactivate(username: str, as_json: bool) -> None:
    """Deactivate a user: no login, their logins end, their API tokens stop working."""
    _set_active(username, False, as_json)


@user.command("activate")
@click.argument("username")
@json_option
@handles_errors
def activate(username: str, as_json: bool) -> None:
    """Let a deactivated user log in again (their tokens work again too)."""
    _set_active(username, True, as_json)


def _set_active(username: str, active: bool, as_json: bool) -> None:
    with transaction() as db:
        person = get_user(db, username)
        set_active(db, person, active)
        data = {"username": person.username, "active": person.active}
    emit(data, as_json, f"{person.username} is {'active' if active else 'deactivated'}")
