"""Quick replies (checked at save, rendered per session by the names' renderer) and the stale
edit rule (a parameter edit or rename from an outdated page is refused, naming who and when)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.naming import NameContext, parse_template, render_text
from bpm_livechat.errors import StaleEditError, ValidationError
from bpm_livechat.models import SupportSession, User
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter, archive_parameter
from bpm_livechat.params.values import get_parameters, set_parameters
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.sessions.editing import edit_parameters
from bpm_livechat.sessions.lifecycle import get_session
from bpm_livechat.sessions.quick_replies import quick_replies_for, save_quick_reply
from bpm_livechat.sessions.stale import (
    check_session_version,
    latest_change_ids,
    rename_seen,
)
from tests.support import Desk, open_session


def test_render_text_keeps_line_breaks_and_blanks_other_control_characters() -> None:
    template = parse_template("Hi {client.name},\n\tsee {subject}\x07!  ", max_length=4000)
    context = NameContext(client_name="Ann", subject=None)
    assert render_text(template, context) == "Hi Ann,\n\tsee  !"


def test_quick_replies_are_scoped_and_rendered_for_the_session(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "order_number", "string", "Order number")
    session = open_session(db, desk.support, client="Ann", subject="Parcel")
    set_parameters(db, session, {"order_number": "A-7"}, user_actor(desk.admin))
    save_quick_reply(db, "Order", "Dear {client.name},\r\norder {param.order_number} ({subject}).")
    save_quick_reply(db, "Sales only", "Hi from {live_chat.name}", desk.sales)
    save_quick_reply(db, "Support", "Welcome to {live_chat.name}", desk.support)
    offered = [(q.title, q.text) for q in quick_replies_for(db, session)]
    assert offered == [
        ("Order", "Dear Ann,\norder A-7 (Parcel)."),
        ("Support", "Welcome to Support"),
    ]
    archive_parameter(db, "order_number")  # archived since: renders empty, as in names
    assert quick_replies_for(db, session)[0].text == "Dear Ann,\norder  (Parcel)."


@pytest.mark.parametrize(
    ("title", "body", "fields"),
    [
        (
            "T",
            "Hi {client.nickname}",
            {"body": "unknown placeholder {client.nickname} at position 4"},
        ),
        ("T", "Hi {param.nope}", {"body": "unknown parameter 'nope' at position 10"}),
        ("T", "Hi {subject!r}", {"body": "conversions such as !r are not allowed at position 11"}),
        ("T", "x" * 4001, {"body": "template longer than 4000 characters at position 4000"}),
        ("T", "  ", {"body": "write the reply's text"}),
        ("", "Hi", {"title": "must not be empty"}),
        ("\tT", "Hi", {"title": "must not contain tabs, line breaks or other control characters"}),
        ("T" * 121, "Hi", {"title": "must have at most 120 characters (121 now)"}),
    ],
)
def test_bad_quick_replies_are_refused_naming_the_problem(
    db_session: Session, title: str, body: str, fields: dict[str, str]
) -> None:
    with pytest.raises(ValidationError) as refused:
        save_quick_reply(db_session, title, body)
    assert refused.value.fields == fields


def test_a_parameter_edit_from_a_stale_page_is_refused_naming_who(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "order_number", "string", "Order number")
    add_parameter(db, "summary", "text", "Summary")
    session = open_session(db, desk.support)
    seen = latest_change_ids(db, session.id).get("order_number", 0)
    assert seen == 0
    edit_parameters(
        db, SYSTEM_CLOCK, session, {"order_number": "A-1"}, desk.operator, {"order_number": seen}
    )
    other = latest_change_ids(db, session.id)["order_number"]
    with pytest.raises(StaleEditError) as stale:
        edit_parameters(
            db,
            SYSTEM_CLOCK,
            session,
            {"order_number": "B-2"},
            desk.supervisor,
            {"order_number": seen},
        )
    assert (stale.value.field, stale.value.changed_by) == ("order_number", "Olga Operator")
    assert stale.value.changed_at is not None
    assert get_parameters(db, session.id)["order_number"] == "A-1"
    # Another parameter's edit is no conflict; the fresh token saves.
    edit_parameters(db, SYSTEM_CLOCK, session, {"summary": "x"}, desk.supervisor, {"summary": 0})
    edit_parameters(
        db, SYSTEM_CLOCK, session, {"order_number": "B-2"}, desk.supervisor, {"order_number": other}
    )
    assert get_parameters(db, session.id)["order_number"] == "B-2"


def test_a_rename_from_a_stale_version_is_refused_naming_the_renamer(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    session = open_session(db, desk.support)
    seen = session.version
    rename_seen(db, session, "First", desk.operator, seen)
    db.flush()
    assert session.version != seen
    with pytest.raises(StaleEditError) as stale:
        rename_seen(db, session, "Second", desk.supervisor, seen)
    assert (stale.value.field, stale.value.changed_by) == ("name", "Olga Operator")
    assert session.name == "First"
    check_session_version(db, session, session.version)  # the current version passes
    check_session_version(db, session, None)  # no version, no check


def _racer(
    factory: sessionmaker[Session],
    session_id: int,
    user_id: int,
    seen: dict[str, int],
    write: Callable[[Session, SupportSession, User], None],
    outcomes: list[str],
    start: threading.Barrier,
) -> threading.Thread:
    def run() -> None:
        start.wait(timeout=10)
        try:
            with unit_of_work(factory) as db:
                user = db.get_one(User, user_id)
                write(db, get_session(db, session_id, user), user)
            outcomes.append("saved")
        except StaleEditError as exc:
            outcomes.append(f"stale: {exc.changed_by}")
        except Exception as exc:  # reported by the test's assertion
            outcomes.append(f"error: {exc!r}")

    return threading.Thread(target=run)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_two_stale_writers_at_once_one_wins_the_other_is_told_who(
    factory: sessionmaker[Session], db_session: Session, desk: Desk
) -> None:
    add_parameter(db_session, "order_number", "string", "Order number")
    session = open_session(db_session, desk.support)
    db_session.commit()
    session_id, version = session.id, session.version
    people = {desk.operator.id: "A-1", desk.supervisor.id: "B-2"}
    for kind in ("parameter", "name"):
        outcomes: list[str] = []
        start = threading.Barrier(2)

        def write(db: Session, target: SupportSession, user: User, kind: str = kind) -> None:
            if kind == "parameter":
                value = people[user.id]
                edit_parameters(
                    db, SYSTEM_CLOCK, target, {"order_number": value}, user, {"order_number": 0}
                )
            else:
                rename_seen(db, target, f"Name by {user.username}", user, version)

        racers = [_racer(factory, session_id, uid, {}, write, outcomes, start) for uid in people]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=60)
        assert sorted(o.split(":")[0] for o in outcomes) == ["saved", "stale"], (kind, outcomes)
        loser_told = next(o for o in outcomes if o.startswith("stale"))
        assert loser_told in ("stale: Olga Operator", "stale: Sam Supervisor")
