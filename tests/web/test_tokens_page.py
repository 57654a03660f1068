"""API tokens in the UI: create (shown once), use it against the API, revoke."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.web.support import Browser, World, csrf_token

_SHOWN = re.compile(r'id="new-token" class="token-text" type="text" value="([^"]+)"')


def test_create_use_and_revoke_a_token(browser_for: Callable[[str], Browser], world: World) -> None:
    olga = browser_for("olga")
    page = olga.get("/account/tokens").get_data(as_text=True)
    assert "You have no API tokens yet." in page
    assert 'href="/api/v1/docs"' in page  # the UI links the API documentation
    created = olga.post("/account/tokens", {"name": "CRM <sync>"})
    html = created.get_data(as_text=True)
    assert created.status_code == 200
    assert "Token “CRM &lt;sync&gt;” created." in html
    match = _SHOWN.search(html)
    assert match is not None
    plaintext = match.group(1)
    api = olga.client.application.test_client()
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert api.get(f"/api/v1/sessions/{world.first}", headers=headers).status_code == 200
    listed = olga.get("/account/tokens").get_data(as_text=True)
    assert plaintext not in listed  # shown only once
    token_id = re.search(r"/account/tokens/(\d+)/revoke", listed)
    assert token_id is not None
    asked = olga.post(f"/account/tokens/{token_id.group(1)}/revoke").get_data(as_text=True)
    assert "Revoke the token “CRM &lt;sync&gt;”?" in asked and plaintext[:8] in asked
    assert api.get(f"/api/v1/sessions/{world.first}", headers=headers).status_code == 200
    revoked = olga.post(f"/account/tokens/{token_id.group(1)}/revoke", {"confirm": "yes"})
    assert "Token “CRM &lt;sync&gt;” was revoked." in revoked.get_data(as_text=True)
    assert api.get(f"/api/v1/sessions/{world.first}", headers=headers).status_code == 401


def test_a_token_name_too_long_is_refused_at_the_field(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    response = browser_for("olga").post("/account/tokens", {"name": "x" * 300})
    assert response.status_code == 422
    assert 'id="token-name-error"' in response.get_data(as_text=True)


def test_app_users_manage_their_own_tokens_and_not_others(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    olga.post("/account/tokens", {"name": "mine"})
    listed = olga.get("/account/tokens").get_data(as_text=True)
    token_id = re.search(r"/account/tokens/(\d+)/revoke", listed)
    assert token_id is not None
    sales = browser_for("sales")
    sales.token = csrf_token(sales.client, "/account/tokens")
    assert sales.get("/account/tokens").status_code == 200
    assert sales.post(f"/account/tokens/{token_id.group(1)}/revoke").status_code == 403
    confirmed = {"confirm": "yes"}
    assert sales.post(f"/account/tokens/{token_id.group(1)}/revoke", confirmed).status_code == 403


def test_the_tokens_page_needs_a_login(browser_for: Callable[[str], Browser]) -> None:
    anonymous = browser_for("olga").client.application.test_client()
    response = anonymous.get("/account/tokens")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
