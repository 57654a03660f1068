"""`bpm-livechat token ...`: personal API tokens for scripts and chat channel integrations."""

from __future__ import annotations

import click

from bpm_livechat.desk.tokens import create_token, list_tokens, revoke_token
from bpm_livechat.desk.users import get_user

from .common import emit, handles_errors, json_option, transaction


@click.group()
def token() -> None:
    """Personal API tokens."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="", help="What the token is for (shown in token lists).")
@json_option
@handles_errors
def create(username: str, name: str, as_json: bool) -> None:
    """Create a token for USERNAME and print it once; only its hash is stored."""
    with transaction() as db:
        new, plaintext = create_token(db, get_user(db, username), name)
        data = {"token": plaintext, "id": new.id, "name": new.name, "user": username}
    emit(data, as_json, plaintext)


@token.command("list")
@click.argument("username")
@json_option
@handles_errors
def list_(username: str, as_json: bool) -> None:
    """List USERNAME's tokens (never their text)."""
    with transaction() as db:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "hint": t.hint + "...",
                "created_at": t.created_at,
                "revoked": t.revoked_at is not None,
            }
            for t in list_tokens(db, get_user(db, username))
        ]
    lines = [
        f"{r['id']}\t{r['hint']}\t{r['name']}{' (revoked)' if r['revoked'] else ''}" for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "no tokens")


@token.command("revoke")
@click.argument("username")
@click.argument("token_id", type=int)
@json_option
@handles_errors
def revoke(username: str, token_id: int, as_json: bool) -> None:
    """Revoke token TOKEN_ID of USERNAME."""
    with transaction() as db:
        revoked = revoke_token(db, token_id, get_user(db, username))
        data = {"id": revoked.id, "revoked": True}
    emit(data, as_json, f"token {token_id} revoked")
