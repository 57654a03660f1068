"""Users and roles (admins): create users, change roles, reset passwords, live chat membership."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bpm_livechat.desk.administration import list_users, memberships, remove_member, set_role
from bpm_livechat.desk.livechats import add_member, list_live_chats
from bpm_livechat.desk.logins import end_logins
from bpm_livechat.desk.users import create_user, set_active, set_password
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import LiveChat, MemberRole, Role, User
from web.admin import admin_blueprint, field_errors, saved
from web.auth import own_login
from web.db import form_post, get_db, writes

bp = admin_blueprint("admin_users", __name__, "/admin/users")

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


def _new_user_form() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in ("username", "display_name", "role")}


def _create_refused(exc: ValidationError) -> ResponseReturnValue:
    return _index(422, errors=field_errors(exc, "username"), form=_new_user_form())


@bp.post("")
@form_post(_create_refused)
def create() -> ResponseReturnValue:
    """Create a user with a role and a first password."""
    form, password = _new_user_form(), request.form.get("password", "")
    user = create_user(
        get_db(), form["username"].strip(), form["role"], password, form["display_name"].strip()
    )
    return saved(f"User {user.username} created.", ".detail", user_id=user.id)


@bp.get("/<id:user_id>")
def detail(user_id: int) -> ResponseReturnValue:
    """One user's role, password and live chat memberships."""
    return _detail(_user(get_db(), user_id))


def _role_refused(exc: ValidationError, user_id: int) -> ResponseReturnValue:
    return _detail(_user(get_db(), user_id), 422, errors=field_errors(exc, "role"))


@bp.post("/<id:user_id>/role")
@form_post(_role_refused)
def change_role(user_id: int) -> ResponseReturnValue:
    """Set the user's role; memberships the new role cannot hold are removed (and listed)."""
    db = get_db()
    user = _user(db, user_id)
    dropped = set_role(db, user, request.form.get("role", ""))
    for member in dropped:
        flash(f"{user.username} is no longer a {member.role} of {member.live_chat.name}.")
    return saved(f"{user.username} is now {user.role}.", ".detail", user_id=user.id)


def _password_refused(exc: ValidationError, user_id: int) -> ResponseReturnValue:
    return _detail(_user(get_db(), user_id), 422, errors=field_errors(exc, "password"))


@bp.post("/<id:user_id>/password")
@form_post(_password_refused)
def reset_password(user_id: int) -> ResponseReturnValue:
    """Give the user a new password; their logins end (an admin setting their own keeps the
    login they set it from)."""
    user = _user(get_db(), user_id)
    set_password(get_db(), user, request.form.get("password", ""), keep=own_login(user))
    return saved(f"Password of {user.username} reset.", ".detail", user_id=user.id)


@bp.post("/<id:user_id>/sign-out")
@writes
def sign_out_everywhere(user_id: int) -> ResponseReturnValue:
    """End every login of the user, in every browser and on every worker."""
    user = _user(get_db(), user_id)
    end_logins(get_db(), user)
    return saved(f"{user.username} is signed out everywhere.", ".detail", user_id=user.id)


def _active_refused(exc: ValidationError, user_id: int) -> ResponseReturnValue:
    return _detail(_user(get_db(), user_id), 422, errors=field_errors(exc, "active"))


@bp.post("/<id:user_id>/active")
@form_post(_active_refused)
def change_active(user_id: int) -> ResponseReturnValue:
    """Deactivate the user (their logins end, their tokens stop working) or activate them again."""
    user = _user(get_db(), user_id)
    set_active(get_db(), user, request.form.get("active") == "yes")
    state = "active again" if user.active else "deactivated"
    return saved(f"{user.username} is {state}.", ".detail", user_id=user.id)


def _membership_form() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in ("live_chat", "member_role")}


def _membership_refused(exc: ValidationError, user_id: int) -> ResponseReturnValue:
    user = _user(get_db(), user_id)
    return _detail(user, 422, errors=dict(exc.fields), form=_membership_form())


@bp.post("/<id:user_id>/memberships")
@form_post(_membership_refused)
def add_membership(user_id: int) -> ResponseReturnValue:
    """Make the user an operator, supervisor or reader of a live chat."""
    db = get_db()
    user = _user(db, user_id)
    form = _membership_form()
    chat = db.get(LiveChat, int(form["live_chat"])) if form["live_chat"].isdigit() else None
    if chat is None:
        raise ValidationError("no live chat chosen", {"live_chat": "choose a live chat"})
    if form["member_role"] not in MEMBER_ROLES:
        raise ValidationError("no role chosen", {"member_role": "choose a role"})
    try:
        add_member(db, chat, user, MemberRole(form["member_role"]))
    except ValidationError as exc:
        message = field_errors(exc, "role").get("role", exc.message)
        raise ValidationError(exc.message, {"member_role": message}) from None
    message = f"{user.username} is now a {form['member_role']} of {chat.name}."
    return saved(message, ".detail", user_id=user.id)


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
    return redirect(url_for(".detail", user_id=user.id), 303)
