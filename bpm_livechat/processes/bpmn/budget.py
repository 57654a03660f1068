"""A process's step budget: the wall-clock seconds one step of it may take, set by a property.

    <bpmn:process id="..."><bpmn:extensionElements><camunda:properties>
      <camunda:property name="livechat:stepSeconds" value="20"/>
    </camunda:properties></bpmn:extensionElements>...

Without the property a step gets the engine's default (`BPM_LIVECHAT_STEP_SECONDS`).
"""

from __future__ import annotations

import math

from lxml import etree

from bpm_livechat.processes.bpmn.report import DeployReport
from bpm_livechat.processes.bpmn.xml import NSMAP, line_of

STEP_SECONDS = "livechat:stepSeconds"
MAX_STEP_SECONDS = 300.0
_PATH = f"./bpmn:extensionElements/camunda:properties/camunda:property[@name='{STEP_SECONDS}']"


def _declared(process: etree._Element) -> etree._Element | None:
    found = process.xpath(_PATH, namespaces=NSMAP)
    nodes = [n for n in found if isinstance(n, etree._Element)] if isinstance(found, list) else []
    return nodes[0] if nodes else None


def _parse(text: str | None) -> float:
    """The budget in seconds; ValueError with a plain message when the text is not one."""
    try:
        value = float(text or "")
    except ValueError:
        raise ValueError(f"{STEP_SECONDS} must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_STEP_SECONDS:
        raise ValueError(
            f"{STEP_SECONDS} must be above 0 and at most {MAX_STEP_SECONDS:g} seconds, got {text}"
        )
    return value


def step_seconds_of(process: etree._Element) -> float | None:
    """The process's declared step budget; None when it declares none (or a refused one)."""
    node = _declared(process)
    if node is None:
        return None
    try:
        return _parse(node.get("value"))
    except ValueError:
        return None


def check_step_seconds(report: DeployReport, process: etree._Element) -> None:
    """Report a step budget property that is not a number of seconds in range."""
    node = _declared(process)
    if node is None:
        return
    try:
        _parse(node.get("value"))
    except ValueError as exc:
        report.error(process.get("id"), line_of(node), str(exc))
