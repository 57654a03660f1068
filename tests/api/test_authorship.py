"""Who may say what (issue 18 item 3): 401 comes before any validation; people post only as
the operator, a channel account only as the client, system messages are the product's."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.models import Message
from tests.api.support import Tokens

BAD_BODIES = [
    ("POST", "/api/v1/sessions", {"live_chat": 7}),
    ("POST", "/api/v1/sessions/1/messages", {"text": ""}),
    ("PATCH", "/api/v1/sessions/1", {"name": ["not", "text"]}),
    ("GET", "/api/v1/sessions?page=zero", None),
    ("POST", "/api/v1/sessions/99999999999999999999/close", None),
    ("PATCH", "/api/v1/sessions/1?bad-if-match", {"name": "x"}),
]


@pytest.mark.parametrize(("method", "url", "body"), BAD_BODIES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic x"}, {"Authorization": "Bearer blc_not-a-token"}],
    ids=["none", "basic", "unknown"],
)
def test_unauthenticated_requests_get_401_before_validation(
    client: FlaskClient,
    tokens: Tokens,
    method: str,
    url: str,
    body: object,
    headers: dict[str, str],
) -> None:
    if "bad-if-match" in url:
        headers = {**headers, "If-Match": "not a version"}
    response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["error"]["code"] in ("unauthenticated", "invalid_token")
    # With a live token the same request is refused for its input.
    known_headers = {**tokens.operator, "If-Match": headers.get("If-Match", "*")}
    known = client.open(url, method=method, json=body, headers=known_headers)
    assert known.status_code in (400, 404, 422), known.get_json()


def test_nobody_posts_system_messages_through_the_api(
    client: FlaskClient, tokens: Tokens, db_session: Session
) -> None:
    created = client.post(
        "/api/v1/sessions",
        json={"live_chat": "Support", "channel": "Website", "client": {"name": "Jo"}},
        headers=tokens.widget,
    )
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/sessions/{created.get_json()['id']}/messages"
    for headers in (tokens.widget, tokens.operator, tokens.admin):
        refused = client.post(
            url, json={"text": "Closed", "author_kind": "system"}, headers=headers
        )
        assert refused.status_code == 403
    for headers in (tokens.operator, tokens.supervisor):
        refused = client.post(url, json={"text": "Me", "author_kind": "client"}, headers=headers)
        assert refused.status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Message)) == 0
