"""Form Settings over HTTP: admins only, add by type, errors at fields, order, edit, archive."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bpm_livechat.params.definitions import definitions
from tests.web.support import Browser


def _keys(db: Session) -> list[str]:
    db.expire_all()
    keys = [d.key for d in definitions(db)]
    db.rollback()
    return keys


def test_only_admins_open_form_settings(
    browser_for: Callable[[str], Browser], client: FlaskClient
) -> None:
    assert client.get("/admin/parameters").status_code == 302  # to the login page
    for username in ("sam", "olga"):
        browser = browser_for(username)
        assert browser.get("/admin/parameters").status_code == 403
        response = browser.post("/admin/parameters", {"key": "x", "type": "string", "label": "X"})
        assert response.status_code == 403
    assert browser_for("sales").get("/admin/parameters").status_code == 403


def test_system_parameters_are_listed_locked(browser_for: Callable[[str], Browser]) -> None:
    html = browser_for("admin").get("/admin/parameters").get_data(as_text=True)
    system = html.split('class="param-list param-system"')[1].split("</ul>")[0]
    assert system.count("Locked") == 10
    assert "<code>status</code>" in system and "Archive" not in system
    assert "/admin/parameters/status/edit" not in html


def test_add_by_type_then_it_is_a_list_column(
    browser_for: Callable[[str], Browser], db_session: Session
) -> None:
    admin = browser_for("admin")
    form = admin.get("/admin/parameters?type=choice").get_data(as_text=True)
    assert "New choice parameter" in form
    assert '<option value="choice" selected>' in form
    response = admin.post(
        "/admin/parameters",
        {
            "key": "tier",
            "type": "choice",
            "label": "Tier <b>",
            "description": "Support tier",
            "options": "gold\nsilver\n\n",
            "required_to_close": "on",
        },
    )
    assert response.status_code == 303
    assert _keys(db_session)[-1] == "tier"
    page = admin.get("/admin/parameters").get_data(as_text=True)
    assert "Tier &lt;b&gt;" in page and "Tier <b>" not in page
    columns = browser_for("sam").get("/sessions/columns").get_data(as_text=True)
    assert 'value="tier"' in columns


def test_errors_are_shown_at_their_fields_with_values_kept(
    browser_for: Callable[[str], Browser], db_session: Session
) -> None:
    admin = browser_for("admin")
    bad_key = admin.post(
        "/admin/parameters", {"key": "Bad Key", "type": "string", "label": "Kept label"}
    )
    assert bad_key.status_code == 422
    html = bad_key.get_data(as_text=True)
    assert 'id="param-key-error">not a lower-case identifier<' in html
    assert 'value="Kept label"' in html and 'value="Bad Key"' in html
    shadow = admin.post("/admin/parameters", {"key": "status", "type": "string", "label": "S"})
    assert shadow.status_code == 422
    assert "is a system parameter and cannot be shadowed" in shadow.get_data(as_text=True)
    no_options = admin.post("/admin/parameters", {"key": "tier", "type": "choice", "label": "T"})
    assert no_options.status_code == 422
    assert 'id="param-options-error">at least one option is needed<' in no_options.get_data(
        as_text=True
    )
    assert "tier" not in _keys(db_session)


def test_reorder_with_buttons_and_by_position(
    browser_for: Callable[[str], Browser], db_session: Session
) -> None:
    admin = browser_for("admin")
    start = _keys(db_session)
    assert start[:3] == ["segment", "order_value", "satisfaction"]
    assert admin.post("/admin/parameters/order_value/move", {"direction": "up"}).status_code == 303
    assert _keys(db_session)[:3] == ["order_value", "segment", "satisfaction"]
    admin.post("/admin/parameters/order_value/move", {"direction": "down"})
    assert _keys(db_session) == start
    admin.post("/admin/parameters/segment/move", {"position": "3"})  # drag and drop
    assert _keys(db_session)[:3] == ["order_value", "satisfaction", "segment"]
    assert admin.post("/admin/parameters/segment/move", {}).status_code == 422
    assert admin.post("/admin/parameters/status/move", {"direction": "up"}).status_code == 422


def test_edit_archive_and_restore(
    browser_for: Callable[[str], Browser], db_session: Session
) -> None:
    admin = browser_for("admin")
    form = admin.get("/admin/parameters/segment/edit").get_data(as_text=True)
    assert "consumer\nsmb\nenterprise</textarea>" in form
    in_use = admin.post(
        "/admin/parameters/segment/edit",
        {"label": "Segment", "type": "choice", "options": "consumer\nsmb"},
    )
    assert in_use.status_code == 422
    assert "sessions use a removed option" in in_use.get_data(as_text=True)
    saved = admin.post(
        "/admin/parameters/segment/edit",
        {"label": "Market segment", "type": "choice", "options": "consumer\nsmb\nenterprise\nvip"},
    )
    assert saved.status_code == 303
    db_session.expire_all()
    segment = next(d for d in definitions(db_session) if d.key == "segment")
    assert (segment.label, segment.options) == (
        "Market segment",
        ("consumer", "smb", "enterprise", "vip"),
    )
    db_session.rollback()
    asked = admin.post("/admin/parameters/segment/archive")
    assert asked.status_code == 200 and "segment" in _keys(db_session)  # nothing done yet
    assert "Archive the parameter “Market segment”?" in asked.get_data(as_text=True)
    confirmed = admin.post("/admin/parameters/segment/archive", {"confirm": "yes"})
    assert confirmed.status_code == 303
    assert "segment" not in _keys(db_session)
    page = admin.get("/admin/parameters").get_data(as_text=True)
    assert 'Restore<span class="sr-only"> Market segment' in page
    assert admin.post("/admin/parameters/segment/restore").status_code == 303
    assert "segment" in _keys(db_session)
    assert admin.get("/admin/parameters/status/edit").status_code == 422
    assert admin.get("/admin/parameters/nope/edit").status_code == 404


def test_constraints_in_the_form_saved_and_refused_at_their_fields(
    browser_for: Callable[[str], Browser], db_session: Session
) -> None:
    admin = browser_for("admin")
    form = {"key": "rating", "type": "integer", "label": "Rating (1-5)"}
    refused = admin.post("/admin/parameters", {**form, "min": "5", "max": "1", "pattern": "x"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="param-pattern-error">only string parameters take a pattern, not integer<' in html
    assert 'id="param-min" name="min" value="5"' in html  # what was typed is kept
    assert admin.post("/admin/parameters", {**form, "min": "1", "max": "5"}).status_code == 303
    saved = next(d for d in definitions(db_session) if d.key == "rating")
    db_session.rollback()
    assert saved.constraints == {"min": 1, "max": 5}
    edit = admin.get("/admin/parameters/rating/edit").get_data(as_text=True)
    assert 'id="param-max" name="max" value="5"' in edit
