"""Users and roles over HTTP: admins only; create, change roles, reset passwords, memberships."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy.orm import Session

from bpm_livechat.desk.administration import memberships
from bpm_livechat.desk.users import get_user
from bpm_livechat.models import User
from tests.web.support import PASSWORDS, Browser, World, csrf_token


def _user(db: Session, username: str) -> User:
    db.expire_all()
    user = get_user(db, username)
    db.expunge(user)
    db.rollback()
    return user


def _login(app: Flask, username: str, password: str) -> int:
    client = app.test_client()
    token = csrf_token(client)
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=data).status_code


def test_only_admins_manage_users(browser_for: Callable[[str], Browser], world: World) -> None:
    for username in ("sam", "olga"):
        browser = browser_for(username)
        assert browser.get("/admin/users").status_code == 403
        response = browser.post(f"/admin/users/{world.desk.operator.id}/role", {"role": "admin"})
        assert response.status_code == 403
    assert "Admin</a>" not in browser_for("sam").get("/sessions").get_data(as_text=True)
    assert "Admin</a>" in browser_for("admin").get("/sessions").get_data(as_text=True)


def test_create_a_user_who_can_then_log_in(
    app: Flask, browser_for: Callable[[str], Browser], db_session: Session
) -> None:
    admin = browser_for("admin")
    short = admin.post(
        "/admin/users", {"username": "nina", "role": "operator", "password": "short"}
    )
    assert short.status_code == 422
    html = short.get_data(as_text=True)
    assert 'id="user-password-error">at least 8 characters<' in html
    assert 'value="nina"' in html and "short" not in html.split('id="user-password"')[1][:80]
    taken = admin.post(
        "/admin/users", {"username": "olga", "role": "operator", "password": "x" * 9}
    )
    assert taken.status_code == 422 and "already exists" in taken.get_data(as_text=True)
    created = admin.post(
        "/admin/users",
        {
            "username": "nina",
            "display_name": "Nina <N>",
            "role": "supervisor",
            "password": "nina-pass-1",
        },
    )
    assert created.status_code == 303
    nina = _user(db_session, "nina")
    assert (nina.role, nina.display_name) == ("supervisor", "Nina <N>")
    assert _login(app, "nina", "nina-pass-1") == 302
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "Nina &lt;N&gt;" in listing


def test_role_change_drops_memberships_it_cannot_hold(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    admin = browser_for("admin")
    sam_id = world.desk.supervisor.id
    response = admin.post(f"/admin/users/{sam_id}/role", {"role": "user"})
    assert response.status_code == 303
    sam = _user(db_session, "sam")
    assert sam.role == "user"
    assert memberships(db_session, db_session.merge(sam)) == []
    db_session.rollback()
    page = admin.get(f"/admin/users/{sam_id}").get_data(as_text=True)
    assert "no longer a supervisor of Support" in page
    bad = admin.post(f"/admin/users/{sam_id}/role", {"role": "king"})
    assert bad.status_code == 422


def test_the_last_admin_keeps_the_role(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    admin = browser_for("admin")
    response = admin.post(f"/admin/users/{world.desk.admin.id}/role", {"role": "operator"})
    assert response.status_code == 422
    assert "the last admin must stay admin" in response.get_data(as_text=True)
    assert _user(db_session, "admin").role == "admin"


def test_reset_password(app: Flask, browser_for: Callable[[str], Browser], world: World) -> None:
    admin = browser_for("admin")
    olga_id = world.desk.operator.id
    assert admin.post(f"/admin/users/{olga_id}/password", {"password": "tiny"}).status_code == 422
    assert _login(app, "olga", PASSWORDS["olga"]) == 302
    done = admin.post(f"/admin/users/{olga_id}/password", {"password": "new-olga-pass"})
    assert done.status_code == 303
    assert _login(app, "olga", PASSWORDS["olga"]) == 401
    assert _login(app, "olga", "new-olga-pass") == 302


def test_add_and_remove_live_chat_membership(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    admin = browser_for("admin")
    olga_id, sales_id = world.desk.operator.id, world.desk.sales.id
    refused = admin.post(
        f"/admin/users/{olga_id}/memberships",
        {"live_chat": str(sales_id), "member_role": "supervisor"},
    )
    assert refused.status_code == 422
    added = admin.post(
        f"/admin/users/{olga_id}/memberships", {"live_chat": str(sales_id), "member_role": "reader"}
    )
    assert added.status_code == 303
    page = admin.get(f"/admin/users/{olga_id}").get_data(as_text=True)
    assert "Remove as reader of Sales" in page
    removed = admin.post(f"/admin/users/{olga_id}/memberships/{sales_id}/reader/remove")
    assert removed.status_code == 303
    olga = db_session.merge(_user(db_session, "olga"))
    assert [(m.live_chat.name, m.role) for m in memberships(db_session, olga)] == [
        ("Support", "operator")
    ]
    db_session.rollback()
    missing = admin.post(f"/admin/users/{olga_id}/memberships/{sales_id}/boss/remove")
    assert missing.status_code == 404
