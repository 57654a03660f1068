"""App pages: item pages with the Live Chat Messages widget (read grant only), items from sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.apps.items import add_app, add_field, create_item
from bpm_livechat.apps.links import bind_app, link_item
from bpm_livechat.models import App, AppItem, SessionItemLink
from bpm_livechat.sessions.lifecycle import get_session
from tests.web.support import HOSTILE_MESSAGE, HOSTILE_NAME, PASSWORDS, Browser, World, csrf_token


@dataclass
class Apps:
    clients: int
    item: int
    other: int


@pytest.fixture
def apps(db_session: Session, world: World) -> Apps:
    """Clients bound to Support; one item linked to the hostile session, one not linked."""
    db = db_session
    clients = add_app(db, "Clients")
    add_field(db, clients, "name", "string", "Name")
    add_field(db, clients, "email", "email", "Email")
    add_field(db, clients, "segment", "choice", "Segment", ["consumer", "smb", "enterprise"])
    bind_app(db, world.desk.support, clients)
    item = create_item(db, clients, {"name": "Evil & Co", "email": "evil@x.test"})
    link_item(db, get_session(db, world.evil), item)
    other = create_item(db, clients, {"name": "Acme Corp"})
    db.commit()
    return Apps(clients.id, item.id, other.id)


def _as(browser_for: Callable[[str], Browser], username: str) -> Browser:
    browser = browser_for(username)
    browser.token = csrf_token(browser.client, "/apps")
    return browser


def test_app_user_reads_the_messages_of_linked_sessions(
    browser_for: Callable[[str], Browser], apps: Apps, world: World
) -> None:
    sales = _as(browser_for, "sales")
    page = sales.get(f"/apps/items/{apps.item}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Live Chat Messages" in text
    assert str(escape(HOSTILE_MESSAGE)) in text
    assert HOSTILE_MESSAGE not in text
    data = sales.get(f"/apps/items/{apps.item}/messages").get_json()
    assert [m["text"] for m in data["messages"]] == ["first message", HOSTILE_MESSAGE]
    assert {m["session_id"] for m in data["messages"]} == {world.evil}
    assert sales.get(f"/sessions/{world.evil}").status_code == 403  # still no live chat pages


def test_users_without_the_grant_get_403_for_widget_and_data(
    browser_for: Callable[[str], Browser], apps: Apps
) -> None:
    sven = browser_for("sven")  # works Sales only: the item's session is in Support
    page = sven.get(f"/apps/items/{apps.item}")
    assert page.status_code == 403
    assert "first message" not in page.text
    response = sven.get(f"/apps/items/{apps.item}/messages?scope=client")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    missing = browser_for("sales").get("/apps/items/999/messages")
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "not_found")


def test_app_items_follow_the_live_chats_read_grants(
    browser_for: Callable[[str], Browser], apps: Apps, world: World, db_session: Session
) -> None:
    """An item holds a client's name, email and phone: who may not read its live chat's
    sessions reads neither the item, nor the app's item list, nor sees the app listed."""
    sven = browser_for("sven")  # works Sales only; Clients is bound to Support
    for path in (f"/apps/items/{apps.item}", f"/apps/items/{apps.other}", f"/apps/{apps.clients}"):
        response = sven.get(path)
        assert response.status_code == 403, path
        assert "evil@x.test" not in response.text and "Acme Corp" not in response.text
    assert "Clients" not in sven.get("/apps").text
    sales = _as(browser_for, "sales")  # reader of Support: reads both items and the list
    assert "evil@x.test" in sales.get(f"/apps/items/{apps.item}").text
    assert "Acme Corp" in sales.get(f"/apps/{apps.clients}").text
    assert "Clients" in sales.get("/apps").text
    admin = browser_for("admin")
    admin.token = csrf_token(admin.client, "/apps")
    chat = world.desk.support.id
    admin.post(f"/apps/live-chats/{chat}/readers", {"username": "sales", "action": "revoke"})
    db_session.rollback()
    sales = browser_for("sales")
    assert sales.get(f"/apps/items/{apps.other}").status_code == 403
    assert sales.get(f"/apps/{apps.clients}").status_code == 403


def test_who_works_the_session_reads_it_in_the_widget_without_a_grant(
    browser_for: Callable[[str], Browser], apps: Apps, world: World
) -> None:
    for username in ("olga", "sam"):  # Support's operator and supervisor, no read grant
        browser = browser_for(username)
        assert browser.get(f"/sessions/{world.evil}").status_code == 200
        page = browser.get(f"/apps/items/{apps.item}").get_data(as_text=True)
        assert "You have no read access" not in page
        assert "first message" in page
        data = browser.get(f"/apps/items/{apps.item}/messages").get_json()
        assert [m["text"] for m in data["messages"]] == ["first message", HOSTILE_MESSAGE]


