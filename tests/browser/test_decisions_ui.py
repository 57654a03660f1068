"""Decisions in a real browser: upload a DMN file, see its versions, try it on a session."""

from __future__ import annotations

from typing import Any

from tests.browser.support import Site, login, shot
from tests.decisions.support import FILES

ADMIN = ("admin", "admin-demo-pass")


def test_upload_a_decision_and_try_it_on_a_session(page: Any, site: Site) -> None:
    login(page, *ADMIN)
    page.get_by_role("link", name="Decisions", exact=True).click()
    page.wait_for_url("**/admin/decisions")
    page.get_by_label("DMN file").set_input_files(str(FILES / "segment.dmn"))
    page.get_by_role("button", name="Upload and deploy").click()
    assert "Segment: version 1 (FIRST)" in page.locator("#deployed").inner_text()
    page.get_by_role("link", name="Segment", exact=True).click()
    page.wait_for_url("**/admin/decisions/segment")
    assert page.get_by_role("link", name="Download .dmn").count() == 1
    page.get_by_role("link", name="Try it").click()
    page.wait_for_url("**/admin/decisions/try?decision=segment")
    assert page.get_by_label("Decision").input_value() == "segment"
    page.get_by_label("Session id").fill(str(site.support[3]))
    page.get_by_label("Task data (JSON object)").fill('{"amount": 2500}')
    page.get_by_role("button", name="Try").click()
    result = page.locator("#try-result")
    assert f"segment v1 on session {site.support[3]}" in result.inner_text()
    rows = page.locator("#try-matched tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").nth(1).inner_text() == "big_order"
    assert page.locator("#try-data-result").inner_text() == '{"segment": "vip"}'
    shot(page, "decision-try")
    page.get_by_label("Task data (JSON object)").fill("not json")
    page.get_by_role("button", name="Try").click()
    assert "Not valid JSON" in page.locator("#try-data-error").inner_text()
