"""Applying a name template to existing sessions: preview on a real session, count, rename."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import create_live_chat, set_name_template
from bpm_livechat.errors import TemplateError, ValidationError
from bpm_livechat.sessions.lifecycle import rename_session
from bpm_livechat.sessions.renaming import apply_template, pending_renames, preview_name
from tests.support import Desk, open_session


def test_preview_renders_on_the_newest_session(db_session: Session, desk: Desk) -> None:
    open_session(db_session, desk.support, "Ann", "Old")
    newest = open_session(db_session, desk.support, "Bob", "New")
    preview = preview_name(db_session, desk.support, "{client.name} / {subject}")
    assert (preview.name, preview.session) == ("Bob / New", newest)
    empty = create_live_chat(db_session, "Empty")
    assert preview_name(db_session, empty, "{subject}").session is None
    with pytest.raises(TemplateError) as caught:
        preview_name(db_session, desk.support, "x {param.nope}")
    assert caught.value.position == 9


def test_apply_counts_then_renames_only_names_not_given_by_hand(
    db_session: Session, desk: Desk
) -> None:
    a = open_session(db_session, desk.support, "Ann", "One")
    b = open_session(db_session, desk.support, "Bob", "Two")
    rename_session(db_session, b, "Kept", desk.admin)
    other = open_session(db_session, desk.sales, "Cy", "Three")
    set_name_template(db_session, desk.support, "{subject} ({client.name})")
    renames = pending_renames(db_session, desk.support)
    assert [(r.session, r.old_name, r.new_name) for r in renames] == [(a, "Ann — One", "One (Ann)")]
    assert a.name == "Ann — One"  # counting changes nothing
    assert apply_template(db_session, desk.support) == 1
    assert (a.name, b.name, other.name) == ("One (Ann)", "Kept", "Email: Cy")
    assert pending_renames(db_session, desk.support) == []


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("", "must not be empty: every session would be named “Session”"),
        ("Chat", "has no placeholder: every session would be named “Chat”"),
        ("{{literal}}", "has no placeholder"),
    ],
)
def test_a_template_that_names_every_session_alike_is_refused(
    db_session: Session, desk: Desk, template: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        create_live_chat(db_session, "Alike", template)
    assert reason in caught.value.fields["name_template"]
    with pytest.raises(ValidationError):
        set_name_template(db_session, desk.support, template)
