"""Process libraries: call activities that run processes deployed from other files.

A call activity names its process by id (`calledElement`); a process in the caller's own file
runs from that file. Any other resolves across deployments by `camunda:calledElementBinding`:
"latest" (the default) is the newest active version of the active process, "version" is
`camunda:calledElementVersion`, "deployment" is the version deployed together with the caller.

Resolution happens when an instance starts, for its whole call tree: SpiffWorkflow runs a
workflow on the specs it was created with, so the called versions are stored on the instance
(`called_versions`) and a restored instance runs them to its end, whatever is deployed later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.errors import ConflictError, ProcessStepError
from bpm_livechat.models import Process, ProcessVersion
from bpm_livechat.processes.bpmn.report import CallRef, Problem
from bpm_livechat.processes.engine.engine import (
    CalledSpecs,
    ExternalCall,
    ParsedBpmn,
    ProcessEngine,
)


@dataclass(frozen=True)
class Caller:
    """An active process version that calls another process: where, and how it binds."""

    process: str
    version: int
    element: str
    name: str | None
    binding: str

    def describe(self) -> str:
        """`process 'P' (version 2, call activity 'Call' (Name))`."""
        name = f" ({self.name})" if self.name else ""
        return (
            f"process {self.process!r} (version {self.version}, "
            f"call activity {self.element!r}{name})"
        )


class ProcessInUseError(ConflictError):
    """A process (or version) cannot be deactivated: active processes call it."""

    def __init__(self, target: str, callers: list[Caller]) -> None:
        listed = "; ".join(c.describe() for c in callers)
        super().__init__(f"{target} is called by active {listed}; deactivate the caller first")
        self.callers = callers


# -- deploy time ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deploying:
    """A process in the files being deployed: its file and the highest version number it may get."""

    file: str
    highest_number: int


def check_calls(
    db: Session, calls: Iterable[tuple[str, CallRef]], deploying: Mapping[str, Deploying]
) -> list[Problem]:
    """Problems with the (file, call) pairs whose called process is not in the caller's file:
    neither deployed together nor already deployed, or a pinned version that does not exist."""
    problems = []
    for file, ref in calls:
        message = _call_problem(db, ref, deploying.get(ref.called))
        if message is not None:
            problems.append(
                Problem(ref.element, ref.line, message, name=ref.name, file=file or None)
            )
    return problems


def _call_problem(db: Session, ref: CallRef, together: Deploying | None) -> str | None:
    what = f"call activity {ref.where()} calls process {ref.called!r}"
    if together is not None:
        if ref.version is not None and ref.version > together.highest_number:
            return (
                f"{what} at version {ref.version}, but deploying {together.file or 'it'} "
                f"makes version {together.highest_number}"
            )
        return None
    if ref.binding == "deployment":
        return f"{what} with binding deployment, but that process is not deployed together"
    process = db.scalar(select(Process).where(Process.bpmn_id == ref.called))
    if process is None:
        return f"{what}, which is neither in the files deployed nor deployed already"
    if ref.version is not None:
        numbers = [v.number for v in process.versions]
        if ref.version not in numbers:
            return f"{what} at version {ref.version}, which does not exist (latest is {max(numbers, default=0)})"
        return None
    if not process.active or not any(v.active for v in process.versions):
        return f"{what}, which is not active"
    return None


def version_calls(
    process_id: str, refs: Iterable[CallRef], targets: Mapping[str, int]
) -> list[dict[str, Any]]:
    """The calls of one process version as stored on it; `targets` gives the version id of each
    process deployed together (what binding "deployment" runs)."""
    return [
        {
            "element": ref.element,
            "name": ref.name,
            "line": ref.line,
            "called": ref.called,
            "binding": ref.binding,
            "version": ref.version,
            "target_id": targets.get(ref.called) if ref.binding == "deployment" else None,
        }
        for ref in refs
        if ref.process == process_id
    ]


def callers_of(db: Session, process: Process, number: int | None = None) -> list[Caller]:
    """The active versions of active processes that call `process` (with `number`, that would
    lose version `number`: pinned to it, deployed with it, or "latest" when it is the last
    active version)."""
    query = (
        select(Process.bpmn_id, ProcessVersion.number, ProcessVersion.calls)
        .join(Process, Process.id == ProcessVersion.process_id)
        .where(
            Process.active.is_(True),
            ProcessVersion.active.is_(True),
            ProcessVersion.process_id != process.id,
        )
        .order_by(Process.bpmn_id, ProcessVersion.number)
    )
    lost = _loses(process, number)
    found = []
    for bpmn_id, caller_number, calls in db.execute(query):
        for call in calls or []:
            if call.get("called") == process.bpmn_id and lost(call):
                binding = call.get("binding", "latest")
                found.append(Caller(bpmn_id, caller_number, call["element"], call["name"], binding))
    return found


def _loses(process: Process, number: int | None) -> Callable[[dict[str, Any]], bool]:
    if number is None:
        return lambda call: True
    version = next((v for v in process.versions if v.number == number), None)
    last_active = [v.number for v in process.versions if v.active] == [number]
    version_id = version.id if version is not None else None

    def lost(call: dict[str, Any]) -> bool:
        binding = call.get("binding", "latest")
        if binding == "version":
            return bool(call.get("version") == number)
        if binding == "deployment":
            return bool(call.get("target_id") == version_id)
        return last_active

    return lost


def require_not_called(db: Session, process: Process, number: int | None = None) -> None:
    """ProcessInUseError when an active process calls the process (or that version of it)."""
    callers = callers_of(db, process, number)
    if callers:
        target = f"process {process.bpmn_id!r}"
        if number is not None:
            target = f"version {number} of {target}"
        raise ProcessInUseError(target, callers)


# -- start and run time -----------------------------------------------------------------------


def resolve_called(
    db: Session, engine: ProcessEngine, parsed: ParsedBpmn, process_id: str, version_id: int
) -> dict[str, dict[str, Any]]:
    """The versions of other files' processes that a new instance's call tree runs, fixed now:
    {process id: {"id", "number", "content_hash"}}; {} (no query) when it calls none."""
    pending = [(version_id, call) for call in parsed.external_calls(process_id)]
    chosen: dict[str, dict[str, Any]] = {}
    while pending:
        caller_id, call = pending.pop(0)
        target = _target(db, call, caller_id)
        known = chosen.get(call.called)
        if known is not None:
            if known["id"] != target.id:
                raise ProcessStepError(
                    "definition",
                    f"process {call.called!r} is called at version {known['number']} and at "
                    f"version {target.number} in one instance; an instance runs one version "
                    "of each process",
                    element_id=call.element_id,
                )
            continue
        chosen[call.called] = {
            "id": target.id,
            "number": target.number,
            "content_hash": target.content_hash,
        }
        called_parsed = engine.parse_stored(target.content_hash, _file_of(target))
        pending += [(target.id, c) for c in called_parsed.external_calls(call.called)]
    return chosen


def _file_of(version: ProcessVersion) -> Callable[[], bytes]:
    return lambda: version.bpmn


def _target(db: Session, call: ExternalCall, caller_id: int) -> ProcessVersion:
    what = f"calls process {call.called!r}"
    query = (
        select(ProcessVersion)
        .join(Process, Process.id == ProcessVersion.process_id)
        .where(Process.bpmn_id == call.called)
    )
    if call.binding == "version":
        number = int(call.version or 0)
        found = db.scalar(query.where(ProcessVersion.number == number))
        what += f" at version {number}"
    elif call.binding == "deployment":
        caller = db.get(ProcessVersion, caller_id)
        ids = [
            c.get("target_id")
            for c in (caller.calls if caller is not None else [])
            if c.get("element") == call.element_id
        ]
        found = db.get(ProcessVersion, ids[0]) if ids and ids[0] else None
        what += " deployed together with it"
    else:
        active = query.where(Process.active.is_(True), ProcessVersion.active.is_(True))
        found = db.scalar(active.order_by(ProcessVersion.number.desc()).limit(1))
        what += " (its latest active version)"
    if found is None:
        raise ProcessStepError(
            "definition", f"{what}, which is not deployed", element_id=call.element_id
        )
    return found


def called_specs(
    db: Session, engine: ProcessEngine, called: Mapping[str, Mapping[str, Any]]
) -> CalledSpecs:
    """The specs of the versions an instance's calls run (and of what their files hold that
    they call), read from the database only when not parsed yet."""
    specs: dict[str, Any] = {}
    for process_id, info in called.items():

        def bpmn(version_id: int = int(info["id"])) -> bytes:
            query = select(ProcessVersion.bpmn).where(ProcessVersion.id == version_id)
            data = db.execute(query).scalar_one_or_none()
            if data is None:
                raise ProcessStepError("definition", f"version {version_id} is gone")
            return data

        spec, subprocesses = engine.parse_stored(info["content_hash"], bpmn).specs(process_id)
        specs.update(subprocesses)
        specs[process_id] = spec
    return specs
