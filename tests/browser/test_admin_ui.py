"""Admins in a real browser: Form Settings (add by type) and the live name template preview."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.support import login, shot

ADMIN = ("admin", "admin-demo-pass")
WAIT_MS = 10_000  # as the pages' default timeout: shared CI machines can be slow


def test_add_a_parameter_by_dragging_its_type_then_choose_it_as_a_column(page: Any) -> None:
    login(page, *ADMIN)
    page.get_by_role("link", name="Admin", exact=True).click()
    page.wait_for_url("**/admin/parameters")
    assert page.locator(".param-system .is-locked").count() == 10
    # Held and dropped near the top-left corners: the list is taller than the window.
    page.locator('.palette-item[data-type="choice"]').drag_to(
        page.locator("#param-drop"),
        source_position={"x": 10, "y": 10},
        target_position={"x": 20, "y": 10},
    )
    page.wait_for_url(re.compile(r"type=choice"))
    assert page.get_by_role("heading", name="New choice parameter").is_visible()
    page.get_by_label("Key").fill("vip_level")
    page.get_by_label("Label").fill("VIP level")
    page.get_by_label("Options (one per line").fill("gold\nsilver")
    page.get_by_role("button", name="Add parameter").click()
    page.wait_for_url("**/admin/parameters")
    assert page.locator(".param-custom [data-key=vip_level]").is_visible()
    shot(page, "admin-form-settings")
    # The keyboard way: the type's "Add" button opens the same form.
    page.get_by_role("link", name="Add a date parameter").click()
    assert page.get_by_role("heading", name="New date parameter").is_visible()
    page.goto("/sessions")
    page.get_by_role("link", name="Columns").click()
    assert page.get_by_label("VIP level").is_visible()


def test_template_preview_then_an_invalid_placeholder(page: Any) -> None:
    login(page, *ADMIN)
    page.goto("/admin/livechats")
    page.get_by_role("link", name="Customer Support").click()
    field = page.get_by_label("Template", exact=True)
    preview = page.locator("[data-template-preview]")
    field.fill("{subject} | {live_chat.name}")
    expect(preview).to_have_text(re.compile(r"^\S.* \| Customer Support$"), timeout=WAIT_MS)
    shot(page, "admin-template-preview")
    field.fill("Ticket {client.nmae}")
    error = page.locator("#name-template-error")
    expect(error).to_have_text("unknown placeholder {client.nmae} at position 8", timeout=WAIT_MS)
    expect(preview).to_have_text("", timeout=WAIT_MS)
    assert field.get_attribute("aria-invalid") == "true"
    page.get_by_role("button", name="Save template").click()
    page.wait_for_load_state()
    assert page.locator("#name-template-error").inner_text().endswith("at position 8")
    assert page.get_by_label("Template", exact=True).input_value() == "Ticket {client.nmae}"
    shot(page, "admin-template-error")


def test_reorder_custom_parameters_by_drag_and_by_button(page: Any) -> None:
    login(page, *ADMIN)
    page.goto("/admin/parameters")
    items = page.locator(".param-custom [data-key]")
    first, second = items.nth(0).get_attribute("data-key"), items.nth(1).get_attribute("data-key")
    items.nth(1).drag_to(
        items.nth(0), source_position={"x": 8, "y": 8}, target_position={"x": 8, "y": 8}
    )
    expect(items.nth(0)).to_have_attribute("data-key", str(second), timeout=WAIT_MS)
    expect(items.nth(1)).to_have_attribute("data-key", str(first), timeout=WAIT_MS)
    items.nth(0).get_by_role("button", name=re.compile(r"^Down")).click()
    expect(items.nth(0)).to_have_attribute("data-key", str(first), timeout=WAIT_MS)
    expect(items.nth(1)).to_have_attribute("data-key", str(second), timeout=WAIT_MS)
