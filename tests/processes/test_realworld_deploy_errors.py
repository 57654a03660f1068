"""Every BPMN file of the public corpora beside the checkout, deployed through `deploy`: no
crash, and every refusal a designer can act on (an element or a line, no object address, no
message cut short)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.processes.bpmn.report import Problem
from bpm_livechat.processes.bpmn.xml import parse_bpmn_xml
from bpm_livechat.processes.deployments import DeploymentRejected, deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.engine.support import REALWORLD_DIR
from tests.support import Desk

CUT_MESSAGES = ("Multiple outgoing flows are not supported for tasks of type",)
LEAKS = ("0x7f", "<Element", "Traceback", "object at 0x")


def _corpus() -> list[Path]:
    return sorted(REALWORLD_DIR.rglob("*.bpmn")) if REALWORLD_DIR.is_dir() else []


def _actionable(problem: Problem, names: dict[str, str]) -> list[str]:
    """What keeps a designer from acting on a problem (empty when nothing does)."""
    faults = []
    if not problem.element and not problem.line:
        faults.append("names neither an element nor a line")
    if problem.element in names and problem.name != names[problem.element]:
        faults.append(f"leaves out the element's name {names[problem.element]!r}")
    faults += [f"shows {leak!r}" for leak in LEAKS if leak in problem.message]
    if problem.message.endswith("...") or problem.message.strip() in CUT_MESSAGES:
        faults.append("is cut short")
    if "{http" in problem.message:
        faults.append("shows a namespace URI")
    return faults


def _element_names(data: bytes) -> dict[str, str]:
    """Element id -> its name (whitespace collapsed), for the elements that have both."""
    root = parse_bpmn_xml(data).root
    return {
        node.get("id") or "": " ".join((node.get("name") or "").split())
        for node in root.iter()
        if isinstance(node.tag, str) and node.get("id") and (node.get("name") or "").strip()
    }


@pytest.mark.skipif(not _corpus(), reason=f"no real-world BPMN found at {REALWORLD_DIR}")
def test_every_corpus_file_deploys_or_is_refused_by_element_or_line(
    db_session: Session, desk: Desk, process_engine: ProcessEngine
) -> None:
    deployed, faults = 0, []
    for path in _corpus():
        names = _element_names(path.read_bytes())
        try:
            result = deploy(db_session, process_engine.scripts, path.read_bytes(), desk.admin)
        except DeploymentRejected as exc:
            problems = exc.problems
        else:
            deployed += 1
            problems = result.warnings
        finally:
            db_session.rollback()
        faults += [
            f"{path.name}: {problem.element} line {problem.line}: {fault}: {problem.message}"
            for problem in problems
            for fault in _actionable(problem, names)
        ]
    assert faults == []
    assert deployed > 0
