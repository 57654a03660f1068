"""Apps in the browser: an app user reads a session's messages on an item page, others are
refused; an operator creates a Clients item from a session."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.support import Site, login, shot

OPERATOR = ("operator", "operator-demo-pass")
APP_USER = ("sales", "sales-demo-pass")
SUPERVISOR = ("supervisor", "supervisor-demo-pass")


def _login_to_apps(page: Any, username: str, password: str) -> None:
    """App users have no sessions list: log in with "next" set to the apps page."""
    page.goto("/login?next=/apps")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/apps")


def _first_client_item(page: Any) -> str:
    page.get_by_role("link", name="Clients").click()
    page.locator(".app-items a").first.click()
    page.wait_for_url(re.compile(r"/apps/items/\d+"))
    return str(page.url)


def test_app_user_reads_messages_and_so_do_who_work_the_session(
    page: Any, browser: Any, site: Site
) -> None:
    _login_to_apps(page, *APP_USER)
    item_url = _first_client_item(page)
    widget = page.get_by_role("region", name=re.compile("Live Chat Messages"))
    assert widget.locator(".msg").count() > 0
    page.get_by_role("link", name="All sessions of this client").click()
    assert (
        page.get_by_role("link", name="All sessions of this client").get_attribute("aria-current")
        == "true"
    )
    shot(page, "apps-item-app-user")
    assert page.request.get(item_url + "/messages").status == 200

    for who in (OPERATOR, SUPERVISOR):  # they work Customer Support: no read grant needed
        other = browser.new_context(base_url=site.url)
        reader = other.new_page()
        login(reader, *who)
        reader.goto(item_url)
        assert reader.get_by_role("alert").count() == 0
        assert reader.locator(".live-chat-messages .msg").count() > 0
        assert reader.request.get(item_url + "/messages").status == 200
        shot(reader, f"apps-item-{who[0]}")
        other.close()


def test_the_403_page_links_to_a_page_the_user_may_see(page: Any) -> None:
    _login_to_apps(page, *APP_USER)
    page.goto("/sessions")
    assert page.locator(".error-code").inner_text() == "403"
    assert page.locator(".brand").get_attribute("href") == "/apps"  # the logo leads home too
    shot(page, "403-app-user")
    page.locator(".error-card a").click()
    page.wait_for_url("**/apps")
    assert page.locator(".error-code").count() == 0
    assert page.get_by_role("heading", level=1).count() == 1


def test_operator_creates_an_item_from_a_session(page: Any, site: Site) -> None:
    login(page, *OPERATOR)
    page.goto(f"/sessions/{site.support[-1]}")
    client = page.locator(".facts div", has_text="Client").first.locator("dd").inner_text()
    page.get_by_role("link", name="Create Clients item").click()
    assert page.get_by_label("Name").input_value() == client
    page.get_by_label("Website").fill("not a url")
    page.get_by_role("button", name="Create and link").click()
    assert page.locator("#item-website-error").is_visible()
    page.get_by_label("Website").fill("https://example.test")
    page.get_by_role("button", name="Create and link").click()
    page.wait_for_url(re.compile(rf"/sessions/{site.support[-1]}"))
    shot(page, "apps-session-items")
    items = page.get_by_role("region", name=re.compile("Clients"))
    items.get_by_role("link", name=client).click()
    page.wait_for_url(re.compile(r"/apps/items/\d+"))
    assert page.locator(".facts", has_text="https://example.test").count() == 1
    shot(page, "apps-item-created")
