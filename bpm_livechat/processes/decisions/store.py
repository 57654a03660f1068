"""Deploying DMN decisions: validation first, a numbered version per changed decision.

Versions bind like Camunda's default (`camunda:decisionRefBinding="latest"`): a business rule
task uses the newest active version of its decision at the moment the task runs, also in an
instance started before that version was deployed. `decisionRefBinding="version"` with
`camunda:decisionRefVersion="N"` pins a version. Which version ran is written to the step log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import Decision, DecisionVersion, User, utcnow
from bpm_livechat.processes.bpmn.decision_task import BusinessRuleTask
from bpm_livechat.processes.bpmn.report import Problem
from bpm_livechat.processes.decisions.reading import DmnFile, read_dmn
from bpm_livechat.processes.decisions.running import run_business_rule
from bpm_livechat.processes.deployments import require_designer
from script_runtime import ScriptChecker


class DecisionRejected(ValidationError):
    """A DMN file was not deployed; `problems` lists every error, by decision, rule and column."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        where = f" (line {first.line})" if first.line else ""
        more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
        super().__init__(
            f"DMN rejected: {first.message}{where}{more}",
            {p.element or "document": p.message for p in reversed(problems)},
        )
        self.problems = problems


@dataclass(frozen=True)
class DeployedDecision:
    """One decision of a deployed file: its id, name, version, hit policy, whether it is new."""

    id: str
    name: str
    version: int
    hit_policy: str
    created: bool


@dataclass
class DecisionDeployResult:
    """What a DMN deployment did."""

    decisions: list[DeployedDecision] = field(default_factory=list)


def deploy_decisions(
    db: Session, checker: ScriptChecker, dmn: bytes, user: User
) -> DecisionDeployResult:
    """Validate and store a DMN file: a new version per decision whose file changed, the same
    version for identical content. `checker` compiles every cell (the engine's sandbox)."""
    require_designer(user)
    read = read_dmn(dmn, checker)
    if not read.ok:
        raise DecisionRejected(read.errors)
    result = DecisionDeployResult()
    for info in read.decisions.values():
        decision = db.scalar(select(Decision).where(Decision.decision_id == info.id))
        if decision is None:
            decision = Decision(decision_id=info.id, name=info.name)
            db.add(decision)
            db.flush()
        decision.name = info.name
        latest = latest_decision_version(db, decision, active_only=False)
        if latest is not None and latest.content_hash == read.content_hash:
            latest.active = True
            result.decisions.append(
                DeployedDecision(info.id, info.name, latest.number, info.hit_policy, False)
            )
            continue
        version = DecisionVersion(
            decision_id=decision.id,
            number=(latest.number + 1) if latest is not None else 1,
            name=info.name,
            hit_policy=info.hit_policy,
            dmn=dmn,
            content_hash=read.content_hash,
            deployed_by_id=user.id,
            deployed_at=utcnow(),
            active=True,
        )
        db.add(version)
        db.flush()
        result.decisions.append(
            DeployedDecision(info.id, info.name, version.number, info.hit_policy, True)
        )
    db.flush()
    return result


def latest_decision_version(
    db: Session, decision: Decision, active_only: bool = True
) -> DecisionVersion | None:
    """The highest-numbered (active) version of a decision."""
    query = select(DecisionVersion).where(DecisionVersion.decision_id == decision.id)
    if active_only:
        query = query.where(DecisionVersion.active.is_(True))
    return db.scalar(query.order_by(DecisionVersion.number.desc()).limit(1))


def set_version_active(
    db: Session, decision: Decision, number: int, active: bool, user: User
) -> DecisionVersion:
    """Let business rule tasks use a version again, or stop them using it (the latest active
    version is what unpinned tasks use; a deactivated version stays downloadable)."""
    require_designer(user)
    version = get_decision_version(db, decision, number)
    version.active = active
    db.flush()
    return version


def list_decisions(db: Session) -> list[Decision]:
    """Every deployed decision, by id."""
    return list(db.scalars(select(Decision).order_by(Decision.decision_id)))


def get_decision(db: Session, decision_id: str) -> Decision:
    """The decision with this DMN id, or NotFoundError."""
    decision = db.scalar(select(Decision).where(Decision.decision_id == decision_id))
    if decision is None:
        raise NotFoundError("decision", decision_id)
    return decision


def get_decision_version(db: Session, decision: Decision, number: int) -> DecisionVersion:
    """Version `number` of a decision, or NotFoundError."""
    version = db.scalar(
        select(DecisionVersion).where(
            DecisionVersion.decision_id == decision.id, DecisionVersion.number == number
        )
    )
    if version is None:
        raise NotFoundError("decision version", f"{decision.decision_id} v{number}")
    return version


def decision_summary(db: Session, decision: Decision) -> dict[str, object]:
    """A decision as plain data: id, name, latest version and its hit policy, every version."""
    latest = latest_decision_version(db, decision, active_only=False)
    return {
        "id": decision.decision_id,
        "name": decision.name,
        "latest_version": latest.number if latest else None,
        "hit_policy": latest.hit_policy if latest else None,
        "versions": [
            {
                "version": v.number,
                "name": v.name,
                "hit_policy": v.hit_policy,
                "active": v.active,
                "content_hash": v.content_hash,
                "deployed_by": v.deployed_by.username if v.deployed_by else None,
                "deployed_at": v.deployed_at,
            }
            for v in decision.versions
        ],
    }


class _CheckedAtDeploy:
    """The checker for stored versions: their cells were compiled when they were deployed."""

    def check(self, source: str, *, mode: str = "exec") -> list[object]:
        return []


_DEPLOYED = cast(ScriptChecker, _CheckedAtDeploy())


@dataclass(frozen=True)
class ResolvedDecision:
    """The version of a decision a task uses, read and checked."""

    decision_id: str
    number: int
    dmn: DmnFile


class DecisionSource:
    """Finds the deployed decision a business rule task names, inside the step's transaction."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self._read: dict[int, DmnFile] = {}

    def resolve(self, decision_id: str, number: int | None = None) -> ResolvedDecision:
        """The latest active version (or version `number`); NotFoundError when there is none."""
        decision = get_decision(self.db, decision_id)
        if number is None:
            version = latest_decision_version(self.db, decision)
            if version is None:
                raise NotFoundError("active version of decision", decision_id)
        else:
            version = get_decision_version(self.db, decision, number)
        read = self._read.get(version.id)
        if read is None:
            read = self._read[version.id] = read_dmn(version.dmn, _DEPLOYED)
        if decision_id not in read.decisions:
            raise NotFoundError("decision", f"{decision_id} in v{version.number}")
        return ResolvedDecision(decision_id, version.number, read)

    def run_business_rule(self, task: Any, spec: BusinessRuleTask) -> None:
        """Evaluate a business rule task's decision (called by its spec, inside a step)."""

        def resolve(decision_id: str, number: int | None) -> tuple[int, DmnFile]:
            resolved = self.resolve(decision_id, number)
            return resolved.number, resolved.dmn

        run_business_rule(resolve, task, spec)
