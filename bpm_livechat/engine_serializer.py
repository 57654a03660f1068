"""The one place the workflow serializer is configured, and the version stored beside its JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_VERSION

from bpm_livechat.bpmn_parser import CappedParallelMultiInstance, CappedSequentialMultiInstance
from bpm_livechat.param_types import Money

# Bump when our spec classes or data conversions change in a way old JSON cannot be read with.
LIVECHAT_FORMAT = "1"
SERIALIZER_VERSION = f"spiff-{SPIFF_VERSION}+livechat-{LIVECHAT_FORMAT}"


@dataclass(frozen=True)
class SerializedWorkflow:
    """A saved workflow: the JSON and the serializer version to store next to it."""

    json: str
    version: str


def create_serializer() -> BpmnWorkflowSerializer:
    """A serializer that knows our task specs and the typed values forms and scripts produce."""
    config = dict(DEFAULT_CONFIG)
    config[CappedParallelMultiInstance] = MultiInstanceTaskConverter
    config[CappedSequentialMultiInstance] = MultiInstanceTaskConverter
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
