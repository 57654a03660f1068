"""Incidents: the failed process instances a supervisor may see, filtered, and bulk retry/cancel.

A supervisor sees the failed instances of the live chats they supervise (admins: all). Bulk
actions run each instance in a transaction of its own (`unit_of_work` per instance), so one
instance that fails again, or was changed meanwhile, leaves the others done; each instance's
outcome is returned.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.errors import AccessDeniedError, BpmLivechatError, ValidationError
from bpm_livechat.models import (
    InstanceStatus,
    LiveChat,
    LiveChatMember,
    MemberRole,
    Process,
    ProcessInstance,
    ProcessVersion,
    Role,
    SupportSession,
    User,
)
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.failures import StepFailure, run_or_record
from bpm_livechat.processes.instances import get_instance
from bpm_livechat.processes.supervision import cancel_instance, retry_instance

MAX_BULK = 200  # instances per bulk action: one form, one request


def supervised_chat_ids(db: Session, user: User) -> set[int] | None:
    """The live chats `user` supervises; None means all (admins); AccessDeniedError otherwise."""
    if user.role == Role.ADMIN.value:
        return None
    if user.role != Role.SUPERVISOR.value:
        raise AccessDeniedError(f"user {user.username!r} is not a supervisor")
    query = select(LiveChatMember.live_chat_id).where(
        LiveChatMember.user_id == user.id, LiveChatMember.role == MemberRole.SUPERVISOR.value
    )
    return set(db.scalars(query))


@dataclass(frozen=True)
class IncidentFilter:
    """What the incidents list is narrowed to; every part optional."""

    process: str | None = None  # the process's BPMN id
    live_chat_id: int | None = None
    since: datetime | None = None  # failed at or after
    until: datetime | None = None  # failed before
    text: str = ""  # in the failure message or the element id, any case

    def to_args(self) -> dict[str, str]:
        """The filter as query arguments (for links that keep it)."""
        args = {
            "process": self.process or "",
            "live_chat": str(self.live_chat_id or ""),
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "q": self.text,
        }
        return {key: value for key, value in args.items() if value}


def _moment(raw: str, field: str, end_of_day: bool) -> datetime | None:
    text = raw.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{field}: {text!r} is not a date or date and time",
            {field: "not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"},
        ) from None
    if end_of_day and len(text) == 10 and moment < datetime.max - timedelta(days=1):
        moment += timedelta(days=1)  # a date alone: up to the end of that day
    return in_utc(moment, field)


def in_utc(moment: datetime, field: str) -> datetime:
    """`moment` in UTC (naive means UTC already); ValidationError naming `field` when it cannot be."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError(f"{field}: out of range", {field: "out of range"}) from None


def parse_filter(args: Mapping[str, str]) -> IncidentFilter:
    """The filter from query arguments (process, live_chat, since, until, q); ValidationError
    naming the field for a bad one."""
    chat = (args.get("live_chat") or "").strip()
    if chat and not chat.isdigit():
        raise ValidationError(
            f"live_chat: {chat!r} is not a live chat id", {"live_chat": "unknown"}
        )
    found = IncidentFilter(
        process=(args.get("process") or "").strip() or None,
        live_chat_id=int(chat) if chat else None,
        since=_moment(args.get("since") or "", "since", False),
        until=_moment(args.get("until") or "", "until", True),
        text=(args.get("q") or "").strip()[:200],
    )
    if found.since and found.until and found.since >= found.until:
        raise ValidationError("until must be after since", {"until": "not after since"})
    return found


@dataclass(frozen=True)
class Incident:
    """One failed instance as the incidents list shows it."""

    instance_id: int
    session_id: int
    session_name: str
    live_chat: str
    process: str  # BPMN id
    process_name: str
    version: int
    element_id: str | None
    kind: str | None
    message: str
    failed_at: datetime
    step: str | None  # "start", "task", or what a worker ran

    def to_dict(self) -> dict[str, Any]:
        """The incident as JSON-ready data (the API's shape)."""
        return {
            "instance_id": self.instance_id,
            "session_id": self.session_id,
            "session_name": self.session_name,
            "live_chat": self.live_chat,
            "process": self.process,
            "process_name": self.process_name,
            "version": self.version,
            "element_id": self.element_id,
            "kind": self.kind,
            "message": self.message,
            "failed_at": self.failed_at.isoformat(),
        }


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _incident(
    instance: ProcessInstance, session: SupportSession, chat: str, version: ProcessVersion
) -> Incident:
    error = instance.error or {}
    return Incident(
        instance_id=instance.id,
        session_id=session.id,
        session_name=session.name or f"Session {session.id}",
        live_chat=chat,
        process=version.process.bpmn_id,
        process_name=version.name,
        version=version.number,
        element_id=error.get("element_id"),
        kind=error.get("kind"),
        message=str(error.get("message") or "failed"),
        failed_at=_aware(instance.updated_at),
        step=(instance.pending or {}).get("step"),
    )


