"""DMN decisions: deploy (admins), list with versions, and try one on a session (nothing stored)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bpm_livechat.models import Decision, User
from bpm_livechat.processes.decisions.bench import try_decision
from bpm_livechat.processes.decisions.store import (
    decision_summary,
    deploy_decisions,
    get_decision,
    list_decisions,
)
from bpm_livechat.processes.deployments import require_designer
from web.engine import process_engine

from .decision_schemas import (
    DecisionDeploy,
    DecisionDeployOut,
    DecisionList,
    DecisionOut,
    DecisionTry,
    DecisionTryOut,
    DeployedDecisionOut,
    MatchedRuleOut,
)
from .spec import Registry

api = Registry()
DECISIONS = "decisions"


def _decision_out(db: Session, decision: Decision) -> DecisionOut:
    return DecisionOut.model_validate(decision_summary(db, decision))


@api.operation(
    "POST", "/decisions", summary="Deploy a DMN file (admins); 422 lists every problem",
    tag=DECISIONS, body=DecisionDeploy, response=DecisionDeployOut, status=201,
)  # fmt: skip
def deploy_decisions_api(db: Session, user: User, body: DecisionDeploy) -> DecisionDeployOut:
    """Validate and store; a new version per decision whose file changed."""
    result = deploy_decisions(db, process_engine().scripts, body.dmn.encode("utf-8"), user)
    return DecisionDeployOut(
        decisions=[
            DeployedDecisionOut(
                id=d.id, name=d.name, version=d.version, hit_policy=d.hit_policy, created=d.created
            )
            for d in result.decisions
        ]
    )


@api.operation("GET", "/decisions", summary="Deployed decisions", tag=DECISIONS,
               response=DecisionList)  # fmt: skip
def list_decisions_api(db: Session, user: User) -> DecisionList:
    """Every deployed decision with its versions (admins)."""
    require_designer(user)
    return DecisionList(items=[_decision_out(db, d) for d in list_decisions(db)])


@api.operation(
    "GET", "/decisions/<string:decision_id>", summary="A decision with its versions",
    tag=DECISIONS, response=DecisionOut,
)  # fmt: skip
def get_decision_api(db: Session, user: User, decision_id: str) -> DecisionOut:
    """One decision, every version oldest first (admins)."""
    require_designer(user)
    return _decision_out(db, get_decision(db, decision_id))


@api.operation(
    "POST", "/decisions/<string:decision_id>/try",
    summary="Evaluate a decision for a session and task data; nothing is stored",
    tag=DECISIONS, body=DecisionTry, response=DecisionTryOut,
)  # fmt: skip
def try_decision_api(
    db: Session, user: User, decision_id: str, body: DecisionTry
) -> DecisionTryOut:
    """The matched rules and the result, as a business rule task would see them (admins)."""
    tried = try_decision(db, process_engine().scripts, decision_id, body.session_id, user,
                         body.data, body.version)  # fmt: skip
    return DecisionTryOut(
        decision=tried.decision_id,
        version=tried.version,
        session_id=tried.session_id,
        matched=[
            MatchedRuleOut(rule=r.number, id=r.id, description=r.description, outputs=r.outputs)
            for r in tried.matched
        ],
        result=tried.result,
        required=tried.required,
        failure=tried.failure,
    )
