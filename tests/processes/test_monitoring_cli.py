"""`process instances` (filters, pages, JSON) and `instance steps` through click's runner, on
both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from tests.support import Desk, new_session

Run = Callable[..., Result]


def _run(engine: Engine) -> Run:
    url = engine.url.render_as_string(hide_password=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--database-url", url, *args])

    return invoke


def _json(result: Result) -> Any:
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return json.loads(result.stdout)


def test_process_instances_with_filters_and_instance_steps(
    engine: Engine, db_session: Session, deployed: Desk
) -> None:
    run = _run(engine)
    first, second = new_session(db_session, deployed), new_session(db_session, deployed)
    started = []
    for session, amount in ((first, 5000), (second, 5)):
        form = json.dumps({"contact_email": "a@b.io", "amount": amount})
        args = ("process", "start", "case_review", "--session", str(session.id), "--as", "olga")
        started.append(_json(run(*args, "--form", form, "--json"))["instance_id"])
    waiting, done = started
    listed = _json(run("process", "instances", "case_review", "--json"))
    assert [i["id"] for i in listed["instances"]] == [done, waiting]
    assert listed["page"] == {"total": 2, "page": 1, "per_page": 25}
    assert [i["id"] for i in _json(run("process", "instances", "case_review", "--status",
                                       "waiting", "--json"))["instances"]] == [waiting]  # fmt: skip
    by_session = run("process", "instances", "case_review", "--session", str(second.id),
                     "--version", "1", "--json")  # fmt: skip
    assert [i["id"] for i in _json(by_session)["instances"]] == [done]
    as_seller = run("process", "instances", "case_review", "--as", "sven", "--json")
    assert _json(as_seller)["instances"] == []
    text = run("process", "instances", "case_review", "--per-page", "1")
    assert text.exit_code == 0
    assert text.stdout.splitlines()[-1] == "1 of 2 instance(s), page 1 of 2"
    assert f"{done:>6} completed" in text.stdout
    missing = run("process", "instances", "case_review", "--version", "3")
    assert (missing.exit_code, missing.stderr) == (
        1, "error: version: case_review has no version 3\n",
    )  # fmt: skip
    bad = run("process", "instances", "case_review", "--status", "asleep")
    assert bad.exit_code == 2 and "asleep" in bad.stderr

    steps = _json(run("instance", "steps", str(waiting), "--as", "olga", "--json"))
    [start] = steps["steps"]
    assert (start["kind"], start["username"], start["status"]) == ("start", "olga", "waiting")
    assert [e["id"] for e in start["elements"]] == ["start", "classify", "review_needed"]
    assert [(c["key"], c["new"]) for c in steps["changes"]] == [
        ("contact_email", "a@b.io"),
        ("segment", "vip"),
    ]
    refused = run("instance", "steps", str(waiting), "--as", "sven")
    assert refused.exit_code == 1
    assert refused.stderr == f"error: user 'sven' has no access to session {first.id}\n"
    shown = run("instance", "steps", str(waiting))
    assert "start     by Alex" not in shown.stdout  # the start was olga's
    assert "start     by Olga Operator: start, classify, review_needed -> waiting" in shown.stdout