def _matches(incident: Incident, wanted: IncidentFilter) -> bool:
    if wanted.since and incident.failed_at < wanted.since:
        return False
    if wanted.until and incident.failed_at >= wanted.until:
        return False
    needle = wanted.text.lower()
    haystack = f"{incident.message}\n{incident.element_id or ''}".lower()
    return not needle or needle in haystack


def list_incidents(db: Session, user: User, wanted: IncidentFilter | None = None) -> list[Incident]:
    """Failed instances in the live chats `user` supervises, newest failure first."""
    wanted = wanted or IncidentFilter()
    chats = supervised_chat_ids(db, user)
    query = (
        select(ProcessInstance, SupportSession, LiveChat.name, ProcessVersion)
        .join(SupportSession, SupportSession.id == ProcessInstance.session_id)
        .join(LiveChat, LiveChat.id == SupportSession.live_chat_id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
        .join(Process, Process.id == ProcessVersion.process_id)
        .where(ProcessInstance.status == InstanceStatus.FAILED.value)
        .order_by(ProcessInstance.updated_at.desc(), ProcessInstance.id.desc())
    )
    if chats is not None:
        query = query.where(SupportSession.live_chat_id.in_(chats))
    if wanted.live_chat_id is not None:
        query = query.where(SupportSession.live_chat_id == wanted.live_chat_id)
    if wanted.process:
        query = query.where(Process.bpmn_id == wanted.process)
    found = (_incident(*row) for row in db.execute(query).all())
    return [incident for incident in found if _matches(incident, wanted)]


class BulkAction(enum.StrEnum):
    """What a supervisor does to the selected incidents."""

    RETRY = "retry"
    CANCEL = "cancel"


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one instance of a bulk action."""

    instance_id: int
    ok: bool
    status: str | None  # the instance's status afterwards, when known
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready data."""
        return {
            "instance_id": self.instance_id,
            "ok": self.ok,
            "status": self.status,
            "message": self.message,
        }


def parse_ids(raw: Sequence[str]) -> list[int]:
    """Instance ids from a form or request body, each once, in order; ValidationError otherwise."""
    ids: list[int] = []
    for item in raw:
        text = str(item).strip()
        if not text.isdigit() or not 0 < int(text) < 2**63:
            raise ValidationError(f"instance id {text!r} is not a number", {"ids": "not a number"})
        if int(text) not in ids:
            ids.append(int(text))
    if not ids:
        raise ValidationError("select at least one instance", {"ids": "none selected"})
    if len(ids) > MAX_BULK:
        raise ValidationError(f"at most {MAX_BULK} instances at once", {"ids": "too many"})
    return ids


def _act(
    db: Session, engine: ProcessEngine, instance_id: int, user_id: int, action: BulkAction
) -> BulkOutcome:
    user = db.get(User, user_id)
    if user is None:
        raise AccessDeniedError(f"user {user_id} does not exist")
    instance = get_instance(db, instance_id, user)
    name = instance.process_version.name
    if action is BulkAction.CANCEL:
        cancelled = cancel_instance(db, engine, instance, user)
        return BulkOutcome(instance_id, True, cancelled.status, f"{name} was cancelled")
    result = run_or_record(db, lambda: retry_instance(db, engine, instance, user))
    if isinstance(result, StepFailure):
        reason = result.failed.cause.reason
        return BulkOutcome(instance_id, False, "failed", f"{name} failed again: {reason}")
    return BulkOutcome(
        instance_id, True, result.instance.status, f"{name} is {result.instance.status}"
    )


def act_on_incidents(
    factory: sessionmaker[Session],
    engine: ProcessEngine,
    user_id: int,
    instance_ids: Sequence[int],
    action: BulkAction,
) -> list[BulkOutcome]:
    """Retry or cancel each instance in its own transaction (as user `user_id`); the outcome
    of each, in order. The caller holds no transaction open meanwhile (SQLite has one writer).

    An instance that fails again is recorded as failed (its own transaction commits that); one
    refused (no access, no longer failed, changed meanwhile) is rolled back and reported.
    """
    outcomes = []
    for instance_id in instance_ids:
        try:
            with unit_of_work(factory) as db:
                outcome = _act(db, engine, instance_id, user_id, action)
        except BpmLivechatError as exc:
            message = f"{exc.message[:1].upper()}{exc.message[1:]}"
            outcome = BulkOutcome(instance_id, False, None, message)
        outcomes.append(outcome)
    return outcomes
