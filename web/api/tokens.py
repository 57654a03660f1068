"""The caller's own personal API tokens: list, create (shown once), revoke."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bpm_livechat.desk.tokens import create_token, list_tokens, revoke_token
from bpm_livechat.models import ApiToken, User

from .schemas import TokenCreate, TokenCreated, TokenList, TokenOut
from .spec import Registry

api = Registry()
TAG = "tokens"


def _out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        hint=token.hint + "...",
        created_at=token.created_at,
        revoked=token.revoked_at is not None,
    )


@api.operation("GET", "/tokens", summary="My API tokens", tag=TAG, response=TokenList)
def list_tokens_api(db: Session, user: User) -> TokenList:
    """The caller's tokens (never their text)."""
    return TokenList(items=[_out(t) for t in list_tokens(db, user)])


@api.operation(
    "POST", "/tokens", summary="Create an API token (its text is shown once)", tag=TAG,
    body=TokenCreate, response=TokenCreated, status=201,
)  # fmt: skip
def create_token_api(db: Session, user: User, body: TokenCreate) -> TokenCreated:
    """A new token for the caller."""
    token, plaintext = create_token(db, user, body.name)
    return TokenCreated(**_out(token).model_dump(), token=plaintext)


@api.operation(
    "POST", "/tokens/<int:token_id>/revoke", summary="Revoke an API token", tag=TAG,
    response=TokenOut,
)  # fmt: skip
def revoke_token_api(db: Session, user: User, token_id: int) -> TokenOut:
    """The token stops working at once (admins may revoke anyone's)."""
    return _out(revoke_token(db, token_id, user))
