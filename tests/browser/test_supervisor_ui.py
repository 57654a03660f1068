"""Supervisor views in Chromium: incidents with bulk retry and bulk cancel behind a
confirmation page, the team's tasks with reassign (and a stale reassign from a second
supervisor's page told who holds the task now)."""

from __future__ import annotations

import re
from typing import Any

from bpm_livechat.desk.livechats import add_member, get_live_chat
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import MemberRole
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from tests.browser.support import Site, login, shot

OPERATOR = ("operator", "operator-demo-pass")
SUPERVISOR = ("supervisor", "supervisor-demo-pass")
ADMIN = ("admin", "admin-demo-pass")
OTTO = ("otto", "otto-pass-1234")


def _fail(page: Any, session_id: int) -> int:
    """Start "Escalate with summary" with Summary empty: it fails; the failed instance's id."""
    page.goto(f"/sessions/{session_id}/start/needs_summary")
    page.get_by_role("button", name="Start process").click()
    page.wait_for_url(re.compile(rf"/sessions/{session_id}#instance-\d+"))
    return int(page.url.rsplit("-", 1)[1])


def test_bulk_retry_then_bulk_cancel_with_confirmation(page: Any, browser: Any, site: Site) -> None:
    fixed_session, broken_session = site.support[6], site.support[7]
    login(page, *OPERATOR)
    fixed, broken = _fail(page, fixed_session), _fail(page, broken_session)
    page.get_by_role("button", name="Log out").click()

    login(page, *SUPERVISOR)
    page.goto(f"/sessions/{fixed_session}")
    page.get_by_role("link", name="Edit Summary").click()
    page.locator("#value-summary").fill("Wants a refund")
    page.get_by_role("button", name="Save Summary").click()
    page.get_by_role("link", name="Incidents").click()
    row = page.locator(f"#incident-{fixed}")
    assert "copy_summary" in row.inner_text() and "KeyError" in row.inner_text()
    page.get_by_label("Error text").fill("keyerror")
    page.get_by_role("button", name="Filter").click()
    assert page.locator(f"#incident-{broken}").is_visible()
    shot(page, "incidents")
    page.get_by_label(f"Select instance {fixed} ").check()
    page.get_by_label(f"Select instance {broken} ").check()
    page.get_by_role("button", name="Retry selected").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Retry: 1 of 2 done"
    assert page.locator(f"#outcome-{fixed}").inner_text().startswith("Done")
    assert "failed again" in page.locator(f"#outcome-{broken}").inner_text()
    shot(page, "incidents-retried")
    page.get_by_role("link", name="Back to the incidents").click()
    assert page.locator(f"#incident-{fixed}").count() == 0

    page.get_by_label(f"Select instance {broken} ").check()
    page.get_by_role("button", name="Cancel selected…").click()
    assert page.get_by_role("heading", name="Cancel 1 process instance(s)?").is_visible()
    shot(page, "incidents-confirm-cancel")
    page.get_by_role("link", name="Keep them").click()  # changed their mind: nothing happens
    assert page.locator(f"#incident-{broken}").is_visible()
    page.get_by_label(f"Select instance {broken} ").check()
    page.get_by_role("button", name="Cancel selected…").click()
    page.get_by_role("button", name="Yes, cancel 1 instance(s)").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Cancel: 1 of 1 done"
    page.goto(f"/sessions/{broken_session}#instance-{broken}")
    assert page.locator(f"#instance-{broken} .badge").first.inner_text() == "Cancelled"


def _add_otto(site: Site) -> None:
    engine = make_engine(site.database_url)
    try:
        with unit_of_work(session_factory(engine)) as db:
            otto = create_user(db, OTTO[0], "operator", OTTO[1], display_name="Otto Operator")
            add_member(db, get_live_chat(db, "Customer Support"), otto, MemberRole.OPERATOR)
    finally:
        engine.dispose()


def test_reassign_a_team_task_and_a_stale_reassign(page: Any, browser: Any, site: Site) -> None:
    _add_otto(site)
    session_id = site.support[10]
    login(page, *OPERATOR)
    page.goto(f"/sessions/{session_id}/start/summarize_session")
    page.get_by_role("button", name="Start process").click()
    page.wait_for_url(re.compile(rf"/sessions/{session_id}"))
    page.get_by_role("button", name="Log out").click()

    login(page, *SUPERVISOR)
    page.get_by_role("link", name="Team tasks").click()
    other = browser.new_context(base_url=site.url)
    stale = other.new_page()
    login(stale, *ADMIN)
    stale.goto("/team-tasks")

    row = page.locator("tr", has=page.locator(f'a[href="/sessions/{session_id}"]'))
    assert "Write the summary" in row.inner_text()
    row.get_by_label("Reassign “Write the summary” to").select_option(label="Otto Operator")
    row.get_by_role("button", name="Reassign").click()
    assert page.get_by_text("“Write the summary” is now Otto Operator’s.").is_visible()
    shot(page, "team-tasks-reassigned")

    old = stale.locator("tr", has=stale.locator(f'a[href="/sessions/{session_id}"]'))
    old.get_by_label("Reassign “Write the summary” to").select_option(label="Olga Operator")
    old.get_by_role("button", name="Reassign").click()
    assert stale.locator(".error-code").inner_text() == "409"
    assert "it is now otto's" in stale.locator(".error-card").inner_text()
    other.close()

    page.get_by_role("button", name="Log out").click()
    login(page, *OTTO)
    page.get_by_role("link", name="My tasks").click()
    assert page.get_by_role("link", name="Write the summary").count() == 1