def test_admin_revokes_and_grants_read_access(
    browser_for: Callable[[str], Browser], apps: Apps, world: World, db_session: Session
) -> None:
    admin = browser_for("admin")
    chat = world.desk.support.id
    db_session.rollback()
    assert "Sid Sales" in admin.get(f"/apps/live-chats/{chat}").get_data(as_text=True)
    revoked = admin.post(
        f"/apps/live-chats/{chat}/readers", {"username": "sales", "action": "revoke"}
    )
    assert revoked.status_code == 302
    assert browser_for("sales").get(f"/apps/items/{apps.item}/messages").status_code == 403
    admin.post(f"/apps/live-chats/{chat}/readers", {"username": "sales"})
    assert browser_for("sales").get(f"/apps/items/{apps.item}/messages").status_code == 200
    missing = admin.post(f"/apps/live-chats/{chat}/readers", {"username": "nobody"})
    assert missing.status_code == 422
    assert "No user “nobody”." in missing.get_data(as_text=True)
    assert browser_for("olga").get(f"/apps/live-chats/{chat}").status_code == 403


def test_operator_creates_an_item_prefilled_from_the_session(
    browser_for: Callable[[str], Browser], apps: Apps, world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    form = olga.get(f"/sessions/{world.evil}/items/new").get_data(as_text=True)
    assert f'value="{escape(HOSTILE_NAME)}"' in form
    assert '<label for="item-email">Email</label>' in form
    bad = olga.post(f"/sessions/{world.evil}/items", {"v_name": "Eve", "v_email": "not-mail"})
    assert bad.status_code == 422
    assert 'id="item-email-error"' in bad.get_data(as_text=True)
    good = olga.post(
        f"/sessions/{world.evil}/items",
        {"v_name": "Eve", "v_email": "eve@x.test", "v_segment": "smb"},
    )
    assert good.status_code == 302
    item = db_session.scalars(select(AppItem).where(AppItem.title == "Eve")).one()
    assert item.values == {"name": "Eve", "email": "eve@x.test", "segment": "smb"}
    db_session.rollback()  # end the read (SQLite: the app's writers may go on)
    page = olga.get(f"/sessions/{world.evil}").get_data(as_text=True)
    assert f'href="/apps/items/{item.id}">Eve</a>' in page
    assert "Create Clients item" in page


def test_operator_searches_and_links_an_existing_item(
    browser_for: Callable[[str], Browser], apps: Apps, world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    found = olga.get(f"/sessions/{world.first}/items/search?q=acme").get_data(as_text=True)
    assert "Acme Corp" in found and "Evil &amp; Co" not in found
    assert (
        olga.post(f"/sessions/{world.first}/items/link", {"item_id": apps.other}).status_code == 302
    )
    links = db_session.scalars(
        select(SessionItemLink.item_id).where(SessionItemLink.session_id == world.first)
    )
    assert list(links) == [apps.other]
    db_session.rollback()
    assert olga.post(f"/sessions/{world.first}/items/{apps.other}/unlink").status_code == 302


def test_session_side_is_for_staff_with_access_only(
    browser_for: Callable[[str], Browser], apps: Apps, world: World
) -> None:
    sales = _as(browser_for, "sales")
    assert sales.get(f"/sessions/{world.evil}/items/new").status_code == 403
    assert (
        sales.post(f"/sessions/{world.evil}/items/link", {"item_id": apps.other}).status_code == 403
    )
    sven = browser_for("sven")  # Sales operator: no access to Support sessions
    assert sven.get(f"/sessions/{world.evil}/items/new").status_code == 403
    unbound = browser_for("sven").get(f"/sessions/{world.sale}").get_data(as_text=True)
    assert 'id="items"' not in unbound  # Sales is bound to no app: no items card
    assert sven.get(f"/sessions/{world.sale}/items/new").status_code == 422


def test_admin_builds_an_app_and_others_may_not(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    sales_chat = world.desk.sales.id
    db_session.rollback()
    admin = browser_for("admin")
    created = admin.post("/apps", {"name": "Requests"})
    assert created.status_code == 302
    app_id = db_session.scalars(select(App.id).where(App.name == "Requests")).one()
    db_session.rollback()
    field = admin.post(
        f"/apps/{app_id}/fields", {"key": "title", "label": "Title", "type": "string"}
    )
    assert field.status_code == 302
    bad_key = admin.post(f"/apps/{app_id}/fields", {"key": "Bad", "label": "X", "type": "string"})
    assert bad_key.status_code == 422
    assert "not a lower-case identifier" in bad_key.get_data(as_text=True)
    item = admin.post(f"/apps/{app_id}/items", {"v_title": "<b>Refund</b>"})
    assert item.status_code == 302
    shown = admin.get(item.headers["Location"]).get_data(as_text=True)
    assert "&lt;b&gt;Refund&lt;/b&gt;" in shown
    assert admin.post("/apps", {"name": "Requests"}).status_code == 422
    assert browser_for("olga").post("/apps", {"name": "Mine"}).status_code == 403
    bound = admin.post(f"/apps/live-chats/{sales_chat}/binding", {"app_id": app_id})
    assert bound.status_code == 302
    assert "Create Requests item" in browser_for("sven").get(f"/sessions/{world.sale}").get_data(
        as_text=True
    )


def test_app_users_land_on_the_apps_and_see_no_staff_links(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": "sales", "password": PASSWORDS["sales"], "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/apps"
    page = client.get("/apps").get_data(as_text=True)
    assert ">Sessions</a>" not in page and ">My tasks</a>" not in page
