"""Processes in a real browser: start with a field error then success, retry, keyboard-only form."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.support import Site, login, shot
from tests.browser.test_sessions_ui import OPERATOR, SUPERVISOR


def test_collect_contact_details_with_an_invalid_email_then_fixed(page: Any, site: Site) -> None:
    session_id = site.support[2]
    login(page, *OPERATOR)
    page.goto(f"/sessions/{session_id}")
    page.get_by_role("link", name="Start process: Collect contact details").click()
    shot(page, "start-form")
    email = page.get_by_label("Email")
    email.fill("maria at example")
    page.get_by_role("button", name="Start process").click()
    error = page.locator("#start-contact_email-error")
    assert error.inner_text() == "not a valid email address"
    assert email.input_value() == "maria at example"
    assert email.get_attribute("aria-invalid") == "true"
    shot(page, "start-form-error")
    email.fill("Maria.Garcia@Example.com")
    page.get_by_role("button", name="Start process").click()
    page.wait_for_url(re.compile(rf"/sessions/{session_id}\?changed="))
    changed = page.locator("#param-contact_email")
    assert "changed" in (changed.get_attribute("class") or "")
    assert changed.locator(".param-value").inner_text() == "maria.garcia@example.com"
    assert page.locator(".instance .badge").first.text_content() == "completed"
    assert page.locator(".instance svg .bpmn-task.is-done").count() == 1
    shot(page, "session-after-process")
    page.goto("/sessions/columns")
    page.get_by_label("Contact email").check()
    page.get_by_role("button", name="Save columns").click()
    page.goto("/sessions?sort=-contact_email")
    assert page.locator("td", has_text="maria.garcia@example.com").count() >= 1


def test_supervisor_reads_the_error_and_retries_after_the_fix(page: Any, site: Site) -> None:
    session_id = site.support[3]
    login(page, *OPERATOR)
    page.goto(f"/sessions/{session_id}/start/needs_summary")
    page.get_by_role("button", name="Start process").click()
    page.wait_for_url(re.compile(rf"/sessions/{session_id}#instance-\d+"))
    assert (
        "Escalate with summary failed; nothing was changed."
        in page.locator(".alert").first.inner_text()
    )
    assert page.get_by_role("button", name="Retry").count() == 0  # operators cannot retry
    page.get_by_role("button", name="Log out").click()

    login(page, *SUPERVISOR)
    page.goto(f"/sessions/{session_id}")
    problem = page.locator(".failure-text").first.inner_text()
    assert problem == (
        "The script stopped with an error in “Copy the summary” (script line 1): "
        "KeyError: 'summary'."
    )
    assert page.locator(".instance svg .bpmn-task.is-failed").count() == 1
    shot(page, "failed-instance")
    page.get_by_role("link", name="Edit Summary").click()
    page.locator("#value-summary").fill("Client wants a call back")
    page.get_by_role("button", name="Save Summary").click()
    page.get_by_role("button", name="Retry").click()
    page.wait_for_url(re.compile(rf"/sessions/{session_id}\?changed=contact_summary"))
    assert page.locator(".instance .badge").first.text_content() == "completed"
    value = page.locator("#param-contact_summary .param-value").inner_text()
    assert value == "CLIENT WANTS A CALL BACK"


def test_start_form_with_the_keyboard_alone(page: Any, site: Site) -> None:
    session_id = site.support[4]
    login(page, *OPERATOR)
    page.goto(f"/sessions/{session_id}/start/collect_contact_details")
    for _ in range(30):  # Tab from the top of the page to the first form field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "start-contact_email":
            break
    assert page.evaluate("document.activeElement.id") == "start-contact_email"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.type("keys@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("+44 20 7946 0000")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "start-preferred_contact_time"
    page.keyboard.press("ArrowDown")  # afternoon (pre-filled) -> evening
    shot(page, "start-form-keyboard")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # Enter in a text field submits the form
    page.wait_for_url(re.compile(rf"/sessions/{session_id}\?changed="))
    assert page.locator("#param-contact_email .param-value").inner_text() == "keys@example.org"
    assert page.locator("#param-preferred_contact_time .param-value").inner_text() == "evening"


def test_my_tasks_lists_the_next_task(page: Any, site: Site) -> None:
    session_id = site.support[5]
    login(page, *OPERATOR)
    page.goto(f"/sessions/{session_id}/start/summarize_session")
    page.get_by_role("button", name="Start process").click()
    page.wait_for_url(re.compile(rf"/sessions/{session_id}"))
    assert page.get_by_role("heading", name="Next task: Write the summary").is_visible()
    page.get_by_role("link", name="My tasks").click()
    shot(page, "my-tasks")
    page.get_by_role("link", name="Write the summary").first.click()
    shot(page, "task-form")
    assert page.get_by_role("button", name="Submit").is_visible()
