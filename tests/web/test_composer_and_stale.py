"""The session page's composer (reply, errors kept, quick replies) and stale edits (a parameter
edit or a rename from an outdated page shows the conflict and saves nothing); the admin page of
quick replies."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.models import Message, QuickReply
from bpm_livechat.params.values import get_parameters
from tests.web.support import Browser, World, session_row


def _hidden(html: str, name: str, form_action: str) -> str:
    """The value of hidden input `name` in the form posting to `form_action`."""
    form = html[html.index(f'action="{form_action}"') :]
    match = re.search(rf'name="{name}" value="([^"]*)"', form)
    assert match, f"no {name} in the form of {form_action}"
    return match.group(1)


def test_a_reply_from_the_composer_lands_in_the_thread(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    page = olga.get(f"/sessions/{world.first}").get_data(as_text=True)
    assert '<label for="reply-text">Reply to Client 00</label>' in page
    sent = olga.post(f"/sessions/{world.first}/reply", {"text": "Hello!\nWe are on it."})
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/sessions/{world.first}#composer")
    stored = db_session.scalars(select(Message).where(Message.session_id == world.first)).one()
    assert (stored.author_kind, stored.author_name, stored.text) == (
        "operator",
        "Olga Operator",
        "Hello!\nWe are on it.",
    )
    db_session.rollback()  # SQLite: every transaction holds the write lock
    html = olga.get(f"/sessions/{world.first}").get_data(as_text=True)
    assert '<li class="msg msg-operator">' in html
    assert '<div class="msg-text">Hello!\nWe are on it.</div>' in html


def test_a_refused_reply_keeps_the_text_at_the_composer(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    blank = olga.post(f"/sessions/{world.first}/reply", {"text": "  \n "})
    assert blank.status_code == 422
    assert '<p class="field-error" id="reply-error" role="alert">write a reply first</p>' in (
        blank.get_data(as_text=True)
    )
    long = olga.post(f"/sessions/{world.first}/reply", {"text": "y" * 4001})
    assert long.status_code == 422
    html = long.get_data(as_text=True)
    assert "at most 4000 characters (4001 now)" in html
    assert "y" * 4001 + "</textarea>" in html  # nothing typed is lost
    assert db_session.scalar(select(Message.id).where(Message.session_id == world.first)) is None
    db_session.rollback()
    # Another live chat's session: no reply, whatever the form.
    assert (
        browser_for("sven").post(f"/sessions/{world.first}/reply", {"text": "Hi"}).status_code
        == 403
    )


def test_quick_replies_are_offered_rendered_for_the_session(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    sales_id = world.desk.sales.id  # read before any request: SQLite's one writer
    db_session.rollback()
    admin = browser_for("admin")
    added = admin.post(
        "/admin/quick-replies",
        {
            "title": "Greeting",
            "body": "Hello {client.name},\r\nyour segment is {param.segment}.",
            "live_chat": "",
        },
    )
    assert added.status_code == 303
    sales_only = {
        "title": "Sales hello",
        "body": "Hi from {live_chat.name}",
        "live_chat": str(sales_id),
    }
    assert admin.post("/admin/quick-replies", sales_only).status_code == 303
    html = browser_for("olga").get(f"/sessions/{world.first}").get_data(as_text=True)
    assert 'data-text="Hello Client 00,\nyour segment is consumer.">Greeting</option>' in html
    assert "Sales hello" not in html  # offered in Sales only
    greeting = db_session.scalars(select(QuickReply.id).where(QuickReply.title == "Greeting")).one()
    db_session.rollback()
    chosen = browser_for("olga").get(f"/sessions/{world.first}?quick={greeting}")
    assert (
        "your segment is"
        in chosen.get_data(as_text=True).split('name="text"')[1].split("</textarea>")[0]
    )


def test_bad_quick_reply_templates_are_refused_naming_the_problem(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    admin = browser_for("admin")
    for body, problem in [
        ("Hi {client.nickname}", "unknown placeholder {client.nickname} at position 4"),
        ("Hi {param.nope}", "unknown parameter &#39;nope&#39; at position 10"),
        (
            "Hi {client.name",
            "&#39;{&#39; is never closed (write &#39;{{&#39; for a brace) at position 3",
        ),
        ("", "write the reply&#39;s text"),
    ]:
        refused = admin.post(
            "/admin/quick-replies", {"title": "Bad", "body": body, "live_chat": ""}
        )
        assert refused.status_code == 422, body
        assert f'<p id="qr-body-error" class="field-error">{problem}</p>' in refused.get_data(
            as_text=True
        )
    assert db_session.scalars(select(QuickReply)).all() == []
    db_session.rollback()
    no_title = admin.post("/admin/quick-replies", {"title": " ", "body": "Hi", "live_chat": ""})
    assert '<p id="qr-title-error" class="field-error">must not be empty</p>' in no_title.get_data(
        as_text=True
    )
    # Edit and delete.
    assert (
        admin.post(
            "/admin/quick-replies", {"title": "Bye", "body": "Bye {client.name}", "live_chat": ""}
        ).status_code
        == 303
    )
    reply_id = db_session.scalars(select(QuickReply.id)).one()
    db_session.rollback()
    edited = admin.post(
        f"/admin/quick-replies/{reply_id}",
        {"title": "Bye!", "body": "Bye {subject}", "live_chat": ""},
    )
    assert edited.status_code == 303
    bad_edit = admin.post(
        f"/admin/quick-replies/{reply_id}", {"title": "Bye!", "body": "Bye {", "live_chat": ""}
    )
    assert bad_edit.status_code == 422
    stored = db_session.execute(select(QuickReply.title, QuickReply.body)).one()
    assert tuple(stored) == ("Bye!", "Bye {subject}")
    db_session.rollback()
    assert admin.post(f"/admin/quick-replies/{reply_id}/delete").status_code == 303
    assert db_session.scalars(select(QuickReply)).all() == []
    db_session.rollback()
    assert browser_for("olga").get("/admin/quick-replies").status_code == 403


def test_a_stale_parameter_edit_shows_the_conflict_and_keeps_the_value(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga, sam = browser_for("olga"), browser_for("sam")
    action = f"/sessions/{world.first}/params/satisfaction"
    olga_seen = _hidden(olga.get(f"/sessions/{world.first}").get_data(as_text=True), "seen", action)
    sam_seen = _hidden(sam.get(f"/sessions/{world.first}").get_data(as_text=True), "seen", action)
    assert olga_seen == sam_seen == "0"
    assert olga.post(action, {"value": "4", "seen": olga_seen}).status_code == 302
    stale = sam.post(action, {"value": "2", "seen": sam_seen})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Changed while you were editing." in html
    assert "Olga Operator changed it at" in html
    assert '<span class="conflict-current" data-conflict-current>4</span>' in html
    assert re.search(r'<input[^>]*id="value-satisfaction"[^>]*value="2"', html)
    assert get_parameters(db_session, world.first)["satisfaction"] == 4
    db_session.rollback()
    # Resubmitted deliberately from the conflict page (it carries the newest change): saved.
    again = _hidden(html, "seen", action)
    assert again != "0"
    assert sam.post(action, {"value": "2", "seen": again}).status_code == 302
    assert get_parameters(db_session, world.first)["satisfaction"] == 2
    db_session.rollback()
    # Another parameter changing meanwhile is no conflict.
    other = f"/sessions/{world.first}/params/segment"
    seen_segment = _hidden(
        olga.get(f"/sessions/{world.first}").get_data(as_text=True), "seen", other
    )
    assert sam.post(action, {"value": "3", "seen": again}).status_code == 409  # stale again: own
    assert olga.post(other, {"value": "smb", "seen": seen_segment}).status_code == 302


def test_a_stale_rename_shows_the_conflict_and_keeps_the_name(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga, sam = browser_for("olga"), browser_for("sam")
    action = f"/sessions/{world.first}/name"
    olga_version = _hidden(
        olga.get(f"/sessions/{world.first}").get_data(as_text=True), "version", action
    )
    sam_version = _hidden(
        sam.get(f"/sessions/{world.first}").get_data(as_text=True), "version", action
    )
    assert olga.post(action, {"name": "Olga's name", "version": olga_version}).status_code == 302
    stale = sam.post(action, {"name": "Sam's name", "version": sam_version})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Olga Operator changed it at" in html
    assert "data-conflict-current>Olga&#39;s name</span>" in html
    assert 'value="Sam&#39;s name"' in html
    assert session_row(db_session, world.first).name == "Olga's name"
    fresh = _hidden(html, "version", action)
    assert sam.post(action, {"name": "Sam's name", "version": fresh}).status_code == 302
    assert session_row(db_session, world.first).name == "Sam's name"


def test_a_channel_account_has_only_its_tokens_page(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    widget = browser_for("widget")
    assert widget.get("/account/tokens").status_code == 200
    assert widget.get("/sessions").status_code == 403
    assert widget.get(f"/sessions/{world.first}").status_code == 403
    assert widget.post(f"/sessions/{world.first}/reply", {"text": "Hi"}).status_code == 403
    assert db_session.scalar(select(Message.id).where(Message.session_id == world.first)) is None
