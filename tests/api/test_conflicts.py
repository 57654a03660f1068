"""Conflicts, never 500s, never silent overwrites (issue 18 item 4), on SQLite and PostgreSQL:
concurrent renames and closes from threads, the version the client saw (If-Match or `version`),
and Idempotency-Key on process starts and task completions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from bpm_livechat.models import ProcessInstance, SupportSession
from tests.api.support import Tokens
from tests.support import Desk, new_session

PAIRS = 8


def _together(app: Flask, *calls: Callable[[FlaskClient], TestResponse]) -> list[TestResponse]:
    """Run the calls at the same moment, each in its own thread with its own client."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        client = app.test_client()
        barrier.wait()
        answers[index] = calls[index](client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def _rename(headers: dict[str, str], session_id: int, name: str, **extra: Any) -> Any:
    return lambda c: c.patch(
        f"/api/v1/sessions/{session_id}", json={"name": name, **extra}, headers=headers
    )


def _close(headers: dict[str, str], session_id: int) -> Any:
    return lambda c: c.post(f"/api/v1/sessions/{session_id}/close", headers=headers)


@pytest.mark.parametrize("kinds", ["rename+rename", "close+close", "rename+close"])
def test_concurrent_writes_answer_200_or_409_never_500(
    app: Flask, tokens: Tokens, desk: Desk, db_session: Session, kinds: str
) -> None:
    for pair in range(PAIRS):
        target = new_session(db_session, desk).id
        calls = {
            "rename+rename": (
                _rename(tokens.supervisor, target, f"A{pair}"),
                _rename(tokens.admin, target, f"B{pair}"),
            ),
            "close+close": (_close(tokens.supervisor, target), _close(tokens.admin, target)),
            "rename+close": (
                _rename(tokens.supervisor, target, f"A{pair}"),
                _close(tokens.admin, target),
            ),
        }[kinds]
        answers = _together(app, *calls)
        statuses = sorted(a.status_code for a in answers)
        assert statuses in ([200, 200], [200, 409]), [a.get_json() for a in answers]
        for answer in answers:
            if answer.status_code == 409:
                assert answer.get_json()["error"]["code"] in ("conflict", "session_closed")


def test_concurrent_renames_from_the_same_version_never_both_win(
    app: Flask, client: FlaskClient, tokens: Tokens, desk: Desk, db_session: Session
) -> None:
    for pair in range(PAIRS):
        target = new_session(db_session, desk).id
        seen = client.get(f"/api/v1/sessions/{target}", headers=tokens.admin).get_json()["version"]
        answers = _together(
            app,
            _rename(tokens.supervisor, target, f"A{pair}", version=seen),
            _rename(tokens.admin, target, f"B{pair}", version=seen),
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 409], [a.get_json() for a in answers]
        [won] = [a.get_json()["name"] for a in answers if a.status_code == 200]
        db_session.expire_all()
        stored = db_session.get(SupportSession, target)
        assert stored is not None and stored.name == won
        db_session.rollback()


def test_if_match_refuses_a_stale_version(
    client: FlaskClient, tokens: Tokens, desk: Desk, db_session: Session
) -> None:
    target = new_session(db_session, desk).id
    url = f"/api/v1/sessions/{target}"
    seen = client.get(url, headers=tokens.admin).get_json()["version"]
    first = client.patch(
        url, json={"name": "First"}, headers={**tokens.admin, "If-Match": f'"{seen}"'}
    )
    assert first.status_code == 200 and first.get_json()["version"] == seen + 1
    stale = client.patch(
        url, json={"name": "Second"}, headers={**tokens.supervisor, "If-Match": f'"{seen}"'}
    )
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "conflict"
    assert client.get(url, headers=tokens.admin).get_json()["name"] == "First"
    for stale_write in (
        lambda h: client.post(f"{url}/close", headers=h),
        lambda h: client.post(f"{url}/release", headers=h),
        lambda h: client.post(f"{url}/assign", json={"operator": "olga"}, headers=h),
    ):
        refused = stale_write({**tokens.supervisor, "If-Match": f'W/"{seen}"'})
        assert refused.status_code == 409, refused.get_json()
    stale_body = client.post(
        f"{url}/assign", json={"operator": "olga", "version": seen}, headers=tokens.supervisor
    )
    assert stale_body.status_code == 409
    bad = client.patch(url, json={"name": "X"}, headers={**tokens.admin, "If-Match": "yesterday"})
    assert (bad.status_code, bad.get_json()["error"]["fields"]) == (
        400,
        {"If-Match": "a version number"},
    )
    current = {**tokens.supervisor, "If-Match": f'"{seen + 1}"'}
    assert client.post(f"{url}/close", headers=current).get_json()["status"] == "closed"


def test_parameter_writes_refuse_what_changed_since_the_client_read_it(
    client: FlaskClient, tokens: Tokens, desk: Desk, db_session: Session
) -> None:
    from bpm_livechat.params.catalogue import add_parameter

    add_parameter(db_session, "summary", "text", "Summary")
    target = new_session(db_session, desk).id
    db_session.commit()
    url = f"/api/v1/sessions/{target}/parameters"
    read = client.get(url, headers=tokens.operator).get_json()
    assert read["seen"] == {}
    first = client.patch(
        url, json={"values": {"summary": "mine"}, "seen": {"summary": 0}}, headers=tokens.admin
    )
    assert first.status_code == 200
    stale = client.patch(
        url, json={"values": {"summary": "theirs"}, "seen": {"summary": 0}}, headers=tokens.operator
    )
    assert stale.status_code == 409
    assert list(stale.get_json()["error"]["fields"]) == ["summary"]
    fresh = client.get(url, headers=tokens.operator).get_json()
    assert fresh["values"] == {"summary": "mine"}
    again = client.patch(
        url, json={"values": {"summary": "theirs"}, "seen": fresh["seen"]}, headers=tokens.operator
    )
    assert again.status_code == 200


def _instances(db: Session, session_id: int) -> int:
    db.rollback()
    query = select(func.count()).where(ProcessInstance.session_id == session_id)
    return int(db.scalar(query.select_from(ProcessInstance)) or 0)


def test_a_retried_process_start_runs_the_process_once(
    client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    session_id = new_session(db_session, deployed).id
    url = f"/api/v1/sessions/{session_id}/instances"
    body = {"process": "case_review", "data": {"contact_email": "jo@x.test", "amount": "10"}}
    headers = {**tokens.operator, "Idempotency-Key": "start-1"}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post(url, json=body, headers=headers)
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _instances(db_session, session_id) == 1


def test_concurrent_starts_with_one_key_run_the_process_once(
    app: Flask, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    """Both may run their scripts (a step's phase 1 takes no lock), but one writes: the other
    answers its result."""
    session_id = new_session(db_session, deployed).id
    url = f"/api/v1/sessions/{session_id}/instances"
    body = {"process": "case_review", "data": {"contact_email": "jo@x.test", "amount": "10"}}
    headers = {**tokens.operator, "Idempotency-Key": "start-together"}
    call = _post_json(url, body, headers)
    answers = _together(app, call, call)
    assert [a.status_code for a in answers] == [201, 201], [a.get_json() for a in answers]
    assert answers[0].get_json() == answers[1].get_json()
    assert _instances(db_session, session_id) == 1


def _post_json(url: str, done: dict[str, Any], headers: dict[str, str]) -> Any:
    return lambda c: c.post(url, json=done, headers=headers)


def test_a_retried_task_completion_gets_the_first_answer(
    app: Flask, client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    session_id = new_session(db_session, deployed).id
    form = {"contact_email": "jo@x.test", "amount": "2500"}
    for attempt in ("sequential", "concurrent"):
        started = client.post(
            f"/api/v1/sessions/{session_id}/instances",
            json={"process": "case_review", "data": form},
            headers=tokens.operator,
        ).get_json()
        [task] = started["tasks"]
        url = f"/api/v1/instances/{started['instance_id']}/tasks/{task['id']}/complete"
        done = {"data": {"summary": "Refund agreed", "outcome": "resolved"}}
        headers = {**tokens.operator, "Idempotency-Key": f"complete-{attempt}"}
        if attempt == "sequential":
            answers = [client.post(url, json=done, headers=headers) for _ in range(2)]
        else:
            call = _post_json(url, done, headers)
            answers = _together(app, call, call)
        assert [a.status_code for a in answers] == [200, 200], [a.get_json() for a in answers]
        assert answers[0].get_json() == answers[1].get_json()
        assert answers[0].get_json()["status"] == "completed"
        # Without the key, a second completion is still told the truth: 409.
        assert client.post(url, json=done, headers=tokens.operator).status_code == 409


def test_openapi_lists_the_key_on_every_creating_post_and_if_match_on_versioned_writes(
    client: FlaskClient,
) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    def headers(path: str, method: str) -> set[str]:
        return {p["name"] for p in paths[path][method]["parameters"] if p["in"] == "header"}

    for path in (
        "/sessions",
        "/sessions/{session_id}/messages",
        "/sessions/{session_id}/instances",
        "/instances/{instance_id}/tasks/{task_id}/complete",
        "/instances/{instance_id}/retry",
        "/processes",
        "/parameters",
    ):
        assert "Idempotency-Key" in headers(path, "post"), path
    assert "If-Match" in headers("/sessions/{session_id}", "patch")
    for action in ("close", "assign", "release"):
        assert "If-Match" in headers(f"/sessions/{{session_id}}/{action}", "post")
