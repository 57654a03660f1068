"""Live chat settings over HTTP: name, channels, members, template preview and re-rendering."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import get_live_chat, members
from bpm_livechat.models import MemberRole, SupportSession
from bpm_livechat.sessions.lifecycle import rename_session
from tests.web.support import Browser, World, session_row


def test_only_admins_open_live_chat_settings(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    chat_id = world.desk.support.id
    for username in ("sam", "olga", "sales"):
        browser = browser_for(username)
        assert browser.get(f"/admin/livechats/{chat_id}").status_code == 403
        assert (
            browser.get(f"/admin/livechats/{chat_id}/template-preview?template=x").status_code
            == 403
        )
    sam = browser_for("sam")
    assert (
        sam.post(f"/admin/livechats/{chat_id}/apply-template", {"confirm": "yes"}).status_code
        == 403
    )


def test_create_rename_and_add_a_channel(
    browser_for: Callable[[str], Browser], db_session: Session
) -> None:
    admin = browser_for("admin")
    response = admin.post("/admin/livechats", {"name": "Billing <desk>"})
    assert response.status_code == 303
    chat = get_live_chat(db_session, "Billing <desk>")
    chat_id = chat.id
    db_session.rollback()
    page = admin.get(f"/admin/livechats/{chat_id}").get_data(as_text=True)
    assert "<h1>Billing &lt;desk&gt;</h1>" in page
    duplicate = admin.post("/admin/livechats", {"name": "Support"})
    assert duplicate.status_code == 422
    assert 'id="chat-name-error" class="field-error">already exists<' in duplicate.get_data(
        as_text=True
    )
    taken = admin.post(f"/admin/livechats/{chat_id}/name", {"name": "Sales"})
    assert taken.status_code == 422
    assert 'class="field-error" id="chat-name-error">already exists<' in taken.get_data(
        as_text=True
    )
    assert admin.post(f"/admin/livechats/{chat_id}/name", {"name": "Billing"}).status_code == 303
    bad = admin.post(f"/admin/livechats/{chat_id}/channels", {"channel_name": "Fax", "kind": "fax"})
    assert bad.status_code == 422
    assert 'id="channel-kind-error">unknown kind<' in bad.get_data(as_text=True)
    ok = admin.post(
        f"/admin/livechats/{chat_id}/channels", {"channel_name": "Inbox", "kind": "email"}
    )
    assert ok.status_code == 303
    db_session.expire_all()
    chat = get_live_chat(db_session, "Billing")
    assert [(c.name, c.kind) for c in chat.channels] == [("Inbox", "email")]
    db_session.rollback()


def test_add_and_remove_members(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    admin = browser_for("admin")
    sales_id = world.desk.sales.id
    refused = admin.post(
        f"/admin/livechats/{sales_id}/members", {"username": "olga", "role": "supervisor"}
    )
    assert refused.status_code == 422
    assert "role does not allow this membership" in refused.get_data(as_text=True)
    added = admin.post(
        f"/admin/livechats/{sales_id}/members", {"username": "olga", "role": "operator"}
    )
    assert added.status_code == 303
    assert browser_for("olga").get(f"/sessions/{world.sale}").status_code == 200
    removed = admin.post(f"/admin/livechats/{sales_id}/members/olga/operator/remove")
    assert removed.status_code == 303
    db_session.expire_all()
    assert [u.username for u in members(db_session, world.desk.sales.id, MemberRole.OPERATOR)] == [
        "sven"
    ]
    db_session.rollback()
    assert browser_for("olga").get(f"/sessions/{world.sale}").status_code == 403


def test_template_preview_on_a_real_session_and_errors_with_position(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    admin = browser_for("admin")
    chat_id = world.desk.sales.id
    url = f"/admin/livechats/{chat_id}/template-preview"
    good = admin.get(url + "?template={client.name} / {live_chat.name}").get_json()
    assert good["ok"] is True and good["name"] == "Buyer Two / Sales"
    bad = admin.get(url + "?template=Hi {client.nmae}").get_json()
    assert bad["ok"] is False and bad["position"] == 4
    assert "at position 4" in bad["error"]
    # Without JavaScript: the Preview button renders the page with the preview, nothing saved.
    page = admin.post(
        f"/admin/livechats/{chat_id}/template", {"name_template": "{subject}!", "action": "preview"}
    )
    assert page.status_code == 200 and "Quote 2!</output>" in page.get_data(as_text=True)
    invalid = admin.post(
        f"/admin/livechats/{chat_id}/template", {"name_template": "{oops}", "action": "save"}
    )
    assert invalid.status_code == 422
    html = invalid.get_data(as_text=True)
    assert 'value="{oops}"' in html and "unknown placeholder {oops} at position 1</p>" in html
    for template, reason in [
        ("   ", "must not be empty"),
        ("Support chat", "has no placeholder: every session would be named “Support chat”"),
    ]:
        refused = admin.post(
            f"/admin/livechats/{chat_id}/template", {"name_template": template, "action": "save"}
        )
        assert refused.status_code == 422 and reason in refused.get_data(as_text=True)
        said = admin.get(url + f"?template={template}").get_json()
        assert said["ok"] is False and reason in said["error"]
    saved = admin.post(
        f"/admin/livechats/{chat_id}/template", {"name_template": "{subject}", "action": "save"}
    )
    assert saved.status_code == 303


def test_apply_template_counts_first_then_renames_all_but_hand_given(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    admin = browser_for("admin")
    chat_id = world.desk.support.id
    first = db_session.get(SupportSession, world.first)
    assert first is not None
    rename_session(db_session, first, "By hand", world.desk.admin)
    db_session.commit()
    admin.post(
        f"/admin/livechats/{chat_id}/template", {"name_template": "#{subject}", "action": "save"}
    )
    preview = admin.post(f"/admin/livechats/{chat_id}/apply-template")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "22 session names will change" in html  # 23 sessions, one named by hand
    assert "Rename 22 sessions" in html
    assert session_row(db_session, world.first + 1).name == "Client 01 — Question 01"
    done = admin.post(f"/admin/livechats/{chat_id}/apply-template", {"confirm": "yes"})
    assert done.status_code == 303
    assert session_row(db_session, world.first + 1).name == "#Question 01"
    assert session_row(db_session, world.first).name == "By hand"
    again = admin.post(f"/admin/livechats/{chat_id}/apply-template").get_data(as_text=True)
    assert "nothing to change" in again
    names = db_session.scalars(
        select(SupportSession.name).where(SupportSession.live_chat_id == world.desk.sales.id)
    ).all()
    db_session.rollback()
    assert sorted(names) == ["Email: Buyer", "Email: Buyer Two"]


def test_a_channel_without_sessions_can_be_removed_one_with_sessions_stays(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    admin = browser_for("admin")
    chat_id = world.desk.support.id
    admin.post(
        f"/admin/livechats/{chat_id}/channels", {"channel_name": "Fax line", "kind": "other"}
    )
    db_session.expire_all()
    chat = get_live_chat(db_session, "Support")
    spare = next(c.id for c in chat.channels if c.name == "Fax line")
    used = next(c for c in chat.channels if c.name != "Fax line")
    used_id, used_name = used.id, used.name
    sessions = db_session.scalars(
        select(SupportSession.id).where(SupportSession.channel_id == used_id)
    ).all()
    db_session.rollback()
    refused = admin.post(f"/admin/livechats/{chat_id}/channels/{used_id}/remove")
    assert refused.status_code == 422
    expected = f"channel {used_name!r} cannot be removed: {len(sessions)} sessions came through it"
    assert expected.replace("'", "&#39;") in refused.get_data(as_text=True)
    assert admin.post(f"/admin/livechats/{chat_id}/channels/{spare}/remove").status_code == 303
    db_session.expire_all()
    names = [c.name for c in get_live_chat(db_session, "Support").channels]
    assert "Fax line" not in names and used_name in names
    db_session.rollback()
    assert admin.post(f"/admin/livechats/{chat_id}/channels/{spare}/remove").status_code == 404
