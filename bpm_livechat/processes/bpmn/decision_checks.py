"""Deployment checks of business rule tasks: a decisionRef we can bind, and a result mapping."""

from __future__ import annotations

from lxml import etree

from bpm_livechat.processes.bpmn.report import DeployReport
from bpm_livechat.processes.bpmn.xml import CAMUNDA_NS, NSMAP, line_of

BINDINGS = ("latest", "version")
MAP_RESULTS = ("resultList", "singleResult", "singleEntry", "collectEntries")


def camunda_attribute(node: etree._Element, name: str) -> str | None:
    """A camunda: attribute of a node, stripped (None when absent)."""
    value = node.get(f"{{{CAMUNDA_NS}}}{name}")
    return value.strip() if value is not None else None


_camunda = camunda_attribute


def decision_refs(root: etree._Element) -> list[tuple[etree._Element, str, int | None]]:
    """(node, decision id, pinned version) of every business rule task with a decisionRef."""
    refs = []
    for node in root.iterfind(".//bpmn:businessRuleTask", NSMAP):
        ref = _camunda(node, "decisionRef")
        version = _camunda(node, "decisionRefVersion")
        if ref:
            binding = _camunda(node, "decisionRefBinding") or "latest"
            pinned = (
                int(version) if binding == "version" and version and version.isdigit() else None
            )
            refs.append((node, ref, pinned))
    return refs


def check_business_rule_task(report: DeployReport, node: etree._Element) -> None:
    """What a business rule task needs to run here: a decisionRef we can bind and map."""
    element_id, line = node.get("id"), line_of(node)
    for attribute in ("class", "expression", "delegateExpression"):
        if _camunda(node, attribute):
            report.error(element_id, line, f"business rule task uses camunda:{attribute}, which "
                         "cannot run here; reference a DMN decision with camunda:decisionRef")  # fmt: skip
            return
    ref = _camunda(node, "decisionRef")
    if not ref:
        report.error(element_id, line, "business rule task has no camunda:decisionRef; name "
                     "the id of a deployed DMN decision")  # fmt: skip
        return
    if ref.startswith(("${", "#{")):
        report.error(element_id, line, f"camunda:decisionRef {ref!r} is an expression; name the "
                     "decision id itself")  # fmt: skip
    binding = _camunda(node, "decisionRefBinding") or "latest"
    version = _camunda(node, "decisionRefVersion")
    if binding not in BINDINGS:
        report.error(element_id, line, f"camunda:decisionRefBinding {binding!r} is not "
                     "supported; use 'latest' or 'version' (with camunda:decisionRefVersion)")  # fmt: skip
    elif binding == "version" and not (version and version.isdigit() and int(version) > 0):
        report.error(element_id, line, "camunda:decisionRefBinding 'version' needs "
                     f"camunda:decisionRefVersion as a version number (got {version!r})")  # fmt: skip
    elif binding == "latest" and version:
        report.warn(element_id, line, "camunda:decisionRefVersion is set but the binding is "
                     "'latest'; add camunda:decisionRefBinding=\"version\"")  # fmt: skip
    mapping = _camunda(node, "mapDecisionResult") or "resultList"
    if mapping not in MAP_RESULTS:
        report.error(element_id, line, f"camunda:mapDecisionResult {mapping!r} is not one of "
                     f"{', '.join(MAP_RESULTS)}")  # fmt: skip
