"""Monitoring a process: its instances, filtered by status, version and session, a page at a
time, as the caller may see them; and what one instance did (its parameter changes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import visible_live_chat_ids
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import (
    InstanceStatus,
    LiveChat,
    ParamHistory,
    Process,
    ProcessInstance,
    ProcessVersion,
    SupportSession,
    TaskState,
    User,
    UserTask,
)

PER_PAGE = 25
MAX_PER_PAGE = 100
STATUSES = tuple(status.value for status in InstanceStatus)
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class InstanceFilter:
    """Which instances of a process to list; every part optional, pages count from 1."""

    status: str | None = None
    version: int | None = None
    session_id: int | None = None
    page: int = 1
    per_page: int = PER_PAGE

    def to_args(self, page: int | None = None) -> dict[str, str]:
        """The filter as query arguments (a link that keeps it), optionally at another page."""
        args = {
            "status": self.status or "",
            "version": str(self.version or ""),
            "session": str(self.session_id or ""),
            "page": str(page or self.page) if (page or self.page) > 1 else "",
        }
        if self.per_page != PER_PAGE:
            args["per_page"] = str(self.per_page)
        return {key: value for key, value in args.items() if value}


def _number(raw: str | None, field: str, what: str, top: int = _MAX_ID) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= top:
        raise ValidationError(f"{field}: {text!r} is not {what}", {field: f"not {what}"})
    return int(text)


def parse_instance_filter(args: Mapping[str, str]) -> InstanceFilter:
    """The filter from query arguments (status, version, session, page, per_page);
    ValidationError naming the field for a bad one."""
    status = (args.get("status") or "").strip().lower() or None
    if status is not None and status not in STATUSES:
        raise ValidationError(
            f"status: {status!r} is not one of {', '.join(STATUSES)}",
            {"status": f"one of {', '.join(STATUSES)}"},
        )
    per_page = _number(
        args.get("per_page"), "per_page", f"a number from 1 to {MAX_PER_PAGE}", MAX_PER_PAGE
    )
    return InstanceFilter(
        status=status,
        version=_number(args.get("version"), "version", "a version number", 2**31 - 1),
        session_id=_number(args.get("session"), "session", "a session id"),
        page=_number(args.get("page"), "page", "a page number", 2**31 - 1) or 1,
        per_page=per_page or PER_PAGE,
    )


@dataclass(frozen=True)
class InstanceRow:
    """One instance in a process's list."""

    instance_id: int
    session_id: int
    session_name: str
    live_chat: str
    version: int
    status: str
    started_by: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    current: list[str]  # the ready user tasks' names, or the element it failed at

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (the API's and the CLI's shape)."""
        return {
            "id": self.instance_id,
            "session_id": self.session_id,
            "session_name": self.session_name,
            "live_chat": self.live_chat,
            "version": self.version,
            "status": self.status,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "current": list(self.current),
        }


@dataclass(frozen=True)
class InstancePage:
    """One page of a process's instances, newest first, and how many match in all."""

    items: list[InstanceRow]
    total: int
    wanted: InstanceFilter

    @property
    def pages(self) -> int:
        """How many pages the matching instances fill (at least one)."""
        return max(1, -(-self.total // self.wanted.per_page))


def process_instances(
    db: Session, user: User, process: Process, wanted: InstanceFilter
) -> InstancePage:
    """The instances of `process` in the live chats `user` works (admins: all), filtered."""
    if wanted.version is not None:
        numbers = {v.number for v in process.versions}
        if wanted.version not in numbers:
            raise ValidationError(
                f"version: {process.bpmn_id} has no version {wanted.version}",
                {"version": "no such version"},
            )
    where = [ProcessVersion.process_id == process.id]
    if wanted.status:
        where.append(ProcessInstance.status == wanted.status)
    if wanted.version is not None:
        where.append(ProcessVersion.number == wanted.version)
    if wanted.session_id is not None:
        where.append(ProcessInstance.session_id == wanted.session_id)
    chats = visible_live_chat_ids(db, user)
    if chats is not None:
        where.append(SupportSession.live_chat_id.in_(chats))
    base = (
        select(ProcessInstance, SupportSession, LiveChat.name, ProcessVersion.number, User)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
        .join(SupportSession, SupportSession.id == ProcessInstance.session_id)
        .join(LiveChat, LiveChat.id == SupportSession.live_chat_id)
        .outerjoin(User, User.id == ProcessInstance.started_by_id)
        .where(*where)
    )
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    offset = (wanted.page - 1) * wanted.per_page
    rows = db.execute(
        base.order_by(ProcessInstance.id.desc()).offset(offset).limit(wanted.per_page)
    ).all()
    current = _current(db, [row[0] for row in rows])
    items = [
        InstanceRow(
            instance_id=instance.id,
            session_id=session.id,
            session_name=session.name or f"Session {session.id}",
            live_chat=chat,
            version=number,
            status=instance.status,
            started_by=starter.username if starter else None,
            started_at=instance.started_at,
            updated_at=instance.updated_at,
            finished_at=instance.finished_at,
            current=current.get(instance.id, []),
        )
        for instance, session, chat, number, starter in rows
    ]
    return InstancePage(items, total, wanted)


def version_counts(db: Session, user: User, process: Process) -> dict[int, int]:
    """How many instances each version of `process` has, in the live chats `user` works."""
    query = (
        select(ProcessVersion.number, func.count(ProcessInstance.id))
        .join(ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
        .where(ProcessVersion.process_id == process.id)
        .group_by(ProcessVersion.number)
    )
    chats = visible_live_chat_ids(db, user)
    if chats is not None:
        query = query.join(SupportSession, SupportSession.id == ProcessInstance.session_id)
        query = query.where(SupportSession.live_chat_id.in_(chats))
    return {number: count for number, count in db.execute(query).all()}


def _current(db: Session, instances: list[ProcessInstance]) -> dict[int, list[str]]:
    """Where each listed instance stands: its ready tasks, or the element it failed at."""
    found: dict[int, list[str]] = {}
    waiting = [i.id for i in instances if i.status == InstanceStatus.WAITING.value]
    if waiting:
        query = (
            select(UserTask.instance_id, UserTask.name)
            .where(UserTask.instance_id.in_(waiting), UserTask.state == TaskState.READY.value)
            .order_by(UserTask.id)
        )
        for instance_id, name in db.execute(query):
            found.setdefault(instance_id, []).append(name)
    for instance in instances:
        if instance.status == InstanceStatus.FAILED.value:
            error = instance.error or {}
            where = error.get("element_name") or error.get("element_id") or "start"
            found[instance.id] = [str(where)]
        elif instance.status == InstanceStatus.WAITING.value and instance.id not in found:
            found[instance.id] = [
                str(w.get("label") or w.get("name")) for w in instance.waiting_for or []
            ]
    return found


def instance_changes(db: Session, instance: ProcessInstance) -> list[ParamHistory]:
    """The parameter changes the instance's scripts and forms made, oldest first."""
    query = (
        select(ParamHistory)
        .where(
            ParamHistory.session_id == instance.session_id,
            ParamHistory.instance_id == instance.id,
        )
        .order_by(ParamHistory.id)
    )
    return list(db.scalars(query))
