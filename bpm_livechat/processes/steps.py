"""One process step in two phases, from the session's values to the saved instance.

Phase 1 (`prepare_step`) reads the session's values without a lock (they serve the start form's
prefill, the scripts' snapshot and the old values of the changes) and runs the engine. Phase 2
(`apply_step`, in the write transaction) locks the session, checks that what phase 1 read is
unchanged (`step_phases.check_unchanged`), then applies the changes with history, makes the app
links, and saves the instance and its task rows: a new instance with one INSERT that carries its
final state, an existing one in one flush. `step_phases.run_unlocked` drives the two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Table, insert, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

from bpm_livechat.apps.links import link_requested
from bpm_livechat.errors import ProcessStepError, ValidationError
from bpm_livechat.models import (
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
    SupportSession,
    TaskState,
    User,
    UserTask,
    utcnow,
)
from bpm_livechat.params.actors import Actor
from bpm_livechat.params.values import (
    ParamChange,
    apply_normalized,
    normalize_changes,
    read_stored,
    typed_values,
)
from bpm_livechat.processes.bpmn.decision_task import DECISIONS_KEY
from bpm_livechat.processes.decisions.store import DecisionSource
from bpm_livechat.processes.deployments import VersionInfo
from bpm_livechat.processes.engine.engine import ProcessEngine, SerializedWorkflow, StepResult
from bpm_livechat.processes.engine.script_environment import TaskRef, ValidateChanges
from bpm_livechat.processes.failures import step_failed
from bpm_livechat.processes.step_effects import apply_effects, listed, waits_after
from bpm_livechat.processes.step_log import elements_run, log_pending_step, step_clock
from bpm_livechat.processes.step_phases import check_unchanged
from bpm_livechat.processes.tasks import add_tasks, sync_tasks
from bpm_livechat.sessions.lifecycle import snapshot

Step = Callable[[Mapping[str, Any], ValidateChanges], StepResult]


@dataclass
class StepOutcome:
    """What a successful step did: the instance, its ready tasks and the parameters changed."""

    instance: ProcessInstance
    tasks: list[UserTask]
    changes: dict[str, ParamChange]
    log: list[str]


@dataclass(frozen=True)
class SessionValues:
    """A session's stored values (definition id -> JSON) as a step read them, and typed by key."""

    stored: dict[int, object]
    params: dict[str, object]


def read_values(db: Session, session: SupportSession) -> SessionValues:
    """Read the session's values for a step, without a lock (its phase 1)."""
    stored = read_stored(db, session.id)
    return SessionValues(stored, typed_values(db, stored))


@dataclass
class PreparedStep:
    """Phase 1 of a step: what the engine did, with what it read to do it, no lock held.

    `seen_session` and `seen_instance` are the versions it ran on (the instance's is None for a
    new one); `called_versions`, when set, are the library versions a start fixed.
    """

    instance: ProcessInstance
    session: SupportSession
    version: VersionInfo
    user: User
    result: StepResult
    values: SessionValues
    pending: dict[str, Any]
    since: float
    completed: UserTask | None
    seen_session: int
    seen_instance: int | None
    called_versions: dict[str, Any] | None = None


def prepare_step(
    db: Session,
    instance: ProcessInstance,
    session: SupportSession,
    version: VersionInfo,
    user: User,
    step: Step,
    values: SessionValues,
    pending: dict[str, Any],
    completed: UserTask | None = None,
    called_versions: dict[str, Any] | None = None,
) -> PreparedStep:
    """Run `step` on the session's values as read (phase 1: reads only, no lock, no write).

    A ProcessStepError becomes ProcessFailed, as it does in `apply_step`.
    """
    seen_instance = instance.version if instance.id is not None else None
    seen_session = session.version
    actor = Actor(user, instance.id, version.process_id, version.number)

    def validate(changes: dict[str, object]) -> dict[str, object]:
        return normalize_changes(db, changes, actor)

    since = step_clock()
    view = snapshot(db, session, values.params, messages_on_demand=True)
    view[DECISIONS_KEY] = DecisionSource(db)  # business rule tasks read deployed decisions
    try:
        result = step(view, validate)
    except ProcessStepError as exc:
        raise step_failed(instance, exc, pending, new=instance.id is None) from exc
    return PreparedStep(
        instance, session, version, user, result, values, pending, since, completed,
        seen_session, seen_instance, called_versions,
    )  # fmt: skip


