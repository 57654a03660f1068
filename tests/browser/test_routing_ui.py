"""Routing in Chromium: an admin creates a team and a rule on the admin page (a wrong option
refused, naming the field), the tester says which rule matches a session and why the earlier
one did not, and a supervisor's Route again assigns the session and says why in its history.

Everything lives in a live chat of its own, so the shared site's other tests see no routing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.presence import set_presence
from bpm_livechat.desk.users import create_user, get_user
from bpm_livechat.models import MemberRole
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.sessions.lifecycle import create_session
from tests.browser.support import Site, login, shot

ADMIN = ("admin", "admin-demo-pass")
SUPERVISOR = ("supervisor", "supervisor-demo-pass")


def _lab(site: Site) -> tuple[int, int]:
    """A live chat "Routing lab" with Rita (Online) and the demo supervisor; two queued sessions."""
    engine = make_engine(site.database_url)
    with unit_of_work(session_factory(engine)) as db:
        chat = create_live_chat(db, "Routing lab", "{client.name}: {subject}")
        add_channel(db, chat, "Lab web", "web")
        rita = create_user(db, "rita", "operator", "rita-pass-1234", "Rita Router")
        add_member(db, chat, rita, MemberRole.OPERATOR)
        add_member(db, chat, get_user(db, "supervisor"), MemberRole.SUPERVISOR)
        set_presence(db, rita, "online", datetime.now(UTC))
        first = create_session(db, chat, client_name="Ann", subject="Invoice")
        second = create_session(db, chat, client_name="Bob", subject="Login")
        db.flush()
        ids = first.id, second.id
    engine.dispose()
    return ids


def test_rule_page_tester_and_route_again(page: Any, site: Site) -> None:
    first, _second = _lab(site)
    login(page, *ADMIN)
    page.goto("/admin/routing")
    page.get_by_label("Team name").fill("Lab team")
    page.get_by_label("Members (username:capacity, one a line)").fill("rita:2")
    page.get_by_role("button", name="Create team").click()
    assert "Rita Router (2)" in page.locator("#teams").inner_text()

    page.get_by_label("Name", exact=True).fill("Enterprise lab")
    page.get_by_label("Live chat").select_option(label="Routing lab")
    page.get_by_label("Conditions, one a line").fill("segment=galactic")
    page.get_by_label("Team", exact=True).select_option("Lab team")
    page.get_by_role("button", name="Add rule").click()
    error = page.locator("#rule-conditions-error")
    assert "conditions.0.value: 'segment' (choice)" in error.inner_text()
    assert page.get_by_label("Conditions, one a line").get_attribute("aria-invalid") == "true"
    page.get_by_label("Conditions, one a line").fill("segment=enterprise")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_label("Name", exact=True).fill("Lab catch-all")
    page.get_by_label("Live chat").select_option(label="Routing lab")
    page.get_by_label("Team", exact=True).select_option("Lab team")
    page.get_by_label("Strategy").select_option("least-busy")
    page.get_by_role("button", name="Add rule").click()
    assert "Rule “Lab catch-all” added." in page.content()

    page.get_by_label("Session number").fill(str(first))
    page.get_by_role("button", name="Test").click()
    result = page.locator("#test-result").inner_text()
    assert (
        "Enterprise lab: does not match: segment equals 'enterprise' failed: segment is empty"
        in result
    )
    assert "Lab catch-all: matches" in result
    assert page.locator("#test-explanation").inner_text() == (
        "rule Lab catch-all -> team Lab team, least busy: Rita Router 0/2; would go to Rita Router"
    )
    shot(page, "routing-admin")
    page.get_by_role("button", name="Log out").click()

    login(page, *SUPERVISOR)
    page.goto(f"/sessions/{first}")
    assert "nobody yet" in page.locator("[data-operator]").inner_text()
    page.get_by_role("button", name="Route again").click()
    assert page.locator("[data-operator]").inner_text() == "Rita Router"
    page.get_by_text("Activity").click()
    activity = page.locator(".session-activity").inner_text()
    assert (
        "Routing (Route again by Sam Supervisor): rule Lab catch-all -> team Lab team, "
        "least busy: Rita Router 0/2; assigned to Rita Router" in activity
    )
    assert page.get_by_role("button", name="Route again").count() == 0
    shot(page, "routing-route-again")
