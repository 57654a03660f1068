"""Operator replies in the core and through `bpm-livechat session reply`: the stored message,
its event for the channel's webhooks, and every refusal naming its field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from bpm_livechat.desk.access import can_access_live_chat
from bpm_livechat.errors import AccessDeniedError, ValidationError
from bpm_livechat.models import Job, LiveChatMember, Message, User, WebhookSubscription
from bpm_livechat.sessions.replies import posting_kind, reply_as_operator
from tests.support import Desk, MovingClock, count, open_session


def test_a_reply_is_an_operator_message_and_an_event_for_the_webhooks(
    db_session: Session, desk: Desk, clock: MovingClock
) -> None:
    db = db_session
    session = open_session(db, desk.support)
    db.add(WebhookSubscription(name="Widget", url="https://widget.example/hook", secret="s"))
    db.flush()
    taken = reply_as_operator(
        db, clock, session, desk.operator, "\n  Hello Jane,\nwe are on it. \n"
    )
    db.commit()
    stored = db.scalars(select(Message)).one()
    assert (stored.author_kind, stored.author_name, stored.author_user_id, stored.text) == (
        "operator",
        "Olga Operator",
        desk.operator.id,
        "Hello Jane,\nwe are on it.",
    )
    assert taken.event_recorded
    job = db.scalars(select(Job)).one()
    assert (job.kind, job.session_id, job.payload) == (
        "session_event",
        session.id,
        {"event": "operator_message", "message_id": stored.id},
    )


def test_a_reply_nobody_listens_to_writes_no_job(
    db_session: Session, desk: Desk, clock: MovingClock
) -> None:
    session = open_session(db_session, desk.support)
    taken = reply_as_operator(db_session, clock, session, desk.supervisor, "Hi")
    assert not taken.event_recorded
    assert count(db_session, Job) == 0
    assert taken.message.author_name == "Sam Supervisor"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("", {"text": "write a reply first"}),
        (" \n\t ", {"text": "write a reply first"}),
        ("x" * 4001, {"text": "at most 4000 characters (4001 now)"}),
    ],
)
def test_blank_and_long_replies_are_refused_naming_the_text(
    db_session: Session, desk: Desk, clock: MovingClock, text: str, fields: dict[str, str]
) -> None:
    session = open_session(db_session, desk.support)
    with pytest.raises(ValidationError) as refused:
        reply_as_operator(db_session, clock, session, desk.operator, text)
    assert refused.value.fields == fields
    assert count(db_session, Message) == 0


def test_only_people_working_the_session_reply(
    db_session: Session, desk: Desk, clock: MovingClock
) -> None:
    session = open_session(db_session, desk.support)
    for outsider in (desk.seller, desk.app_user):
        with pytest.raises(AccessDeniedError):
            reply_as_operator(db_session, clock, session, outsider, "Hi")
    with pytest.raises(AccessDeniedError) as channel:
        reply_as_operator(db_session, clock, session, desk.widget, "Hi")
    assert channel.value.fields == {"author_kind": "only people reply as operator"}
    assert count(db_session, Message) == 0


def test_the_posting_rule_by_role(desk: Desk) -> None:
    for person in (desk.operator, desk.supervisor, desk.admin):
        assert posting_kind(person, None) == "operator"
        assert posting_kind(person, "operator") == "operator"
        for kind in ("client", "system"):
            with pytest.raises(AccessDeniedError):
                posting_kind(person, kind)
    assert posting_kind(desk.widget, None) == "client"
    for kind in ("operator", "system"):  # system messages are the product's own
        with pytest.raises(AccessDeniedError):
            posting_kind(desk.widget, kind)
    with pytest.raises(AccessDeniedError):
        posting_kind(desk.app_user, None)


def test_the_cli_replies_as_the_given_operator(
    engine: Engine, db_session: Session, desk: Desk
) -> None:
    session = open_session(db_session, desk.support)
    db_session.commit()
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    args = ["--database-url", url, "session", "reply", str(session.id)]
    done = runner.invoke(cli, [*args, "Hello\nthere", "--as", "olga", "--json"])
    assert (done.exit_code, done.stderr) == (0, ""), done.output
    data = json.loads(done.stdout)
    assert (data["author"], data["text"], data["event_queued"]) == (
        "Olga Operator",
        "Hello\nthere",
        False,
    )
    blank = runner.invoke(cli, [*args, "   ", "--as", "olga"])
    assert (blank.exit_code, blank.stdout) == (1, "")
    assert blank.stderr == "error: the reply is empty\n"
    other = runner.invoke(cli, [*args, "Hi", "--as", "sven"])
    assert other.exit_code == 1
    assert "no access to session" in other.stderr
    db_session.expire_all()
    assert [m.text for m in db_session.scalars(select(Message))] == ["Hello\nthere"]


def test_a_channel_account_made_on_the_command_line_works_its_live_chat(
    engine: Engine, db_session: Session, desk: Desk
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    args = ["--database-url", url, "user", "create", "bridge", "--role", "channel"]
    made = CliRunner().invoke(cli, [*args, "--password", "bridge-pass-1", "--live-chat", "Support"])
    assert made.exit_code == 0, made.output
    db_session.expire_all()
    member = db_session.scalars(
        select(LiveChatMember).join(User).where(User.username == "bridge")
    ).one()
    assert (member.live_chat_id, member.role) == (desk.support.id, "channel")
    bridge = db_session.scalars(select(User).where(User.username == "bridge")).one()
    assert can_access_live_chat(db_session, bridge, desk.support.id)
    assert not can_access_live_chat(db_session, bridge, desk.sales.id)


def test_quick_replies_on_the_command_line(engine: Engine, desk: Desk) -> None:
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--database-url", url, "quick-reply", *args])

    added = run("add", "Hello", "Hello {client.name}!", "--live-chat", "Support", "--json")
    assert added.exit_code == 0, added.output
    reply = json.loads(added.stdout)
    assert (reply["title"], reply["body"], reply["live_chat"]) == (
        "Hello",
        "Hello {client.name}!",
        "Support",
    )
    bad = run("add", "Bad", "Hi {client.nickname}")
    assert (bad.exit_code, bad.stdout) == (1, "")
    assert "unknown placeholder {client.nickname} at position 4" in bad.stderr
    changed = run("update", str(reply["id"]), "Hi", "Hi {subject}", "--json")
    assert json.loads(changed.stdout)["live_chat"] is None
    listed = json.loads(run("list", "--json").stdout)["items"]
    assert [(i["title"], i["body"]) for i in listed] == [("Hi", "Hi {subject}")]
    assert run("delete", str(reply["id"])).exit_code == 0
    assert run("delete", str(reply["id"])).exit_code == 1
    assert run("list").stdout == "no quick replies\n"
