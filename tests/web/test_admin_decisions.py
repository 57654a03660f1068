"""Decisions admin pages: upload with every problem listed, versions, download, and the try page."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from bpm_livechat.models import DecisionVersion
from tests.decisions.support import read_file, table
from tests.web.support import Browser, World

Open = Callable[[str], Browser]
AMOUNT = (
    '<input id="i" label="Amount"><inputExpression typeRef="integer"><text>amount</text>'
    "</inputExpression></input>"
)


def _upload(browser: Browser, data: bytes, name: str = "segment.dmn") -> TestResponse:
    return browser.post("/admin/decisions/upload", {"dmn": (BytesIO(data), name)})


def _versions(db: Session) -> int:
    db.expire_all()
    found = db.scalar(select(func.count()).select_from(DecisionVersion)) or 0
    db.rollback()
    return found


def test_only_admins_manage_decisions(browser_for: Open) -> None:
    olga = browser_for("olga")
    assert olga.get("/admin/decisions").status_code == 403
    assert _upload(olga, read_file("segment.dmn")).status_code == 403
    assert olga.get("/admin/decisions/try").status_code == 403
    page = browser_for("admin").get("/admin/decisions").get_data(as_text=True)
    assert ">Decisions</a>" in page and "No decision is deployed yet." in page


def test_upload_lists_versions_and_downloads_the_file(
    browser_for: Open, db_session: Session
) -> None:
    admin = browser_for("admin")
    page = _upload(admin, read_file("segment.dmn")).get_data(as_text=True)
    assert "“segment.dmn” deployed" in page
    assert "<code>segment</code> Segment: version 1 (FIRST)" in page
    changed = read_file("segment.dmn").replace(b"&gt;= 1000", b"&gt;= 2000")
    _upload(admin, changed)
    detail = admin.get("/admin/decisions/segment").get_data(as_text=True)
    assert detail.count("Download .dmn") == 2
    assert 'href="/admin/decisions/segment/versions/1.dmn"' in detail
    first = admin.get("/admin/decisions/segment/versions/1.dmn")
    assert first.data == read_file("segment.dmn")
    assert first.headers["Content-Disposition"] == 'attachment; filename="segment-v1.dmn"'
    assert admin.get("/admin/decisions/segment/versions/2.dmn").data == changed
    assert admin.get("/admin/decisions/segment/versions/3.dmn").status_code == 404
    assert admin.get("/admin/decisions/nope").status_code == 404
    assert _versions(db_session) == 2


def test_a_refused_upload_lists_every_problem_and_stores_nothing(
    browser_for: Open, db_session: Session
) -> None:
    rules = (
        '<rule id="r1"><inputEntry><text>${amount}</text></inputEntry>'
        "<outputEntry><text>5</text></outputEntry></rule>"
    )
    response = _upload(browser_for("admin"), table("tier", "ANY", AMOUNT, rules), "tier.dmn")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "“tier.dmn” was not deployed: 3 problems" in page
    for message in (
        "decision 'tier' (Tier): hit policy 'ANY' is not supported; use UNIQUE, FIRST or COLLECT",
        "decision 'tier' (Tier), rule 1 (r1), input 'Amount': '${amount}' is a JUEL expression; "
        "write it in Python",
        "decision 'tier' (Tier), rule 1 (r1), output 'Result': '5' is an integer, but the "
        "column is typed string",
    ):
        assert str(escape(message)) in page
    assert _versions(db_session) == 0
    empty = browser_for("admin").post("/admin/decisions/upload", {})
    assert empty.status_code == 422
    assert "Choose a DMN file to upload." in empty.get_data(as_text=True)


def test_the_try_page_shows_matched_rules_and_the_result(browser_for: Open, world: World) -> None:
    admin = browser_for("admin")
    _upload(admin, read_file("segment.dmn"))
    form = {"decision": "segment", "session_id": str(world.first), "data": '{"amount": 1500}'}
    page = admin.post("/admin/decisions/try", form).get_data(as_text=True)
    assert f"segment v1 on session {world.first}" in page
    assert "<td>1</td><td><code>big_order</code></td><td>Big orders</td>" in page
    assert str(escape('{"segment": "vip"}')) in page
    bad = admin.post("/admin/decisions/try", {**form, "data": "[1]", "session_id": "x"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Enter a session id (a positive whole number)." in text
    assert str(escape('Task data must be a JSON object, like {"amount": 1200}.')) in text
    missing = admin.post("/admin/decisions/try", {**form, "decision": "nope"})
    assert missing.status_code == 422
    assert "There is no decision nope." in missing.get_data(as_text=True)
