"""The instance page and a process's instances in Chromium: the diagram marks only the step an
instance waits at (none once cancelled), retry and cancel from the page, the live chat's access
rule, the page following the instance live, and the process page's filters in a shared URL.

Every test makes its own sessions (see support.SUPPORT_SESSIONS)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.livechats import add_member, get_live_chat
from bpm_livechat.desk.users import create_user, get_user
from bpm_livechat.models import MemberRole, User
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import set_parameters
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.sessions.lifecycle import create_session, get_session
from tests.browser.support import Site, login, shot

OPERATOR = ("operator", "operator-demo-pass")
SUPERVISOR = ("supervisor", "supervisor-demo-pass")
ADMIN = ("admin", "admin-demo-pass")
SELMA = ("selma", "selma-pass-1234")  # an operator of Sales only


@pytest.fixture
def site_db(site: Site) -> Iterator[sessionmaker[Session]]:
    """Users and sessions on the served app's database."""
    engine = make_engine(site.database_url)
    yield session_factory(engine)
    engine.dispose()


def _session(factory: sessionmaker[Session], client: str) -> int:
    """A Customer Support session worked by the demo operator."""
    with unit_of_work(factory) as db:
        chat, operator = get_live_chat(db, "Customer Support"), get_user(db, "operator")
        return create_session(db, chat, client_name=client, subject="Monitoring",
                              operator=operator).id  # fmt: skip


def _start(page: Any, session_id: int, process_id: str) -> int:
    """Start a process from the session page's menu; the new instance's id."""
    page.goto(f"/sessions/{session_id}/start/{process_id}")
    page.get_by_role("button", name="Start process").click()
    page.wait_for_url(re.compile(rf"/sessions/{session_id}.*#instance-\d+"))
    return int(page.url.rsplit("-", 1)[1])


def _marked(page: Any, state: str) -> list[str]:
    """The titles of the diagram's shapes marked `state` (current, failed, done)."""
    shapes = page.locator(f"#instance-diagram g.bpmn-shape.is-{state} > title")
    return [shapes.nth(i).text_content() for i in range(shapes.count())]


def test_the_instance_page_marks_the_waiting_step_and_none_once_cancelled(
    page: Any, site: Site, site_db: sessionmaker[Session]
) -> None:
    session_id = _session(site_db, "Ida Instance")
    login(page, *OPERATOR)
    instance_id = _start(page, session_id, "summarize_session")
    page.locator(f"#instance-{instance_id}-title a").click()
    page.wait_for_url(f"**/instances/{instance_id}")
    assert page.locator("#instance-status").text_content() == "waiting"
    assert _marked(page, "current") == ["Write the summary (current step)"]
    assert page.locator(".current-step").inner_text() == "Write the summary"
    start_row = page.locator("#steps tbody tr").first
    assert "Started" in start_row.inner_text() and "Olga" in start_row.inner_text()
    shot(page, "instance-waiting")
    page.get_by_role("button", name="Log out").click()

    login(page, *SUPERVISOR)
    page.goto(f"/instances/{instance_id}")
    page.get_by_role("button", name="Cancel process").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Cancel “Summarize")
    page.get_by_role("button", name="Cancel the process").click()
    page.wait_for_url(f"**/instances/{instance_id}")
    assert page.locator("#instance-status").text_content() == "cancelled"
    assert _marked(page, "current") == []
    assert "Summary requested (completed)" in _marked(page, "done")
    last = page.locator("#steps tbody tr").last.inner_text()
    assert "Cancelled" in last and "Sam" in last
    shot(page, "instance-cancelled")
    page.goto(f"/sessions/{session_id}")  # the session page's diagram marks nothing either
    assert page.locator(f"#instance-{instance_id} g.bpmn-shape.is-current").count() == 0


