"""Reading a DMN file: every decision table, checked cell by cell, as SpiffWorkflow's DMN model.

SpiffWorkflow's own DMN parser reads one decision per file and leaves cells unchecked; a Camunda
file often holds several decisions wired by requirements (a DRG). This reader builds the same model
objects (`SpiffWorkflow.dmn.specs.model`) for each decision, with cells already in the engine's
syntax (see `cells`), and reports every problem by decision, rule and column at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.dmn.specs.model import (
    DecisionTable,
    Input,
    InputEntry,
    Output,
    OutputEntry,
    Rule,
)

from bpm_livechat.errors import BpmnDocumentError
from bpm_livechat.processes.bpmn.report import Problem
from bpm_livechat.processes.bpmn.xml import line_of, parse_untrusted_xml
from bpm_livechat.processes.decisions import cells
from script_runtime import ScriptChecker

DMN_NAMESPACES = (
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "https://www.omg.org/spec/DMN/20211108/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
)
HIT_POLICIES = ("UNIQUE", "FIRST", "COLLECT")
# The engine finds every matching rule; the hit policy is applied by `evaluation`.
MATCH_ALL = "COLLECT"


@dataclass(frozen=True)
class DecisionDef:
    """One decision table of a file: id, name, hit policy, the decisions it requires, the table."""

    id: str
    name: str
    hit_policy: str
    required: tuple[str, ...]
    table: DecisionTable = field(repr=False, compare=False)
    line: int | None = None

    @property
    def title(self) -> str:
        """How messages name the decision: `'dish' (Dish)`."""
        return f"{self.id!r} ({self.name})" if self.name and self.name != self.id else repr(self.id)


@dataclass
class DmnFile:
    """A read DMN file: its decisions by id, the problems found, and a hash of its content."""

    decisions: dict[str, DecisionDef] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    content_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def read_dmn(data: bytes, checker: ScriptChecker) -> DmnFile:
    """Read and check a DMN file; never raises for bad input (problems go to `errors`)."""
    result = DmnFile()
    try:
        root = parse_untrusted_xml(data)
    except BpmnDocumentError as exc:
        result.errors.append(Problem(None, exc.line, exc.reason))
        return result
    namespace = etree.QName(root).namespace
    if etree.QName(root).localname != "definitions" or namespace not in DMN_NAMESPACES:
        message = "the root element must be DMN <definitions> (DMN 1.1 to 1.5)"
        result.errors.append(Problem(None, line_of(root), message))
        return result
    canonical = etree.tostring(root, method="c14n2", strip_text=True)
    result.content_hash = hashlib.sha256(canonical).hexdigest()
    nodes = root.findall(f"{{{namespace}}}decision")
    if not nodes:
        result.errors.append(Problem(None, line_of(root), "the file has no decision"))
    for node in nodes:
        decision = _Reader(namespace, checker, result.errors).decision(node)
        if decision is not None:
            if decision.id in result.decisions:
                message = f"decision id {decision.id!r} is used twice"
                result.errors.append(Problem(decision.id, decision.line, message, decision.name))
            result.decisions[decision.id] = decision
    _check_requirements(result)
    return result


class _Reader:
    """Reads one decision, appending each problem it finds to `errors`."""

    def __init__(self, namespace: str, checker: ScriptChecker, errors: list[Problem]) -> None:
        self.ns = namespace
        self.checker = checker
        self.errors = errors
        self.decision_id = ""
        self.decision_name: str | None = None
        self.title = ""

    def _tag(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def _error(self, node: etree._Element | None, message: str) -> None:
        problem = Problem(self.decision_id or None, line_of(node), message, self.decision_name)
        self.errors.append(problem)

    def decision(self, node: etree._Element) -> DecisionDef | None:
        self.decision_id = node.get("id") or ""
        self.decision_name = node.get("name")
        name = self.decision_name or self.decision_id
        self.title = f"decision {self.decision_id!r}" + (
            f" ({name})" if name != self.decision_id else ""
        )
        if not self.decision_id:
            self._error(node, f"a decision ({name!r}) has no id")
            return None
        table_node = node.find(self._tag("decisionTable"))
        if table_node is None:
            self._error(node, f"{self.title} is not a decision table; only tables can run here")
            return None
        hit_policy = self._hit_policy(table_node)
        table = DecisionTable(table_node.get("id") or self.decision_id, name, MATCH_ALL)
        table.inputs = [self._input(i, n) for n, i in enumerate(self._all(table_node, "input"))]
        table.outputs = [self._output(o) for o in self._all(table_node, "output")]
        if not table.outputs:
            self._error(table_node, f"{self.title} has no output column")
        for number, rule_node in enumerate(self._all(table_node, "rule"), start=1):
            table.rules.append(self._rule(table, rule_node, number))
        required = tuple(
            (ref.get("href") or "").lstrip("#")
            for ref in node.iterfind(f"{self._tag('informationRequirement')}/{self._tag('requiredDecision')}")
        )  # fmt: skip
        return DecisionDef(
            self.decision_id,
            name,
            hit_policy or "UNIQUE",
            tuple(dict.fromkeys(required)),
            table,
            line_of(node),
        )

    def _all(self, node: etree._Element, name: str) -> list[etree._Element]:
        return list(node.iterfind(self._tag(name)))

    def _hit_policy(self, table_node: etree._Element) -> str | None:
        policy = (table_node.get("hitPolicy") or "UNIQUE").strip().upper()
        aggregation = table_node.get("aggregation")
        supported = ", ".join(HIT_POLICIES[:-1]) + " or " + HIT_POLICIES[-1]
        if policy not in HIT_POLICIES:
            message = f"{self.title}: hit policy {policy!r} is not supported; use {supported}"
            self._error(table_node, message)
            return None
        if aggregation:
            message = (
                f"{self.title}: hit policy COLLECT with aggregation {aggregation!r} is not "
                "supported; use COLLECT without aggregation and sum in a script"
            )
            self._error(table_node, message)
            return None
        return policy

    def _input(self, node: etree._Element, index: int) -> Input:
        label = node.get("label") or node.get("id") or f"input {index + 1}"
        expression_node = node.find(self._tag("inputExpression"))
        type_ref = expression_node.get("typeRef", "") if expression_node is not None else ""
        text_node = expression_node.find(self._tag("text")) if expression_node is not None else None
        text = text_node.text if text_node is not None else None
        expression = ""
        try:
            expression = cells.input_expression(text, self.checker)
        except cells.CellError as exc:
            self._error(text_node if text_node is not None else node,
                        f"{self.title}, input {label!r}: {exc}")  # fmt: skip
        return Input(node.get("id") or "", label, node.get("name") or "", expression, type_ref)

    def _output(self, node: etree._Element) -> Output:
        name = node.get("name") or ""
        label = node.get("label") or ""
        if not name and not label:
            self._error(node, f"{self.title}: an output column has neither name nor label")
        return Output(node.get("id") or "", label or name, name, node.get("typeRef") or "")

    def _rule(self, table: DecisionTable, node: etree._Element, number: int) -> Rule:
        rule = Rule(node.get("id") or f"rule {number}")
        rule.row_number = number
        description = node.find(self._tag("description"))
        rule.description = (description.text or "").strip() if description is not None else ""
        where = f"{self.title}, rule {number} ({rule.id})"
        inputs, outputs = self._all(node, "inputEntry"), self._all(node, "outputEntry")
        if len(inputs) != len(table.inputs) or len(outputs) != len(table.outputs):
            self._error(node, f"{where} has {len(inputs)} input and {len(outputs)} output "
                        f"cells; the table has {len(table.inputs)} and {len(table.outputs)} "
                        "columns")  # fmt: skip
            return rule
        for column, cell in zip(table.inputs, inputs, strict=True):
            entry = InputEntry(cell.get("id") or "", column)
            text = cell.find(self._tag("text"))
            try:
                test = cells.input_test(text.text if text is not None else None, self.checker,
                                        column.typeRef or "")  # fmt: skip
            except cells.CellError as exc:
                self._error(text, f"{where}, input {column.label!r}: {exc}")
                test = None
            entry.lhs.append(test)
            rule.inputEntries.append(entry)
        for out, cell in zip(table.outputs, outputs, strict=True):
            output_entry = OutputEntry(cell.get("id") or "", out)
            text = cell.find(self._tag("text"))
            try:
                output_entry.text = cells.output_value(
                    text.text if text is not None else None, self.checker, out.typeRef or ""
                )
            except cells.CellError as exc:
                self._error(text, f"{where}, output {out.label!r}: {exc}")
            rule.outputEntries.append(output_entry)
        return rule


def _check_requirements(result: DmnFile) -> None:
    """Required decisions must be in the file, without cycles."""
    for decision in result.decisions.values():
        for required in decision.required:
            if required not in result.decisions:
                message = f"decision {decision.id!r} requires decision {required!r}, which is not in this file"
                result.errors.append(Problem(decision.id, decision.line, message, decision.name))
    for decision in result.decisions.values():
        if _in_cycle(result, decision.id):
            message = f"decision {decision.id!r} requires itself (through its required decisions)"
            result.errors.append(Problem(decision.id, decision.line, message, decision.name))


def _in_cycle(result: DmnFile, start: str) -> bool:
    pending = list(result.decisions[start].required)
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        if current == start:
            return True
        if current in seen or current not in result.decisions:
            continue
        seen.add(current)
        pending.extend(result.decisions[current].required)
    return False
