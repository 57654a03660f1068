"""Deploying BPMN: validation first, numbered versions per process, activation and live chat bindings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, func, select
from sqlalchemy.orm import Session

from bpm_livechat.errors import AccessDeniedError, NotFoundError, ValidationError
from bpm_livechat.models import (
    LiveChat,
    Process,
    ProcessBinding,
    ProcessVersion,
    Role,
    User,
    utcnow,
)
from bpm_livechat.params.definitions import definitions
from bpm_livechat.processes.bpmn.report import DeployReport, ProcessInfo
from bpm_livechat.processes.bpmn.validation import Problem, validate_bpmn
from bpm_livechat.processes.decisions.references import undeployed_decisions
from bpm_livechat.processes.library import (
    Deploying,
    check_calls,
    require_not_called,
    version_calls,
)
from script_runtime import ScriptChecker


class DeploymentRejected(ValidationError):
    """A BPMN file was not deployed; `problems` lists every error found, by element and line."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        where = ", ".join(
            part
            for part in (
                first.file,
                first.element,
                f"line {first.line}" if first.line else None,
            )
            if part
        )
        more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
        super().__init__(
            f"BPMN rejected: {first.message}{f' ({where})' if where else ''}{more}",
            {p.element or "document": p.message for p in reversed(problems)},
        )
        self.problems = problems


@dataclass(frozen=True)
class BpmnFile:
    """One uploaded file of a deployment: its name (for messages) and content."""

    name: str
    data: bytes


@dataclass(frozen=True)
class DeployedProcess:
    """One process of a deployed file: its BPMN id, name, version and whether that version is new."""

    id: str
    name: str
    version: int
    created: bool


@dataclass
class DeployResult:
    """What a deployment did, and the warnings it is worth reading."""

    processes: list[DeployedProcess] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def require_designer(user: User) -> None:
    """Deploying and binding processes is an admin task."""
    if user.role != Role.ADMIN.value:
        raise AccessDeniedError(f"user {user.username!r} may not manage processes")


def deploy(
    db: Session,
    scripts: ScriptChecker,
    bpmn: bytes,
    user: User,
    live_chats: Iterable[LiveChat] = (),
) -> DeployResult:
    """Validate and store one BPMN file (see `deploy_files`)."""
    return deploy_files(db, scripts, [BpmnFile("", bpmn)], user, live_chats)


def deploy_files(
    db: Session,
    scripts: ScriptChecker,
    files: Sequence[BpmnFile],
    user: User,
    live_chats: Iterable[LiveChat] = (),
) -> DeployResult:
    """Validate and store BPMN files as one deployment, all or nothing: a new version per
    changed process, the same for identical content. A call activity may call a process of
    another file deployed together or deployed already. `scripts` compiles scripts and
    expressions (the engine's sandbox)."""
    require_designer(user)
    keys = {d.key for d in definitions(db)}
    reports = [(file, validate_bpmn(file.data, keys, scripts)) for file in files]
    several = len(files) > 1
    problems = [
        replace(p, file=file.name) if several else p
        for file, report in reports
        for p in report.errors
    ]
    problems += _duplicates(reports)
    problems += [
        replace(p, file=file.name) if several else p
        for file in files
        for p in undeployed_decisions(db, file.data)
    ]
    if not problems:
        deploying = _deploying(db, reports)
        calls = [
            (file.name if several else "", ref) for file, report in reports for ref in report.calls
        ]
        problems = check_calls(db, calls, deploying)
    if problems:
        raise DeploymentRejected(problems)
    chats = list(live_chats)
    result = DeployResult(
        warnings=[
            replace(w, file=file.name) if several else w
            for file, report in reports
            for w in report.warnings
        ]
    )
    stored = _store(db, reports, user)
    for process, version, created in stored:
        for chat in chats:
            bind(db, process, chat, user)
        result.processes.append(
            DeployedProcess(process.bpmn_id, process.name, version.number, created)
        )
    db.flush()
    return result


def _duplicates(reports: list[tuple[BpmnFile, DeployReport]]) -> list[Problem]:
    """A process id defined by two files deployed together."""
    seen: dict[str, str] = {}
    problems = []
    for file, report in reports:
        for info in report.processes:
            if info.id in seen:
                problems.append(
                    Problem(
                        info.id,
                        None,
                        f"process {info.id!r} is in both {seen[info.id]} and {file.name}",
                        file=file.name,
                    )
                )
            seen.setdefault(info.id, file.name)
    return problems


