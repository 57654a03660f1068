"""Operators and supervisors in a real browser: login, list, tiles and columns, rename, access."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.support import Site, login, shot

OPERATOR = ("operator", "operator-demo-pass")
SUPERVISOR = ("supervisor", "supervisor-demo-pass")


def test_operator_logs_in_and_opens_a_session(page: Any) -> None:
    login(page, *OPERATOR)
    shot(page, "sessions-table")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() > 0
    # Operators see only their live chat (Customer Support), never Sales.
    assert page.locator("table.grid").get_by_text("Sales", exact=True).count() == 0
    first = rows.first.locator("td a").first
    name = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    assert page.locator("h1.session-name").inner_text().startswith(name)
    assert page.locator(".thread .msg").count() >= 1
    shot(page, "session-page")


def test_rename_with_the_pencil_in_place(page: Any, site: Site) -> None:
    login(page, *SUPERVISOR)
    page.goto(f"/sessions/{site.support[1]}")
    page.get_by_role("link", name="Rename").click()
    assert "rename=1" not in page.url  # opened in place by the script, no page load
    field = page.get_by_label("Session name")
    assert field.is_visible()
    assert page.evaluate("document.activeElement.id") == "rename-input"
    field.fill("Callback about <b>delivery</b>")
    shot(page, "session-rename")
    page.get_by_role("button", name="Save name").click()
    page.wait_for_load_state()
    assert page.locator("h1.session-name").inner_text().startswith("Callback about <b>delivery</b>")
    assert page.get_by_text("Session renamed.").is_visible()


def test_tiles_and_adding_a_custom_parameter_column(page: Any) -> None:
    login(page, *SUPERVISOR)
    page.get_by_role("button", name="Tiles").click()
    page.wait_for_selector("ul.tiles")
    page.get_by_role("link", name="Columns").click()
    page.get_by_label("Order value").check()
    shot(page, "columns-chooser")
    page.get_by_role("button", name="Save columns").click()
    page.wait_for_selector("ul.tiles")
    assert page.locator(".tile dt", has_text="Order value").count() > 0
    assert page.locator(".tile dd", has_text=re.compile(r"^\d[\d,]*\.\d\d EUR$")).count() > 0
    shot(page, "sessions-tiles")
    page.reload()  # saved for the user, not just for this page
    assert page.locator(".tile dt", has_text="Order value").count() > 0
    page.get_by_role("button", name="Table").click()
    page.wait_for_selector("table.grid")
    assert page.locator("th", has_text="Order value").count() == 1


def test_operator_of_one_live_chat_gets_403_for_another(page: Any, site: Site) -> None:
    login(page, *OPERATOR)
    response = page.goto(f"/sessions/{site.sales}")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    shot(page, "forbidden")
