"""Personal API tokens: shown once, stored hashed, revocable; CLI and API ways to make them."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from bpm_livechat.desk.tokens import authenticate_token, create_token, revoke_token
from bpm_livechat.errors import AccessDeniedError, NotFoundError, ValidationError
from bpm_livechat.models import ApiToken
from tests.api.support import Tokens
from tests.support import Desk

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def test_token_is_stored_only_as_its_sha256(db_session: Session, desk: Desk) -> None:
    token, plaintext = create_token(db_session, desk.operator, "  Web   widget ")
    db_session.commit()
    assert plaintext.startswith("bpm_") and len(plaintext) > 40
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.name == "Web widget"
    assert token.hint == plaintext[:8]
    stored = db_session.execute(select(ApiToken.__table__)).one()
    assert plaintext not in [str(v) for v in stored]
    assert authenticate_token(db_session, plaintext) is desk.operator
    assert authenticate_token(db_session, plaintext + "x") is None
    assert authenticate_token(db_session, "not-ours") is None


def test_revoke_by_owner_or_admin_only(db_session: Session, desk: Desk) -> None:
    token, plaintext = create_token(db_session, desk.operator)
    with pytest.raises(AccessDeniedError):
        revoke_token(db_session, token.id, desk.seller)
    with pytest.raises(NotFoundError):
        revoke_token(db_session, 999, desk.operator)
    revoke_token(db_session, token.id, desk.admin)
    revoked_at = token.revoked_at
    assert revoked_at is not None
    revoke_token(db_session, token.id, desk.operator)
    assert token.revoked_at == revoked_at
    assert authenticate_token(db_session, plaintext) is None
    with pytest.raises(ValidationError):
        create_token(db_session, desk.operator, "n" * 65)


def test_cli_token_create_prints_the_token_once_as_json(
    engine: Engine, desk: Desk, db_session: Session
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli, ["--database-url", url, "token", "create", "olga", "--name", "widget", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == "widget"
    assert authenticate_token(db_session, data["token"]) == desk.operator
    db_session.rollback()
    listed = CliRunner().invoke(cli, ["--database-url", url, "token", "list", "olga", "--json"])
    assert data["token"] not in listed.stdout
    assert json.loads(listed.stdout)[0]["revoked"] is False
    revoked = CliRunner().invoke(
        cli, ["--database-url", url, "token", "revoke", "olga", str(data["id"])]
    )
    assert revoked.exit_code == 0
    missing = CliRunner().invoke(cli, ["--database-url", url, "token", "create", "nobody"])
    assert missing.exit_code == 1
    assert "user 'nobody' not found" in missing.stderr


def test_tokens_through_the_api(client: FlaskClient, tokens: Tokens) -> None:
    created = client.post("/api/v1/tokens", json={"name": "CRM"}, headers=tokens.operator)
    assert created.status_code == 201
    new = created.get_json()
    assert new["name"] == "CRM" and new["revoked"] is False
    mine = {"Authorization": f"Bearer {new['token']}"}
    listed = client.get("/api/v1/tokens", headers=mine).get_json()["items"]
    assert [t["name"] for t in listed] == ["test", "CRM"]
    assert all("token" not in t for t in listed)
    assert (
        client.post(f"/api/v1/tokens/{new['id']}/revoke", headers=tokens.seller).status_code == 403
    )
    revoked = client.post(f"/api/v1/tokens/{new['id']}/revoke", headers=mine)
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    assert client.get("/api/v1/tokens", headers=mine).status_code == 401
