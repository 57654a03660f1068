"""Shared fixtures: a migrated database per test (SQLite and the local PostgreSQL), one script
pool and process engine for the run, a small support desk, and the auto-start demo."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.automation.kinds import build_worker
from bpm_livechat.demo.load import load_demo
from bpm_livechat.desk import users as users_module
from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat, get_live_chat
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import create_user, get_user
from bpm_livechat.jobs.worker import Worker
from bpm_livechat.models import MemberRole, SupportSession
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.persistence.engines import make_engine, upgrade
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.autostart import bind_event
from bpm_livechat.processes.deployments import deploy, get_process
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from script_runtime import Limits, ScriptPool
from tests.databases import IN_CI, PG_ADMIN_URL, fresh_engine, pg_reachable
from tests.support import TAGGER, TAGGER_MAPPING, AutostartDemo, Desk, MovingClock, read_bpmn


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head; each test copies it instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """A scratch PostgreSQL database for this test run, migrated to head, dropped at the end."""
    problem = pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: PostgreSQL tests must run)")
        pytest.skip(problem)
    name = f"bpm_livechat_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    """A freshly migrated, empty database: a copied SQLite file, or the truncated PostgreSQL one."""
    yield from fresh_engine(request, tmp_path, sqlite_template)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker on the test database, for tests that open several sessions (concurrency)."""
    return session_factory(engine)


@pytest.fixture
def db_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One database session; the test commits where the product's caller would."""
    with factory() as session:
        yield session


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real scrypt path with a small cost, so creating users does not dominate the suite."""
    monkeypatch.setitem(users_module._SCRYPT, "n", 2**8)
    yield


@pytest.fixture(scope="session")
def script_pool() -> Iterator[ScriptPool]:
    """One real two-worker sandbox pool for the whole run (the production size on this machine)."""
    with ScriptPool(2) as pool:
        yield pool


@pytest.fixture(scope="session")
def process_engine(script_pool: ScriptPool) -> ProcessEngine:
    """The process engine on the run's pool, with tight script limits so runaways end fast (the
    wall limit leaves room for a loaded machine, where sandbox workers run at a lower priority)."""
    limits = Limits(cpu_seconds=0.5, wall_seconds=5.0)
    return ProcessEngine(SandboxEnvironment(script_pool, limits), limits=EngineLimits())


@pytest.fixture
def desk(db_session: Session) -> Desk:
    """Users of every role and two live chats with channels, committed."""
    db = db_session
    admin = create_user(db, "admin", "admin", "admin-pass-1", "Alex Admin")
    supervisor = create_user(db, "sam", "supervisor", "sam-pass-12", "Sam Supervisor")
    operator = create_user(db, "olga", "operator", "olga-pass-12", "Olga Operator")
    seller = create_user(db, "sven", "operator", "sven-pass-12", "Sven Seller")
    app_user = create_user(db, "sales", "user", "sales-pass-1", "Sid Sales")
    support = create_live_chat(db, "Support", "{client.name} — {subject}")
    add_channel(db, support, "Website", "web")
    add_channel(db, support, "Telegram", "telegram")
    sales = create_live_chat(db, "Sales", "{channel.name}: {client.name}")
    add_channel(db, sales, "Email", "email")
    add_member(db, support, operator, MemberRole.OPERATOR)
    add_member(db, support, supervisor, MemberRole.SUPERVISOR)
    add_member(db, sales, seller, MemberRole.OPERATOR)
    add_member(db, support, app_user, MemberRole.READER)
    add_member(db, sales, app_user, MemberRole.READER)
    widget = create_user(db, "widget", "channel", "widget-pass-1", "Web widget")
    add_member(db, support, widget, MemberRole.CHANNEL)
    add_member(db, sales, widget, MemberRole.CHANNEL)
    db.commit()
    return Desk(admin, supervisor, operator, seller, app_user, support, sales, widget)


@pytest.fixture
def autostart_demo(
    request: pytest.FixtureRequest,
    factory: sessionmaker[Session],
    process_engine: ProcessEngine,
) -> AutostartDemo:
    """Demo data, the tagger deployed and bound to `message_received` (an indirect parameter
    appends failing script text), and an operator token."""
    failure = getattr(request, "param", "")
    with unit_of_work(factory) as db:
        load_demo(db, process_engine.scripts, sessions_per_chat=3)
        admin = get_user(db, "admin")
        support = get_live_chat(db, "Customer Support")
        bpmn = TAGGER.format(failure=failure).encode()
        deploy(db, process_engine.scripts, bpmn, admin, [support])
        process = get_process(db, "tag_message")
        bind_event(db, process, "message_received", admin, TAGGER_MAPPING)
        _token, plaintext = create_token(db, get_user(db, "operator"))
        _token, channel = create_token(db, get_user(db, "widget"))
        query = select(SupportSession.id).where(SupportSession.live_chat_id == support.id)
        session_id = db.scalars(query.order_by(SupportSession.id)).all()[1]
    return AutostartDemo(
        session_id,
        {"Authorization": f"Bearer {plaintext}"},
        {"Authorization": f"Bearer {channel}"},
    )


@pytest.fixture
def params(db_session: Session) -> None:
    """The custom parameters the test processes write."""
    db = db_session
    add_parameter(db, "contact_email", "email", "Email", read_only=True)
    add_parameter(db, "segment", "choice", "Segment", options=["vip", "standard"])
    add_parameter(db, "summary", "text", "Summary")
    add_parameter(db, "outcome", "choice", "Outcome", options=["resolved", "escalated"])
    db.commit()


@pytest.fixture
def deployed(db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine) -> Desk:
    """case_review and fragile (tests/processes/bpmn) deployed and offered in Support."""
    for name in ("case_review.bpmn", "fragile.bpmn"):
        deploy(db_session, process_engine.scripts, read_bpmn(name), desk.admin, [desk.support])
    db_session.commit()
    return desk


@pytest.fixture
def clock() -> MovingClock:
    """A clock this test moves."""
    return MovingClock()


@pytest.fixture
def timed_engine(process_engine: ProcessEngine, clock: MovingClock) -> ProcessEngine:
    """A process engine on the run's sandbox pool whose timers read the test's clock."""
    return ProcessEngine(process_engine.environment, clock=clock, limits=process_engine.limits)


@pytest.fixture
def worker(factory: sessionmaker[Session], process_engine: ProcessEngine) -> Worker:
    """A job worker on the test database and the system's clock (tests call `run_due`)."""
    return build_worker(factory, process_engine)


@pytest.fixture
def timed_worker(factory: sessionmaker[Session], timed_engine: ProcessEngine) -> Worker:
    """A job worker on the test's clock: due times and backoffs pass when the test moves it."""
    return build_worker(factory, timed_engine)