def apply_step(
    db: Session,
    prepared: PreparedStep,
    engine: ProcessEngine,
    before: Callable[[], None] | None = None,
) -> StepOutcome:
    """Phase 2 in the write transaction: lock the session (and instance), check that what the
    step read is unchanged (else StepChanged), run `before`, then save what the step did.

    A new (unsaved) instance is saved only if this succeeds; on a ProcessStepError it is
    detached from `db`, so the rollback that follows leaves nothing of it behind.
    """
    instance = prepared.instance
    new = instance.id is None
    check_unchanged(db, prepared)
    if before is not None:
        before()
    try:
        return _apply(db, prepared, engine)
    except ProcessStepError as exc:
        if new and instance in db:
            db.expunge(instance)
        raise step_failed(instance, exc, prepared.pending, new=new) from exc


def _apply(db: Session, prepared: PreparedStep, engine: ProcessEngine) -> StepOutcome:
    instance, session, version, user = (
        prepared.instance, prepared.session, prepared.version, prepared.user,
    )  # fmt: skip
    result, completed = prepared.result, prepared.completed
    actor = Actor(user, instance.id, version.process_id, version.number)
    previous_waits = list(instance.waiting_for or [])
    if instance.id is not None and instance.version_id != version.id:  # a retry moved it on
        instance.process_version = db.get_one(ProcessVersion, version.id)
    if prepared.called_versions is not None:
        instance.called_versions = prepared.called_versions
    _record(instance, result, engine.serialize(result.workflow), user, completed)
    new = instance.id is None
    if new:
        _insert(db, instance)
        actor = replace(actor, instance_id=instance.id)
    elements = elements_run(result.workflow, prepared.since)
    log_pending_step(db, instance, prepared.pending, user, elements)
    applied = _apply_changes(db, session, result, actor, prepared.values.stored)
    _apply_links(db, session, result)

    def process_name() -> str:
        found = db.get(ProcessVersion, version.id)
        return found.name if found is not None else version.process_id

    apply_effects(db, engine.clock, instance, session, result, process_name, user,
                  list(applied), previous_waits)  # fmt: skip
    if new:
        tasks = add_tasks(db, instance, result.tasks, session, user.id)
    else:
        tasks = sync_tasks(db, instance, result.tasks, session, user.id)
    db.flush()
    return StepOutcome(instance, tasks, applied, [text for _ref, text in result.log])


def _record(
    instance: ProcessInstance,
    result: StepResult,
    saved: SerializedWorkflow,
    user: User,
    completed: UserTask | None,
) -> None:
    """Put the step's outcome on the instance (and the completed task) objects."""
    now = utcnow()
    if completed is not None:
        completed.state = TaskState.COMPLETED.value
        completed.completed_at = now
        completed.completed_by_id = user.id
    instance.workflow_json = saved.json
    instance.serializer_version = saved.version
    instance.status = result.status
    instance.updated_at = now
    instance.finished_at = now if result.status == InstanceStatus.COMPLETED.value else None
    instance.error = None
    instance.pending = None
    instance.waiting_for = listed(waits_after(result))


_INSTANCES = cast(Table, ProcessInstance.__table__)
_INSERT_INSTANCE = insert(_INSTANCES).returning(_INSTANCES.c.id)


def _insert(db: Session, instance: ProcessInstance) -> None:
    """Save a new instance in its final state with one plain INSERT, and attach it to `db`.

    An ORM flush would cost as much as the rest of the write; the row is complete, so the
    attached object needs no reload (its version counter starts where the ORM starts it).
    """
    instance.version = 1
    given = inspect(instance).dict  # columns never set keep their defaults
    row = {c.key: given[c.key] for c in _INSTANCES.c if c.key in given}
    instance.id = db.execute(_INSERT_INSTANCE, row).scalar_one()
    make_transient_to_detached(instance)
    db.add(instance)


def _apply_changes(
    db: Session,
    session: SupportSession,
    result: StepResult,
    actor: Actor,
    stored: Mapping[int, object],
) -> dict[str, ParamChange]:
    """Apply the changeset, each key's history naming the task whose script wrote it last."""
    groups: dict[TaskRef | None, dict[str, object]] = {}
    for key, value in result.changes.items():
        groups.setdefault(result.sources.get(key), {})[key] = value
    changes: dict[str, object] = {}
    actors: dict[str, Actor] = {}
    for ref, group in groups.items():  # history in task order, as each task's writes came
        by_task = replace(
            actor,
            task_id=ref.element_id if ref else None,
            task_name=ref.name if ref else None,
        )
        changes.update(group)
        actors.update(dict.fromkeys(group, by_task))
    return apply_normalized(db, session, changes, actor, stored=stored, actors=actors)


def _apply_links(db: Session, session: SupportSession, result: StepResult) -> None:
    """Link the app items scripts asked for; an invalid request fails the step at its task."""
    for ref, app, item_id in result.links:
        try:
            link_requested(db, session, app, item_id)
        except ValidationError as exc:
            raise ProcessStepError(
                "changeset", exc.message, element_id=ref.element_id, element_name=ref.name
            ) from exc
