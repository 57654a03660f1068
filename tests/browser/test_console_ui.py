"""The operator's console in Chromium: list views, two operators racing Take, a supervisor's
Assign and Transfer, Close naming the empty required parameters, the read-only closed page, and
an Offline operator blocked from editing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.livechats import add_member, get_live_chat
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import MemberRole, User
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.sessions.lifecycle import create_session
from tests.browser.support import Site, login, shot

SUPERVISOR = ("supervisor", "supervisor-demo-pass")
OPERATOR = ("operator", "operator-demo-pass")


@pytest.fixture
def site_db(site: Site) -> Iterator[sessionmaker[Session]]:
    """Users and sessions on the served app's database."""
    engine = make_engine(site.database_url)
    yield session_factory(engine)
    engine.dispose()


def _operator(factory: sessionmaker[Session], username: str, name: str) -> tuple[str, str]:
    """A Customer Support operator of this test (made once per run); (username, password)."""
    password = f"{username}-pass-12"
    with unit_of_work(factory) as db:
        if db.scalar(select(User).where(User.username == username)) is None:
            user = create_user(db, username, "operator", password, name)
            add_member(db, get_live_chat(db, "Customer Support"), user, MemberRole.OPERATOR)
    return username, password


def _queued_session(factory: sessionmaker[Session], client: str, subject: str) -> int:
    with unit_of_work(factory) as db:
        chat = get_live_chat(db, "Customer Support")
        return create_session(db, chat, client_name=client, subject=subject).id


