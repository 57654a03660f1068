"""A support desk with custom parameters and the test processes deployed and bound to Support."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.models import (
    LiveChat,
    ParamHistory,
    ProcessInstance,
    SupportSession,
    User,
    UserTask,
)
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.processes.deployments import deploy
from tests.core.conftest import Desk, cheap_password_hashing, desk, open_session

__all__ = [
    "BPMN",
    "Desk",
    "cheap_password_hashing",
    "count",
    "desk",
    "new_session",
    "open_session",
    "read_bpmn",
]

BPMN = Path(__file__).with_name("bpmn")


def read_bpmn(name: str) -> bytes:
    """The bytes of a test BPMN file."""
    return (BPMN / name).read_bytes()


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
def deployed(db_session: Session, desk: Desk, params: None) -> Desk:
    """case_review and fragile deployed by the admin and offered in the Support live chat."""
    for name in ("case_review.bpmn", "fragile.bpmn"):
        deploy(db_session, read_bpmn(name), desk.admin, [desk.support])
    db_session.commit()
    return desk


def new_session(db: Session, desk: Desk) -> SupportSession:
    """A committed Support session worked by Olga (made in `db`, whichever session the desk is in)."""
    chat, operator = db.get(LiveChat, desk.support.id), db.get(User, desk.operator.id)
    assert chat is not None
    session = open_session(db, chat, operator=operator)
    db.commit()
    return session


def count(db: Session, model: type[ProcessInstance] | type[UserTask] | type[ParamHistory]) -> int:
    """How many rows a table holds."""
    return db.scalar(select(func.count()).select_from(model)) or 0