def _sales_operator(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as db:
        if db.scalar(select(User).where(User.username == SELMA[0])) is None:
            selma = create_user(db, SELMA[0], "operator", SELMA[1], display_name="Selma Sales")
            add_member(db, get_live_chat(db, "Sales"), selma, MemberRole.OPERATOR)


def test_an_operator_of_another_live_chat_is_refused(
    page: Any, site: Site, site_db: sessionmaker[Session]
) -> None:
    session_id = _session(site_db, "Otto Other")
    login(page, *OPERATOR)
    instance_id = _start(page, session_id, "summarize_session")
    page.get_by_role("button", name="Log out").click()
    _sales_operator(site_db)
    login(page, *SELMA)
    response = page.goto(f"/instances/{instance_id}")
    assert response.status == 403
    assert page.locator("#instance-diagram").count() == 0


def test_retry_from_the_instance_page_after_the_cause_is_fixed(
    page: Any, site: Site, site_db: sessionmaker[Session]
) -> None:
    session_id = _session(site_db, "Rex Retry")
    login(page, *OPERATOR)
    instance_id = _start(page, session_id, "needs_summary")  # Summary is empty: it fails
    page.get_by_role("button", name="Log out").click()
    login(page, *SUPERVISOR)
    page.goto("/incidents")
    page.locator(f"#incident-{instance_id} a[href='/instances/{instance_id}']").click()
    page.wait_for_url(f"**/instances/{instance_id}")
    assert "KeyError" in page.locator("#incident").inner_text()
    assert _marked(page, "failed") == ["Copy the summary (failed here)"]
    assert _marked(page, "current") == []
    with unit_of_work(site_db) as db:  # the cause fixed elsewhere
        session = get_session(db, session_id)
        set_parameters(db, session, {"summary": "Wants a refund"},
                       user_actor(get_user(db, "supervisor")))  # fmt: skip
    page.get_by_role("button", name="Retry").click()
    page.wait_for_url(f"**/instances/{instance_id}")
    assert page.locator("#instance-status").text_content() == "completed"
    assert page.locator("#incident").count() == 0
    kinds = page.locator("#steps tbody tr td:nth-child(2)").all_inner_texts()
    assert [k.split(":")[0].split("\n")[0] for k in kinds] == ["Failed", "Retry asked", "Started"]
    changes = page.locator("#changes tbody tr").all_inner_texts()
    assert any("WANTS A REFUND" in row for row in changes)
    shot(page, "instance-retried")


def test_the_instance_page_follows_the_instance_live(
    browser: Any, page: Any, site: Site, site_db: sessionmaker[Session]
) -> None:
    session_id = _session(site_db, "Lea Live")
    login(page, *OPERATOR)
    instance_id = _start(page, session_id, "summarize_session")
    watcher = browser.new_context(base_url=site.url, viewport={"width": 1366, "height": 900})
    try:
        watch = watcher.new_page()
        watch.set_default_timeout(10_000)
        login(watch, *SUPERVISOR)
        watch.goto(f"/instances/{instance_id}")
        # A locator, not wait_for_function: polling a string predicate needs eval, which the
        # page's Content-Security-Policy refuses.
        watch.locator('[data-live-stream][data-state="live"]').wait_for()
        assert watch.locator("#instance-status").text_content() == "waiting"
        page.goto(f"/instances/{instance_id}")  # the operator completes the task meanwhile
        page.get_by_role("link", name="Open task: Write the summary").click()
        page.get_by_label("Summary").fill("Done while someone watched")
        page.get_by_label("Outcome").select_option("resolved")
        page.get_by_role("button", name="Submit").click()
        page.wait_for_url(re.compile(rf"/sessions/{session_id}"))
        watch.locator("#instance-status", has_text="completed").wait_for(
            timeout=30_000
        )  # a loaded machine
        assert _marked(watch, "current") == []
    finally:
        watcher.close()


def test_the_process_page_filters_instances_in_a_url_that_can_be_shared(
    page: Any, site: Site, site_db: sessionmaker[Session]
) -> None:
    first, second = _session(site_db, "Fay Filter"), _session(site_db, "Gus Filter")
    login(page, *OPERATOR)
    waiting = _start(page, first, "summarize_session")
    other = _start(page, second, "summarize_session")
    page.get_by_role("button", name="Log out").click()
    login(page, *ADMIN)
    page.goto("/admin/processes/summarize_session")
    page.get_by_label("Session No.").fill(str(first))
    page.get_by_label("Status").select_option("waiting")
    page.get_by_role("button", name="Filter instances").click()
    page.wait_for_url(re.compile(r"status=waiting"))
    assert f"session={first}" in page.url
    rows = page.locator("table.instances tbody tr")
    assert rows.count() == 1
    assert page.locator(f"#instance-row-{waiting}").is_visible()
    assert page.locator(f"#instance-row-{other}").count() == 0
    shared = page.url
    shot(page, "process-instances-filtered")
    page.goto(shared)  # the same link again: the same filters, shown in the form
    assert page.get_by_label("Status").input_value() == "waiting"
    assert page.get_by_label("Session No.").input_value() == str(first)
    page.locator(f"#instance-row-{waiting} a", has_text=f"Instance {waiting}").click()
    page.wait_for_url(f"**/instances/{waiting}")
    assert _marked(page, "current") == ["Write the summary (current step)"]


def test_a_cancel_elsewhere_reaches_the_open_instance_page_live(
    browser: Any, page: Any, site: Site, site_db: sessionmaker[Session]
) -> None:
    """A cancel changes no parameter: the step log's own live event brings it."""
    session_id = _session(site_db, "Cy Cancel")
    login(page, *OPERATOR)
    instance_id = _start(page, session_id, "summarize_session")
    watch = page  # the operator keeps the instance page open
    watch.goto(f"/instances/{instance_id}")
    watch.locator('[data-live-stream][data-state="live"]').wait_for()
    assert _marked(watch, "current") == ["Write the summary (current step)"]
    other = browser.new_context(base_url=site.url, viewport={"width": 1366, "height": 900})
    try:
        admin = other.new_page()
        admin.set_default_timeout(10_000)
        login(admin, *ADMIN)
        admin.goto(f"/instances/{instance_id}")
        admin.get_by_role("button", name="Cancel process").click()
        admin.get_by_role("button", name="Cancel the process").click()
        admin.wait_for_url(f"**/instances/{instance_id}")
    finally:
        other.close()
    watch.locator("#instance-status", has_text="cancelled").wait_for(
        timeout=30_000
    )  # a loaded machine
    assert _marked(watch, "current") == []
    assert "Cancelled" in watch.locator("#steps tbody tr").last.inner_text()
