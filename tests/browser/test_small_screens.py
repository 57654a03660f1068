"""Every main page at 390 x 844 (a phone): no sideways page scrolling, and the collapsed
navigation opens with its Menu button so every link and Log out stay reachable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.support import Site, login, shot

PHONE = {"width": 390, "height": 844}
ADMIN = ("admin", "admin-demo-pass")
SUPERVISOR = ("supervisor", "supervisor-demo-pass")
OPERATOR = ("operator", "operator-demo-pass")
APP_USER = ("sales", "sales-demo-pass")


@pytest.fixture
def phone(browser: Any, site: Site) -> Iterator[Any]:
    """A fresh browser context with a phone's viewport."""
    context = browser.new_context(base_url=site.url, viewport=PHONE, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def _fits(page: Any, name: str) -> None:
    """The page does not scroll sideways, and is saved for a look."""
    width = page.evaluate("document.scrollingElement.scrollWidth")
    shot(page, f"phone-{name}")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def _menu_reaches_everything(page: Any, links: list[str]) -> None:
    """Closed, the menu hides the navigation; opened, every link and Log out are on screen."""
    nav = page.get_by_role("navigation", name="Main")
    assert not nav.is_visible()
    toggle = page.get_by_role("checkbox", name="Menu")  # keyboard users reach it too
    assert toggle.get_attribute("aria-controls") == "topnav"
    page.locator("label[for=nav-toggle]").click()
    assert toggle.is_checked()
    assert nav.is_visible()
    for name in links:
        link = nav.get_by_role("link", name=name, exact=True)
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
    logout = page.get_by_role("button", name="Log out")
    box = logout.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]


def _first_link(page: Any, pattern: str) -> str:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = next((h for h in hrefs if re.fullmatch(pattern, h)), None)
    assert found, f"no link like {pattern} on {page.url}"
    return str(found)


def test_admin_pages_fit_a_phone(phone: Any, site: Site) -> None:
    login(phone, *ADMIN)
    _fits(phone, "sessions")
    _menu_reaches_everything(
        phone,
        ["Sessions", "My tasks", "Team tasks", "Incidents", "API tokens", "API docs", "Apps",
         "Admin", "Processes", "Script bench"],
    )  # fmt: skip
    shot(phone, "phone-menu-open")
    phone.goto("/sessions?view=tiles")
    pages = [
        f"/sessions/{site.support[18]}",
        "/sessions/columns",
        "/tasks",
        "/team-tasks",
        "/incidents",
        "/admin/parameters",
        "/admin/livechats",
        "/admin/users",
        "/admin/webhooks",
        "/admin/processes",
        "/admin/script-bench",
        "/account/tokens",
        "/api/v1/docs",
        "/apps",
    ]
    for path in pages:
        phone.goto(path)
        _fits(phone, path.strip("/").replace("/", "-") or "home")
    phone.goto("/admin/livechats")
    phone.goto(_first_link(phone, r"/admin/livechats/\d+"))
    _fits(phone, "admin-livechat")
    phone.goto("/admin/users")
    phone.goto(_first_link(phone, r"/admin/users/\d+"))
    _fits(phone, "admin-user")
    phone.goto("/admin/processes")
    phone.goto(_first_link(phone, r"/admin/processes/[a-z_]+"))
    _fits(phone, "admin-process")
    phone.goto(_first_link(phone, r"/admin/processes/[a-z_]+/versions/\d+"))
    _fits(phone, "admin-process-version")
    phone.goto("/apps")
    phone.goto(_first_link(phone, r"/apps/\d+"))
    _fits(phone, "app")
    phone.goto(_first_link(phone, r"/apps/items/\d+"))
    _fits(phone, "app-item")


def test_operator_session_page_and_forms_fit_a_phone(phone: Any, site: Site) -> None:
    session_id = site.support[16]
    login(phone, *OPERATOR)
    phone.goto(f"/sessions/{session_id}")
    _fits(phone, "operator-session")
    phone.get_by_role("link", name="Start process: Collect contact details").click()
    _fits(phone, "operator-start-form")
    email = phone.get_by_label("Email")
    box = email.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    _menu_reaches_everything(phone, ["Sessions", "My tasks", "API tokens", "API docs", "Apps"])


def test_supervisor_views_fit_a_phone(phone: Any, site: Site) -> None:
    session_id = site.support[17]
    login(phone, *SUPERVISOR)
    for process in ("needs_summary", "summarize_session"):  # an incident and an open task
        phone.goto(f"/sessions/{session_id}/start/{process}")
        phone.get_by_role("button", name="Start process").click()
        phone.wait_for_url(re.compile(rf"/sessions/{session_id}"))
    for path in ("/incidents", "/team-tasks", "/sessions"):
        phone.goto(path)
        _fits(phone, f"supervisor-{path.strip('/')}")
        if path != "/sessions":
            links = (
                f'tbody a[href="/sessions/{session_id}"], tbody a[href^="/sessions/{session_id}#"]'
            )
            assert phone.locator(links).count() >= 1
    _menu_reaches_everything(phone, ["Sessions", "My tasks", "Team tasks", "Incidents"])


def test_app_user_and_error_pages_fit_a_phone(phone: Any, site: Site) -> None:
    phone.goto("/login")
    _fits(phone, "login")
    phone.goto("/login?next=/apps")
    phone.get_by_label("Username").fill(APP_USER[0])
    phone.get_by_label("Password").fill(APP_USER[1])
    phone.get_by_role("button", name="Log in").click()
    phone.wait_for_url("**/apps")
    _fits(phone, "app-user-apps")
    phone.goto("/sessions")
    _fits(phone, "app-user-403")
    _menu_reaches_everything(phone, ["API tokens", "API docs", "Apps"])