def _context_page(browser: Any, site: Site) -> Any:
    context = browser.new_context(base_url=site.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    return context.new_page()


def test_two_operators_race_to_take_one_wins_the_other_sees_who(
    browser: Any, site: Site, site_db: sessionmaker[Session]
) -> None:
    oscar = _operator(site_db, "oscar", "Oscar Operator")
    session_id = _queued_session(site_db, "Rita Race", "Who takes me?")
    olga_page, oscar_page = _context_page(browser, site), _context_page(browser, site)
    try:
        login(olga_page, *OPERATOR)
        login(oscar_page, *oscar)
        for page in (olga_page, oscar_page):
            page.goto(f"/sessions/{session_id}")
            assert page.locator("[data-operator]").inner_text() == "nobody yet (in the queue)"
        # Both pages show Take; Olga presses first, Oscar's page is now stale.
        olga_page.get_by_role("button", name="Take", exact=True).click()
        oscar_page.get_by_role("button", name="Take", exact=True).click()
        olga_page.wait_for_load_state()
        oscar_page.wait_for_load_state()
        assert olga_page.get_by_text("You took the session.").is_visible()
        assert olga_page.locator("[data-operator]").inner_text() == "Olga Operator"
        lost = oscar_page.get_by_text(
            f"Session {session_id} was already taken by Olga Operator (operator)."
        )
        assert lost.is_visible()
        assert oscar_page.locator("[data-operator]").inner_text() == "Olga Operator"
        assert oscar_page.get_by_role("button", name="Take", exact=True).count() == 0
        shot(oscar_page, "console-take-lost")
    finally:
        olga_page.context.close()
        oscar_page.context.close()


def test_list_views_with_counts_and_take_from_the_queue(
    page: Any, site_db: sessionmaker[Session]
) -> None:
    session_id = _queued_session(site_db, "Quentin Queue", "Take me from the list")
    login(page, *OPERATOR)
    tabs = page.get_by_role("navigation", name="Views")
    assert tabs.get_by_role("link").all_inner_texts()[0].startswith("Queue")
    assert tabs.get_by_role("link", name=re.compile("^All open")).count() == 0
    tabs.get_by_role("link", name=re.compile("^Queue")).click()
    page.wait_for_url("**tab=queue**")
    before = int(tabs.locator('[data-view-count="queue"]').inner_text())
    shot(page, "console-list-queue")
    row = page.locator("table.grid tbody tr").filter(has_text="Quentin Queue")
    row.get_by_role("button", name=re.compile("^Take")).click()
    page.wait_for_url(f"**/sessions/{session_id}")
    assert page.locator("[data-operator]").inner_text() == "Olga Operator"
    page.goto("/sessions?tab=mine")
    assert page.locator("table.grid tbody tr").filter(has_text="Quentin Queue").count() == 1
    assert int(tabs.locator('[data-view-count="queue"]').inner_text()) == before - 1


def test_supervisor_assigns_then_transfers(page: Any, site_db: sessionmaker[Session]) -> None:
    _operator(site_db, "oscar", "Oscar Operator")
    session_id = _queued_session(site_db, "Andrea Assign", "Please route me")
    login(page, *SUPERVISOR)
    page.goto("/sessions")
    assert (
        page.get_by_role("navigation", name="Views")
        .get_by_role("link", name=re.compile("^All open"))
        .is_visible()
    )
    page.goto(f"/sessions/{session_id}")
    page.get_by_label("Assign to").select_option("operator")
    page.get_by_role("button", name="Assign", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("[data-operator]").inner_text() == "Olga Operator"
    page.get_by_label("Transfer to").select_option("oscar")
    shot(page, "console-transfer")
    page.get_by_role("button", name="Transfer", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("[data-operator]").inner_text() == "Oscar Operator"
    page.get_by_text(re.compile(r"^Activity \(2\)")).click()
    assert page.get_by_text(
        "Sam Supervisor transferred the session from Olga Operator to Oscar Operator"
    ).is_visible()


def test_close_names_required_parameters_then_the_page_is_read_only(
    page: Any, site_db: sessionmaker[Session]
) -> None:
    session_id = _queued_session(site_db, "Carla Close", "All done")
    login(page, *OPERATOR)
    page.goto(f"/sessions/{session_id}")
    outcome_row = page.locator("#param-outcome")
    assert outcome_row.get_by_text("required to close").is_visible()
    page.get_by_role("button", name="Close session").click()
    page.wait_for_load_state()
    missing = page.get_by_role("alert").filter(has_text="cannot be closed yet")
    assert missing.get_by_role("link").all_inner_texts() == ["Outcome"]
    shot(page, "console-close-missing")
    missing.get_by_role("link", name="Outcome").click()
    assert page.url.endswith("#param-outcome")
    outcome_row.get_by_role("link", name="Edit Outcome").click()
    outcome_row.get_by_label("Outcome").select_option("resolved")
    outcome_row.get_by_role("button", name="Save Outcome").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Close session").click()
    page.wait_for_load_state()
    notice = page.locator("#closed-notice")
    assert re.match(
        r"^Closed on .+ by Olga Operator\. This session is read-only", notice.inner_text()
    )
    assert page.locator("[data-edit-toggle]").count() == 0
    assert page.get_by_role("link", name="Rename").count() == 0
    assert page.get_by_role("button", name="Close session").count() == 0
    assert page.get_by_text("Processes cannot be started on a closed session.").is_visible()
    shot(page, "console-closed-read-only")


def test_offline_operator_cannot_edit_even_from_an_open_form(
    browser: Any, site: Site, site_db: sessionmaker[Session]
) -> None:
    paula = _operator(site_db, "paula", "Paula Presence")
    session_id = _queued_session(site_db, "Otto Offline", "Presence check")
    editing, top_bar = _context_page(browser, site), _context_page(browser, site)
    try:
        login(editing, *paula)
        login(top_bar, *paula)
        editing.goto(f"/sessions/{session_id}")
        segment = editing.locator("#param-segment")
        segment.get_by_role("link", name="Edit Segment").click()
        segment.get_by_label("Segment").select_option("smb")
        # Meanwhile, in another tab, Paula sets herself Offline in the top bar.
        top_bar.goto(f"/sessions/{session_id}")
        with top_bar.expect_navigation():
            top_bar.get_by_label("Presence").select_option("offline")  # sends itself
        assert top_bar.get_by_text("You are Offline.", exact=True).is_visible()
        assert top_bar.locator("#offline-notice").is_visible()
        assert top_bar.locator("[data-edit-toggle]").count() == 0
        shot(top_bar, "console-offline")
        segment.get_by_role("button", name="Save Segment").click()
        editing.wait_for_load_state()
        assert editing.get_by_role("heading", name="You are Offline").is_visible()
        assert editing.get_by_text(
            "You are Offline: set yourself Online to edit parameters."
        ).is_visible()
        with top_bar.expect_navigation():
            top_bar.get_by_label("Presence").select_option("online")
        assert top_bar.locator("[data-edit-toggle]").count() > 0
    finally:
        editing.context.close()
        top_bar.context.close()
