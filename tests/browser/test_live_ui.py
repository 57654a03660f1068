"""Live updates in Chromium: two browser contexts, the API and a process change what an open
page shows, without a reload; a page whose stream drops catches up."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import get_user
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from tests.browser.support import Site, login, shot

OPERATOR = ("operator", "operator-demo-pass")
SUPERVISOR = ("supervisor", "supervisor-demo-pass")
FORM = {"contact_email": "Live.Test@Example.com", "contact_phone": "+49 30 1234-5678",
        "preferred_contact_time": "morning"}  # fmt: skip


@pytest.fixture(scope="module")
def token(site: Site) -> str:
    """An API token of the demo's operator (the channel posts as the client with it)."""
    engine = make_engine(site.database_url)
    with unit_of_work(session_factory(engine)) as db:
        _row, plaintext = create_token(db, get_user(db, "operator"), f"live-{time.time_ns()}")
    engine.dispose()
    return plaintext


def _api(site: Site, token: str, method: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{site.url}/api/v1{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def second(browser: Any, site: Site) -> Iterator[Any]:
    """A second browser context (another person at another desk)."""
    context = browser.new_context(base_url=site.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _open_live(page: Any, path: str) -> None:
    page.goto(path)
    page.wait_for_selector('.live-status[data-state="live"]')
    page.evaluate("window.notReloaded = true")


def _not_reloaded(page: Any) -> bool:
    return bool(page.evaluate("window.notReloaded === true"))


def test_a_client_message_appears_on_the_open_session_page(
    page: Any, site: Site, token: str
) -> None:
    login(page, *OPERATOR)
    session_id = site.support[12]
    _open_live(page, f"/sessions/{session_id}")
    before = page.locator(".thread .msg").count()
    page.evaluate("document.querySelector('#param-segment').untouched = true")
    started = time.monotonic()
    _api(site, token, "POST", f"/sessions/{session_id}/messages", {"text": "Live from the API"})
    last = page.locator(".thread .msg").last
    last.get_by_text("Live from the API").wait_for(timeout=5_000)
    assert time.monotonic() - started < 5
    assert page.locator(".thread .msg").count() == before + 1
    assert _not_reloaded(page)
    assert page.locator(".live-status").inner_text() == "Live"
    # Only the thread changed: the other parts stay (their forms' fresh CSRF tokens aside).
    assert page.evaluate("document.querySelector('#param-segment').untouched === true")
    shot(page, "live-message-arrived")


def test_parameters_from_another_desk_and_from_a_process_appear(
    page: Any, second: Any, site: Site, token: str
) -> None:
    session_id = site.support[13]
    login(page, *OPERATOR)
    _open_live(page, f"/sessions/{session_id}")
    # A supervisor at another desk saves the Summary.
    login(second, *SUPERVISOR)
    second.goto(f"/sessions/{session_id}?edit=summary#param-summary")
    second.get_by_label("Summary", exact=True).fill("Refund agreed by phone")
    second.get_by_role("button", name="Save Summary").click()
    second.wait_for_load_state()
    summary = page.locator("#param-summary .param-value")
    summary.get_by_text("Refund agreed by phone").wait_for(timeout=5_000)
    # A process writes the contact details (started through the API).
    started = _api(
        site, token, "POST", f"/sessions/{session_id}/instances",
        {"process": "collect_contact_details", "data": FORM},
    )  # fmt: skip
    assert started["status"] in {"completed", "waiting"}
    email = page.locator("#param-contact_email .param-value")
    email.get_by_text(re.compile("live.test@example.com", re.I)).wait_for(timeout=5_000)
    page.locator("#param-contact_email .history summary").click()
    assert (
        "process collect_contact_details"
        in page.locator("#param-contact_email .history").inner_text()
    )
    assert _not_reloaded(page)
    shot(page, "live-parameters-from-a-process")


def test_an_open_edit_form_is_left_alone_while_other_parts_update(
    page: Any, site: Site, token: str
) -> None:
    session_id = site.support[14]
    login(page, *OPERATOR)
    _open_live(page, f"/sessions/{session_id}")
    page.get_by_role("link", name="Edit Summary").click()
    field = page.get_by_label("Summary", exact=True)
    field.fill("Half-typed")
    _api(site, token, "POST", f"/sessions/{session_id}/messages", {"text": "While typing"})
    page.locator(".thread").get_by_text("While typing").wait_for(timeout=5_000)
    assert field.input_value() == "Half-typed"
    assert field.is_visible()


def test_a_new_queued_session_appears_on_the_open_list(page: Any, site: Site, token: str) -> None:
    login(page, *OPERATOR)
    _open_live(page, "/sessions")
    total = int(page.locator("h1 .count").inner_text().replace(",", ""))
    body = {"live_chat": "Customer Support", "client": {"name": "Quinn Newcomer"},
            "subject": "Brand new question", "message": "Hello?"}  # fmt: skip
    _api(site, token, "POST", "/sessions", body)
    page.locator("table.grid").get_by_text("Quinn Newcomer", exact=False).first.wait_for(
        timeout=5_000
    )
    assert page.locator("h1 .count").inner_text().replace(",", "") == str(total + 1)
    assert _not_reloaded(page)
    shot(page, "live-list-new-session")


def test_a_page_whose_stream_dropped_catches_up_without_reload(
    page: Any, site: Site, token: str
) -> None:
    login(page, *OPERATOR)
    session_id = site.support[15]
    _open_live(page, f"/sessions/{session_id}")
    page.context.set_offline(True)
    site.app.extensions["bpm_livechat.live_hub"].stop()  # the server ends every stream
    page.wait_for_selector('.live-status[data-state="reconnecting"]')
    shot(page, "live-reconnecting")
    _api(site, token, "POST", f"/sessions/{session_id}/messages", {"text": "Sent while away"})
    time.sleep(1.0)
    assert page.locator(".thread").get_by_text("Sent while away").count() == 0
    page.context.set_offline(False)
    page.locator(".thread").get_by_text("Sent while away").wait_for(timeout=10_000)
    page.wait_for_selector('.live-status[data-state="live"]')
    assert _not_reloaded(page)
    shot(page, "live-caught-up")
