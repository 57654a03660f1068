"""The instance page and a process's instances on the admin page, through the Flask client:
diagram marks, the step log, parameter changes, retry and cancel back to the page, filters in
the URL, and the access rules of the instance's live chat."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.models import UserTask
from tests.web.support import Browser, World
from tests.web.test_processes import _instance
from tests.web.test_processes import deployed as deployed  # the fixture: processes in Support

pytestmark = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
CURRENT = re.compile(r'class="bpmn-shape [^"]*is-current"><title>([^<]*)</title>')


def _summarize(olga: Browser, session_id: int) -> None:
    olga.post(f"/sessions/{session_id}/start/summarize_session", {})


def test_the_instance_page_shows_where_it_stands_its_steps_and_changes(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    _summarize(olga, deployed.first)
    instance = _instance(db_session, deployed.first)
    [task_id] = db_session.scalars(
        select(UserTask.task_id).where(UserTask.instance_id == instance.id)
    )
    db_session.rollback()
    page = olga.get(f"/instances/{instance.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert CURRENT.findall(html) == ["Write the summary (current step)"]
    assert '<span class="badge badge-instance-waiting" id="instance-status">waiting</span>' in html
    assert f'href="/instances/{instance.id}/tasks/{task_id}"' in html
    assert "Started</td>" in html and "Olga Operator" in html
    session_page = olga.get(f"/sessions/{deployed.first}").get_data(as_text=True)
    assert f'<a href="/instances/{instance.id}">' in session_page

    form = {"summary": "Wants a refund", "outcome": "resolved"}
    olga.post(f"/instances/{instance.id}/tasks/{task_id}", form)
    html = olga.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert CURRENT.findall(html) == []  # completed: no current step
    assert "Task completed</td>" in html
    assert re.search(r'class="change-summary">.*?Wants a refund', html)
    assert "This instance changed no parameter." not in html
    session_page = olga.get(f"/sessions/{deployed.first}").get_data(as_text=True)
    link = f'(<a href="/instances/{instance.id}">instance {instance.id}</a>)'
    assert link in session_page  # the parameter history links the change to its instance


def test_access_follows_the_live_chat(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    _summarize(browser_for("olga"), deployed.first)
    instance = _instance(db_session, deployed.first)
    url = f"/instances/{instance.id}"
    assert browser_for("sam").get(url).status_code == 200
    assert browser_for("admin").get(url).status_code == 200
    assert browser_for("sven").get(url).status_code == 403  # an operator of Sales only
    assert browser_for("olga").get("/instances/987654").status_code == 404


def test_cancel_from_the_instance_page_confirms_and_returns_there(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    _summarize(browser_for("olga"), deployed.first)
    instance = _instance(db_session, deployed.first)
    sam = browser_for("sam")
    html = sam.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert 'name="return_to" value="instance"' in html
    asked = sam.post(f"/instances/{instance.id}/cancel", {"return_to": "instance"})
    assert "Cancel “Summarize session” on session" in asked.get_data(as_text=True)
    assert 'name="return_to" value="instance"' in asked.get_data(as_text=True)
    done = sam.post(f"/instances/{instance.id}/cancel", {"return_to": "instance", "confirm": "yes"})
    assert (done.status_code, done.headers["Location"]) == (303, f"/instances/{instance.id}")
    html = sam.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert CURRENT.findall(html) == []  # cancelled: the old step is not marked
    assert "Cancelled</td>" in html and "Sam Supervisor" in html
    session_page = sam.get(f"/sessions/{deployed.first}").get_data(as_text=True)
    assert CURRENT.findall(session_page) == []


def test_retry_from_the_instance_page_returns_there(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    olga, sam = browser_for("olga"), browser_for("sam")
    sam.post(f"/sessions/{deployed.first}/params/summary", {"value": ""})
    olga.post(f"/sessions/{deployed.first}/start/needs_summary", {"reason": "x"})
    instance = _instance(db_session, deployed.first)
    html = olga.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert 'id="incident"' in html and "KeyError: &#39;summary&#39;" in html
    assert "A supervisor can retry it once the cause is fixed." in html  # olga may not retry
    assert re.search(r'class="bpmn-shape [^"]*is-failed"><title>Copy the summary', html)
    sam.post(f"/sessions/{deployed.first}/params/summary", {"value": "fixed"})
    done = sam.post(f"/instances/{instance.id}/retry", {"return_to": "instance"})
    assert (done.status_code, done.headers["Location"]) == (303, f"/instances/{instance.id}")
    html = sam.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert '<span class="badge badge-instance-completed" id="instance-status">' in html
    assert "Retry asked</td>" in html and "Failed" in html


def test_the_process_page_lists_instances_with_filters_in_the_url(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    _summarize(olga, deployed.first)
    waiting = _instance(db_session, deployed.first).id
    _summarize(olga, deployed.evil)
    cancelled = _instance(db_session, deployed.evil).id
    admin = browser_for("admin")
    admin.post(f"/instances/{cancelled}/cancel", {"confirm": "yes"})
    base = "/admin/processes/summarize_session"
    html = admin.get(base).get_data(as_text=True)
    rows = re.findall(r'id="instance-row-(\d+)"', html)
    assert rows == [str(cancelled), str(waiting)]
    assert f'<a href="/instances/{waiting}">Instance {waiting}</a>' in html
    link = '<a href="/admin/processes/summarize_session?version=1#instances"'
    assert f'{link} aria-label="2 instance(s) of v1">2</a>' in html
    only = admin.get(f"{base}?status=waiting").get_data(as_text=True)
    assert re.findall(r'id="instance-row-(\d+)"', only) == [str(waiting)]
    assert '<option value="waiting" selected>' in only
    by_session = admin.get(f"{base}?session={deployed.evil}&version=1").get_data(as_text=True)
    assert re.findall(r'id="instance-row-(\d+)"', by_session) == [str(cancelled)]
    paged = admin.get(f"{base}?per_page=1").get_data(as_text=True)
    assert re.findall(r'id="instance-row-(\d+)"', paged) == [str(cancelled)]
    assert 'href="/admin/processes/summarize_session?page=2&amp;per_page=1#instances"' in paged
    bad = admin.get(f"{base}?version=8")
    assert bad.status_code == 422
    assert 'id="f-version-error">no such version</p>' in bad.get_data(as_text=True)
    none = admin.get(f"{base}?status=failed").get_data(as_text=True)
    assert "No instances match these filters." in none
