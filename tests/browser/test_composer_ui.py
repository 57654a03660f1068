"""The composer and stale edits in Chromium: Enter sends and Shift+Enter breaks the line, a
quick reply goes in rendered for the session, and two people editing the same parameter or
name from stale pages: the second sees the first's value and who, and keeps their own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bpm_livechat.models import Client, Status, SupportSession
from bpm_livechat.persistence.engines import make_engine
from tests.browser.support import Site, login, shot

OPERATOR = ("operator", "operator-demo-pass")
SUPERVISOR = ("supervisor", "supervisor-demo-pass")
ADMIN = ("admin", "admin-demo-pass")
# Customer Support sessions no other browser test touches (see SUPPORT_SESSIONS).
UNUSED = (19, 20, 21, 22, 23)


def _open_sessions(site: Site) -> list[tuple[int, str, str]]:
    """(id, client name, subject) of the untouched Support sessions that are not closed."""
    engine = make_engine(site.database_url)
    try:
        with engine.connect() as conn:
            ids = [site.support[i] for i in UNUSED if i < len(site.support)]
            rows = conn.execute(
                select(SupportSession.id, SupportSession.client_id, SupportSession.subject)
                .where(SupportSession.id.in_(ids), SupportSession.status != Status.CLOSED.value)
                .order_by(SupportSession.id)
            ).all()
            names = dict(conn.execute(select(Client.id, Client.name)).all())
    finally:
        engine.dispose()
    return [(row.id, names[row.client_id], row.subject) for row in rows]


@pytest.fixture
def second(browser: Any, site: Site) -> Iterator[Any]:
    """A second browser context (another person) and its page."""
    context = browser.new_context(base_url=site.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_enter_sends_and_shift_enter_breaks_the_line(page: Any, site: Site) -> None:
    session_id, _client, _subject = _open_sessions(site)[0]
    login(page, *OPERATOR)
    page.goto(f"/sessions/{session_id}")
    before = page.locator(".thread .msg").count()
    box = page.get_by_label(re.compile("^Reply to "))
    box.click()
    box.type("Hello from the console")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "Hello from the console\nsecond line"
    assert page.locator(".thread .msg").count() == before  # Shift+Enter sent nothing
    shot(page, "composer-typing")
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/sessions/{session_id}#composer$"))
    page.wait_for_load_state()
    last = page.locator(".thread .msg").last
    assert page.locator(".thread .msg").count() == before + 1
    assert last.locator(".msg-text").inner_text() == "Hello from the console\nsecond line"
    assert "Operator" in last.locator(".msg-meta").inner_text()
    assert "msg-operator" in (last.get_attribute("class") or "")
    assert page.get_by_label(re.compile("^Reply to ")).input_value() == ""
    # Enter in an empty box sends nothing.
    page.get_by_label(re.compile("^Reply to ")).press("Enter")
    page.wait_for_timeout(300)
    assert page.locator(".thread .msg").count() == before + 1
    shot(page, "composer-sent")


def test_the_composer_is_reachable_on_a_phone(browser: Any, site: Site) -> None:
    session_id, _client, _subject = _open_sessions(site)[0]
    context = browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    try:
        phone = context.new_page()
        login(phone, *OPERATOR)
        phone.goto(f"/sessions/{session_id}")
        box = phone.get_by_label(re.compile("^Reply to "))
        box.scroll_into_view_if_needed()
        area = box.bounding_box()
        send = phone.get_by_role("button", name="Send").bounding_box()
        assert area is not None and send is not None
        assert area["x"] >= 0 and area["x"] + area["width"] <= 390
        assert send["x"] >= 0 and send["x"] + send["width"] <= 390
        box.fill("Sent from a phone")
        phone.get_by_role("button", name="Send").click()
        phone.wait_for_load_state()
        assert phone.locator(".thread .msg-text").last.inner_text() == "Sent from a phone"
        shot(phone, "composer-390")
    finally:
        context.close()


def test_a_quick_reply_goes_in_rendered_for_the_session(page: Any, second: Any, site: Site) -> None:
    session_id, client, subject = _open_sessions(site)[1]
    login(page, *ADMIN)
    page.goto("/admin/quick-replies")
    page.get_by_label("Title").fill("Greeting")
    page.get_by_label("Text").fill("Hello {client.name},\nabout “{subject}”: we are on it.")
    page.get_by_label("Offered in").select_option(label="Customer Support")
    page.get_by_role("button", name="Add quick reply").click()
    page.wait_for_load_state()
    assert page.get_by_text("Quick reply “Greeting” added.").is_visible()
    # A bad placeholder is refused at save, naming it.
    page.get_by_label("Title").fill("Broken")
    page.get_by_label("Text").fill("Hi {client.nickname}")
    page.get_by_role("button", name="Add quick reply").click()
    page.wait_for_load_state()
    assert page.locator("#qr-body-error").inner_text() == (
        "unknown placeholder {client.nickname} at position 4"
    )
    shot(page, "quick-replies-admin")

    login(second, *OPERATOR)
    second.goto(f"/sessions/{session_id}")
    box = second.get_by_label(re.compile("^Reply to "))
    box.fill("Hi! ")
    second.get_by_label("Quick reply").select_option(label="Greeting")
    second.get_by_role("button", name="Insert").click()
    expected = f"Hello {client},\nabout “{subject}”: we are on it."
    assert box.input_value() == "Hi! " + expected  # inserted at the cursor, no page load
    assert "quick=" not in second.url
    shot(second, "composer-quick-reply")
    box.press("Enter")
    second.wait_for_load_state()
    assert second.locator(".thread .msg-text").last.inner_text() == "Hi! " + expected


def test_two_people_edit_the_same_parameter_from_stale_pages(
    page: Any, second: Any, site: Site
) -> None:
    session_id = _open_sessions(site)[2][0]
    login(page, *OPERATOR)
    login(second, *SUPERVISOR)
    for each in (page, second):
        each.goto(f"/sessions/{session_id}")
        each.get_by_role("link", name="Edit Order number").click()
    page.get_by_label("Order number", exact=True).fill("A-100")
    second.get_by_label("Order number", exact=True).fill("B-200")
    page.get_by_role("button", name="Save Order number").click()
    page.wait_for_load_state()
    assert page.get_by_text("Order number saved.").is_visible()
    second.get_by_role("button", name="Save Order number").click()
    second.wait_for_load_state()
    conflict = second.locator("#param-order_number [data-conflict]")
    assert conflict.is_visible()
    assert "Olga Operator changed it at" in conflict.inner_text()
    assert conflict.locator("[data-conflict-current]").inner_text() == "A-100"
    assert second.get_by_label("Order number", exact=True).input_value() == "B-200"
    shot(second, "stale-parameter-conflict")
    # Saved deliberately from the conflict: now it replaces the other's value.
    second.get_by_role("button", name="Save Order number").click()
    second.wait_for_load_state()
    assert second.get_by_text("Order number saved.").is_visible()
    value = second.locator("#param-order_number .param-value").inner_text()
    assert value == "B-200"


def test_two_people_rename_from_stale_pages(page: Any, second: Any, site: Site) -> None:
    session_id = _open_sessions(site)[3][0]
    login(page, *OPERATOR)
    login(second, *SUPERVISOR)
    for each in (page, second):
        each.goto(f"/sessions/{session_id}")
        each.get_by_role("link", name="Rename").click()
    page.get_by_label("Session name").fill("Olga's name")
    second.get_by_label("Session name").fill("Sam's name")
    page.get_by_role("button", name="Save name").click()
    page.wait_for_load_state()
    assert page.get_by_text("Session renamed.").is_visible()
    second.get_by_role("button", name="Save name").click()
    second.wait_for_load_state()
    conflict = second.locator("#name [data-conflict]")
    assert conflict.is_visible()
    assert "Olga Operator changed it at" in conflict.inner_text()
    assert conflict.locator("[data-conflict-current]").inner_text() == "Olga's name"
    assert second.get_by_label("Session name").input_value() == "Sam's name"
    shot(second, "stale-rename-conflict")
    second.get_by_role("button", name="Save name").click()
    second.wait_for_load_state()
    assert second.locator("h1.session-name").inner_text().startswith("Sam's name")
