"""The one place the workflow serializer is configured, and the version stored beside its JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    TimerConditionalEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_VERSION
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from bpm_livechat.params.types import Money
from bpm_livechat.processes.bpmn.parser import (
    CappedParallelMultiInstance,
    CappedSequentialMultiInstance,
)
from bpm_livechat.processes.bpmn.timer_events import (
    ClockedCycleTimer,
    ClockedDateTimer,
    ClockedDurationTimer,
)

# Bump when our spec classes or data conversions change in a way old JSON cannot be read with.
# Format 2 leaves the process specs out of the saved workflow; format 1 (specs inside) is read.
LIVECHAT_FORMAT = "2"
SERIALIZER_VERSION = f"spiff-{SPIFF_VERSION}+livechat-{LIVECHAT_FORMAT}"
SPECS_INSIDE_VERSION = f"spiff-{SPIFF_VERSION}+livechat-1"
READABLE_VERSIONS = (SERIALIZER_VERSION, SPECS_INSIDE_VERSION)


# A process spec and the specs of the subprocesses it calls, as `ParsedBpmn.specs` gives them.
WorkflowSpecs = tuple[Any, dict[str, Any]]


@dataclass(frozen=True)
class SerializedWorkflow:
    """A saved workflow: the JSON and the serializer version to store next to it."""

    json: str
    version: str


class SpecsApartConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Saves a workflow without its process specs; restores it with the specs it is given.

    Every instance's version keeps its BPMN file, parsed once per process and shared, so the
    specs need not be converted and stored again with each instance (4 KB of a simple process's
    7.5 KB, and most of the work of reading it back). A workflow saved with its specs (format 1)
    is restored from them as before.
    """

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """The workflow's state: data, tasks, subprocesses and events, without the specs."""
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], specs: WorkflowSpecs | None = None) -> BpmnWorkflow:
        """The workflow, on `specs` (process spec, subprocess specs) unless it carries its own."""
        if "spec" not in dct:
            if specs is None:
                raise ValueError("the workflow was saved without its process specs")
            # The registry hands objects that are not dicts back unchanged.
            dct["spec"], dct["subprocess_specs"] = specs
        workflow: BpmnWorkflow = super().from_dict(dct)
        return workflow


def create_serializer() -> BpmnWorkflowSerializer:
    """A serializer that knows our task specs and the typed values forms and scripts produce."""
    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = SpecsApartConverter
    config[CappedParallelMultiInstance] = MultiInstanceTaskConverter
    config[CappedSequentialMultiInstance] = MultiInstanceTaskConverter
    for timer in (ClockedDateTimer, ClockedDurationTimer, ClockedCycleTimer):
        config[timer] = TimerConditionalEventDefinitionConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, _date_to_dict, _date_from_dict)
    registry.register(Decimal, _decimal_to_dict, _decimal_from_dict)
    registry.register(Money, _money_to_dict, _money_from_dict)
    return BpmnWorkflowSerializer(registry)


def _date_to_dict(value: date) -> dict[str, Any]:
    return {"value": value.isoformat()}


def _date_from_dict(data: dict[str, Any]) -> date:
    return date.fromisoformat(data["value"])


def _decimal_to_dict(value: Decimal) -> dict[str, Any]:
    return {"value": str(value)}


def _decimal_from_dict(data: dict[str, Any]) -> Decimal:
    return Decimal(data["value"])


def _money_to_dict(value: Money) -> dict[str, Any]:
    return {"amount": str(value.amount), "currency": value.currency}


def _money_from_dict(data: dict[str, Any]) -> Money:
    return Money(Decimal(data["amount"]), data["currency"])
