"""Destructive actions ask first, in a real browser; a new token has a working Copy button."""

from __future__ import annotations

from typing import Any

from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from tests.browser.support import Site, login, shot

ADMIN = ("admin", "admin-demo-pass")


def test_a_new_token_copies_and_revoking_it_asks_first(page: Any, site: Site) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    login(page, *ADMIN)
    page.goto("/account/tokens")
    page.get_by_label("Name").fill("Copy check")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Your new token").input_value()
    page.get_by_role("button", name="Copy", exact=True).click()
    # The clipboard write is asynchronous: wait for the status rather than read it at once.
    page.locator('[data-copy-status="new-token"]', has_text="Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == token

    row = page.locator("tr", has_text="Copy check")
    row.get_by_role("button", name="Revoke “Copy check”").click()
    assert page.get_by_role("heading", name="Revoke the token “Copy check”?").is_visible()
    shot(page, "confirm-revoke")
    page.get_by_role("link", name="Keep it, go back").click()
    assert page.locator("tr", has_text="Copy check").get_by_text("Active").is_visible()

    page.locator("tr", has_text="Copy check").get_by_role(
        "button", name="Revoke “Copy check”"
    ).click()
    page.get_by_role("button", name="Revoke the token", exact=True).click()
    assert "Token “Copy check” was revoked." in page.locator("main").inner_text()
    assert page.locator("tr", has_text="Copy check").get_by_text("Revoked").is_visible()


def test_archiving_a_parameter_asks_first_and_keeps_it_when_declined(page: Any, site: Site) -> None:
    engine = make_engine(site.database_url)
    with unit_of_work(session_factory(engine)) as db:
        add_parameter(db, "browser_archive", "text", "Archive me")
    engine.dispose()
    login(page, *ADMIN)
    page.goto("/admin/parameters")
    page.get_by_role("button", name="Archive Archive me").click()
    assert "disappears from forms" in page.locator("#confirm-consequence").inner_text()
    page.get_by_role("link", name="Keep it, go back").click()
    assert page.get_by_role("button", name="Archive Archive me").is_visible()
    page.get_by_role("button", name="Archive Archive me").click()
    page.get_by_role("button", name="Archive the parameter").click()
    assert page.get_by_role("button", name="Restore Archive me").is_visible()