def _deploying(db: Session, reports: list[tuple[BpmnFile, DeployReport]]) -> dict[str, Deploying]:
    """Each process of the deployment with the highest version number it may get."""
    deploying = {}
    for file, report in reports:
        for info in report.processes:
            process = db.scalar(select(Process).where(Process.bpmn_id == info.id))
            latest = latest_version(db, process, active_only=False) if process else None
            if latest is None:
                highest = 1
            elif latest.content_hash == info.content_hash and not any(
                r.binding == "deployment" and r.process == info.id for r in report.calls
            ):
                highest = latest.number
            else:
                highest = latest.number + 1
            deploying[info.id] = Deploying(file.name, highest)
    return deploying


def _store(
    db: Session, reports: list[tuple[BpmnFile, DeployReport]], user: User
) -> list[tuple[Process, ProcessVersion, bool]]:
    """Store every process of the deployment; a process whose calls bind "deployment" is stored
    once the versions it calls are (callers in a cycle of such calls get new versions)."""
    todo = [(file, report, info) for file, report in reports for info in report.processes]
    bound = {
        info.id: {
            r.called for r in report.calls if r.process == info.id and r.binding == "deployment"
        }
        for _file, report, info in todo
    }
    targets: dict[str, int] = {}
    stored: dict[str, tuple[Process, ProcessVersion, bool]] = {}
    while todo:
        ready = [t for t in todo if bound[t[2].id] <= set(targets)] or todo
        for file, report, info in ready:
            process = db.scalar(select(Process).where(Process.bpmn_id == info.id))
            if process is None:
                process = Process(bpmn_id=info.id, name=info.name, active=True)
                db.add(process)
                db.flush()
            process.name = info.name
            process.active = True
            calls = version_calls(info.id, report.calls, targets)
            version, created = _version_for(db, process, file.data, info, user, calls)
            targets[info.id] = version.id
            stored[info.id] = (process, version, created)
        todo = [t for t in todo if t not in ready]
    for _process, version, _created in stored.values():  # a cycle: now every target is known
        if any(c["binding"] == "deployment" and c["target_id"] is None for c in version.calls):
            version.calls = [
                {**c, "target_id": targets.get(c["called"])} if c["binding"] == "deployment" else c
                for c in version.calls
            ]
    return list(stored.values())


def _version_for(
    db: Session,
    process: Process,
    bpmn: bytes,
    info: ProcessInfo,
    user: User,
    calls: list[dict[str, Any]],
) -> tuple[ProcessVersion, bool]:
    latest = latest_version(db, process, active_only=False)
    if latest is not None and latest.content_hash == info.content_hash and latest.calls == calls:
        latest.active = True
        return latest, False
    version = ProcessVersion(
        process_id=process.id,
        number=(latest.number + 1) if latest is not None else 1,
        name=info.name,
        bpmn=bpmn,
        content_hash=info.content_hash,
        deployed_by_id=user.id,
        deployed_at=utcnow(),
        active=True,
        calls=calls,
    )
    db.add(version)
    db.flush()
    return version, True


def latest_version(
    db: Session, process: Process, active_only: bool = True
) -> ProcessVersion | None:
    """The highest-numbered (active) version of a process."""
    query = select(ProcessVersion).where(ProcessVersion.process_id == process.id)
    if active_only:
        query = query.where(ProcessVersion.active.is_(True))
    return db.scalar(query.order_by(ProcessVersion.number.desc()).limit(1))


@dataclass(frozen=True)
class VersionInfo:
    """A deployed version without its BPMN file: what starting and running an instance needs.

    Versions never change once deployed (a new file makes a new version; only `active` moves),
    so this may be kept, and the file parsed once, for as long as a process likes.
    """

    id: int
    number: int
    process_id: str
    content_hash: str

    @classmethod
    def of(cls, version: ProcessVersion) -> VersionInfo:
        """The info of a loaded version."""
        return cls(version.id, version.number, version.process.bpmn_id, version.content_hash)


# The start check of every "Start process" in one plain statement, built once: the process, its
# newest active version and whether the session's live chat offers it.
_PROCESSES = cast(Table, Process.__table__)
_VERSIONS = cast(Table, ProcessVersion.__table__)
_BINDINGS = cast(Table, ProcessBinding.__table__)
_START_CHECK = (
    select(
        _PROCESSES.c.active,
        _VERSIONS.c.id,
        _VERSIONS.c.number,
        _VERSIONS.c.content_hash,
        exists().where(
            _BINDINGS.c.process_id == _PROCESSES.c.id,
            _BINDINGS.c.live_chat_id == bindparam("live_chat_id"),
        ),
    )
    .select_from(_PROCESSES)
    .outerjoin(
        _VERSIONS,
        and_(_VERSIONS.c.process_id == _PROCESSES.c.id, _VERSIONS.c.active.is_(True)),
    )
    .where(_PROCESSES.c.bpmn_id == bindparam("bpmn_id"))
    .order_by(_VERSIONS.c.number.desc())
    .limit(1)
)


