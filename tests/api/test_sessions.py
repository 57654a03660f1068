"""Contract tests: sessions and messages through the API, with access rules and error statuses."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.models import Message, SupportSession
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.sessions.quick_replies import save_quick_reply
from tests.api.support import Tokens
from tests.support import Desk

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
NEW = {
    "live_chat": "Support",
    "channel": "Telegram",
    "client": {"name": "Jane Doe", "email": "Jane@Example.com", "phone": "+49 30 1234567"},
    "subject": "Broken order",
    "priority": "high",
    "message": "My order arrived broken.",
}


def create(http: FlaskClient, headers: dict[str, str], **changes: Any) -> Any:
    """Create a session through the API from NEW with `changes`; returns the body."""
    response = http.post("/api/v1/sessions", json={**NEW, **changes}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_session_from_a_channel_with_first_message(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    body = create(client, tokens.operator)
    assert body["live_chat"] == "Support"
    assert body["channel"] == "Telegram"
    assert body["client"] == {
        "name": "Jane Doe",
        "email": "Jane@example.com",
        "phone": "+49301234567",
    }
    assert body["name"] == "Jane Doe — Broken order"
    assert body["status"] == "queued"
    assert body["priority"] == "high"
    assert body["params"] == {}
    thread = client.get(f"/api/v1/sessions/{body['id']}/messages", headers=tokens.operator)
    assert thread.status_code == 200
    assert [
        (m["author_kind"], m["author_name"], m["text"]) for m in thread.get_json()["items"]
    ] == [("client", "Jane Doe", "My order arrived broken.")]


def test_create_refuses_unknown_live_chat_channel_and_bad_email(
    client: FlaskClient, tokens: Tokens
) -> None:
    cases = [
        ({"live_chat": "Nope"}, {"live_chat": "unknown live chat"}),
        ({"channel": "Fax"}, {"channel": "unknown"}),
        (
            {"client": {"name": "J", "email": "not-an-email"}},
            {"client_email": "not a valid email address"},
        ),
        ({"priority": "asap"}, None),
    ]
    for changes, fields in cases:
        response = client.post("/api/v1/sessions", json={**NEW, **changes}, headers=tokens.operator)
        assert response.status_code == 422, changes
        error = response.get_json()["error"]
        assert error["code"] == "validation_error"
        if fields is not None:
            assert error["fields"] == fields
        else:
            assert list(error["fields"]) == ["priority"]


def test_create_in_a_live_chat_the_user_does_not_work_is_403(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    response = client.post("/api/v1/sessions", json=NEW, headers=tokens.seller)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert db_session.scalar(select(func.count()).select_from(SupportSession)) == 0


def test_get_is_scoped_by_access_and_shows_typed_parameters(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    add_parameter(db_session, "order_total", "money", "Order total")
    add_parameter(db_session, "vip", "boolean", "VIP")
    db_session.commit()
    session_id = create(client, tokens.operator)["id"]
    patch = client.patch(
        f"/api/v1/sessions/{session_id}/parameters",
        json={"values": {"order_total": "12.5 eur", "vip": "yes"}},
        headers=tokens.operator,
    )
    assert patch.status_code == 200, patch.get_json()
    got = client.get(f"/api/v1/sessions/{session_id}", headers=tokens.supervisor)
    assert got.status_code == 200
    assert got.get_json()["params"] == {
        "order_total": {"amount": "12.5", "currency": "EUR"},
        "vip": True,
    }
    assert client.get(f"/api/v1/sessions/{session_id}", headers=tokens.seller).status_code == 403
    missing = client.get("/api/v1/sessions/999", headers=tokens.operator)
    assert missing.status_code == 404
    assert missing.get_json() == {
        "error": {"code": "not_found", "message": "session 999 not found", "fields": {}}
    }
    huge = client.get(f"/api/v1/sessions/{2**63}", headers=tokens.operator)
    assert huge.status_code == 404


def test_list_filters_sorts_and_pages_like_the_ui(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    for name, priority in [("Ann", "low"), ("Bob", "urgent"), ("Cid", "normal")]:
        create(client, tokens.operator, client={"name": name}, priority=priority)
    create(client, tokens.seller, live_chat="Sales", channel=None, client={"name": "Dan"})

    def names(query: str, headers: dict[str, str] = tokens.operator) -> list[str]:
        response = client.get(f"/api/v1/sessions?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["client"]["name"] for item in response.get_json()["items"]]

    assert names("sort=priority") == ["Ann", "Cid", "Bob"]
    assert names("sort=-priority&per_page=2") == ["Bob", "Cid"]
    assert names("sort=-priority&per_page=2&page=2") == ["Ann"]
    assert names("filter=priority>=normal&sort=client") == ["Bob", "Cid"]
    assert names("filter=client~an&filter=status=queued") == ["Ann"]
    assert names("q=bob") == ["Bob"]
    assert sorted(names("", tokens.admin)) == ["Ann", "Bob", "Cid", "Dan"]
    assert names("", tokens.seller) == ["Dan"]
    page = client.get("/api/v1/sessions?per_page=1", headers=tokens.operator).get_json()
    assert (page["total"], page["page"], page["per_page"]) == (3, 1, 1)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("filter=nosuch=1", "nosuch"),
        ("filter=%3D%3D", "filter"),
        ("sort=nosuch", "sort"),
        ("per_page=201", "per_page"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("colour=red", "colour"),
    ],
)
def test_list_rejects_bad_queries_with_422(
    client: FlaskClient, tokens: Tokens, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/sessions?{query}", headers=tokens.operator)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_rename_and_close_refused_while_required_parameter_is_empty(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    add_parameter(
        db_session, "outcome", "choice", "Outcome", options=["ok"], required_to_close=True
    )
    add_parameter(db_session, "summary", "text", "Summary", required_to_close=True)
    db_session.commit()
    session_id = create(client, tokens.operator)["id"]
    spaced = client.patch(
        f"/api/v1/sessions/{session_id}", json={"name": "  VIP   case "}, headers=tokens.operator
    )
    assert spaced.status_code == 422  # kept as sent or refused, never trimmed quietly
    assert spaced.get_json()["error"]["fields"] == {"name": "must not begin or end with a space"}
    renamed = client.patch(
        f"/api/v1/sessions/{session_id}", json={"name": "VIP   case"}, headers=tokens.operator
    )
    assert renamed.status_code == 200
    assert (renamed.get_json()["name"], renamed.get_json()["name_is_manual"]) == (
        "VIP   case",
        True,
    )
    blank = client.patch(
        f"/api/v1/sessions/{session_id}", json={"name": "   "}, headers=tokens.operator
    )
    assert blank.status_code == 422
    assert blank.get_json()["error"]["fields"] == {"name": "must not be empty"}
    refused = client.post(f"/api/v1/sessions/{session_id}/close", headers=tokens.operator)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "outcome": "required to close",
        "summary": "required to close",
    }
    client.patch(
        f"/api/v1/sessions/{session_id}/parameters",
        json={"values": {"outcome": "ok", "summary": "Refunded"}},
        headers=tokens.operator,
    )
    closed = client.post(f"/api/v1/sessions/{session_id}/close", headers=tokens.operator)
    assert closed.status_code == 200
    assert closed.get_json()["status"] == "closed"
    assert closed.get_json()["closed_at"] is not None
    blank = client.patch(
        f"/api/v1/sessions/{session_id}", json={"name": "   "}, headers=tokens.operator
    )
    assert blank.status_code == 409  # closed: read-only before anything else is looked at
    assert blank.get_json()["error"]["code"] == "session_closed"
    other = client.patch(
        f"/api/v1/sessions/{session_id}", json={"name": "x"}, headers=tokens.seller
    )
    assert other.status_code == 403


def test_messages_append_list_pages_and_authors(
    client: FlaskClient, tokens: Tokens, desk: Desk, db_session: Session
) -> None:
    session_id = create(client, tokens.operator)["id"]
    url = f"/api/v1/sessions/{session_id}/messages"
    reply = client.post(
        url, json={"text": "We are on it", "author_kind": "operator"}, headers=tokens.operator
    )
    assert reply.status_code == 201
    assert (reply.get_json()["author_kind"], reply.get_json()["author_name"]) == (
        "operator",
        "Olga Operator",
    )
    client.post(url, json={"text": "Thanks"}, headers=tokens.operator)
    page = client.get(f"{url}?per_page=2&page=2", headers=tokens.operator).get_json()
    assert page["total"] == 3
    assert [m["text"] for m in page["items"]] == ["Thanks"]
    for body, field in [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 20_001}, "text"),
        ({"text": "x", "author_kind": "robot"}, "author_kind"),
        ({"text": "x", "extra": 1}, "extra"),
        ({"text": 5}, "text"),
    ]:
        response = client.post(url, json=body, headers=tokens.operator)
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["fields"], body
    assert client.post(url, json={"text": "x"}, headers=tokens.seller).status_code == 403
    assert client.get(url, headers=tokens.seller).status_code == 403
    missing = client.post(
        "/api/v1/sessions/777/messages", json={"text": "x"}, headers=tokens.operator
    )
    assert missing.status_code == 404
    assert db_session.scalar(select(func.count()).select_from(Message)) == 3


def test_people_post_only_as_operator_and_the_channel_account_for_the_client(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    session_id = create(client, tokens.widget)["id"]
    url = f"/api/v1/sessions/{session_id}/messages"
    for headers in (tokens.operator, tokens.supervisor, tokens.admin):
        for kind in ("client", "system"):
            refused = client.post(
                url, json={"text": "I am the client", "author_kind": kind}, headers=headers
            )
            assert refused.status_code == 403, (kind, refused.get_json())
            error = refused.get_json()["error"]
            assert error["code"] == "forbidden"
            assert error["fields"] == {"author_kind": "people post only as operator"}
    # Without author_kind a person's post is an operator reply, named after them.
    reply = client.post(url, json={"text": "  On it\n"}, headers=tokens.supervisor)
    assert reply.status_code == 201
    assert (reply.get_json()["author_kind"], reply.get_json()["author_name"]) == (
        "operator",
        "Sam Supervisor",
    )
    assert reply.get_json()["text"] == "On it"
    # The channel account writes the client's side, never a reply nor a system message.
    said = client.post(url, json={"text": "Thanks!"}, headers=tokens.widget)
    assert (said.status_code, said.get_json()["author_kind"], said.get_json()["author_name"]) == (
        201,
        "client",
        "Jane Doe",
    )
    for kind in ("operator", "system"):
        posing = client.post(url, json={"text": "Hi", "author_kind": kind}, headers=tokens.widget)
        assert posing.status_code == 403
        assert posing.get_json()["error"]["fields"] == {
            "author_kind": "a channel account posts as the client only"
        }
    # An app user posts nothing; a reply too long is refused naming the text.
    assert client.post(url, json={"text": "x"}, headers=tokens.app_user).status_code == 403
    long = client.post(url, json={"text": "x" * 4001}, headers=tokens.operator)
    assert long.status_code == 422
    assert long.get_json()["error"]["fields"] == {"text": "at most 4000 characters (4001 now)"}
    thread = client.get(url, headers=tokens.operator).get_json()["items"]
    assert [(m["author_kind"], m["text"]) for m in thread] == [
        ("client", "My order arrived broken."),
        ("operator", "On it"),
        ("client", "Thanks!"),
    ]
    assert db_session.scalar(select(func.count()).select_from(Message)) == 3


def test_a_channel_account_only_feeds_and_reads_the_conversation(
    client: FlaskClient, tokens: Tokens
) -> None:
    session_id = create(client, tokens.widget)["id"]
    url = f"/api/v1/sessions/{session_id}"
    assert client.get(url, headers=tokens.widget).status_code == 200
    assert client.get(f"{url}/messages", headers=tokens.widget).status_code == 200
    for method, path, body in [
        ("patch", url, {"name": "Renamed by a bot"}),
        ("post", f"{url}/close", None),
        ("get", "/api/v1/sessions", None),
        ("patch", f"{url}/parameters", {"values": {}}),
    ]:
        refused = getattr(client, method)(path, json=body, headers=tokens.widget)
        assert refused.status_code == 403, (method, path)
        assert refused.get_json()["error"]["message"] == (
            "a channel account creates sessions and posts and reads their messages only"
        )


def test_a_rename_with_a_stale_version_is_409_naming_who_renamed(
    client: FlaskClient, tokens: Tokens
) -> None:
    created = create(client, tokens.widget)
    url = f"/api/v1/sessions/{created['id']}"
    seen = created["version"]
    first = client.patch(url, json={"name": "First", "version": seen}, headers=tokens.operator)
    assert first.status_code == 200
    stale = client.patch(url, json={"name": "Second", "version": seen}, headers=tokens.supervisor)
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["code"] == "conflict"
    assert error["fields"] == {"name": "changed by Olga Operator since"}
    assert client.get(url, headers=tokens.operator).get_json()["name"] == "First"
    fresh = first.get_json()["version"]
    again = client.patch(url, json={"name": "Second", "version": fresh}, headers=tokens.supervisor)
    assert (again.status_code, again.get_json()["name"]) == (200, "Second")
    # Without a version there is no check (the last write wins, as before).
    assert client.patch(url, json={"name": "Third"}, headers=tokens.operator).status_code == 200


def test_quick_replies_rendered_for_a_session(
    client: FlaskClient, tokens: Tokens, desk: Desk, db_session: Session
) -> None:
    session_id = create(client, tokens.widget)["id"]
    save_quick_reply(db_session, "Hello", "Hello {client.name}, about {subject}.")
    save_quick_reply(db_session, "Sales", "Sales only", desk.sales)
    db_session.commit()
    url = f"/api/v1/sessions/{session_id}/quick-replies"
    listed = client.get(url, headers=tokens.operator)
    assert listed.status_code == 200
    assert [(q["title"], q["text"]) for q in listed.get_json()["items"]] == [
        ("Hello", "Hello Jane Doe, about Broken order.")
    ]
    assert client.get(url, headers=tokens.seller).status_code == 403
    assert client.get(url, headers=tokens.widget).status_code == 403
