"""Supervisor pages on the web: incidents with filters, bulk retry, bulk cancel behind a
confirmation page, the team's tasks and reassign (issue 16, item 7)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.demo.load import PROCESSES
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.web.support import Browser, World
from tests.web.test_processes import NEEDS_SUMMARY, _instance


@pytest.fixture
def deployed(db_session: Session, world: World, process_engine: ProcessEngine) -> World:
    """The Summary parameter, "Escalate with summary" (fails while Summary is empty) and
    "Summarize session" (a user task) offered in Support."""
    db = db_session
    add_parameter(db, "summary", "text", "Summary")
    add_parameter(db, "contact_summary", "string", "Contact summary", read_only=True)
    add_parameter(
        db, "outcome", "choice", "Outcome", options=["resolved", "follow_up", "escalated"]
    )
    for bpmn in (NEEDS_SUMMARY.read_bytes(), (PROCESSES / "summarize_session.bpmn").read_bytes()):
        deploy(db, process_engine.scripts, bpmn, world.desk.admin, [world.desk.support])
    db.commit()
    return world


def _fail_two(browser_for: Callable[[str], Browser], world: World, db: Session) -> tuple[int, int]:
    olga, sam = browser_for("olga"), browser_for("sam")
    sam.post(f"/sessions/{world.evil}/params/summary", {"value": ""})
    for session_id in (world.first, world.evil):
        olga.post(f"/sessions/{session_id}/start/needs_summary", {"reason": "x"})
    first, evil = _instance(db, world.first), _instance(db, world.evil)
    assert (first.status, evil.status) == ("failed", "failed")
    return first.id, evil.id


def test_incidents_list_filters_and_who_may_see_it(
    browser_for: Callable[[str], Browser],
    deployed: World,
    db_session: Session,
) -> None:
    first, evil = _fail_two(browser_for, deployed, db_session)
    sam = browser_for("sam")
    html = sam.get("/incidents").get_data(as_text=True)
    assert f'id="incident-{first}"' in html and f'id="incident-{evil}"' in html
    assert f'href="/sessions/{deployed.first}#instance-{first}"' in html
    assert "<code>copy_summary</code>" in html
    assert 'aria-current="page">Incidents</a>' in html
    assert "KeyError: &#39;summary&#39;" in html
    none = sam.get("/incidents?q=no-such-error").get_data(as_text=True)
    assert "No failed instances match these filters." in none
    by_process = sam.get("/incidents?process=collect_contact_details").get_data(as_text=True)
    assert 'id="incident-' not in by_process
    bad = sam.get("/incidents?since=yesterday")
    assert bad.status_code == 422
    assert 'id="f-since-error">not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)</p>' in bad.get_data(
        as_text=True
    )
    assert browser_for("olga").get("/incidents").status_code == 403
    assert browser_for("sven").get("/team-tasks").status_code == 403
    assert "Incidents</a>" not in browser_for("olga").get("/sessions").get_data(as_text=True)


def test_bulk_retry_reports_each_instance(
    browser_for: Callable[[str], Browser],
    deployed: World,
    db_session: Session,
) -> None:
    first, evil = _fail_two(browser_for, deployed, db_session)
    sam = browser_for("sam")
    sam.post(f"/sessions/{deployed.first}/params/summary", {"value": "fixed now"})
    done = sam.post("/incidents/bulk", {"action": "retry", "ids": [str(first), str(evil)]})
    html = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "Retry: 1 of 2 done" in html
    assert re.search(
        rf'id="outcome-{first}">\s*<span class="badge badge-instance-completed">done', html
    )
    assert re.search(
        rf'id="outcome-{evil}">\s*<span class="badge badge-instance-failed">not done', html
    )
    assert "Escalate with summary failed again" in html
    assert _instance(db_session, deployed.first).status == "completed"
    assert _instance(db_session, deployed.evil).status == "failed"
    nothing = sam.post("/incidents/bulk", {"action": "retry"})
    assert nothing.status_code == 422
    assert "select at least one instance" in nothing.get_data(as_text=True)


def test_bulk_cancel_asks_first_then_cancels(
    browser_for: Callable[[str], Browser],
    deployed: World,
    db_session: Session,
) -> None:
    first, evil = _fail_two(browser_for, deployed, db_session)
    sam = browser_for("sam")
    asked = sam.post("/incidents/bulk", {"action": "cancel", "ids": [str(first), str(evil)]})
    html = asked.get_data(as_text=True)
    assert "Cancel 2 process instance(s)?" in html
    assert ">Yes, cancel 2 instance(s)</button>" in html
    assert _instance(db_session, deployed.first).status == "failed"  # nothing yet
    olga = browser_for("olga")
    refused = olga.post(
        "/incidents/bulk", {"action": "cancel", "ids": [str(first)], "confirm": "yes"}
    )
    assert refused.status_code == 403
    done = sam.post(
        "/incidents/bulk", {"action": "cancel", "ids": [str(first), str(evil)], "confirm": "yes"}
    )
    assert "Cancel: 2 of 2 done" in done.get_data(as_text=True)
    assert _instance(db_session, deployed.first).status == "cancelled"
    assert _instance(db_session, deployed.evil).status == "cancelled"
    again = sam.post("/incidents/bulk", {"action": "cancel", "ids": [str(first)], "confirm": "yes"})
    assert f"Process instance {first} is already cancelled." in again.get_data(as_text=True)


def test_team_tasks_and_reassign(
    browser_for: Callable[[str], Browser],
    deployed: World,
    db_session: Session,
) -> None:
    olga, sam = browser_for("olga"), browser_for("sam")
    olga.post(f"/sessions/{deployed.first}/start/summarize_session", {})
    html = sam.get("/team-tasks").get_data(as_text=True)
    assert ">Write the summary</a>" in html
    form = re.search(r'action="(/team-tasks/\d+/[^"]+/reassign)"', html)
    assert form, html
    current = re.search(r'name="current" value="(\d*)"', html)
    assert current
    assert "Write the summary" not in sam.get("/team-tasks?assignee=-").get_data(as_text=True)
    wrong = sam.post(form.group(1), {"assignee": "sven", "current": current.group(1)})
    assert wrong.status_code == 422
    assert "not an operator of this live chat" in wrong.get_data(as_text=True)
    stale = sam.post(form.group(1), {"assignee": "olga", "current": ""})
    assert stale.status_code == 409
    assert "was reassigned meanwhile; it is now olga" in stale.get_data(as_text=True)
    moved = sam.post(form.group(1), {"assignee": "olga", "current": current.group(1)})
    assert moved.status_code == 303
    assert "is now Olga Operator’s." in sam.get("/team-tasks").get_data(as_text=True)
    assert (
        olga.post(form.group(1), {"assignee": "olga", "current": current.group(1)}).status_code
        == 403
    )
