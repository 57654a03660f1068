"""The script bench: check a script, or dry-run it against a real session without storing anything.

A dry run sends the script to the sandbox with a snapshot of the session and sample task data, then
validates each would-be parameter write on its own against its definition, so the author sees every
valid and every invalid change at once. Nothing is written: the caller never commits a dry run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

import script_runtime
from bpm_livechat.apps.links import check_link_request
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import Priority, SupportSession, User
from bpm_livechat.params.actors import Actor
from bpm_livechat.params.choices import parse_choice
from bpm_livechat.params.definitions import definitions_by_key
from bpm_livechat.params.types import Money, ParamType, format_value, to_json
from bpm_livechat.params.values import get_parameters, normalize_changes
from bpm_livechat.processes.deployments import require_designer
from bpm_livechat.sessions.lifecycle import get_session, snapshot

BENCH_PROCESS_ID = "script-bench"
SESSION_RECORDS = {  # the records of the session snapshot and their fields (see `snapshot`)
    "client": ("name", "email", "phone"),
    "operator": ("name",),
    "live_chat": ("name",),
    "channel": ("name",),
}


@dataclass(frozen=True)
class ScriptProblem:
    """One problem `check` found: 1-based line, 1-based column, message."""

    line: int | None
    column: int | None
    message: str
    kind: str


@dataclass(frozen=True)
class WouldBeChange:
    """A parameter write the script asked for: current and written value (as data, and as a
    user reads them: "199.90 EUR"), and whether it is valid."""

    key: str
    old: object
    new: object
    valid: bool
    reason: str | None = None
    old_text: str = ""
    new_text: str = ""


@dataclass(frozen=True)
class ScriptFailure:
    """Why a dry run stopped: the error kind (compile, policy, runtime, limit), message and line."""

    kind: str
    message: str
    line: int | None
    problems: list[ScriptProblem] = field(default_factory=list)


@dataclass(frozen=True)
class WouldBeLink:
    """An app item the script asked to link (`session.link_item`), and whether that is valid."""

    app: str
    item_id: int
    valid: bool
    reason: str | None = None


@dataclass(frozen=True)
class DryRun:
    """What a script would do to a session: new task data, changes, links, replies, priority,
    log, the run's wall and CPU time (None when unknown), or its failure."""

    session_id: int
    data: dict[str, object]
    changes: list[WouldBeChange]
    log: str
    duration_ms: float | None
    failure: ScriptFailure | None = None
    links: list[WouldBeLink] = field(default_factory=list)
    cpu_ms: float | None = None
    replies: list[str] = field(default_factory=list)
    priority: WouldBeChange | None = None  # session.set_priority(...)
    seen: dict[str, str] = field(default_factory=dict)  # the session's values, as shown

    @property
    def ok(self) -> bool:
        """True when the script ran and every would-be change and link is valid."""
        valid = all(change.valid for change in self.changes)
        return self.failure is None and valid and all(link.valid for link in self.links)


@dataclass(frozen=True)
class ScriptReference:
    """What scripts may use, from the sandbox's own policy: modules, default limits, plain data."""

    modules: tuple[str, ...]
    limits: script_runtime.Limits
    plain_types: str


def script_reference(scripts: script_runtime.ScriptChecker) -> ScriptReference:
    """The facts the bench's "What a script sees" lists."""
    policy = scripts.policy
    return ScriptReference(policy.modules, policy.defaults, script_runtime.ALLOWED_TYPES)


def check_script(scripts: script_runtime.ScriptChecker, source: str) -> list[ScriptProblem]:
    """Every compile and policy problem of a script, by line and column (runs nothing)."""
    return [_problem(p) for p in scripts.check(source)]