def version_to_start(
    db: Session, bpmn_id: str, live_chat_id: int
) -> tuple[VersionInfo | None, bool]:
    """The version a start runs (None when the process or all its versions are inactive) and
    whether the live chat offers the process; NotFoundError for an unknown process."""
    row = db.execute(_START_CHECK, {"bpmn_id": bpmn_id, "live_chat_id": live_chat_id}).first()
    if row is None:
        raise NotFoundError("process", bpmn_id)
    active, version_id, number, content_hash, bound = row
    if not active or version_id is None:
        return None, bool(bound)
    return VersionInfo(version_id, number, bpmn_id, content_hash), bool(bound)


def list_processes(db: Session) -> list[Process]:
    """Every deployed process, by BPMN id."""
    return list(db.scalars(select(Process).order_by(Process.bpmn_id)))


def get_process(db: Session, bpmn_id: str) -> Process:
    """The process with this BPMN id, or NotFoundError."""
    process = db.scalar(select(Process).where(Process.bpmn_id == bpmn_id))
    if process is None:
        raise NotFoundError("process", bpmn_id)
    return process


def get_version(db: Session, process: Process, number: int) -> ProcessVersion:
    """Version `number` of a process, or NotFoundError."""
    version = db.scalar(
        select(ProcessVersion).where(
            ProcessVersion.process_id == process.id, ProcessVersion.number == number
        )
    )
    if version is None:
        raise NotFoundError("process version", f"{process.bpmn_id} v{number}")
    return version


def deactivate(db: Session, process: Process, user: User, number: int | None = None) -> None:
    """Stop offering a version (or, without `number`, the whole process); running instances go on.
    ProcessInUseError when an active process calls it (or needs that version)."""
    require_designer(user)
    if number is not None:
        get_version(db, process, number)
    require_not_called(db, process, number)
    if number is None:
        process.active = False
    else:
        get_version(db, process, number).active = False
    db.flush()


def bind(db: Session, process: Process, chat: LiveChat, user: User) -> None:
    """Offer the process in the sessions of a live chat (idempotent)."""
    require_designer(user)
    if db.get(ProcessBinding, (process.id, chat.id)) is None:
        db.add(ProcessBinding(process_id=process.id, live_chat_id=chat.id))
        db.flush()
        db.expire(process, ["live_chats"])


def unbind(db: Session, process: Process, chat: LiveChat, user: User) -> None:
    """Stop offering the process in a live chat's sessions (idempotent)."""
    require_designer(user)
    binding = db.get(ProcessBinding, (process.id, chat.id))
    if binding is not None:
        db.delete(binding)
        db.flush()
        db.expire(process, ["live_chats"])


def is_bound(db: Session, process: Process, live_chat_id: int) -> bool:
    """True when the process is offered in this live chat."""
    return db.get(ProcessBinding, (process.id, live_chat_id)) is not None


def startable_processes(db: Session, live_chat_id: int) -> list[Process]:
    """The active processes with an active version bound to a live chat: the "Start process" menu."""
    active_versions = (
        select(func.count(ProcessVersion.id))
        .where(ProcessVersion.process_id == Process.id, ProcessVersion.active.is_(True))
        .scalar_subquery()
    )
    query = (
        select(Process)
        .join(ProcessBinding, ProcessBinding.process_id == Process.id)
        .where(
            ProcessBinding.live_chat_id == live_chat_id,
            Process.active.is_(True),
            active_versions > 0,
        )
        .order_by(Process.name)
    )
    return list(db.scalars(query))


def process_summary(db: Session, process: Process) -> dict[str, object]:
    """A process as plain data: id, name, active, latest version, bound live chats."""
    latest = latest_version(db, process, active_only=False)
    return {
        "id": process.bpmn_id,
        "name": process.name,
        "active": process.active,
        "latest_version": latest.number if latest else None,
        "live_chats": [chat.name for chat in process.live_chats],
    }


def process_details(db: Session, process: Process) -> dict[str, object]:
    """A process with every version (without the BPMN text)."""
    data = process_summary(db, process)
    data["versions"] = [
        {
            "version": v.number,
            "name": v.name,
            "active": v.active,
            "content_hash": v.content_hash,
            "deployed_by": v.deployed_by.username if v.deployed_by else None,
            "deployed_at": v.deployed_at,
            "calls": [
                {k: c.get(k) for k in ("element", "name", "called", "binding", "version")}
                for c in v.calls or []
            ],
        }
        for v in process.versions
    ]
    return data
