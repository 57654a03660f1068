"""A business rule task at run time: find the deployed decision, evaluate it, store the result.

A process step carries a `DecisionSource` in its session snapshot under DECISIONS_KEY (never sent
to the sandbox); the task's spec hands itself to it. The result goes to task data: into
`camunda:resultVariable`, mapped as `camunda:mapDecisionResult` says (resultList by default, as
in Camunda), or, without a result variable, each output by name. A script or a form after the
task writes it into parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bpm_livechat.errors import BpmLivechatError, ProcessStepError
from bpm_livechat.processes.bpmn.decision_task import BusinessRuleTask
from bpm_livechat.processes.decisions.evaluation import evaluate
from bpm_livechat.processes.decisions.reading import DmnFile
from bpm_livechat.processes.engine.script_environment import TaskRef

Resolve = Callable[[str, int | None], tuple[int, DmnFile]]


def run_business_rule(resolve: Resolve, task: Any, spec: BusinessRuleTask) -> None:
    """Evaluate the task's decision in the sandbox and put the result into the task's data.

    `resolve(decision_id, version)` gives (version number, read DMN file) or raises a domain
    error; the task's script engine is bound to the step (its log gets a line).
    """
    ref = TaskRef.of(task)
    try:
        number, dmn = resolve(spec.decision_ref, spec.version)
    except BpmLivechatError as exc:
        raise _error(ref, exc.message) from None
    outcome = evaluate(dmn, spec.decision_ref, task)
    if spec.result_variable:
        try:
            task.data[spec.result_variable] = outcome.mapped(spec.map_result)
        except ValueError as exc:
            raise _error(ref, f"decision {spec.decision_ref!r}: {exc}") from None
    else:
        task.data.update(outcome.as_data())
    rules = ", ".join(str(rule.number) for rule in outcome.matched) or "none"
    line = f"decision {spec.decision_ref} v{number}: rules matched: {rules}\n"
    task.workflow.script_engine.environment.state.logs.append((ref, line))


def _error(ref: TaskRef, message: str) -> ProcessStepError:
    return ProcessStepError("decision", message, element_id=ref.element_id, element_name=ref.name)
