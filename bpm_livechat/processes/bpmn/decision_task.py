"""Business rule tasks (`bpmn:businessRuleTask` with `camunda:decisionRef`): parser and spec.

The spec names its decision and how it binds; when it runs, the step's decision source (see
`processes.decisions.running`) finds the deployed version and evaluates it, so a spec parsed once
serves every version of the decision.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin

from bpm_livechat.errors import ProcessStepError
from bpm_livechat.processes.bpmn.decision_checks import camunda_attribute as _camunda

# Where a process step's session snapshot carries the deployed decisions (the host keeps it: it
# is never sent to the sandbox). The object has `run_business_rule(task, spec)`.
DECISIONS_KEY = "__decisions__"


class BusinessRuleTask(BpmnSpecMixin):  # type: ignore[misc]
    """Evaluates a deployed DMN decision when it runs and puts the result into task data."""

    def __init__(
        self,
        wf_spec: Any,
        bpmn_id: str,
        decision_ref: str,
        version: int | None = None,
        result_variable: str | None = None,
        map_result: str = "resultList",
        **kwargs: Any,
    ) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.decision_ref = decision_ref
        self.version = version
        self.result_variable = result_variable
        self.map_result = map_result

    def _run_hook(self, my_task: Any) -> bool:
        state = getattr(my_task.workflow.script_engine.environment, "state", None)
        decisions = state.session.get(DECISIONS_KEY) if state is not None else None
        if decisions is None:
            raise ProcessStepError(
                "decision",
                "decisions can be evaluated only inside a process step",
                element_id=self.bpmn_id,
                element_name=self.bpmn_name,
            )
        decisions.run_business_rule(my_task, self)
        return True


class BusinessRuleTaskParser(TaskParser):  # type: ignore[misc]
    """Reads camunda:decisionRef, decisionRefBinding/Version, resultVariable, mapDecisionResult."""

    def create_task(self) -> Any:
        version = _camunda(self.node, "decisionRefVersion")
        if (_camunda(self.node, "decisionRefBinding") or "latest") != "version":
            version = None  # Camunda ignores a version without the "version" binding
        return self.spec_class(
            self.spec,
            self.bpmn_id,
            decision_ref=_camunda(self.node, "decisionRef") or "",
            version=int(version) if version and version.isdigit() else None,
            result_variable=_camunda(self.node, "resultVariable") or None,
            map_result=_camunda(self.node, "mapDecisionResult") or "resultList",
            **self.bpmn_attributes,
        )
