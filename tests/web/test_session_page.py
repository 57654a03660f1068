"""The session page: facts, messages, rename in place, parameters edited in place with history."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from bpm_livechat.params.catalogue import update_parameter
from bpm_livechat.params.values import get_parameters
from tests.web.support import HOSTILE_MESSAGE, ON_POSTGRES, Browser, World, session_row


def test_page_shows_name_facts_parameters_and_messages_oldest_first(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    html = browser_for("olga").get(f"/sessions/{world.evil}").get_data(as_text=True)
    assert (
        'aria-label="Rename"' not in html
    )  # the pencil's text is visually hidden, not an aria hack
    assert '<span class="sr-only">Rename</span>' in html
    assert "<dt>Live chat</dt><dd>Support</dd>" in html
    assert html.index("first message") < html.index("onerror")  # newest at the bottom
    assert '<label for="rename-input">Session name</label>' in html


def test_hostile_names_and_messages_are_escaped(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    html = browser_for("olga").get(f"/sessions/{world.evil}").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &#34;quoted&#34; &amp; done" in html
    assert HOSTILE_MESSAGE not in html


def test_rename_in_place(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    refused = olga.post(f"/sessions/{world.first}/name", {"name": "  VIP   caller "})
    assert refused.status_code == 422
    assert "must not begin or end with a space" in refused.text
    response = olga.post(f"/sessions/{world.first}/name", {"name": "VIP   caller"})
    assert response.status_code == 302
    assert session_row(db_session, world.first).name == "VIP   caller"
    html = olga.get(response.headers["Location"]).get_data(as_text=True)
    assert "Session renamed." in html and "named by hand" in html
    reset = olga.post(f"/sessions/{world.first}/name", {"action": "reset"})
    assert reset.status_code == 302
    row = session_row(db_session, world.first)
    assert row.name == "Client 00 — Question 00" and not row.name_is_manual


def test_an_empty_name_is_422_with_the_form_open_and_the_value_kept(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    response = browser_for("olga").post(f"/sessions/{world.first}/name", {"name": "   "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p class="field-error" id="rename-input-error">must not be empty</p>' in html
    assert 'value="   "' in html and 'aria-invalid="true"' in html
    assert session_row(db_session, world.first).name == "Client 00 — Question 00"


def test_a_parameter_is_edited_in_place_and_its_history_shows_who(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    response = olga.post(f"/sessions/{world.first}/params/satisfaction", {"value": "4"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sessions/{world.first}#param-satisfaction")
    assert get_parameters(db_session, world.first)["satisfaction"] == 4
    db_session.rollback()
    html = olga.get(f"/sessions/{world.first}").get_data(as_text=True)
    assert "Satisfaction saved." in html
    assert "<summary>History (1)</summary>" in html
    assert "Olga Operator · " in html


def test_a_bad_parameter_value_is_422_at_the_field_with_the_value_kept(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    response = olga.post(f"/sessions/{world.first}/params/satisfaction", {"value": "lots"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p class="field-error" id="value-satisfaction-error">not a whole number</p>' in html
    assert 'name="value" type="number" value="lots" aria-invalid="true"' in html
    assert "satisfaction" not in get_parameters(db_session, world.first)
    db_session.rollback()


def test_typed_inputs_money_datetime_and_multichoice(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    base = f"/sessions/{world.first}/params"
    assert olga.post(f"{base}/order_value", {"value": "1234.5 usd"}).status_code == 302
    assert olga.post(f"{base}/callback_at", {"value": "2026-12-01T09:30"}).status_code == 302
    assert olga.post(f"{base}/topics", {"value": ["delivery", "billing"]}).status_code == 302
    html = olga.get(f"/sessions/{world.first}").get_data(as_text=True)
    assert "1,234.50 USD" in html
    assert "2026-12-01 09:30 UTC" in html
    assert "billing, delivery" in html
    assert 'value="2026-12-01T09:30"' in html  # the edit form shows it back as entered
    bad = olga.post(f"{base}/topics", {"value": ["returns"]})
    assert bad.status_code == 422
    assert "not one of: billing, delivery" in bad.get_data(as_text=True)


def test_read_only_parameters_have_no_pencil_and_refuse_operator_writes(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    html = olga.get(f"/sessions/{world.first}").get_data(as_text=True)
    assert "Edit Contact email" not in html and ">read-only</span>" in html
    response = olga.post(f"/sessions/{world.first}/params/contact_email", {"value": "a@b.co"})
    assert response.status_code == 422
    assert "read-only" in response.get_data(as_text=True)
    admin = browser_for("admin")
    assert "Edit Contact email" in admin.get(f"/sessions/{world.first}").get_data(as_text=True)
    ok = admin.post(f"/sessions/{world.first}/params/contact_email", {"value": "A@B.co"})
    assert ok.status_code == 302


def test_system_parameters_cannot_be_edited(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    response = browser_for("olga").post(f"/sessions/{world.first}/params/status", {"value": "x"})
    assert response.status_code == 422


@ON_POSTGRES
def test_rename_and_edit_on_postgresql(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    sam = browser_for("sam")
    assert sam.post(f"/sessions/{world.first}/name", {"name": "On PG"}).status_code == 302
    assert session_row(db_session, world.first).name == "On PG"
    bad = sam.post(f"/sessions/{world.first}/params/order_value", {"value": "12"})
    assert bad.status_code == 422
    assert 'value="12"' in bad.get_data(as_text=True)
    ok = sam.post(f"/sessions/{world.first}/params/order_value", {"value": "12 EUR"})
    assert ok.status_code == 302


def test_choices_show_their_labels_on_the_page_in_the_list_and_in_the_edit_form(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    update_parameter(db_session, "segment", option_labels={"smb": "Small business"})
    db_session.commit()
    olga = browser_for("olga")
    saved = olga.post(f"/sessions/{world.first}/params/segment", {"value": "smb"})
    assert saved.status_code in (302, 303)
    assert get_parameters(db_session, world.first)["segment"] == "smb"  # data keeps the key
    db_session.rollback()
    html = olga.get(f"/sessions/{world.first}?edit=segment").get_data(as_text=True)
    assert re.search(r'id="param-segment".*?Small business', html, re.S)
    assert '<option value="smb" selected>Small business</option>' in html
    listed = olga.get("/sessions?columns=segment").get_data(as_text=True)
    assert ">Small business<" in listed and '<option value="smb"' in listed
