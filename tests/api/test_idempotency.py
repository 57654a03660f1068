"""Idempotency-Key: a channel that retries after a timeout creates nothing twice."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.idempotency import purge_expired
from bpm_livechat.desk.tokens import authenticate_token
from bpm_livechat.models import IdempotencyRecord, Message, SupportSession, utcnow
from tests.api.support import Tokens
from web.api import dispatch
from web.api.schemas import MessageOut
from web.api.spec import KeyedResult, Operation, Registry

ON_BOTH = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
ON_SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
NEW = {"live_chat": "Support", "client": {"name": "Jane"}, "subject": "Hi", "message": "Hello"}


def count(db: Session, model: type[SupportSession] | type[Message]) -> int:
    """Rows in a table; ends the read so the app's writers are not kept waiting (SQLite)."""
    rows = db.scalar(select(func.count()).select_from(model)) or 0
    db.rollback()
    return rows


@ON_BOTH
def test_retried_create_returns_the_first_result_and_creates_nothing(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    headers = {**tokens.operator, "Idempotency-Key": "widget-42-a"}
    first = client.post("/api/v1/sessions", json=NEW, headers=headers)
    again = client.post("/api/v1/sessions", json=NEW, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count(db_session, SupportSession) == 1
    assert count(db_session, Message) == 1

    url = f"/api/v1/sessions/{first.get_json()['id']}/messages"
    key = {**tokens.operator, "Idempotency-Key": "msg-1"}
    m1 = client.post(url, json={"text": "More"}, headers=key)
    m2 = client.post(url, json={"text": "More"}, headers=key)
    assert m1.get_json() == m2.get_json()
    assert count(db_session, Message) == 2
    # The same text under a new key is a new message; without a key, every call creates.
    client.post(url, json={"text": "More"}, headers={**tokens.operator, "Idempotency-Key": "msg-2"})
    client.post(url, json={"text": "More"}, headers=tokens.operator)
    assert count(db_session, Message) == 4


@ON_SQLITE
def test_reused_key_with_another_body_is_422_and_keys_are_per_user(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    headers = {**tokens.operator, "Idempotency-Key": "k1"}
    assert client.post("/api/v1/sessions", json=NEW, headers=headers).status_code == 201
    other = client.post("/api/v1/sessions", json={**NEW, "subject": "Other"}, headers=headers)
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert list(other.get_json()["error"]["fields"]) == ["Idempotency-Key"]
    # Same body with keys reordered is the same request.
    reordered = dict(reversed(list(NEW.items())))
    assert client.post("/api/v1/sessions", json=reordered, headers=headers).status_code == 201
    # Another user's identical key is a different key.
    supervisor = {**tokens.supervisor, "Idempotency-Key": "k1"}
    assert client.post("/api/v1/sessions", json=NEW, headers=supervisor).status_code == 201
    assert count(db_session, SupportSession) == 2


@ON_SQLITE
def test_failed_requests_are_not_remembered(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    headers = {**tokens.operator, "Idempotency-Key": "k2"}
    failed = client.post("/api/v1/sessions", json={**NEW, "live_chat": "Nope"}, headers=headers)
    assert failed.status_code == 422
    fixed = client.post("/api/v1/sessions", json=NEW, headers=headers)
    assert fixed.status_code == 201
    assert count(db_session, SupportSession) == 1


@ON_SQLITE
@pytest.mark.parametrize("bad", ["", "has space", "x" * 256, "ключ"])
def test_a_malformed_key_is_400_after_the_token_is_checked(
    client: FlaskClient, tokens: Tokens, db_session: Session, bad: str
) -> None:
    response = client.post(
        "/api/v1/sessions", json=NEW, headers={**tokens.operator, "Idempotency-Key": bad}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_header"
    unknown = {"Authorization": "Bearer nope", "Idempotency-Key": bad}
    assert client.post("/api/v1/sessions", json=NEW, headers=unknown).status_code == 401
    assert count(db_session, SupportSession) == 0


@ON_SQLITE
def test_expired_records_are_purged(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    client.post("/api/v1/sessions", json=NEW, headers={**tokens.operator, "Idempotency-Key": "old"})
    assert purge_expired(db_session) == 0
    assert purge_expired(db_session, now=utcnow() + timedelta(hours=25)) == 1
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def _send_at_once(app: Flask, url: str, body: object, headers: dict[str, str]) -> Any:
    """Four identical requests released together; asserts one was done and three replayed it."""
    barrier = threading.Barrier(4)
    answers: list[tuple[int, bool, Any]] = []

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(url, json=body, headers=headers)
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        answers.append((response.status_code, replayed, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer[:2] for answer in answers) == [(201, False)] + [(201, True)] * 3
    assert all(answer[2] == answers[0][2] for answer in answers)
    return answers[0][2]


@ON_BOTH
def test_concurrent_retries_with_one_key_create_once_and_all_get_the_first_answer(
    app: Flask, tokens: Tokens, db_session: Session
) -> None:
    # The key is looked up before the writer lock, so the losers of a race meet the unique
    # constraint; they undo their work and answer as the winner did.
    headers = {**tokens.operator, "Idempotency-Key": "race-1"}
    created = _send_at_once(app, "/api/v1/sessions", NEW, headers)
    assert count(db_session, SupportSession) == 1
    url = f"/api/v1/sessions/{created['id']}/messages"
    headers = {**tokens.operator, "Idempotency-Key": "race-2"}
    assert _send_at_once(app, url, {"text": "Once"}, headers)["text"] == "Once"
    assert count(db_session, Message) == 2


@ON_BOTH
def test_a_key_stored_after_the_lookup_is_replayed_and_nothing_is_created(
    client: FlaskClient, tokens: Tokens, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**tokens.operator, "Idempotency-Key": "late"}
    first = client.post("/api/v1/sessions", json=NEW, headers=headers)
    url = f"/api/v1/sessions/{first.get_json()['id']}/messages"
    message_key = {**tokens.operator, "Idempotency-Key": "late-message"}
    first_message = client.post(url, json={"text": "Once"}, headers=message_key)

    def looked_up_too_early(db: Session, plaintext: str, key: str, print_: str) -> object:
        return authenticate_token(db, plaintext), None  # as if the first had not committed yet

    monkeypatch.setattr(dispatch, "authenticate_keyed", looked_up_too_early)
    again = client.post("/api/v1/sessions", json=NEW, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    other = client.post("/api/v1/sessions", json={**NEW, "subject": "Other"}, headers=headers)
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    # On PostgreSQL the message and its record are one statement: the record's key clashes,
    # so the statement stores neither, and the first answer is replayed.
    message_again = client.post(url, json={"text": "Once"}, headers=message_key)
    assert message_again.status_code == 201
    assert message_again.headers["Idempotent-Replayed"] == "true"
    assert message_again.get_json() == first_message.get_json()
    assert count(db_session, SupportSession) == 1
    assert count(db_session, Message) == 2


@ON_BOTH
def test_a_keyed_message_is_stored_with_the_record_of_its_answer(
    app: Flask, client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    created = client.post("/api/v1/sessions", json=NEW, headers=tokens.operator).get_json()
    url = f"/api/v1/sessions/{created['id']}/messages"
    statements: list[str] = []
    engine = app.extensions["bpm_livechat.engine"]

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        posted = client.post(
            url, json={"text": "Hi"}, headers={**tokens.widget, "Idempotency-Key": "m"}
        )
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert posted.status_code == 201
    stored = db_session.scalars(select(IdempotencyRecord).where(IdempotencyRecord.key == "m")).one()
    assert (stored.status_code, stored.response) == (201, posted.get_json())
    assert stored.response["author_name"] == "Jane"
    db_session.rollback()  # SQLite: every transaction holds the write lock
    if engine.dialect.name == "postgresql":  # the token's read, then one write in autocommit
        assert len(statements) == 2, statements
        assert statements[1].lstrip().startswith("WITH")
    # A refused message stores neither the message nor a record of the refusal.
    refused = client.post(
        "/api/v1/sessions/999/messages",
        json={"text": "Hi"},
        headers={**tokens.widget, "Idempotency-Key": "x"},
    )
    assert refused.status_code == 404
    assert (
        db_session.scalar(
            select(func.count()).select_from(IdempotencyRecord).where(IdempotencyRecord.key == "x")
        )
        == 0
    )
    assert count(db_session, Message) == 2


def test_a_one_statement_operation_needs_a_response_model() -> None:
    with pytest.raises(ValueError, match="needs a response model"):
        Registry().operation("POST", "/x", summary="x", tag="x", one_statement=True)


@ON_BOTH
def test_a_one_statement_handler_that_leaves_its_key_unrecorded_is_an_error(
    app: Flask, tokens: Tokens, db_session: Session
) -> None:
    # The handler's write records the key atomically (on PostgreSQL in the same statement, run
    # in autocommit): a record written afterwards would not be, so the dispatcher refuses.
    def forgetful(db: Session, keyed: object) -> KeyedResult:
        message = MessageOut(
            id=1, session_id=1, author_kind="client", author_name="x", text="x", sent_at=utcnow()
        )
        return KeyedResult(message, key_recorded=False)

    op = Operation(
        method="POST", rule="/forgetful", handler=forgetful, summary="x", tag="x",
        response=MessageOut, status=201, idempotent=True, writes=True, one_statement=True,
    )  # fmt: skip
    app.add_url_rule(op.rule, "forgetful", dispatch.make_view(op), methods=["POST"])
    client = app.test_client()
    with pytest.raises(RuntimeError, match="did not store its Idempotency-Key"):
        client.post(op.rule, headers={**tokens.operator, "Idempotency-Key": "k"})
    assert client.post(op.rule, headers=tokens.operator).status_code == 201  # no key: fine
    assert db_session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
