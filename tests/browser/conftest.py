"""Browser tests: the app served by a real server thread on 127.0.0.1, driven by Debian Chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bpm_livechat.demo.load import load_demo
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.models import SupportSession
from bpm_livechat.persistence.engines import make_engine, upgrade
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.deployments import deploy
from script_runtime import ScriptPool
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, SUPPORT_SESSIONS, Site
from tests.databases import IN_CI
from web import create_app


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, script_pool: ScriptPool) -> Iterator[Site]:
    """The product on a fresh SQLite database with the demo data, served from a thread (the app
    builds its own process engine and script pool, as in production).

    Besides the bundled processes, "Escalate with summary" is deployed: its script fails while
    the session's Summary is empty, which a supervisor can fix and retry.
    """
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'db.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(session_factory(engine)) as db:
        load_demo(db, script_pool, sessions_per_chat=SUPPORT_SESSIONS)
        support, sales = get_live_chat(db, "Customer Support"), get_live_chat(db, "Sales")
        bpmn = (Path(__file__).with_name("bpmn") / "needs_summary.bpmn").read_bytes()
        deploy(db, script_pool, bpmn, get_user(db, "admin"), [support])
        ids = select(SupportSession.id).order_by(SupportSession.id)
        support_ids = tuple(db.scalars(ids.where(SupportSession.live_chat_id == support.id)))
        sales_id = db.scalars(ids.where(SupportSession.live_chat_id == sales.id)).first()
        assert sales_id is not None
    engine.dispose()
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "browser-tests", "INSTANCE_PATH": str(folder)}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.server_port}", support_ids, sales_id, url, app)
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the run (never a downloaded browser)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{reason}; CI=true: browser tests must run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, with the app's base URL."""
    context = browser.new_context(base_url=site.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
