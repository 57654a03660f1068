"""Users and roles (admins): create users, change roles, reset passwords, live chat membership."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bpm_livechat.desk.administration import list_users, memberships, remove_member, set_role
from bpm_livechat.desk.livechats import add_member, list_live_chats
from bpm_livechat.desk.users import create_user, set_password
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import LiveChat, MemberRole, Role, User
from web.admin import field_errors, require_admin
from web.db import get_db, writes

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")
bp.before_request(require_admin)

ROLES = [r.value for r in Role]
MEMBER_ROLES = [r.value for r in MemberRole]


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFoundError("user", user_id)
    return user


def _index(status: int = 200, **context: Any) -> ResponseReturnValue:
    page = render_template(
        "admin_users.html",
        users=list_users(get_db()),
        roles=ROLES,
        errors=context.pop("errors", {}),
        form=context.pop("form", {}),
    )
    return page, status


def _detail(user: User, status: int = 200, **context: Any) -> ResponseReturnValue:
    db = get_db()
    page = render_template(
        "admin_user.html",
        user=user,
        roles=ROLES,
        member_roles=MEMBER_ROLES,
        memberships=memberships(db, user),
        chats=list_live_chats(db),
        errors=context.pop("errors", {}),
        form=context.pop("form", {}),
    )
    return page, status


@bp.get("")
def index() -> ResponseReturnValue:
    """Every user with their role, and a form to create one."""
    return _index()


@bp.post("")
@writes
def create() -> ResponseReturnValue:
    """Create a user with a role and a first password."""
    form = {k: request.form.get(k, "") for k in ("username", "display_name", "role")}
    password = request.form.get("password", "")
    try:
        user = create_user(
            get_db(), form["username"].strip(), form["role"], password, form["display_name"].strip()
        )
    except ValidationError as exc:
        return _index(422, errors=field_errors(exc, "username"), form=form)
    flash(f"User {user.username} created.")
    return redirect(url_for(".detail", user_id=user.id))


@bp.get("/<id:user_id>")
def detail(user_id: int) -> ResponseReturnValue:
    """One user's role, password and live chat memberships."""
    return _detail(_user(get_db(), user_id))


@bp.post("/<id:user_id>/role")
@writes
def change_role(user_id: int) -> ResponseReturnValue:
    """Set the user's role; memberships the new role cannot hold are removed (and listed)."""
    db = get_db()
    user = _user(db, user_id)
    role = request.form.get("role", "")
    try:
        dropped = set_role(db, user, role)
    except ValidationError as exc:  # raised before anything changed
        return _detail(user, 422, errors=field_errors(exc, "role"))
    flash(f"{user.username} is now {user.role}.")
    for member in dropped:
        flash(f"{user.username} is no longer a {member.role} of {member.live_chat.name}.")
    return redirect(url_for(".detail", user_id=user.id))


@bp.post("/<id:user_id>/password")
@writes
def reset_password(user_id: int) -> ResponseReturnValue:
    """Give the user a new password; their other logins end."""
    db = get_db()
    user = _user(db, user_id)
    try:
        set_password(user, request.form.get("password", ""))
    except ValidationError as exc:
        return _detail(user, 422, errors=field_errors(exc, "password"))
    flash(f"Password of {user.username} reset.")
    return redirect(url_for(".detail", user_id=user.id))


@bp.post("/<id:user_id>/memberships")
@writes
def add_membership(user_id: int) -> ResponseReturnValue:
    """Make the user an operator, supervisor or reader of a live chat."""
    db = get_db()
    user = _user(db, user_id)
    form = {"live_chat": request.form.get("live_chat", ""), "member_role": ""}
    form["member_role"] = request.form.get("member_role", "")
    chat = db.get(LiveChat, int(form["live_chat"])) if form["live_chat"].isdigit() else None
    if chat is None:
        return _detail(user, 422, errors={"live_chat": "choose a live chat"}, form=form)
    if form["member_role"] not in MEMBER_ROLES:
        return _detail(user, 422, errors={"member_role": "choose a role"}, form=form)
    try:
        add_member(db, chat, user, MemberRole(form["member_role"]))
    except ValidationError as exc:
        errors = {"member_role": field_errors(exc, "role").get("role", exc.message)}
        return _detail(user, 422, errors=errors, form=form)
    flash(f"{user.username} is now a {form['member_role']} of {chat.name}.")
    return redirect(url_for(".detail", user_id=user.id))


@bp.post("/<id:user_id>/memberships/<id:chat_id>/<role>/remove")
@writes
def drop_membership(user_id: int, chat_id: int, role: str) -> ResponseReturnValue:
    """Take a live chat role away from the user."""
    db = get_db()
    user = _user(db, user_id)
    chat = db.get(LiveChat, chat_id)
    if chat is None or role not in MEMBER_ROLES:
        raise NotFoundError("membership", f"{chat_id}/{role}")
    if remove_member(db, chat, user, MemberRole(role)):
        flash(f"{user.username} is no longer a {role} of {chat.name}.")
    return redirect(url_for(".detail", user_id=user.id))
