"""The bundled example processes, deployed by the demo, run end to end on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.demo.load import load_demo
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import SupportSession
from bpm_livechat.params.values import get_parameters, parameter_history
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import complete_task, start_process
from bpm_livechat.sessions.lifecycle import get_session


@pytest.fixture
def demo(factory: sessionmaker[Session], process_engine: ProcessEngine) -> int:
    """Demo data (processes deployed and bound); returns a Customer Support session id."""
    with unit_of_work(factory) as db:
        summary = load_demo(db, process_engine.scripts, sessions_per_chat=3)
        assert summary.processes == (
            "Collect contact details",
            "Summarize session",
            "Register a request",
            "SLA escalation",
            "Satisfaction survey",
        )
        return db.scalars(select(SupportSession.id).order_by(SupportSession.id)).first() or 0


def test_collect_contact_details(
    factory: sessionmaker[Session], demo: int, process_engine: ProcessEngine
) -> None:
    with unit_of_work(factory) as db:
        operator = get_user(db, "operator")
        session = get_session(db, demo, operator)
        with pytest.raises(ValidationError) as caught:
            start_process(
                db,
                process_engine,
                session,
                "collect_contact_details",
                {"contact_email": "nope"},
                operator,
            )
        assert caught.value.fields == {"contact_email": "not a valid email address"}
        outcome = start_process(
            db,
            process_engine,
            session,
            "collect_contact_details",
            {
                "contact_email": " Ann.Lee@Example.COM ",
                "contact_phone": "+49 30 1234-5678",
                "preferred_contact_time": "evening",
            },
            operator,
        )
        client = session.client.name
        assert outcome.instance.status == "completed"
    with unit_of_work(factory) as db:
        params = get_parameters(db, demo)
        assert params["contact_email"] == "ann.lee@example.com"
        assert params["contact_phone"] == "+493012345678"
        assert params["preferred_contact_time"] == "evening"
        assert params["contact_summary"] == (
            f"{client}: ann.lee@example.com or +493012345678, best evenings"
        )
        entry = parameter_history(db, demo, "contact_summary")[-1]
        assert (entry.process_id, entry.process_version, entry.task_id) == (
            "collect_contact_details",
            1,
            "normalise_details",
        )


def test_summarize_then_register_request(
    factory: sessionmaker[Session], demo: int, process_engine: ProcessEngine
) -> None:
    follow_up = date.today() + timedelta(days=3)
    with unit_of_work(factory) as db:
        operator = get_user(db, "operator")
        session = get_session(db, demo, operator)
        started = start_process(db, process_engine, session, "summarize_session", {}, operator)
        assert started.instance.status == "waiting"
        assert [t.name for t in started.tasks] == ["Write the summary"]
        instance_id, task_id = started.instance.id, started.tasks[0].task_id
    with unit_of_work(factory) as db:
        operator = get_user(db, "operator")
        instance = db.get(type(started.instance), instance_id)
        assert instance is not None
        done = complete_task(
            db, process_engine,
            instance,
            task_id,
            {"summary": "Refund agreed, waiting for the parcel.", "outcome": "follow_up",
             "follow_up_date": follow_up.isoformat()},
            operator,
        )  # fmt: skip
        assert done.instance.status == "completed"
        assert done.changes["follow_up_label"].new == "Follow up in 3 days"
        session = get_session(db, demo, operator)
        registered = start_process(db, process_engine, session, "register_request", {}, operator)
        stamp = session.created_at.strftime("%Y%m%d")
        assert registered.changes["request_number"].new == f"REQ-{stamp}-{demo:06d}"
    with unit_of_work(factory) as db:
        again = start_process(
            db,
            process_engine,
            get_session(db, demo),
            "register_request",
            {},
            get_user(db, "operator"),
        )
        assert again.changes == {}  # a request number is composed once
