"""Trying a deployed decision against a real session on the bench: nothing is stored.

The table is evaluated exactly as a business rule task would evaluate it (the same engine, the same
sandbox, the session's snapshot as `session`), with task data the designer types in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

import script_runtime
from bpm_livechat.errors import ProcessStepError
from bpm_livechat.models import User
from bpm_livechat.processes.decisions.evaluation import MatchedRule, evaluate
from bpm_livechat.processes.decisions.store import DecisionSource
from bpm_livechat.processes.deployments import require_designer
from bpm_livechat.processes.engine.script_environment import (
    SandboxEnvironment,
    SandboxScriptEngine,
)
from bpm_livechat.sessions.lifecycle import get_session, snapshot

BENCH_ELEMENT = "decision-bench"


@dataclass(frozen=True)
class DecisionTry:
    """What a decision said for a session and task data: the version used, the rules that
    matched, the result as task data, the outputs of required decisions, or why it failed."""

    decision_id: str
    version: int
    session_id: int
    data: dict[str, object]
    matched: list[MatchedRule] = field(default_factory=list)
    result: dict[str, object] = field(default_factory=dict)
    required: dict[str, object] = field(default_factory=dict)
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


class _BenchSpec:
    bpmn_id = BENCH_ELEMENT
    bpmn_name = "Decision bench"
    name = BENCH_ELEMENT


class _BenchWorkflow:
    def __init__(self, script_engine: SandboxScriptEngine) -> None:
        self.script_engine = script_engine


class _BenchTask:
    """The task a business rule task would give the engine: its data and the script engine."""

    def __init__(self, script_engine: SandboxScriptEngine, data: dict[str, Any]) -> None:
        self.workflow = _BenchWorkflow(script_engine)
        self.task_spec = _BenchSpec()
        self.data = data


def try_decision(
    db: Session,
    runner: script_runtime.ScriptRunner,
    decision_id: str,
    session_id: int,
    user: User,
    data: Mapping[str, object] | None = None,
    version: int | None = None,
) -> DecisionTry:
    """Evaluate a deployed decision (latest active version, or `version`) for a session."""
    require_designer(user)
    resolved = DecisionSource(db).resolve(decision_id, version)
    session = get_session(db, session_id, user)
    given = dict(data or {})
    view = snapshot(db, session, messages_on_demand=True)
    environment = SandboxEnvironment(runner).for_step(view, _no_writes)
    task = _BenchTask(SandboxScriptEngine(environment), dict(given))
    try:
        outcome = evaluate(resolved.dmn, decision_id, task)
    except ProcessStepError as exc:
        return DecisionTry(decision_id, resolved.number, session.id, given, failure=exc.reason)
    return DecisionTry(
        decision_id,
        resolved.number,
        session.id,
        given,
        outcome.matched,
        outcome.as_data(),
        outcome.required,
    )


def _no_writes(changes: dict[str, object]) -> dict[str, object]:
    return {}  # expressions cannot write; nothing reaches here
