"""A supervisor's view of their team's open user tasks, and reassigning one to an operator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import is_supervisor_of
from bpm_livechat.desk.livechats import members
from bpm_livechat.errors import AccessDeniedError, ConflictError, NotFoundError, ValidationError
from bpm_livechat.models import (
    InstanceStatus,
    LiveChat,
    MemberRole,
    Process,
    ProcessInstance,
    ProcessVersion,
    SupportSession,
    TaskState,
    User,
    UserTask,
)
from bpm_livechat.processes.incidents import supervised_chat_ids
from bpm_livechat.processes.instances import get_instance, lock_instance
from bpm_livechat.processes.tasks import find_task

UNASSIGNED = "-"  # the assignee filter's value for tasks nobody holds yet


@dataclass(frozen=True)
class TaskFilter:
    """What the team's task list is narrowed to; every part optional."""

    live_chat_id: int | None = None
    process: str | None = None  # BPMN id
    assignee: str | None = None  # a username, or UNASSIGNED
    text: str = ""  # in the task or session name, any case


def parse_task_filter(args: Mapping[str, str]) -> TaskFilter:
    """The filter from query arguments (live_chat, process, assignee, q)."""
    chat = (args.get("live_chat") or "").strip()
    if chat and not chat.isdigit():
        raise ValidationError(
            f"live_chat: {chat!r} is not a live chat id", {"live_chat": "unknown"}
        )
    return TaskFilter(
        live_chat_id=int(chat) if chat else None,
        process=(args.get("process") or "").strip() or None,
        assignee=(args.get("assignee") or "").strip().lower() or None,
        text=(args.get("q") or "").strip()[:200],
    )


@dataclass(frozen=True)
class TeamTask:
    """One open task as the team view shows it."""

    task: UserTask
    session: SupportSession
    live_chat: LiveChat
    process_name: str
    waiting_since: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "instance_id": self.task.instance_id,
            "task_id": self.task.task_id,
            "name": self.task.name,
            "element_id": self.task.element_id,
            "assignee": self.task.assignee.username if self.task.assignee else None,
            "candidate_roles": list(self.task.candidate_roles),
            "session_id": self.session.id,
            "live_chat": self.live_chat.name,
            "process_name": self.process_name,
            "created_at": self.waiting_since.isoformat(),
        }


def team_tasks(db: Session, user: User, wanted: TaskFilter | None = None) -> list[TeamTask]:
    """Ready tasks of waiting instances in the live chats `user` supervises, oldest first."""
    wanted = wanted or TaskFilter()
    chats = supervised_chat_ids(db, user)
    query = (
        select(UserTask, SupportSession, LiveChat, ProcessVersion.name)
        .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
        .join(SupportSession, SupportSession.id == ProcessInstance.session_id)
        .join(LiveChat, LiveChat.id == SupportSession.live_chat_id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
        .join(Process, Process.id == ProcessVersion.process_id)
        .where(
            UserTask.state == TaskState.READY.value,
            ProcessInstance.status == InstanceStatus.WAITING.value,
        )
        .order_by(UserTask.created_at, UserTask.id)
    )
    if chats is not None:
        query = query.where(SupportSession.live_chat_id.in_(chats))
    if wanted.live_chat_id is not None:
        query = query.where(SupportSession.live_chat_id == wanted.live_chat_id)
    if wanted.process:
        query = query.where(Process.bpmn_id == wanted.process)
    if wanted.assignee == UNASSIGNED:
        query = query.where(UserTask.assignee_id.is_(None))
    elif wanted.assignee:
        query = query.join(User, User.id == UserTask.assignee_id).where(
            User.username == wanted.assignee
        )
    needle = wanted.text.lower()
    rows = [
        TeamTask(task, session, chat, name, _aware(task.created_at))
        for task, session, chat, name in db.execute(query).all()
    ]
    return [
        row
        for row in rows
        if not needle or needle in f"{row.task.name}\n{row.session.name or ''}".lower()
    ]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def reassign_task(
    db: Session,
    user: User,
    instance_id: int,
    task_id: str,
    username: str,
    expected_assignee_id: int | None,
    *,
    check_current: bool = True,
) -> UserTask:
    """Give a ready task to an operator of its live chat (a supervisor's action).

    `expected_assignee_id` is the assignee the supervisor saw; when someone reassigned the task
    meanwhile, ConflictError names who holds it now, so the later click never silently wins
    (`check_current=False`: the caller did not say what it saw).
    """
    instance = lock_instance(db, get_instance(db, instance_id, user).id)
    chat_id = instance.session.live_chat_id
    if not is_supervisor_of(db, user, chat_id):
        raise AccessDeniedError(f"user {user.username!r} may not reassign tasks of this live chat")
    task = find_task(db, instance, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    if task.state != TaskState.READY.value or instance.status != InstanceStatus.WAITING.value:
        raise ConflictError(f"task {task.name!r} is {task.state}, no longer open")
    if check_current and task.assignee_id != expected_assignee_id:
        holder = task.assignee.username if task.assignee else "nobody"
        raise ConflictError(f"task {task.name!r} was reassigned meanwhile; it is now {holder}'s")
    target = next(
        (u for u in members(db, chat_id, MemberRole.OPERATOR) if u.username == username), None
    )
    if target is None:
        raise ValidationError(
            f"assignee: {username!r} is not an operator of {instance.session.live_chat.name}",
            {"assignee": "not an operator of this live chat"},
        )
    task.assignee_id = target.id
    db.flush()
    db.refresh(task, ["assignee"])
    return task
