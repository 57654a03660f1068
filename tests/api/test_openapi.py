"""The OpenAPI document comes from the validating models, and the docs page renders it offline."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from web.api import operations
from web.api.schemas import MessageCreate, SessionCreate

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def test_document_lists_every_operation_with_its_models(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    declared = {(op.path, op.method.lower()) for op in operations()}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert documented == declared
    assert len(declared) >= 16
    create = doc["paths"]["/sessions"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SessionCreate"
    }
    assert {p["name"] for p in create["parameters"]} == {"Idempotency-Key"}
    assert set(create["responses"]) == {"201", "400", "401", "403", "404", "409", "413", "422"}
    schema = doc["components"]["schemas"]["SessionCreate"]
    assert schema["required"] == ["live_chat", "client"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["subject"]["maxLength"] == 255
    assert set(SessionCreate.model_fields) == set(schema["properties"])
    text = doc["components"]["schemas"]["MessageCreate"]["properties"]["text"]
    assert text["maxLength"] == MessageCreate.model_fields["text"].metadata[0].max_length
    listing = {p["name"] for p in doc["paths"]["/sessions"]["get"]["parameters"]}
    assert listing == {"filter", "q", "sort", "page", "per_page"}
    session_get = doc["paths"]["/sessions/{session_id}"]["get"]["parameters"][0]
    assert session_get["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