def dry_run(
    db: Session,
    scripts: script_runtime.ScriptRunner,
    source: str,
    session_id: int,
    user: User,
    data: Mapping[str, object] | None = None,
) -> DryRun:
    """Run `source` against a session snapshot with sample task data; validate, never write."""
    require_designer(user)
    session = get_session(db, session_id, user)
    view = snapshot(db, session)
    view["params"] = {key: _plain(value) for key, value in view["params"].items()}
    given = dict(data or {})
    seen = _seen(view)
    try:
        result = scripts.run(source, data=given, session=view)
    except script_runtime.ScriptError as exc:
        failure = _failure(exc)
        return DryRun(
            session.id, given, [], exc.log, exc.duration_ms, failure, cpu_ms=exc.cpu_ms, seen=seen
        )
    except (TypeError, ValueError) as exc:  # sample data that cannot cross to the sandbox
        failure = ScriptFailure("runtime", f"cannot pass data to the sandbox: {exc}", None)
        return DryRun(session.id, given, [], "", None, failure, seen=seen)
    return DryRun(
        session.id,
        dict(result.data),
        _judge(db, session.id, user, result.changes),
        result.log,
        result.duration_ms,
        links=[_judge_link(db, session, app, item_id) for app, item_id in result.links],
        cpu_ms=result.cpu_ms,
        replies=list(result.replies),
        priority=None if result.priority is None else _judge_priority(session, result.priority),
        seen=seen,
    )


def _seen(view: Mapping[str, Any]) -> dict[str, str]:
    """What `session.X` reads in the script, as text, for the bench to show beside the run."""
    seen = {}
    for name in ("id", "name", "subject", "priority", "status", "created_at"):
        value = view.get(name)
        seen[f"session.{name}"] = (
            format_value(ParamType.DATETIME, value) if name == "created_at" else str(value or "")
        )
    for record, fields in SESSION_RECORDS.items():
        for name in fields:
            seen[f"session.{record}.{name}"] = str(view.get(record, {}).get(name) or "")
    return seen


def _judge_priority(session: SupportSession, level: str) -> WouldBeChange:
    """The priority a script asked for, checked as a process step would apply it."""
    now = session.priority
    try:
        new = parse_choice(Priority, level, "priority").value
    except ValidationError as exc:
        return WouldBeChange("priority", now, level, False, exc.message, now, level)
    return WouldBeChange("priority", now, new, True, None, now, new)


def _judge_link(db: Session, session: SupportSession, app: str, item_id: int) -> WouldBeLink:
    try:
        check_link_request(db, session, app, item_id)
    except ValidationError as exc:
        return WouldBeLink(app, item_id, False, exc.message)
    return WouldBeLink(app, item_id, True)


def _judge(
    db: Session, session_id: int, user: User, changes: Mapping[str, object]
) -> list[WouldBeChange]:
    """Each change validated on its own, as a process step of this user would write it."""
    actor = Actor(user=user, process_id=BENCH_PROCESS_ID, task_id=BENCH_PROCESS_ID)
    current = get_parameters(db, session_id, include_archived=True)
    by_key = definitions_by_key(db)
    types = {key: ParamType(d.type) for key, d in by_key.items()}
    judged = []
    for key, raw in changes.items():
        type_ = types.get(key)
        now = current.get(key)
        old = to_json(type_, now) if type_ else None
        labels = by_key[key].option_labels if key in by_key else None
        old_text = format_value(type_, now, labels) if type_ else ""
        try:
            value = normalize_changes(db, {key: raw}, actor)[key]
        except ValidationError as exc:
            shown = _shown(raw)
            judged.append(
                WouldBeChange(key, old, shown, False, exc.message, old_text, _text(shown))
            )
            continue
        assert type_ is not None  # normalize_changes refuses unknown keys
        new_text = format_value(type_, value, labels)
        judged.append(
            WouldBeChange(key, old, to_json(type_, value), True, None, old_text, new_text)
        )
    return judged


def _problem(problem: script_runtime.Problem) -> ScriptProblem:
    column = problem.column + 1 if problem.column is not None else None
    return ScriptProblem(problem.line, column, problem.message, problem.kind)


def _failure(exc: script_runtime.ScriptError) -> ScriptFailure:
    problems = [_problem(p) for p in getattr(exc, "problems", [])]
    return ScriptFailure(exc.kind, str(exc), exc.line, problems)


def _plain(value: object) -> object:
    """A parameter value as plain data the sandbox accepts (Money becomes a dict)."""
    if isinstance(value, Money):
        return {"amount": value.amount, "currency": value.currency}
    return value


def _text(value: object) -> str:
    """A refused value as text: strings as they are, anything else as Python writes it."""
    if value is None:
        return ""
    return value if isinstance(value, str) else repr(value)


def _shown(value: object) -> Any:
    """An invalid value as JSON-friendly data for display."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)
