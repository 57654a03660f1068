"""Business rule tasks of a BPMN file whose decision (or pinned version) is not deployed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.errors import BpmnDocumentError
from bpm_livechat.models import Decision
from bpm_livechat.processes.bpmn.decision_checks import decision_refs
from bpm_livechat.processes.bpmn.report import Problem
from bpm_livechat.processes.bpmn.xml import line_of, parse_bpmn_xml


def undeployed_decisions(db: Session, bpmn: bytes) -> list[Problem]:
    """A problem per business rule task naming a decision (or version) that is not deployed;
    deploy the DMN file first. Nothing for a file that does not parse (validation says why)."""
    try:
        root = parse_bpmn_xml(bpmn).root
    except BpmnDocumentError:
        return []
    problems = []
    for node, decision_id, number in decision_refs(root):
        decision = db.scalar(select(Decision).where(Decision.decision_id == decision_id))
        if decision is None:
            message = f"decision {decision_id!r} is not deployed; deploy its DMN file first"
        elif number is not None and number not in {v.number for v in decision.versions}:
            message = f"decision {decision_id!r} has no version {number}"
        else:
            continue
        problems.append(Problem(node.get("id"), line_of(node), message))
    return problems
