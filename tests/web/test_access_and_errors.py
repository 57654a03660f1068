"""Access and errors (issue 16, item 8): the 403 page leads somewhere the user may go, and the
API docs page carries the app's header."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.web.support import Browser, World
from web.api import operations


def _back_link(html: str) -> tuple[str, str]:
    match = re.search(r'<p><a href="([^"]+)">([^<]+)</a></p>\s*</section>', html)
    assert match, html
    return match.group(1), match.group(2)


def test_the_403_page_of_an_app_user_links_to_the_apps(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    sales = browser_for("sales")
    refused = sales.get(f"/sessions/{world.first}")
    assert refused.status_code == 403
    target, label = _back_link(refused.get_data(as_text=True))
    assert (target, label) == ("/apps", "Back to the apps")
    assert sales.get(target).status_code == 200


def test_the_403_page_of_an_operator_links_to_the_sessions(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    sven = browser_for("sven")  # works Sales only
    refused = sven.get(f"/sessions/{world.first}")
    assert refused.status_code == 403
    target, label = _back_link(refused.get_data(as_text=True))
    assert (target, label) == ("/", "Back to the sessions")
    assert sven.get("/sessions").status_code == 200


def test_an_error_page_for_a_visitor_links_to_the_login(client: FlaskClient) -> None:
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert _back_link(missing.get_data(as_text=True)) == ("/login", "Log in")


def test_docs_page_is_self_contained_in_the_app_layout(client: FlaskClient) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for op in operations():
        assert f'id="{op.operation_id}"' in html
    assert "<script" not in html
    assert "<style" not in html
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert 'class="topbar"' in html  # the app's header, as on every page


def test_docs_page_shows_the_navigation_and_log_out_when_logged_in(
    browser_for: Callable[[str], Browser],
) -> None:
    html = browser_for("olga").get("/api/v1/docs").get_data(as_text=True)
    assert 'aria-label="Main"' in html
    assert ">Log out</button>" in html
    assert 'href="/api/v1/docs" aria-current="page"' in html
