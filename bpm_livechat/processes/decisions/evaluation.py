"""Evaluating a decision table: SpiffWorkflow's DMN engine tests the cells, in our sandbox.

Every cell (input expression, input test, output) is evaluated by the workflow's script engine,
which is the product's sandbox: nothing of a DMN file runs in the host process. A cell sees the
task data as variables and `session` (read-only here: an expression's writes are discarded),
exactly as a gateway condition does. Required decisions (a DRG) are evaluated first, and their
outputs are seen by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException

from bpm_livechat.errors import ProcessStepError
from bpm_livechat.processes.decisions.reading import DecisionDef, DmnFile


@dataclass(frozen=True)
class MatchedRule:
    """A rule whose input cells all matched: its 1-based number, id, description and outputs."""

    number: int
    id: str
    description: str
    outputs: dict[str, object]


@dataclass(frozen=True)
class DecisionOutcome:
    """What a decision table said: the rules that matched (after the hit policy) and the result
    as a list with one dict of outputs per rule (Camunda's resultList)."""

    decision_id: str
    hit_policy: str
    matched: list[MatchedRule]
    required: dict[str, object]

    @property
    def result_list(self) -> list[dict[str, object]]:
        return [dict(rule.outputs) for rule in self.matched]

    def as_data(self) -> dict[str, object]:
        """The outputs as task data without a result variable: by output name (lists for COLLECT)."""
        if self.hit_policy == "COLLECT":
            merged: dict[str, list[object]] = {}
            for rule in self.matched:
                for name, value in rule.outputs.items():
                    merged.setdefault(name, []).append(value)
            return dict(merged)
        return dict(self.matched[0].outputs) if self.matched else {}

    def mapped(self, how: str) -> object:
        """The result as camunda:mapDecisionResult maps it; ValueError when it does not fit."""
        rows = self.result_list
        if how == "resultList":
            return rows
        if how == "singleResult":
            if len(rows) > 1:
                raise ValueError(f"{len(rows)} rules matched; singleResult takes at most one")
            return rows[0] if rows else None
        columns = {name for row in rows for name in row}
        if len(columns) > 1:
            raise ValueError(f"{how} needs a single output column; the table has {len(columns)}")
        values = [next(iter(row.values())) for row in rows]
        if how == "collectEntries":
            return values
        if len(values) > 1:
            raise ValueError(f"{len(values)} rules matched; singleEntry takes at most one")
        return values[0] if values else None


class DecisionTask:
    """What the DMN engine needs of a task: data, the workflow (its script engine), the spec
    the sandbox attributes errors to."""

    def __init__(self, task: Any, data: dict[str, Any]) -> None:
        self.workflow = task.workflow
        self.task_spec = task.task_spec
        self.data = data
        self.id = getattr(task, "id", None)


def evaluate(dmn: DmnFile, decision_id: str, task: Any) -> DecisionOutcome:
    """Evaluate a decision (and the decisions it requires) over a task's data in the sandbox."""
    decision = dmn.decisions[decision_id]
    required: dict[str, object] = {}
    for name in _order(dmn, decision_id)[:-1]:
        outcome = _decide(dmn.decisions[name], DecisionTask(task, {**task.data, **required}))
        required.update(outcome.as_data())
    outcome = _decide(decision, DecisionTask(task, {**task.data, **required}))
    return DecisionOutcome(outcome.decision_id, outcome.hit_policy, outcome.matched, required)


def _order(dmn: DmnFile, decision_id: str) -> list[str]:
    """The decision and those it requires, required ones first (the file has no cycles)."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for required in dmn.decisions[name].required:
            visit(required)
        ordered.append(name)

    visit(decision_id)
    return ordered


def _decide(decision: DecisionDef, task: DecisionTask) -> DecisionOutcome:
    engine = DMNEngine(decision.table)
    matched: list[MatchedRule] = []
    for rule in decision.table.rules:
        if not _matches(engine, decision, rule, task):
            continue
        matched.append(MatchedRule(rule.row_number, rule.id, rule.description,
                                   _outputs(decision, rule, task)))  # fmt: skip
        if decision.hit_policy == "FIRST":
            break
    if decision.hit_policy == "UNIQUE" and len(matched) > 1:
        numbers = ", ".join(str(rule.number) for rule in matched)
        raise _error(
            task,
            f"decision {decision.title}: rules {numbers} all match, but the hit policy is UNIQUE",
        )
    return DecisionOutcome(decision.id, decision.hit_policy, matched, {})


def _matches(engine: DMNEngine, decision: DecisionDef, rule: Any, task: DecisionTask) -> bool:
    for entry in rule.inputEntries:
        for test in entry.lhs:
            if test is None:
                continue
            where = f"decision {decision.title}, rule {rule.row_number} ({rule.id}), input {entry.input.label!r}"
            try:
                if not engine.evaluate(entry.input.expression, test, task):
                    return False
            except ProcessStepError as exc:
                raise _error(task, f"{where}: {exc.reason}", exc) from None
            except SpiffWorkflowException as exc:  # the engine's own wrapper of a failure
                raise _error(task, f"{where}: {exc}") from None
    return True


def _outputs(decision: DecisionDef, rule: Any, task: DecisionTask) -> dict[str, object]:
    script_engine = task.workflow.script_engine
    outputs: dict[str, object] = {}
    for entry in rule.outputEntries:
        column = entry.output
        try:
            outputs[column.name or column.label] = script_engine.evaluate(task, entry.text)
        except ProcessStepError as exc:
            where = f"decision {decision.title}, rule {rule.row_number} ({rule.id}), output {column.label!r}"
            raise _error(task, f"{where}: {exc.reason}", exc) from None
    return outputs


def _error(
    task: DecisionTask, message: str, cause: ProcessStepError | None = None
) -> ProcessStepError:
    spec = task.task_spec
    return ProcessStepError(
        cause.kind if cause is not None else "decision",
        message,
        element_id=getattr(spec, "bpmn_id", None) or getattr(spec, "name", None),
        element_name=getattr(spec, "bpmn_name", None),
        line=None,
    )
