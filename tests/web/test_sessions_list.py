"""The sessions list: scope, typed filters, search, sort, pages, columns and the tiles view."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from bpm_livechat.desk.preferences import list_columns, list_view
from bpm_livechat.models import User
from tests.web.support import ON_POSTGRES, Browser, World


def _names(html: str) -> list[str]:
    return re.findall(r'<td><a href="/sessions/\d+">([^<]*)</a></td>', html)


def _count(html: str) -> str:
    match = re.search(r'<h1[^>]*>Sessions <span class="count">([\d,]+)</span>', html)
    assert match
    return match.group(1)


def test_operator_sees_only_the_sessions_of_their_live_chat(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    html = browser_for("olga").get("/sessions").get_data(as_text=True)
    assert _count(html) == "23"
    assert "Buyer" not in html
    admin_html = browser_for("admin").get("/sessions").get_data(as_text=True)
    assert _count(admin_html) == "25"


def test_default_sort_is_newest_first_and_headers_sort(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    html = olga.get("/sessions").get_data(as_text=True)
    assert 'aria-sort="descending"' in html  # created, newest first
    assert '<option value="-created_at" selected>Created ↓</option>' in html  # tiles sort too
    assert '<a href="/sessions?sort=client">Client' in html
    by_client = _names(olga.get("/sessions?sort=client&per_page=50").get_data(as_text=True))
    assert by_client[0].startswith("&lt;script&gt;")  # "<" sorts before letters
    assert by_client[1:3] == ["Client 00 — Question 00", "Client 01 — Question 01"]
    desc = _names(olga.get("/sessions?sort=-client&per_page=50").get_data(as_text=True))
    assert desc == list(reversed(by_client))


def test_filters_are_typed_and_keep_their_values(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    html = olga.get("/sessions?f.segment=smb").get_data(as_text=True)
    assert _count(html) == "7"
    assert '<option value="smb" selected>smb</option>' in html
    html = olga.get("/sessions?f.order_value.min=1000 EUR&per_page=50").get_data(as_text=True)
    # order values are 100.50 + 50*i EUR for even i: i >= 18 -> 1000.50, 1100.50
    assert sorted(_names(html)) == ["Client 18 — Question 18", "Client 20 — Question 20"]
    assert 'value="1000 EUR"' in html
    html = olga.get("/sessions?f.created_at.min=2000-01-01&f.client=client 1").get_data(
        as_text=True
    )
    assert _count(html) == "10"


def test_a_bad_filter_value_is_422_with_the_error_at_the_field(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    response = browser_for("olga").get("/sessions?f.order_value.min=lots")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="lots"' in html
    assert '<p class="field-error">not an amount with a currency, such as 12.50 EUR</p>' in html


def test_unknown_sort_key_is_422_not_500(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    response = browser_for("olga").get("/sessions?sort=nonsense")
    assert response.status_code == 422
    assert "cannot sort by unknown parameter" in response.get_data(as_text=True)


def test_search_and_pagination(browser_for: Callable[[str], Browser], world: World) -> None:
    olga = browser_for("olga")
    page1 = olga.get("/sessions").get_data(as_text=True)
    assert len(_names(page1)) == 10
    assert "Page 1 of 3" in page1 and 'rel="next"' in page1 and 'rel="prev"' not in page1
    page3 = olga.get("/sessions?page=3").get_data(as_text=True)
    assert len(_names(page3)) == 3 and 'rel="prev"' in page3
    assert "No sessions match." in olga.get("/sessions?page=99").get_data(as_text=True)
    assert olga.get("/sessions?page=abc&per_page=-5").status_code == 200
    found = olga.get("/sessions?q=question 07").get_data(as_text=True)
    assert _names(found) == ["Client 07 — Question 07"]


def test_money_is_formatted_with_its_currency(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    response = olga.post(
        "/sessions/columns", {"order": ["name", "order_value"], "show": ["name", "order_value"]}
    )
    assert response.status_code == 302
    html = olga.get("/sessions?sort=order_value").get_data(as_text=True)
    assert '<td class="num">100.50 EUR</td>' in html
    assert '<th scope="col" aria-sort="ascending" class="num">' in html


def test_columns_are_chosen_ordered_and_saved_per_user(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    form = {"order": ["segment", "name", "status"], "show": ["segment", "name"]}
    moved = olga.post("/sessions/columns", {**form, "move": "name:up"})
    assert moved.status_code == 200
    html = moved.get_data(as_text=True)
    assert html.index('value="name"') < html.index('value="segment"')
    saved = olga.post(
        "/sessions/columns", {"order": ["name", "segment"], "show": ["name", "segment"]}
    )
    assert saved.status_code == 302
    user = db_session.get(User, world.desk.operator.id)
    assert user is not None
    assert list_columns(db_session, user) == ["name", "segment"]
    db_session.rollback()
    headers = re.findall(
        r'<th scope="col"[^>]*>\s*<a [^>]*>([^<]*)<', olga.get("/sessions").get_data(as_text=True)
    )
    assert headers == ["Name", "Segment"]
    # Sam's list is untouched.
    sam_html = browser_for("sam").get("/sessions").get_data(as_text=True)
    assert ">Live chat<" in sam_html


def test_an_empty_column_choice_is_422(browser_for: Callable[[str], Browser], world: World) -> None:
    response = browser_for("olga").post("/sessions/columns", {"order": ["name"]})
    assert response.status_code == 422
    assert "choose 1 to 40 columns" in response.get_data(as_text=True)


def test_tiles_view_is_remembered(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    response = olga.post("/sessions/view", {"view": "tiles", "back": "/sessions?q=Client"})
    assert response.headers["Location"] == "/sessions?q=Client"
    html = olga.get("/sessions").get_data(as_text=True)
    assert '<ul class="tiles">' in html
    assert 'value="tiles" class="seg" aria-pressed="true"' in html
    assert olga.post("/sessions/view", {"view": "cards"}).status_code == 422
    user = db_session.get(User, world.desk.operator.id)
    assert user is not None and list_view(db_session, user) == "tiles"
    db_session.rollback()


def test_hostile_client_names_are_escaped_in_table_and_tiles(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    html = olga.get("/sessions").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Evil &amp; Co" in html
    olga.post("/sessions/view", {"view": "tiles"})
    tiles = olga.get("/sessions").get_data(as_text=True)
    assert "<script>alert" not in tiles and "&lt;b&gt;bold&lt;/b&gt;" in tiles


@ON_POSTGRES
def test_list_filters_and_sort_on_postgresql(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    html = olga.get("/sessions?f.segment=enterprise&sort=-order_value&per_page=50").get_data(
        as_text=True
    )
    assert _count(html) == "7"
    assert _names(html)[0] == "Client 20 — Question 20"
    assert olga.get("/sessions?f.order_value.min=x").status_code == 422
