"""User task rows of process instances: kept in step with the workflow, assigned, and "my tasks"."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import can_access_live_chat, is_supervisor_of
from bpm_livechat.models import (
    InstanceStatus,
    ProcessInstance,
    Status,
    SupportSession,
    TaskState,
    User,
    UserTask,
    utcnow,
)
from bpm_livechat.processes.bpmn.assignment import AssignmentSyntaxError, group_role, parse_person
from bpm_livechat.processes.engine.engine import UserTaskInfo


def role_matches(user: User, candidate_roles: Sequence[str]) -> bool:
    """True when one of the candidate groups names the user's role ("operator" or "operators")."""
    return any(group_role(group) == user.role for group in candidate_roles)


def offered_to(db: Session, user: User, task: UserTask, session: SupportSession) -> bool:
    """An unassigned task is offered to its candidate users and candidate roles who work the chat."""
    if user.id not in task.candidate_user_ids and not role_matches(user, task.candidate_roles):
        return False
    return can_access_live_chat(db, user, session.live_chat_id)


def may_work_task(db: Session, user: User, task: UserTask, session: SupportSession) -> bool:
    """The assignee, a candidate user or a user of a candidate role, or a supervisor of the
    live chat works a task."""
    if is_supervisor_of(db, user, session.live_chat_id):
        return True
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    return offered_to(db, user, task, session)


def _person_id(
    db: Session, entry: str, session: SupportSession, instance: ProcessInstance
) -> int | None:
    """The user an assignee or candidate entry names now, or None (unknown, or nobody)."""
    try:
        person = parse_person(entry)
    except AssignmentSyntaxError:  # deployed before the check existed: names nobody
        return None
    if person.expression == "operator":
        return session.operator_id
    if person.expression == "starter":
        return instance.started_by_id
    return db.scalar(select(User.id).where(User.username == person.username))


def _candidate_user_ids(
    db: Session, info: UserTaskInfo, session: SupportSession, instance: ProcessInstance
) -> list[int]:
    found = (_person_id(db, entry, session, instance) for entry in info.candidate_users)
    return list(dict.fromkeys(user_id for user_id in found if user_id is not None))


def _assignee_id(
    db: Session,
    info: UserTaskInfo,
    session: SupportSession,
    instance: ProcessInstance,
    candidates: Sequence[int],
    acting_user_id: int | None,
) -> int | None:
    """camunda:assignee when it names a user now; nobody when the task has candidates
    (users or groups); else the session's operator, or the user who made the step when the
    session has none yet. An assignee naming nobody (unknown user, no operator) falls through."""
    if info.assignee:
        named = _person_id(db, info.assignee, session, instance)
        if named is not None:
            return named
    if candidates or info.candidate_groups:
        return None
    return session.operator_id if session.operator_id is not None else acting_user_id


def add_tasks(
    db: Session,
    instance: ProcessInstance,
    ready: Sequence[UserTaskInfo],
    session: SupportSession,
    acting_user_id: int | None = None,
) -> list[UserTask]:
    """New ready task rows for user tasks of a saved instance; the caller's flush writes them."""
    now = utcnow()
    rows = []
    for info in ready:
        candidates = _candidate_user_ids(db, info, session, instance)
        assignee = _assignee_id(db, info, session, instance, candidates, acting_user_id)
        rows.append(
            UserTask(
                instance_id=instance.id,
                task_id=info.id,
                element_id=info.element_id[:255],
                name=info.name[:255],
                form=[field.to_dict() for field in info.form],
                assignee_id=assignee,
                candidate_roles=list(info.candidate_groups),
                candidate_user_ids=candidates,
                state=TaskState.READY.value,
                created_at=now,
            )
        )
    db.add_all(rows)
    return rows


def sync_tasks(
    db: Session,
    instance: ProcessInstance,
    ready: Sequence[UserTaskInfo],
    session: SupportSession,
    acting_user_id: int | None = None,
) -> list[UserTask]:
    """Make the instance's ready task rows match the workflow's ready user tasks; returns them.

    The caller's flush writes the changes (with the instance's own, in one unit of work).
    """
    rows = {
        row.task_id: row
        for row in db.scalars(select(UserTask).where(UserTask.instance_id == instance.id))
    }
    ready_ids = {info.id for info in ready}
    now = utcnow()
    for task_id, row in rows.items():
        if row.state == TaskState.READY.value and task_id not in ready_ids:
            row.state = TaskState.CANCELLED.value
            row.completed_at = now
    missing = [info for info in ready if info.id not in rows]
    rows.update(
        (row.task_id, row) for row in add_tasks(db, instance, missing, session, acting_user_id)
    )
    return [rows[info.id] for info in ready]


def ready_tasks(db: Session, instance: ProcessInstance) -> list[UserTask]:
    """The instance's user tasks waiting for someone, oldest first."""
    query = select(UserTask).where(
        UserTask.instance_id == instance.id, UserTask.state == TaskState.READY.value
    )
    return list(db.scalars(query.order_by(UserTask.id)))


def find_task(db: Session, instance: ProcessInstance, task_id: str) -> UserTask | None:
    """The task row `task_id` of an instance, freshly read from the database."""
    query = select(UserTask).where(UserTask.instance_id == instance.id, UserTask.task_id == task_id)
    return db.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def cancel_tasks(db: Session, instance: ProcessInstance) -> None:
    """Cancel every ready task of an instance (the instance is cancelled)."""
    now = utcnow()
    for row in ready_tasks(db, instance):
        row.state = TaskState.CANCELLED.value
        row.completed_at = now
    db.flush()


def my_tasks(db: Session, user: User) -> list[UserTask]:
    """Ready tasks of waiting instances that are the user's: assigned, or offered to them or
    their role; none of a closed session (nobody may complete those)."""
    query = (
        select(UserTask, SupportSession)
        .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
        .join(SupportSession, SupportSession.id == ProcessInstance.session_id)
        .where(
            UserTask.state == TaskState.READY.value,
            ProcessInstance.status == InstanceStatus.WAITING.value,
            SupportSession.status != Status.CLOSED.value,
        )
        .order_by(UserTask.created_at, UserTask.id)
    )
    mine: list[UserTask] = []
    for task, session in db.execute(query).all():
        if task.assignee_id == user.id or (
            task.assignee_id is None and offered_to(db, user, task, session)
        ):
            mine.append(task)
    return mine
