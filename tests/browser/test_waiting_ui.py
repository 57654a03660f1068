"""What a waiting process looks like on the session page, in a real browser: the SLA escalation
waits for its timer, and the satisfaction survey's question appears in the thread as the
process's message once a worker ran the jobs of the served database (the site runs none)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.automation.kinds import build_worker
from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import set_parameters
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.sessions.events import SessionEvent, record_event
from bpm_livechat.sessions.lifecycle import close_session, create_session, get_session
from tests.browser.support import Site, login, shot

SUPERVISOR = ("supervisor", "supervisor-demo-pass")
QUESTION = (
    "Thank you for contacting us, Mia! How satisfied were you? Please answer with a number "
    "from 1 (poor) to 5 (excellent)."
)


@pytest.fixture
def site_db(site: Site) -> Iterator[sessionmaker[Session]]:
    """Sessions on the served app's database."""
    engine = make_engine(site.database_url)
    yield session_factory(engine)
    engine.dispose()


def test_the_session_page_shows_what_processes_wait_for_and_their_messages(
    page: Any, site_db: sessionmaker[Session], process_engine: ProcessEngine
) -> None:
    with unit_of_work(site_db) as db:
        chat = get_live_chat(db, "Customer Support")
        session = create_session(db, chat, client_name="Mia Wong", subject="Late parcel")
        assert record_event(db, SYSTEM_CLOCK, SessionEvent.SESSION_CREATED, session.id)
        session_id = session.id
    worker = build_worker(site_db, process_engine)
    assert worker.run_due() >= 2  # the event, the SLA escalation's start (and older jobs)

    login(page, *SUPERVISOR)
    page.goto(f"/sessions/{session_id}")
    sla = page.locator("article.instance").filter(has_text="SLA escalation")
    assert sla.locator(".badge").inner_text() == "Waiting"  # capitalized by the style sheet
    assert sla.locator(".current-step").inner_text() == "waiting"
    closed, reply, timer = sla.locator("ul.waits li").all_inner_texts()
    assert timer == "Waits for Escalate: in 5 min"
    assert reply == "Waits for First reply: an operator's reply"
    assert closed == "Waits for Session closed: the session to close"
    assert page.get_by_role("list", name="Waits for").count() == 1
    shot(page, "waiting-sla-escalation")

    with unit_of_work(site_db) as db:
        admin = get_user(db, "admin")
        session = get_session(db, session_id)
        set_parameters(db, session, {"outcome": "resolved"}, user_actor(admin))
        close_session(db, session, admin)
        assert record_event(db, SYSTEM_CLOCK, SessionEvent.SESSION_CLOSED, session_id)
    assert worker.run_due() >= 3  # the event; the survey's and the request's starts

    page.reload()
    asked = page.locator(".thread li.msg-process")
    assert asked.count() == 1
    assert asked.locator(".msg-meta strong").inner_text() == "Satisfaction survey"
    assert asked.locator(".msg-meta .tag").inner_text() == "process"
    assert asked.locator(".msg-text").inner_text() == QUESTION
    survey = page.locator("article.instance").filter(has_text="Satisfaction survey")
    message, timer = survey.locator("ul.waits li").all_inner_texts()
    assert timer == "Waits for No answer in 24 h: in 24 h"
    assert message.endswith(": the client's next message")
    asked.scroll_into_view_if_needed()
    shot(page, "waiting-survey-question")
