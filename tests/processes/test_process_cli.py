"""The process, task and instance commands through click's runner, on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from tests.support import PROCESS_BPMN as BPMN
from tests.support import Desk, new_session

Run = Callable[..., Result]


@pytest.fixture
def run(engine: Engine) -> Run:
    """Invoke `bpm-livechat --database-url URL ARGS...` in-process; stdout and stderr kept apart."""
    url = engine.url.render_as_string(hide_password=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--database-url", url, *args])

    return invoke


def ok_json(result: Result) -> Any:
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return json.loads(result.stdout)


def failed_json(result: Result) -> tuple[Any, str]:
    """Exit 1: the JSON on stdout and the one-line message on stderr."""
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    return json.loads(result.stdout), result.stderr[len("error: ") : -1]


def test_deploy_list_show_and_rejection(run: Run, desk: Desk, params: None) -> None:
    review = str(BPMN / "case_review.bpmn")
    deployed = ok_json(run("process", "deploy", review, "--live-chat", "Support", "--json"))
    assert deployed == {
        "processes": [{"id": "case_review", "name": "Case review", "version": 1}],
        "warnings": [
            {
                "element": "start",
                "name": "Case details",
                "line": 16,
                "message": "form field 'amount' matches no custom parameter; "
                "its value stays in the process data",
            }
        ],
    }
    again = ok_json(run("process", "deploy", review, "--json"))
    assert again["processes"] == [{"id": "case_review", "name": "Case review", "version": 1}]
    errors, message = failed_json(run("process", "deploy", str(BPMN / "broken.bpmn"), "--json"))
    assert [(e["element"], e["line"]) for e in errors["errors"]] == [
        ("start", 10),
        ("bad_syntax", 18),
        ("groovy", 20),
    ]
    assert message.startswith("BPMN rejected: ") and message.endswith("and 2 more problem(s)")
    listed = ok_json(run("process", "list", "--json"))
    assert listed == {
        "processes": [
            {
                "id": "case_review",
                "name": "Case review",
                "active": True,
                "latest_version": 1,
                "live_chats": ["Support"],
            }
        ]
    }
    shown = ok_json(run("process", "deactivate", "case_review", "--version", "1", "--json"))
    assert [(v["version"], v["active"]) for v in shown["versions"]] == [(1, False)]
    assert (
        ok_json(run("process", "show", "case_review", "--json"))["versions"][0]["active"] is False
    )


def test_start_complete_fail_retry_and_cancel(
    run: Run, db_session: Session, deployed: Desk
) -> None:
    session_id = str(new_session(db_session, deployed).id)

    def start(process_id: str, form: str, session: str = session_id) -> Result:
        return run(
            *f"process start {process_id} --as olga --json --session {session}".split(),
            "--form",
            form,
        )

    form_error = start("case_review", '{"contact_email": "nope"}')
    assert form_error.exit_code == 1
    assert json.loads(form_error.stdout) == {"error": "1 form field(s) are invalid: contact_email"}
    assert form_error.stderr == "error: 1 form field(s) are invalid: contact_email\n"

    started = ok_json(start("case_review", '{"contact_email": "a@b.io", "amount": 4000}'))
    assert (started["status"], started["error"]) == ("waiting", None)
    assert started["changes"] == {
        "contact_email": {"old": None, "new": "a@b.io"},
        "segment": {"old": None, "new": "vip"},
    }
    [task] = started["tasks"]
    assert task["name"] == "Review the case"
    assert [f["id"] for f in task["form"]] == ["summary", "outcome"]
    tasks = ok_json(run("task", "list", "--as", "olga", "--json"))["tasks"]
    assert [(t["id"], t["instance_id"], t["assignee"]) for t in tasks] == [
        (task["id"], started["instance_id"], "olga")
    ]
    instance_id = str(started["instance_id"])
    review = '{"summary": "Fine", "outcome": "resolved"}'
    done = ok_json(
        run(*f"task complete {instance_id} {task['id']} --as olga --json".split(), "--form", review)
    )
    assert (done["status"], done["tasks"], sorted(done["changes"])) == (
        "completed",
        [],
        ["outcome", "summary"],
    )

    other = str(new_session(db_session, deployed).id)
    failed, message = failed_json(start("fragile", '{"mode": "crash"}', other))
    assert message == "runtime error at check: KeyError: 'summary'"
    assert (failed["status"], failed["changes"], failed["tasks"]) == ("failed", {}, [])
    assert (failed["error"]["element_id"], failed["error"]["line"]) == ("check", 5)
    failed_id = str(failed["instance_id"])
    listed = ok_json(run("instance", "list", "--failed", "--as", "sam", "--json"))
    assert [i["instance_id"] for i in listed["instances"]] == [int(failed_id)]
    mine = ok_json(run("instance", "list", "--session", other, "--as", "olga", "--json"))
    assert [(i["instance_id"], i["status"]) for i in mine["instances"]] == [
        (int(failed_id), "failed")
    ]
    usage = run("instance", "list", "--as", "sam")
    assert usage.exit_code == 2
    shown = ok_json(run("instance", "show", failed_id, "--json"))
    assert (shown["status"], shown["process"], shown["version"]) == ("failed", "fragile", 1)
    assert ok_json(run("session", "set", other, "summary=known", "--as", "olga", "--json"))
    retried = ok_json(run("instance", "retry", failed_id, "--as", "sam", "--json"))
    assert (retried["instance_id"], retried["status"]) == (int(failed_id), "completed")

    again = ok_json(start("case_review", '{"contact_email": "a@b.io", "amount": 4000}'))
    cancelled = ok_json(
        run("instance", "cancel", str(again["instance_id"]), "--as", "sam", "--json")
    )
    assert (cancelled["status"], cancelled["tasks"]) == ("cancelled", [])


def test_deploy_a_library_of_three_files_and_run_it(
    run: Run, desk: Desk, params: None, db_session: Session, tmp_path: Any
) -> None:
    library = BPMN / "library"
    parent, credit, note = (
        str(library / f) for f in ("order_parent.bpmn", "credit_check.bpmn", "note_writer.bpmn")
    )
    errors, message = failed_json(run("process", "deploy", parent, "--json"))
    assert [(e["element"], e["line"]) for e in errors["errors"]] == [
        ("call_check", 14),
        ("call_note", 19),
    ]
    assert "calls process 'credit_check', which is neither in the files deployed" in message
    # Deployed separately: the two subprocesses, then the parent, which pins note_writer v1.
    ok_json(run("process", "deploy", credit, note, "--json"))
    newer_note = tmp_path / "note_writer.bpmn"
    newer_note.write_text((library / "note_writer.bpmn").read_text().replace("note v1", "note v2"))
    assert ok_json(run("process", "deploy", str(newer_note), "--json"))["processes"] == [
        {"id": "note_writer", "name": "Note writer", "version": 2}
    ]
    broken = tmp_path / "credit_check.bpmn"
    broken.write_text(
        (library / "credit_check.bpmn").read_text().replace('credit = "credit ok v1"', "credit = (")
    )
    errors, message = failed_json(run("process", "deploy", parent, str(broken), "--json"))
    assert [(e["file"], e["element"], e["line"]) for e in errors["errors"]] == [
        ("credit_check.bpmn", "credit_check_work", 12)
    ]
    assert "(credit_check.bpmn, credit_check_work, line 12)" in message
    assert ok_json(run("process", "list", "--json"))["processes"][-1]["id"] == "note_writer"
    deployed = ok_json(run("process", "deploy", parent, "--live-chat", "Support", "--json"))
    assert deployed["processes"] == [{"id": "order_parent", "name": "Order handling", "version": 1}]
    shown = ok_json(run("process", "show", "order_parent", "--json"))
    assert shown["versions"][0]["calls"] == [
        {
            "element": "call_check",
            "name": "Check credit",
            "called": "credit_check",
            "binding": "latest",
            "version": None,
        },
        {
            "element": "call_note",
            "name": "Write the note",
            "called": "note_writer",
            "binding": "version",
            "version": 1,
        },
    ]

    session_id = new_session(db_session, desk).id
    started = ok_json(
        run(
            "process",
            "start",
            "order_parent",
            "--session",
            str(session_id),
            "--as",
            "olga",
            "--json",
        )
    )
    assert started["status"] == "waiting"
    refused, message = failed_json(run("process", "deactivate", "credit_check", "--json"))
    assert refused["callers"] == [
        {
            "process": "order_parent",
            "version": 1,
            "element": "call_check",
            "name": "Check credit",
            "binding": "latest",
        }
    ]
    assert message.startswith("process 'credit_check' is called by active process 'order_parent'")
    task = started["tasks"][0]["id"]
    done = ok_json(
        run("task", "complete", str(started["instance_id"]), task, "--as", "olga", "--json")
    )
    assert done["status"] == "completed"
    assert done["changes"]["summary"]["new"] == "credit ok v1 / note v1"


def test_camunda_collection_runs_and_a_missing_one_fails_at_its_task(
    run: Run, db_session: Session, desk: Desk, params: None
) -> None:
    deployed = ok_json(
        run(
            "process",
            "deploy",
            str(BPMN / "greet_contacts.bpmn"),
            "--live-chat",
            "Support",
            "--json",
        )
    )
    assert deployed["processes"][0]["id"] == "greet_contacts"
    session_id = str(new_session(db_session, desk).id)

    def start(count: int) -> Result:
        return run(
            *f"process start greet_contacts --as olga --json --session {session_id}".split(),
            "--form",
            json.dumps({"count": count}),
        )

    started = ok_json(start(2))
    assert [t["name"] for t in started["tasks"]] == ["Review greetings"]
    failure, message = failed_json(start(0))
    assert failure["error"]["element_id"] == "greet"
    assert failure["error"]["element_name"] == "Greet contact"
    assert message == (
        "engine error at greet: the collection to repeat over, 'contacts', is not in the task "
        "data; set it (in a form or a script task) before this task"
    )
