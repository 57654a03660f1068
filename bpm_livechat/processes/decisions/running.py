"""A business rule task at run time: find the deployed decision, evaluate it, store the result.

A process step carries a `DecisionSource` in its session snapshot under DECISIONS_KEY (never sent
to the sandbox). The result goes to task data: into `camunda:resultVariable`, mapped as
`camunda:mapDecisionResult` says (resultList by default, as in Camunda), or, without a result
variable, each output by name. A script or a form after the task writes it into parameters.
"""

from __future__ import annotations

from typing import Any, Protocol

from bpm_livechat.errors import BpmLivechatError, ProcessStepError
from bpm_livechat.processes.decisions.evaluation import evaluate
from bpm_livechat.processes.decisions.reading import DmnFile
from bpm_livechat.processes.engine.script_environment import STEP_ONLY_KEY as DECISIONS_KEY
from bpm_livechat.processes.engine.script_environment import TaskRef

__all__ = ["DECISIONS_KEY", "DecisionFinder", "run_business_rule"]


class Resolved(Protocol):
    decision_id: str
    number: int
    dmn: DmnFile


class DecisionFinder(Protocol):
    """What a step offers business rule tasks: a deployed decision by id (and pinned version)."""

    def resolve(self, decision_id: str, number: int | None = None) -> Resolved: ...


def run_business_rule(
    task: Any,
    decision_ref: str,
    version: int | None,
    result_variable: str | None,
    map_result: str,
) -> None:
    """Evaluate the task's decision in the sandbox and put the result into the task's data."""
    ref = TaskRef.of(task)
    state = getattr(task.workflow.script_engine.environment, "state", None)
    finder = state.session.get(DECISIONS_KEY) if state is not None else None
    if state is None or finder is None:
        raise _error(ref, "decisions can be evaluated only inside a process step")
    try:
        resolved = finder.resolve(decision_ref, version)
    except BpmLivechatError as exc:
        raise _error(ref, exc.message) from None
    outcome = evaluate(resolved.dmn, decision_ref, task)
    if result_variable:
        try:
            task.data[result_variable] = outcome.mapped(map_result)
        except ValueError as exc:
            raise _error(ref, f"decision {decision_ref!r}: {exc}") from None
    else:
        task.data.update(outcome.as_data())
    rules = ", ".join(str(rule.number) for rule in outcome.matched) or "none"
    state.logs.append(
        (ref, f"decision {decision_ref} v{resolved.number}: rules matched: {rules}\n")
    )


def _error(ref: TaskRef, message: str) -> ProcessStepError:
    return ProcessStepError("decision", message, element_id=ref.element_id, element_name=ref.name)
