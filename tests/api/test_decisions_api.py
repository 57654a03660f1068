"""Contract tests: deploying, listing and trying decisions via the API, and their OpenAPI entries."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.api.support import Tokens
from tests.decisions.support import read_file, table
from tests.support import Desk, new_session

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def test_deploy_list_and_try(
    client: FlaskClient, tokens: Tokens, db_session: Session, desk: Desk
) -> None:
    body = {"dmn": read_file("segment.dmn").decode()}
    first = client.post("/api/v1/decisions", json=body, headers=tokens.admin)
    assert first.status_code == 201, first.get_json()
    assert first.get_json() == {
        "decisions": [
            {
                "id": "segment",
                "name": "Segment",
                "version": 1,
                "hit_policy": "FIRST",
                "created": True,
            }
        ]
    }
    assert client.post("/api/v1/decisions", json=body, headers=tokens.supervisor).status_code == 403
    assert client.get("/api/v1/decisions", headers=tokens.operator).status_code == 403
    listed = client.get("/api/v1/decisions", headers=tokens.admin).get_json()["items"]
    assert [
        (d["id"], d["latest_version"], [v["version"] for v in d["versions"]]) for d in listed
    ] == [("segment", 1, [1])]
    assert client.get("/api/v1/decisions/nope", headers=tokens.admin).status_code == 404
    session_id = new_session(db_session, desk).id
    tried = client.post("/api/v1/decisions/segment/try",
                        json={"session_id": session_id, "data": {"amount": 5}},
                        headers=tokens.admin)  # fmt: skip
    assert tried.status_code == 200, tried.get_json()
    assert tried.get_json() == {
        "decision": "segment",
        "version": 1,
        "session_id": session_id,
        "matched": [{"rule": 3, "id": "everyone_else", "description": "",
                     "outputs": {"segment": "standard"}}],
        "result": {"segment": "standard"},
        "required": {},
        "failure": None,
    }  # fmt: skip


def test_a_refused_file_is_422_with_every_problem(client: FlaskClient, tokens: Tokens) -> None:
    inputs = (
        '<input id="i" label="Amount"><inputExpression typeRef="integer"><text>amount</text>'
        "</inputExpression></input>"
    )
    rules = '<rule id="r1"><inputEntry><text>"ten"</text></inputEntry><outputEntry><text>"x"</text></outputEntry></rule>'
    refused = client.post("/api/v1/decisions", json={"dmn": table("tier", "UNIQUE", inputs, rules).decode()},
                          headers=tokens.admin)  # fmt: skip
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["message"] == (
        "DMN rejected: decision 'tier' (Tier), rule 1 (r1), input 'Amount': '\"ten\"' is a "
        "string, but the column is typed integer (line 8)"
    )
    assert list(error["fields"]) == ["tier"]


def test_the_openapi_document_lists_the_decision_endpoints(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert set(doc["paths"]["/decisions"]) == {"get", "post"}
    assert set(doc["paths"]["/decisions/{decision_id}/try"]) == {"post"}
    schema = doc["components"]["schemas"]["DecisionTry"]
    assert schema["required"] == ["session_id"]
    assert schema["additionalProperties"] is False
