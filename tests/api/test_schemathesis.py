"""Property-based run of the whole API from its own OpenAPI document, against a real server.

Bounded: a few examples per operation (about a minute in all); checks no 5xx and that every
response (status, content type, body, headers) conforms to the document.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from werkzeug.serving import make_server

from bpm_livechat.desk import users as users_module
from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import MemberRole
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.sessions.lifecycle import create_session
from bpm_livechat.sessions.messages import add_message
from tests.api.support import make_app

pytestmark = pytest.mark.slow
MAX_EXAMPLES = 25  # per operation and mode: the count bounds the run, not a clock


def _seed(url: str) -> str:
    """Users, a live chat, parameters and a few sessions; returns an admin token."""
    engine = make_engine(url)
    with session_factory(engine)() as db:
        admin = create_user(db, "admin", "admin", "admin-pass-1")
        olga = create_user(db, "olga", "operator", "olga-pass-12")
        chat = create_live_chat(db, "Support", "{client.name} — {subject}")
        add_channel(db, chat, "Website", "web")
        add_member(db, chat, olga, MemberRole.OPERATOR)
        add_parameter(db, "segment", "choice", "Segment", options=["vip", "standard"])
        add_parameter(db, "order_total", "money", "Order total")
        add_parameter(db, "notes", "text", "Notes", required_to_close=True)
        for i in range(3):
            session = create_session(db, chat, client_name=f"Client {i}", subject="Help")
            add_message(db, session, "Hello")
        _token, plaintext = create_token(db, admin, "schemathesis")
        db.commit()
    engine.dispose()
    return plaintext


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, process_engine: ProcessEngine
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The API served by a real HTTP server thread on 127.0.0.1: (base URL, token, document)."""
    path = tmp_path_factory.mktemp("schemathesis") / "db.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    old_n = users_module._SCRYPT["n"]
    users_module._SCRYPT["n"] = 2**8
    try:
        token = _seed(url)
    finally:
        users_module._SCRYPT["n"] = old_n
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = make_app(make_engine(url), process_engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    yield f"http://127.0.0.1:{server.server_port}/api/v1", token, document
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["bpm_livechat.engine"].dispose()


@pytest.fixture(scope="module")
def api_schema(served: tuple[str, str, dict[str, Any]]) -> Any:
    """The API's own document, loaded by schemathesis, pointed at the server."""
    base_url, _token, document = served
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=base_url)
    return schema


def _exercise(operation: Any, base_url: str, headers: dict[str, str], mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=headers)
        # Schema-valid is not always acceptable: a duplicate key or an unknown live chat is a
        # domain refusal (422), which the document declares for every operation.
        excluded = [schemathesis.checks.positive_data_acceptance]
        if response.status_code == 413:  # too large is a refusal too (the check lists no 413)
            excluded.append(schemathesis.checks.negative_data_rejection)
        case.validate_response(response, excluded_checks=excluded)

    run()


def test_every_operation_conforms_to_the_document(api_schema: Any, served: Any) -> None:
    base_url, token, _document = served
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    exercised = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        exercised += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _exercise(operation, base_url, headers, mode)
            except Unsatisfiable:  # no input to break: GET /health takes none
                assert mode is GenerationMode.NEGATIVE
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert exercised >= 15
    assert failures == [], "\n\n".join(failures)
